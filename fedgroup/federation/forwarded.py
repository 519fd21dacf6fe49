"""Activities forwarded by a third server (inbox forwarding): believed only once their origin confirms them.

Mastodon forwards a reply (and the Delete of a reply) to the followers of the account replied to, signed by
that account's key, not the author's; GoToSocial, Friendica and Hubzilla relay comments of the threads they
own. The forwarder's signature proves nothing about the author, and fedgroup does not verify LD signatures.
So the forwarded body is never used: before anything is stored, the object's own origin is asked what it
says (as GoToSocial does with forwarded objects), and what is stored is built from that answer:

- Create, Update: the object fetched from its id; only a copy answered from that very URL, whose id is that
  URL and whose author is the activity's actor, and then as if the author had sent it.
- Delete: only when the origin says the object is gone (404, 410 or a Tombstone).
- Anything else, or no confirmation: refused (403 `signer-not-actor`). Follows, votes, undos and blocks are
  never forwarded by the servers read, and only their actor may send them.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import orjson

from fedgroup.net.fetch import FetchError
from fedgroup.protocol import jsonld
from fedgroup.protocol.jsonld import id_of
from fedgroup.protocol.parse import Activity, ParseError, parse_activity, same_origin

if TYPE_CHECKING:
    from fedgroup.runtime import Runtime

log = logging.getLogger(__name__)

FORWARDABLE = frozenset({"Create", "Update", "Delete"})
MAX_JSONLD_BYTES = 64 * 1024  # as at the inbox: pyld's cost grows with the document


def can_forward(activity: Activity) -> bool:
    """Whether a forwarded copy of this activity can be checked at its origin."""
    return (
        activity.type in FORWARDABLE
        and activity.object_id is not None
        and activity.object_id != activity.actor  # an account's own Delete or Update: only from itself
        and same_origin(activity.object_id, activity.actor)
        and len(activity.objects) <= 1
    )


async def confirmed(runtime: Runtime, activity: Activity) -> tuple[Activity, dict[str, Any]] | None:
    """The activity and its document as the origin confirms them, or None (logged) when it does not."""
    object_id = activity.object_id
    if runtime.http is None or object_id is None or not can_forward(activity):
        return None
    try:
        fetched = await runtime.http.fetch_document(object_id, runtime.instance_signer)
    except FetchError as e:
        if activity.type == "Delete" and e.status in (404, 410):
            return _gone(activity)
        log.debug("forwarded activity dropped reason=fetch-%s object=%s", e.reason, object_id)
        return None
    origin = fetched.document
    if fetched.url != object_id or id_of(origin.get("id")) != object_id:
        log.debug("forwarded activity dropped reason=origin-id-mismatch object=%s", object_id)
        return None
    if activity.type == "Delete":
        if "Tombstone" in jsonld.types_of(origin):
            return _gone(activity)
        log.debug("forwarded activity dropped reason=not-deleted-at-origin object=%s", object_id)
        return None
    authors = [id_of(a) for a in jsonld.as_list(origin.get("attributedTo"))]
    if activity.actor not in authors:
        log.debug("forwarded activity dropped reason=author-not-actor object=%s", object_id)
        return None
    doc: dict[str, Any] = {
        "type": activity.type,
        "actor": activity.actor,
        "object": {k: v for k, v in origin.items() if k != "@context"},
    }
    if "@context" in origin:
        doc["@context"] = origin["@context"]
    if activity.id:
        doc["id"] = activity.id
    if jsonld.needs_jsonld(doc) and len(orjson.dumps(doc)) > MAX_JSONLD_BYTES:
        log.debug("forwarded activity dropped reason=jsonld-too-large object=%s", object_id)
        return None
    try:
        normalized = jsonld.normalize(doc)
        return parse_activity(normalized), normalized
    except (jsonld.DocumentError, ParseError) as e:
        log.debug("forwarded activity dropped reason=%s object=%s", getattr(e, "reason", "bad"), object_id)
        return None


def _gone(activity: Activity) -> tuple[Activity, dict[str, Any]]:
    """A Delete the origin confirmed: only its id, actor and object id are kept."""
    doc: dict[str, Any] = {"type": "Delete", "actor": activity.actor, "object": activity.object_id}
    if activity.id:
        doc["id"] = activity.id
    return parse_activity(doc), doc
