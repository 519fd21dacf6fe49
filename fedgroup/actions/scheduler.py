"""The clock's work: close campaigns at their deadline, and federate changed totals — coalesced, so a burst
of pledges makes one Update per campaign per interval instead of one per pledge."""

from __future__ import annotations

import logging

from fedgroup import actions
from fedgroup.actions.context import Context
from fedgroup.net.worker import Worker

log = logging.getLogger(__name__)


class Scheduler(Worker):
    name = "scheduler"

    def __init__(self, runtime: Context) -> None:
        super().__init__()
        self.runtime = runtime

    async def run_once(self) -> None:
        config = self.runtime.config
        await actions.close_due_campaigns(self.runtime)
        await actions.publish_due_totals(self.runtime, config.totals_update_seconds)

    async def _run(self) -> None:
        config = self.runtime.config
        # Wake often enough to honour the coalescing interval, and to notice work the CLI queued.
        tick = min(config.queue_poll_seconds, config.totals_update_seconds)
        while not self.stopping:
            try:
                await self.run_once()
            except Exception:
                log.exception("scheduler run failed")
            await self.idle(tick)
