"""The clock's work: close campaigns at their deadline and proposals at their closing time, and federate
changed totals — coalesced, so a burst of pledges makes one Update per campaign per interval instead of one
per pledge."""

from __future__ import annotations

import logging
import sqlite3
from datetime import timedelta

from fedgroup import store
from fedgroup.actions import notifications, outbox
from fedgroup.actions.campaigns import close_campaign, existing_campaign, load_campaign
from fedgroup.actions.context import Context
from fedgroup.actions.partner_releases import release_due
from fedgroup.actions.proposals import close_due_proposals
from fedgroup.net.worker import Worker
from fedgroup.rules import campaign_state

log = logging.getLogger(__name__)


class Scheduler(Worker):
    name = "scheduler"

    def __init__(self, runtime: Context) -> None:
        super().__init__()
        self.runtime = runtime
        self.rounds = 0  # how many times it has looked for work (a vote storm shows here)

    async def run_once(self) -> None:
        config = self.runtime.config
        await close_due_campaigns(self.runtime)
        await close_due_proposals(self.runtime)
        await publish_due_totals(self.runtime, config.totals_update_seconds)
        await release_due(self.runtime)
        if config.mail_enabled:
            await notifications.run(self.runtime)

    async def _run(self) -> None:
        config = self.runtime.config
        # Wake often enough to honour the coalescing interval, and to notice work the CLI queued.
        tick = min(config.queue_poll_seconds, config.totals_update_seconds)
        while not self.stopping:
            self.rounds += 1
            try:
                await self.run_once()
            except Exception:
                log.exception("scheduler run failed")
            await self.idle(tick)


async def close_due_campaigns(runtime: Context) -> int:
    """Close campaigns whose deadline passed; and freeze, once, the totals of any closed before closing did."""

    def freeze(conn: sqlite3.Connection) -> None:
        for campaign_id in store.campaigns.closed_without_final_tally(conn):
            state = existing_campaign(conn, campaign_id)
            store.campaigns.freeze(conn, campaign_id, campaign_state.tally_json(state.tally))

    if await runtime.db.read(store.campaigns.closed_without_final_tally):
        await runtime.db.write(freeze)
    due = await runtime.db.read(store.campaigns.past_deadline, runtime.now())
    closed = 0
    for campaign_id in due:
        closed += await close_campaign(runtime, campaign_id)
    return closed


async def publish_due_totals(runtime: Context, interval_seconds: float) -> int:
    """One Update(Question) per campaign whose totals changed, at most one per `interval_seconds`."""
    now = runtime.now()
    due = await runtime.db.read(store.campaigns.totals_to_publish, now - timedelta(seconds=interval_seconds))

    def job(conn: sqlite3.Connection, campaign_id: int) -> None:
        state = load_campaign(conn, campaign_id)
        if state is None or state.row.deleted_at is not None:
            return
        outbox.update_campaign(conn, runtime.ids, state, now, minimum=runtime.config.min_disclosed_count)
        store.campaigns.totals_published(conn, campaign_id, now)

    for campaign_id in due:
        await runtime.db.write(job, campaign_id)
    if due:
        runtime.deliveries_queued()
    return len(due)
