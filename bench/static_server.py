"""The static baseline: a bare aiohttp app answering every GET with the same bytes (and /healthz with "ok").

    python bench/static_server.py --port 8099 --file page.html

No database, no templates, no middlewares: the least an aiohttp page can cost. Serves until stdin closes or
--max-seconds pass.
"""

from __future__ import annotations

import argparse
import asyncio

from aiohttp import web
from common import serve_until_stdin_closes


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--file")
    parser.add_argument("--max-seconds", type=float, default=600)
    args = parser.parse_args()
    page = open(args.file, "rb").read() if args.file else b"<!doctype html><p>static</p>"  # noqa: SIM115

    async def static(request: web.Request) -> web.Response:
        return web.Response(body=page, content_type="text/html", charset="utf-8")

    async def healthz(request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/{tail:.*}", static)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", args.port).start()
    await serve_until_stdin_closes(runner, args.max_seconds)


if __name__ == "__main__":
    asyncio.run(main())
