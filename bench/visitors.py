"""Anonymous visitors for bench/viral_hour.py, in a process of their own so that the load generator's busy
loop does not add to the latencies they measure. The targets take turns: for --slice seconds all the
--visitors GET one target in a loop, then the next, until --seconds pass. So every target is measured under
the same flood, and a static handler's thousands of answers a second never compete for the cores with the
page measured beside it (run side by side, the static handlers and their visitors took most of a core from
`serve` during a storm). Prints one JSON line
{"targets": {target: {"latencies": [...], "statuses": {...}, "seconds": time it had the visitors}}}.

    python bench/visitors.py --seconds 3 campaign=http://... group=http://...
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from common import LoadClient, http_request


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--visitors", type=int, default=8)
    parser.add_argument("--slice", type=float, default=0.25)
    parser.add_argument("targets", nargs="+")
    args = parser.parse_args()
    targets = dict(t.split("=", 1) for t in args.targets)
    requests = {
        name: http_request(url, b"", {"Accept": "text/html"}, method="GET") for name, url in targets.items()
    }
    clients = {name: LoadClient(url) for name, url in targets.items()}
    results = {name: {"latencies": [], "statuses": {}, "seconds": 0.0} for name in targets}
    deadline = time.perf_counter() + args.seconds

    async def visitor(name: str, until: float) -> None:
        latencies: list[float] = results[name]["latencies"]  # type: ignore[assignment]
        statuses: dict[str, int] = results[name]["statuses"]  # type: ignore[assignment]
        while time.perf_counter() < until:
            t = time.perf_counter()
            status = str(await clients[name].send(requests[name]))
            latencies.append(time.perf_counter() - t)
            statuses[status] = statuses.get(status, 0) + 1

    try:
        while time.perf_counter() < deadline:
            for name in targets:
                started = time.perf_counter()
                until = min(started + args.slice, deadline)
                await asyncio.gather(*(visitor(name, until) for _ in range(args.visitors)))
                results[name]["seconds"] += time.perf_counter() - started  # type: ignore[operator]
    finally:
        for client in clients.values():
            client.close()
    print(json.dumps({"targets": results}), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
