"""The inbox's processor: what each stored activity does, run once it has been accepted (federation.inbox
checked, verified and stored it, and answered 202). Handlers are safe to run twice.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import logging
import random
import sqlite3
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import orjson

from fedgroup import store
from fedgroup.actions import (
    blueprint_inbox,
    campaign_inbox,
    gatherings,
    handling,
    moderation,
    moves,
    outbox,
    partnership,
)
from fedgroup.actions.context import Context
from fedgroup.net import retry
from fedgroup.net.fetch import FetchError
from fedgroup.net.retry import RetryPolicy
from fedgroup.net.worker import Worker
from fedgroup.protocol import jsonld, signatures
from fedgroup.protocol.parse import Activity, parse_activity, same_origin
from fedgroup.store.db import from_db_time

log = logging.getLogger(__name__)

# How long a signed request stays acceptable after we first received it: its Date may be up to 1 hour ahead
# of our clock and is accepted until it is 12 hours old. Past that a repeat of it is refused for its Date,
# so the ids of processed activities are kept only this long.
REPLAY_WINDOW = signatures.DEFAULT_MAX_SKEW + signatures.MAX_FUTURE
FORGET_EVERY = timedelta(minutes=10)
# Activities handled at once: enough that their writes share commits and a slow remote fetch does not stall
# the queue; one actor's still run one at a time.
CONCURRENCY = 32
# How many waiting activities keep what the inbox parsed from them. A Mastodon-shaped activity parsed is about
# 10 KB of Python objects, three times its stored text; in a storm the backlog may reach inbox_max_backlog
# (5,000), and memory must not grow with it. Past this many, an activity waits as its text and is parsed
# again when its turn comes (tens of microseconds), in the order it came like the others.
PARSED_HELD = 256
# How many handed-over activities are taken up at a time (the rest wait, counted by `take`).
TAKEN_AT_ONCE = 100
# How long the processor lets activities that another process stored (`serve --workers N`: told, not handed
# over) gather before it reads them: a round (read the queue, handle, record as done, find when the next
# retry is due) costs two commits and a few reads however many it takes, and at a few hundred a second a round
# for each cost `serve` more than handling them (bench/RESULTS.md, "A round for a batch"). While the
# processor is busy nothing waits: what came meanwhile is the next round's.
GATHER_SECONDS = 0.02
REMEMBERED_FINISHED = 10_000


Handler = Callable[[Context, Activity], Awaitable[None]]


async def on_follow(runtime: Context, activity: Activity) -> None:
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

    await runtime.db.write(handling.finishing(job))
    runtime.deliveries_queued()
    log.info("follow received actor=%s manual=%s", follower.id, manual)


async def on_undo(runtime: Context, activity: Activity) -> None:
    inner = activity.object
    inner_types = jsonld.types_of(inner) if inner else ()
    inner_type = inner_types[0] if inner_types else None
    if inner is not None and jsonld.id_of(inner.get("actor")) not in (None, activity.actor):
        log.debug("undo ignored reason=inner-actor-mismatch actor=%s", activity.actor)
        return
    if inner_type in (None, "Follow"):
        by_id = activity.object_id if inner_type is None else None
        now = runtime.now()
        done = handling.done_mark()

        def unfollow(conn: sqlite3.Connection) -> bool:
            if not store.follows.remove_follower(conn, activity.actor, by_id):
                return False  # not a follow of ours: the Undo of an object comes next
            partnership.reconsider(conn, activity.actor, now)  # a partner's aggregates go with it
            done(conn)
            return True

        if await runtime.db.write(unfollow):
            log.info("follower removed actor=%s reason=undo", activity.actor)
            runtime.wake_scheduler()
            return
    if await gatherings.on_undone_rsvp(runtime, activity):
        return  # the account's own RSVP to one of our gatherings, withdrawn
    if inner_type != "Follow":
        await campaign_inbox.on_undo_object(runtime, activity, inner_type)


async def on_delete(runtime: Context, activity: Activity) -> None:
    if activity.object_id == activity.actor:
        await _forget_actor(runtime, activity.actor)
        log.info("actor deleted actor=%s", activity.actor)
    else:
        await campaign_inbox.on_delete_object(runtime, activity)


async def _forget_actor(runtime: Context, actor_id: str) -> None:
    """A deleted account: its follow, its votes, replies and aggregates go; totals adjust."""
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> None:
        moderation.forget_remote_actor(conn, actor_id, now)
        gatherings.forget_actor(conn, runtime.ids, actor_id, now)

    await runtime.db.write(handling.finishing(job))
    if runtime.actors is not None:
        await runtime.actors.forget(actor_id)
    runtime.wake_scheduler()


async def on_accept_or_reject(runtime: Context, activity: Activity) -> None:
    if await gatherings.on_remote_rsvp(runtime, activity):
        return  # an RSVP: Accept or Reject of one of our gatherings' Event
    inner = activity.object
    follow_id = activity.object_id
    if inner is not None and jsonld.id_of(inner.get("actor")) not in (None, runtime.ids.group):
        return
    accepted = activity.type == "Accept"
    done = handling.done_mark()

    def job(conn: sqlite3.Connection) -> bool:
        ours = store.follows.following_by_follow_id(conn, follow_id) if follow_id else None
        if ours is None:
            ours = store.follows.following_of(conn, activity.actor)
        if ours is None or ours.actor_id != activity.actor:
            done(conn)
            return False
        if accepted:
            store.follows.set_following_state(conn, ours.follow_id, "accepted")
        else:
            store.follows.remove_following(conn, activity.actor)
            # A group that was a partner only because we follow it is not one any more.
            partnership.reconsider(conn, activity.actor, runtime.now())
            done(conn)  # an Accept goes on to import the partner's campaigns (idempotent)
        return True

    if await runtime.db.write(job):
        log.info("follow %s by actor=%s", "accepted" if accepted else "rejected", activity.actor)
        runtime.wake_scheduler()
        if accepted:
            await _import_partner_campaigns(runtime, activity.actor)


MAX_IMPORTED_CAMPAIGNS = 20


async def _import_partner_campaigns(runtime: Context, group: str) -> None:
    """A partner accepted us: take its campaigns from the first page of its outbox, each as it is now. The
    outbox's Create carries a campaign as it was created (totals at zero), so each campaign is fetched afresh
    (signed); campaigns of the group we already hold are refreshed too. The outbox, its page and every
    campaign must come from the group's own origin (after redirects): another host defines nothing of it."""
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
    created: dict[str, dict[str, Any]] = {}
    for item in jsonld.as_list(page.get("orderedItems"))[:MAX_IMPORTED_CAMPAIGNS]:
        if isinstance(item, dict) and item.get("type") == "Create" and isinstance(item.get("object"), dict):
            object_id = jsonld.id_of(item["object"])
            if jsonld.id_of(item.get("actor")) == group and object_id:
                created[object_id] = item["object"]
    held = [p.object_id for p in await runtime.db.read(store.campaigns.partner_campaigns, group)]
    for object_id in list(dict.fromkeys([*created, *held]))[: 2 * MAX_IMPORTED_CAMPAIGNS]:
        current: dict[str, Any] | None
        try:
            current = await _current_campaign(runtime, group, object_id)
        except FetchError as e:
            log.info(
                "partner campaign not fetched reason=%s group=%s campaign=%s", e.reason, group, object_id
            )
            if e.status in (404, 410) or e.reason in ("other-id", "on-other-host"):
                continue  # gone, or not what was asked for: nothing of it is stored
            # Unreadable for now: as the outbox has it, until its next Update.
            current = created.get(object_id)
        if current is not None:
            await campaign_inbox.save_partner_campaign(runtime, group, current)


