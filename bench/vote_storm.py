"""Vote storm: 2,000 Mastodon-shaped signed poll votes on one campaign in a burst, from 2,000 actors whose
keys a loopback fake Mastodon serves (fedgroup fetches each once). All must be counted; the Update(Question)
messages to followers and voters must be coalesced (at most one per campaign per totals interval, 5 s by
default), and we report how many were sent. Baseline in the same run: the raw verify+parse+insert handler of
bench/inbox_ingest.py (keys pre-loaded, one commit per request) taking the same votes.

    .venv/bin/python bench/vote_storm.py   # BENCH_VOTES=2000, BENCH_VOTE_KEYS=10 (actors share key pairs)
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from dataclasses import fields
from pathlib import Path
from typing import Any

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import seed  # noqa: E402
from common import (  # noqa: E402
    BadSignature,
    actor_document,
    cavage_sign,
    cavage_verify,
    env_int,
    free_socket,
    load_public,
    new_key,
    post_all,
    public_pem,
    raw_inbox,
    start,
)

from fedgroup import config as config_module  # noqa: E402

VOTES = env_int("BENCH_VOTES", 2000)
KEYS = env_int("BENCH_VOTE_KEYS", 10)
HOSTS = env_int("BENCH_VOTE_HOSTS", 10)  # voters' servers; each stays within fedgroup's per-host inbox burst
FOLLOWER_INBOXES = 5
CONCURRENCY = 32
TIME_LIMIT = 90.0  # seconds for the burst, and again for counting and coalescing to settle
LABELS = [o.split("=")[0] for o in seed.OPTIONS]
# 2,000 voters new to the group in one burst spend more than fedgroup's budget of first key fetches (a real
# sender retries after the 429); the limit is turned off here to measure the pipeline, not the limiter.
NO_KEY_FETCH_LIMIT = (
    {"key_fetches_per_minute_per_host": 0, "key_fetches_per_minute": 0}
    if "key_fetches_per_minute" in {f.name for f in fields(config_module.Config)}
    else {}
)


class FakeMastodon:
    """Serves the voters' actor documents and counts what arrives in inboxes (by type and id)."""

    def __init__(self, keys: list[Any]) -> None:
        self.pems = [public_pem(k) for k in keys]
        self.received: dict[str, dict[str, set[str]]] = {}
        self.group_key: dict[str, Any] = {}
        self.refused = 0

    def app(self) -> web.Application:
        async def actor(request: web.Request) -> web.Response:
            name = request.match_info["name"]
            base = f"http://{request.host}"
            actor_id = f"{base}/users/{name}"
            doc = actor_document(actor_id, name, self.pems[int(name[1:]) % len(self.pems)], f"{base}/inbox")
            return web.json_response(doc, content_type="application/activity+json")

        async def inbox(request: web.Request) -> web.Response:
            body = await request.read()
            try:
                cavage_verify(request, body, self.group_key)
            except BadSignature:
                self.refused += 1
                return web.Response(status=401)
            doc = json.loads(body)
            kind = doc["type"] + (
                "(" + doc["object"].get("type", "") + ")" if isinstance(doc.get("object"), dict) else ""
            )
            self.received.setdefault(request.host + request.path, {}).setdefault(kind, set()).add(doc["id"])
            return web.Response(status=202)

        app = web.Application()
        app.router.add_get("/users/{name}", actor)
        app.router.add_post("/{tail:.*inbox}", inbox)
        return app

    def updates(self) -> dict[str, int]:
        return {where: len(kinds.get("Update(Question)", ())) for where, kinds in self.received.items()}


def votes(
    inbox: str, campaign: str, group: str, bases: list[str], keys: list[Any], tag: str
) -> list[tuple[bytes, dict[str, str]]]:
    out = []
    for i in range(VOTES):
        actor = f"{bases[i % len(bases)]}/users/u{i}"
        vote = f"{actor}#votes/{tag}{i}"
        body = json.dumps({
            "@context": "https://www.w3.org/ns/activitystreams", "id": f"{vote}/activity", "type": "Create",
            "actor": actor, "to": [group],
            "object": {"id": vote, "type": "Note", "name": LABELS[i % len(LABELS)], "attributedTo": actor,
                       "to": [group], "inReplyTo": campaign},
        }).encode()  # fmt: skip
        out.append((body, cavage_sign(inbox, body, f"{actor}#main-key", keys[i % len(keys)])))
    return out


async def until(check: Any, limit: float) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.1)
    return False


