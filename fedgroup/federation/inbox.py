"""The inbox's edge: check and verify, store, answer 202; actions.inbox's processor handles each activity once.

Everything that can make a request unacceptable is checked before anything is written, so a refused request
leaves no trace. Processing happens after the 202 from the stored copy; handlers are safe to run twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import orjson
from aiohttp import web

from fedgroup import store
from fedgroup.actions.inbox import REPLAY_WINDOW
from fedgroup.federation import forwarded
from fedgroup.net.verification import AuthError, VerifiedSigner, authenticate
from fedgroup.protocol import jsonld
from fedgroup.protocol.gatherings import RSVP_TYPES, gathering_named
from fedgroup.protocol.parse import Activity, ParseError, parse_activity, same_origin

if TYPE_CHECKING:
    from fedgroup.runtime import Runtime

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
MAX_JSON_DEPTH = 32
MAX_RECIPIENTS = 2000
# Documents that need a JSON-LD processor (expanded form, prefixed terms): pyld takes ~3 s of CPU for a 1 MB
# one, on the event loop. Real ones are a few KB; anything bigger is refused before pyld sees it.
MAX_JSONLD_BYTES = 64 * 1024


class Rejected(Exception):
    def __init__(self, status: int, reason: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.headers = headers


def json_depth_exceeds(value: Any, limit: int) -> bool:
    """Whether nesting goes deeper than `limit` (iterative: a nesting bomb cannot blow the stack)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values() if isinstance(v, dict | list))
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item if isinstance(v, dict | list))
    return False


async def _read_body(request: web.Request) -> bytes:
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise Rejected(413, "body-too-large")
    try:
        body = await request.read()  # bounded by the app's client_max_size while it streams in
    except web.HTTPRequestEntityTooLarge as e:
        raise Rejected(413, "body-too-large") from e
    if len(body) > MAX_BODY_BYTES:
        raise Rejected(413, "body-too-large")
    return body


def _refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) != len(pairs):
        raise Rejected(400, "duplicate-key")
    return value


def has_duplicate_keys(body: bytes, parsed: Any) -> bool:
    """Whether some object in the body names a key twice (parsers disagree on which value wins, so the
    signed bytes would not fix one meaning).

    orjson keeps the last value and cannot tell. The cheap test: without `\\u` escapes, every `:` of the body
    is either a member's separator or inside a string, and so is every `:` of orjson's re-serialisation
    (which escapes no `:`); a key given twice adds a separator the parsed value lacks. Only a body with
    escapes, or with a count that differs, is read again by the standard parser, which reports every pair."""
    if b"\\u" not in body and body.count(b":") == orjson.dumps(parsed).count(b":"):
        return False
    try:
        json.loads(body, object_pairs_hook=_refuse_duplicate_keys)
    except Rejected:
        return True
    except ValueError:
        return True  # the standard parser refuses what orjson took: ambiguous too
    return False


def _load(body: bytes) -> Any:
    """The JSON, checked for what is cheap to check: syntax, duplicate keys, depth, and size if it needs
    JSON-LD."""
    try:
        raw = orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise Rejected(400, "not-json") from e
    # Nesting deeper than the limit needs more brackets than that: most activities have a dozen, and are
    # spared the walk.
    if body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH and json_depth_exceeds(raw, MAX_JSON_DEPTH):
        raise Rejected(400, "too-deep")
    if has_duplicate_keys(body, raw):  # after the depth check: orjson re-serialises at most 255 levels
        raise Rejected(400, "duplicate-key")
    if len(body) > MAX_JSONLD_BYTES and jsonld.needs_jsonld(raw):
        raise Rejected(413, "jsonld-too-large")
    return raw


