"""The clock's work: close campaigns at their deadline, and federate changed totals — coalesced, so a burst
of pledges makes one Update per campaign per interval instead of one per pledge."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from fedgroup import actions

if TYPE_CHECKING:
    from fedgroup.runtime import Runtime

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="scheduler")

    def wake(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task

    async def run_once(self) -> None:
        config = self.runtime.config
        await actions.close_due_campaigns(self.runtime)
        await actions.publish_due_totals(self.runtime, config.totals_update_seconds)

    async def _run(self) -> None:
        config = self.runtime.config
        # Wake often enough to honour the coalescing interval, and to notice work the CLI queued.
        tick = min(config.queue_poll_seconds, config.totals_update_seconds)
        while not self._stopping:
            try:
                await self.run_once()
            except Exception:
                log.exception("scheduler run failed")
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=tick)
            except TimeoutError:
                pass
