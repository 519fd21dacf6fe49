"""The serving processes of `serve --workers N`: HTTP on every core.

Why: one process's event loop is the ceiling of everything the server does, and at an inbox flood's height it
is busy checking and storing arriving activities (bench/RESULTS.md: about 750 us of the loop an activity) while
a second core waits. With `workers` = N (2 or more), `serve` binds the listening socket and starts N children
(`fedgroup serve-worker`, not meant to be run by hand) that accept on it: whichever is free takes the next
connection (a few at a time: ACCEPT_AT_ONCE), and the kernel shares the cores out.

Who does what. The serving processes answer every request, from the one database. `serve` itself answers
none: it runs the inbox processor, the scheduler, the mail worker, the delivery process and the first-admin
set-up, and supervises the serving processes (started again if one dies). Measured on 2 cores, this beat
`serve` answering requests too: then whichever process held more connections set the pace, and `serve`, which
also processes everything, was the one that fell behind (bench/RESULTS.md). A serving process that stores
arriving activities, changes totals or queues deliveries or mail tells `serve` by one line on its stdout
("inbox", "totals", "deliveries", "mail"), which wakes the right worker at once; the queues also look for work
every `queue_poll_seconds`, so a line lost costs a second, not an activity. A block added or lifted in any
process is told to all ("blocks"), so each reads the blocks again.

What each process keeps in memory and shares out: the sign-in pacing, the per-host inbox limit and the
key-fetch budget are each process's share of the configured limit (Config.per_process,
SignInRules.shared_by), so that together they hold it give or take one per process. Back-pressure counts the
queue in the database (Runtime.watch_queue). Kept pages follow the database's commits whichever process made
them (store/kept.py). /metrics describes the process that answered.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import socket
from collections.abc import Callable

from fedgroup import config as config_module
from fedgroup import logs
from fedgroup.cli.children import (
    ChildProcess,
    app_runner,
    die_with_parent,
    lines_from_parent,
    stop_on_signals,
)
from fedgroup.config import Config
from fedgroup.connections import ConnectionLimits, GuardedSite
from fedgroup.runtime import RUNTIME

log = logging.getLogger(__name__)


def serving_process(
    config: Config, index: int, listening: socket.socket, log_level: str, heard: Callable[[str], None]
) -> ChildProcess:
    """`fedgroup serve-worker` number `index` (from 1) as a child of `serve`, accepting on `listening`;
    `heard` gets what it tells `serve`."""
    return ChildProcess(
        f"serving process {index}",
        ["serve-worker", "--data-dir", str(config.data_dir), "--listen-fd", str(listening.fileno()),
         "--index", str(index), "--workers", str(config.workers), "--log-level", log_level],
        on_line=lambda line: heard(line.decode("ascii", "replace").strip()),
        pass_fds=(listening.fileno(),),
    )  # fmt: skip


# Connections each serving process accepts at a time (asyncio's default is the listen backlog): the process
# awake first would take a whole burst of a remote server's keep-alive connections, and keep them all.
ACCEPT_AT_ONCE = 4


def listen(config: Config) -> socket.socket:
    """The one listening socket the serving processes accept on. Raises OSError as binding does (a port in
    use, as with one process)."""
    family = socket.AF_INET6 if ":" in config.listen_host else socket.AF_INET
    return socket.create_server((config.listen_host, config.listen_port), family=family, backlog=128)


class TellServe:
    """What this process tells `serve`, as lines on stdout: each kind at most once a turn of the loop, never
    blocking (a line that finds the pipe full is dropped: the queues also poll)."""

    def __init__(self, fd: int = 1) -> None:
        self.fd = fd
        os.set_blocking(fd, False)
        self._pending: set[str] = set()

    def __call__(self, what: str) -> None:
        if not self._pending:
            asyncio.get_running_loop().call_soon(self._flush)
        self._pending.add(what)

    def _flush(self) -> None:
        lines = "".join(f"{what}\n" for what in sorted(self._pending)).encode("ascii")
        self._pending.clear()
        try:
            os.write(self.fd, lines)
        except BlockingIOError:
            log.warning("serve is not reading; dropped %s", lines.decode().split())
        except BrokenPipeError:
            pass  # serve is gone, and this one goes with it


def cmd_serve_worker(args: argparse.Namespace) -> None:
    logs.name_process(f"serving process {args.index}")
    config = config_module.with_overrides(config_module.load(args.data_dir), workers=args.workers)
    asyncio.run(serve_worker(config, args.listen_fd, args.parent_pid))


async def serve_worker(config: Config, listen_fd: int, parent_pid: int | None = None) -> None:
    """Answer requests on the inherited socket until stdin ends (`serve` stopping us) or SIGTERM."""
    from fedgroup.app import create_app

    die_with_parent(parent_pid)
    runner = app_runner(create_app(config, deliveries=False, background=False))
    await runner.setup()
    with stop_on_signals() as stop:
        tasks: list[asyncio.Task[None]] = []
        try:
            runtime = runner.app[RUNTIME]
            runtime.tell_others = TellServe()
            runtime.queued = 0
            site = GuardedSite(
                runner,
                ConnectionLimits.of(config),
                sock=socket.socket(fileno=listen_fd),
                accept_at_once=ACCEPT_AT_ONCE,
            )
            await site.start()

            async def hear_serve() -> None:
                await lines_from_parent(lambda line: runtime.told(line.decode("ascii", "replace").strip()))
                stop.set()

            tasks = [asyncio.create_task(runtime.watch_queue()), asyncio.create_task(hear_serve())]
            log.info("serving process up pid=%d", os.getpid())
            gc.collect()
            gc.freeze()  # as `serve` does (cli/server.py)
            await stop.wait()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await runner.cleanup()
