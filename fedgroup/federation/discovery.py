"""WebFinger, host-meta and NodeInfo: how other servers find the group."""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

import orjson
from aiohttp import web

from fedgroup import __version__
from fedgroup.config import is_loopback_host
from fedgroup.net.fetch import FetchError, HttpClient
from fedgroup.protocol.ids import LocalIds
from fedgroup.runtime import RUNTIME

JRD_TYPE = "application/jrd+json"
PROFILE_PAGE_REL = "http://webfinger.net/rel/profile-page"
NODEINFO_SCHEMA = "http://nodeinfo.diaspora.software/ns/schema/{version}"
# Offered in this order in /.well-known/nodeinfo. 2.0 comes last on purpose: GoToSocial takes the last link
# whose rel starts with the 2.x schema, and accepts a document only with the 2.0 profile (or plain JSON);
# Takahē reads only 2.0; Misskey and others prefer 2.1 wherever it is in the list.
NODEINFO_VERSIONS = ("2.1", "2.0")


def nodeinfo_content_type(version: str) -> str:
    return f'application/json; profile="{NODEINFO_SCHEMA.format(version=version)}#"'


_CORS = {"Access-Control-Allow-Origin": "*"}


class BadResource(ValueError):
    pass


def parse_resource(resource: str) -> tuple[str, str] | str:
    """An acct: resource as (user, host), or an http(s) URL as itself; BadResource otherwise."""
    resource = resource.strip()
    if resource.startswith(("http://", "https://")):
        return resource
    if resource.startswith("acct:"):
        resource = resource[5:]
    resource = resource.removeprefix("@")
    user, sep, host = resource.rpartition("@")
    if not sep or not user or not host or "@" in user or "/" in host or " " in resource:
        raise BadResource(resource)
    return user, host


async def resolve_account(http: HttpClient, handle: str) -> str:
    """The actor id of @user@host (via WebFinger), or of an actor URL given as such."""
    if handle.strip().startswith(("http://", "https://")):
        return handle.strip()
    try:
        parsed = parse_resource(handle)
    except BadResource as e:
        raise FetchError("bad-handle", handle) from e
    assert isinstance(parsed, tuple)
    user, host = parsed
    scheme = "http" if is_loopback_host(host.rsplit(":", 1)[0].strip("[]")) else "https"
    jrd = await http.get_json(
        f"{scheme}://{host}/.well-known/webfinger?resource=acct:{user}@{host}",
        None,
        accept="application/jrd+json, application/json",
        content_types=(JRD_TYPE, "application/json"),
    )
    for link in jrd.get("links") or []:
        if (
            isinstance(link, dict)
            and link.get("rel") == "self"
            and str(link.get("type", "")).split(";")[0].strip()
            in ("application/activity+json", "application/ld+json")
            and isinstance(link.get("href"), str)
        ):
            return link["href"]
    raise FetchError("no-actor", f"WebFinger for {handle} names no ActivityPub actor")


def webfinger_subject(ids: LocalIds, resource: tuple[str, str] | str) -> tuple[str, str] | None:
    """(subject acct, actor id) for a resource naming one of our actors, else None."""
    if isinstance(resource, str):
        if resource in (ids.group,):
            return ids.acct, ids.group
        if resource == ids.instance_actor:
            return f"acct:{ids.domain}@{ids.domain}", ids.instance_actor
        return None
    user, host = resource
    if host.lower() != ids.domain.lower():
        return None
    if user.lower() == ids.handle.lower():
        return ids.acct, ids.group
    if user.lower() == ids.domain.lower():
        return f"acct:{ids.domain}@{ids.domain}", ids.instance_actor
    return None


def webfinger_document(subject: str, actor_id: str) -> dict[str, Any]:
    return {
        "subject": subject,
        "aliases": [actor_id],
        "links": [
            {"rel": "self", "type": "application/activity+json", "href": actor_id},
            {"rel": PROFILE_PAGE_REL, "type": "text/html", "href": actor_id},
        ],
    }


def nodeinfo_document(name: str, version: str = "2.1") -> dict[str, Any]:
    """NodeInfo 2.1 or 2.0 (the same fields: 2.0 has no `repository` or `homepage`, and we send neither).
    Usage is left empty on purpose: member counts are the group's business."""
    if version not in NODEINFO_VERSIONS:
        raise ValueError(f"NodeInfo {version} is not offered")
    return {
        "version": version,
        "software": {"name": "fedgroup", "version": __version__},
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": []},
        "openRegistrations": False,
        "usage": {"users": {}},
        "metadata": {"nodeName": name},
    }


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
