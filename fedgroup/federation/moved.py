"""Once the group has moved (actions/moving.py), the old server sends people and servers to the new one.

Every GET or HEAD is answered with a 301 to the same path and query on the new origin (the new server was
restored from this one's backup, so its paths are the same), except:
- the group actor fetched as ActivityPub: it stays, saying `movedTo`, with its key, so that the Move and
  everything signed before can still be verified (as Mastodon serves a moved account);
- the instance actor (its key signs our fetches), WebFinger, host-meta and NodeInfo, /healthz, /metrics,
  static files, and the admins' and sign-in pages: the operator still runs this server.
POSTs (the inbox: Undo of the old follows) are answered as before.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Handler

from fedgroup.federation.routes import wants_activity_json
from fedgroup.protocol.ids import INSTANCE_ACTOR_PATH
from fedgroup.runtime import RUNTIME

_STAYS = ("/.well-known/", "/nodeinfo", "/healthz", "/metrics", "/static/", "/admin", "/login", "/logout")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@web.middleware
async def moved_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if RUNTIME not in request.app:
        return await handler(request)
    runtime = request.app[RUNTIME]
    moved_to = runtime.site.moved_to
    if moved_to is None or request.method not in ("GET", "HEAD"):
        return await handler(request)
    path = request.path
    if path.startswith(_STAYS) or path == INSTANCE_ACTOR_PATH:
        return await handler(request)
    if path == urlsplit(runtime.ids.group).path and wants_activity_json(request):
        return await handler(request)
    raise web.HTTPMovedPermanently(_origin(moved_to) + request.path_qs)