async def _current_campaign(runtime: Context, group: str, object_id: str) -> dict[str, Any]:
    """The partner's campaign as its server serves it now (a signed fetch): asked for on the partner's origin,
    answered from there, and the very object asked for."""
    document = await _partner_document(runtime, group, object_id)
    if jsonld.id_of(document) != object_id:
        raise FetchError("other-id", f"{object_id} answered with {jsonld.id_of(document)}")
    return document


async def _partner_document(runtime: Context, group: str, url: str) -> dict[str, Any]:
    """A document of the partner's, fetched (signed) from the partner's origin and answered from there."""
    assert runtime.http is not None
    if not same_origin(url, group):
        raise FetchError("on-other-host", f"{url} for {group}")
    fetched = await runtime.http.fetch_document(url, runtime.instance_signer)
    if not same_origin(fetched.url, group):
        raise FetchError("on-other-host", f"{url} answered from {fetched.url}")
    return fetched.document


async def on_update(runtime: Context, activity: Activity) -> None:
    obj = activity.object
    if obj is not None and activity.object_id == activity.actor and "inbox" in obj:
        assert runtime.actors is not None
        await runtime.actors.accept_document(obj, activity.actor)
    else:
        await campaign_inbox.on_update_object(runtime, activity)


async def on_block(runtime: Context, activity: Activity) -> None:
    if activity.object_id == runtime.ids.group:
        now = runtime.now()

        def job(conn: sqlite3.Connection) -> None:
            store.follows.remove_follower(conn, activity.actor)
            partnership.reconsider(conn, activity.actor, now)

        await runtime.db.write(handling.finishing(job))
        runtime.wake_scheduler()
        log.info("follower removed actor=%s reason=blocked-us", activity.actor)


