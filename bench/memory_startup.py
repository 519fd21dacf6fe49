"""Memory and start-up of a real `fedgroup serve` subprocess: RSS (VmRSS from /proc) idle on a fresh data
dir, and with 10,000 followers and 1,000 campaigns loaded after a few pages were served; time from spawning
`fedgroup serve` to the first 200 on /healthz. Baseline: a bare aiohttp process (bench/static_server.py).

    .venv/bin/python bench/memory_startup.py   # BENCH_FOLLOWERS=10000 BENCH_CAMPAIGNS=1000 BENCH_STARTS=3
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import seed  # noqa: E402
from common import BENCH_DIR, env_int, free_port, median, rss_mb, spawn_serve, stop, wait_ok  # noqa: E402

from fedgroup import config as config_module  # noqa: E402
from fedgroup.runtime import close_runtime, open_runtime  # noqa: E402
from fedgroup.store import datadir  # noqa: E402

FOLLOWERS = env_int("BENCH_FOLLOWERS", 10_000)
CAMPAIGNS = env_int("BENCH_CAMPAIGNS", 1000)
STARTS = env_int("BENCH_STARTS", 3)
IDLE_SECONDS = 1.5


def timed_start(data_dir: Path, port: int) -> tuple[subprocess.Popen[bytes], float]:
    started = time.monotonic()
    proc = spawn_serve(data_dir, port)
    return proc, wait_ok(f"http://127.0.0.1:{port}/healthz", 30, proc) - started


def bare_start() -> tuple[float, float]:
    """Seconds to first 200 and idle RSS of a bare aiohttp process."""
    port = free_port()
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, str(BENCH_DIR / "static_server.py"), "--port", str(port)], stdin=subprocess.PIPE
    )
    try:
        seconds = wait_ok(f"http://127.0.0.1:{port}/healthz", 30, proc) - started
        time.sleep(IDLE_SECONDS)
        return seconds, rss_mb(proc.pid)
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(10)


def get(url: str) -> int:
    """GET and read a page; returns the status (the outbox may ask for a signature: 401 is an answer too)."""
    try:
        with urllib.request.urlopen(url, timeout=30) as r:  # noqa: S310 - loopback only
            r.read()
            return int(r.status)
    except urllib.error.HTTPError as e:
        return int(e.code)


async def main() -> None:
    bare = [bare_start() for _ in range(STARTS)]
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        data_dir = Path(tmp) / "group"
        base = f"http://127.0.0.1:{port}"
        await datadir.create(data_dir, base, "Bench", handle="bench", listen_port=port)
        empty_starts, idle = [], []
        for _ in range(STARTS):
            proc, seconds = timed_start(data_dir, port)
            try:
                empty_starts.append(seconds)
                time.sleep(IDLE_SECONDS)
                idle.append(rss_mb(proc.pid))
            finally:
                stop(proc)

        runtime = await open_runtime(config_module.load(data_dir))
        try:
            # Campaigns first (no followers yet, so nothing is queued for delivery), then followers.
            for i in range(CAMPAIGNS):
                await seed.campaign(runtime, f"Campaign {i}")
            await seed.followers(runtime, FOLLOWERS, [f"http://127.0.0.1:9/s{i}/inbox" for i in range(500)])
        finally:
            await close_runtime(runtime)
        loaded_starts, loaded = [], []
        for _ in range(STARTS):
            proc, seconds = timed_start(data_dir, port)
            try:
                loaded_starts.append(seconds)
                for path in (
                    "/groups/bench",
                    "/campaigns/1",
                    f"/campaigns/{CAMPAIGNS}",
                    "/groups/bench/outbox",
                    "/groups/bench/followers",
                    f"/.well-known/webfinger?resource=acct:bench@127.0.0.1:{port}",
                ):
                    get(base + path)  # fmt: skip
                time.sleep(IDLE_SECONDS)
                loaded.append(rss_mb(proc.pid))
            finally:
                stop(proc)

    bare_seconds, bare_rss = median([b[0] for b in bare]), median([b[1] for b in bare])
    print(f"memory_bare_aiohttp_rss: {bare_rss:.1f} MB")
    print(f"memory_idle_rss: {median(idle):.1f} MB (goal <= 80; runs {[round(m, 1) for m in idle]})")
    print(
        f"memory_loaded_rss: {median(loaded):.1f} MB with {FOLLOWERS} followers and {CAMPAIGNS} campaigns,"
        f" after serving 6 pages (goal <= 150; runs {[round(m, 1) for m in loaded]})"
    )
    print(f"memory_ratio: {median(idle) / bare_rss:.2f} x idle RSS vs bare aiohttp (no goal)")
    print(f"startup_bare_aiohttp: {bare_seconds:.3f} s")
    print(
        f"startup_empty: {median(empty_starts):.3f} s to first 200 (goal <= 1.5; runs {[round(s, 3) for s in empty_starts]})"
    )
    print(
        f"startup_loaded: {median(loaded_starts):.3f} s to first 200 (goal <= 1.5; runs {[round(s, 3) for s in loaded_starts]})"
    )
    print(
        f"startup_ratio: {median(empty_starts) / bare_seconds:.2f} x time to first 200 vs bare aiohttp (no goal)"
    )


if __name__ == "__main__":
    asyncio.run(main())
