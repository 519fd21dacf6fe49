"""What the benchmarks share: loopback sockets, a bare cavage signer and verifier for the baselines,
Mastodon-shaped actor documents, `fedgroup serve` as a subprocess, RSS and percentiles.

The baselines sign and verify with `cryptography` directly, not with fedgroup's code, so that a ratio
compares fedgroup with the least a server has to do. Loopback only.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
AS_CONTEXT = ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"]


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, str(default)))


def env_float(name: str, default: float) -> float:
    return float(os.environ.get(name, str(default)))


def free_socket() -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def start(app: web.Application, *socks: socket.socket) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    for sock in socks:
        await web.SockSite(runner, sock).start()
    return runner


# -- keys and signatures (bare, for baselines and fake peers) ------------------------------------------


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def load_public(pem: str) -> Any:
    return serialization.load_pem_public_key(pem.encode())


def load_private(pem: str) -> Any:
    return serialization.load_pem_private_key(pem.encode(), password=None)


def digest_header(body: bytes) -> str:
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()


def cavage_sign(url: str, body: bytes, key_id: str, key: Any, now: datetime | None = None) -> dict[str, str]:
    """Headers for a Mastodon-style signed POST: (request-target) host date digest content-type."""
    parts = urlsplit(url)
    headers = {
        "Host": parts.netloc,
        "Date": format_datetime((now or datetime.now(UTC)).astimezone(UTC), usegmt=True),
        "Digest": digest_header(body),
        "Content-Type": "application/activity+json",
    }
    names = ["(request-target)", "host", "date", "digest", "content-type"]
    lines = [f"(request-target): post {parts.path}"] + [f"{n}: {headers[n.title()]}" for n in names[1:]]
    signature = key.sign("\n".join(lines).encode(), padding.PKCS1v15(), hashes.SHA256())
    headers["Signature"] = (
        f'keyId="{key_id}",algorithm="rsa-sha256",headers="{" ".join(names)}",'
        f'signature="{base64.b64encode(signature).decode()}"'
    )
    return headers


class BadSignature(Exception):
    pass


def cavage_verify(request: web.Request, body: bytes, keys: dict[str, Any]) -> str:
    """Verify a cavage rsa-sha256 signature (and the digest) with a known key; returns the keyId."""
    try:
        params = dict(part.split("=", 1) for part in request.headers["Signature"].replace('"', "").split(","))
        key = keys[params["keyId"]]
        lines = []
        for name in params["headers"].split():
            if name == "(request-target)":
                lines.append(f"(request-target): {request.method.lower()} {request.raw_path}")
            else:
                lines.append(f"{name}: {request.headers[name]}")
        if "digest" in params["headers"].split() and request.headers["Digest"] != digest_header(body):
            raise BadSignature("digest")
        parsedate_to_datetime(request.headers["Date"])
        sig = params["signature"]
        key.verify(
            base64.b64decode(sig + "=" * (-len(sig) % 4)),
            "\n".join(lines).encode(),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
    except BadSignature:
        raise
    except Exception as e:
        raise BadSignature(type(e).__name__) from e
    return params["keyId"]


def actor_document(actor_id: str, name: str, pem: str, shared_inbox: str | None) -> dict[str, Any]:
    """A Mastodon-shaped Person with its key."""
    doc: dict[str, Any] = {
        "@context": AS_CONTEXT,
        "id": actor_id,
        "type": "Person",
        "preferredUsername": name,
        "inbox": f"{actor_id}/inbox",
        "outbox": f"{actor_id}/outbox",
        "followers": f"{actor_id}/followers",
        "publicKey": {"id": f"{actor_id}#main-key", "owner": actor_id, "publicKeyPem": pem},
    }
    if shared_inbox:
        doc["endpoints"] = {"sharedInbox": shared_inbox}
    return doc


# -- fedgroup serve as a subprocess ----------------------------------------------------------------------


def fedgroup_command() -> list[str]:
    """The installed `fedgroup` console script next to this Python, or the same entry point via -c."""
    script = Path(sys.executable).parent / "fedgroup"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from fedgroup.cli import main; sys.exit(main())"]


def spawn_serve(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    """`fedgroup serve`; with BENCH_SERVE_PROFILE=FILE, under cProfile writing FILE when it stops (to find
    where the server's time goes); with BENCH_SERVE_WORKERS=N, with `--workers N`."""
    env = dict(os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")
    command = fedgroup_command()
    profile = env.pop("BENCH_SERVE_PROFILE", None)
    if profile:
        command = [sys.executable, "-m", "cProfile", "-o", profile, "-m", "fedgroup.cli"]
    # BENCH_SERVE_WORKERS=N: `serve --workers N` (N processes answering on the one port).
    workers = ["--workers", env["BENCH_SERVE_WORKERS"]] if env.get("BENCH_SERVE_WORKERS") else []
    return subprocess.Popen(
        [*command, "serve", "--data-dir", str(data_dir), "--port", str(port), *workers],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )


def wait_ok(url: str, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> float:
    """Poll `url` until it answers 200; returns the monotonic time it did. Raises after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with status {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as r:  # noqa: S310 - loopback only
                if r.status == 200:
                    return time.monotonic()
        except OSError:
            pass
        time.sleep(0.005)
    raise TimeoutError(f"{url} did not answer 200 within {timeout} s")


def stop(proc: subprocess.Popen[bytes], timeout: float = 15) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def serving_pids(pid: int) -> list[int]:
    """`serve` and the other serving processes it started (`--workers`), not its delivery process."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as f:
            children = [int(child) for child in f.read().split()]
    except OSError:
        return [pid]
    serving = []
    for child in children:
        try:
            with open(f"/proc/{child}/cmdline", "rb") as f:
                if b"serve-worker" in f.read():
                    serving.append(child)
        except OSError:
            continue
    return [pid, *serving]


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def median(values: list[float]) -> float:
    return percentile(values, 50)


async def post_all(
    url: str, requests: list[tuple[bytes, dict[str, str]]], concurrency: int, time_limit: float
) -> tuple[float, dict[int, int]]:
    """POST every (body, headers) with `concurrency` clients, stopping at `time_limit` seconds; returns the
    seconds taken and a count per status."""
    import asyncio

    import aiohttp

    statuses: dict[int, int] = {}
    queue = iter(requests)
    deadline = time.monotonic() + time_limit
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def worker() -> None:
            for body, headers in queue:
                if time.monotonic() > deadline:
                    return
                async with session.post(url, data=body, headers=headers) as r:
                    await r.read()
                    statuses[r.status] = statuses.get(r.status, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started, statuses


# -- a cheap load generator ------------------------------------------------------------------------------


def http_request(url: str, body: bytes, headers: dict[str, str], method: str = "POST") -> bytes:
    """One request as the bytes on the wire, built before anything is timed."""
    parts = urlsplit(url)
    given = {k.lower() for k in headers}
    target = parts.path or "/"
    lines = [f"{method} {target}?{parts.query} HTTP/1.1" if parts.query else f"{method} {target} HTTP/1.1"]
    lines += [] if "host" in given else [f"Host: {parts.netloc}"]  # a signed Host is sent as it was signed
    lines += [f"Content-Length: {len(body)}"] if body or method != "GET" else []
    lines += [f"{k}: {v}" for k, v in headers.items() if k.lower() != "content-length"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class _Connection(asyncio.Protocol):
    """One keep-alive connection sending pre-built requests one at a time and reading just enough of each
    answer to know its status and where it ends (its Content-Length, or its last chunk)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._buffer = b""
        self._waiter: asyncio.Future[int] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(0)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0 or self._waiter is None:
            return
        head = self._buffer[:end].lower()
        at = head.find(b"\r\ncontent-length:")
        if at >= 0:
            length = int(head[at + 17 :].split(b"\r\n", 1)[0])
        elif b"\r\ntransfer-encoding: chunked" in head:
            last = self._buffer.find(b"\r\n0\r\n\r\n", end)  # the last chunk (no trailers here)
            if last < 0:
                return
            length = last + 7 - (end + 4)
        else:
            length = 0
        if len(self._buffer) < end + 4 + length:
            return
        status = int(self._buffer[9:12])
        self._buffer = self._buffer[end + 4 + length :]
        waiter, self._waiter = self._waiter, None
        waiter.set_result(status)

    async def send(self, request: bytes) -> int:
        """The answer's status; 0 when the connection closed first."""
        assert self.transport is not None
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await self._waiter


class LoadClient:
    """Loopback HTTP/1.1 load, as cheap as Python makes it: pre-built request bytes on keep-alive connections
    (about 40 us of CPU a request, where an aiohttp client session spends 150-200 us), so that on a 2-core
    machine the load generator leaves the servers it measures as much of the machine as it can."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self._address = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._idle: list[_Connection] = []

    async def send(self, request: bytes) -> int:
        """One request on an idle connection (or a new one): its status, 0 on a connection error."""
        try:
            connection = self._idle.pop() if self._idle else await self._connect()
            status = await connection.send(request)
        except OSError:
            return 0
        if status and connection.transport is not None and not connection.transport.is_closing():
            self._idle.append(connection)
        return status

    async def _connect(self) -> _Connection:
        _, connection = await asyncio.get_running_loop().create_connection(_Connection, *self._address)
        return connection

    def close(self) -> None:
        for connection in self._idle:
            if connection.transport is not None:
                connection.transport.close()
        self._idle.clear()


async def closed_loop(
    url: str, requests: list[bytes], concurrency: int, limit: float
) -> tuple[float, list[int]]:
    """Every pre-built request, `concurrency` at once, until done or `limit` seconds: (seconds, statuses in
    order; 0 for one not answered)."""
    client = LoadClient(url)
    statuses = [0] * len(requests)
    queue = iter(range(len(requests)))
    deadline = time.monotonic() + limit

    async def worker() -> None:
        for i in queue:
            if time.monotonic() > deadline:
                return
            statuses[i] = await client.send(requests[i])

    started = time.perf_counter()
    try:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    finally:
        client.close()
    return time.perf_counter() - started, statuses


def cpu_seconds(pid: int) -> float:
    """User plus system CPU a process and its children still running have used (Linux /proc)."""
    total = 0.0
    pids = [pid]
    while pids:
        one = pids.pop()
        try:
            with open(f"/proc/{one}/stat", encoding="ascii") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{one}/task/{one}/children", encoding="ascii") as f:
                pids += [int(child) for child in f.read().split()]
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


# -- the raw baseline inbox ------------------------------------------------------------------------------


@dataclass
class RawDatabase:
    """A sqlite3 connection used from the event loop the plain way: every call hops to its thread."""

    conn: Any
    thread: Any

    async def execute(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        await asyncio.get_running_loop().run_in_executor(self.thread, self.conn.execute, sql, params)

    async def commit(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self.thread, self.conn.commit)

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self.thread, self.conn.close)
        self.thread.shutdown()


async def open_raw_database(db_path: Path, *, busy_timeout: float = 5.0) -> RawDatabase:
    """The naive baseline's database: one table, WAL, and a thread of its own (like an aiosqlite connection,
    each call — the insert, the commit — is one trip to it). Several processes may share the file (the table
    is made only where it is missing; `busy_timeout` is how long one waits for another's write)."""
    import sqlite3
    from concurrent.futures import ThreadPoolExecutor

    connection = sqlite3.connect(db_path, check_same_thread=False, timeout=busy_timeout)
    db = RawDatabase(connection, ThreadPoolExecutor(max_workers=1))
    await db.execute("PRAGMA journal_mode=WAL")
    await db.execute("PRAGMA synchronous=NORMAL")
    await db.execute("CREATE TABLE IF NOT EXISTS inbox (id TEXT PRIMARY KEY, actor TEXT, document BLOB)")
    return db


def raw_inbox_handler(db: RawDatabase, keys: dict[str, Any]) -> Any:
    """The naive pipeline a signed inbox needs at the least: verify the cavage RSA signature with a pre-loaded
    key, parse the JSON, insert one row (an id already stored is left as it is), one commit per request."""
    import json

    async def inbox(request: web.Request) -> web.Response:
        body = await request.read()
        try:
            cavage_verify(request, body, keys)
        except BadSignature:
            return web.Response(status=401)
        doc = json.loads(body)
        await db.execute(
            "INSERT OR IGNORE INTO inbox (id, actor, document) VALUES (?, ?, ?)",
            (doc["id"], doc["actor"], body),
        )
        await db.commit()
        return web.Response(status=202)

    return inbox


async def raw_inbox(db_path: Path, keys: dict[str, Any]) -> tuple[web.AppRunner, str, Any]:
    """The naive baseline (`raw_inbox_handler`) on a free loopback port, in this process.
    Returns (runner, inbox URL, the database to close)."""
    db = await open_raw_database(db_path)
    app = web.Application()
    app.router.add_post("/inbox", raw_inbox_handler(db, keys))
    sock = free_socket()
    runner = await start(app, sock)
    return runner, f"http://127.0.0.1:{sock.getsockname()[1]}/inbox", db


async def serve_until_stdin_closes(runner: web.AppRunner, max_seconds: float) -> None:
    """For a child server process: serve until the parent closes our stdin (or `max_seconds` pass), then exit."""
    import asyncio

    loop = asyncio.get_running_loop()
    try:
        await asyncio.wait_for(loop.run_in_executor(None, sys.stdin.read), max_seconds)
    except TimeoutError:
        pass
    await runner.cleanup()
    os._exit(0)  # the stdin reader thread may still be blocked
