"""The delivery worker: takes due rows from the SQLite queue, signs, POSTs, retries with backoff.

A row leaves the queue only after the remote inbox answered 2xx; one refused for good (or past the retry
policy's age) is given up and kept, with its last error, until the operator retries it. A crash or a stop
loses nothing: the next start sends what was not confirmed. Receivers de-duplicate by activity id.

Confirmations are written together: a 2xx answer puts its row in a `Confirmations` batch, which removes
many rows in one write job a few milliseconds later. Until that write commits the row stays both in the
queue and in the worker's in-flight set, so it is neither lost (a crash re-sends it) nor sent twice by this
process.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from fedgroup import store
from fedgroup.net import retry
from fedgroup.net.fetch import FetchError, HttpClient, PostResult, Signer
from fedgroup.net.worker import Worker
from fedgroup.protocol import signatures
from fedgroup.store.db import Database
from fedgroup.store.outbox import Delivery

log = logging.getLogger(__name__)

GIVE_UP_AFTER = retry.DEFAULT.give_up_after
MAX_RETRY_DELAY = retry.DEFAULT.cap
# After this many failures in a row a host is paused as a whole, for as long as its next retry.
PAUSE_HOST_AFTER = 5
MAX_CONCURRENT = 32
MAX_CONCURRENT_PER_HOST = 4
BATCH = 200
# Delivered rows are removed from the queue in one write per this many rows, or after this long.
CONFIRM_ROWS = 64
CONFIRM_AFTER = 0.005

_RETRYABLE_4XX = {408, 425, 429}


# -- the rules, pure ---------------------------------------------------------------------------------


def outcome(status: int) -> str:
    """What an inbox's answer means for the row: 'delivered', 'retry' or 'give-up'."""
    if 200 <= status < 300:
        return "delivered"
    if status in _RETRYABLE_4XX or status >= 500:
        return "retry"
    if 400 <= status < 500:
        return "give-up"  # permanent refusal (including 410 Gone): retrying would not change it
    return "retry"  # 1xx/3xx: redirects are not followed for POSTs; try again later


