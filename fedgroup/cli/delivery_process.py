"""The delivery process: `serve` sends the group's activities from a second process of its own.

Why: one event loop serves pages, takes the inbox and, before, also signed and POSTed every delivery. During
a vote storm the fan-out of totals Updates to thousands of followers' hosts took a third to nearly half of
that loop (bench/RESULTS.md), and pages waited seconds behind it. In a process of its own the fan-out runs on
the second core where there is one, and where there is one core the kernel shares it out in small slices
instead of the loop running every ready POST before the next page.

Nothing else changes: the delivery queue is in SQLite, written by the server and read by this process, as
before by the worker in the server. `serve` starts it (`fedgroup deliver`, not meant to be run by hand),
writes a line to its stdin whenever rows are queued (so a delivery starts at once, not at the next poll),
starts it again if it dies, and closes its stdin to stop it. If `serve` itself is killed, the kernel kills
this process too (Linux: PR_SET_PDEATHSIG), as if they were one; elsewhere stdin's end stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import ctypes.util
import logging
import os
import signal
import sys
import time
from pathlib import Path

from fedgroup import config as config_module
from fedgroup.config import Config
from fedgroup.runtime import close_runtime, open_runtime, start_delivery, start_network

log = logging.getLogger(__name__)

# A delivery process that dies is started again after this long, doubled while it keeps dying, up to a minute.
RESTART_DELAY = 1.0
MAX_RESTART_DELAY = 60.0
# How long `serve` waits for the delivery process to finish POSTs under way when stopping.
STOP_TIMEOUT = 15.0
_PR_SET_PDEATHSIG = 1
# The delivery process's niceness (Unix: 0 is the default, 19 the lowest priority). When the cores are all
# busy, as in a vote storm on a 1-2 core machine, the kernel gives `serve` about nine tenths of the time
# and this process one tenth: a visitor's page and an arriving vote come before a totals Update to
# followers' servers, which then arrives a little later. With an idle core, nothing changes.
NICENESS = 10


class DeliveryProcess:
    """`fedgroup deliver` as a child of `serve`: started, woken, restarted and stopped by it."""

    def __init__(self, data_dir: Path, log_level: str) -> None:
        self.data_dir, self.log_level = data_dir, log_level
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._started = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._keep_running(), name="delivery-process")
        await self._started.wait()

    def wake(self) -> None:
        """Rows were queued: tell the process (one short line; a few at once are as good as one)."""
        process = self.process
        if process is None or process.returncode is not None or process.stdin is None:
            return
        transport = process.stdin.transport
        if transport.is_closing() or transport.get_write_buffer_size() > 0:
            return  # a wake-up is already on its way
        process.stdin.write(b"\n")

    async def stop(self) -> None:
        self._stopping = True
        process = self.process
        if process is not None and process.returncode is None and process.stdin is not None:
            process.stdin.close()  # its end of input: finish what is under way, then exit
            try:
                await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
            except TimeoutError:
                log.warning("delivery process did not stop within %g s; killed", STOP_TIMEOUT)
                process.kill()
                await process.wait()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _keep_running(self) -> None:
        delay = RESTART_DELAY
        while not self._stopping:
            started = time.monotonic()
            try:
                self.process = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "fedgroup.cli", "deliver", "--data-dir", str(self.data_dir),
                    "--log-level", self.log_level, "--parent-pid", str(os.getpid()),
                    stdin=asyncio.subprocess.PIPE,
                )  # fmt: skip
            except OSError as e:
                # No process to be had (out of memory, or of processes): serve goes on, and tries again.
                self._started.set()
                log.error("delivery process could not start: %s; trying again in %g s", e, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_RESTART_DELAY)
                continue
            self.starts += 1
            self._started.set()
            log.info("delivery process started pid=%d", self.process.pid)
            status = await self.process.wait()
            if self._stopping:
                return
            if time.monotonic() - started > MAX_RESTART_DELAY:
                delay = RESTART_DELAY  # it ran for a good while: this is not a crash loop
            log.error("delivery process exited status=%s; starting it again in %g s", status, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_RESTART_DELAY)


def cmd_deliver(args: argparse.Namespace) -> None:
    config = config_module.load(args.data_dir)
    asyncio.run(deliver(config, args.parent_pid))


def _die_with_parent(parent_pid: int | None) -> None:
    """Ask the kernel to kill this process when `serve` dies, however it dies (Linux only)."""
    if parent_pid is None:
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return  # not Linux: the end of stdin still stops this process, once it is read
    if os.getppid() != parent_pid:
        os._exit(1)  # the parent died before the request took effect


def _yield_to_serving() -> None:
    """Lower this process's priority below `serve`'s (NICENESS); where that cannot be done it runs as is."""
    try:
        os.nice(NICENESS)
    except (OSError, AttributeError):  # not Unix, or refused: deliveries only compete on equal terms
        return


async def deliver(config: Config, parent_pid: int | None = None) -> None:
    """Run the delivery worker until stdin ends or SIGTERM/SIGINT; every line on stdin wakes it."""
    _die_with_parent(parent_pid)
    if parent_pid is not None:
        _yield_to_serving()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    runtime = await open_runtime(config)
    try:
        await start_network(runtime, workers=False)
        start_delivery(runtime)
        assert runtime.delivery is not None
        worker = runtime.delivery
        reader = asyncio.StreamReader()
        transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(sys.stdin.fileno(), "rb", 0)
        )

        async def wake_on_lines() -> None:
            while await reader.readline():
                worker.wake()
            stop.set()

        lines = asyncio.create_task(wake_on_lines())
        await stop.wait()
        lines.cancel()
        transport.close()
    finally:
        await close_runtime(runtime)  # stops the worker: POSTs under way get a few seconds
