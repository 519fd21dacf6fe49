"""Shared test fixtures: fedgroup servers on loopback ports, a Mastodon-shaped peer, fixed keys."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from hypothesis import settings as hypothesis_settings

from fedgroup import store
from fedgroup.app import create_app
from fedgroup.config import Config
from fedgroup.connections import ConnectionLimits, GuardedSite
from fedgroup.logs import AccessLog
from fedgroup.runtime import RUNTIME, Runtime
from fedgroup.store import datadir
from tests.peer import FakeMastodon, free_socket

# Property tests are judged by their examples, never by the clock: hypothesis' per-example deadline is a
# wall-clock assertion, and on a loaded machine (the suite runs on every core) it fails examples that pass.
hypothesis_settings.register_profile("fedgroup", deadline=None)
hypothesis_settings.load_profile("fedgroup")

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def test_keys() -> dict[str, dict[str, str]]:
    return json.loads((FIXTURES / "test_keys.json").read_text())["keys"]


def key_pair(keys: dict[str, dict[str, str]], name: str) -> datadir.KeyPair:
    return datadir.KeyPair(keys[name]["private_key_pem"], keys[name]["public_key_pem"])


@dataclass
class RunningServer:
    """One fedgroup server bound to 127.0.0.1 on its own port, restartable on the same port and data dir."""

    config: Config
    port: int
    app: web.Application | None = None
    runner: web.AppRunner | None = None
    site: GuardedSite | None = None
    options: dict[str, Any] = field(default_factory=dict)
    # When set, every request reaching this server is appended here (to search traffic for leaks).
    recorded: list[RecordedRequest] | None = None

    @property
    def base_url(self) -> str:
        return self.config.base_url

    @property
    def runtime(self) -> Runtime:
        assert self.app is not None, "server is stopped"
        return self.app[RUNTIME]

    async def start(self, sock: socket.socket | None = None) -> RunningServer:
        if sock is None:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", self.port))
        self.app = create_app(self.config, **self.options)
        if self.recorded is not None:
            self.app.middlewares.insert(0, recording_middleware(self.recorded))
        # The access log as `fedgroup serve` writes it (no client addresses, no secrets in paths).
        self.runner = web.AppRunner(
            self.app, handle_signals=False, shutdown_timeout=2, access_log_class=AccessLog
        )
        await self.runner.setup()
        # Listening as `fedgroup serve` does: request heads and bodies under deadlines, connections capped.
        self.site = GuardedSite(self.runner, ConnectionLimits.of(self.config), sock=sock)
        await self.site.start()
        return self

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
        self.runner = None
        self.app = None

    def url(self, path: str) -> str:
        return self.base_url + path


ServerFactory = Callable[..., Awaitable[RunningServer]]


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes


def recording_middleware(recorded: list[RecordedRequest]) -> Any:
    @web.middleware
    async def record(request: web.Request, handler: Any) -> web.StreamResponse:
        body = await request.read() if request.can_read_body else b""
        recorded.append(RecordedRequest(request.method, str(request.url), dict(request.headers), body))
        return await handler(request)

    return record


class MovableClock:
    """A clock a test can move forward (deadlines) while servers run. One that `stands_still` moves only when
    the test moves it, so what it decides (coalescing intervals) does not depend on how fast the machine is."""

    def __init__(self, *, stands_still: bool = False) -> None:
        self.offset = timedelta(0)
        self._still_at = datetime.now(UTC) if stands_still else None

    def __call__(self) -> datetime:
        return (self._still_at or datetime.now(UTC)) + self.offset

    def advance(self, delta: timedelta) -> None:
        self.offset += delta


class VirtualTime(MovableClock):
    """A server's clock and its sleep (create_app's `clock` and `sleep`): a wait the server asks for is
    recorded and moves the clock on at once, so a test sees what the server would wait without waiting.
    `hold()` makes waits block until `release()`, to keep requests in the middle of their wait."""

    def __init__(self) -> None:
        super().__init__()
        self.waits: list[float] = []
        self.waiting = 0
        self._open = asyncio.Event()
        self._open.set()

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.waiting += 1
        try:
            await self._open.wait()
        finally:
            self.waiting -= 1
        self.advance(timedelta(seconds=seconds))

    def hold(self) -> None:
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    def options(self) -> dict[str, Any]:
        return {"clock": self, "sleep": self.sleep}


@pytest.fixture
async def make_server(tmp_path: Path, test_keys: dict[str, dict[str, str]]) -> AsyncIterator[ServerFactory]:
    """make_server(name="a", handle="water", **settings): a fedgroup server with fixed keys on a free port."""
    servers: list[RunningServer] = []

    async def factory(
        name: str = "a", handle: str = "water", display_name: str | None = None, **settings: Any
    ) -> RunningServer:
        sock = free_socket()
        port = sock.getsockname()[1]
        settings.setdefault("delivery_retry_seconds", 0.2)
        settings.setdefault("inbox_retry_seconds", 0.2)
        settings.setdefault("queue_poll_seconds", 0.1)
        # Tests of other things see every change at once; disclosure tests set the group's real defaults.
        settings.setdefault("min_disclosed_count", 1)
        settings.setdefault("partner_release_minutes", 0)
        options = settings.pop("app_options", {})
        recorded = settings.pop("recorded", None)
        config = await datadir.create(
            tmp_path / f"server-{name}",
            f"http://127.0.0.1:{port}",
            display_name or f"Group {name.upper()}",
            handle=handle,
            summary=f"Test group {name}",
            keys=(
                key_pair(test_keys, f"server-{name}-group"),
                key_pair(test_keys, f"server-{name}-instance"),
            ),
            **settings,
        )
        server = RunningServer(config=config, port=port, options=options, recorded=recorded)
        await server.start(sock)
        servers.append(server)
        return server

    yield factory
    for server in servers:
        await server.stop()


@pytest.fixture
async def peer(test_keys: dict[str, dict[str, str]]) -> AsyncIterator[FakeMastodon]:
    fake = await FakeMastodon(keys=test_keys).start()
    yield fake
    await fake.stop()


async def run_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """`fedgroup ARGS` in its own process, awaited through asyncio: a server in the test's event loop goes on
    serving (and committing) while the command runs. A blocking subprocess.run would stall that loop."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "fedgroup.cli", *args,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(None if stdin is None else stdin.encode()), 60)
    assert process.returncode is not None
    return subprocess.CompletedProcess(list(args), process.returncode, out.decode(), err.decode())


