"""fedgroup group set: the group's name, summary and avatar (followers hear an Update of the Group actor)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fedgroup import actions
from fedgroup.cli.command import CliError, OneLineParser, group_lang, managed, path_argument
from fedgroup.rules import avatars
from fedgroup.rules.languages import N_, Message
from fedgroup.runtime import Runtime


def add_commands(commands: Any, with_data_dir: Callable[[Any], Any]) -> None:
    group = commands.add_parser("group", help="the group's profile: name, summary, avatar")
    sub = group.add_subparsers(dest="group_command", required=True, parser_class=OneLineParser)
    set_ = with_data_dir(sub.add_parser("set", help="change the group's name, summary or avatar"))
    set_.add_argument("--name", help="the group's display name")
    set_.add_argument("--summary", help="a short description of the group")
    set_.add_argument(
        "--avatar",
        type=path_argument,
        help=f"an image file: PNG, JPEG or WebP, at most {avatars.MAX_AVATAR_BYTES // 1024} KiB",
    )
    set_.set_defaults(run=managed(group_set))


def read_avatar(path: Path) -> bytes:
    """The file's bytes, reading no more than one byte past the cap (the check itself is the action's)."""
    try:
        with path.open("rb") as f:
            return f.read(avatars.MAX_AVATAR_BYTES + 1)
    except OSError as e:
        raise CliError(Message(N_("cannot read %(file)s: %(reason)s"), file=path, reason=e.strerror), 2) from e


async def group_set(runtime: Runtime, args: argparse.Namespace) -> str:
    if args.name is None and args.summary is None and args.avatar is None:
        raise CliError(N_("nothing to change: give --name, --summary or --avatar"), 2)
    avatar = read_avatar(args.avatar) if args.avatar is not None else None
    changed = await actions.update_group_profile(runtime, args.name, args.summary, avatar)
    if not changed:
        return group_lang(runtime).gettext("nothing changed")
    return group_lang(runtime).gettext(
        "saved; the group's followers will hear of it (a running server sends the Update)"
    )
