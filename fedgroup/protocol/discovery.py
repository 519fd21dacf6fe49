"""WebFinger and NodeInfo as data: reading a resource, the documents that answer for our actors. Pure."""

from __future__ import annotations

from typing import Any

from fedgroup import __version__
from fedgroup.protocol.ids import LocalIds

JRD_TYPE = "application/jrd+json"
PROFILE_PAGE_REL = "http://webfinger.net/rel/profile-page"
NODEINFO_SCHEMA = "http://nodeinfo.diaspora.software/ns/schema/{version}"
# Offered in this order in /.well-known/nodeinfo. 2.0 comes last on purpose: GoToSocial takes the last link
# whose rel starts with the 2.x schema, and accepts a document only with the 2.0 profile (or plain JSON);
# Takahē reads only 2.0; Misskey and others prefer 2.1 wherever it is in the list.
NODEINFO_VERSIONS = ("2.1", "2.0")


def nodeinfo_content_type(version: str) -> str:
    return f'application/json; profile="{NODEINFO_SCHEMA.format(version=version)}#"'


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
