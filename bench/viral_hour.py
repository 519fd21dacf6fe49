"""A viral hour, compressed: remote people on many hosts follow, vote (and change their vote), reply, boost and
like while anonymous visitors open the campaign and group pages, against a real `fedgroup serve`. Loopback
only; bounded in count and in time (every phase has a cap, the whole run about three minutes).

    .venv/bin/python bench/viral_hour.py
    BENCH_SERVE_WORKERS=2 .venv/bin/python bench/viral_hour.py     # `serve --workers 2`

Phases, in one run, with the baseline measured in the same run:
1. Ingest at saturation: the same pre-signed Mastodon-shaped `Create(Note)` replies (full @context, ~2.6 KB)
   POSTed by 64 clients to fedgroup and to the naive one-process signed inbox (bench/naive_inbox.py: verify,
   parse, insert, commit per request), rounds alternated. Acknowledged/s for both; fedgroup's processed/s
   counts until its queue is empty.
2. The storm: the mix (follows 15 %, votes 30 %, vote changes 5 %, replies 20 %, boosts 10 %, likes 20 %)
   from BENCH_VIRAL_ACTORS actors on BENCH_VIRAL_HOSTS hosts (keys fetched by fedgroup once each), sent
   open-loop at rising rates until p99 passes 1 s, anything is refused, or the rates run out; all the
   while 8 visitors GET the campaign page, the group page and static handlers serving the same bytes in
   turn. Then: every acknowledged activity processed, every vote counted once, RSS.
3. Fan-out: 10,000 followers on 2,000 loopback hosts (receiver processes) get the totals `Update`s the storm
   causes: coalesced (few per inbox), and every inbox gets the last one.
4. With 1,000 campaigns: the pages again, quiet and under a flood at one rate.
5. kill -9 in the middle of a burst: restarted, nothing acknowledged is lost.

Prints `name: value unit` lines, with the machine's load (`uptime`) beside each phase.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import seed  # noqa: E402
from common import (  # noqa: E402
    BENCH_DIR,
    LoadClient,
    cavage_sign,
    closed_loop,
    cpu_seconds,
    env_float,
    env_int,
    free_port,
    free_socket,
    http_request,
    load_private,
    new_key,
    percentile,
    public_pem,
    rss_mb,
    serving_pids,
    spawn_serve,
    start,
    stop,
    wait_ok,
)
from fan_out import Receivers  # noqa: E402

from fedgroup import config as config_module  # noqa: E402
from fedgroup.runtime import close_runtime, open_runtime  # noqa: E402
from fedgroup.store import datadir  # noqa: E402

ACTORS = env_int("BENCH_VIRAL_ACTORS", 1000)
HOSTS = env_int("BENCH_VIRAL_HOSTS", 50)
KEYS = env_int("BENCH_VIRAL_KEYS", 16)  # actors share keys (generating 1,000 RSA keys would take a minute)
SATURATION_N = env_int("BENCH_VIRAL_SATURATION_N", 2000)
SATURATION_ROUNDS = env_int("BENCH_VIRAL_SATURATION_ROUNDS", 2)
RATES = [int(r) for r in os.environ.get("BENCH_VIRAL_RATES", "200,400,800,1600,3200").split(",")]
STAGE_SECONDS = env_float("BENCH_VIRAL_STAGE_SECONDS", 3.0)
FOLLOWERS = env_int("BENCH_VIRAL_FOLLOWERS", 10_000)
FOLLOWER_HOSTS = env_int("BENCH_VIRAL_FOLLOWER_HOSTS", 2000)
MANY_CAMPAIGNS = env_int("BENCH_VIRAL_MANY_CAMPAIGNS", 1000)
FEW_CAMPAIGNS = 10
CONCURRENCY = 64  # closed-loop clients in phase 1
MAX_OUTSTANDING = 2048  # open-loop requests in flight before the client counts itself saturated
VISITORS = 8
P99_LIMIT = 1.0
PHASE_LIMIT = 60.0  # seconds any one wait may take
MIX = (("follow", 15), ("vote", 30), ("revote", 5), ("reply", 20), ("boost", 10), ("like", 20))
OPTIONS = ("Come to the meeting", "Leaflet for 2 hours", "Give 20")
REPLY = json.loads((BENCH_DIR / "mastodon_create_note_reply.json").read_text())


def listen_overflows() -> int:
    """The kernel's count of connections dropped because a listen queue was full (machine-wide, every
    process's sockets: an unchanged count proves that no visitor's connection waited for a SYN retry)."""
    with open("/proc/net/netstat", encoding="ascii") as f:
        lines = [line.split() for line in f if line.startswith("TcpExt:")]
    names, values = lines[0], lines[1]
    return int(values[names.index("ListenOverflows")])


def uptime() -> str:
    with open("/proc/loadavg", encoding="ascii") as f:
        return "load " + " ".join(f.read().split()[:3])


# -- remote people ----------------------------------------------------------------------------------------


@dataclass
class World:
    """The remote hosts (one loopback port each) and their actors; fedgroup fetches their keys from here."""

    key_pems: list[tuple[str, str]]  # (private, public) PEMs
    ports: list[int] = field(default_factory=list)
    process: Any = None

    def actor(self, i: int) -> str:
        return f"http://127.0.0.1:{self.ports[i % len(self.ports)]}/users/u{i}"

    def key_of(self, i: int) -> str:
        return self.key_pems[i % len(self.key_pems)][0]

    def public_keys(self) -> dict[str, str]:
        return {f"{self.actor(i)}#main-key": self.key_pems[i % len(self.key_pems)][1] for i in range(ACTORS)}

    async def start(self) -> None:
        """Serve the hosts from a process of their own (forked): the load generator's busy loop must not
        delay the key fetches it causes, as a real crowd's servers answer on their own."""
        socks = [free_socket() for _ in range(HOSTS)]
        self.ports = [s.getsockname()[1] for s in socks]
        self.process = multiprocessing.get_context("fork").Process(
            target=_serve_world, args=(self, socks), daemon=True
        )
        self.process.start()
        for sock in socks:
            sock.close()  # the child has its own copies
        await asyncio.to_thread(wait_ok, f"{self.actor(0)}", 30)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.join(10)


