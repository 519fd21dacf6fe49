"""What the group says: record an outgoing activity and queue its deliveries, in the caller's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import aiosqlite
import orjson

from fedgroup import store
from fedgroup.activitypub import vocab
from fedgroup.activitypub.ids import LocalIds


def new_activity_id(ids: LocalIds) -> str:
    return ids.activity(str(uuid.uuid4()))


async def send(
    conn: aiosqlite.Connection,
    activity: dict[str, Any],
    visibility: str,
    inboxes: Iterable[str],
    now: datetime,
    signer: str = "group",
) -> None:
    """Store the activity (served at its id) and queue it for each inbox."""
    obj = activity.get("object")
    object_id = obj.get("id") if isinstance(obj, dict) else obj if isinstance(obj, str) else None
    await store.outbox.add_activity(
        conn,
        activity["id"],
        activity["type"],
        object_id,
        visibility,
        signer,
        orjson.dumps(activity).decode(),
        now,
    )
    await store.outbox.add_deliveries(conn, activity["id"], inboxes, now)


async def send_to_followers(
    conn: aiosqlite.Connection, activity: dict[str, Any], visibility: str, now: datetime
) -> None:
    await send(conn, activity, visibility, await store.follows.follower_inboxes(conn), now)


async def accept_follow(
    conn: aiosqlite.Connection, ids: LocalIds, follow: dict[str, Any], inbox: str, now: datetime
) -> None:
    await send(conn, vocab.accept_follow(ids, new_activity_id(ids), follow), "direct", [inbox], now)


async def reject_follow(
    conn: aiosqlite.Connection, ids: LocalIds, follow: dict[str, Any], inbox: str, now: datetime
) -> None:
    await send(conn, vocab.reject_follow(ids, new_activity_id(ids), follow), "direct", [inbox], now)


async def publish_campaign(
    conn: aiosqlite.Connection, ids: LocalIds, campaign: store.campaigns.CampaignRow, now: datetime
) -> str | None:
    """Create(Note) of a new campaign to followers; `members` campaigns never leave the server."""
    if campaign.visibility == "members":
        return None
    note = vocab.campaign_note(
        ids, campaign.id, campaign.title, campaign.body, campaign.visibility, campaign.created_at
    )
    activity = vocab.create(ids, new_activity_id(ids), note)
    await send_to_followers(conn, activity, campaign.visibility, now)
    return activity["id"]