async def on_rsvp(runtime: Context, activity: Activity) -> None:
    if not await gatherings.on_remote_rsvp(runtime, activity):
        log.debug("rsvp ignored reason=not-a-gathering type=%s object=%s", activity.type, activity.object_id)


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
    "Move": moves.on_move,
    "Adopt": blueprint_inbox.on_adopt,
    "Join": on_rsvp,
    "Leave": on_rsvp,
    "TentativeAccept": on_rsvp,
    "TentativeReject": on_rsvp,
}


# FetchError reasons that may pass: the other server was down or slow, or its key fetch failed a moment ago.
# Any other refusal of a remote document (gone, on another host, not JSON...) will be the same next time.
_TRANSIENT_FETCH = frozenset({"offline", "unreachable", "key-fetch-failed-recently"})
_TRANSIENT_STATUS = frozenset({408, 425, 429})


def _transient(e: FetchError) -> bool:
    if e.reason == "http-status":
        return e.status in _TRANSIENT_STATUS or (e.status or 0) >= 500
    return e.reason in _TRANSIENT_FETCH


def _finished(conn: sqlite3.Connection, finished: list[store.inbox.Finished], now: datetime) -> None:
    store.inbox.finish_all(conn, finished)
    store.health.record_progress(conn, "inbox", now)  # the queue moves: it has not stalled


