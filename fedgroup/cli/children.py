"""`serve`'s child processes (the delivery process, the other serving processes): each is a `fedgroup`
subcommand that `serve` starts, tells things by a line on its stdin, starts again if it dies, and stops by
closing its stdin. A child may also tell `serve` things by lines on its stdout. If `serve` itself is killed,
the kernel kills its children too (Linux: PR_SET_PDEATHSIG), as if they were one process; elsewhere the end
of stdin stops them.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence

from aiohttp import web

from fedgroup import logs

log = logging.getLogger(__name__)

# A child that dies is started again after this long, doubled while it keeps dying, up to a minute.
RESTART_DELAY = 1.0
MAX_RESTART_DELAY = 60.0
# How long `serve` waits for a child to finish what it has under way when stopping.
STOP_TIMEOUT = 15.0
_PR_SET_PDEATHSIG = 1


class ChildProcess:
    """`python -m fedgroup.cli ARGS --parent-pid PID` as a child of this process: started, told, restarted and
    stopped by it. `on_line` gets each line the child writes to its stdout; `pass_fds` are inherited."""

    def __init__(
        self,
        name: str,
        args: Sequence[str],
        *,
        on_line: Callable[[bytes], None] | None = None,
        pass_fds: Sequence[int] = (),
    ) -> None:
        self.name, self.args, self.on_line, self.pass_fds = name, list(args), on_line, tuple(pass_fds)
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._started = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._keep_running(), name=self.name)
        await self._started.wait()

    def tell(self, line: bytes = b"\n") -> None:
        """Write one line to the child (a wake-up: while one is still on its way, another adds nothing)."""
        process = self.process
        if process is None or process.returncode is not None or process.stdin is None:
            return
        transport = process.stdin.transport
        if transport.is_closing() or transport.get_write_buffer_size() > 0:
            return
        process.stdin.write(line)

    async def stop(self) -> None:
        self._stopping = True
        process = self.process
        if process is not None and process.returncode is None and process.stdin is not None:
            process.stdin.close()  # its end of input: finish what is under way, then exit
            try:
                await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
            except TimeoutError:
                log.warning("%s did not stop within %g s; killed", self.name, STOP_TIMEOUT)
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
                    sys.executable, "-m", "fedgroup.cli", *self.args, "--parent-pid", str(os.getpid()),
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE if self.on_line is not None else None,
                    pass_fds=self.pass_fds,
                )  # fmt: skip
            except OSError as e:
                # No process to be had (out of memory, or of processes): serve goes on, and tries again.
                self._started.set()
                log.error("%s could not start: %s; trying again in %g s", self.name, e, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_RESTART_DELAY)
                continue
            self.starts += 1
            self._started.set()
            log.info("%s started pid=%d", self.name, self.process.pid)
            status = await self._run(self.process)
            if self._stopping:
                return
            if time.monotonic() - started > MAX_RESTART_DELAY:
                delay = RESTART_DELAY  # it ran for a good while: this is not a crash loop
            log.error("%s exited status=%s; starting it again in %g s", self.name, status, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_RESTART_DELAY)

    async def _run(self, process: asyncio.subprocess.Process) -> int:
        """Until the process exits, handing each line it writes to `on_line`."""
        if self.on_line is not None and process.stdout is not None:
            while line := await process.stdout.readline():
                try:
                    self.on_line(line)
                except Exception:  # one bad line must not stop serve from hearing the next
                    log.exception("%s: could not act on %r", self.name, line[:80])
        return await process.wait()


def die_with_parent(parent_pid: int | None) -> None:
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


async def lines_from_parent(on_line: Callable[[bytes], None]) -> None:
    """Each line `serve` writes to this child's stdin, to `on_line`, until stdin ends (serve stopping us)."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(sys.stdin.fileno(), "rb", 0)
    )
    try:
        while line := await reader.readline():
            on_line(line)
    finally:
        transport.close()


def app_runner(app: web.Application) -> web.AppRunner:
    """The runner of a process that answers requests: fedgroup's access log; signals are the caller's
    (stop_on_signals), and requests under way get 10 seconds to finish when it stops."""
    return web.AppRunner(app, access_log_class=logs.AccessLog, handle_signals=False, shutdown_timeout=10)


@contextlib.contextmanager
def stop_on_signals() -> Iterator[asyncio.Event]:
    """An event that SIGINT or SIGTERM sets, for as long as the block runs (a second signal while it stops
    changes nothing: what is under way finishes)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        yield stop
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
