"""fedgroup init | serve | campaign ...: the command line. Bad input: one line on stderr, exit status 2."""

from __future__ import annotations

import argparse
import asyncio
import errno
import functools
import json
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

from aiohttp import web

from fedgroup import __version__, actions, logs, store
from fedgroup import config as config_module
from fedgroup.config import Config, ConfigError
from fedgroup.connections import ConnectionLimits, GuardedSite
from fedgroup.rules import campaign_state, campaigns, passwords, sanitize
from fedgroup.runtime import RUNTIME, Runtime, close_runtime, open_runtime, start_network
from fedgroup.store import datadir

log = logging.getLogger("fedgroup")


class CliError(Exception):
    """A one-line reason for the user; exit status 1 (2 for bad usage)."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


class OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise CliError(f"{message} (see `{self.prog} --help`)", 2)


def _data_dir(value: str) -> Path:
    return Path(value).expanduser()


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="fedgroup", description="A home on the fediverse for small activist groups.")
    parser.add_argument("--version", action="version", version=f"fedgroup {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)

    def with_data_dir(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument(
            "--data-dir",
            type=_data_dir,
            default=Path(config_module.DEFAULT_DATA_DIR),
            help=f"the group's data directory (default ./{config_module.DEFAULT_DATA_DIR})",
        )
        return p

    init = with_data_dir(commands.add_parser("init", help="create a group's data directory"))
    init.add_argument(
        "--base-url", required=True, help="public URL of the server, e.g. https://water.example"
    )
    init.add_argument("--name", required=True, help="the group's display name")
    init.add_argument("--handle", default=config_module.DEFAULT_HANDLE, help="the @handle (default: group)")
    init.add_argument("--summary", default="", help="a short description of the group")
    init.set_defaults(run=cmd_init)

    serve = with_data_dir(commands.add_parser("serve", help="run the server (creates a data dir if none)"))
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8080)")
    serve.add_argument(
        "--log-level", choices=logs.LEVELS, default="info", help="how much to log (default info)"
    )
    serve.set_defaults(run=cmd_serve)

    _add_campaign_commands(commands, with_data_dir)
    _add_member_commands(commands, with_data_dir)
    _add_pledge_commands(commands, with_data_dir)
    _add_coalition_commands(commands, with_data_dir)
    _add_follower_commands(commands, with_data_dir)
    _add_moderation_commands(commands, with_data_dir)
    _add_backup_commands(commands, with_data_dir)

    demo = commands.add_parser("demo", help="run three federating sample groups on loopback ports")
    demo.add_argument("--data-dir", type=_data_dir, help="where the sample groups live (default: a temp dir)")
    demo.add_argument("--port", type=int, default=8081, help="first of three ports (default 8081)")
    demo.set_defaults(run=cmd_demo)
    return parser


# -- commands ---------------------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> None:
    config = asyncio.run(
        datadir.create(args.data_dir, args.base_url, args.name, handle=args.handle, summary=args.summary)
    )
    print(f"created group @{args.handle.lower()}@{config.domain} in {args.data_dir}")


def cmd_serve(args: argparse.Namespace) -> None:
    if args.port is not None and not 0 <= args.port <= 65535:
        raise CliError("--port must be between 0 and 65535", 2)
    if not datadir.exists(args.data_dir):
        port = args.port if args.port else 8080
        config = asyncio.run(
            datadir.create(
                args.data_dir,
                f"http://localhost:{port}",
                "My group",
                listen_port=port,
            )
        )
        print(f"created a new group in {args.data_dir} with base URL {config.base_url}")
        print(
            f"  (edit {args.data_dir / config_module.CONFIG_FILE} or use `fedgroup init` for your own domain)"
        )
    config = config_module.with_overrides(
        config_module.load(args.data_dir), listen_host=args.host, listen_port=args.port
    )
    asyncio.run(serve(config))


async def serve(config: Config, started: Callable[[str], Awaitable[None]] | None = None) -> None:
    """Run until SIGINT/SIGTERM; then finish requests under way and leave queued deliveries for next time."""
    from fedgroup.app import create_app

    runner = web.AppRunner(
        create_app(config), access_log_class=logs.AccessLog, handle_signals=False, shutdown_timeout=10
    )
    await runner.setup()
    # The handlers go in before the first request can arrive: a SIGTERM while one is under way (or while
    # the first admin is being made) must stop gracefully, not kill the process mid-request.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        site = GuardedSite(
            runner, ConnectionLimits.of(config), host=config.listen_host, port=config.listen_port
        )
        try:
            await site.start()
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise CliError(f"port {config.listen_port} on {config.listen_host} is already in use") from e
            raise CliError(f"cannot listen on {config.listen_host}:{config.listen_port}: {e.strerror}") from e
        host, port = runner.addresses[0][:2]
        print(f"fedgroup serving {config.base_url} (listening on {host}:{port}); Ctrl-C stops", flush=True)
        password = await actions.ensure_first_admin(runner.app[RUNTIME])
        if password is not None:
            print(
                f"Sign in at {config.base_url}/login as {actions.FIRST_ADMIN!r} with password {password}"
                " (shown only now: change it under Account).",
                flush=True,
            )
        if started is not None:
            await started(f"http://{host}:{port}")
        await stop.wait()
        print("fedgroup stopping", flush=True)
    finally:
        try:
            await runner.cleanup()  # a second signal meanwhile does not cut the drain short
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)


def with_runtime(data_dir: Path, command: Callable[[Runtime], Awaitable[Any]], network: bool = False) -> Any:
    """Open the data dir's database (beside a running server, if any), run, close. Deliveries a command
    queues are sent by the running server, which shares the database."""

    async def main() -> Any:
        runtime = await open_runtime(config_module.load(data_dir))
        try:
            if network:
                await start_network(runtime, workers=False)
            return await command(runtime)
        finally:
            await close_runtime(runtime)

    return asyncio.run(main())


def managed(command: Callable[[Runtime, argparse.Namespace], Awaitable[str | None]], network: bool = False):
    """A command that works on a group's data: its output (if any) printed on stdout."""

    def run(args: argparse.Namespace) -> None:
        output = with_runtime(args.data_dir, lambda runtime: command(runtime, args), network)
        if output:
            print(output)

    return run