def _read(raw: Any) -> tuple[Activity, dict[str, Any]]:
    """The activity, normalised and read, with the rules on ids, origins and recipients applied."""
    try:
        doc = jsonld.normalize(raw)
    except jsonld.DocumentError as e:
        raise Rejected(400, e.reason) from e
    try:
        activity = parse_activity(doc)
    except ParseError as e:
        raise Rejected(400, e.reason) from e
    if not activity.id and activity.type in NEEDS_ID:
        raise Rejected(400, "missing-id")
    if recipient_count(doc) > MAX_RECIPIENTS:
        raise Rejected(400, "too-many-recipients")
    if activity.id and not same_origin(activity.id, activity.actor):
        raise Rejected(400, "id-on-other-host")
    if activity.type in ("Create", "Update"):
        for embedded in activity.objects:  # each of several (Mitra's multiple-choice vote) like a single one
            object_id = jsonld.id_of(embedded)
            if not object_id:
                raise Rejected(400, "object-missing-id")
            if not same_origin(object_id, activity.actor):
                raise Rejected(400, "object-on-other-host")
    return activity, doc


_AUDIENCE_KEYS = ("to", "cc", "bto", "bcc", "audience")

# Activities without an id are legal (transient: Misskey sends its Delete, Accept and Reject so). These types
# must have one: what they do is later accepted, replaced or undone by naming their id.
NEEDS_ID = frozenset({"Follow", "Like", "Announce", "Pledge", "Flag", "Join"})
# RSVPs that can only be about a gathering (Accept and Reject also answer our Follows).
_ONLY_RSVPS = frozenset({"Join", "Leave", "TentativeAccept", "TentativeReject"})


async def check_rsvp(runtime: Runtime, activity: Activity) -> None:
    """An RSVP must name one of our gatherings that federates, and a followers-only one only from a
    follower: refused here, before anything is stored."""
    if activity.type not in RSVP_TYPES:
        return
    gathering_id = gathering_named(runtime.ids, activity)
    if gathering_id is None:
        if activity.type in _ONLY_RSVPS:
            raise Rejected(422, "rsvp-object-not-a-gathering")
        return
    row = await runtime.db.read(store.gatherings.get, gathering_id)
    if row is None or not row.federates:
        raise Rejected(404, "unknown-gathering")
    if row.visibility == "followers" and not await runtime.db.read(
        store.follows.is_accepted_follower, activity.actor
    ):
        raise Rejected(403, "gathering-followers-only")


def delivery_key(activity: Activity, doc: dict[str, Any]) -> str:
    """What identifies a delivery as the same one: the activity's id, or for an activity without an id a
    digest of its canonical body (so a retry of it is still a repeat)."""
    if activity.id:
        return activity.id
    canonical = orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)
    return f"transient:sha256:{hashlib.sha256(canonical).hexdigest()}"


def event_key(activity: Activity, document: str) -> str | None:
    """What a Create or an Update is about, to tell a new event that reuses an id from a repeat (see
    store.inbox._ADD): a Create's object ids, an Update's whole document (digested)."""
    if activity.type == "Create":
        ids = [jsonld.id_of(o) or "" for o in activity.objects] or [activity.object_id or ""]
        return " ".join(sorted(ids))
    if activity.type == "Update":
        return "sha256:" + hashlib.sha256(document.encode()).hexdigest()
    return None


def signature_digest(request: web.Request) -> str | None:
    """A digest of the request's signature: the same signed request sent again carries the same one."""
    value = request.headers.get("Signature") or request.headers.get("Authorization")
    return hashlib.sha256(value.encode()).hexdigest()[:32] if value else None


def recipient_count(doc: dict[str, Any]) -> int:
    """Addressees of the activity and of its embedded object, duplicates included (they cost us alike)."""
    parts = [doc]
    embedded = doc.get("object")
    if isinstance(embedded, list):
        parts.extend(o for o in embedded if isinstance(o, dict))
    elif isinstance(embedded, dict):
        parts.append(embedded)
    return sum(len(jsonld.as_list(part.get(key))) for part in parts for key in _AUDIENCE_KEYS)


def _check_rate(runtime: Runtime, signer: VerifiedSigner) -> None:
    """Charge the verified signer's host. Only after the signature holds: a forger naming someone else's
    keyId must not spend that server's budget (a bad signature costs us one RSA check, and keys are fetched
    at most once a minute each)."""
    throttle = runtime.inbox_throttle
    if not throttle.enabled:
        return
    host = urlsplit(signer.key_id).netloc.lower()
    wait = throttle.take(host, runtime.now().timestamp()) if host else None
    if wait is not None:
        raise Rejected(429, "rate-limited", {"Retry-After": str(wait)})


