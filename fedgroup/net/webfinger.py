"""Finding an actor by @name@host: a WebFinger lookup on its server."""

from __future__ import annotations

from fedgroup.config import is_loopback_host
from fedgroup.net.fetch import FetchError, HttpClient
from fedgroup.protocol.discovery import JRD_TYPE, BadResource, parse_resource


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
            return str(link["href"])
    raise FetchError("no-actor", f"WebFinger for {handle} names no ActivityPub actor")