async def main() -> None:
    keys = [new_key() for _ in range(KEYS)]
    with tempfile.TemporaryDirectory() as tmp:
        remote_socks = [free_socket() for _ in range(HOSTS + 1)]
        bases = [f"http://127.0.0.1:{s.getsockname()[1]}" for s in remote_socks]
        follower_base, voter_bases = bases[0], bases[1:]
        mastodon = FakeMastodon(keys)
        remote = await start(mastodon.app(), *remote_socks)

        server, runtime = await seed.group_server(Path(tmp) / "group", **NO_KEY_FETCH_LIMIT)
        mastodon.group_key[runtime.ids.group_key] = load_public(runtime.site.group_public_key)
        follower_inboxes = [f"{follower_base}/f{i}/inbox" for i in range(FOLLOWER_INBOXES)]
        await seed.followers(runtime, 50, follower_inboxes)
        campaign_id = await seed.campaign(runtime, "Vote storm")
        campaign = runtime.ids.campaign(campaign_id)
        interval = runtime.config.totals_update_seconds
        inbox = runtime.ids.inbox
        requests = votes(inbox, campaign, runtime.ids.group, voter_bases, keys, "v")

        started = time.perf_counter()
        seconds, statuses = await post_all(inbox, requests, CONCURRENCY, TIME_LIMIT)

        async def counted() -> bool:
            return (
                await runtime.db.scalar("SELECT COUNT(*) FROM votes WHERE campaign_id = ?", (campaign_id,))
                >= VOTES
            )

        await until(counted, TIME_LIMIT)
        counted_after = time.perf_counter() - started
        total = await runtime.db.scalar("SELECT COUNT(*) FROM votes WHERE campaign_id = ?", (campaign_id,))

        async def settled() -> bool:
            published = await runtime.db.fetchone(
                "SELECT totals_changed_at <= totals_published_at FROM campaigns WHERE id = ?", (campaign_id,)
            )
            pending = await runtime.db.scalar("SELECT COUNT(*) FROM deliveries")
            return bool(published and published[0]) and pending == 0

        await until(settled, interval * 3 + 30)
        settled_after = time.perf_counter() - started
        await server.cleanup()
        updates = mastodon.updates()

        raw_keys = {
            f"{voter_bases[i % HOSTS]}/users/u{i}#main-key": load_public(mastodon.pems[i % KEYS])
            for i in range(VOTES)
        }
        raw, raw_url, db = await raw_inbox(Path(tmp) / "raw.sqlite3", raw_keys)
        raw_seconds, raw_statuses = await post_all(
            raw_url,
            votes(raw_url, campaign, runtime.ids.group, voter_bases, keys, "r"),
            CONCURRENCY,
            TIME_LIMIT,
        )
        raw_stored = (await (await db.execute("SELECT COUNT(*) FROM inbox")).fetchone())[0]
        await raw.cleanup()
        await db.close()
        await remote.cleanup()

    ours = total / counted_after
    baseline = raw_stored / raw_seconds
    host = follower_base.removeprefix("http://")
    follower_updates = [updates.get(f"{host}/f{i}/inbox", 0) for i in range(FOLLOWER_INBOXES)]
    voter_updates = [updates.get(b.removeprefix("http://") + "/inbox", 0) for b in voter_bases]
    print(
        f"vote_storm_votes: {VOTES} count from {VOTES} actors on {HOSTS} hosts (statuses {statuses}, burst {seconds:.2f} s)"
    )
    print(
        f"vote_storm_counted: {total} votes ({'all' if total == VOTES else 'NOT all'} counted, {counted_after:.2f} s after the first)"
    )
    print(f"vote_storm_rate: {ours:.0f} votes counted/s (including one key fetch per voter)")
    print(
        f"vote_storm_raw_baseline: {baseline:.0f} votes stored/s (statuses {raw_statuses}, keys pre-loaded)"
    )
    print(
        f"vote_storm_updates_per_follower_inbox: {max(follower_updates, default=0)} Update(Question) (each of {FOLLOWER_INBOXES} inboxes: {follower_updates})"
    )
    print(
        f"vote_storm_updates_per_voter_shared_inbox: {max(voter_updates, default=0)} Update(Question) (each of {HOSTS}: {voter_updates})"
    )
    print(
        f"vote_storm_updates_sent: {sum(updates.values())} Update(Question) POSTs in all, interval {interval:g} s, settled after {settled_after:.1f} s (refused {mastodon.refused})"
    )
    print(
        f"vote_storm_coalescing: {VOTES / max(1, max(follower_updates, default=1)):.0f} votes per Update per inbox (uncoalesced: 1)"
    )
    print(
        f"vote_storm_ratio: {ours / baseline:.2f} x counted/s vs raw stored/s (goal: all counted, Updates coalesced)"
    )


if __name__ == "__main__":
    asyncio.run(main())
