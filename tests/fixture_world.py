"""The shared fixtures brought to life: one loopback server per fixture host (mastodon.example,
misskey.example, ...) serving the fixture actors, with every fixture URL rewritten to those servers and to the
fedgroup server under test, so a fixture can be signed with its actor's key and POSTed for real."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.peer import FakeActor, FakeMastodon

FIXTURES = Path(__file__).parent / "fixtures"
HOSTS = (
    "mastodon.example", "mastodon2.example", "misskey.example", "gts.example", "lemmy.example", "akkoma.example",
    "coalition.example", "evil.example", "mitra.example",
)  # fmt: skip
LOCAL = "https://fedgroup.example"


class FixtureWorld:
    def __init__(self, server_base_url: str, campaign_ids: dict[int, int] | None = None) -> None:
        self.server_base_url = server_base_url
        self.campaign_ids = campaign_ids or {}
        self.hosts: dict[str, FakeMastodon] = {}
        self.keys: dict[str, Any] = {}

    async def start(self) -> FixtureWorld:
        for host in HOSTS:
            self.hosts[host] = await FakeMastodon(keys={}).start()
        self.keys = json.loads(self.rewrite((FIXTURES / "keys.json").read_text()))
        for path in sorted((FIXTURES / "actors").glob("*.json")):
            doc = self.load(f"actors/{path.name}")
            self.serve(doc["id"], doc)
            key_id = doc["publicKey"]["id"]
            if "#" not in key_id:  # the key lives at its own path: what is served there names its owner
                self.serve(key_id, self.key_document(key_id, doc))
        return self

    def key_document(self, key_id: str, actor: dict[str, Any]) -> dict[str, Any]:
        """The document at a path keyId: the recorded one (GoToSocial's stub of the actor), else a bare key."""
        for path in sorted((FIXTURES / "key_documents").glob("*.json")):
            doc = self.load(f"key_documents/{path.name}")
            if doc.get("publicKey", {}).get("id") == key_id:
                return doc
        return {"id": key_id, "owner": actor["id"], "publicKeyPem": actor["publicKey"]["publicKeyPem"]}

    async def stop(self) -> None:
        for fake in self.hosts.values():
            await fake.stop()

    def rewrite(self, text: str) -> str:
        for old, new in self.campaign_ids.items():
            text = text.replace(f'{LOCAL}/campaigns/{old}"', f'{LOCAL}/campaigns/{new}"')
        text = text.replace(LOCAL, self.server_base_url)
        for host, fake in self.hosts.items():
            text = text.replace(f"https://{host}", fake.base_url)
        return text

    def load(self, name: str) -> Any:
        return json.loads(self.rewrite((FIXTURES / name).read_text()))

    def host_of(self, url: str) -> FakeMastodon:
        netloc = urlsplit(url).netloc
        return next(f for f in self.hosts.values() if urlsplit(f.base_url).netloc == netloc)

    def serve(self, url: str, doc: dict[str, Any]) -> None:
        self.host_of(url).served_documents[urlsplit(url).path] = doc

    def unserve(self, url: str) -> None:
        self.host_of(url).served_documents.pop(urlsplit(url).path, None)

    def signer(self, actor_id: str) -> FakeActor:
        key_id, key = next((k, v) for k, v in self.keys.items() if v["owner"] == actor_id)
        return FakeActor("", actor_id, key_id, key["private_key_pem"], key["public_key_pem"], {})

    async def post(
        self, doc: dict[str, Any] | bytes, inbox: str, signed_by: str | None = None
    ) -> tuple[int, str]:
        actor = signed_by or _actor_of(doc)
        signer = self.signer(actor)
        return await self.host_of(signer.id).post(signer, inbox, doc)


def _actor_of(doc: Any) -> str:
    """The actor of a fixture in compact or expanded form (to pick the key that signs it)."""
    if isinstance(doc, list):
        return doc[0]["https://www.w3.org/ns/activitystreams#actor"][0]["@id"]
    actor = doc["actor"]
    return actor["id"] if isinstance(actor, dict) else actor
