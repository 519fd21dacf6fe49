"""The delivery worker: takes due rows from the SQLite queue, signs, POSTs, retries with backoff.

A row leaves the queue only after the remote inbox answered 2xx (or refused for good), so a crash or a stop
loses nothing: the next start sends what was not confirmed. Receivers de-duplicate by activity id.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from fedgroup import store
from fedgroup.activitypub.fetch import FetchError, PostResult, Signer
from fedgroup.store.outbox import Delivery
from fedgroup.worker import Worker

if TYPE_CHECKING:
    from fedgroup.runtime import Runtime

log = logging.getLogger(__name__)

GIVE_UP_AFTER = timedelta(days=3)
MAX_RETRY_DELAY = timedelta(hours=6)
# After this many failures in a row a host is paused as a whole, for as long as its next retry.
PAUSE_HOST_AFTER = 5
MAX_CONCURRENT = 32
MAX_CONCURRENT_PER_HOST = 4
BATCH = 200

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
    attempts: int, queued_at: datetime, now: datetime, base_delay: float, retry_after: float | None = None
) -> datetime | None:
    """When to try again after the `attempts`-th failure, or None to give up (about three days in).

    Delays double from `base_delay` up to six hours; a server's Retry-After is honoured when longer.
    """
    if now - queued_at >= GIVE_UP_AFTER:
        return None
    exponent = min(max(attempts - 1, 0), 30)
    delay = min(timedelta(seconds=base_delay * (2**exponent)), MAX_RETRY_DELAY)
    if retry_after is not None:
        delay = max(delay, min(timedelta(seconds=retry_after), MAX_RETRY_DELAY))
    when = now + delay
    if when - queued_at > GIVE_UP_AFTER:
        when = queued_at + GIVE_UP_AFTER
    return when


# -- the worker ---------------------------------------------------------------------------------------


class DeliveryWorker(Worker):
    name = "delivery-worker"

    def __init__(self, runtime: Runtime) -> None:
        super().__init__()
        self.runtime = runtime
        self._in_flight: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._limit = asyncio.Semaphore(MAX_CONCURRENT)
        self._per_host: dict[str, asyncio.Semaphore] = {}
        self._documents: dict[str, tuple[bytes, str]] = {}

    async def stop(self) -> None:
        """Stop taking rows; let POSTs under way finish briefly. Unfinished rows stay queued."""
        await super().stop()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=5)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def _run(self) -> None:
        poll = self.runtime.config.queue_poll_seconds
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
        rows = await store.outbox.due(self.runtime.db.reader, self.runtime.now(), self._in_flight, capacity)
        for row in rows:
            self._in_flight.add(row.id)
            task = asyncio.create_task(self._deliver(row))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return len(rows)

    async def _deliver(self, row: Delivery) -> None:
        try:
            host_limit = self._per_host.setdefault(row.host, asyncio.Semaphore(MAX_CONCURRENT_PER_HOST))
            async with self._limit, host_limit:
                if self.stopping:
                    return
                await self._attempt(row)
        except Exception:
            log.exception("delivery crashed id=%d inbox=%s", row.id, row.inbox)
        finally:
            self._in_flight.discard(row.id)
            self.wake()

    async def _attempt(self, row: Delivery) -> None:
        runtime = self.runtime
        loaded = await self._document(row.activity_id)
        if loaded is None:  # the activity was withdrawn (its object deleted): nothing to send
            await runtime.db.write(lambda conn: store.outbox.give_up(conn, row))
            return
        body, signer_name = loaded
        signer = runtime.instance_signer if signer_name == "instance" else runtime.group_signer
        try:
            result = await self._post(row.inbox, body, signer)
            error = f"HTTP {result.status}"
            verdict = outcome(result.status)
        except FetchError as e:
            result, error, verdict = PostResult(0), e.reason, "retry"
            if e.reason in ("bad-url", "private-address"):
                verdict = "give-up"
        if verdict == "delivered":
            log.debug("delivered activity=%s inbox=%s", row.activity_id, row.inbox)
            await runtime.db.write(lambda conn: store.outbox.delivered(conn, row))
            return
        if verdict == "give-up":
            log.info("delivery gave up activity=%s inbox=%s reason=%s", row.activity_id, row.inbox, error)
            await runtime.db.write(lambda conn: store.outbox.give_up(conn, row))
            return
        now = runtime.now()
        when = next_attempt(
            row.attempts + 1, row.queued_at, now, runtime.config.delivery_retry_seconds, result.retry_after
        )

        async def reschedule(conn: store.db.aiosqlite.Connection) -> None:
            if when is None:
                log.info("delivery gave up activity=%s inbox=%s reason=expired", row.activity_id, row.inbox)
                await store.outbox.give_up(conn, row)
                return
            await store.outbox.retry_later(conn, row, when, error)
            failures = await store.outbox.host_failed(conn, row.host)
            if failures >= PAUSE_HOST_AFTER:
                await store.outbox.pause_host(conn, row.host, when)

        await runtime.db.write(reschedule)
        log.debug(
            "delivery failed activity=%s inbox=%s error=%s retry_at=%s",
            row.activity_id,
            row.inbox,
            error,
            when,
        )

    async def _post(self, inbox: str, body: bytes, signer: Signer) -> PostResult:
        http = self.runtime.http
        assert http is not None
        result = await http.post_activity(inbox, body, signer)
        if result.status == 401:
            # Some servers verify only RFC 9421 signatures: knock once more with one.
            retry = await http.post_activity(inbox, body, signer, rfc9421=True)
            if 200 <= retry.status < 300:
                return retry
        return result

    async def _document(self, activity_id: str) -> tuple[bytes, str] | None:
        cached = self._documents.get(activity_id)
        if cached is not None:
            return cached
        activity = await store.outbox.activity(self.runtime.db.reader, activity_id)
        if activity is None:
            return None
        loaded = (activity.document.encode(), activity.signer)
        if len(self._documents) > 256:
            self._documents.clear()
        self._documents[activity_id] = loaded
        return loaded