def _table(rows: Sequence[Sequence[Any]]) -> str:
    """Tab-separated lines: readable in a terminal and easy to `cut`."""
    return "\n".join("\t".join("" if v is None else str(v) for v in row) for row in rows)


# -- campaigns ----------------------------------------------------------------------------------------------


def _add_campaign_commands(commands: Any, with_data_dir: Callable[[Any], Any]) -> None:
    campaign = commands.add_parser("campaign", help="create and run campaigns").add_subparsers(
        dest="campaign_command", required=True, parser_class=OneLineParser
    )
    create = with_data_dir(campaign.add_parser("create", help="create a campaign and print its URL"))
    create.add_argument("--title", required=True)
    create.add_argument("--body", required=True, help="what the campaign is about (plain text)")
    create.add_argument(
        "--goal", action="append", default=[], metavar="KIND:TARGET[:UNIT]",
        help="a goal, e.g. money:1000:EUR, hours:40, items:30:meals, people:50 (repeatable)",
    )  # fmt: skip
    create.add_argument(
        "--option", action="append", default=[], metavar="LABEL=KIND:AMOUNT",
        help='a pledge option, e.g. "Bring food=items:1" (repeatable; at most 4 federate as a poll)',
    )  # fmt: skip
    create.add_argument("--deadline", help="ISO 8601 date-time, e.g. 2027-03-01T18:00Z")
    create.add_argument("--visibility", choices=campaigns.VISIBILITIES, default="public")
    create.add_argument("--multiple", action="store_true", help="people may choose several options")
    create.set_defaults(run=managed(campaign_create))

    with_data_dir(campaign.add_parser("list", help="list campaigns")).set_defaults(run=managed(campaign_list))
    show = with_data_dir(campaign.add_parser("show", help="a campaign with its totals and comments"))
    show.add_argument("id", type=int)
    show.set_defaults(run=managed(campaign_show))

    edit = with_data_dir(campaign.add_parser("edit", help="change title, text, deadline or targets"))
    edit.add_argument("id", type=int)
    edit.add_argument("--title")
    edit.add_argument("--body")
    edit.add_argument("--deadline", help="ISO 8601 date-time, or 'none' to remove it")
    edit.add_argument("--target", action="append", default=[], metavar="KIND:TARGET", help="new goal target")
    edit.set_defaults(run=managed(campaign_edit))

    for name, helptext, handler in (
        ("close", "close a campaign to pledges", campaign_close),
        ("delete", "delete a campaign everywhere it went, with its pledges", campaign_delete),
    ):
        sub = with_data_dir(campaign.add_parser(name, help=helptext))
        sub.add_argument("id", type=int)
        sub.set_defaults(run=managed(handler))

    outcome = with_data_dir(campaign.add_parser("outcome", help="publish what the campaign achieved"))
    outcome.add_argument("id", type=int)
    outcome.add_argument("--report", required=True, help="what was achieved (plain text)")
    outcome.set_defaults(run=managed(campaign_outcome))


