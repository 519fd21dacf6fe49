"""The inbox: check and verify at the edge, store, answer 202; a processor handles each activity once.

Everything that can make a request unacceptable is checked before anything is written, so a refused request
leaves no trace. Processing happens after the 202 from the stored copy; handlers are safe to run twice.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import orjson
from aiohttp import web

from fedgroup import actions, store
from fedgroup.actions import campaign_inbox, moderation, outbox, partnership
from fedgroup.net.fetch import FetchError
from fedgroup.net.verification import AuthError, VerifiedSigner, authenticate
from fedgroup.net.worker import Worker
from fedgroup.protocol import jsonld, signatures
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


def _load(body: bytes) -> Any:
    """The JSON, checked for what is cheap to check: syntax, depth, and size if it needs JSON-LD."""
    try:
        raw = orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise Rejected(400, "not-json") from e
    # Nesting deeper than the limit needs more brackets than that: most activities have a dozen, and are
    # spared the walk.
    if body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH and json_depth_exceeds(raw, MAX_JSON_DEPTH):
        raise Rejected(400, "too-deep")
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
    if activity.type in ("Create", "Update") and activity.object is not None:
        object_id = activity.object_id
        if not object_id:
            raise Rejected(400, "object-missing-id")
        if not same_origin(object_id, activity.actor):
            raise Rejected(400, "object-on-other-host")
    return activity, doc


_AUDIENCE_KEYS = ("to", "cc", "bto", "bcc", "audience")

# Activities without an id are legal (transient: Misskey sends its Delete, Accept and Reject so). These types
# must have one: what they do is later accepted, replaced or undone by naming their id.
NEEDS_ID = frozenset({"Follow", "Like", "Announce", "Pledge", "Flag"})
# How long a signed request stays acceptable after we first received it: its Date may be up to 1 hour ahead
# of our clock and is accepted until it is 12 hours old. Past that a repeat of it is refused for its Date,
# so the ids of processed activities are kept only this long.
REPLAY_WINDOW = signatures.DEFAULT_MAX_SKEW + signatures.MAX_FUTURE
FORGET_EVERY = timedelta(minutes=10)


def delivery_key(activity: Activity, doc: dict[str, Any]) -> str:
    """What identifies a delivery as the same one: the activity's id, or for an activity without an id a
    digest of its canonical body (so a retry of it is still a repeat)."""
    if activity.id:
        return activity.id
    canonical = orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)
    return f"transient:sha256:{hashlib.sha256(canonical).hexdigest()}"


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


async def receive(runtime: Runtime, request: web.Request) -> web.Response:
    """POST to the group inbox or the shared inbox."""
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
            raise Rejected(403, "signer-not-actor")
        if await runtime.is_blocked(activity.actor):
            raise Rejected(403, "blocked")
        now = runtime.now()
        await runtime.arrivals.add(
            delivery_key(activity, doc),
            activity.actor,
            activity.type,
            orjson.dumps(doc).decode(),
            now,
            undoes=activity.object_id if activity.type == "Undo" else None,
            signature=signature_digest(request),
            forget_before=now - REPLAY_WINDOW,
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
    if runtime.inbox is not None:
        runtime.inbox.wake()
    return web.Response(status=202)


# -- processing ----------------------------------------------------------------------------------------

Handler = Callable[["Runtime", Activity], Awaitable[None]]


async def on_follow(runtime: Runtime, activity: Activity) -> None:
    ids = runtime.ids
    if activity.object_id != ids.group:
        log.debug("follow ignored reason=not-our-group object=%s", activity.object_id)
        return
    assert runtime.actors is not None
    follower = await runtime.actors.actor(activity.actor)
    follow = {"id": activity.id, "actor": activity.actor}
    manual = runtime.config.manually_approves_followers
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> None:
        store.follows.add_follower(
            conn,
            follower.id,
            activity.id or "",
            "pending" if manual else "accepted",
            follower.inbox,
            follower.shared_inbox,
            now,
        )
        stored = store.follows.follower(conn, follower.id)
        if stored is not None and stored.state == "accepted":
            # Also for a repeated Follow: the other side may have lost our first Accept.
            outbox.accept_follow(conn, ids, follow, follower.inbox, now)

    await runtime.db.write(job)
    runtime.deliveries_queued()
    log.info("follow received actor=%s manual=%s", follower.id, manual)


async def on_undo(runtime: Runtime, activity: Activity) -> None:
    inner = activity.object
    inner_type = jsonld.as_list(inner.get("type"))[0] if inner and inner.get("type") else None
    if inner is not None and jsonld.id_of(inner.get("actor")) not in (None, activity.actor):
        log.debug("undo ignored reason=inner-actor-mismatch actor=%s", activity.actor)
        return
    if inner_type in (None, "Follow"):
        by_id = activity.object_id if inner_type is None else None
        now = runtime.now()

        def unfollow(conn: sqlite3.Connection) -> bool:
            if not store.follows.remove_follower(conn, activity.actor, by_id):
                return False
            partnership.reconsider(conn, activity.actor, now)  # a partner's aggregates go with it
            return True

        if await runtime.db.write(unfollow):
            log.info("follower removed actor=%s reason=undo", activity.actor)
            runtime.wake_scheduler()
            return
    if inner_type != "Follow":
        await campaign_inbox.on_undo_object(runtime, activity, inner_type)


async def on_delete(runtime: Runtime, activity: Activity) -> None:
    if activity.object_id == activity.actor:
        await _forget_actor(runtime, activity.actor)
        log.info("actor deleted actor=%s", activity.actor)
    else:
        await campaign_inbox.on_delete_object(runtime, activity)


async def _forget_actor(runtime: Runtime, actor_id: str) -> None:
    """A deleted account: its follow, its votes, replies and aggregates go; totals adjust."""
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> None:
        actions.forget_remote_actor(conn, actor_id, now)

    await runtime.db.write(job)
    runtime.wake_scheduler()


async def on_accept_or_reject(runtime: Runtime, activity: Activity) -> None:
    inner = activity.object
    follow_id = activity.object_id
    if inner is not None and jsonld.id_of(inner.get("actor")) not in (None, runtime.ids.group):
        return
    accepted = activity.type == "Accept"

    def job(conn: sqlite3.Connection) -> bool:
        ours = store.follows.following_by_follow_id(conn, follow_id) if follow_id else None
        if ours is None:
            ours = store.follows.following_of(conn, activity.actor)
        if ours is None or ours.actor_id != activity.actor:
            return False
        if accepted:
            store.follows.set_following_state(conn, ours.follow_id, "accepted")
        else:
            store.follows.remove_following(conn, activity.actor)
            # A group that was a partner only because we follow it is not one any more.
            partnership.reconsider(conn, activity.actor, runtime.now())
        return True

    if await runtime.db.write(job):
        log.info("follow %s by actor=%s", "accepted" if accepted else "rejected", activity.actor)
        runtime.wake_scheduler()
        if accepted:
            await _import_partner_campaigns(runtime, activity.actor)


async def _import_partner_campaigns(runtime: Runtime, group: str) -> None:
    """A partner accepted us: take its current campaigns from the first page of its outbox. The outbox and its
    page must come from the group's own origin (after redirects): another host's pages define nothing of it."""
    assert runtime.actors is not None and runtime.http is not None
    try:
        actor = await runtime.actors.actor(group)
        outbox_url = jsonld.id_of(orjson.loads(actor.document).get("outbox"))
        if not outbox_url:
            return
        collection = await _partner_document(runtime, group, outbox_url)
        first = collection.get("first")
        page = (
            first
            if isinstance(first, dict)
            else await _partner_document(runtime, group, jsonld.id_of(first) or "")
        )
    except FetchError as e:
        log.info("partner outbox not read reason=%s group=%s", e.reason, group)
        return
    for item in jsonld.as_list(page.get("orderedItems"))[:20]:
        if isinstance(item, dict) and item.get("type") == "Create" and isinstance(item.get("object"), dict):
            if jsonld.id_of(item.get("actor")) == group:
                await campaign_inbox.save_partner_campaign(runtime, group, item["object"])


async def _partner_document(runtime: Runtime, group: str, url: str) -> dict[str, Any]:
    """A document of the partner's, fetched (signed) from the partner's origin and answered from there."""
    assert runtime.http is not None
    if not same_origin(url, group):
        raise FetchError("on-other-host", f"{url} for {group}")
    fetched = await runtime.http.fetch_document(url, runtime.instance_signer)
    if not same_origin(fetched.url, group):
        raise FetchError("on-other-host", f"{url} answered from {fetched.url}")
    return fetched.document


async def on_update(runtime: Runtime, activity: Activity) -> None:
    obj = activity.object
    if obj is not None and activity.object_id == activity.actor and "inbox" in obj:
        assert runtime.actors is not None
        await runtime.actors.accept_document(obj, activity.actor)
    else:
        await campaign_inbox.on_update_object(runtime, activity)


async def on_block(runtime: Runtime, activity: Activity) -> None:
    if activity.object_id == runtime.ids.group:
        now = runtime.now()

        def job(conn: sqlite3.Connection) -> None:
            store.follows.remove_follower(conn, activity.actor)
            partnership.reconsider(conn, activity.actor, now)

        await runtime.db.write(job)
        runtime.wake_scheduler()
        log.info("follower removed actor=%s reason=blocked-us", activity.actor)


HANDLERS: dict[str, Handler] = {
    "Follow": on_follow,
    "Undo": on_undo,
    "Delete": on_delete,
    "Accept": on_accept_or_reject,
    "Reject": on_accept_or_reject,
    "Update": on_update,
    "Block": on_block,
    "Create": campaign_inbox.on_create,
    "Pledge": campaign_inbox.on_pledge,
    "Like": campaign_inbox.on_reaction,
    "Announce": campaign_inbox.on_reaction,
    "Flag": moderation.on_flag,
}


class InboxProcessor(Worker):
    """Works through stored activities in arrival order; one failing activity never blocks the rest."""

    name = "inbox-processor"

    def __init__(self, runtime: Runtime, handlers: dict[str, Handler] | None = None) -> None:
        super().__init__()
        self.runtime = runtime
        self.handlers = handlers if handlers is not None else HANDLERS
        self._forgotten_at: datetime | None = None

    async def _forget_old(self) -> None:
        """Every few minutes, drop processed activities older than any request we would still accept."""
        now = self.runtime.now()
        if self._forgotten_at is not None and now - self._forgotten_at < FORGET_EVERY:
            return
        self._forgotten_at = now
        try:
            await self.runtime.db.write(lambda conn: store.inbox.forget_done(conn, now - REPLAY_WINDOW))
        except Exception:  # housekeeping: the queue goes on, it is tried again later
            log.exception("inbox processor could not forget old activities")

    async def _run(self) -> None:
        while not self.stopping:
            await self._forget_old()
            try:
                batch = await self.runtime.db.read(store.inbox.pending)
            except Exception:
                log.exception("inbox processor failed to read the queue")
                batch = []
            finished: list[tuple[store.inbox.StoredActivity, str | None]] = []
            for stored in batch:
                if self.stopping:
                    break
                finished.append((stored, await self.process(stored)))
            if finished:
                # One write marks the whole batch done. A crash before it only means these handlers run
                # again after the restart, which they are written to allow.
                try:
                    await self.runtime.db.write(
                        lambda conn, done=finished: store.inbox.finish_all(conn, done)
                    )
                except Exception:  # the queue must go on: the batch is handled again next time
                    log.exception("inbox processor could not mark activities done count=%d", len(finished))
                    await self.idle(self.runtime.config.queue_poll_seconds)
                    continue
            if batch:
                continue
            await self.idle(self.runtime.config.queue_poll_seconds)

    async def process(self, stored: store.inbox.StoredActivity) -> str | None:
        """Run the activity's handler; returns why it failed, or None."""
        error = None
        try:
            activity = parse_activity(orjson.loads(stored.document))
            handler = self.handlers.get(activity.type)
            # Blocked after it arrived: what it would store is what the block erased.
            if handler is not None and not await self.runtime.is_blocked(activity.actor):
                await handler(self.runtime, activity)
        except FetchError as e:
            error = f"fetch {e.reason}: {e.detail}"
        except Exception as e:  # a bug must not wedge the queue: record it and move on
            log.exception("inbox handler crashed activity=%s", stored.id)
            error = f"{type(e).__name__}: {e}"
        if error:
            log.info("inbox processing failed activity=%s type=%s error=%s", stored.id, stored.type, error)
        return error