# How long a test waits, by default, for an event that must come (a delivery, a worker's commit). Generous on
# purpose: it bounds only a failing test's wait, and the suite must pass on a loaded 2-core machine, where a
# backoff step or a subprocess can take seconds.
EVENT_TIMEOUT = 30.0


async def eventually(
    check: Callable[[], Awaitable[Any]], timeout: float = EVENT_TIMEOUT, interval: float = 0.05
) -> Any:
    """Poll an async check until it returns something truthy (the state of a queue worker we observe)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value {value!r})")
        await asyncio.sleep(interval)


async def inbox_handled(runtime: Runtime, activity_id: str) -> str | None:
    """The activity's end ("done" or "failed") once the inbox processor has let go of it; None before. The
    state alone is read too early: a handler commits "done" together with its changes, then goes on (logs,
    wakes a worker) after the commit, and a poll can see the commit first."""
    state = await runtime.db.read(store.inbox.state_of, activity_id)
    if state not in ("done", "failed"):
        return None
    if runtime.inbox is not None and runtime.inbox.holds(activity_id):
        return None
    return str(state)


async def writes_settled(runtime: Runtime) -> None:
    """Returns once every write queued before it is committed (writes commit in order): the event to wait
    for before comparing the database, instead of a sleep."""

    def nothing(conn: Any) -> None:
        return None

    await runtime.db.write(nothing)


async def database_snapshot(runtime: Runtime) -> dict[str, list[tuple[Any, ...]]]:
    """The whole content of every table, to prove a refused request left nothing behind. A cached actor's
    fetched_at (its last column) is left out: a bad signature may refetch the signer's key, once a minute, to
    catch a rotation; the row's content stays the same. The workers' progress marks (queue_progress) are left
    out: a refused request is still stored and processed (to nothing), and processing is progress."""
    tables = [
        r[0]
        for r in await runtime.db.fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    out = {}
    for table in tables:
        if table == "queue_progress":
            continue
        rows = [tuple(r) for r in await runtime.db.fetchall(f'SELECT * FROM "{table}"')]
        if table == "remote_actors":
            rows = [r[:-1] for r in rows]
        out[table] = sorted(rows, key=repr)
    return out
