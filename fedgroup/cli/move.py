"""fedgroup move: taking the group to a new domain (actions/moving.py has the two steps and why)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from fedgroup import actions, store
from fedgroup import config as config_module
from fedgroup.cli.command import CliError, process_lang, with_runtime


def add_commands(commands: Any, with_data_dir: Callable[[Any], Any]) -> None:
    move = with_data_dir(
        commands.add_parser("move", help="move the group to a new domain (run --to on the new server first)")
    )
    which = move.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--to",
        metavar="NEW_BASE_URL",
        help="on the new server, restored from the old one's backup: its base URL (e.g. https://new.example)",
    )
    which.add_argument(
        "--announce-to",
        metavar="NEW_ACTOR_URL",
        help="on the old server, once the new one runs: the group's new actor URL; followers get a Move",
    )
    move.set_defaults(run=cmd_move)


def cmd_move(args: argparse.Namespace) -> None:
    if args.to is not None:
        print(_arrive(args))
    else:
        print(_depart(args))


def _arrive(args: argparse.Namespace) -> str:
    try:
        new_base = config_module.normalize_base_url(args.to)
    except config_module.ConfigError as e:
        raise CliError(str(e), 2) from e
    old = config_module.load(args.data_dir)
    if old.base_url == new_base:
        raise CliError(process_lang().gettext("this group already lives at %(url)s", url=new_base), 2)

    async def run(runtime: Any) -> str:
        old_actor = str(runtime.ids.group)
        await actions.move_here(runtime, old_actor)
        return old_actor

    old_actor = with_runtime(args.data_dir, run)
    store.datadir.set_base_url(args.data_dir, new_base)
    moved = config_module.load(args.data_dir)
    new_actor = old_actor.replace(old.base_url, moved.base_url, 1)
    return (
        f"the group is now {new_actor}, also known as {old_actor}.\n"
        f"Start this server (`fedgroup serve`), then on the old server run:\n"
        f"  fedgroup move --announce-to {new_actor}"
    )


def _depart(args: argparse.Namespace) -> str:
    async def run(runtime: Any) -> int:
        try:
            return await actions.move_away(runtime, args.announce_to)
        except actions.ActionError as e:
            raise CliError(str(e)) from e

    count = with_runtime(args.data_dir, run, network=True)
    return (
        f"moved: the group's actor now says movedTo {args.announce_to}; a Move is queued for {count} inbox(es),"
        " sent by the running server, which redirects everything else to the new server from now on"
    )
