"""fedgroup init | serve | campaign ...: the command line. Bad input: one line on stderr, exit status 2.

One module per command group (campaigns, members, pledges, coalitions and followers, moderation, money,
gatherings, proposals, backup; server for init, serve and demo); this one builds the parser from them, in the
order `--help` lists them, and runs the command."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from fedgroup import __version__, actions, logs, store
from fedgroup import config as config_module
from fedgroup.cli import (
    backup,
    blueprints,
    campaigns,
    coalitions,
    delivery_process,
    gatherings,
    group,
    mail,
    members,
    moderation,
    money,
    move,
    pledges,
    proposals,
    server,
    status,
    workers,
)
from fedgroup.cli.command import CliError, OneLineParser, path_argument, process_lang, speak_process_language
from fedgroup.config import ConfigError

log = logging.getLogger("fedgroup")
# Where the data directory is when --data-dir is not given (a container sets it to its volume).
DATA_DIR_ENV = "FEDGROUP_DATA_DIR"


def build_parser() -> argparse.ArgumentParser:
    # The group's language is not known yet: --help speaks the process's locale's (LANG=es_ES.UTF-8).
    description = process_lang().gettext("A home on the fediverse for small activist groups.")
    parser = OneLineParser(prog="fedgroup", description=description)
    parser.add_argument("--version", action="version", version=f"fedgroup {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)

    def with_data_dir(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument(
            "--data-dir",
            type=path_argument,
            default=Path(os.environ.get(DATA_DIR_ENV) or config_module.DEFAULT_DATA_DIR),
            help=f"the group's data directory (default ${DATA_DIR_ENV} or ./{config_module.DEFAULT_DATA_DIR})",
        )
        return p

    init = with_data_dir(commands.add_parser("init", help="create a group's data directory"))
    init.add_argument(
        "--base-url", required=True, help="public URL of the server, e.g. https://water.example"
    )
    init.add_argument("--name", required=True, help="the group's display name")
    init.add_argument("--handle", default=config_module.DEFAULT_HANDLE, help="the @handle (default: group)")
    init.add_argument("--summary", default="", help="a short description of the group")
    init.add_argument(
        "--timezone",
        default="UTC",
        help="the IANA time zone in which dates are entered and shown, e.g. Europe/Madrid (default UTC)",
    )
    init.set_defaults(run=server.cmd_init)

    serve = with_data_dir(commands.add_parser("serve", help="run the server (creates a data dir if none)"))
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8080)")
    serve.add_argument(
        "--log-level", choices=logs.LEVELS, default="info", help="how much to log (default info)"
    )
    serve.add_argument(
        "--workers", type=int,
        help="processes answering requests on the one port (default 1; the setting `workers`)",
    )  # fmt: skip
    serve.set_defaults(run=server.cmd_serve)
    # Started by `serve --workers N` (config: workers), not by hand: cli/workers.py.
    serve_worker = with_data_dir(commands.add_parser("serve-worker"))
    serve_worker.add_argument("--listen-fd", type=int, required=True)
    serve_worker.add_argument("--index", type=int, required=True)
    serve_worker.add_argument("--workers", type=int, required=True)
    serve_worker.add_argument("--log-level", choices=logs.LEVELS, default="info")
    serve_worker.add_argument("--parent-pid", type=int)
    serve_worker.set_defaults(run=workers.cmd_serve_worker)
    # Started by `serve` (config: delivery_process), not by hand: cli/delivery_process.py.
    deliver = with_data_dir(commands.add_parser("deliver"))
    deliver.add_argument("--log-level", choices=logs.LEVELS, default="info")
    deliver.add_argument("--parent-pid", type=int)
    deliver.set_defaults(run=delivery_process.cmd_deliver)

    group.add_commands(commands, with_data_dir)
    campaigns.add_commands(commands, with_data_dir)
    members.add_commands(commands, with_data_dir)
    pledges.add_commands(commands, with_data_dir)
    coalitions.add_commands(commands, with_data_dir)
    coalitions.add_follower_commands(commands, with_data_dir)
    moderation.add_commands(commands, with_data_dir)
    money.add_commands(commands, with_data_dir)
    proposals.add_commands(commands, with_data_dir)
    backup.add_commands(commands, with_data_dir)
    status.add_commands(commands, with_data_dir)
    blueprints.add_commands(commands, with_data_dir)
    gatherings.add_commands(commands, with_data_dir)
    mail.add_commands(commands, with_data_dir)
    move.add_commands(commands, with_data_dir)

    demo = commands.add_parser("demo", help="run three federating sample groups on loopback ports")
    demo.add_argument(
        "--data-dir", type=path_argument, help="where the sample groups live (default: a temp dir)"
    )
    demo.add_argument("--port", type=int, default=8081, help="first of three ports (default 8081)")
    demo.set_defaults(run=server.cmd_demo)
    return parser


# -- entry point ------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    speak_process_language()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        # The server reports what it does; a one-shot command prints its result and only warnings besides.
        long_running = args.run in (
            server.cmd_serve,
            server.cmd_demo,
            delivery_process.cmd_deliver,
            workers.cmd_serve_worker,
        )
        logs.configure(getattr(args, "log_level", None) or ("info" if long_running else "warning"))
        if args.run is server.cmd_demo:
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
