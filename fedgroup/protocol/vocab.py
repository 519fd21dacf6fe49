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
from fedgroup.rules import campaigns, tallies
from fedgroup.rules.campaign_state import CampaignState

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
}
CAMPAIGN_CONTEXT: list[Any] = [AS_CONTEXT, FEDGROUP_TERMS]


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
) -> dict[str, Any]:
    """The group as a `Group` actor. `minimal` is what unsigned requests get under authorized fetch.

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
    return doc


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


# Fewer options than this and a campaign is a `Note`, not a poll: Takahē compacts every incoming document with
# JSON-LD, which turns a one-item `oneOf` into a bare object that its poll model then refuses, so a one-option
# `Question` never arrives there.
MIN_POLL_OPTIONS = 2


def is_poll(state: CampaignState) -> bool:
    """Whether the campaign federates as a `Question` (people on other servers pledge by voting)."""
    return len(state.options) >= MIN_POLL_OPTIONS


def poll_end(state: CampaignState) -> datetime | None:
    """When voting ends as other servers should show it: the deadline, or the closing time once closed
    early. Takahē ignores `closed` and keeps a poll open until `endTime`, so closing moves `endTime` too."""
    row = state.row
    if row.status == "closed" and row.closed_at is not None:
        return min(row.closed_at, row.deadline) if row.deadline is not None else row.closed_at
    return row.deadline


def campaign_object(ids: LocalIds, state: CampaignState, page_url: str | None = None) -> dict[str, Any]:
    """A campaign as Mastodon and other fedgroup servers read it.

    With two or more pledge options it is a `Question` (a poll: each option's replies.totalItems is the number
    of pledges for it, votersCount how many pledged, endTime the deadline or closing time, closed once
    closed); otherwise a `Note`. The title and the progress line lead `content`, and there is no `name`:
    GoToSocial and Takahē show `name` as a content warning, Misskey as a heading above the text, so the title
    would be folded away or shown twice. fedgroup servers read the title from `campaignTitle` and the goals,
    targets and totals from the other fedgroup terms.
    """
    row = state.row
    to, cc = addressing(ids, row.visibility)
    object_id = ids.campaign(row.id)
    tally = state.tally
    content = f"<p><strong>{html.escape(row.title)}</strong></p>{paragraphs_html(row.body)}"
    if state.progress_text:
        content += f"<p>{html.escape(state.progress_text)}</p>"
    if row.outcome:
        content += f"<p>Outcome: {html.escape(row.outcome)}</p>"
    poll = is_poll(state)
    doc: dict[str, Any] = {
        "@context": CAMPAIGN_CONTEXT,
        "id": object_id,
        "type": "Question" if poll else "Note",
        "attributedTo": ids.group,
        "content": content,
        "mediaType": "text/html",
        "url": page_url or object_id,
        "published": xsd_datetime(row.created_at),
        "to": to,
        "cc": cc,
        "sensitive": False,
        "campaignTitle": row.title,
        "goals": [
            {
                "type": "Goal",
                "kind": line.goal.kind,
                "target": campaigns.amount_text(line.goal.target),
                "pledged": campaigns.amount_text(line.pledged),
            }
            | ({"unit": line.goal.unit} if line.goal.unit else {})
            for line in tally.progress
        ],
        "pledgers": tally.pledgers,
        "partnerGroups": tally.partner_groups,
        "campaignStatus": row.status,
    }
    if row.updated_at != row.created_at:
        doc["updated"] = xsd_datetime(row.updated_at)
    if row.outcome:
        doc["outcome"] = row.outcome
    end = poll_end(state)
    if end is not None:
        # On a Note too: servers show no poll for it, and fedgroup servers read the deadline from it.
        doc["endTime"] = xsd_datetime(end)
    if state.options:
        doc["pledgeOptions"] = [
            {"name": o.label, "kind": o.kind, "amount": campaigns.amount_text(o.amount)}
            for o in state.options
        ]
    if poll:
        counts = dict(tally.option_counts)
        doc["anyOf" if row.multiple_choice else "oneOf"] = [
            {
                "type": "Note",
                "name": o.label,
                "replies": {"type": "Collection", "totalItems": counts.get(o.label, 0)},
            }
            for o in state.options
        ]
        doc["votersCount"] = tally.pledgers
        if row.status == "closed" and row.closed_at is not None:
            doc["closed"] = xsd_datetime(row.closed_at)
    return doc


def outcome_note(ids: LocalIds, state: CampaignState, summary: str, published: datetime) -> dict[str, Any]:
    """The outcome report: a reply to the campaign, addressed like it."""
    row = state.row
    to, cc = addressing(ids, row.visibility)
    report = row.outcome or ""
    return {
        "@context": OBJECT_CONTEXT,
        "id": f"{ids.campaign(row.id)}/outcome",
        "type": "Note",
        "attributedTo": ids.group,
        "inReplyTo": ids.campaign(row.id),
        "content": f"<p><strong>Outcome: {html.escape(row.title)}</strong></p>{paragraphs_html(report)}"
        f"<p>{html.escape(summary)}</p>",
        "mediaType": "text/html",
        "published": xsd_datetime(published),
        "to": to,
        "cc": cc,
    }


def group_pledge(
    ids: LocalIds,
    pledge_id: str,
    partner_group: str,
    campaign_id: str,
    aggregate: tallies.GroupAggregate,
    summary: str,
) -> dict[str, Any]:
    """Our group's aggregate pledge to a partner's campaign: amounts per option or goal and head counts,
    never names. An activity like Like (so it can be replaced by Update and withdrawn by Undo)."""
    return {
        "@context": CAMPAIGN_CONTEXT,
        "id": pledge_id,
        "type": "Pledge",
        "actor": ids.group,
        "object": campaign_id,
        "to": [partner_group],
        "content": summary,
        "pledgers": aggregate.pledgers,
        "contributions": [
            {
                "kind": line.contribution.kind,
                "amount": campaigns.amount_text(line.contribution.amount),
                "option": line.option,
                "pledgers": line.pledgers,
            }
            for line in aggregate.lines
        ],
    }


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
