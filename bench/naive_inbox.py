"""The naive baseline of bench/viral_hour.py in a process of its own: the least a signed inbox must do, the
plain way — verify the cavage RSA signature with a pre-loaded key, parse the JSON, insert one row, one
commit per request (common.raw_inbox_handler), answering POST on any path.

    python bench/naive_inbox.py --port 8099 --keys keys.json --db raw.sqlite3

`keys.json` maps keyIds to public key PEMs. Serves until stdin closes or --max-seconds pass.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from aiohttp import web
from common import load_public, open_raw_database, raw_inbox_handler, serve_until_stdin_closes


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--keys", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--max-seconds", type=float, default=600)
    # Several of these on one port (SO_REUSEPORT), one database: what a second process buys on this machine.
    parser.add_argument("--reuse-port", action="store_true")
    args = parser.parse_args()
    keys = {key_id: load_public(pem) for key_id, pem in json.loads(Path(args.keys).read_text()).items()}
    db = await open_raw_database(Path(args.db), busy_timeout=30)

    async def healthz(request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_get("/healthz", healthz)
    app.router.add_post("/{tail:.*}", raw_inbox_handler(db, keys))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", args.port, reuse_port=args.reuse_port).start()
    await serve_until_stdin_closes(runner, args.max_seconds)


if __name__ == "__main__":
    asyncio.run(main())
