"""A small aiohttp server shaped like a Mastodon instance, for tests: it serves actors, signs what it sends
and verifies what it receives with its own few lines of draft-cavage code (independent of fedgroup's), and
records every request that reaches it so tests can assert on what a peer observes."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

ACTIVITY_JSON = "application/activity+json"


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


# -- independent draft-cavage-12 signing and verification ------------------------------------------------


def cavage_sign(
    method: str,
    url: str,
    body: bytes | None,
    key_id: str,
    private_pem: str,
    now: datetime | None = None,
    headers_to_sign: tuple[str, ...] | None = None,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    headers = {"Host": parts.netloc, "Date": format_datetime(now or datetime.now(UTC), usegmt=True)}
    headers.update(extra or {})
    if body is not None:
        headers["Digest"] = "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()
        headers.setdefault("Content-Type", ACTIVITY_JSON)
    names = headers_to_sign or (
        ("(request-target)", "host", "date", "digest", "content-type")
        if body is not None
        else ("(request-target)", "host", "date")
    )
    lower = {k.lower(): v for k, v in headers.items()}
    lines = [
        f"(request-target): {method.lower()} {target}" if n == "(request-target)" else f"{n}: {lower[n]}"
        for n in names
    ]
    key = serialization.load_pem_private_key(private_pem.encode(), None)
    signature = key.sign("\n".join(lines).encode(), padding.PKCS1v15(), hashes.SHA256())
    headers["Signature"] = (
        f'keyId="{key_id}",algorithm="rsa-sha256",headers="{" ".join(names)}",'
        f'signature="{base64.b64encode(signature).decode()}"'
    )
    return headers


def cavage_verify(method: str, path_qs: str, headers: dict[str, str], body: bytes, public_pem: str) -> bool:
    """True when the Signature header verifies and covers the body digest (what Mastodon checks)."""
    lower = {k.lower(): v for k, v in headers.items()}
    params = dict(
        (k.strip(), v.strip().strip('"'))
        for k, v in (p.split("=", 1) for p in lower["signature"].split('",'))
    )
    names = params["headers"].split()
    if body and "digest" not in names:
        return False
    if body:
        expected = "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()
        if lower.get("digest") != expected:
            return False
    lines = [
        f"(request-target): {method.lower()} {path_qs}" if n == "(request-target)" else f"{n}: {lower[n]}"
        for n in names
    ]
    key = serialization.load_pem_public_key(public_pem.encode())
    try:
        key.verify(
            base64.b64decode(params["signature"]),
            "\n".join(lines).encode(),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
    except Exception:
        return False
    return True


def rfc9421_verify(method: str, url: str, headers: dict[str, str], body: bytes, public_pem: str) -> bool:
    """True when an RFC 9421 rsa-v1_5-sha256 signature (label sig1) verifies and covers @method, @target-uri
    and the body's Content-Digest: the few components a Mastodon-style inbox wants, read with regexes."""
    lower = {k.lower(): v for k, v in headers.items()}
    signature_input = re.fullmatch(r"sig1=(\(([^()]*)\)[^,]*)", lower.get("signature-input", ""))
    signature = re.fullmatch(r"sig1=:([A-Za-z0-9+/=]+):", lower.get("signature", ""))
    if not signature_input or not signature or 'alg="rsa-v1_5-sha256"' not in signature_input.group(1):
        return False
    names = re.findall(r'"([^"]+)"', signature_input.group(2))
    if not {"@method", "@target-uri"} <= set(names) or (body and "content-digest" not in names):
        return False
    if (
        body
        and lower.get("content-digest")
        != "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode() + ":"
    ):
        return False
    values = {"@method": method.upper(), "@target-uri": url}
    try:
        lines = [f'"{n}": {values[n] if n.startswith("@") else lower[n]}' for n in names]
    except KeyError:
        return False
    lines.append(f'"@signature-params": {signature_input.group(1)}')
    key = serialization.load_pem_public_key(public_pem.encode())
    try:
        key.verify(
            base64.b64decode(signature.group(1)),
            "\n".join(lines).encode(),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
    except Exception:
        return False
    return True


# -- the fake server ----------------------------------------------------------------------------------


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    json: Any
    verified: bool | None  # None: unsigned; True/False: the signature checked out or not
    key_id: str | None
    scheme: str | None = None  # "cavage" or "rfc9421" (None: unsigned)
    status: int = 202  # what this peer answered


@dataclass
class FakeActor:
    username: str
    id: str
    key_id: str
    private_pem: str
    public_pem: str
    document: dict[str, Any]


@dataclass
class FakeMastodon:
    """Serves /users/<name> actors, records inbox POSTs (personal and shared), answers `inbox_status`."""

    keys: dict[str, dict[str, str]]
    received: list[Received] = field(default_factory=list)
    actors: dict[str, FakeActor] = field(default_factory=dict)
    inbox_status: int = 202
    # False: answer a draft-cavage signed POST 401, as a server that verifies only RFC 9421 does.
    accepts_cavage: bool = True
    served_documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    # The path of every actor document served (to count key fetches).
    actor_fetches: list[str] = field(default_factory=list)
    base_url: str = ""
    # Whom each local user follows: a remote actor is added when it Accepts that user's Follow, removed when
    # the user re-follows elsewhere after a Move.
    following: dict[str, set[str]] = field(default_factory=dict)
    # What came of each Move received: (moved actor, target, "followed" or why not).
    moves: list[tuple[str, str, str]] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    _arrived: asyncio.Condition = field(default_factory=asyncio.Condition)
    _sock: socket.socket | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def start(self, sock: socket.socket | None = None) -> FakeMastodon:
        self._sock = sock or free_socket()
        self.base_url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        app = web.Application()
        app.router.add_get("/users/{name}", self._actor)
        app.router.add_post("/{tail:.*}", self._inbox)  # any inbox path (Lemmy: /u/x/inbox, ...)
        app.router.add_get("/{tail:.*}", self._document)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.SockSite(self._runner, self._sock).start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def add_actor(self, username: str, key_name: str, actor_type: str = "Person") -> FakeActor:
        key = self.keys[key_name]
        actor_id = f"{self.base_url}/users/{username}"
        doc = {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": actor_id,
            "type": actor_type,
            "preferredUsername": username,
            "name": username.title(),
            "inbox": f"{actor_id}/inbox",
            "outbox": f"{actor_id}/outbox",
            "followers": f"{actor_id}/followers",
            "endpoints": {"sharedInbox": f"{self.base_url}/inbox"},
            "publicKey": {
                "id": f"{actor_id}#main-key",
                "owner": actor_id,
                "publicKeyPem": key["public_key_pem"],
            },
        }
        actor = FakeActor(
            username, actor_id, f"{actor_id}#main-key", key["private_key_pem"], key["public_key_pem"], doc
        )
        self.actors[username] = actor
        return actor

    async def _actor(self, request: web.Request) -> web.Response:
        self.actor_fetches.append(request.path)
        actor = self.actors.get(request.match_info["name"])
        if actor is None:
            return await self._document(request)
        return web.Response(body=json.dumps(actor.document), content_type=ACTIVITY_JSON)

    async def _document(self, request: web.Request) -> web.Response:
        doc = self.served_documents.get(request.path)
        if doc is None:
            return web.Response(status=404)
        return web.Response(body=json.dumps(doc), content_type=ACTIVITY_JSON)

    async def _inbox(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = dict(request.headers)
        verified, key_id, scheme = None, None, None
        status = self.inbox_status
        if "Signature-Input" in request.headers:
            scheme = "rfc9421"
            found = re.search(r'keyid="([^"]+)"', request.headers["Signature-Input"])
            key_id = found.group(1) if found else None
            url = f"http://{request.headers.get('Host', '')}{request.raw_path}"
            verified = await self._verify(request.method, url, headers, body, key_id, rfc9421_verify)
        elif "Signature" in request.headers:
            scheme = "cavage"
            sig = request.headers["Signature"]
            key_id = sig.split('keyId="', 1)[1].split('"', 1)[0] if 'keyId="' in sig else None
            verified = await self._verify(request.method, request.raw_path, headers, body, key_id)
            if not self.accepts_cavage:
                status = 401
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        if 200 <= status < 300 and isinstance(parsed, dict):
            self._took(parsed)
        async with self._arrived:
            self.received.append(
                Received(
                    request.method, request.path, headers, body, parsed, verified, key_id, scheme, status
                )
            )
            self._arrived.notify_all()
        return web.Response(status=status)

    def _took(self, activity: dict[str, Any]) -> None:
        """What Mastodon does with an Accept of a local user's Follow, and with a Move."""
        follow = activity.get("object")
        if activity.get("type") == "Accept" and isinstance(follow, dict) and follow.get("type") == "Follow":
            local = next((a for a in self.actors.values() if a.id == follow.get("actor")), None)
            if local is not None and isinstance(activity.get("actor"), str):
                self.following.setdefault(local.username, set()).add(activity["actor"])
        if activity.get("type") == "Move":
            task = asyncio.create_task(self._on_move(activity))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _on_move(self, move: dict[str, Any]) -> None:
        """As Mastodon (app/lib/activitypub/activity/move.rb, MoveWorker, UnfollowFollowWorker): the Move's
        object must be its actor; the target is fetched and believed only if its alsoKnownAs names the moved
        actor; then each local follower of the moved actor follows the target and unfollows the old one.
        (Mastodon checks the actor type nowhere in this path: a Group moves as a Person does.)"""
        old, target = move.get("actor"), move.get("target")
        if not isinstance(old, str) or not isinstance(target, str) or move.get("object") != old:
            self.moves.append((str(old), str(target), "bad-move"))
            return
        async with aiohttp.ClientSession() as session:
            async with session.get(target, headers={"Accept": ACTIVITY_JSON}, allow_redirects=False) as r:
                document = await r.json(content_type=None) if r.status == 200 else None
        if not isinstance(document, dict) or document.get("id") != target:
            self.moves.append((old, target, "target-not-fetched"))
            return
        if old not in document.get("alsoKnownAs", []):
            self.moves.append((old, target, "not-also-known-as"))
            return
        old_document = None
        for username, followed in list(self.following.items()):
            if old not in followed:
                continue
            actor = self.actors[username]
            follow = {"@context": "https://www.w3.org/ns/activitystreams", "type": "Follow",
                      "id": f"{actor.id}#follows/moved/{len(self.moves)}", "actor": actor.id, "object": target}  # fmt: skip
            await self.post(actor, document["inbox"], follow)
            if old_document is None:
                async with aiohttp.ClientSession() as session:
                    async with session.get(old, headers={"Accept": ACTIVITY_JSON}, allow_redirects=False) as r:
                        old_document = await r.json(content_type=None)
            undo = {"@context": "https://www.w3.org/ns/activitystreams", "type": "Undo",
                    "id": f"{actor.id}#follows/moved/{len(self.moves)}/undo", "actor": actor.id,
                    "object": {"type": "Follow", "actor": actor.id, "object": old}}  # fmt: skip
            await self.post(actor, old_document["inbox"], undo)
            followed.discard(old)
        self.moves.append((old, target, "followed"))
        async with self._arrived:
            self._arrived.notify_all()  # a test waiting on `following` looks again

    async def _verify(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes,
        key_id: str | None,
        check: Any = None,
    ) -> bool:
        """Fetch the signer's actor (unsigned, as the minimal actor is public) and check the signature."""
        if not key_id:
            return False
        async with aiohttp.ClientSession() as session:
            async with session.get(key_id.split("#")[0], headers={"Accept": ACTIVITY_JSON}) as response:
                if response.status != 200:
                    return False
                actor = await response.json(content_type=None)
        key = actor.get("publicKey") or {}
        if key.get("id") != key_id or key.get("owner") != actor.get("id"):
            return False
        return (check or cavage_verify)(method, path, headers, body, key["publicKeyPem"])

    async def wait_for(self, predicate: Any, timeout: float = 30.0) -> list[Received]:
        """Wait until some received requests satisfy `predicate(received) -> bool`; returns them. The timeout
        only bounds a failing test's wait (as conftest.EVENT_TIMEOUT): generous, for a loaded machine."""

        async def matching() -> list[Received]:
            async with self._arrived:
                while True:
                    found = [r for r in self.received if predicate(r)]
                    if found:
                        return found
                    await self._arrived.wait()

        return await asyncio.wait_for(matching(), timeout)

    # -- acting as a remote user --------------------------------------------------------------------

    async def post(
        self, actor: FakeActor, url: str, activity: dict[str, Any] | bytes, **sign_options: Any
    ) -> tuple[int, str]:
        body = activity if isinstance(activity, bytes) else json.dumps(activity).encode()
        headers = cavage_sign("POST", url, body, actor.key_id, actor.private_pem, **sign_options)
        async with aiohttp.ClientSession() as session:
            async with session.post(url, data=body, headers=headers) as response:
                return response.status, await response.text()

    async def get(self, actor: FakeActor | None, url: str, accept: str = ACTIVITY_JSON) -> tuple[int, Any]:
        headers = {"Accept": accept}
        if actor is not None:
            headers.update(cavage_sign("GET", url, None, actor.key_id, actor.private_pem))
        async with aiohttp.ClientSession() as session:
            async with session.get(url, headers=headers, allow_redirects=False) as response:
                text = await response.text()
                try:
                    return response.status, json.loads(text)
                except ValueError:
                    return response.status, text


# -- a GoToSocial-shaped server ------------------------------------------------------------------------------

GTS_POST_HEADERS = ("(request-target)", "host", "date", "digest")


@dataclass
class FakeGoToSocial(FakeMastodon):
    """Shaped like GoToSocial (superseriousbusiness/gotosocial, docs/federation/.../http_signatures.md and
    internal/processing/fedi/user.go): keyIds are paths (`/users/NAME/main-key`); that path answers anyone with
    a stub of the actor (id, type, preferredUsername, publicKey; no inbox, no top-level owner); the actor's own
    URL answers only GETs whose signature verifies (401 otherwise); no shared inbox; POSTs are signed over
    `(request-target) host date digest`. Every GET of an actor is recorded as (path, signed, status)."""

    actor_gets: list[tuple[str, bool, int]] = field(default_factory=list)

    def add_actor(self, username: str, key_name: str, actor_type: str = "Person") -> FakeActor:
        key = self.keys[key_name]
        actor_id = f"{self.base_url}/users/{username}"
        key_id = f"{actor_id}/main-key"
        public_key = {"id": key_id, "owner": actor_id, "publicKeyPem": key["public_key_pem"]}
        doc = {
            "@context": ["https://gotosocial.org/ns", "https://w3id.org/security/v1",
                         "https://www.w3.org/ns/activitystreams"],
            "id": actor_id, "type": actor_type, "preferredUsername": username, "name": username.title(),
            "inbox": f"{actor_id}/inbox", "outbox": f"{actor_id}/outbox",
            "followers": f"{actor_id}/followers", "following": f"{actor_id}/following",
            "manuallyApprovesFollowers": False, "publicKey": public_key, "url": f"{self.base_url}/@{username}",
        }  # fmt: skip
        self.served_documents[f"/users/{username}/main-key"] = {
            "@context": ["https://w3id.org/security/v1", "https://www.w3.org/ns/activitystreams"],
            "id": actor_id, "preferredUsername": username, "publicKey": public_key, "type": actor_type,
        }  # fmt: skip
        actor = FakeActor(username, actor_id, key_id, key["private_key_pem"], key["public_key_pem"], doc)
        self.actors[username] = actor
        return actor

    async def _actor(self, request: web.Request) -> web.Response:
        actor = self.actors.get(request.match_info["name"])
        if actor is None:
            return await self._document(request)
        signed = "Signature" in request.headers
        key_id = None
        if signed:
            sig = request.headers["Signature"]
            key_id = sig.split('keyId="', 1)[1].split('"', 1)[0] if 'keyId="' in sig else None
        ok = signed and await self._verify("GET", request.raw_path, dict(request.headers), b"", key_id)
        self.actor_gets.append((request.path, signed, 200 if ok else 401))
        if not ok:
            return web.Response(status=401, text="not authenticated")
        return web.Response(body=json.dumps(actor.document), content_type=ACTIVITY_JSON)

    async def post(
        self, actor: FakeActor, url: str, activity: dict[str, Any] | bytes, **sign_options: Any
    ) -> tuple[int, str]:
        sign_options.setdefault("headers_to_sign", GTS_POST_HEADERS)
        return await super().post(actor, url, activity, **sign_options)


# -- a Mobilizon-shaped server -------------------------------------------------------------------------------

# Mobilizon's JSON-LD header (lib/federation/activity_pub/utils.ex, make_json_ld_header), in part: the terms
# its Join and its Event reading use.
MOBILIZON_CONTEXT = [
    "https://www.w3.org/ns/activitystreams",
    "https://w3id.org/security/v1",
    {
        "@language": "und",
        "sc": "http://schema.org#",
        "ical": "http://www.w3.org/2002/12/cal/ical#",
        "mz": "https://joinmobilizon.org/ns#",
        "participationMessage": {"@id": "mz:participationMessage", "@type": "sc:Text"},
        "joinMode": {"@id": "mz:joinMode", "@type": "mz:joinModeType"},
        "participantCount": {"@id": "mz:participantCount", "@type": "sc:Integer"},
        "status": {"@id": "ical:status", "@type": "ical:status"},
    },
]


@dataclass
class FakeMobilizon(FakeMastodon):
    """Shaped like Mobilizon (framasoft/mobilizon): a person RSVPs to a remote event with a `Join` whose id is
    the participation's URL (`/join/event/N`, converter/participant.ex) and an optional `participationMessage`,
    and cancels with a `Leave` (`/leave/event/N`, actions/leave.ex); it expects an `Accept` or `Reject` whose
    object is that Join (transmogrifier.ex, do_handle_incoming_accept_join), and reads an Event the way
    converter/event.ex's as_to_model_data does (`read_event`)."""

    participations: int = 0

    def join_of(self, actor: FakeActor, event_url: str, group_id: str, message: str = "") -> dict[str, Any]:
        self.participations += 1
        doc: dict[str, Any] = {
            "@context": MOBILIZON_CONTEXT,
            "type": "Join",
            "id": f"{self.base_url}/join/event/{self.participations}",
            "actor": actor.id,
            "object": event_url,
            "to": [group_id],
            "cc": [],
        }
        if message:
            doc["participationMessage"] = message
        return doc

    def leave_of(self, actor: FakeActor, event_url: str, group_id: str) -> dict[str, Any]:
        self.participations += 1
        return {
            "@context": MOBILIZON_CONTEXT,
            "type": "Leave",
            "id": f"{self.base_url}/leave/event/{self.participations}",
            "actor": actor.id,
            "object": event_url,
            "to": [group_id],
            "cc": [],
        }

    @staticmethod
    def read_event(event: dict[str, Any]) -> dict[str, Any]:
        """What Mobilizon keeps of a remote Event (as_to_model_data, get_options, get_online_address and the
        Address converter, which takes a string `address` as the street)."""
        location = event.get("location") or {}
        address = location.get("address")
        online = next(
            (
                a["href"]
                for a in event.get("attachment", [])
                if a.get("type") == "Link"
                and a.get("mediaType") == "text/html"
                and a.get("name") == "Website"
            ),
            None,
        )
        return {
            "title": event["name"],
            "description": event.get("content"),
            "begins_on": event["startTime"],
            "ends_on": event.get("endTime"),
            "join_options": event.get("joinMode", "free"),
            "status": str(event.get("status", event.get("ical:status", "CONFIRMED"))).lower(),
            "maximum_attendee_capacity": event.get("maximumAttendeeCapacity"),
            "participant_count": event.get("participantCount"),
            "timezone": event.get("timezone"),
            "is_online": event.get("isOnline") is True,
            "online_address": online,
            "street": address if isinstance(address, str) else None,
            "place_description": location.get("name"),
            "geom": (location.get("longitude"), location.get("latitude")) if "latitude" in location else None,
            "url": event["id"],
        }