def _deadline(text: str | None) -> datetime | None:
    return None if text is None or text.strip().lower() == "none" else campaigns.parse_deadline(text)


async def campaign_create(runtime: Runtime, args: argparse.Namespace) -> str:
    campaign_id = await actions.create_campaign(
        runtime,
        args.title,
        args.body,
        goals=[campaigns.parse_goal(g) for g in args.goal],
        options=[campaigns.parse_option(o) for o in args.option],
        deadline=_deadline(args.deadline),
        visibility=args.visibility,
        multiple_choice=args.multiple,
    )
    return runtime.ids.campaign(campaign_id)


async def campaign_list(runtime: Runtime, args: argparse.Namespace) -> str:
    rows = await runtime.db.read(store.campaigns.listing, campaigns.VISIBILITIES)
    lines = []
    for row in rows:
        state = await runtime.db.read(actions.load_campaign, row.id)
        assert state is not None
        status = "open" if state.is_open(runtime.now()) else "closed"
        lines.append((row.id, status, row.visibility, row.title, state.progress_text))
    return _table(lines) if lines else "no campaigns yet"


async def campaign_show(runtime: Runtime, args: argparse.Namespace) -> str:
    state = await actions.campaign(runtime, args.id)
    row = state.row
    lines = [
        f"{row.title}  ({runtime.ids.campaign(row.id)})",
        f"status: {'open' if state.is_open(runtime.now()) else 'closed'} · visibility: {row.visibility}"
        + (f" · deadline: {row.deadline.isoformat()}" if row.deadline else ""),
        f"progress: {state.progress_text or 'no goals'}",
        f"pledgers: {state.tally.pledgers} (including {state.tally.partner_groups} partner groups)",
    ]
    counts = dict(state.tally.option_counts)
    for option in state.options:
        count = counts.get(option.label, 0)
        lines.append(
            f"option: {option.label} = {option.kind}:{campaigns.amount_text(option.amount)} ({count})"
        )
    if row.outcome:
        lines.append(f"outcome: {row.outcome}")
    lines.append("")
    lines.append(row.body)
    for comment in await runtime.db.read(store.campaigns.comments, row.id):
        lines.append(f"\nreply from {comment.author}:\n{sanitize.html_to_text(comment.content)}")
    return "\n".join(lines)


async def campaign_edit(runtime: Runtime, args: argparse.Namespace) -> str:
    state = await actions.campaign(runtime, args.id)
    targets = {}
    for text in args.target:
        goal = campaigns.parse_goal(text if text.count(":") >= 1 else text + ":")
        targets[goal.kind] = goal.target
    await actions.edit_campaign(
        runtime,
        args.id,
        args.title if args.title is not None else state.row.title,
        args.body if args.body is not None else state.row.body,
        _deadline(args.deadline) if args.deadline is not None else state.row.deadline,
        targets,
    )
    return f"campaign {args.id} updated"


