"""fedgroup init | serve | campaign ...: the command line. Bad input: one line on stderr, exit status 2."""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from aiohttp import web

from fedgroup import __version__, actions, datadir, store
from fedgroup import config as config_module
from fedgroup.config import Config, ConfigError
from fedgroup.runtime import Runtime, open_runtime

log = logging.getLogger("fedgroup")

# The access log leaves out the client address: we keep no IP addresses.
ACCESS_LOG_FORMAT = '"%r" %s %b %Tfs'


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
    serve.set_defaults(run=cmd_serve)

    campaign = commands.add_parser("campaign", help="campaigns").add_subparsers(
        dest="campaign_command", required=True, parser_class=OneLineParser
    )
    create = with_data_dir(campaign.add_parser("create", help="create a campaign and print its URL"))
    create.add_argument("--title", required=True)
    create.add_argument("--body", required=True)
    create.add_argument("--visibility", choices=actions.VISIBILITIES, default="public")
    create.set_defaults(run=cmd_campaign_create)
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
        create_app(config), access_log_format=ACCESS_LOG_FORMAT, handle_signals=False, shutdown_timeout=10
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, config.listen_host, config.listen_port)
        try:
            await site.start()
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise CliError(f"port {config.listen_port} on {config.listen_host} is already in use") from e
            raise CliError(f"cannot listen on {config.listen_host}:{config.listen_port}: {e.strerror}") from e
        host, port = runner.addresses[0][:2]
        print(f"fedgroup serving {config.base_url} (listening on {host}:{port}); Ctrl-C stops", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        if started is not None:
            await started(f"http://{host}:{port}")
        await stop.wait()
        print("fedgroup stopping", flush=True)
    finally:
        await runner.cleanup()


def cmd_campaign_create(args: argparse.Namespace) -> None:
    async def run(runtime: Runtime) -> str:
        campaign_id = await actions.create_campaign(runtime, args.title, args.body, args.visibility)
        return runtime.ids.campaign(campaign_id)

    print(with_runtime(args.data_dir, run))


def with_runtime(data_dir: Path, command: Callable[[Runtime], Awaitable[Any]]) -> Any:
    """Open the data dir's database (beside a running server, if any), run, close."""

    async def main() -> Any:
        runtime = await open_runtime(config_module.load(data_dir))
        try:
            return await command(runtime)
        finally:
            await runtime.db.close()

    return asyncio.run(main())


# -- entry point ------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        args.run(args)
    except CliError as e:
        print(f"fedgroup: error: {e}", file=sys.stderr)
        return e.status
    except (ConfigError, actions.ActionError) as e:
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