class InboxProcessor(Worker):
    """Works through stored activities; one failing activity never blocks the rest.

    Activities just stored by the inbox are handed over in memory (`take`) as their commit completes; the
    queue in the database is read when none are waiting (a restart, a retry that came due, or work stored
    by another process). Up to `concurrency` activities are handled at once, so that their writes share
    the writer's commits and a slow fetch does not hold up the rest, but one actor's activities run one at
    a time, in the order they came (a vote before its Undo). What came of each is written for many
    together, in one commit. A row stays 'pending' in the database until that commit: a crash before it
    means the handler runs again after the restart, which handlers are written to allow.

    A handler that raises or runs past `handler_timeout` is tried again later under the retry policy (the one
    deliveries use), and given up past its age: the row is then kept, with its error, for the operator
    (`fedgroup inbox retry`). An activity that can never succeed (it does not parse, its actor's document is
    gone or on another host) is given up at once.

    Exactly once, and where only idempotence. A handler whose effect is one write marks its activity done in
    that write's transaction (actions.handling), so a crash after it commits cannot run it again:
    Follow; Undo of a follow, a vote, a group pledge, a like or a boost; Delete of an actor or of an object;
    Reject, and an Accept of nothing of ours; Block; a vote (unless the poll is closed: the late-vote answer
    follows), a reply; a group Pledge and its Update; Like and Announce; Flag; Adopt.
    The others write more than once or fetch between writes, and are idempotent instead, as every handler
    is (a retry after an error runs the handler again): Accept (the partner's campaigns are imported after
    it: each an upsert), Update of an actor (the cached document is replaced) or of a partner's campaign or
    blueprint (upserts), a Create of a partner's campaign or blueprint (upserts), a Create of several votes
    (each stored once per voter and option; only the last one's write carries the mark), Move (repoints,
    then leaves and follows, each a no-op when already done). The "done" of the batch is written after the
    handler returns in every case; for the first kind it is a second, harmless write.
    """

    name = "inbox-processor"

    def __init__(
        self,
        runtime: Context,
        handlers: dict[str, Handler] | None = None,
        *,
        retry_policy: RetryPolicy | None = None,
        handler_timeout: float | None = None,
        rng: random.Random | None = None,
        concurrency: int = CONCURRENCY,
        parsed_held: int = PARSED_HELD,
    ) -> None:
        super().__init__()
        self.runtime = runtime
        self.handlers = handlers if handlers is not None else HANDLERS
        config = runtime.config
        self.retry_policy = retry_policy or dataclasses.replace(
            retry.DEFAULT, base_delay=timedelta(seconds=config.inbox_retry_seconds)
        )
        self.handler_timeout = handler_timeout or config.inbox_handler_timeout_seconds
        self._rng = rng or random.Random()
        self._forgotten_at: datetime | None = None
        self._handed: collections.deque[store.inbox.StoredActivity] = collections.deque()
        self.parsed_held = parsed_held
        # Ids taken up and not yet recorded as finished: never taken twice at once.
        # (With the arrival time and attempts of the copy taken up: the queue shows that copy while it runs.)
        self._taken: dict[str, tuple[str, int]] = {}
        self._slots = asyncio.Semaphore(concurrency)
        self._running: set[asyncio.Task[None]] = set()
        self._actor_locks: dict[str, asyncio.Lock] = {}
        self._finished: list[store.inbox.Finished] = []
        # Whether the queue in the database may hold what was not handed over: at the start, after a read that
        # found rows (it reads a hundred at a time), after rows were held back behind a copy being handled, and
        # after a record that failed. Otherwise, after a round of what was handed over, the queue is not read:
        # at a few hundred a second each activity comes alone, and reading the queue behind each (it found
        # the one being handled, and its next-due time woke the processor again) cost more than handling it.
        self._queue_unread = True
        self.queue_reads = 0  # how many times it read the queue in the database
        self._recording: asyncio.Task[None] | None = None
        # Rows recently recorded (id, arrival time, failed attempts before that run), whatever came of them: a
        # copy handed over while the same row, read from the database, was being handled is not handled again.
        # A row to retry or given up and put back is read again with one more attempt, so it is not this copy.
        self._recorded: collections.OrderedDict[tuple[str, str, int], None] = collections.OrderedDict()

    @property
    def backlog(self) -> int:
        """Activities accepted and not yet processed that this process holds (for back-pressure)."""
        return len(self._handed) + len(self._taken)

    def holds(self, activity_id: str) -> bool:
        """Whether the activity is in this processor's hands: handed over or being handled, and its end not
        recorded yet. A handler may commit the activity's "done" with its own changes and still have work
        after the commit (a log line, waking a worker): only once this says no has it all happened."""
        return activity_id in self._taken or any(stored.id == activity_id for stored in self._handed)

    def take(self, stored: list[store.inbox.StoredActivity]) -> None:
        """Activities just committed by the inbox: processed from memory, not read back."""
        if stored:
            room = max(self.parsed_held - len(self._handed), 0)
            self._handed.extend(stored[:room])
            self._handed.extend(dataclasses.replace(s, parsed=None) for s in stored[room:])
            self.wake()

    @property
    def waiting_parsed(self) -> tuple[int, int]:
        """Of the activities handed over and not yet taken up: how many, and how many still hold what the inbox
        parsed from them."""
        return len(self._handed), sum(s.parsed is not None for s in self._handed)

    async def stop(self) -> None:
        await super().stop()
        while self._running:
            await asyncio.gather(*list(self._running), return_exceptions=True)
        while self._recording is not None:
            await self._recording

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

    async def _next_batch(self) -> list[store.inbox.StoredActivity]:
        if self._handed:
            batch = [self._handed.popleft() for _ in range(min(len(self._handed), TAKEN_AT_ONCE))]
        else:
            self._queue_unread = False  # this read sees all there is; what comes later is handed or told
            self.queue_reads += 1
            try:
                batch = await self.runtime.db.read(store.inbox.due, self.runtime.now())
            except Exception:
                log.exception("inbox processor failed to read the queue")
                batch = []
                self._queue_unread = True
            self._queue_unread = self._queue_unread or bool(batch)
        # A row already taken up (handed over, then seen in the queue; or taken up again as a new event while
        # the first run goes on) waits in the database until the first run is recorded.
        ready = [
            stored
            for stored in batch
            if stored.id not in self._taken
            and (stored.id, stored.received_at, stored.attempts) not in self._recorded
        ]
        if any(self._taken.get(s.id) != (s.received_at, s.attempts) for s in batch if s.id in self._taken):
            self._queue_unread = True  # a new event of one being handled: read again once that is recorded
        return ready

    async def _run(self) -> None:
        poll = self.runtime.config.queue_poll_seconds
        while not self.stopping:
            await self._forget_old()
            handed = bool(self._handed)
            batch = await self._next_batch()
            for stored in batch:
                if stored.id in self._taken:
                    continue
                await self._slots.acquire()
                if self.stopping:
                    self._slots.release()
                    break
                self._taken[stored.id] = (stored.received_at, stored.attempts)
                task = asyncio.create_task(self._handle(stored))
                self._running.add(task)
                task.add_done_callback(self._running.discard)
            if batch and not self.stopping and (self._handed or not handed or self._queue_unread):
                continue
            await self.idle(await self._until_next_due(poll))

    async def _until_next_due(self, poll: float) -> float:
        """Seconds to idle: until the next retry is due, or the poll interval (work from another process)."""
        try:
            due_at = await self.runtime.db.read(store.inbox.next_due_at, list(self._taken))
        except Exception:
            return poll
        if due_at is None:
            return poll
        return min(poll, max((due_at - self.runtime.now()).total_seconds(), 0.01))

    async def _handle(self, stored: store.inbox.StoredActivity) -> None:
        try:
            lock = self._actor_locks.get(stored.actor)
            if lock is None:
                lock = self._actor_locks[stored.actor] = asyncio.Lock()
            try:
                async with lock:
                    finished = await self.process(stored)
            finally:
                if not lock.locked() and self._actor_locks.get(stored.actor) is lock:
                    del self._actor_locks[stored.actor]
            self._finished.append(finished)
            if self._recording is None:
                self._recording = asyncio.create_task(self._record())
        except BaseException:
            self._taken.pop(stored.id, None)
            self._queue_unread = True  # (not recorded: it is still in the queue)
            raise
        finally:
            self._slots.release()

    async def _record(self) -> None:
        """Write what came of the activities handled so far in one commit, as long as more finish."""
        try:
            while self._finished:
                finished, self._finished = self._finished, []
                try:
                    await self.runtime.db.write(_finished, finished, self.runtime.now())
                    recorded = True
                except Exception:  # the queue must go on: these are handled again from the database
                    log.exception("inbox processor could not mark activities done count=%d", len(finished))
                    recorded = False
                for done in finished:
                    self._taken.pop(done.activity.id, None)
                    # Not one whose record failed: it must be taken up again as it is. A stale copy of a row
                    # recorded as failed must not run it again before its retry is due (or after it was given up).
                    if recorded:
                        activity = done.activity
                        self._recorded[activity.id, activity.received_at, activity.attempts] = None
                while len(self._recorded) > REMEMBERED_FINISHED:
                    self._recorded.popitem(last=False)
                # Rows held back behind these may go now; rows not recorded are taken up again from the
                # queue; a retry recorded changes when the next is due.
                if self._queue_unread or not recorded or any(done.error for done in finished):
                    self._queue_unread = True
                    self.wake()
        finally:
            self._recording = None

    async def process(self, stored: store.inbox.StoredActivity) -> store.inbox.Finished:
        """Run the activity's handler; says whether it is done, to be retried (when), or given up."""
        error = None
        permanent = False
        try:
            activity = stored.parsed
            if not isinstance(activity, Activity):
                activity = parse_activity(orjson.loads(stored.document))
            handler = self.handlers.get(activity.type)
            # Blocked after it arrived: what it would store is what the block erased.
            if handler is not None and not await self.runtime.is_blocked(activity.actor):
                with handling.handling(stored):
                    await asyncio.wait_for(handler(self.runtime, activity), self.handler_timeout)
        except (ValueError, orjson.JSONDecodeError) as e:  # ParseError: it will never parse
            error, permanent = f"{type(e).__name__}: {e}", True
        except FetchError as e:
            error, permanent = f"fetch {e.reason}: {e.detail}", not _transient(e)
        except TimeoutError:
            error = f"timeout: the handler ran past {self.handler_timeout:g}s"
        except Exception as e:  # a bug or a busy database must not wedge the queue: retry it later
            log.exception("inbox handler crashed activity=%s", stored.id)
            error = f"{type(e).__name__}: {e}"
        if error is None:
            return store.inbox.Finished(stored)
        now = self.runtime.now()
        received = from_db_time(stored.received_at) or now
        retry_at = (
            None
            if permanent
            else self.retry_policy.next_attempt(stored.attempts + 1, received, now, self._rng)
        )
        if retry_at is None:
            log.info("inbox activity given up activity=%s type=%s error=%s", stored.id, stored.type, error)
        else:
            log.info(
                "inbox activity failed activity=%s type=%s attempt=%d retry_at=%s error=%s",
                stored.id, stored.type, stored.attempts + 1, retry_at.isoformat(), error,
            )  # fmt: skip
        return store.inbox.Finished(stored, error, retry_at)