def next_attempt(
    attempts: int,
    queued_at: datetime,
    now: datetime,
    base_delay: float,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> datetime | None:
    """When to try a delivery again after the `attempts`-th failure, or None to give up (about three days in):
    the shared retry policy with the configured first delay; a server's Retry-After is honoured when longer."""
    policy = dataclasses.replace(retry.DEFAULT, base_delay=timedelta(seconds=base_delay))
    at_least = timedelta(seconds=retry_after) if retry_after is not None else None
    return policy.next_attempt(attempts, queued_at, now, rng, at_least)


# -- what the worker writes: each with the queue's progress (store.health), in the same transaction -----


def _delivered(conn: sqlite3.Connection, rows: list[Delivery], now: datetime | None) -> None:
    store.outbox.delivered_many(conn, rows)
    if now is not None:
        store.health.record_progress(conn, "deliveries", now)


def _given_up(conn: sqlite3.Connection, row: Delivery, now: datetime, error: str) -> None:
    store.outbox.give_up(conn, row, now, error)
    store.health.record_progress(conn, "deliveries", now)


def _withdrawn(conn: sqlite3.Connection, row: Delivery, now: datetime) -> None:
    store.outbox.withdraw(conn, row)
    store.health.record_progress(conn, "deliveries", now)


# -- confirmations, written together ------------------------------------------------------------------


class Confirmations:
    """Rows whose inbox answered 2xx, removed from the queue in batches (one write job for many rows).

    `confirm` returns at once; a flush runs when `max_rows` are waiting or `delay` seconds after the first
    one. `written(rows)` is called once the rows' removal has committed — or, if the write failed, with the
    rows still queued (they will be sent again: receivers de-duplicate by id).
    """

    def __init__(
        self,
        db: Database,
        written: Callable[[list[Delivery]], None],
        max_rows: int = CONFIRM_ROWS,
        delay: float = CONFIRM_AFTER,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.written = written
        self.max_rows = max_rows
        self.delay = delay
        self._pending: list[Delivery] = []
        self._timer: asyncio.TimerHandle | None = None
        self._flushes: set[asyncio.Task[None]] = set()

    @property
    def pending(self) -> int:
        return len(self._pending)

    def confirm(self, row: Delivery) -> None:
        self._pending.append(row)
        if len(self._pending) >= self.max_rows:
            self._start_flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.delay, self._start_flush)

    def _start_flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._pending:
            return
        rows, self._pending = self._pending, []
        task = asyncio.create_task(self._write(rows))
        self._flushes.add(task)
        task.add_done_callback(self._flushes.discard)

    async def _write(self, rows: list[Delivery]) -> None:
        try:
            await self.db.write(_delivered, rows, self.clock() if self.clock is not None else None)
            log.debug("confirmed deliveries rows=%d", len(rows))
        except Exception:
            log.exception("could not confirm deliveries rows=%d; they stay queued", len(rows))
        finally:
            self.written(rows)

    async def flush(self) -> None:
        """Write what is waiting now, and wait for every write under way."""
        self._start_flush()
        while self._flushes:
            await asyncio.gather(*self._flushes, return_exceptions=True)


# -- the worker ---------------------------------------------------------------------------------------


class DeliveryWorker(Worker):
    name = "delivery-worker"

    def __init__(
        self,
        db: Database,
        http: HttpClient,
        group_signer: Signer,
        instance_signer: Signer,
        clock: Callable[[], datetime],
        *,
        poll_seconds: float,
        retry_seconds: float,
    ) -> None:
        super().__init__()
        self.db, self.http, self.clock = db, http, clock
        self.group_signer, self.instance_signer = group_signer, instance_signer
        self.poll_seconds, self.retry_seconds = poll_seconds, retry_seconds
        self._in_flight: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._limit = asyncio.Semaphore(MAX_CONCURRENT)
        self._per_host: dict[str, asyncio.Semaphore] = {}
        self._documents: dict[str, asyncio.Task[_Document | None]] = {}
        self._confirmations = Confirmations(db, self._confirmed, clock=clock)
        self._jitter = random.Random()

    async def stop(self) -> None:
        """Stop taking rows; let POSTs under way finish briefly. Unfinished rows stay queued."""
        await super().stop()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=5)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await self._confirmations.flush()

    def _confirmed(self, rows: list[Delivery]) -> None:
        for row in rows:
            self._in_flight.discard(row.id)
        self.wake()

    async def _run(self) -> None:
        poll = self.poll_seconds
        while not self.stopping:
            try:
                started = await self._start_due()
            except Exception:
                log.exception("delivery worker failed to read the queue")
                started = 0
            if started:
                continue
            await self.idle(poll)

    async def _start_due(self) -> int:
        capacity = BATCH - len(self._in_flight)
        if capacity <= 0:
            return 0
        rows = await self.db.read(store.outbox.due, self.clock(), tuple(self._in_flight), capacity)
        for row in rows:
            self._in_flight.add(row.id)
            task = asyncio.create_task(self._deliver(row))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return len(rows)

    async def _deliver(self, row: Delivery) -> None:
        confirmed = False
        try:
            host_limit = self._per_host.get(row.host)
            if host_limit is None:
                host_limit = self._per_host[row.host] = asyncio.Semaphore(MAX_CONCURRENT_PER_HOST)
            # The host's slot first: a row waiting for its busy host must not hold one of the 32 slots.
            async with host_limit, self._limit:
                if self.stopping:
                    return
                confirmed = await self._attempt(row)
        except Exception:
            log.exception("delivery crashed id=%d inbox=%s", row.id, row.inbox)
        finally:
            if not confirmed:  # a confirmed row stays in flight until its removal is written
                self._in_flight.discard(row.id)
                self.wake()

    async def _attempt(self, row: Delivery) -> bool:
        """POST the row's activity; True when the inbox took it (the row is then in the confirmation batch)."""
        loaded = await self._document(row.activity_id)
        if loaded is None:  # the activity was withdrawn (its object deleted): nothing to send
            await self.db.write(_withdrawn, row, self.clock())
            return False
        signer = self.instance_signer if loaded.signer == "instance" else self.group_signer
        try:
            result = await self._post(row.inbox, loaded, signer)
            error = f"HTTP {result.status}"
            verdict = outcome(result.status)
        except FetchError as e:
            result, error, verdict = PostResult(0), e.reason, "retry"
            if e.reason in ("bad-url", "private-address"):
                verdict = "give-up"
        if verdict == "delivered":
            log.debug("delivered activity=%s inbox=%s", row.activity_id, row.inbox)
            self._confirmations.confirm(row)
            return True
        if verdict == "give-up":
            log.info("delivery gave up activity=%s inbox=%s reason=%s", row.activity_id, row.inbox, error)
            await self.db.write(_given_up, row, self.clock(), error)
            return False
        if self._confirmations.pending:
            # Successes answered before this failure are written first, so that their reset of the
            # host's failure count cannot land after (and erase) this failure.
            await self._confirmations.flush()
        now = self.clock()
        when = next_attempt(
            row.attempts + 1, row.queued_at, now, self.retry_seconds, result.retry_after, self._jitter
        )

        def reschedule(conn: sqlite3.Connection) -> None:
            store.health.record_progress(conn, "deliveries", now)
            if when is None:
                log.info("delivery gave up activity=%s inbox=%s reason=expired", row.activity_id, row.inbox)
                store.outbox.give_up(conn, row, now, f"expired after {error}")
                return
            store.outbox.retry_later(conn, row, when, error)
            failures = store.outbox.host_failed(conn, row.host)
            if failures >= PAUSE_HOST_AFTER:
                store.outbox.pause_host(conn, row.host, when)

        await self.db.write(reschedule)
        log.debug(
            "delivery failed activity=%s inbox=%s error=%s retry_at=%s",
            row.activity_id,
            row.inbox,
            error,
            when,
        )
        return False

    async def _post(self, inbox: str, document: _Document, signer: Signer) -> PostResult:
        http = self.http
        result = await http.post_activity(inbox, document.body, signer, digest=document.digest)
        if result.status == 401:
            # Some servers verify only RFC 9421 signatures: knock once more with one.
            retry = await http.post_activity(inbox, document.body, signer, rfc9421=True)
            if 200 <= retry.status < 300:
                return retry
        return result

    async def _document(self, activity_id: str) -> _Document | None:
        """The activity's body, signer and Digest, read once for all its inboxes (and once at a time)."""
        loading = self._documents.get(activity_id)
        if loading is None:
            if len(self._documents) > 256:
                self._documents = {k: t for k, t in self._documents.items() if not t.done()}
            loading = asyncio.ensure_future(self._load_document(activity_id))
            self._documents[activity_id] = loading
        try:
            return await asyncio.shield(loading)
        except Exception:
            if self._documents.get(activity_id) is loading:
                del self._documents[activity_id]  # a failed read is not cached
            raise

    async def _load_document(self, activity_id: str) -> _Document | None:
        activity = await self.db.read(store.outbox.activity, activity_id)
        if activity is None:
            return None
        body = activity.document.encode()
        return _Document(body, activity.signer, signatures.body_digest(body))


@dataclass(frozen=True, slots=True)
class _Document:
    body: bytes
    signer: str
    digest: str  # the Digest header of `body`: the same for every inbox, so computed once
