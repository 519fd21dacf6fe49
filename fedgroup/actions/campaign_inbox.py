"""What other servers tell us about campaigns: poll votes (pledges from Mastodon users), replies, likes and
boosts of ours; partner groups' campaigns and their aggregate pledges to ours. Handlers are safe to run twice.

A voter's actor id is kept only to count each voter once and to tell them new tallies; it is never shown to
anyone or sent anywhere.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import datetime
from typing import Any

import orjson

from fedgroup import store
from fedgroup.actions import blueprint_inbox, handling, outbox, partnership
from fedgroup.actions.campaigns import load_campaign
from fedgroup.actions.context import Context
from fedgroup.net.fetch import FetchError
from fedgroup.protocol import blueprints as blueprint_docs
from fedgroup.protocol import jsonld
from fedgroup.protocol.parse import Activity, ParseError, parse_note, parse_object_type, same_origin
from fedgroup.protocol.parse_campaigns import parse_group_pledge, parse_partner_campaign
from fedgroup.rules import campaigns
from fedgroup.rules.campaign_state import CampaignRecord
from fedgroup.rules.sanitize import clean_html, clean_text

log = logging.getLogger(__name__)

MAX_COMMENT = 20_000
CAMPAIGN_OBJECT_TYPES = ("Note", "Question", "Article", "Page")


def _is_partner(conn: sqlite3.Connection, actor: str) -> bool:
    following = store.follows.following_of(conn, actor)
    return following is not None and following.state == "accepted"


# -- Create ---------------------------------------------------------------------------------------------------


async def on_create(runtime: Context, activity: Activity) -> None:
    # Usually one object; Mitra sends the choices of a multiple-choice vote as one Create of several Notes,
    # each checked like a single one (same origin as the actor at the edge, attributed to the actor here).
    # Only the last object's write may mark the activity done (actions.handling).
    objects = activity.objects
    for obj in objects[:-1]:
        with handling.not_last():
            await _on_created(runtime, activity, obj)
    for obj in objects[-1:]:
        await _on_created(runtime, activity, obj)


async def _on_created(runtime: Context, activity: Activity, obj: dict[str, Any]) -> None:
    if blueprint_docs.is_blueprint(obj):
        await blueprint_inbox.on_partner_blueprint(runtime, activity)
        return
    if parse_object_type(obj) not in CAMPAIGN_OBJECT_TYPES:
        return
    note = parse_note(obj)
    if note.attributed_to not in (None, activity.actor):
        log.info("create ignored reason=author-not-actor actor=%s", activity.actor)
        return
    campaign_id = runtime.ids.campaign_id_of(note.in_reply_to) if note.in_reply_to else None
    if campaign_id is not None:
        if note.is_vote:
            await _vote(runtime, activity, note.id, note.name or "", campaign_id)
        else:
            await _comment(runtime, activity, note, campaign_id)
        return
    if note.in_reply_to is None:
        await save_partner_campaign(runtime, activity.actor, obj)


def _refusal(row: CampaignRecord | None, now: datetime) -> str | None:
    """Why a vote or a group pledge cannot count toward this campaign, or None when it can.

    Needs only the campaign's row, so a vote does not load (or tally) anything else.
    """
    if row is None or row.deleted_at is not None or row.visibility == "members" or row.draft:
        return "unknown-campaign"
    if not campaigns.is_open(row.status, row.deadline, now):
        return "closed"
    return None


async def _vote(runtime: Context, activity: Activity, vote_id: str, label: str, campaign_id: int) -> None:
    now = runtime.now()
    done = handling.done_mark()

    def job(conn: sqlite3.Connection) -> str:
        # The row and its options only: loading the campaign's state would recount every vote on each
        # vote, which made a storm of votes quadratic.
        row = store.campaigns.get(conn, campaign_id)
        refusal = _refusal(row, now)
        if refusal != "closed":  # a closed poll's late vote is answered after this write
            done(conn)
        if refusal is not None:
            return refusal  # Mastodon swallows votes after endTime too
        assert row is not None
        stored = store.campaigns.options(conn, campaign_id)
        chosen = campaigns.option_named([o.label for o in stored], label)
        option_id = stored[chosen].id if chosen is not None else None
        if option_id is None:
            return "no-such-option"
        if row.visibility == "followers":
            if not store.follows.is_accepted_follower(conn, activity.actor):
                return "not-a-follower"
        added = store.pledges.add_vote(
            conn, campaign_id, option_id, activity.actor, vote_id, not row.multiple_choice, now
        )
        if added:
            store.campaigns.totals_changed(conn, campaign_id, now)
        return "counted" if added else "duplicate"

    outcome = await runtime.db.write(job)
    log.info("vote %s campaign=%d", outcome, campaign_id)
    runtime.wake_scheduler()
    if outcome == "closed":
        await _answer_late_vote(runtime, activity.actor, campaign_id)


async def _answer_late_vote(runtime: Context, voter: str, campaign_id: int) -> None:
    """Tell a voter whose server let them vote after closing (Misskey ignores `closed` and a moved `endTime`)
    how the poll stands, so their server drops the refused vote from its counts. Rate-limited per voter: a
    late vote must not buy an unbounded number of deliveries."""
    if runtime.late_vote_answers.take(voter, runtime.now().timestamp()) is not None:
        log.info("late vote not answered reason=rate-limited campaign=%d", campaign_id)
        return
    assert runtime.actors is not None
    try:
        inbox = (await runtime.actors.actor(voter)).inbox  # their own inbox: the answer is for them alone
    except FetchError as e:
        log.info("late vote not answered reason=%s campaign=%d", e.reason, campaign_id)
        return
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> bool:
        state = load_campaign(conn, campaign_id)
        return state is not None and outbox.answer_late_vote(
            conn, runtime.ids, state, voter, inbox, now, minimum=runtime.config.min_disclosed_count
        )

    if await runtime.db.write(job):
        runtime.deliveries_queued()
        log.info("late vote answered with the poll's state campaign=%d", campaign_id)


async def _comment(runtime: Context, activity: Activity, note: Any, campaign_id: int) -> None:
    now = runtime.now()
    content = clean_html(note.content or "", MAX_COMMENT)

    def job(conn: sqlite3.Connection) -> bool:
        row = store.campaigns.get(conn, campaign_id)
        if row is None or row.deleted_at is not None or row.visibility == "members" or row.draft:
            return False
        store.campaigns.add_comment(
            conn,
            note.id,
            campaign_id,
            activity.actor,
            content,
            note.url,
            clean_text(note.published or "", 40),
            now,
        )
        return True

    if await runtime.db.write(handling.finishing(job)):
        log.info("reply stored campaign=%d actor=%s", campaign_id, activity.actor)


async def save_partner_campaign(runtime: Context, actor: str, obj: dict[str, Any]) -> bool:
    """Store (or refresh) a campaign of a group we follow; anything else is ignored (a partner's outbox also
    lists its gatherings' Events: not campaigns)."""
    if parse_object_type(obj) not in CAMPAIGN_OBJECT_TYPES:
        log.info("partner campaign ignored reason=not-a-campaign actor=%s", actor)
        return False
    try:
        doc = parse_partner_campaign(obj)
    except ParseError as e:
        log.info("partner campaign ignored reason=%s actor=%s", e.reason, actor)
        return False
    if doc.attributed_to != actor or not same_origin(doc.id, actor):
        return False
    goals_json = orjson.dumps(
        [
            {"kind": g.kind, "target": campaigns.amount_text(g.target), "unit": g.unit,
             "pledged": campaigns.amount_text(p)}
            for g, p in zip(doc.goals, doc.pledged, strict=True)
        ]
    ).decode()  # fmt: skip
    options_json = orjson.dumps(
        [
            {"name": o.label, "kind": o.kind, "amount": campaigns.amount_text(o.amount), "count": n}
            for o, n in zip(doc.options, doc.option_counts, strict=True)
        ]
    ).decode()
    # Each language's text sanitized like `content`: what a visitor reads in their language is as safe.
    content_map = (
        orjson.dumps({tag: clean_html(text, MAX_COMMENT) for tag, text in doc.content_map}).decode()
        if doc.content_map
        else None
    )
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> bool:
        if not _is_partner(conn, actor):
            return False
        store.campaigns.save_partner_campaign(
            conn, doc.id, actor, clean_text(doc.title, 200), clean_html(doc.content, MAX_COMMENT), doc.url,
            goals_json, options_json, doc.deadline, doc.closed, "public" if doc.public else "followers",
            doc.published, now, content_map,
        )  # fmt: skip
        return True

    saved = await runtime.db.write(job)
    if saved:
        log.info("partner campaign stored group=%s campaign=%s", actor, doc.id)
    return saved


# -- group pledges ------------------------------------------------------------------------------------------


async def on_pledge(runtime: Context, activity: Activity) -> None:
    await _group_pledge(runtime, activity.actor, activity.raw, activity.id or "")


async def _group_pledge(runtime: Context, actor: str, pledge: dict[str, Any], pledge_id: str) -> None:
    """A group's aggregate pledge to one of our campaigns: counted only from a partner group and only when
    plausible; held for an organizer, or dropped (partnership.py has the rules)."""
    campaign_id = runtime.ids.campaign_id_of(jsonld.id_of(pledge.get("object")) or "")
    if campaign_id is None or not same_origin(pledge_id, actor):
        log.info("group pledge ignored reason=not-our-campaign group=%s", actor)
        return
    try:
        aggregate = parse_group_pledge(pledge)
    except ParseError as e:
        log.info("group pledge ignored reason=%s actor=%s", e.reason, actor)
        return
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> str:
        state = load_campaign(conn, campaign_id)
        refusal = _refusal(state.row if state else None, now)
        if refusal == "closed" and state is not None:
            return partnership.take_delivered_after_close(conn, state, actor, pledge_id, aggregate, now)
        if refusal is not None:
            return refusal
        assert state is not None
        return partnership.take_aggregate(conn, state, actor, pledge_id, aggregate, now)

    outcome = await runtime.db.write(handling.finishing(job))
    log.info("group pledge %s campaign=%d group=%s", outcome, campaign_id, actor)
    if outcome == "counted":
        runtime.wake_scheduler()


# -- Update, Delete, Undo of objects ------------------------------------------------------------------------


async def on_update_object(runtime: Context, activity: Activity) -> None:
    obj = activity.object
    if obj is None:
        return
    if blueprint_docs.is_blueprint(obj):
        await blueprint_inbox.on_partner_blueprint(runtime, activity)
    elif activity.object_type == "Pledge":
        if jsonld.id_of(obj.get("actor")) == activity.actor and activity.object_id:
            await _group_pledge(runtime, activity.actor, obj, activity.object_id)
    elif activity.object_type in CAMPAIGN_OBJECT_TYPES:
        await save_partner_campaign(runtime, activity.actor, obj)


async def on_delete_object(runtime: Context, activity: Activity) -> None:
    object_id = activity.object_id
    if not object_id:
        return
    actor = activity.actor
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> str:
        if store.campaigns.remove_partner_campaign(conn, object_id, actor):
            return "partner-campaign"
        if store.campaigns.remove_comment(conn, object_id, actor):
            return "reply"
        if store.blueprints.remove_partner_blueprint(conn, object_id, actor):
            return "partner-blueprint"
        campaign_id = store.pledges.remove_vote(conn, object_id, actor)
        if campaign_id is not None:
            store.campaigns.totals_changed(conn, campaign_id, now)
            return "vote"
        return "nothing"

    removed = await runtime.db.write(handling.finishing(job))
    log.info("delete handled removed=%s actor=%s", removed, actor)
    runtime.wake_scheduler()


async def on_undo_object(runtime: Context, activity: Activity, inner_type: str | None) -> None:
    """Undo of a vote's Create, of a group Pledge, of a Like or a boost."""
    inner = activity.object or {}
    inner_id = activity.object_id or ""
    actor = activity.actor
    now = runtime.now()
    vote_id = jsonld.id_of(inner.get("object")) if inner_type == "Create" else None

    def job(conn: sqlite3.Connection) -> str:
        if vote_id:
            campaign_id = store.pledges.remove_vote(conn, vote_id, actor)
            if campaign_id is not None:
                store.campaigns.totals_changed(conn, campaign_id, now)
                return "vote"
        released = store.partners.release_pledge(conn, inner_id, actor)
        campaign_id = store.pledges.remove_group_pledge(conn, inner_id, actor)
        if campaign_id is not None:
            store.campaigns.totals_changed(conn, campaign_id, now)
            return "group-pledge"
        if released:
            return "held-group-pledge"
        if store.pledges.remove_reaction(conn, inner_id, actor):
            return "reaction"
        return "nothing"

    undone = await runtime.db.write(handling.finishing(job))
    log.info("undo handled undone=%s actor=%s", undone, actor)
    runtime.wake_scheduler()


# -- likes and boosts ------------------------------------------------------------------------------------------


async def on_reaction(runtime: Context, activity: Activity) -> None:
    campaign_id = runtime.ids.campaign_id_of(activity.object_id or "")
    if campaign_id is None or not activity.id:
        return
    kind = "like" if activity.type == "Like" else "share"
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> None:
        store.pledges.add_reaction(conn, campaign_id, activity.actor, kind, activity.id or "", now)

    await runtime.db.write(handling.finishing(job))