def _serve_world(world: World, socks: list[Any]) -> None:
    """In the forked child: serve the actors' documents and take their inboxes' POSTs until terminated."""
    asyncio.events._set_running_loop(None)  # forked from inside the parent's running loop
    asyncio.run(_world_app(world, socks))


async def _world_app(world: World, socks: list[Any]) -> None:
    by_id = {world.actor(i): i for i in range(ACTORS)}

    async def actor(request: web.Request) -> web.Response:
        actor_id = f"http://{request.host}/users/{request.match_info['name']}"
        i = by_id.get(actor_id)
        if i is None:
            return web.Response(status=404)
        host = actor_id.split("/users/")[0]
        doc = {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": actor_id, "type": "Person", "preferredUsername": f"u{i}", "inbox": f"{actor_id}/inbox",
            "outbox": f"{actor_id}/outbox", "followers": f"{actor_id}/followers",
            "endpoints": {"sharedInbox": f"{host}/inbox"},
            "publicKey": {"id": f"{actor_id}#main-key", "owner": actor_id,
                          "publicKeyPem": world.key_pems[i % len(world.key_pems)][1]},
        }  # fmt: skip
        return web.json_response(doc, content_type="application/activity+json")

    async def inbox(request: web.Request) -> web.Response:
        await request.read()  # our Accepts of follows
        return web.Response(status=202)

    app = web.Application()
    app.router.add_get("/users/{name}", actor)
    app.router.add_post("/{tail:.*}", inbox)
    await start(app, *socks)
    await asyncio.Event().wait()


def body_of(kind: str, actor: str, n: int, group: str, campaign: str, option: str | None) -> dict[str, Any]:
    """A Mastodon-shaped activity of this kind, by this actor, numbered n."""
    base = actor.split("/users/")[0]
    if kind == "reply":
        doc = json.loads(
            json.dumps(REPLY)
            .replace("https://mastodon.example/users/alice", actor)
            .replace("https://mastodon.example/@alice", f"{base}/@{actor.rsplit('/', 1)[1]}")
            .replace("113529871234567890", str(n))
            .replace("https://fedgroup.example/campaigns/17", campaign)
            .replace("https://fedgroup.example/groups/water", group)
            .replace("https://fedgroup.example", group.split("/groups/")[0])
        )
        return doc
    if kind in ("vote", "revote"):
        note = f"{actor}#votes/{n}"
        return {
            "@context": "https://www.w3.org/ns/activitystreams", "id": f"{note}/activity", "type": "Create",
            "actor": actor, "to": group,
            "object": {"id": note, "type": "Note", "name": option, "attributedTo": actor,
                       "inReplyTo": campaign, "to": group},
        }  # fmt: skip
    if kind == "follow":
        return {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{base}/{n}", "type": "Follow",
                "actor": actor, "object": group}  # fmt: skip
    if kind == "like":
        return {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{actor}#likes/{n}", "type": "Like",
                "actor": actor, "object": campaign}  # fmt: skip
    return {
        "@context": "https://www.w3.org/ns/activitystreams", "id": f"{actor}/statuses/{n}/activity",
        "type": "Announce", "actor": actor, "published": "2026-11-21T18:03:11Z",
        "to": ["https://www.w3.org/ns/activitystreams#Public"], "cc": [group, f"{actor}/followers"],
        "object": campaign,
    }  # fmt: skip