async def campaign_close(runtime: Runtime, args: argparse.Namespace) -> str:
    closed = await actions.close_campaign(runtime, args.id)
    return f"campaign {args.id} closed" if closed else f"campaign {args.id} was already closed"


async def campaign_delete(runtime: Runtime, args: argparse.Namespace) -> str:
    await actions.delete_campaign(runtime, args.id)
    return f"campaign {args.id} deleted"


async def campaign_outcome(runtime: Runtime, args: argparse.Namespace) -> str:
    return await actions.report_outcome(runtime, args.id, args.report)


# -- members ------------------------------------------------------------------------------------------------


def _add_member_commands(commands: Any, with_data_dir: Callable[[Any], Any]) -> None:
    member = commands.add_parser("member", help="the group's members (never shared with other servers)")
    sub = member.add_subparsers(dest="member_command", required=True, parser_class=OneLineParser)
    add = with_data_dir(sub.add_parser("add", help="add a member"))
    add.add_argument("name")
    add.add_argument("--role", choices=store.members.ROLES, default="member")
    add.add_argument("--email")
    add.add_argument(
        "--password-stdin", action="store_true", help="read a password (one line) from standard input"
    )
    add.set_defaults(run=managed(member_add))
    with_data_dir(sub.add_parser("list", help="list members")).set_defaults(run=managed(member_list))
    remove = with_data_dir(sub.add_parser("remove", help="remove a member and erase all their data"))
    remove.add_argument("name")
    remove.set_defaults(run=managed(member_remove))
    invite = with_data_dir(sub.add_parser("invite", help="print a one-time link where someone joins"))
    invite.add_argument("--role", choices=store.members.ROLES, default="member")
    invite.add_argument("--hours", type=int, default=actions.INVITE_HOURS, help="how long the link works")
    invite.set_defaults(run=managed(member_invite))
    export = with_data_dir(sub.add_parser("export", help="everything held about a member, as JSON"))
    export.add_argument("name")
    export.add_argument("--to", type=_data_dir, help="write to this new file (readable by you only)")
    export.set_defaults(run=managed(member_export))


async def member_add(runtime: Runtime, args: argparse.Namespace) -> str:
    password_hash = None
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        password_hash = passwords.hash_password(password)
    await actions.add_member(runtime, args.name, args.role, args.email, password_hash)
    return f"added {args.role} {campaigns.clean_line(args.name)}"


async def member_list(runtime: Runtime, args: argparse.Namespace) -> str:
    members = await runtime.db.read(store.members.listing)
    return _table([(m.name, m.role, m.email) for m in members]) if members else "no members yet"


async def member_invite(runtime: Runtime, args: argparse.Namespace) -> str:
    url = await actions.create_invite(runtime, args.role, args.hours)
    return f"{url}\n(one person can use it, within {args.hours} hours, to join as {args.role})"


async def member_remove(runtime: Runtime, args: argparse.Namespace) -> str:
    member = await actions.member_named(runtime, args.name)
    await actions.remove_member(runtime, member.id)
    return f"removed {member.name} and everything we held about them"


async def member_export(runtime: Runtime, args: argparse.Namespace) -> str:
    member = await actions.member_named(runtime, args.name)
    text = json.dumps(await actions.export_member(runtime, member.id), indent=2, ensure_ascii=False)
    if args.to is None:
        return text
    write_private_file(args.to, text + "\n")
    return f"wrote everything held about {member.name} to {args.to} (it is personal data: keep it private)"


