"""The running parts one request or command needs, built once and shared (server and CLI alike)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiohttp import web
from aiohttp.abc import AbstractResolver

from fedgroup import store
from fedgroup.actions import notifications
from fedgroup.actions.inbox import GATHER_SECONDS, InboxProcessor
from fedgroup.actions.scheduler import Scheduler
from fedgroup.config import Config
from fedgroup.net.actors import RemoteActors
from fedgroup.net.delivery import DeliveryWorker
from fedgroup.net.fetch import HttpClient, Signer, UrlPolicy, make_session
from fedgroup.net.mail import MailWorker, SmtpSettings
from fedgroup.net.throttle import FetchBudget, HostThrottle
from fedgroup.protocol import signatures
from fedgroup.protocol.ids import LocalIds
from fedgroup.store.kept import PageCache

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
# How stale the in-memory copy of the blocks may get before it is read again.
BLOCKS_MAX_AGE = 1.0
# A voter whose vote came after closing is sent the poll's state: a few at once (several options, several
# campaigns), then one a minute, however many late votes they send.
LATE_VOTE_ANSWERS_BURST = 4
LATE_VOTE_ANSWERS_PER_MINUTE = 1
# Totals changed: the scheduler looks this long after the first word, together with whatever more comes
# meanwhile, so that a storm of votes costs a round of its five reads per batch, not per vote (the inbox
# processor gathers the same way: actions/inbox.py GATHER_SECONDS). bench/RESULTS.md, "A round for a batch".
SCHEDULER_WAKE_DELAY = 0.1


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    config: Config
    db: store.Database
    site: store.site.Site
    clock: Clock
    ids: LocalIds = field(init=False)
    arrivals: store.inbox.Arrivals = field(init=False)
    inbox_throttle: HostThrottle = field(init=False)
    # Answers to votes that came after a campaign closed, per voter (keyed by actor id, not host).
    late_vote_answers: HostThrottle = field(init=False)
    group_signer: Signer = field(init=False)
    instance_signer: Signer = field(init=False)
    http: HttpClient | None = None
    actors: RemoteActors | None = None
    delivery: DeliveryWorker | None = None
    inbox: InboxProcessor | None = None
    scheduler: Scheduler | None = None
    mail: MailWorker | None = None
    # Wakes a delivery worker that runs in another process (`serve` with `delivery_process`), if any.
    wake_delivery_elsewhere: Callable[[], None] | None = None
    # With `serve --workers N` (cli/workers.py): tells the other processes what this one changed that they act
    # on or keep a copy of ("inbox", "totals", "deliveries", "mail", "blocks": see `told`). In a serving
    # process it goes to `serve`, which runs the queues; in `serve`, to the serving processes.
    tell_others: Callable[[str], None] | None = None
    # Activities accepted and not processed yet, as last counted in the database (kept fresh by
    # watch_queue where several processes share the inbox: no one process holds them all).
    queued: int | None = None
    # The pages and views rendered from this database, kept until what they show changes (ui/renderings.py).
    page_cache: PageCache = field(default_factory=PageCache, init=False)
    # Inbox requests being checked and stored right now (for back-pressure: federation/inbox.py).
    inbox_in_flight: int = field(default=0, init=False)
    _blocks: store.blocks.BlockSet = field(default_factory=store.blocks.BlockSet, init=False)
    _blocks_read_at: float = field(default=-1e9, init=False)
    _blocks_changes: int = field(default=0, init=False)
    _site_version: int | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.ids = LocalIds(self.config.base_url, self.site.handle)
        self.arrivals = store.inbox.Arrivals(self.db)
        self.inbox_throttle = HostThrottle(
            self.config.per_process(self.config.inbox_requests_per_minute_per_host)
        )
        self.late_vote_answers = HostThrottle(LATE_VOTE_ANSWERS_PER_MINUTE, burst=LATE_VOTE_ANSWERS_BURST)
        self.group_signer = Signer(
            self.ids.group_key, signatures.load_private_key(self.site.group_private_key)
        )
        self.instance_signer = Signer(
            self.ids.instance_key, signatures.load_private_key(self.site.instance_private_key)
        )

    def now(self) -> datetime:
        return self.clock()

    async def is_blocked(self, actor_id: str) -> bool:
        """Whether an organizer blocked the actor or its domain. The blocks are read at most once a second
        (a block made here applies at once, one made by a CLI command within a second), not per request."""
        if time.monotonic() - self._blocks_read_at > BLOCKS_MAX_AGE:
            changes_seen = self._blocks_changes
            blocks = await self.db.read(store.blocks.load_set)
            if changes_seen != self._blocks_changes:
                return blocks.blocks(
                    actor_id
                )  # a block came while reading: keep nothing, read again next time
            self._blocks, self._blocks_read_at = blocks, time.monotonic()
        return self._blocks.blocks(actor_id)

    def blocks_changed(self, told: bool = False) -> None:
        """A block was added or lifted: read the blocks again now, here and (unless `told` by another
        process) in the other serving processes."""
        self._blocks_changes += 1
        self._blocks_read_at = -BLOCKS_MAX_AGE
        if self.tell_others is not None and not told:
            self.tell_others("blocks")

    def activities_stored(self, stored: list[store.inbox.StoredActivity]) -> None:
        """The inbox committed these: hand them to the processor running now (if this process runs one)."""
        if self.inbox is not None:
            self.inbox.take(stored)
        elif stored:
            self.inbox_due()

    def inbox_due(self) -> None:
        """Activities in the inbox queue are due now: the processor (this process's, or `serve`'s) reads them
        from the database at once rather than at its next poll."""
        if self.inbox is not None:
            self.inbox.wake()
        elif self.tell_others is not None:
            self.tell_others("inbox")

    def wake_scheduler(self) -> None:
        """Totals changed: let the scheduler consider an Update soon rather than at its next tick."""
        if self.scheduler is not None:
            self.scheduler.wake_soon(SCHEDULER_WAKE_DELAY)
        elif self.tell_others is not None:
            self.tell_others("totals")

    def deliveries_queued(self) -> None:
        """Tell the delivery worker (this process's, or the delivery process's) that rows were added."""
        if self.delivery is not None:
            self.delivery.wake()
        elif self.wake_delivery_elsewhere is not None:
            self.wake_delivery_elsewhere()
        elif self.tell_others is not None:
            self.tell_others("deliveries")

    def mail_queued(self) -> None:
        """Tell the mail worker (if this process runs one) that mail was queued."""
        if self.mail is not None:
            self.mail.wake()
        elif self.tell_others is not None:
            self.tell_others("mail")

    def told(self, what: str) -> None:
        """Act on what another process told this one (see `tell_others`), here only: nothing told is passed
        on, so no word goes round between processes (`serve` without mail, told "mail", would send it back)."""
        if what == "inbox":
            if self.inbox is not None:
                self.inbox.wake_soon(GATHER_SECONDS)
        elif what == "totals":
            if self.scheduler is not None:
                self.scheduler.wake_soon(SCHEDULER_WAKE_DELAY)
        elif what == "deliveries":
            if self.delivery is not None:
                self.delivery.wake()
            elif self.wake_delivery_elsewhere is not None:
                self.wake_delivery_elsewhere()
        elif what == "mail":
            if self.mail is not None:
                self.mail.wake()
        elif what == "blocks":
            self.blocks_changed(told=True)
        else:
            log.warning("told something unknown: %r", what[:40])

    @property
    def backlog(self) -> int:
        """Activities accepted and not processed yet: counted in the database when several processes share
        the inbox, else what this process's processor holds."""
        if self.queued is not None:
            return self.queued
        return self.inbox.backlog if self.inbox is not None else 0

    async def watch_queue(self, every: float = 1.0) -> None:
        """Keep `queued` up to date (runs until cancelled): where several processes take in activities."""
        while True:
            try:
                self.queued = await self.db.read(store.inbox.pending_count)
            except Exception:  # the count is for back-pressure only: keep the last one, look again soon
                log.exception("could not count the inbox queue")
            await asyncio.sleep(every)

    async def reload_site(self) -> None:
        site = await self.db.read(store.site.load)
        assert site is not None
        self.site = site

    async def fresh_site(self) -> store.site.Site:
        """The site row as committed, read again only when the database changed since it was last read (a
        CLI command such as `group set` commits from another process)."""
        await self.page_cache.version(self.db)
        version = self.page_cache.shown.scopes.get(store.versions.EVERYTHING, 0)  # the site row's scope
        if version != self._site_version:
            await self.reload_site()
            self._site_version = version
        return self.site


