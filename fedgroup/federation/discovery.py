"""WebFinger, host-meta and NodeInfo: the endpoints where other servers find the group (the documents are
protocol.discovery's)."""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

import orjson
from aiohttp import web

from fedgroup.protocol.discovery import (
    JRD_TYPE,
    NODEINFO_SCHEMA,
    NODEINFO_VERSIONS,
    BadResource,
    nodeinfo_content_type,
    nodeinfo_document,
    parse_resource,
    webfinger_document,
    webfinger_subject,
)
from fedgroup.runtime import RUNTIME

_CORS = {"Access-Control-Allow-Origin": "*"}


def _json(doc: dict[str, Any], content_type: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(doc), headers={"Content-Type": content_type, **(headers or {})})


async def webfinger(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    resource = request.query.get("resource")
    if not resource:
        return web.Response(status=400, text="missing resource\n", headers=_CORS)
    try:
        parsed = parse_resource(resource)
    except BadResource:
        return web.Response(status=400, text="malformed resource\n", headers=_CORS)
    found = webfinger_subject(runtime.ids, parsed)
    if found is None:
        return web.Response(status=404, text="no such account\n", headers=_CORS)
    return _json(webfinger_document(*found), JRD_TYPE, _CORS)


async def host_meta(request: web.Request) -> web.Response:
    ids = request.app[RUNTIME].ids
    template = escape(f"{ids.base_url}/.well-known/webfinger?resource={{uri}}", {'"': "&quot;"})
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n'
        f'  <Link rel="lrdd" template="{template}"/>\n'
        "</XRD>\n"
    )
    return web.Response(text=body, content_type="application/xrd+xml", headers=_CORS)


async def nodeinfo_links(request: web.Request) -> web.Response:
    ids = request.app[RUNTIME].ids
    links = [
        {"rel": NODEINFO_SCHEMA.format(version=v), "href": f"{ids.base_url}/nodeinfo/{v}"}
        for v in NODEINFO_VERSIONS
    ]
    return _json({"links": links}, "application/json", _CORS)


async def nodeinfo(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    version = request.match_info["version"]
    return _json(nodeinfo_document(runtime.site.name, version), nodeinfo_content_type(version), _CORS)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/.well-known/webfinger", webfinger)
    app.router.add_get("/.well-known/host-meta", host_meta)
    app.router.add_get("/.well-known/nodeinfo", nodeinfo_links)
    app.router.add_get(r"/nodeinfo/{version:2\.[01]}", nodeinfo)
