"""fedgroup status and fedgroup inbox retry: the two queues at a glance, and putting back what was given up."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime
from typing import Any

from fedgroup import store
from fedgroup.cli.command import CliError, OneLineParser, managed, table
from fedgroup.runtime import Runtime


def add_commands(commands: Any, with_data_dir: Callable[[Any], Any]) -> None:
    status = with_data_dir(
        commands.add_parser("status", help="the inbox and delivery queues: pending, retrying, given up")
    )
    status.set_defaults(run=managed(show_status))
    inbox = commands.add_parser("inbox", help="received activities the server gave up on")
    sub = inbox.add_subparsers(dest="inbox_command", required=True, parser_class=OneLineParser)
    retry = with_data_dir(sub.add_parser("retry", help="process a given-up activity again"))
    which = retry.add_mutually_exclusive_group(required=True)
    which.add_argument("id", nargs="?", help="the activity's id (as `fedgroup status` lists it)")
    which.add_argument("--all-given-up", action="store_true", help="every given-up activity")
    retry.set_defaults(run=managed(inbox_retry))


def _when(value: datetime | None) -> str:
    return store.to_db_time(value) if value is not None else "-"


async def show_status(runtime: Runtime, args: argparse.Namespace) -> str:
    inbox = await runtime.db.read(store.inbox.counts)
    deliveries = await runtime.db.read(store.outbox.counts, runtime.now())
    given_up = await runtime.db.read(store.inbox.given_up)
    lines = [
        f"inbox: pending: {inbox.pending}  retrying: {inbox.retrying}  given up: {inbox.given_up}"
        f"  oldest unprocessed: {_when(inbox.oldest)}",
        f"deliveries: pending: {deliveries.pending}  retrying: {deliveries.retrying}"
        f"  oldest undelivered: {_when(deliveries.oldest)}",
    ]
    for host, until in deliveries.paused_hosts:
        lines.append(f"paused host: {host} until {_when(until)}")
    if given_up:
        lines.append("given up (retry with `fedgroup inbox retry ID` or `--all-given-up`):")
        lines.append(
            table(
                [
                    (a.id, a.type, a.received_at, a.attempts, (a.error or "").replace("\n", " ")[:200])
                    for a in given_up
                ]
            )
        )
    return "\n".join(lines)


async def inbox_retry(runtime: Runtime, args: argparse.Namespace) -> str:
    activity_id = None if args.all_given_up else args.id
    count = await runtime.db.write(lambda conn: store.inbox.retry_given_up(conn, activity_id))
    if count == 0 and activity_id is not None:
        raise CliError(f"no given-up activity {activity_id}", 2)
    return f"{count} activit{'y' if count == 1 else 'ies'} queued again; the server processes them next"