@lru_cache(maxsize=64)
def _private(pem: str) -> Any:
    return load_private(pem)


def _sign(job: tuple[str, bytes, str, str]) -> tuple[bytes, dict[str, str]]:
    url, body, key_id, pem = job
    return body, cavage_sign(url, body, key_id, _private(pem))


def sign_all(pool: Any, jobs: list[tuple[str, bytes, str, str]]) -> list[tuple[bytes, dict[str, str]]]:
    """Signed in worker processes before anything is timed (signing is the senders' cost, not ours)."""
    return list(pool.map(_sign, jobs, chunksize=64))


# -- load ---------------------------------------------------------------------------------------------------


@dataclass
class Sent:
    id: str
    kind: str
    actor: str
    option: str | None
    status: int = 0
    latency: float = 0.0


def on_the_wire(url: str, signed: list[tuple[bytes, dict[str, str]]]) -> list[bytes]:
    return [http_request(url, body, headers) for body, headers in signed]


async def open_loop(url: str, planned: list[Sent], requests: list[bytes], rate: float) -> bool:
    """Send at `rate` per second whatever the answers (as a crowd does); False if the client could not keep
    the pace (more than MAX_OUTSTANDING waiting)."""
    outstanding: set[asyncio.Task[None]] = set()
    kept_pace = True
    client = LoadClient(url)

    async def one(sent: Sent, request: bytes) -> None:
        t = time.perf_counter()
        sent.status = await client.send(request)
        sent.latency = time.perf_counter() - t

    started = time.perf_counter()
    try:
        for i, (sent, request) in enumerate(zip(planned, requests, strict=True)):
            delay = started + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if len(outstanding) >= MAX_OUTSTANDING:
                kept_pace = False
                break
            task = asyncio.create_task(one(sent, request))
            outstanding.add(task)
            task.add_done_callback(outstanding.discard)
        if outstanding:
            await asyncio.wait(outstanding, timeout=PHASE_LIMIT)
    finally:
        client.close()
    return kept_pace


@dataclass
class Visitors:
    """Anonymous visitors opening pages while something else runs (bench/visitors.py, a process of its own so
    that the load generator's busy loop adds nothing to what they measure); the targets take turns, so that
    the static handlers' load never runs beside the pages measured. Latencies per target."""

    targets: dict[str, str]
    latencies: dict[str, list[float]] = field(default_factory=dict)
    statuses: dict[str, dict[int, int]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)  # how long each target had the visitors
    _proc: asyncio.subprocess.Process | None = None

    def start(self, seconds: float = STAGE_SECONDS) -> None:
        self._starting = asyncio.create_task(self._spawn(seconds))

    async def _spawn(self, seconds: float) -> None:
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable, str(BENCH_DIR / "visitors.py"), "--seconds", str(seconds), "--visitors",
            str(VISITORS), *(f"{k}={v}" for k, v in self.targets.items()),
            stdout=asyncio.subprocess.PIPE, limit=64 * 1024 * 1024,  # one JSON line of every latency
        )  # fmt: skip

    async def stop(self) -> None:
        await self._starting
        assert self._proc is not None and self._proc.stdout is not None
        line = await asyncio.wait_for(self._proc.stdout.readline(), PHASE_LIMIT)
        await self._proc.wait()
        data = json.loads(line)["targets"]
        self.seconds = {name: t["seconds"] for name, t in data.items()}
        self.latencies = {name: t["latencies"] for name, t in data.items()}
        self.statuses = {name: {int(k): v for k, v in t["statuses"].items()} for name, t in data.items()}

    def report(self, label: str) -> dict[str, float]:
        rates = {}
        for name, values in self.latencies.items():
            seconds = self.seconds.get(name, 0.0)
            rates[name] = len(values) / seconds if seconds else 0.0
            print(f"viral_pages_{label}_{name}: {rates[name]:.0f} requests/s, p50 {percentile(values, 50) * 1000:.1f} ms,"
                  f" p99 {percentile(values, 99) * 1000:.1f} ms (statuses {self.statuses[name]})")  # fmt: skip
        for name in self.latencies:
            if name.startswith("static"):
                continue
            static = rates.get(f"static_{name}", 0.0)
            if static:
                print(f"viral_pages_{label}_{name}_ratio: {rates[name] / static:.2f} x static (goal >= 0.5)")
        return rates


class RssSampler:
    def __init__(self, pid: int) -> None:
        self.pid, self.peak = pid, 0.0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            try:
                self.peak = max(self.peak, *(rss_mb(pid) for pid in serving_pids(self.pid)))  # per process
            except (OSError, RuntimeError):
                return
            await asyncio.sleep(0.25)

    async def stop(self) -> float:
        if self._task is not None:
            self._task.cancel()
        return self.peak