def _is_self_delete(activity: Activity) -> bool:
    return activity.type == "Delete" and activity.object_id == activity.actor


# Seconds a sender is asked to wait when the inbox is over its limits (a few batches' processing).
BUSY_RETRY_AFTER = 10


def overloaded(runtime: Runtime) -> str | None:
    """Why the inbox takes nothing more for now, if it is over a limit: too many activities accepted and not
    processed yet, or too many requests being checked at once. Checked before the body is read, so that a
    flood costs a short answer each, and memory stays bounded, instead of a growing queue."""
    config = runtime.config
    if config.inbox_max_in_flight and runtime.inbox_in_flight >= config.inbox_max_in_flight:
        return "busy-in-flight"
    if config.inbox_max_backlog and runtime.backlog >= config.inbox_max_backlog:
        return "busy-backlog"
    return None


async def receive(runtime: Runtime, request: web.Request) -> web.Response:
    """POST to the group inbox or the shared inbox."""
    busy = overloaded(runtime)
    if busy is not None:
        log.info("inbox rejected reason=%s status=503 in_flight=%d", busy, runtime.inbox_in_flight)
        return web.Response(status=503, text=f"{busy}\n", headers={"Retry-After": str(BUSY_RETRY_AFTER)})
    runtime.inbox_in_flight += 1
    try:
        return await _receive(runtime, request)
    finally:
        runtime.inbox_in_flight -= 1


async def _receive(runtime: Runtime, request: web.Request) -> web.Response:
    activity: Activity | None = None
    key_id = None
    try:
        body = await _read_body(request)
        raw = _load(body)
        signer = None
        if jsonld.needs_jsonld(raw):
            # pyld costs milliseconds a document: it only runs for a request whose signature holds.
            try:
                signer = await authenticate(runtime, request, body)
            except AuthError as e:
                key_id = e.key_id
                raise Rejected(e.status, e.reason, e.headers) from e
            _check_rate(runtime, signer)
        activity, doc = _read(raw)
        if signer is None:
            # A deleted account's key is usually gone (410): never fetch for it, verify only with a cached key.
            self_delete = _is_self_delete(activity)
            try:
                signer = await authenticate(runtime, request, body, fetch_key=not self_delete)
            except AuthError as e:
                key_id = e.key_id
                if self_delete and e.reason == "key-unknown":
                    log.debug("inbox dropped reason=self-delete-unknown-key actor=%s", activity.actor)
                    return web.Response(status=202)
                raise Rejected(e.status, e.reason, e.headers) from e
            _check_rate(runtime, signer)
        key_id = signer.key_id
        if signer.actor_id != activity.actor:
            # Forwarded by a third server: its signature says nothing of the author. Believed only as the
            # object's origin confirms it, and stored as the origin says (forwarded.py).
            if not forwarded.can_forward(activity):
                raise Rejected(403, "signer-not-actor")
            if await runtime.is_blocked(signer.actor_id):
                raise Rejected(403, "blocked")
            confirmed = await forwarded.confirmed(runtime, activity)
            if confirmed is None:
                raise Rejected(403, "signer-not-actor")
            activity, doc = confirmed
            log.info("inbox forwarded activity confirmed at its origin actor=%s by=%s", activity.actor,
                     signer.actor_id)  # fmt: skip
        if await runtime.is_blocked(activity.actor):
            raise Rejected(403, "blocked")
        await check_rsvp(runtime, activity)
        now = runtime.now()
        document = orjson.dumps(doc).decode()
        await runtime.arrivals.add(
            delivery_key(activity, doc),
            activity.actor,
            activity.type,
            document,
            now,
            undoes=activity.object_id if activity.type == "Undo" else None,
            signature=signature_digest(request),
            forget_before=now - REPLAY_WINDOW,
            event=event_key(activity, document),
            parsed=activity,
        )
    except Rejected as e:
        log.info(
            "inbox rejected reason=%s status=%d key_id=%s actor=%s",
            e.reason,
            e.status,
            key_id,
            activity.actor if activity else None,
        )
        return web.Response(status=e.status, text=f"{e.reason}\n", headers=e.headers)
    # What was stored is on its way to the processor already (Runtime.activities_stored); a repeat stored nothing.
    return web.Response(status=202)
