"""The interop fixtures brought to life: one loopback server per fixture host, serving the fixture actors (and
GoToSocial's key stub) with every fixture URL rewritten to those servers and to the fedgroup server under test,
so each fixture can be signed with its actor's own key and POSTed for real.

The fixtures live in tests/fixtures/<software>/ (a README per directory names each file's source); their keys in
tests/fixtures/interop_keys.json.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding

from tests.peer import FakeMastodon

FIXTURES = Path(__file__).parent / "fixtures"
SOFTWARE = (
    "akkoma", "bonfire", "fedify", "friendica", "gotosocial", "hubzilla", "iceshrimp", "lemmy", "mastodon",
    "misskey", "mitra", "piefed", "takahe",
)  # fmt: skip
HOSTS = (
    "misskey.example", "misskey2.example", "iceshrimp.example", "gts.example", "akkoma.example", "akkoma2.example",
    "mitra.example", "mitra2.example", "friendica.example", "hubzilla.example", "lemmy.example", "piefed.example",
    "takahe.example", "bonfire.example", "fedify.example", "mastodon.example",
)  # fmt: skip
LOCAL = "https://fedgroup.example"
ACTOR_FILES = re.compile(r"(actor|actor_\w+|admin|system_actor|instance_actor|move_target)\.json$")

# What each implementation signs (draft-cavage), as read in its source.
SIGNED_HEADERS = {
    "gts.example": ("(request-target)", "host", "date", "digest"),  # GoToSocial
    "friendica.example": (
        "(request-target)",
        "date",
        "content-length",
        "digest",
        "host",
    ),  # HTTPSignature::post
    "misskey.example": ("(request-target)", "date", "host", "digest"),  # ApRequestService
    "iceshrimp.example": ("(request-target)", "date", "host", "digest"),  # HttpRequestService
    "hubzilla.example": (
        "content-type",
        "date",
        "host",
        "digest",
        "(request-target)",
    ),  # pubcrawl_queue_deliver
}


def sign(
    method: str,
    url: str,
    body: bytes,
    key_id: str,
    private_pem: str,
    names: tuple[str, ...],
    moment: datetime,
) -> dict[str, str]:
    """draft-cavage: rsa-sha256 for RSA keys, hs2019 for Ed25519 (independent of fedgroup's own code)."""
    parts = urlsplit(url)
    headers = {
        "Host": parts.netloc,
        "Date": format_datetime(moment, usegmt=True),
        "Digest": "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode(),
        "Content-Type": "application/activity+json",
        "Content-Length": str(len(body)),
    }
    lower = {k.lower(): v for k, v in headers.items()}
    base = "\n".join(
        f"(request-target): {method.lower()} {parts.path}" if n == "(request-target)" else f"{n}: {lower[n]}"
        for n in names
    ).encode()
    key = serialization.load_pem_private_key(private_pem.encode(), None)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        signature, algorithm = key.sign(base), "hs2019"
    else:
        signature, algorithm = key.sign(base, padding.PKCS1v15(), hashes.SHA256()), "rsa-sha256"
    headers["Signature"] = (
        f'keyId="{key_id}",algorithm="{algorithm}",headers="{" ".join(names)}",'
        f'signature="{base64.b64encode(signature).decode()}"'
    )
    return headers


class InteropWorld:
    def __init__(self, server_base_url: str, campaigns: dict[int, int]) -> None:
        self.server_base_url = server_base_url
        self.campaigns = campaigns  # fixture campaign number -> campaign id on the server under test
        self.hosts: dict[str, FakeMastodon] = {}
        self.keys: dict[str, dict[str, str]] = {}
        self._last_date: datetime | None = None

    async def start(self) -> InteropWorld:
        for host in HOSTS:
            self.hosts[host] = await FakeMastodon(keys={}).start()
        self.keys = json.loads(self.rewrite((FIXTURES / "interop_keys.json").read_text()))
        for path in sorted(p for software in SOFTWARE for p in (FIXTURES / software).glob("*.json")):
            if ACTOR_FILES.search(path.name):
                doc = self.load(f"{path.parent.name}/{path.name}")
                self.serve(doc["id"], doc)
        stub = self.load("gotosocial/main_key.json")  # GoToSocial answers its keyId with a stub actor
        self.serve(stub["publicKey"]["id"], stub)
        return self

    async def stop(self) -> None:
        for fake in self.hosts.values():
            await fake.stop()

    def rewrite(self, text: str) -> str:
        for old, new in self.campaigns.items():
            text = re.sub(rf"{re.escape(LOCAL)}/campaigns/{old}(?!\d)", f"{LOCAL}/campaigns/{new}", text)
        text = text.replace(LOCAL, self.server_base_url)
        for host, fake in self.hosts.items():
            text = re.sub(rf"https://{re.escape(host)}(?![\w.-])", fake.base_url, text)
        return text

    def raw(self, name: str) -> bytes:
        return self.rewrite((FIXTURES / name).read_text()).encode()

    def load(self, name: str) -> Any:
        return json.loads(self.raw(name))

    def url(self, example_url: str) -> str:
        return self.rewrite(example_url)

    def host_of(self, url: str) -> FakeMastodon:
        netloc = urlsplit(url).netloc
        return next(f for f in self.hosts.values() if urlsplit(f.base_url).netloc == netloc)

    def example_host(self, url: str) -> str:
        netloc = urlsplit(url).netloc
        return next(h for h, f in self.hosts.items() if urlsplit(f.base_url).netloc == netloc)

    def serve(self, url: str, doc: Any) -> None:
        self.host_of(url).served_documents[urlsplit(url).path] = doc

    def unserve(self, url: str) -> None:
        self.host_of(url).served_documents.pop(urlsplit(url).path, None)

    def key_id_of(self, actor: str) -> str:
        """The keyId the implementation signs with (index.json's key_id), rewritten."""
        index = json.loads((FIXTURES / "interop_index.json").read_text())
        for entry in index:
            key_id = self.url(entry["key_id"] or "")
            if key_id in self.keys and self.keys[key_id]["owner"] == actor:
                return key_id
        raise KeyError(actor)

    async def post(
        self, body: dict[str, Any] | bytes, inbox: str, key_id: str | None = None
    ) -> tuple[int, str]:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        if key_id is None:
            actor = json.loads(data)["actor"]
            key_id = self.key_id_of(actor if isinstance(actor, str) else actor["id"])
        names = SIGNED_HEADERS.get(
            self.example_host(key_id), ("(request-target)", "host", "date", "digest", "content-type")
        )
        # A real server sends a repeat (a second unfollow, a re-follow) seconds or days later, never within the
        # same second as the first: each request here gets its own Date, so no two are the same signed request.
        moment = datetime.now(UTC).replace(microsecond=0)
        if self._last_date is not None and moment <= self._last_date:
            moment = self._last_date + timedelta(seconds=1)
        self._last_date = moment
        headers = sign("POST", inbox, data, key_id, self.keys[key_id]["private_key_pem"], names, moment)
        async with aiohttp.ClientSession() as session:
            async with session.post(inbox, data=data, headers=headers) as response:
                return response.status, await response.text()