# -- the server -------------------------------------------------------------------------------------------


@dataclass
class Group:
    data_dir: Path
    port: int
    campaign: str = ""
    campaign_id: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def inbox(self) -> str:
        return f"{self.base}/inbox"

    @property
    def group(self) -> str:
        return f"{self.base}/groups/bench"

    def db(self) -> sqlite3.Connection:
        conn = sqlite3.connect(f"file:{self.data_dir / 'fedgroup.sqlite3'}?mode=ro", uri=True, timeout=30)
        return conn

    def scalar(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        conn = self.db()
        try:
            return conn.execute(sql, params).fetchone()[0]
        finally:
            conn.close()

    def serve(self) -> None:
        self.proc = spawn_serve(self.data_dir, self.port)
        wait_ok(f"{self.base}/healthz", 30, self.proc)

    async def drained(self, limit: float = PHASE_LIMIT) -> float | None:
        """Seconds until nothing is pending in the inbox queue (None: not within `limit`)."""
        started = time.monotonic()
        while time.monotonic() - started < limit:
            if not self.scalar("SELECT COUNT(*) FROM inbox_activities WHERE state = 'pending'"):
                return time.monotonic() - started
            await asyncio.sleep(0.02)
        return None


async def make_group(root: Path, campaigns: int, follower_inboxes: list[str]) -> Group:
    port = free_port()
    group = Group(root, port)
    await datadir.create(
        root, group.base, "Bench", handle="bench", listen_port=port,
        inbox_requests_per_minute_per_host=0,  # the crowd comes from a few loopback hosts: the pipeline, not the limiter
        key_fetches_per_minute_per_host=0, key_fetches_per_minute=0,
    )  # fmt: skip
    runtime = await open_runtime(config_module.load(root))
    try:
        first = await seed.campaign(runtime, "A safe crossing at Mill Road school")
        for i in range(1, campaigns):
            await seed.campaign(runtime, f"Campaign {i}")
        group.campaign_id = first
        group.campaign = runtime.ids.campaign(first)
        if follower_inboxes:
            await seed.followers(runtime, FOLLOWERS, follower_inboxes)
    finally:
        await close_runtime(runtime)
    return group


# -- phases -----------------------------------------------------------------------------------------------


def plan_storm(world: World, group: Group, rate: int, voted: dict[str, str], start_n: int) -> list[Sent]:
    """One stage's activities: new actors follow, vote, reply, boost and like; those who voted in an
    earlier stage may change their vote (never twice in one stage, so the last one acknowledged wins)."""
    rng = random.Random(start_n)
    kinds = [k for k, w in MIX for _ in range(w)]
    count = int(rate * STAGE_SECONDS)
    planned: list[Sent] = []
    earlier = list(voted)
    changing: set[str] = set()
    voting_now: set[str] = set()
    for j in range(count):
        n = start_n + j
        kind = rng.choice(kinds)
        actor_i = rng.randrange(ACTORS)
        actor = world.actor(actor_i)
        option = None
        if kind == "revote":
            candidates = [a for a in earlier[-500:] if a not in changing]
            if not candidates:
                kind = "like"
            else:
                actor = rng.choice(candidates)
                changing.add(actor)
                option = next(o for o in OPTIONS if o != voted[actor])
        if kind == "vote":
            if actor in voted or actor in voting_now:
                kind = "reply"
            else:
                voting_now.add(actor)
                option = rng.choice(OPTIONS)
        planned.append(Sent(f"{n}", kind, actor, option))
    return planned


def signing_jobs(world: World, group: Group, planned: list[Sent]) -> list[tuple[str, bytes, str, str]]:
    index = {world.actor(i): i for i in range(ACTORS)}
    jobs = []
    for sent in planned:
        doc = body_of(sent.kind, sent.actor, int(sent.id), group.group, group.campaign, sent.option)
        sent.id = doc["id"]
        body = json.dumps(doc).encode()
        jobs.append((group.inbox, body, f"{sent.actor}#main-key", world.key_of(index[sent.actor])))
    return jobs


@dataclass
class Measured:
    """One side of the saturation phase, round after round: rates, and the server's CPU per activity."""

    rates: list[float] = field(default_factory=list)
    cpu_us: list[float] = field(default_factory=list)

    def add(self, count: int, seconds: float, cpu: float) -> None:
        self.rates.append(count / seconds)
        self.cpu_us.append(1e6 * cpu / max(count, 1))

    @property
    def rate(self) -> float:
        return sorted(self.rates)[len(self.rates) // 2]

    @property
    def cpu(self) -> float:
        return sorted(self.cpu_us)[len(self.cpu_us) // 2]


async def measure(url: str, requests: list[bytes], pids: list[int]) -> tuple[float, list[int], float]:
    """(seconds, statuses, CPU seconds the server processes used meanwhile)."""
    cpu = sum(cpu_seconds(pid) for pid in pids)
    seconds, statuses = await closed_loop(url, requests, CONCURRENCY, PHASE_LIMIT)
    return seconds, statuses, sum(cpu_seconds(pid) for pid in pids) - cpu


async def saturation(
    world: World, group: Group, pool: Any, naive: tuple[str, list[int]], pair: tuple[str, list[int]]
) -> None:
    print(f"# phase 1: ingest at saturation ({uptime()})", flush=True)
    assert group.proc is not None
    acknowledged, processed, one, two = Measured(), Measured(), Measured(), Measured()
    for r in range(SATURATION_ROUNDS):
        planned = [
            Sent(str(1_000_000 * (r + 1) + i), "reply", world.actor(i % ACTORS), None)
            for i in range(SATURATION_N)
        ]
        signed = sign_all(pool, signing_jobs(world, group, planned))
        cpu = cpu_seconds(group.proc.pid)
        seconds, statuses, _ = await measure(group.inbox, on_the_wire(group.inbox, signed), [group.proc.pid])
        acked = statuses.count(202)
        acknowledged.add(acked, seconds, cpu_seconds(group.proc.pid) - cpu)
        drain = await group.drained()
        processed.add(
            acked, seconds + (drain if drain is not None else PHASE_LIMIT), cpu_seconds(group.proc.pid) - cpu
        )
        naive_seconds, naive_statuses, naive_cpu = await measure(
            naive[0], on_the_wire(naive[0], signed), naive[1]
        )
        one.add(naive_statuses.count(202), naive_seconds, naive_cpu)
        pair_seconds, pair_statuses, pair_cpu = await measure(pair[0], on_the_wire(pair[0], signed), pair[1])
        two.add(pair_statuses.count(202), pair_seconds, pair_cpu)
        print(f"viral_saturation_round_{r}: fedgroup {acknowledged.rates[-1]:.0f} acknowledged/s,"
              f" {processed.rates[-1]:.0f} processed/s (drained {drain if drain is None else round(drain, 2)} s after"
              f" the last answer; statuses {_counts(statuses)}; {processed.cpu_us[-1]:.0f} us CPU an activity);"
              f" naive {one.rates[-1]:.0f}/s ({_counts(naive_statuses)}; {one.cpu_us[-1]:.0f} us);"
              f" two naive processes {two.rates[-1]:.0f}/s ({_counts(pair_statuses)}; {two.cpu_us[-1]:.0f} us)"
              f" ({uptime()})", flush=True)  # fmt: skip
    for name, side in (("acknowledged", acknowledged), ("processed", processed)):
        print(f"viral_saturation_{name}: {side.rate:.0f} activities/s vs naive {one.rate:.0f}/s ="
              f" {side.rate / one.rate:.2f} x (goal >= 1.5)")  # fmt: skip
    print(f"viral_saturation_cpu_per_activity: fedgroup {processed.cpu:.0f} us (acknowledging and processing, serve"
          f" and its delivery process) vs naive {one.cpu:.0f} us = {processed.cpu / one.cpu:.2f} x")  # fmt: skip
    print(f"viral_saturation_naive_two_processes: {two.rate:.0f}/s = {two.rate / one.rate:.2f} x one naive process"
          f" (what a second process on one port buys on this machine now; {two.cpu:.0f} us CPU an activity)")  # fmt: skip


def _counts(statuses: list[int]) -> dict[int, int]:
    out: dict[int, int] = {}
    for s in statuses:
        out[s] = out.get(s, 0) + 1
    return out


async def storm(world: World, group: Group, pool: Any, visitors: Visitors) -> list[Sent]:
    """Rising rates until p99 > 1 s or a refusal; returns everything sent."""
    assert group.proc is not None
    sampler = RssSampler(group.proc.pid)
    sampler.start()
    everything: list[Sent] = []
    voted: dict[str, str] = {}
    n = 5_000_000
    for rate in RATES:
        planned = plan_storm(world, group, rate, voted, n)
        n += len(planned)
        signed = sign_all(pool, signing_jobs(world, group, planned))
        load = uptime()
        overflows = listen_overflows()
        visitors.start()
        started = time.perf_counter()
        kept_pace = await open_loop(group.inbox, planned, on_the_wire(group.inbox, signed), rate)
        seconds = time.perf_counter() - started
        await visitors.stop()
        overflows = listen_overflows() - overflows
        sent = [s for s in planned if s.status]
        everything.extend(planned)
        acked = [s for s in sent if s.status == 202]
        for s in acked:
            if s.kind in ("vote", "revote"):
                voted[s.actor] = s.option or ""
        drain = await group.drained()
        latencies = [s.latency for s in sent]
        p99 = percentile(latencies, 99)
        refused = len(planned) - len(acked)
        print(f"viral_storm_{rate}_per_s: acknowledged {len(acked) / seconds:.0f}/s of {len(planned)} sent"
              f" (p50 {percentile(latencies, 50) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, not acknowledged {refused}:"
              f" {_counts([s.status for s in planned if s.status != 202])}), processed {len(acked) / (seconds + (drain or PHASE_LIMIT)):.0f}/s"
              f" (queue empty {drain if drain is None else round(drain, 2)} s after the stage), RSS peak"
              f" {sampler.peak:.0f} MB; listen queue overflows (any socket) {overflows} ({load})")  # fmt: skip
        visitors.report(f"storm_{rate}")
        if p99 > P99_LIMIT or refused or not kept_pace:
            print(
                f"viral_storm_stopped_at: {rate}/s ({'p99 over 1 s' if p99 > P99_LIMIT else 'refusals' if refused else 'client could not keep pace'})"
            )
            break
    print(f"viral_rss_peak: {await sampler.stop():.1f} MB during the storm (goal <= 100)")
    return everything


def proof(group: Group, everything: list[Sent]) -> None:
    """Every acknowledged activity processed; every vote counted once, as the last acknowledged one says."""
    conn = group.db()
    try:
        states = dict(conn.execute("SELECT id, state FROM inbox_activities").fetchall())
        votes = conn.execute(
            "SELECT v.voter, o.label FROM votes v JOIN campaign_options o ON o.id = v.option_id WHERE v.campaign_id = ?",
            (group.campaign_id,),
        ).fetchall()
    finally:
        conn.close()
    acked = [s for s in everything if s.status == 202]
    unprocessed = [s.id for s in acked if states.get(s.id) != "done"]
    expected: dict[str, str] = {}
    for s in acked:  # stages are in order, and no actor votes twice in one stage
        if s.kind in ("vote", "revote"):
            expected[s.actor] = s.option or ""
    counted: dict[str, list[str]] = {}
    for voter, label in votes:
        counted.setdefault(voter, []).append(label)
    twice = sum(1 for labels in counted.values() if len(labels) > 1)
    wrong = sum(1 for voter, option in expected.items() if counted.get(voter) != [option])
    extra = sum(1 for voter in counted if voter not in expected)
    print(f"viral_proof_processed: {len(acked) - len(unprocessed)} of {len(acked)} acknowledged activities processed"
          f" (missing {unprocessed[:3]})")  # fmt: skip
    print(f"viral_proof_votes: {len(expected)} voters acknowledged, {len(counted)} counted; counted twice {twice},"
          f" wrong option {wrong}, counted without an acknowledged vote {extra}")  # fmt: skip


async def fan_out(group: Group, receivers: Receivers) -> None:
    print(
        f"# phase 3: fan-out of totals to {FOLLOWERS} followers on {FOLLOWER_HOSTS} hosts ({uptime()})",
        flush=True,
    )
    started = time.monotonic()
    drained = None
    while time.monotonic() - started < PHASE_LIMIT:
        if not group.scalar("SELECT COUNT(*) FROM deliveries"):
            drained = time.monotonic() - started
            break
        await asyncio.sleep(0.2)
    conn = group.db()
    try:
        updates = [r[0] for r in conn.execute(
            "SELECT id FROM outbox_activities WHERE type = 'Update' AND object_id = ? ORDER BY rowid", (group.campaign,)
        )]  # fmt: skip
    finally:
        conn.close()
    async with aiohttp.ClientSession() as session:
        seen, refused = await receivers.stats(session)
    last = updates[-1] if updates else None
    missing = sum(1 for p in receivers.all_ports if last is not None and last not in seen.get(p, {}))
    conn = group.db()
    try:
        queued = {
            inbox for (inbox,) in conn.execute("SELECT inbox FROM deliveries WHERE activity_id = ?", (last,))
        }
        backlog = conn.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0]
    finally:
        conn.close()
    lost = sum(
        1
        for p in receivers.all_ports
        if last is not None and last not in seen.get(p, {}) and f"http://127.0.0.1:{p}/inbox" not in queued
    )
    per_inbox = [sum(1 for a in seen.get(p, {}) if a in set(updates)) for p in receivers.all_ports]
    print(f"viral_fanout: {len(updates)} totals Updates queued during the storm; each inbox got {min(per_inbox, default=0)}"
          f"–{max(per_inbox, default=0)} of them; {missing} of {len(receivers.all_ports)} inboxes without the last"
          f" yet, of which {lost} lost (neither received nor queued); {backlog} deliveries still queued; refused by"
          f" receivers {refused}; queue empty {drained if drained is None else round(drained, 1)} s after the storm"
          f" ({uptime()})")  # fmt: skip


async def kill_mid_storm(world: World, group: Group, pool: Any) -> None:
    print(f"# phase 5: kill -9 in the middle of a burst ({uptime()})", flush=True)
    assert group.proc is not None
    planned = [
        Sent(str(9_000_000 + i), "like" if i % 2 else "reply", world.actor(i % ACTORS), None)
        for i in range(1500)
    ]
    signed = sign_all(pool, signing_jobs(world, group, planned))
    statuses = [0] * len(planned)
    proc = group.proc

    async def killer() -> None:
        while statuses.count(202) < len(planned) // 3:  # noqa: ASYNC110 - a bench: polling is fine
            await asyncio.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)

    requests = on_the_wire(group.inbox, signed)
    client = LoadClient(group.inbox)
    queue = iter(range(len(planned)))

    async def worker() -> None:
        for i in queue:
            statuses[i] = await client.send(requests[i])

    kill = asyncio.create_task(killer())
    try:
        await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(CONCURRENCY))), PHASE_LIMIT)
    finally:
        client.close()
    await kill
    proc.wait(10)
    acked = [planned[i].id for i, s in enumerate(statuses) if s == 202]
    group.serve()
    drain = await group.drained()
    conn = group.db()
    try:
        states = dict(conn.execute("SELECT id, state FROM inbox_activities").fetchall())
    finally:
        conn.close()
    lost = [a for a in acked if a not in states]
    unprocessed = [a for a in acked if states.get(a) != "done"]
    print(f"viral_kill9: {len(acked)} acknowledged before the kill ({statuses.count(0)} unanswered); after restart"
          f" {len(lost)} lost, {len(unprocessed)} not processed (queue empty {drain if drain is None else round(drain, 2)} s"
          f" after restart)")  # fmt: skip


