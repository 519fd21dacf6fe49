"""fedgroup init | serve | demo: making a group's data directory, and running the server."""

from __future__ import annotations

import argparse
import asyncio
import errno
import gc
import os
from collections.abc import Awaitable, Callable

from fedgroup import actions
from fedgroup import config as config_module
from fedgroup.cli.children import ChildProcess, app_runner, stop_on_signals
from fedgroup.cli.command import CliError, process_lang
from fedgroup.cli.delivery_process import delivery_process
from fedgroup.cli.workers import listen, serving_process
from fedgroup.config import Config
from fedgroup.connections import ConnectionLimits, GuardedSite
from fedgroup.rules.first_steps import DEFAULT_GROUP_NAME
from fedgroup.runtime import RUNTIME
from fedgroup.store import datadir


def cmd_init(args: argparse.Namespace) -> None:
    config = asyncio.run(
        datadir.create(
            args.data_dir,
            args.base_url,
            args.name,
            handle=args.handle,
            summary=args.summary,
            timezone=args.timezone,
        )
    )
    print(
        process_lang().gettext(
            "created group @%(handle)s@%(domain)s in %(data_dir)s",
            handle=args.handle.lower(),
            domain=config.domain,
            data_dir=args.data_dir,
        )
    )


def cmd_serve(args: argparse.Namespace) -> None:
    if args.port is not None and not 0 <= args.port <= 65535:
        raise CliError(process_lang().gettext("--port must be between 0 and 65535"), 2)
    if args.workers is not None and not 1 <= args.workers <= config_module.MAX_WORKERS:
        raise CliError(
            process_lang().gettext(
                "--workers must be between 1 and %(most)d", most=config_module.MAX_WORKERS
            ),
            2,
        )
    if not datadir.exists(args.data_dir):
        environment = config_module.from_environment(os.environ)
        port = args.port or environment.get("listen_port") or 8080
        config = asyncio.run(
            datadir.create(
                args.data_dir,
                environment.get("base_url") or f"http://localhost:{port}",
                DEFAULT_GROUP_NAME,
                listen_port=port,
            )
        )
        lang = process_lang()
        print(
            lang.gettext(
                "created a new group in %(data_dir)s with base URL %(url)s",
                data_dir=args.data_dir,
                url=config.base_url,
            )
        )
        print(
            "  "
            + lang.gettext(
                "(edit %(file)s or use `fedgroup init` for your own domain)",
                file=args.data_dir / config_module.CONFIG_FILE,
            )
        )
    config = config_module.with_overrides(
        config_module.load(args.data_dir), listen_host=args.host, listen_port=args.port, workers=args.workers
    )
    asyncio.run(serve(config, log_level=args.log_level))


async def serve(
    config: Config, started: Callable[[str], Awaitable[None]] | None = None, log_level: str = "info"
) -> None:
    """Run until SIGINT/SIGTERM; then finish requests under way and leave queued deliveries for next time.
    With `delivery_process` (the default) deliveries go out from a second process (cli/delivery_process.py);
    with `workers` above 1, that many processes of their own answer requests (cli/workers.py)."""
    from fedgroup.app import create_app

    delivery = delivery_process(config.data_dir, log_level) if config.delivery_process else None
    runner = app_runner(create_app(config, deliveries=delivery is None))
    await runner.setup()
    # The handlers go in before the first request can arrive: a SIGTERM while one is under way (or while
    # the first admin is being made) must stop gracefully, not kill the process mid-request.
    with stop_on_signals() as stop:
        serving: list[ChildProcess] = []
        try:
            try:
                if config.workers > 1:
                    # The serving processes accept on this socket; this process serves nothing itself.
                    listening = listen(config)
                    host, port = listening.getsockname()[:2]
                else:
                    site = GuardedSite(
                        runner, ConnectionLimits.of(config), host=config.listen_host, port=config.listen_port
                    )
                    await site.start()
                    host, port = runner.addresses[0][:2]
            except OSError as e:
                if e.errno == errno.EADDRINUSE:
                    raise CliError(
                        f"port {config.listen_port} on {config.listen_host} is already in use"
                    ) from e
                raise CliError(
                    f"cannot listen on {config.listen_host}:{config.listen_port}: {e.strerror}"
                ) from e
            runtime = runner.app[RUNTIME]
            if delivery is not None:
                await delivery.start()
                runtime.wake_delivery_elsewhere = delivery.tell
            if config.workers > 1:

                def heard(what: str) -> None:
                    runtime.told(what)
                    tell_all(what)  # a block: every serving process reads the blocks again

                def tell_all(what: str) -> None:
                    if what != "blocks":
                        return  # the queues are all here: a serving process keeps a copy of the blocks only
                    for process in serving:
                        process.tell(f"{what}\n".encode("ascii"))

                serving = [
                    serving_process(config, i, listening, log_level, heard)
                    for i in range(1, config.workers + 1)
                ]
                runtime.tell_others = tell_all
                for process in serving:
                    await process.start()
            processes = f", {config.workers} serving processes" if config.workers > 1 else ""
            print(f"fedgroup serving {config.base_url} (listening on {host}:{port}{processes}); Ctrl-C stops",
                  flush=True)  # fmt: skip
            password = await actions.ensure_first_admin(runtime)
            if password is not None:
                print(
                    f"Sign in at {config.base_url}/login as {actions.FIRST_ADMIN!r} with password {password}"
                    " (shown only now: change it under Account).",
                    flush=True,
                )
            else:
                print(
                    "Forgot the admin password? Run `fedgroup member reset-password "
                    f"{actions.FIRST_ADMIN}` (or another admin's name) for a one-time link.",
                    flush=True,
                )
            if started is not None:
                await started(f"http://{host}:{port}")
            # What starting made (modules, templates, translations: most of the heap, kept for the process's life)
            # is moved out of the collector's reach: a full collection walked all of it and stopped the loop for
            # 45-180 ms during an inbox storm (5 times in a 30-second storm, bench/RESULTS.md); after this the
            # walks are mostly under 25 ms.
            gc.collect()
            gc.freeze()
            await stop.wait()
            print("fedgroup stopping", flush=True)
        finally:
            # The serving processes first (they finish their requests), then this one, then deliveries.
            await asyncio.gather(*(process.stop() for process in serving))
            await runner.cleanup()  # a second signal meanwhile does not cut the drain short
            if delivery is not None:
                await delivery.stop()


def cmd_demo(args: argparse.Namespace) -> None:
    from fedgroup.cli import demo

    if not 1 <= args.port <= 65533:
        raise CliError("--port must be between 1 and 65533", 2)
    asyncio.run(demo.run(args.data_dir, args.port))
