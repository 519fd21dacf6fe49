"""A fan-out receiver: one process listening on many loopback ports, each port one inbox.

    python bench/receiver.py --ports 50 --key-file group.pem --key-id https://.../groups/x#main-key

Every POST /inbox is checked like a strict peer would (digest, cavage rsa-sha256 signature with the given
public key) and counted by activity id, per inbox, with the time it first arrived. It prints the ports as
one JSON line on stdout, then serves until stdin closes (so it never outlives the benchmark) or
--max-seconds pass. GET /stats on any port returns every inbox's {activity id: first arrival (time.time())}
and counts of refused requests.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BadSignature, cavage_verify, free_socket, load_public, serve_until_stdin_closes, start  # noqa: E402


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ports", type=int, required=True)
    parser.add_argument("--key-file", required=True)
    parser.add_argument("--key-id", required=True)
    parser.add_argument("--max-seconds", type=float, default=600)
    # A port another server of the benchmark chose but does not listen on yet (its own bind would fail).
    parser.add_argument("--avoid-port", type=int, action="append", default=[])
    args = parser.parse_args()
    keys = {args.key_id: load_public(Path(args.key_file).read_text())}
    seen: dict[int, dict[str, float]] = {}
    refused = {"signature": 0, "json": 0}

    async def inbox(request: web.Request) -> web.Response:
        body = await request.read()
        try:
            cavage_verify(request, body, keys)
        except BadSignature:
            refused["signature"] += 1
            return web.Response(status=401)
        try:
            activity_id = json.loads(body)["id"]
        except (ValueError, KeyError):
            refused["json"] += 1
            return web.Response(status=400)
        port = request.transport.get_extra_info("sockname")[1]  # type: ignore[union-attr]
        seen.setdefault(port, {}).setdefault(activity_id, time.time())
        return web.Response(status=202)

    async def stats(request: web.Request) -> web.Response:
        return web.json_response({"seen": {str(p): ids for p, ids in seen.items()}, "refused": refused})

    app = web.Application()
    app.router.add_post("/inbox", inbox)
    app.router.add_get("/stats", stats)
    socks, held = [], []
    while len(socks) < args.ports:
        sock = free_socket()
        (held if sock.getsockname()[1] in args.avoid_port else socks).append(sock)
    for sock in held:  # kept bound until now, so that the kernel did not hand the same port out again
        sock.close()
    runner = await start(app, *socks)
    print(json.dumps([s.getsockname()[1] for s in socks]), flush=True)
    await serve_until_stdin_closes(runner, args.max_seconds)


if __name__ == "__main__":
    asyncio.run(main())