async def static_servers(
    tmp: Path, pages: dict[str, bytes]
) -> tuple[dict[str, str], list[subprocess.Popen[bytes]]]:
    urls, procs = {}, []
    for name, page in pages.items():
        page_file = tmp / f"{name}.html"
        page_file.write_bytes(page)
        port = free_port()
        proc = subprocess.Popen(  # noqa: ASYNC220 - set-up
            [
                sys.executable,
                str(BENCH_DIR / "static_server.py"),
                "--port",
                str(port),
                "--file",
                str(page_file),
            ],
            stdin=subprocess.PIPE,
        )
        wait_ok(f"http://127.0.0.1:{port}/healthz", 30, proc)
        urls[f"static_{name}"] = f"http://127.0.0.1:{port}/page"
        procs.append(proc)
    return urls, procs


async def page_targets(group: Group, tmp: Path) -> tuple[dict[str, str], list[subprocess.Popen[bytes]]]:
    targets = {
        "campaign": f"{group.base}/campaigns/{group.campaign_id}",
        "group": f"{group.base}/groups/bench",
    }
    pages = {}
    async with aiohttp.ClientSession() as session:
        for name, url in targets.items():
            async with session.get(url) as r:
                pages[name] = await r.read()
    static, procs = await static_servers(tmp, pages)
    print(f"viral_page_sizes: campaign {len(pages['campaign'])} bytes, group {len(pages['group'])} bytes")
    return {**targets, **static}, procs


