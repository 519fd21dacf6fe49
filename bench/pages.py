"""Pages: the public campaign page and group page of a running `fedgroup serve` under 32 concurrent clients,
p50/p99 latency and requests/s, vs a static aiohttp handler (bench/static_server.py) serving the same bytes.
Visitors without a session are served the stored rendering (ui/public_pages.py); the same two pages for a
signed-in member (`*_member`) are rendered afresh on every request.

    .venv/bin/python bench/pages.py   # BENCH_PAGES_N=2000 requests per page, BENCH_PAGES_CAMPAIGNS=20

Both servers are subprocesses; the client runs here. The ratio is fedgroup's requests/s over the static
handler's (a latency ratio would say the same at a fixed concurrency).
"""

from __future__ import annotations

import asyncio
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import seed  # noqa: E402
from common import BENCH_DIR, env_int, free_port, percentile, spawn_serve, stop, wait_ok  # noqa: E402

from fedgroup import actions, store  # noqa: E402
from fedgroup import config as config_module  # noqa: E402
from fedgroup.runtime import Runtime, close_runtime, open_runtime  # noqa: E402
from fedgroup.store import datadir  # noqa: E402
from fedgroup.ui.sessions import SESSION_COOKIE  # noqa: E402

N = env_int("BENCH_PAGES_N", 2000)
CAMPAIGNS = env_int("BENCH_PAGES_CAMPAIGNS", 20)
PLEDGES = env_int("BENCH_PAGES_PLEDGES", 100)
CONCURRENCY = 32
TIME_LIMIT = 40.0  # seconds per page, whatever N is
ROUNDS = env_int("BENCH_PAGES_ROUNDS", 3)


async def load(
    url: str, count: int, cookies: dict[str, str] | None = None
) -> tuple[list[float], float, dict[int, int]]:
    """`count` GETs from 32 clients (with these cookies, if any); latencies (s), wall seconds, statuses."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    remaining = iter(range(count))
    deadline = time.monotonic() + TIME_LIMIT
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY)) as session:

        async def client() -> None:
            for _ in remaining:
                if time.monotonic() > deadline:
                    return
                t = time.perf_counter()
                headers = {"Accept": "text/html"}
                if cookies:
                    headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
                async with session.get(url, headers=headers) as r:
                    await r.read()
                latencies.append(time.perf_counter() - t)
                statuses[r.status] = statuses.get(r.status, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
        return latencies, time.perf_counter() - started, statuses


async def signed_in(runtime: Runtime) -> dict[str, str]:
    """A member and a session of theirs, straight through the store (set-up only): the cookie to send."""
    member_id = await actions.add_member(runtime, "Bench member", "member")
    token, now = secrets.token_urlsafe(32), runtime.now()
    await runtime.db.write(
        lambda conn: store.sessions.add(
            conn, token, member_id, secrets.token_urlsafe(24), now, now + timedelta(days=1)
        )
    )
    return {SESSION_COOKIE: token}


def report(name: str, latencies: list[float], seconds: float, statuses: dict[int, int]) -> float:
    rate = len(latencies) / seconds
    print(f"pages_{name}_p50: {percentile(latencies, 50) * 1000:.1f} ms")
    print(f"pages_{name}_p99: {percentile(latencies, 99) * 1000:.1f} ms")
    print(f"pages_{name}_rate: {rate:.0f} requests/s (statuses {statuses})")
    return rate


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        data_dir = Path(tmp) / "group"
        base = f"http://127.0.0.1:{port}"
        await datadir.create(data_dir, base, "Bench", handle="bench", listen_port=port)
        runtime = await open_runtime(config_module.load(data_dir))
        try:
            first = await seed.campaign(runtime, "A safe crossing at Mill Road school")
            await seed.member_pledges(runtime, first, PLEDGES)
            for i in range(1, CAMPAIGNS):
                await seed.campaign(runtime, f"Campaign {i}")
            await seed.followers(runtime, 100, ["http://127.0.0.1:9/inbox"])
            cookies = await signed_in(runtime)
        finally:
            await close_runtime(runtime)
        urls = {"campaign": f"{base}/campaigns/{first}", "group": f"{base}/groups/bench"}
        proc = spawn_serve(data_dir, port)
        static: subprocess.Popen[bytes] | None = None
        samples: dict[str, list[tuple[list[float], float, dict[int, int]]]] = {}
        try:
            wait_ok(f"{base}/healthz", 30, proc)
            async with aiohttp.ClientSession() as session, session.get(urls["campaign"]) as r:
                page = await r.read()
            page_file = Path(tmp) / "page.html"
            page_file.write_bytes(page)
            static_port = free_port()
            static = subprocess.Popen(  # noqa: ASYNC220 - set-up, nothing else runs on the loop
                [sys.executable, str(BENCH_DIR / "static_server.py"), "--port", str(static_port), "--file",
                 str(page_file)],
                stdin=subprocess.PIPE,
            )  # fmt: skip
            static_url = f"http://127.0.0.1:{static_port}/page"
            wait_ok(f"http://127.0.0.1:{static_port}/healthz", 30, static)
            targets = [(name, url, None, N) for name, url in urls.items()]
            targets += [(f"{name}_member", url, cookies, N // 4) for name, url in urls.items()]
            targets.append(("static", static_url, None, N))
            for _name, url, cookie, _count in targets:
                await load(url, 100, cookie)  # warm-up, not counted
            # Rounds go through every page and the static handler in turn, so that a change in the machine's
            # load hits all alike; each figure is the round with the median rate.
            for _ in range(ROUNDS):
                for name, url, cookie, count in targets:
                    samples.setdefault(name, []).append(await load(url, count, cookie))
        finally:
            stop(proc)
            if static is not None:
                assert static.stdin is not None
                static.stdin.close()
                static.wait(10)
    results = {}
    for name, runs in samples.items():
        runs.sort(key=lambda run: len(run[0]) / run[1])
        results[name] = report(name, *runs[len(runs) // 2])
    baseline = results.pop("static")
    print(f"pages_requests: {N} count per page ({N // 4} signed in), {CONCURRENCY} concurrent clients,"
          f" median of {ROUNDS} rounds, page {len(page)} bytes")  # fmt: skip
    for name, rate in results.items():
        print(f"pages_{name}_ratio: {rate / baseline:.2f} x requests/s vs static (goal >= 0.5)")


if __name__ == "__main__":
    asyncio.run(main())
