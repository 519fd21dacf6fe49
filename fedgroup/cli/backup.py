"""fedgroup backup | restore: the whole group (keys included) in one file, and back."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from fedgroup.cli.command import CliError, path_argument


def add_commands(commands: Any, with_data_dir: Callable[[Any], Any]) -> None:
    take = with_data_dir(commands.add_parser("backup", help="copy the group (keys included) to one file"))
    take.add_argument("--to", type=path_argument, required=True, help="the new backup file (.tar.gz)")
    take.set_defaults(run=cmd_backup)
    restore = with_data_dir(commands.add_parser("restore", help="make a data dir from a backup file"))
    restore.add_argument(
        "--from", dest="from_file", type=path_argument, required=True, help="the backup file"
    )
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