async def quiet_pages(targets: dict[str, str], label: str) -> None:
    visitors = Visitors(targets)
    visitors.start()
    await visitors.stop()
    visitors.report(label)


async def many_campaigns(world: World, pool: Any, root: Path) -> None:
    print(f"# phase 4: {MANY_CAMPAIGNS} campaigns ({uptime()})", flush=True)
    group = await make_group(root / "many", MANY_CAMPAIGNS, [])
    group.serve()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        targets, procs = await page_targets(group, root)
        await quiet_pages(targets, f"quiet_{MANY_CAMPAIGNS}_campaigns")
        rate = RATES[0]  # the first storm rate: the same flood as the 10-campaign figures
        visitors = Visitors(targets)
        planned = plan_storm(world, group, rate, {}, 7_000_000)
        signed = sign_all(pool, signing_jobs(world, group, planned))
        assert group.proc is not None
        sampler = RssSampler(group.proc.pid)
        sampler.start()
        overflows = listen_overflows()
        visitors.start()
        await open_loop(group.inbox, planned, on_the_wire(group.inbox, signed), rate)
        await visitors.stop()
        overflows = listen_overflows() - overflows
        acked = sum(1 for s in planned if s.status == 202)
        print(
            f"viral_many_campaigns_flood: {acked} of {len(planned)} acknowledged at {rate}/s, RSS peak {await sampler.stop():.0f} MB;"
            f" listen queue overflows (any socket) {overflows} ({uptime()})"
        )
        visitors.report(f"flood_{MANY_CAMPAIGNS}_campaigns")
    finally:
        _close(procs)
        if group.proc is not None:
            stop(group.proc)


