"""The shape every background loop shares: start, wake it when there is work, stop it cleanly."""

from __future__ import annotations

import asyncio


class Worker:
    """Subclasses write `_run`, loop while not `self.stopping`, and call `await self.idle(seconds)` when done."""

    name = "worker"

    def __init__(self) -> None:
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._waking_soon: asyncio.TimerHandle | None = None
        self._idling = False
        self.stopping = False

    def start(self) -> None:
        """Start the loop; a worker that was stopped may be started again."""
        self.stopping = False
        self._task = asyncio.create_task(self._run(), name=self.name)

    def wake(self) -> None:
        self._wake.set()

    def wake_soon(self, seconds: float) -> None:
        """Wake in `seconds`, with whatever else asks for a wake meanwhile: a stream of small pieces of work
        (a vote at a time) is taken up as batches, each paying once for what every round costs."""
        if self._waking_soon is None:
            self._waking_soon = asyncio.get_running_loop().call_later(seconds, self._woken_soon)

    @property
    def at_rest(self) -> bool:
        """Idle, with no wake waiting or asked for: whatever it was told of is done (tests wait for this)."""
        return self._idling and self._waking_soon is None and not self._wake.is_set()

    def _woken_soon(self) -> None:
        self._waking_soon = None
        self.wake()

    async def stop(self) -> None:
        self.stopping = True
        if self._waking_soon is not None:
            self._waking_soon.cancel()
            self._waking_soon = None
        self._wake.set()
        if self._task is not None:
            await self._task

    async def idle(self, seconds: float) -> None:
        """Sleep until woken (work arrived) or `seconds` pass (work another process may have queued).

        A wake that came while the worker was busy is kept until this call consumes it, so neither work
        queued meanwhile nor a stop waits for the next tick; once stopping, the event stays set and every
        idle returns at once."""
        if not self._wake.is_set():
            self._idling = True
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=seconds)
            except TimeoutError:
                pass
            finally:
                self._idling = False
        if not self.stopping:
            self._wake.clear()

    async def _run(self) -> None:
        raise NotImplementedError