def write_private_file(path: Path, text: str) -> None:
    """A new file only its owner can read; never overwrites one."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as e:
        raise CliError(f"{path} already exists; refusing to overwrite it", 2) from e
    except OSError as e:
        raise CliError(f"cannot create {path}: {e.strerror}") from e
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)


# -- pledges ------------------------------------------------------------------------------------------------


def _add_pledge_commands(commands: Any, with_data_dir: Callable[[Any], Any]) -> None:
    pledge = commands.add_parser("pledge", help="members' pledges")
    sub = pledge.add_subparsers(dest="pledge_command", required=True, parser_class=OneLineParser)

    def target(p: argparse.ArgumentParser) -> None:
        which = p.add_mutually_exclusive_group(required=True)
        which.add_argument("--campaign", type=int, help="one of our campaigns")
        which.add_argument(
            "--partner", type=int, help="a partner group's campaign (see `coalition campaigns`)"
        )
        p.add_argument("--member", required=True, help="the member's name")

    add = with_data_dir(sub.add_parser("add", help="pledge (or change a pledge) for a member"))
    target(add)
    how = add.add_mutually_exclusive_group(required=True)
    how.add_argument("--option", help="one of the campaign's pledge options, by label")
    how.add_argument("--amount", metavar="KIND:AMOUNT", help="e.g. hours:3 or money:25")
    add.add_argument("--note", default="", help="a note for the organizers (never federated)")
    add.set_defaults(run=managed(pledge_add))

    withdraw = with_data_dir(sub.add_parser("withdraw", help="withdraw a member's pledge"))
    target(withdraw)
    withdraw.add_argument("--kind", choices=campaigns.GOAL_KINDS, help="only the pledge of this kind")
    withdraw.set_defaults(run=managed(pledge_withdraw))

    listing = with_data_dir(sub.add_parser("list", help="pledges to a campaign, or of a member"))
    which = listing.add_mutually_exclusive_group(required=True)
    which.add_argument("--campaign", type=int)
    which.add_argument("--member")
    listing.set_defaults(run=managed(pledge_list))

    fulfil = with_data_dir(sub.add_parser("fulfil", help="mark a pledge fulfilled (by its id from `list`)"))
    fulfil.add_argument("id", type=int)
    fulfil.add_argument("--undo", action="store_true", help="mark it not fulfilled")
    fulfil.set_defaults(run=managed(pledge_fulfil))


def _kind_amount(text: str) -> tuple[str, str]:
    kind, sep, amount = text.partition(":")
    if not sep:
        raise actions.ActionError("--amount is KIND:AMOUNT, e.g. hours:3", "amount")
    return kind.strip().lower(), amount.strip()


async def pledge_add(runtime: Runtime, args: argparse.Namespace) -> str:
    member = await actions.member_named(runtime, args.member)
    kind, amount = _kind_amount(args.amount) if args.amount else (None, None)
    if args.campaign is not None:
        await actions.pledge(runtime, member.id, args.campaign, args.option, kind, amount, args.note)
    else:
        await actions.pledge_to_partner(
            runtime, member.id, args.partner, args.option, kind, amount, args.note
        )
    return f"pledge recorded for {member.name}"


async def pledge_withdraw(runtime: Runtime, args: argparse.Namespace) -> str:
    member = await actions.member_named(runtime, args.member)
    pledges = [
        p
        for p in await runtime.db.read(store.pledges.pledges_of_member, member.id)
        if (p.campaign_id, p.partner_campaign_id) == (args.campaign, args.partner)
        and args.kind in (None, p.kind)
    ]
    if not pledges:
        raise actions.ActionError(f"{member.name} has no such pledge", "pledge")
    for p in pledges:
        await actions.withdraw_pledge(runtime, member.id, p.id)
    return f"withdrew {len(pledges)} pledge{'s' if len(pledges) != 1 else ''} of {member.name}"


async def pledge_list(runtime: Runtime, args: argparse.Namespace) -> str:
    if args.campaign is not None:
        await actions.campaign(runtime, args.campaign)
        pledges = await runtime.db.read(store.pledges.pledges_for_campaign, args.campaign)
    else:
        member = await actions.member_named(runtime, args.member)
        pledges = await runtime.db.read(store.pledges.pledges_of_member, member.id)
    rows = [
        (
            p.id,
            p.member_name,
            f"campaign {p.campaign_id}" if p.campaign_id else f"partner {p.partner_campaign_id}",
            f"{p.kind}:{campaigns.amount_text(p.amount)}",
            p.option_label,
            "fulfilled" if p.fulfilled else "pledged",
            p.note,
        )
        for p in pledges
    ]
    return _table(rows) if rows else "no pledges"


async def pledge_fulfil(runtime: Runtime, args: argparse.Namespace) -> str:
    await actions.set_fulfilled(runtime, args.id, not args.undo)
    return f"pledge {args.id} marked {'not ' if args.undo else ''}fulfilled"


# -- coalitions and followers -------------------------------------------------------------------------------


def _add_coalition_commands(commands: Any, with_data_dir: Callable[[Any], Any]) -> None:
    coalition = commands.add_parser("coalition", help="partner groups on other fedgroup servers")
    sub = coalition.add_subparsers(dest="coalition_command", required=True, parser_class=OneLineParser)
    follow = with_data_dir(sub.add_parser("follow", help="follow another group: @handle@host or actor URL"))
    follow.add_argument("group")
    follow.set_defaults(run=managed(coalition_follow, network=True))
    with_data_dir(sub.add_parser("list", help="groups we follow")).set_defaults(run=managed(coalition_list))
    with_data_dir(sub.add_parser("campaigns", help="partner groups' campaigns")).set_defaults(
        run=managed(coalition_campaigns)
    )
    leave = with_data_dir(sub.add_parser("leave", help="stop following a group (withdraws our pledges)"))
    leave.add_argument("group")
    leave.set_defaults(run=managed(coalition_leave, network=True))
    with_data_dir(
        sub.add_parser("partners", help="partner groups, partner requests and rejected groups")
    ).set_defaults(run=managed(coalition_partners))
    for name, accept in (("accept-partner", True), ("reject-partner", False)):
        what = "count its aggregate pledges" if accept else "stop counting its aggregate pledges"
        p = with_data_dir(sub.add_parser(name, help=f"{what} (a following group's actor URL)"))
        p.add_argument("actor")
        p.set_defaults(run=managed(functools.partial(coalition_answer_partner, accept=accept)))
    with_data_dir(
        sub.add_parser("held", help="partner aggregates waiting for an organizer (id, campaign, group, why)")
    ).set_defaults(run=managed(coalition_held))
    for name, approve in (("approve-held", True), ("reject-held", False)):
        p = with_data_dir(
            sub.add_parser(name, help=f"{name.split('-')[0]} a held aggregate (its id from `held`)")
        )
        p.add_argument("id", type=int)
        p.set_defaults(run=managed(functools.partial(coalition_answer_held, approve=approve)))


async def coalition_follow(runtime: Runtime, args: argparse.Namespace) -> str:
    actor_id = await actions.follow_group_by_handle(runtime, args.group)
    return f"follow request sent to {actor_id}; its campaigns arrive once it accepts"


async def coalition_list(runtime: Runtime, args: argparse.Namespace) -> str:
    following = await runtime.db.read(store.follows.list_following)
    return _table([(f.actor_id, f.state) for f in following]) if following else "we follow no groups yet"


async def coalition_campaigns(runtime: Runtime, args: argparse.Namespace) -> str:
    rows = []
    for partner in await runtime.db.read(store.campaigns.partner_campaigns):
        goals, options = actions.partner_goals(partner)
        rows.append(
            (
                partner.id,
                "closed" if partner.closed else "open",
                partner.group_actor,
                partner.title,
                " · ".join(f"{o.label}={o.kind}:{campaigns.amount_text(o.amount)}" for o in options),
            )
        )
    return _table(rows) if rows else "no partner campaigns yet"


async def coalition_leave(runtime: Runtime, args: argparse.Namespace) -> str:
    following = {f.actor_id for f in await runtime.db.read(store.follows.list_following)}
    actor_id = args.group if args.group in following else await actions.resolve_account(runtime, args.group)
    await actions.leave_group(runtime, actor_id)
    return f"left {actor_id}"


async def coalition_partners(runtime: Runtime, args: argparse.Namespace) -> str:
    views = await actions.partner_groups(runtime)
    rows = [
        (
            v.actor_id,
            v.status,
            v.via,
            v.actor_type,
            f"members<={v.published_bound}" if v.published_bound is not None else "members:unpublished",
            f"bound={v.bound}",
            f"held={v.held}",
        )
        for v in views
    ]
    return _table(rows) if rows else "no partner groups or requests"


async def coalition_answer_partner(runtime: Runtime, args: argparse.Namespace, accept: bool) -> str:
    if accept:
        counted = await actions.accept_partner(runtime, args.actor)
        return f"accepted {args.actor.strip()} as a partner group; {counted} waiting aggregate(s) now count"
    await actions.reject_partner(runtime, args.actor)
    return f"rejected {args.actor.strip()} as a partner group; its aggregates are not counted"


def _aggregate_text(contributions_json: str) -> str:
    aggregate = campaign_state.group_aggregate(0, contributions_json)
    return " · ".join(
        f"{line.contribution.kind}:{campaigns.amount_text(line.contribution.amount)}"
        + (f" ({line.option})" if line.option else "")
        + f" from {line.pledgers}"
        for line in aggregate.lines
    )


async def coalition_held(runtime: Runtime, args: argparse.Namespace) -> str:
    held = await actions.held_aggregates(runtime)
    rows = [
        (
            h.id,
            h.campaign_id,
            h.group_actor,
            f"pledgers={h.pledgers}",
            _aggregate_text(h.contributions),
            h.reason,
        )
        for h in held
    ]
    return _table(rows) if rows else "no aggregates are waiting"


async def coalition_answer_held(runtime: Runtime, args: argparse.Namespace, approve: bool) -> str:
    held = await actions.answer_held_aggregate(runtime, args.id, approve)
    if approve:
        return f"approved aggregate {held.id} of {held.group_actor}: it counts toward campaign {held.campaign_id}"
    return f"rejected aggregate {held.id} of {held.group_actor}"


def _add_follower_commands(commands: Any, with_data_dir: Callable[[Any], Any]) -> None:
    followers = commands.add_parser("followers", help="who follows the group (counts; manual approval)")
    sub = followers.add_subparsers(dest="followers_command", required=True, parser_class=OneLineParser)
    with_data_dir(sub.add_parser("count", help="how many accounts follow the group")).set_defaults(
        run=managed(followers_count)
    )
    with_data_dir(sub.add_parser("requests", help="follow requests awaiting approval")).set_defaults(
        run=managed(followers_requests)
    )
    for name, approve in (("approve", True), ("reject", False)):
        p = with_data_dir(sub.add_parser(name, help=f"{name} a follow request (actor URL)"))
        p.add_argument("actor")
        p.set_defaults(run=managed(functools.partial(followers_answer, approve=approve)))
    remove = with_data_dir(sub.add_parser("remove", help="make an account stop following (sends Reject)"))
    remove.add_argument("actor")
    remove.set_defaults(run=managed(followers_remove))


async def followers_count(runtime: Runtime, args: argparse.Namespace) -> str:
    return str(await runtime.db.read(store.follows.count_followers))


async def followers_requests(runtime: Runtime, args: argparse.Namespace) -> str:
    pending = await runtime.db.read(store.follows.pending_followers)
    return "\n".join(f.actor_id for f in pending) if pending else "no follow requests waiting"


async def followers_answer(runtime: Runtime, args: argparse.Namespace, approve: bool) -> str:
    await actions.answer_follower(runtime, args.actor, approve)
    return f"{'approved' if approve else 'rejected'} {args.actor}"


async def followers_remove(runtime: Runtime, args: argparse.Namespace) -> str:
    await actions.remove_follower(runtime, args.actor.strip())
    return f"removed follower {args.actor.strip()}"


# -- moderation ---------------------------------------------------------------------------------------------


def _add_moderation_commands(commands: Any, with_data_dir: Callable[[Any], Any]) -> None:
    block = commands.add_parser("block", help="block remote accounts or whole domains")
    sub = block.add_subparsers(dest="block_command", required=True, parser_class=OneLineParser)
    add = with_data_dir(sub.add_parser("add", help="block an account (its URL) or a domain"))
    add.add_argument("target", help="https://host/users/name or host")
    add.set_defaults(run=managed(block_add))
    remove = with_data_dir(sub.add_parser("remove", help="lift a block"))
    remove.add_argument("target")
    remove.set_defaults(run=managed(block_remove))
    with_data_dir(sub.add_parser("list", help="what is blocked")).set_defaults(run=managed(block_list))

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
    return (
        f"blocked {target}; what it gave us (follow, votes, replies, reports) is removed,"
        " and its server is told (Reject of its follow; Block of an account)"
    )


async def block_remove(runtime: Runtime, args: argparse.Namespace) -> str:
    await actions.unblock(runtime, args.target)
    return f"unblocked {args.target.strip()}"


async def block_list(runtime: Runtime, args: argparse.Namespace) -> str:
    blocks = await runtime.db.read(store.blocks.listing)
    return _table([(b.target, b.kind) for b in blocks]) if blocks else "nothing is blocked"


async def report_send(runtime: Runtime, args: argparse.Namespace) -> str:
    await actions.report_account(runtime, args.account, args.reason, args.post)
    return (
        f"report about {args.account.strip()} queued to its server (sent as the group's server, not as you)"
    )


async def report_list(runtime: Runtime, args: argparse.Namespace) -> str:
    direction = "sent" if args.sent else "received"
    reports = await runtime.db.read(store.reports.listing, direction)
    if not reports:
        return f"no reports {direction}"
    return _table(
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
    return f"report {args.id} resolved"


# -- backup -------------------------------------------------------------------------------------------------


def _add_backup_commands(commands: Any, with_data_dir: Callable[[Any], Any]) -> None:
    take = with_data_dir(commands.add_parser("backup", help="copy the group (keys included) to one file"))
    take.add_argument("--to", type=_data_dir, required=True, help="the new backup file (.tar.gz)")
    take.set_defaults(run=cmd_backup)
    restore = with_data_dir(commands.add_parser("restore", help="make a data dir from a backup file"))
    restore.add_argument("--from", dest="from_file", type=_data_dir, required=True, help="the backup file")
    restore.set_defaults(run=cmd_restore)


def cmd_backup(args: argparse.Namespace) -> None:
    from fedgroup.store import backup

    try:
        size = backup.create(args.data_dir, args.to)
    except backup.BackupError as e:
        raise CliError(str(e)) from e
    print(f"wrote {args.to} ({size:,} bytes)")
    print(f"warning: {backup.WARNING}", file=sys.stderr)


def cmd_restore(args: argparse.Namespace) -> None:
    from fedgroup.store import backup

    try:
        config = backup.restore(args.from_file, args.data_dir)
    except backup.BackupError as e:
        raise CliError(str(e)) from e
    print(
        f"restored {config.base_url} into {args.data_dir}; start it with `fedgroup serve --data-dir {args.data_dir}`"
    )


# -- demo ---------------------------------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> None:
    from fedgroup.cli import demo

    if not 1 <= args.port <= 65533:
        raise CliError("--port must be between 1 and 65533", 2)
    asyncio.run(demo.run(args.data_dir, args.port))


# -- entry point ------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        # The server reports what it does; a one-shot command prints its result and only warnings besides.
        long_running = args.run in (cmd_serve, cmd_demo)
        logs.configure(getattr(args, "log_level", None) or ("info" if long_running else "warning"))
        if args.run is cmd_demo:
            logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
        args.run(args)
    except CliError as e:
        print(f"fedgroup: error: {e}", file=sys.stderr)
        return e.status
    except (ConfigError, *actions.USER_ERRORS) as e:
        print(f"fedgroup: error: {e}", file=sys.stderr)
        return 2
    except store.DatabaseError as e:
        print(f"fedgroup: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