def _close(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


async def main() -> None:
    suite_started = time.monotonic()
    print(
        f"# viral hour: {ACTORS} actors on {HOSTS} hosts, rates {RATES}/s for {STAGE_SECONDS:g} s each ({uptime()})",
        flush=True,
    )
    ctx = multiprocessing.get_context("fork")
    with tempfile.TemporaryDirectory() as tmp_name, ctx.Pool(2) as pool:
        tmp = Path(tmp_name)
        keys = [new_key() for _ in range(KEYS)]
        world = World([(_pem(k), public_pem(k)) for k in keys])
        await world.start()
        # The followers' hosts: receiver processes answering on FOLLOWER_HOSTS loopback ports.
        placeholder = tmp / "group.pem"
        group = Group(tmp / "group", 0)
        receivers: Receivers | None = None
        procs: list[subprocess.Popen[bytes]] = []
        naive: subprocess.Popen[bytes] | None = None
        naive_pair: list[subprocess.Popen[bytes]] = []
        try:
            # The group's key is made at init: create first, then start receivers that check its signatures.
            group = await make_group(tmp / "group", FEW_CAMPAIGNS, [])
            placeholder.write_text(_group_public_key(group))
            receivers = _receivers(placeholder, group)
            runtime = await open_runtime(config_module.load(group.data_dir))
            try:
                await seed.followers(runtime, FOLLOWERS, receivers.inboxes())
            finally:
                await close_runtime(runtime)
            group.serve()
            keys_file = tmp / "keys.json"
            keys_file.write_text(json.dumps(world.public_keys()))
            naive_port = free_port()
            naive = subprocess.Popen(  # noqa: ASYNC220 - set-up
                [sys.executable, str(BENCH_DIR / "naive_inbox.py"), "--port", str(naive_port), "--keys", str(keys_file),
                 "--db", str(tmp / "naive.sqlite3")],
                stdin=subprocess.PIPE,
            )  # fmt: skip
            wait_ok(f"http://127.0.0.1:{naive_port}/healthz", 30, naive)
            pair_port = free_port()
            naive_pair = [
                subprocess.Popen(  # noqa: ASYNC220 - set-up
                    [
                        sys.executable,
                        str(BENCH_DIR / "naive_inbox.py"),
                        "--port",
                        str(pair_port),
                        "--keys",
                        str(keys_file),
                        "--db",
                        str(tmp / "naive-pair.sqlite3"),
                        "--reuse-port",
                    ],
                    stdin=subprocess.PIPE,
                )  # fmt: skip
                for _ in range(2)
            ]
            for proc in naive_pair:
                wait_ok(f"http://127.0.0.1:{pair_port}/healthz", 30, proc)
            targets, procs = await page_targets(group, tmp)
            print(f"# quiet pages, {FEW_CAMPAIGNS} campaigns ({uptime()})", flush=True)
            await quiet_pages(targets, f"quiet_{FEW_CAMPAIGNS}_campaigns")
            await saturation(
                world,
                group,
                pool,
                (f"http://127.0.0.1:{naive_port}/inbox", [naive.pid]),
                (f"http://127.0.0.1:{pair_port}/inbox", [proc.pid for proc in naive_pair]),
            )
            if (
                os.environ.get("BENCH_VIRAL_ONLY") == "saturation"
            ):  # (with BENCH_SERVE_PROFILE: a profile of it)
                return
            print(f"# phase 2: the storm ({uptime()})", flush=True)
            everything = await storm(world, group, pool, Visitors(targets))
            proof(group, everything)
            if os.environ.get("BENCH_VIRAL_ONLY") == "storm":  # (with BENCH_SERVE_PROFILE: a profile of it)
                return
            await fan_out(group, receivers)
            _close(procs)
            procs = []
            await many_campaigns(world, pool, tmp)
            await kill_mid_storm(world, group, pool)
        finally:
            _close(procs)
            if naive is not None:
                _close([naive])
            _close(naive_pair)
            if group.proc is not None:
                stop(group.proc)
            if receivers is not None:
                receivers.close()
            world.stop()
    print(f"viral_wall: {time.monotonic() - suite_started:.0f} s ({uptime()})")


def _pem(key: Any) -> str:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _group_public_key(group: Group) -> str:
    conn = group.db()
    try:
        return str(conn.execute("SELECT group_public_key FROM site").fetchone()[0])
    finally:
        conn.close()


def _receivers(key_file: Path, group: Group) -> Receivers:
    """The followers' inboxes, on any loopback port but the group's (chosen, not yet listened on)."""
    import fan_out

    fan_out.INBOXES = FOLLOWER_HOSTS
    return Receivers(key_file, f"{group.group}#main-key", avoid_ports=(group.port,))


if __name__ == "__main__":
    asyncio.run(main())
