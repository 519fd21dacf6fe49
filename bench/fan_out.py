"""Fan-out: one campaign to 1,000 followers spread over 200 loopback inboxes (shared inboxes, as Mastodon
servers publish them) in several receiver processes; time until every inbox has verified it. Baseline: a bare
loop that signs the same body once per inbox and POSTs it with the same concurrency, in the same run.

    .venv/bin/python bench/fan_out.py   # BENCH_FANOUT_FOLLOWERS=1000 BENCH_FANOUT_INBOXES=200
                                        # BENCH_FANOUT_RECEIVERS=4 BENCH_FANOUT_ROUNDS=3

fedgroup runs in this process (the receivers are separate processes); the rate is inboxes reached per
second, from the call that creates the campaign to the last inbox's first verified arrival.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import seed  # noqa: E402
from common import BENCH_DIR, cavage_sign, env_int, load_private, median  # noqa: E402

from fedgroup import actions, store  # noqa: E402

FOLLOWERS = env_int("BENCH_FANOUT_FOLLOWERS", 1000)
INBOXES = env_int("BENCH_FANOUT_INBOXES", 200)
RECEIVERS = env_int("BENCH_FANOUT_RECEIVERS", 4)
ROUNDS = env_int("BENCH_FANOUT_ROUNDS", 3)
CONCURRENCY = 32  # fedgroup's delivery worker runs at most 32 POSTs at once; the baseline gets the same
PER_HOST = 4
ROUND_LIMIT = 60.0  # seconds per round, whatever the sizes


class Receivers:
    def __init__(self, key_file: Path, key_id: str, avoid_ports: tuple[int, ...] = ()) -> None:
        per = [INBOXES // RECEIVERS + (1 if i < INBOXES % RECEIVERS else 0) for i in range(RECEIVERS)]
        self.procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    str(BENCH_DIR / "receiver.py"),
                    "--ports",
                    str(n),
                    "--key-file",
                    str(key_file),
                    "--key-id",
                    key_id,
                    "--max-seconds",
                    "300",
                    *[f"--avoid-port={port}" for port in avoid_ports],
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )  # fmt: skip
            for n in per
            if n
        ]
        self.ports: list[list[int]] = []
        for proc in self.procs:
            assert proc.stdout is not None
            self.ports.append(json.loads(proc.stdout.readline()))
        self.all_ports = [p for group in self.ports for p in group]

    def inboxes(self) -> list[str]:
        return [f"http://127.0.0.1:{p}/inbox" for p in self.all_ports]

    async def stats(self, session: aiohttp.ClientSession) -> tuple[dict[int, dict[str, float]], int]:
        seen: dict[int, dict[str, float]] = {}
        refused = 0
        for group in self.ports:
            async with session.get(f"http://127.0.0.1:{group[0]}/stats") as r:
                data = await r.json()
            seen.update({int(p): ids for p, ids in data["seen"].items()})
            refused += sum(data["refused"].values())
        return seen, refused

    async def wait_for(
        self, session: aiohttp.ClientSession, activity_id: str, started_wall: float
    ) -> tuple[float, float, int, int]:
        """Seconds until the first and the last inbox first had `activity_id`, inboxes missing it, refusals."""
        deadline = time.monotonic() + ROUND_LIMIT
        while True:
            seen, refused = await self.stats(session)
            arrivals = [seen.get(p, {}).get(activity_id) for p in self.all_ports]
            missing = sum(1 for a in arrivals if a is None)
            if missing == 0 or time.monotonic() > deadline:
                done = max((a for a in arrivals if a is not None), default=time.time())
                first = min((a for a in arrivals if a is not None), default=done)
                return done - started_wall, first - started_wall, missing, refused
            await asyncio.sleep(0.05)

    def close(self) -> None:
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.close()
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


async def baseline_round(
    session: aiohttp.ClientSession, inboxes: list[str], body: bytes, key_id: str, key: object
) -> None:
    """The bare loop: sign and POST the same body to every inbox, 32 at once, 4 per host."""
    limit = asyncio.Semaphore(CONCURRENCY)

    async def one(inbox: str) -> None:
        async with limit:
            headers = cavage_sign(inbox, body, key_id, key)
            async with session.post(inbox, data=body, headers=headers) as r:
                await r.read()

    await asyncio.gather(*(one(i) for i in inboxes))


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server, runtime = await seed.group_server(Path(tmp) / "group")
        key_file = Path(tmp) / "group.pem"
        key_file.write_text(runtime.site.group_public_key)
        receivers = Receivers(key_file, runtime.ids.group_key)
        try:
            inboxes = receivers.inboxes()
            now = runtime.now()

            def add_followers(conn: sqlite3.Connection) -> None:
                for i in range(FOLLOWERS):
                    shared = inboxes[i % len(inboxes)]
                    actor = shared.replace("/inbox", f"/users/f{i}")
                    store.follows.add_follower(
                        conn, actor, f"{actor}#follow", "accepted", f"{actor}/inbox", shared, now
                    )

            await runtime.db.write(add_followers)
            ours, theirs, lost, refused = [], [], 0, 0
            ours_first, theirs_first = [], []
            private_key = load_private(runtime.site.group_private_key)
            async with aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=CONCURRENCY, limit_per_host=PER_HOST)
            ) as session:
                for r in range(ROUNDS):
                    started_wall, started = time.time(), time.monotonic()
                    campaign_id = await actions.create_campaign(runtime, f"Fan-out {r}", "Everyone, please.")
                    activity_id = await runtime.db.scalar(
                        "SELECT id FROM outbox_activities WHERE type = 'Create' AND object_id = ?",
                        (runtime.ids.campaign(campaign_id),),
                    )
                    seconds, first, missing, bad = await receivers.wait_for(
                        session, activity_id, started_wall
                    )
                    ours.append(seconds)
                    ours_first.append(first)
                    lost += missing
                    refused += bad
                    # The same body, a fresh id, from the bare loop.
                    doc = await runtime.db.scalar(
                        "SELECT document FROM outbox_activities WHERE id = ?", (activity_id,)
                    )
                    raw_id = f"{runtime.config.base_url}/activities/raw-{uuid.uuid4()}"
                    body = doc.replace(activity_id, raw_id).encode()
                    started_wall = time.time()
                    await asyncio.wait_for(
                        baseline_round(session, inboxes, body, runtime.ids.group_key, private_key),
                        ROUND_LIMIT,
                    )
                    seconds, first, missing, bad = await receivers.wait_for(session, raw_id, started_wall)
                    theirs.append(seconds)
                    theirs_first.append(first)
                    refused += bad
                    del started
        finally:
            receivers.close()
            await server.cleanup()

    n = len(inboxes)
    ours_rate, raw_rate = n / median(ours), n / median(theirs)
    print(f"fan_out_followers: {FOLLOWERS} count")
    print(f"fan_out_inboxes: {n} count ({len(receivers.procs)} receiver processes)")
    print(
        f"fan_out_fedgroup_seconds: {median(ours):.3f} s (median of {ROUNDS}; rounds {[round(s, 3) for s in ours]})"
    )
    print(f"fan_out_fedgroup_first_seconds: {median(ours_first):.3f} s (to the first inbox, median)")
    print(f"fan_out_fedgroup_rate: {ours_rate:.0f} inboxes/s")
    print(f"fan_out_raw_seconds: {median(theirs):.3f} s (rounds {[round(s, 3) for s in theirs]})")
    print(f"fan_out_raw_first_seconds: {median(theirs_first):.3f} s")
    print(f"fan_out_raw_rate: {raw_rate:.0f} inboxes/s")
    print(f"fan_out_lost: {lost} inboxes (refused requests {refused})")
    print(f"fan_out_ratio: {ours_rate / raw_rate:.2f} x (goal >= 0.7, 0 lost)")


if __name__ == "__main__":
    asyncio.run(main())
