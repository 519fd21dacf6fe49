"""Building our ActivityStreams documents. Pure: plain values in, dicts out; the only place JSON is shaped.

Shapes follow what Mastodon reads (app/lib/activitypub/activity/*.rb, app/serializers/activitypub/*): array
@context with the security vocabulary and inline extension terms, `publicKey` with `owner`, the public
collection as the full IRI, `Create` attributed to the Group itself (Mastodon has no FEP-1b12 support).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from fedgroup.protocol.ids import LocalIds
from fedgroup.protocol.jsonld import FEDGROUP_NS
from fedgroup.rules import languages

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
SECURITY_CONTEXT = "https://w3id.org/security/v1"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"

# Inline terms (no extra context URL anyone would have to fetch), as Mastodon does.
_ACTOR_TERMS = {
    "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
    "toot": "http://joinmastodon.org/ns#",
    "discoverable": "toot:discoverable",
    "indexable": "toot:indexable",
    "fedgroup": FEDGROUP_NS,
    "membersAtMost": "fedgroup:membersAtMost",
    "alsoKnownAs": {"@id": "as:alsoKnownAs", "@type": "@id"},
    "movedTo": {"@id": "as:movedTo", "@type": "@id"},
}
ACTOR_CONTEXT: list[Any] = [AS_CONTEXT, SECURITY_CONTEXT, _ACTOR_TERMS]
OBJECT_CONTEXT: list[Any] = [AS_CONTEXT]
# fedgroup's extension terms, inline so that nobody has to fetch a context: goals with their targets and
# totals, what each pledge option means, and partner groups' aggregate pledges.
FEDGROUP_TERMS: dict[str, Any] = {
    "fedgroup": FEDGROUP_NS,
    "toot": "http://joinmastodon.org/ns#",
    "votersCount": "toot:votersCount",
    "sensitive": "as:sensitive",
    "Goal": "fedgroup:Goal",
    "Pledge": "fedgroup:Pledge",
    "goals": {"@id": "fedgroup:goals", "@container": "@list"},
    "pledgeOptions": {"@id": "fedgroup:pledgeOptions", "@container": "@list"},
    "contributions": {"@id": "fedgroup:contributions", "@container": "@list"},
    "delivered": {"@id": "fedgroup:delivered", "@container": "@list"},
    "pledgersFewerThan": "fedgroup:pledgersFewerThan",
    "kind": "fedgroup:kind",
    "target": "fedgroup:target",
    "unit": "fedgroup:unit",
    "pledged": "fedgroup:pledged",
    "amount": "fedgroup:amount",
    "option": "fedgroup:option",
    "pledgers": "fedgroup:pledgers",
    "partnerGroups": "fedgroup:partnerGroups",
    "campaignTitle": "fedgroup:campaignTitle",
    "campaignStatus": "fedgroup:campaignStatus",
    "outcome": "fedgroup:outcome",
    "adaptedFrom": {"@id": "fedgroup:adaptedFrom", "@type": "@id"},
}
CAMPAIGN_CONTEXT: list[Any] = [AS_CONTEXT, FEDGROUP_TERMS]


def words_of(code: str | None) -> languages.Language:
    """The language of the fixed words ("Outcome:", the goals line, "Online:", "What worked") in what we
    federate, given the `contentMap` entry's language (a campaign's, the group's): that language, or English
    for an object from before languages were recorded, as it always read."""
    return languages.language(code if code in languages.LANGUAGES else languages.SOURCE_LANGUAGE)


def xsd_datetime(moment: datetime) -> str:
    """The timestamp form every server parses: UTC, seconds, trailing Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def paragraphs_html(text: str) -> str:
    """Plain text written by an organizer as escaped HTML paragraphs (blank line = new paragraph)."""
    blocks = [b.strip() for b in text.replace("\r\n", "\n").split("\n\n")]
    return "".join(f"<p>{html.escape(b).replace(chr(10), '<br>')}</p>" for b in blocks if b)


def _public_key(owner: str, key_id: str, public_key_pem: str) -> dict[str, str]:
    return {"id": key_id, "owner": owner, "publicKeyPem": public_key_pem}


