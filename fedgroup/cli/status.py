"""fedgroup status, fedgroup inbox retry and fedgroup delivery retry: the two queues at a glance, and putting
back what was given up."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime
from typing import Any

from fedgroup import actions, store
from fedgroup.cli.command import CliError, OneLineParser, group_lang, managed, table
from fedgroup.rules.languages import N_, Message
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
    delivery = commands.add_parser("delivery", help="deliveries the server gave up on")
    sub = delivery.add_subparsers(dest="delivery_command", required=True, parser_class=OneLineParser)
    retry = with_data_dir(sub.add_parser("retry", help="send given-up deliveries again"))
    which = retry.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "id", nargs="?", type=int, help="the delivery's number (as `fedgroup status` lists it)"
    )
    which.add_argument("--all-given-up", action="store_true", help="every given-up delivery")
    which.add_argument("--host", help="every given-up delivery to this host (e.g. social.example)")
    retry.set_defaults(run=managed(delivery_retry))


def _when(value: datetime | None) -> str:
    return store.to_db_time(value) if value is not None else "-"


def _size(count: int) -> str:
    return f"{count / 1_000_000:,.1f} MB" if count < 10_000_000_000 else f"{count / 1_000_000_000:,.1f} GB"


async def show_status(runtime: Runtime, args: argparse.Namespace) -> str:
    report = await actions.health(runtime)
    inbox, deliveries = report.inbox, report.deliveries
    given_up = await runtime.db.read(store.inbox.given_up)
    given_up_deliveries = await runtime.db.read(store.outbox.given_up)
    lines = [
        f"inbox: pending: {inbox.pending}  retrying: {inbox.retrying}  given up: {inbox.given_up}"
        f"  oldest unprocessed: {_when(inbox.oldest)}",
        f"deliveries: pending: {deliveries.pending}  retrying: {deliveries.retrying}"
        f"  given up: {deliveries.given_up}  oldest undelivered: {_when(deliveries.oldest)}",
    ]
    for h in deliveries.hosts:
        lines.append(f"  host {h.host}: pending: {h.pending}  retrying: {h.retrying}  given up: {h.given_up}")
    mail = await runtime.db.read(store.mail.counts)
    lines.append(
        f"mail: pending: {mail.pending}  retrying: {mail.retrying}  sent: {mail.sent}  refused: {mail.failed}"
        f"  oldest unsent: {_when(mail.oldest)}"
    )
    for failure in await runtime.db.read(store.mail.failures, 20):
        lines.append(f"mail refused: to {failure.member_name or '(removed)'} {failure.notification}"
                     f" at {_when(failure.finished_at)}: {failure.error}")  # fmt: skip
    for host, until in deliveries.paused_hosts:
        lines.append(f"paused host: {host} until {_when(until)}")
    for stall in report.stalls:
        lines.append(f"STALLED: {stall.reason}")
    # The labels stay for scripts ("STALLED:", "last backup:"); what a person reads after them is translated.
    lang = group_lang(runtime)
    if not report.stalls:
        lines.append("workers: " + lang.gettext("no queue has stalled"))
    backup = report.last_backup
    lines.append(
        "last backup: "
        + (
            f"{_when(backup.at)}" + (f" ({_size(backup.size)})" if backup.size else "")
            if backup
            else lang.gettext("never")
        )
    )
    disk = report.disk
    lines.append(
        f"disk: data dir {_size(disk.data_dir_bytes)}, {_size(disk.free_bytes)} free of {_size(disk.total_bytes)}"
    )
    if given_up_deliveries:
        lines.append(
            lang.gettext(
                "deliveries given up (retry with `fedgroup delivery retry ID`, `--host HOST` or `--all-given-up`):"
            )
        )
        lines.append(
            table(
                [
                    (d.id, d.host, d.inbox, d.given_up_at, d.attempts, (d.last_error or "")[:200])
                    for d in given_up_deliveries
                ]
            )
        )
    if given_up:
        lines.append(
            lang.gettext(
                "received activities given up (retry with `fedgroup inbox retry ID` or `--all-given-up`):"
            )
        )
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
        raise CliError(Message(N_("no given-up activity %(id)s"), id=activity_id), 2)
    return group_lang(runtime).ngettext(
        "%(num)s activity queued again; the server processes it next",
        "%(num)s activities queued again; the server processes them next",
        count,
    )


async def delivery_retry(runtime: Runtime, args: argparse.Namespace) -> str:
    delivery_id: int | None = None if args.all_given_up or args.host else args.id
    host: str | None = args.host
    count = await runtime.db.write(store.outbox.retry_given_up, runtime.now(), delivery_id, host)
    if count == 0 and delivery_id is not None:
        raise CliError(Message(N_("no given-up delivery %(id)s"), id=delivery_id), 2)
    if count == 0 and host is not None:
        raise CliError(Message(N_("no given-up delivery to %(host)s"), host=host), 2)
    return group_lang(runtime).ngettext(
        "%(num)s delivery queued again; the running server sends it next",
        "%(num)s deliveries queued again; the running server sends them next",
        count,
    )
