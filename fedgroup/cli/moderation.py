"""fedgroup block add | remove | list | import | export and fedgroup report send | list | resolve."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from fedgroup import actions, store
from fedgroup.cli.command import CliError, OneLineParser, group_lang, managed, path_argument, table
from fedgroup.rules.languages import N_, Message
from fedgroup.runtime import Runtime


def add_commands(commands: Any, with_data_dir: Callable[[Any], Any]) -> None:
    block = commands.add_parser("block", help="block remote accounts or whole domains")
    sub = block.add_subparsers(dest="block_command", required=True, parser_class=OneLineParser)
    add = with_data_dir(sub.add_parser("add", help="block an account (its URL) or a domain"))
    add.add_argument("target", help="https://host/users/name or host")
    add.set_defaults(run=managed(block_add))
    remove = with_data_dir(sub.add_parser("remove", help="lift a block"))
    remove.add_argument("target")
    remove.set_defaults(run=managed(block_remove))
    with_data_dir(sub.add_parser("list", help="what is blocked")).set_defaults(run=managed(block_list))
    imports = with_data_dir(sub.add_parser("import", help="block the domains of a Mastodon domain-block CSV"))
    imports.add_argument("file", type=path_argument, help="the CSV (#domain,#severity,...), or - for stdin")
    imports.add_argument("--dry-run", action="store_true", help="only show what would change")
    imports.set_defaults(run=managed(block_import))
    exports = with_data_dir(sub.add_parser("export", help="our domain blocks as a Mastodon domain-block CSV"))
    exports.set_defaults(run=managed(block_export))

    report = commands.add_parser("report", help="reports (Flag) from other servers, and ours to them")
    sub = report.add_subparsers(dest="report_command", required=True, parser_class=OneLineParser)
    send = with_data_dir(sub.add_parser("send", help="report a remote account to its server"))
    send.add_argument("account", help="@name@host or the account's URL")
    send.add_argument("--reason", required=True, help="why (sent to that server's moderators)")
    send.add_argument("--post", action="append", default=[], help="URL of a post of theirs (repeatable)")
    send.set_defaults(run=managed(report_send, network=True))
    listing = with_data_dir(sub.add_parser("list", help="reports received (open first) and sent"))
    listing.add_argument("--sent", action="store_true", help="the reports we sent instead")
    listing.set_defaults(run=managed(report_list))
    resolve = with_data_dir(sub.add_parser("resolve", help="mark a received report as dealt with"))
    resolve.add_argument("id", type=int)
    resolve.set_defaults(run=managed(report_resolve))


async def block_add(runtime: Runtime, args: argparse.Namespace) -> str:
    target = await actions.block(runtime, args.target)
    return group_lang(runtime).gettext(
        "blocked %(target)s; what it gave us (follow, votes, replies, reports) is removed, and its server is"
        " told (Reject of its follow; Block of an account)",
        target=target,
    )


async def block_remove(runtime: Runtime, args: argparse.Namespace) -> str:
    await actions.unblock(runtime, args.target)
    return group_lang(runtime).gettext("unblocked %(target)s", target=args.target.strip())


async def block_list(runtime: Runtime, args: argparse.Namespace) -> str:
    blocks = await runtime.db.read(store.blocks.listing)
    return table([(b.target, b.kind) for b in blocks]) if blocks else group_lang(runtime).gettext("nothing is blocked")


def describe_plan(plan: actions.BlocklistPlan, dry_run: bool) -> str:
    """One line per domain (what happens to it), then a summary."""
    verb = "would block" if dry_run else "blocked"
    lines = [f"{verb}\t{d}" for d in plan.to_block]
    lines += [f"already blocked\t{d}" for d in plan.already]
    lines += [f"skipped\t{d}\t{why}" for d, why in plan.skipped]
    lines.append(
        f"{verb} {len(plan.to_block)} domain(s); {len(plan.already)} already blocked; {len(plan.skipped)} skipped"
        + (" (dry run: nothing changed)" if dry_run else "")
    )
    return "\n".join(lines)


async def block_import(runtime: Runtime, args: argparse.Namespace) -> str:
    try:
        raw = sys.stdin.buffer.read() if str(args.file) == "-" else args.file.read_bytes()
    except OSError as e:
        raise CliError(Message(N_("cannot read %(file)s: %(reason)s"), file=args.file, reason=e.strerror)) from e
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise CliError(Message(N_("%(file)s is not UTF-8 text"), file=args.file)) from e
    plan = await actions.plan_blocklist(runtime, text)
    if not args.dry_run:
        await actions.import_blocklist(runtime, plan)
    return describe_plan(plan, args.dry_run)


async def block_export(runtime: Runtime, args: argparse.Namespace) -> str:
    return (await actions.export_blocklist(runtime)).rstrip("\n")


async def report_send(runtime: Runtime, args: argparse.Namespace) -> str:
    await actions.report_account(runtime, args.account, args.reason, args.post)
    return group_lang(runtime).gettext(
        "report about %(account)s queued to its server (sent as the group's server, not as you)",
        account=args.account.strip(),
    )


async def report_list(runtime: Runtime, args: argparse.Namespace) -> str:
    direction = "sent" if args.sent else "received"
    reports = await runtime.db.read(store.reports.listing, direction)
    if not reports:
        lang = group_lang(runtime)
        return lang.gettext("no reports sent") if args.sent else lang.gettext("no reports received")
    return table(
        [
            (
                r.id,
                "resolved" if r.resolved_at else "open",
                store.to_db_time(r.created_at),
                r.remote_actor,
                " ".join(r.objects),
                r.comment.replace("\t", " ").replace("\n", " "),
            )
            for r in reports
        ]
    )


async def report_resolve(runtime: Runtime, args: argparse.Namespace) -> str:
    await actions.resolve_report(runtime, args.id)
    return group_lang(runtime).gettext("report %(id)s resolved", id=args.id)
