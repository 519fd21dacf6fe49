"""What the group says: record an outgoing activity and queue its deliveries, in the caller's transaction."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import orjson

from fedgroup import store
from fedgroup.protocol import vocab, vocab_campaigns
from fedgroup.protocol.ids import LocalIds
from fedgroup.rules.campaign_state import CampaignState


def new_activity_id(ids: LocalIds) -> str:
    return ids.activity(str(uuid.uuid4()))


def send(
    conn: sqlite3.Connection,
    activity: dict[str, Any],
    visibility: str,
    inboxes: Iterable[str],
    now: datetime,
    signer: str = "group",
) -> None:
    """Store the activity (served at its id) and queue it for each inbox. An Update replaces an earlier
    Update of the same object still queued for the same inbox (store.outbox.supersede_updates): during a vote
    storm a slow inbox gets the newest totals, not every total on the way."""
    obj = activity.get("object")
    object_id = obj.get("id") if isinstance(obj, dict) else obj if isinstance(obj, str) else None
    inboxes = list(inboxes)
    if activity["type"] == "Update" and isinstance(object_id, str):
        store.outbox.supersede_updates(conn, activity["id"], object_id, inboxes)
    store.outbox.add_activity(
        conn,
        activity["id"],
        activity["type"],
        object_id,
        visibility,
        signer,
        orjson.dumps(activity).decode(),
        now,
    )
    store.outbox.add_deliveries(conn, activity["id"], inboxes, now)


def send_to_followers(
    conn: sqlite3.Connection, activity: dict[str, Any], visibility: str, now: datetime
) -> None:
    send(conn, activity, visibility, store.follows.follower_inboxes(conn), now)


def accept_follow(
    conn: sqlite3.Connection, ids: LocalIds, follow: dict[str, Any], inbox: str, now: datetime
) -> None:
    send(conn, vocab.accept_follow(ids, new_activity_id(ids), follow), "direct", [inbox], now)


def reject_follow(
    conn: sqlite3.Connection, ids: LocalIds, follow: dict[str, Any], inbox: str, now: datetime
) -> None:
    send(conn, vocab.reject_follow(ids, new_activity_id(ids), follow), "direct", [inbox], now)


def campaign_audience(conn: sqlite3.Connection, campaign_id: int) -> list[str]:
    """Who hears about a campaign's changes: followers, and remote voters (Mastodon tells its voters too)."""
    inboxes = store.follows.follower_inboxes(conn)
    inboxes += store.pledges.voter_inboxes(conn, campaign_id)
    return list(dict.fromkeys(inboxes))


def publish_campaign(
    conn: sqlite3.Connection, ids: LocalIds, state: CampaignState, now: datetime, *, minimum: int
) -> str | None:
    """Create of a new campaign to followers; `members` campaigns never leave the server."""
    if not state.federates:
        return None
    activity = vocab.create(ids, new_activity_id(ids), vocab_campaigns.campaign_object(ids, state, minimum=minimum))
    send_to_followers(conn, activity, state.row.visibility, now)
    return str(activity["id"])


def update_campaign(
    conn: sqlite3.Connection, ids: LocalIds, state: CampaignState, now: datetime, *, minimum: int
) -> None:
    """Update with the campaign as it is now (text, totals, closed)."""
    if not state.federates:
        return
    activity = vocab.update(ids, new_activity_id(ids), vocab_campaigns.campaign_object(ids, state, minimum=minimum), now)
    send(conn, activity, state.row.visibility, campaign_audience(conn, state.id), now)


def answer_late_vote(
    conn: sqlite3.Connection, ids: LocalIds, state: CampaignState, voter: str, inbox: str, now: datetime,
    *, minimum: int,
) -> bool:
    """The poll as it is now, to one voter whose vote came after the campaign closed (their server still
    showed it open), so their server can put its counts right. Only to someone who may see the campaign, and
    only for a campaign that federates as a poll."""
    row = state.row
    if not state.federates or row.deleted_at is not None or not vocab_campaigns.is_poll(state):
        return False
    if row.visibility == "followers" and not store.follows.is_accepted_follower(conn, voter):
        return False
    obj = vocab_campaigns.campaign_object(ids, state, minimum=minimum)
    send(conn, vocab.poll_state_for(ids, new_activity_id(ids), obj, voter, now), "direct", [inbox], now)
    return True


def delete_campaign(
    conn: sqlite3.Connection, ids: LocalIds, campaign_id: int, visibility: str, now: datetime
) -> None:
    """Delete(Tombstone) to everyone who may hold the campaign; call before its votes are erased."""
    if visibility == "members":
        return
    to, cc = vocab.addressing(ids, visibility)
    activity = vocab.delete(ids, new_activity_id(ids), ids.campaign(campaign_id), to, cc)
    audience = campaign_audience(conn, campaign_id)
    store.outbox.remove_activities_of_object(conn, ids.campaign(campaign_id))
    send(conn, activity, visibility, audience, now)


def publish_outcome(
    conn: sqlite3.Connection, ids: LocalIds, state: CampaignState, summary: str, now: datetime
) -> None:
    if not state.federates:
        return
    activity = vocab.create(ids, new_activity_id(ids), vocab_campaigns.outcome_note(ids, state, summary, now))
    send(conn, activity, state.row.visibility, campaign_audience(conn, state.id), now)


def update_outcome(
    conn: sqlite3.Connection, ids: LocalIds, state: CampaignState, summary: str, now: datetime
) -> None:
    """The outcome restated (its campaign was reopened, or closed again): an Update of the same Note."""
    if not state.federates or state.row.outcome_at is None:
        return
    note = vocab_campaigns.outcome_note(ids, state, summary, state.row.outcome_at, updated=now)
    activity = vocab.update(ids, new_activity_id(ids), note, now)
    send(conn, activity, state.row.visibility, campaign_audience(conn, state.id), now)


def follow(conn: sqlite3.Connection, ids: LocalIds, target: str, inbox: str, now: datetime) -> str:
    activity = vocab.follow(ids, new_activity_id(ids), target)
    send(conn, activity, "direct", [inbox], now)
    return str(activity["id"])


def unfollow(
    conn: sqlite3.Connection, ids: LocalIds, target: str, follow_id: str, inbox: str, now: datetime
) -> None:
    follow_doc = vocab.follow(ids, follow_id, target)
    send(conn, vocab.undo(ids, new_activity_id(ids), follow_doc, [target]), "direct", [inbox], now)


def send_group_pledge(
    conn: sqlite3.Connection,
    ids: LocalIds,
    pledge: dict[str, Any],
    previous: dict[str, Any] | None,
    inbox: str,
    now: datetime,
) -> None:
    """First our aggregate pledge itself, later an Update replacing it."""
    if previous is None:
        send(conn, pledge, "direct", [inbox], now)
    else:
        activity = vocab.update(ids, new_activity_id(ids), pledge, now)
        send(conn, activity, "direct", [inbox], now)


def withdraw_group_pledge(
    conn: sqlite3.Connection, ids: LocalIds, pledge: dict[str, Any], inbox: str, now: datetime
) -> None:
    send(conn, vocab.undo(ids, new_activity_id(ids), pledge, pledge["to"]), "direct", [inbox], now)
