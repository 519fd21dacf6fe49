"""The background loops' shared contract: a stop or a wake that comes while a worker is busy is seen at once,
not after the next poll tick. Events, not timings: the tick is an hour, so a lost stop or wake would hang."""

from __future__ import annotations

import asyncio

from fedgroup.net.worker import Worker

AN_HOUR = 3600.0
# Only a guard against hanging the suite when the contract is broken; nothing is timed against it.
HANG_GUARD = 60.0


class OnePassAtATime(Worker):
    """Does one pass of "work" per wake, each pass held until the test releases it."""

    name = "test-worker"

    def __init__(self) -> None:
        super().__init__()
        self.busy = asyncio.Event()
        self.release = asyncio.Event()
        self.passes = 0
        self.went_idle = asyncio.Event()

    async def _run(self) -> None:
        while not self.stopping:
            self.passes += 1
            self.busy.set()
            await self.release.wait()
            self.release.clear()
            self.busy.clear()
            self.went_idle.set()
            await self.idle(AN_HOUR)


async def test_a_worker_stopped_while_busy_stops_when_its_work_ends() -> None:
    worker = OnePassAtATime()
    worker.start()
    await worker.busy.wait()
    stopping = asyncio.create_task(worker.stop())
    await asyncio.sleep(0)  # stop() has run up to awaiting the worker's task
    assert worker.stopping and not stopping.done()
    worker.release.set()
    # Before the fix idle() cleared the stop's wake and slept the full tick (an hour here).
    await asyncio.wait_for(stopping, HANG_GUARD)
    assert worker.passes == 1


async def test_a_wake_while_busy_starts_another_pass() -> None:
    worker = OnePassAtATime()
    worker.start()
    await worker.busy.wait()
    worker.wake()  # work arrived while the worker was busy with the previous pass
    worker.release.set()
    await worker.went_idle.wait()
    worker.went_idle.clear()
    # The second pass starts without waiting for the hour-long tick.
    await asyncio.wait_for(worker.busy.wait(), HANG_GUARD)
    assert worker.passes == 2
    worker.release.set()
    await asyncio.wait_for(worker.stop(), HANG_GUARD)


async def idle_after_one_pass() -> OnePassAtATime:
    worker = OnePassAtATime()
    worker.start()
    await worker.busy.wait()
    worker.release.set()
    await worker.went_idle.wait()
    worker.went_idle.clear()
    return worker


async def test_a_stop_while_idle_returns_at_once() -> None:
    worker = await idle_after_one_pass()
    await asyncio.wait_for(worker.stop(), HANG_GUARD)
    assert worker.passes == 1


async def test_wakes_asked_for_soon_are_one_pass_and_a_stop_forgets_them() -> None:
    worker = await idle_after_one_pass()
    assert worker.at_rest
    for _ in range(50):  # fifty pieces of work told one by one in the same moment
        worker.wake_soon(0.05)
    assert not worker.at_rest and worker.passes == 1, "not at once"
    await asyncio.wait_for(worker.busy.wait(), HANG_GUARD)
    worker.release.set()
    await asyncio.wait_for(worker.went_idle.wait(), HANG_GUARD)
    assert worker.passes == 2 and worker.at_rest, "one pass for all fifty"

    worker.wake_soon(AN_HOUR)
    await asyncio.wait_for(worker.stop(), HANG_GUARD)  # the hour-long wake is not waited for
    assert worker.passes == 2