def group_actor(
    ids: LocalIds,
    name: str,
    summary: str,
    public_key_pem: str,
    manually_approves_followers: bool,
    published: datetime | None = None,
    minimal: bool = False,
    members_at_most: int | None = None,
    icon: tuple[str, str] | None = None,
    also_known_as: tuple[str, ...] = (),
    moved_to: str | None = None,
) -> dict[str, Any]:
    """The group as a `Group` actor (with `alsoKnownAs` and `movedTo` when it moved: actions/moving.py); `icon` is the avatar's (URL, media type), if the group has one. `minimal` is what unsigned requests get under authorized fetch.

    `members_at_most` (a rounded-up member count, aggregates.members_at_most) tells partner groups how many
    pledgers one of our aggregates can plausibly name."""
    doc: dict[str, Any] = {
        "@context": ACTOR_CONTEXT,
        "id": ids.group,
        "type": "Group",
        "preferredUsername": ids.handle,
        "inbox": ids.inbox,
        "outbox": ids.outbox,
        "followers": ids.followers,
        "following": ids.following,
        "endpoints": {"sharedInbox": ids.shared_inbox},
        "publicKey": _public_key(ids.group, ids.group_key, public_key_pem),
        "url": ids.group,
        "manuallyApprovesFollowers": manually_approves_followers,
    }
    # Also in the minimal document: a server checking a Move fetches the actors, perhaps unsigned.
    if also_known_as:
        doc["alsoKnownAs"] = list(also_known_as)
    if moved_to is not None:
        doc["movedTo"] = moved_to
    if minimal:
        return doc
    doc["name"] = name
    doc["summary"] = paragraphs_html(summary)
    doc["discoverable"] = True
    doc["indexable"] = True
    if published is not None:
        doc["published"] = xsd_datetime(published)
    if members_at_most is not None:
        doc["membersAtMost"] = members_at_most
    if icon is not None:
        doc["icon"] = {"type": "Image", "mediaType": icon[1], "url": icon[0]}
    return doc


def move(ids: LocalIds, activity_id: str, target: str, published: datetime) -> dict[str, Any]:
    """The group moved to `target` (whose alsoKnownAs names us): to followers, as Mastodon sends a Move
    (actor and object: the moved actor)."""
    return {
        "@context": AS_CONTEXT,
        "id": activity_id,
        "type": "Move",
        "actor": ids.group,
        "object": ids.group,
        "target": target,
        "published": xsd_datetime(published),
        "to": [ids.followers],
    }


def update_actor(
    ids: LocalIds, activity_id: str, actor: dict[str, Any], published: datetime
) -> dict[str, Any]:
    """Update of our Group actor, public and to followers: how Mastodon and the others learn a new name,
    summary or avatar (they replace their copy of the actor with the embedded one)."""
    embedded = {k: v for k, v in actor.items() if k != "@context"}
    return {
        "@context": ACTOR_CONTEXT,
        "id": activity_id,
        "type": "Update",
        "actor": ids.group,
        "published": xsd_datetime(published),
        "to": [PUBLIC],
        "cc": [ids.followers],
        "object": embedded,
    }


def instance_actor(ids: LocalIds, public_key_pem: str) -> dict[str, Any]:
    """The server's own `Application` actor; its key signs our GETs (as Mastodon's instance actor does)."""
    return {
        "@context": ACTOR_CONTEXT,
        "id": ids.instance_actor,
        "type": "Application",
        "preferredUsername": ids.domain,
        "inbox": ids.shared_inbox,
        "outbox": ids.outbox,
        "endpoints": {"sharedInbox": ids.shared_inbox},
        "publicKey": _public_key(ids.instance_actor, ids.instance_key, public_key_pem),
        "url": ids.base_url,
        "manuallyApprovesFollowers": True,
        "discoverable": False,
    }


def accept_follow(ids: LocalIds, activity_id: str, follow: dict[str, Any]) -> dict[str, Any]:
    """Accept of a Follow, embedding the Follow's id, actor and object (Mastodon matches on these)."""
    return {
        "@context": AS_CONTEXT,
        "id": activity_id,
        "type": "Accept",
        "actor": ids.group,
        "to": [follow["actor"]],
        "object": {"id": follow["id"], "type": "Follow", "actor": follow["actor"], "object": ids.group},
    }


def reject_follow(ids: LocalIds, activity_id: str, follow: dict[str, Any]) -> dict[str, Any]:
    doc = accept_follow(ids, activity_id, follow)
    doc["type"] = "Reject"
    return doc


def block(ids: LocalIds, activity_id: str, target: str) -> dict[str, Any]:
    """The group blocks an account. Sent to that account's own inbox, as Mastodon does; GoToSocial and
    Misskey drop the account's follow of the group on it (they ignore a Reject of an accepted Follow)."""
    return {
        "@context": AS_CONTEXT,
        "id": activity_id,
        "type": "Block",
        "actor": ids.group,
        "object": target,
        "to": [target],
    }


def follow(ids: LocalIds, activity_id: str, target: str) -> dict[str, Any]:
    return {
        "@context": AS_CONTEXT,
        "id": activity_id,
        "type": "Follow",
        "actor": ids.group,
        "object": target,
        "to": [target],
    }


