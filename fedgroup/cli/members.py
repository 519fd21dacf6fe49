"""fedgroup member add | list | remove | invite | export: the group's members (never shared with other servers)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fedgroup import actions, store
from fedgroup.cli.command import CliError, OneLineParser, group_lang, managed, path_argument, table
from fedgroup.rules import campaigns, passwords
from fedgroup.rules.languages import N_, Message
from fedgroup.runtime import Runtime


def add_commands(commands: Any, with_data_dir: Callable[[Any], Any]) -> None:
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
    reset = with_data_dir(
        sub.add_parser("reset-password", help="print a one-time link where a member chooses a new password")
    )
    reset.add_argument("name")
    reset.add_argument("--hours", type=int, default=actions.RESET_HOURS, help="how long the link works")
    reset.set_defaults(run=managed(member_reset_password))
    reset = with_data_dir(sub.add_parser("reset-2fa", help="remove a member's second factor (a lost phone)"))
    reset.add_argument("name")
    reset.set_defaults(run=managed(member_reset_two_factor))
    require = with_data_dir(
        sub.add_parser("require-2fa", help="whether organizers and admins must sign in with a second factor")
    )
    require.add_argument("setting", choices=("on", "off"))
    require.set_defaults(run=managed(member_require_two_factor))
    export = with_data_dir(sub.add_parser("export", help="everything held about a member, as JSON"))
    export.add_argument("name")
    export.add_argument("--to", type=path_argument, help="write to this new file (readable by you only)")
    export.set_defaults(run=managed(member_export))


async def member_add(runtime: Runtime, args: argparse.Namespace) -> str:
    password_hash = None
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        password_hash = passwords.hash_password(password)
    await actions.add_member(runtime, args.name, args.role, args.email, password_hash)
    added = {
        "member": N_("added member %(name)s"),
        "organizer": N_("added organizer %(name)s"),
        "admin": N_("added admin %(name)s"),
    }
    return group_lang(runtime).gettext(added[args.role], name=campaigns.clean_line(args.name))


async def member_list(runtime: Runtime, args: argparse.Namespace) -> str:
    members = await runtime.db.read(store.members.listing)
    return table([(m.name, m.role, m.email) for m in members]) if members else group_lang(runtime).gettext("no members yet")


async def member_invite(runtime: Runtime, args: argparse.Namespace) -> str:
    url = await actions.create_invite(runtime, args.role, args.hours)
    joins = {
        "member": N_("(one person can use it, within %(hours)s hours, to join as a member)"),
        "organizer": N_("(one person can use it, within %(hours)s hours, to join as an organizer)"),
        "admin": N_("(one person can use it, within %(hours)s hours, to join as an admin)"),
    }
    return f"{url}\n" + group_lang(runtime).gettext(joins[args.role], hours=args.hours)


async def member_reset_password(runtime: Runtime, args: argparse.Namespace) -> str:
    member = await actions.member_named(runtime, args.name)
    url = await actions.create_password_reset(runtime, member.id, args.hours)
    return f"{url}\n" + group_lang(runtime).gettext(
        "(one use, within %(hours)s hours: %(name)s chooses a new password there, and every place they are"
        " signed in is signed out)",
        hours=args.hours, name=member.name,
    )  # fmt: skip


async def member_remove(runtime: Runtime, args: argparse.Namespace) -> str:
    member = await actions.member_named(runtime, args.name)
    await actions.remove_member(runtime, member.id)
    return group_lang(runtime).gettext("removed %(name)s and everything we held about them", name=member.name)


async def member_reset_two_factor(runtime: Runtime, args: argparse.Namespace) -> str:
    member = await actions.member_named(runtime, args.name)
    await actions.reset_two_factor(runtime, member.id)
    return group_lang(runtime).gettext(
        "removed the second factor of %(name)s: they sign in with their password and set up a new one",
        name=member.name,
    )


async def member_require_two_factor(runtime: Runtime, args: argparse.Namespace) -> str:
    await actions.require_two_factor(runtime, args.setting == "on")
    if args.setting == "on":
        return group_lang(runtime).gettext(
            "organizers and admins must now sign in with a second factor (those without one set it up first)"
        )
    return group_lang(runtime).gettext("a second factor is no longer required")


async def member_export(runtime: Runtime, args: argparse.Namespace) -> str:
    member = await actions.member_named(runtime, args.name)
    text = json.dumps(await actions.export_member(runtime, member.id), indent=2, ensure_ascii=False)
    if args.to is None:
        return text
    write_private_file(args.to, text + "\n")
    return group_lang(runtime).gettext(
        "wrote everything held about %(name)s to %(file)s (it is personal data: keep it private)",
        name=member.name, file=args.to,
    )  # fmt: skip


def write_private_file(path: Path, text: str) -> None:
    """A new file only its owner can read; never overwrites one."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as e:
        raise CliError(Message(N_("%(file)s already exists; refusing to overwrite it"), file=path), 2) from e
    except OSError as e:
        raise CliError(Message(N_("cannot create %(file)s: %(reason)s"), file=path, reason=e.strerror)) from e
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
