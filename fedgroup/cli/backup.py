"""fedgroup backup | restore: the whole group (keys included) in one file, and back; encrypted with a
passphrase if one is given."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fedgroup import store
from fedgroup.cli.command import CliError, path_argument, process_lang
from fedgroup.rules import formats

# The passphrase of encrypted backups, when --passphrase-stdin is not given (a systemd unit or a container).
PASSPHRASE_ENV = "FEDGROUP_BACKUP_PASSPHRASE"
STDOUT = Path("-")


def add_commands(commands: Any, with_data_dir: Callable[[Any], Any]) -> None:
    take = with_data_dir(commands.add_parser("backup", help="copy the group (keys included) to one file"))
    take.add_argument(
        "--to", type=path_argument, required=True, help="the new backup file (.tar.gz), or - for stdout"
    )
    passphrase_argument(take, "encrypt the backup with a passphrase read from the first line of stdin")
    take.set_defaults(run=cmd_backup)
    restore = with_data_dir(commands.add_parser("restore", help="make a data dir from a backup file"))
    restore.add_argument(
        "--from", dest="from_file", type=path_argument, required=True, help="the backup file"
    )
    passphrase_argument(restore, "the encrypted backup's passphrase, read from the first line of stdin")
    restore.set_defaults(run=cmd_restore)


def passphrase_argument(parser: argparse.ArgumentParser, help: str) -> None:
    parser.add_argument("--passphrase-stdin", action="store_true", help=f"{help} (or set {PASSPHRASE_ENV})")


def passphrase(args: argparse.Namespace) -> str | None:
    """The passphrase from stdin's first line (--passphrase-stdin) or the environment; None if neither."""
    if args.passphrase_stdin:
        given = sys.stdin.readline().rstrip("\r\n")
        if not given:
            raise CliError("--passphrase-stdin: the first line of stdin is empty", 2)
        return given
    return os.environ.get(PASSPHRASE_ENV) or None


def cmd_backup(args: argparse.Namespace) -> None:
    from fedgroup.store import backup

    secret = passphrase(args)
    try:
        if args.to == STDOUT:
            if sys.stdout.isatty():
                raise CliError(
                    process_lang().gettext(
                        "refusing to write a backup to a terminal; redirect stdout to a file"
                    ),
                    2,
                )
            backup.write(args.data_dir, sys.stdout.buffer, secret)
            report, size = process_lang().gettext("wrote the backup to stdout"), 0
        else:
            size = backup.create(args.data_dir, args.to, secret)
            lang = process_lang()
            report = lang.gettext(
                "wrote %(file)s (%(size)s bytes)", file=args.to, size=formats.number(size, lang)
            )
    except backup.BackupError as e:
        raise CliError(str(e)) from e
    store.health.record_backup(args.data_dir, datetime.now(UTC), None if args.to == STDOUT else size)
    report += process_lang().gettext(", encrypted") if secret is not None else ""
    # With --to -, stdout is the backup: everything else goes to stderr.
    print(report, file=sys.stderr if args.to == STDOUT else sys.stdout)
    print(f"warning: {backup.WARNING}", file=sys.stderr)


def cmd_restore(args: argparse.Namespace) -> None:
    from fedgroup.store import backup

    try:
        config = backup.restore(args.from_file, args.data_dir, passphrase(args))
    except backup.BackupError as e:
        raise CliError(str(e)) from e
    print(
        process_lang().gettext(
            "restored %(url)s into %(data_dir)s; start it with `fedgroup serve --data-dir %(data_dir)s`",
            url=config.base_url,
            data_dir=args.data_dir,
        )
    )