def undo(ids: LocalIds, activity_id: str, inner: dict[str, Any], to: Sequence[str]) -> dict[str, Any]:
    """Undo of one of our own activities, embedding it without its @context."""
    embedded = {k: v for k, v in inner.items() if k != "@context"}
    return {
        "@context": AS_CONTEXT,
        "id": activity_id,
        "type": "Undo",
        "actor": ids.group,
        "to": list(to),
        "object": embedded,
    }


def flag(
    ids: LocalIds, activity_id: str, account: str, objects: Sequence[str], comment: str
) -> dict[str, Any]:
    """A report about a remote account, sent by our instance actor so no member is named as reporter.
    Mastodon reads `object` as the account followed by the reported statuses, and the reason as `content`.
    Addressed to nobody (as Mastodon's): the account it is about is not its audience, and no one may fetch it."""
    return {
        "@context": AS_CONTEXT,
        "id": activity_id,
        "type": "Flag",
        "actor": ids.instance_actor,
        "object": [account, *[o for o in objects if o != account]],
        "content": comment,
    }


def addressing(ids: LocalIds, visibility: str) -> tuple[list[str], list[str]]:
    """to/cc for a visibility: public posts reach home timelines via followers in cc, as Mastodon does."""
    if visibility == "public":
        return [PUBLIC], [ids.followers]
    if visibility == "followers":
        return [ids.followers], []
    raise ValueError(f"visibility {visibility!r} does not federate")


def create(ids: LocalIds, activity_id: str, obj: dict[str, Any]) -> dict[str, Any]:
    """Create of one of our objects: same addressing and published time as the object."""
    embedded = {k: v for k, v in obj.items() if k != "@context"}
    return {
        "@context": obj.get("@context", AS_CONTEXT),
        "id": activity_id,
        "type": "Create",
        "actor": ids.group,
        "published": obj.get("published"),
        "to": obj.get("to", []),
        "cc": obj.get("cc", []),
        "object": embedded,
    }


def update(ids: LocalIds, activity_id: str, obj: dict[str, Any], published: datetime) -> dict[str, Any]:
    embedded = {k: v for k, v in obj.items() if k != "@context"}
    return {
        "@context": obj.get("@context", AS_CONTEXT),
        "id": activity_id,
        "type": "Update",
        "actor": obj.get("attributedTo", ids.group),
        "published": xsd_datetime(published),
        "to": obj.get("to", []),
        "cc": obj.get("cc", []),
        "object": embedded,
    }


def poll_state_for(
    ids: LocalIds, activity_id: str, obj: dict[str, Any], voter: str, published: datetime
) -> dict[str, Any]:
    """An `Update` of a campaign addressed to one voter only: the poll as it is now, sent to someone whose
    vote we refused because the campaign had closed. Misskey ignores `closed` and a moved `endTime` and lets
    its users vote on; what it does take from an `Update` of a `Question` is each option's count, so the
    refused vote drops out of the counts that voter sees. `updated` stays as it was: Mastodon then only
    refreshes the poll and shows no edit."""
    doc = update(ids, activity_id, obj, published)
    doc["to"] = [voter]
    doc["cc"] = []
    return doc


def tombstone(object_id: str, former_type: str, deleted: datetime) -> dict[str, Any]:
    return {
        "@context": AS_CONTEXT,
        "id": object_id,
        "type": "Tombstone",
        "formerType": former_type,
        "deleted": xsd_datetime(deleted),
    }


def delete(
    ids: LocalIds, activity_id: str, object_id: str, to: Sequence[str], cc: Sequence[str]
) -> dict[str, Any]:
    return {
        "@context": AS_CONTEXT,
        "id": activity_id,
        "type": "Delete",
        "actor": ids.group,
        "to": list(to),
        "cc": list(cc),
        "object": {"id": object_id, "type": "Tombstone"},
    }


def collection_summary(collection_id: str, total: int) -> dict[str, Any]:
    """A collection that tells its size and nothing else (followers, following)."""
    return {"@context": AS_CONTEXT, "id": collection_id, "type": "OrderedCollection", "totalItems": total}


def outbox_collection(outbox_id: str, total: int) -> dict[str, Any]:
    doc = collection_summary(outbox_id, total)
    doc["first"] = f"{outbox_id}?page=true"
    doc["last"] = f"{outbox_id}?page=true&min_id=0"
    return doc


def outbox_page(
    outbox_id: str, items: Sequence[dict[str, Any]], next_max_id: str | None, page_id: str
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "@context": AS_CONTEXT,
        "id": page_id,
        "type": "OrderedCollectionPage",
        "partOf": outbox_id,
        "orderedItems": [{k: v for k, v in item.items() if k != "@context"} for item in items],
    }
    if next_max_id is not None:
        doc["next"] = f"{outbox_id}?page=true&max_id={next_max_id}"
    return doc
