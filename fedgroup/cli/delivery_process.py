"""The delivery process: `serve` sends the group's activities from a second process of its own.

Why: one event loop serves pages, takes the inbox and, before, also signed and POSTed every delivery. During
a vote storm the fan-out of totals Updates to thousands of followers' hosts took a third to nearly half of
that loop (bench/RESULTS.md), and pages waited seconds behind it. In a process of its own the fan-out runs on
the second core where there is one, and where there is one core the kernel shares it out in small slices
instead of the loop running every ready POST before the next page.

Nothing else changes: the delivery queue is in SQLite, written by the server and read by this process, as
before by the worker in the server. `serve` starts it (`fedgroup deliver`, not meant to be run by hand) as
one of its children (cli/children.py): it writes a line to its stdin whenever rows are queued (so a delivery
starts at once, not at the next poll), starts it again if it dies, and closes its stdin to stop it.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
from pathlib import Path

from fedgroup import config as config_module
from fedgroup.cli.children import ChildProcess, die_with_parent, lines_from_parent, stop_on_signals
from fedgroup.config import Config
from fedgroup.runtime import close_runtime, open_runtime, start_delivery, start_network

log = logging.getLogger(__name__)

# The delivery process's niceness (Unix: 0 is the default, 19 the lowest priority). When the cores are all
# busy, as in a vote storm on a 1-2 core machine, the kernel gives `serve` about nine tenths of the time
# and this process one tenth: a visitor's page and an arriving vote come before a totals Update to
# followers' servers, which then arrives a little later. With an idle core, nothing changes.
NICENESS = 10


def delivery_process(data_dir: Path, log_level: str) -> ChildProcess:
    """`fedgroup deliver` as a child of `serve`; `tell()` wakes it when rows were queued."""
    return ChildProcess(
        "delivery process", ["deliver", "--data-dir", str(data_dir), "--log-level", log_level]
    )


def cmd_deliver(args: argparse.Namespace) -> None:
    config = config_module.load(args.data_dir)
    asyncio.run(deliver(config, args.parent_pid))


def _yield_to_serving() -> None:
    """Lower this process's priority below `serve`'s (NICENESS); where that cannot be done it runs as is."""
    try:
        os.nice(NICENESS)
    except (OSError, AttributeError):  # not Unix, or refused: deliveries only compete on equal terms
        return


async def deliver(config: Config, parent_pid: int | None = None) -> None:
    """Run the delivery worker until stdin ends or SIGTERM/SIGINT; every line on stdin wakes it."""
    die_with_parent(parent_pid)
    if parent_pid is not None:
        _yield_to_serving()
    with stop_on_signals() as stop:
        runtime = await open_runtime(config)
        try:
            await start_network(runtime, workers=False)
            start_delivery(runtime)
            assert runtime.delivery is not None
            worker = runtime.delivery

            async def wake_on_lines() -> None:
                await lines_from_parent(lambda _: worker.wake())
                stop.set()

            lines = asyncio.create_task(wake_on_lines())
            await stop.wait()
            lines.cancel()
        finally:
            await close_runtime(runtime)  # stops the worker: POSTs under way get a few seconds