async def open_runtime(config: Config, clock: Clock = system_clock) -> Runtime:
    """Open the database of a data dir; no network parts (what CLI commands use)."""
    busy_timeout_ms = int(config.database_busy_timeout_seconds * 1000)
    db = await store.Database(config.database_path, busy_timeout_ms).open()
    site = await db.read(store.site.load)
    if site is None:
        await db.close()
        raise store.DatabaseError(f"{config.database_path} holds no group; run `fedgroup init`")
    return Runtime(config=config, db=db, site=site, clock=clock)


async def start_network(
    runtime: Runtime,
    resolver: AbstractResolver | None = None,
    workers: bool = True,
    deliveries: bool = True,
) -> None:
    """Add the HTTP client and the actor cache, and (for `serve`) the background workers; the delivery
    worker only with `deliveries` (`serve` may run it in a process of its own: start_delivery)."""
    config = runtime.config
    policy = UrlPolicy(
        allow_loopback=config.private_networks_allowed,
        allow_private=config.allow_private_networks == "always",
    )
    runtime.http = HttpClient(make_session(policy, resolver), policy, runtime.clock)
    budget = FetchBudget(
        config.per_process(config.key_fetches_per_minute_per_host),
        config.per_process(config.key_fetches_per_minute),
    )
    runtime.actors = RemoteActors(
        runtime.db, runtime.http, lambda: runtime.instance_signer, runtime.clock, budget
    )
    runtime.arrivals.on_stored = runtime.activities_stored
    if not workers:
        return
    runtime.inbox = InboxProcessor(runtime)
    runtime.scheduler = Scheduler(runtime)
    if config.mail_enabled:
        # What happened before mail was set up is not news (recorded once, before the scheduler looks).
        await notifications.bootstrap(runtime)
        runtime.mail = MailWorker(
            runtime.db,
            SmtpSettings.of(config),
            runtime.now,
            poll_seconds=config.queue_poll_seconds,
            retry_seconds=config.mail_retry_seconds,
        )
        runtime.mail.start()
    if deliveries:
        start_delivery(runtime)
    runtime.inbox.start()
    runtime.scheduler.start()


def start_delivery(runtime: Runtime) -> None:
    """Start the delivery worker in this process (after start_network)."""
    assert runtime.http is not None
    runtime.delivery = DeliveryWorker(
        runtime.db,
        runtime.http,
        runtime.group_signer,
        runtime.instance_signer,
        runtime.now,
        poll_seconds=runtime.config.queue_poll_seconds,
        retry_seconds=runtime.config.delivery_retry_seconds,
    )
    runtime.delivery.start()


async def close_runtime(runtime: Runtime) -> None:
    if runtime.scheduler is not None:
        await runtime.scheduler.stop()
    if runtime.inbox is not None:
        await runtime.inbox.stop()
    if runtime.delivery is not None:
        await runtime.delivery.stop()
    if runtime.mail is not None:
        await runtime.mail.stop()
    if runtime.http is not None:
        await runtime.http.close()
    await runtime.db.close()


RUNTIME = web.AppKey("runtime", Runtime)
