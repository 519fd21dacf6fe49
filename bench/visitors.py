"""Anonymous visitors for bench/viral_hour.py, in a process of their own so that the load generator's busy
loop does not add to the latencies they measure: N visitors per target GET it in a loop for --seconds, then
print one JSON line {target: {"latencies": [...], "statuses": {...}}, "seconds": s}.

    python bench/visitors.py --seconds 3 --per-target 2 campaign=http://... group=http://...
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import aiohttp


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--per-target", type=int, default=2)
    parser.add_argument("targets", nargs="+")
    args = parser.parse_args()
    targets = dict(t.split("=", 1) for t in args.targets)
    results: dict[str, dict[str, object]] = {}
    deadline = time.perf_counter() + args.seconds
    connector = aiohttp.TCPConnector(limit=args.per_target * len(targets))
    async with aiohttp.ClientSession(connector=connector) as session:

        async def visitor(name: str) -> None:
            latencies: list[float] = results[name]["latencies"]  # type: ignore[assignment]
            statuses: dict[str, int] = results[name]["statuses"]  # type: ignore[assignment]
            while time.perf_counter() < deadline:
                t = time.perf_counter()
                try:
                    async with session.get(targets[name], headers={"Accept": "text/html"}) as r:
                        await r.read()
                        status = str(r.status)
                except (aiohttp.ClientError, OSError):
                    status = "0"
                latencies.append(time.perf_counter() - t)
                statuses[status] = statuses.get(status, 0) + 1

        for name in targets:
            results[name] = {"latencies": [], "statuses": {}}
        started = time.perf_counter()
        await asyncio.gather(*(visitor(name) for name in targets for _ in range(args.per_target)))
        print(json.dumps({"seconds": time.perf_counter() - started, "targets": results}), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
