"""Signed inbox ingest: fedgroup's inbox vs a raw handler (verify RSA, parse JSON, insert with one commit per
request), the same signed requests at the same concurrency, in one run. Loopback only; bounded in count and time.

    .venv/bin/python bench/inbox_ingest.py        # BENCH_N=2000 by default

Prints `name: value unit` lines. The client runs in the same process and event loop as both servers, so both
carry the same load-generation overhead.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import seed  # noqa: E402
from common import free_socket, post_all, raw_inbox, start  # noqa: E402

from fedgroup import actions  # noqa: E402
from fedgroup import config as config_module  # noqa: E402
from fedgroup.protocol.signatures import sign_request  # noqa: E402

N = int(os.environ.get("BENCH_N", "2000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
ACTORS = 50
CONCURRENCY = 32
TIME_LIMIT = 30.0  # seconds per side, whatever N is
# Every request comes from one host here, so fedgroup's per-host inbox limit (when it has one) is turned off:
# this measures the pipeline, not the limiter.
NO_HOST_LIMIT = (
    {"inbox_requests_per_minute_per_host": 0}
    if "inbox_requests_per_minute_per_host" in {f.name for f in fields(config_module.Config)}
    else {}
)


def remote_actors(base: str, keys: list[rsa.RSAPrivateKey]) -> tuple[web.Application, dict[str, str]]:
    """A Mastodon-shaped host serving 50 actors with their public keys."""
    pems = {
        f"{base}/users/u{i}": k.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
        for i, k in enumerate(keys)
    }

    async def actor(request: web.Request) -> web.Response:
        actor_id = f"{base}/users/{request.match_info['name']}"
        doc = {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": actor_id, "type": "Person", "preferredUsername": request.match_info["name"],
            "inbox": f"{actor_id}/inbox", "endpoints": {"sharedInbox": f"{base}/inbox"},
            "publicKey": {"id": f"{actor_id}#main-key", "owner": actor_id, "publicKeyPem": pems[actor_id]},
        }  # fmt: skip
        return web.json_response(doc, content_type="application/activity+json")

    app = web.Application()
    app.router.add_get("/users/{name}", actor)
    return app, pems


def signed_requests(
    inbox: str, campaign: str, group: str, base: str, keys: list[rsa.RSAPrivateKey], count: int, tag: str
) -> list[tuple[bytes, dict[str, str]]]:
    now = datetime.now(UTC)
    out = []
    for i in range(count):
        actor = f"{base}/users/u{i % len(keys)}"
        note_id = f"{actor}/statuses/{tag}-{i}"
        body = json.dumps({
            "@context": "https://www.w3.org/ns/activitystreams", "id": f"{note_id}/activity", "type": "Create",
            "actor": actor, "to": [group], "cc": [],
            "object": {"id": note_id, "type": "Note", "attributedTo": actor, "to": [group],
                       "inReplyTo": campaign, "content": f"<p>Count me in ({i})</p>"},
        }).encode()  # fmt: skip
        headers = sign_request(
            "POST", inbox, body, f"{actor}#main-key", keys[i % len(keys)], now,
            {"Content-Type": "application/activity+json"},
        )  # fmt: skip
        headers["Content-Type"] = "application/activity+json"
        out.append((body, headers))
    return out


async def main() -> None:
    keys = [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(ACTORS)]
    with tempfile.TemporaryDirectory() as tmp:
        remote_sock = free_socket()
        remote_base = f"http://127.0.0.1:{remote_sock.getsockname()[1]}"
        remote_app, pems = remote_actors(remote_base, keys)
        remote = await start(remote_app, remote_sock)

        server, runtime = await seed.group_server(Path(tmp) / "group", **NO_HOST_LIMIT)
        campaign = runtime.ids.campaign(
            await actions.create_campaign(runtime, "Bench", "b", visibility="public")
        )
        inbox = runtime.ids.inbox

        # Warm the key cache: one request per actor, not timed.
        warm = signed_requests(inbox, campaign, runtime.ids.group, remote_base, keys, ACTORS, "warm")
        await post_all(inbox, warm, CONCURRENCY, TIME_LIMIT)

        raw_keys = {f"{a}#main-key": serialization.load_pem_public_key(p.encode()) for a, p in pems.items()}
        raw, raw_url, db = await raw_inbox(Path(tmp) / "raw.sqlite3", raw_keys)

        # Rounds alternate between the two, so that a change in the machine's load hits both alike; before
        # each raw round fedgroup finishes processing what it took in (so it steals no time from the raw).
        ours_rates, raw_rates, statuses, raw_statuses = [], [], {}, {}
        for round_no in range(ROUNDS):
            timed = signed_requests(inbox, campaign, runtime.ids.group, remote_base, keys, N, f"t{round_no}")
            seconds, statuses = await post_all(inbox, timed, CONCURRENCY, TIME_LIMIT)
            ours_rates.append(statuses.get(202, 0) / seconds)
            await drained(runtime)
            raw_requests = signed_requests(
                raw_url, campaign, runtime.ids.group, remote_base, keys, N, f"r{round_no}"
            )
            raw_seconds, raw_statuses = await post_all(raw_url, raw_requests, CONCURRENCY, TIME_LIMIT)
            raw_rates.append(raw_statuses.get(202, 0) / raw_seconds)
        stored = await runtime.db.scalar("SELECT COUNT(*) FROM inbox_activities")
        await server.cleanup()
        await raw.cleanup()
        await db.close()
        await remote.cleanup()

    ours, baseline = statistics.median(ours_rates), statistics.median(raw_rates)
    print(f"inbox_ingest_requests: {N} count x {ROUNDS} rounds")
    print(f"inbox_ingest_fedgroup: {ours:.0f} activities/s median (rounds {[round(r) for r in ours_rates]},"
          f" last statuses {statuses}, stored {stored - ACTORS})")  # fmt: skip
    print(f"inbox_ingest_raw_baseline: {baseline:.0f} activities/s median (rounds {[round(r) for r in raw_rates]},"
          f" last statuses {raw_statuses})")  # fmt: skip
    print(f"inbox_ingest_ratio: {ours / baseline:.2f} x (goal >= 1.0)")


async def drained(runtime: Any) -> None:
    """Until the server has processed everything it stored (bounded: TIME_LIMIT)."""
    deadline = time.monotonic() + TIME_LIMIT
    while time.monotonic() < deadline:
        if not await runtime.db.scalar("SELECT COUNT(*) FROM inbox_activities WHERE state = 'pending'"):
            return
        await asyncio.sleep(0.05)


if __name__ == "__main__":
    asyncio.run(main())
