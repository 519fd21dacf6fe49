"""Coalitions: following other groups and leaving them, sending partners our members' aggregate pledges,
and deciding whose aggregates count here (partner groups, partner requests, held aggregates)."""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import orjson

from fedgroup import store
from fedgroup.actions import outbox, partner_releases, partnership
from fedgroup.actions.campaigns import load_campaign
from fedgroup.actions.context import ActionError, Context
from fedgroup.net import webfinger
from fedgroup.net.fetch import FetchError
from fedgroup.rules import campaigns
from fedgroup.rules.campaigns import Goal
from fedgroup.rules.languages import N_, Message

log = logging.getLogger(__name__)


partner_goals = partner_releases.partner_goals


partner_open = partner_releases.partner_open


def send_aggregate(conn: sqlite3.Connection, runtime: Context, partner_campaign_id: int, now: datetime) -> None:
    """A change to our members' aggregate for a partner's campaign: released in its batch (partner_releases)."""
    partner_releases.changed(conn, runtime, partner_campaign_id, now)


async def follow_group(runtime: Context, actor: store.actors.CachedActor) -> None:
    """Our group follows another group (a coalition partner); its campaigns arrive once it accepts."""
    if actor.id == runtime.ids.group:
        raise ActionError(N_("a group cannot follow itself"), "handle")
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> None:
        store.actors.save(conn, actor)
        follow_id = outbox.follow(conn, runtime.ids, actor.id, actor.inbox, now)
        store.follows.add_following(conn, actor.id, follow_id, now)

    await runtime.db.write(job)
    runtime.deliveries_queued()
    log.info("following group=%s", actor.id)


@dataclass(frozen=True)
class PledgeAtStake:
    """One pledge that an erasure or a coalition leave touches, and what happens to it."""

    pledge: store.pledges.MemberPledge
    where: str  # the campaign's title
    text: str  # the pledge as the member sees it ("Give €20 (€20)")
    partner_group: str | None  # the partner group, for a pledge to a partner's campaign
    frozen: bool  # the campaign is closed: its figures (ours, or our aggregate at the partner) stay


def _pledge_text(pledge: store.pledges.MemberPledge, goals: list[Goal] | tuple[Goal, ...]) -> str:
    worth = campaigns.format_quantity(pledge.kind, pledge.amount, campaigns.units_of(goals).get(pledge.kind))
    return f"{pledge.option_label} ({worth})" if pledge.option_label else worth


def pledges_at_stake(
    conn: sqlite3.Connection, pledges: list[store.pledges.MemberPledge], now: datetime
) -> list[PledgeAtStake]:
    """Members' pledges (to our campaigns or partners'), each with where it is and whether it is frozen there."""
    found = []
    for p in pledges:
        if p.campaign_id is not None:
            state = load_campaign(conn, p.campaign_id)
            if state is None or state.row.deleted_at is not None:
                continue
            text = _pledge_text(p, state.goals)
            found.append(PledgeAtStake(p, state.row.title, text, None, not state.is_open(now)))
        else:
            partner = store.campaigns.partner_campaign(conn, p.partner_campaign_id or 0)
            if partner is None:
                continue
            goals, _ = partner_goals(partner)
            text = _pledge_text(p, goals)
            found.append(
                PledgeAtStake(p, partner.title, text, partner.group_actor, not partner_open(partner, now))
            )
    return found


async def coalition_leave(runtime: Context, actor_id: str) -> list[PledgeAtStake]:
    """What leaving a partner group withdraws, said before it is done: our members' pledges to its campaigns
    (to an open campaign: our aggregate is withdrawn; to a closed one: it stays there as it was)."""
    now = runtime.now()

    def read(conn: sqlite3.Connection) -> list[PledgeAtStake]:
        if store.follows.following_of(conn, actor_id) is None:
            raise ActionError(Message(N_("we do not follow %(actor)s"), actor=actor_id), "handle")
        pledges = []
        for partner in store.campaigns.partner_campaigns(conn, actor_id):
            pledges += store.pledges.pledges_for_partner_campaign(conn, partner.id)
        return pledges_at_stake(conn, pledges, now)

    return await runtime.db.read(read)


async def leave_group(runtime: Context, actor_id: str) -> None:
    """Stop following a partner: withdraw our pledges to its open campaigns (a closed one's figures are frozen
    there), Undo the Follow, forget its campaigns. Each member whose pledge goes is told why on "My pledges"."""
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> None:
        following = store.follows.following_of(conn, actor_id)
        if following is None:
            raise ActionError(Message(N_("we do not follow %(actor)s"), actor=actor_id), "handle")
        actor = store.actors.by_id(conn, actor_id)
        group_name = (actor.name if actor is not None else None) or actor_id
        day = now.strftime("%-d %B %Y")
        for partner in store.campaigns.partner_campaigns(conn, actor_id):
            sent = store.pledges.sent_group_pledge(conn, partner.id)
            if sent is not None and actor is not None and partner_open(partner, now):
                outbox.withdraw_group_pledge(conn, runtime.ids, orjson.loads(sent[1]), actor.inbox, now)
        pledges = []
        for partner in store.campaigns.partner_campaigns(conn, actor_id):
            pledges += store.pledges.pledges_for_partner_campaign(conn, partner.id)
        for stake in pledges_at_stake(conn, pledges, now):
            store.pledges.add_notice(
                conn,
                stake.pledge.member_id,
                f"Your pledge {stake.text} to \u201c{stake.where}\u201d was withdrawn on {day}: our group left the"
                f" coalition with {group_name}."
                + (
                    " That campaign was closed, so our group's total there stays as it was."
                    if stake.frozen
                    else ""
                ),
                now,
            )
        if actor is not None:
            outbox.unfollow(conn, runtime.ids, actor_id, following.follow_id, actor.inbox, now)
        store.campaigns.remove_partner_campaigns_of(conn, actor_id)
        store.follows.remove_following(conn, actor_id)
        # Partners because we followed them are not any more (an organizer's acceptance stands).
        partnership.reconsider(conn, actor_id, now)

    await runtime.db.write(job)
    runtime.deliveries_queued()
    runtime.wake_scheduler()
    log.info("left group=%s", actor_id)


HANDLE_EXAMPLE = "@name@example.org"


def _host_of(handle: str) -> str:
    handle = handle.strip()
    if handle.startswith(("http://", "https://")):
        return urlsplit(handle).netloc or handle
    return handle.rsplit("@", 1)[-1] if "@" in handle.lstrip("@") else handle


def lookup_failure(handle: str, error: FetchError) -> str:
    """What a person reads when a group cannot be looked up: what happened, in words, and what to try. The
    grep-able reason goes to the log, not to them."""
    host = _host_of(handle)
    if error.reason == "bad-handle":
        return f"That is not a handle we can look up. A group's handle looks like {HANDLE_EXAMPLE}."
    if error.reason in ("no-actor", "gone") or (error.reason == "http-status" and error.status in (404, 410)):
        return f"We could not find that group. Check the handle: it looks like {HANDLE_EXAMPLE}."
    if error.reason in ("offline", "unreachable"):
        return f"We could not reach {host}. Check the address, or try again later."
    if error.reason == "private-address":
        return f"{host} is on a private network, which this server does not contact."
    return f"{host} did not answer as a fediverse server would, so we cannot follow that group."


async def resolve_account(runtime: Context, handle: str) -> str:
    """The actor id of @name@host (WebFinger), or of an actor URL given as such."""
    handle = handle.strip()
    if not handle:
        raise ActionError(Message(N_("Write the group's handle, like %(example)s."), example=HANDLE_EXAMPLE), "handle")
    if runtime.http is None:
        raise ActionError(N_("The server's network is not running. Try again in a moment."), "handle")
    try:
        return await webfinger.resolve_account(runtime.http, handle)
    except FetchError as e:
        log.info("lookup failed handle=%s reason=%s detail=%s", handle, e.reason, e.detail)
        raise ActionError(lookup_failure(handle, e), "handle") from e


async def follow_group_by_handle(runtime: Context, handle: str) -> str:
    """Follow a group named by @name@host or its URL; returns its actor id."""
    actor_id = await resolve_account(runtime, handle)
    assert runtime.actors is not None
    try:
        actor = await runtime.actors.refresh(actor_id)
    except FetchError as e:
        log.info("actor fetch failed actor=%s reason=%s detail=%s", actor_id, e.reason, e.detail)
        raise ActionError(lookup_failure(handle, e), "handle") from e
    if actor.type != "Group":
        raise ActionError(
            Message(
                N_("%(handle)s is an account (%(type)s), not a group: only groups can join a coalition."),
                handle=handle.strip(),
                type=actor.type,
            ),
            "handle",
        )
    await follow_group(runtime, actor)
    return actor.id


@dataclass(frozen=True)
class PartnerView:
    """A group as organizers see it under partners (no member of anyone is involved: groups are public)."""

    actor_id: str
    name: str | None
    actor_type: str | None
    status: str  # partnership.PARTNER, REQUESTED, REJECTED or NONE
    via: str  # "organizer", "following" (a partner because we follow it) or ""
    follows_us: bool
    published_bound: int | None  # the `membersAtMost` it publishes
    bound: int  # the most pledgers one of its aggregates counts for without an organizer
    held: int  # its aggregates waiting for an organizer


async def partner_groups(runtime: Context) -> list[PartnerView]:
    """Partner groups, requests (group followers no organizer has decided about) and rejected groups."""
    db = runtime.db
    held = await db.read(store.partners.held_counts)
    views = []
    for standing in await db.read(store.partners.candidates):
        status = partnership.status(standing)
        if status == partnership.NONE and standing.decision is None:
            continue  # a group we follow that does not follow us: `coalition list` shows it
        via = (
            "organizer" if standing.decision == "accepted"
            else "following" if standing.following_state == "accepted" and status == partnership.PARTNER
            else ""
        )  # fmt: skip
        views.append(
            PartnerView(
                standing.actor_id, standing.name, standing.actor_type, status, via,
                standing.follower_state == "accepted", partnership.published_bound(standing),
                partnership.member_bound(standing), held.get(standing.actor_id, 0),
            )
        )  # fmt: skip
    return views


async def accept_partner(runtime: Context, actor_id: str) -> int:
    """An organizer accepts a group that follows us as a partner: its aggregates count (within its bounds),
    including those it sent while it waited. Returns how many now count."""
    actor_id = actor_id.strip()
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> int:
        standing = store.partners.standing(conn, actor_id)
        if standing.follower_state is None:
            raise ActionError(
                Message(N_("%(actor)s does not follow our group: a partner group follows us first"), actor=actor_id),
                "actor",
            )
        if standing.actor_type not in store.partners.PARTNER_TYPES:
            raise ActionError(
                Message(N_("%(actor)s is a %(type)s, not a group"), actor=actor_id, type=standing.actor_type)
                if standing.actor_type
                else Message(N_("%(actor)s is an unknown account, not a group"), actor=actor_id),
                "actor",
            )
        store.partners.decide(conn, actor_id, "accepted", now)
        return partnership.reconsider_held(conn, actor_id, now)

    counted = await runtime.db.write(job)
    runtime.wake_scheduler()
    log.info("partner accepted group=%s aggregates_counted=%d", actor_id, counted)
    return counted


async def reject_partner(runtime: Context, actor_id: str) -> None:
    """An organizer refuses a group as a partner (or ends a partnership): its aggregates leave the totals
    and are not kept; it may still follow the group and hear its campaigns."""
    actor_id = actor_id.strip()
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> None:
        standing = store.partners.standing(conn, actor_id)
        if (
            standing.follower_state is None and standing.decision is None and standing.following_state is None
            and not store.partners.held_listing(conn, actor_id)
        ):  # fmt: skip
            raise ActionError(
                Message(N_("%(actor)s is not a partner group or a partner request"), actor=actor_id), "actor"
            )
        store.partners.decide(conn, actor_id, "rejected", now)
        partnership.reconsider(conn, actor_id, now)

    await runtime.db.write(job)
    runtime.wake_scheduler()
    log.info("partner rejected group=%s", actor_id)


async def held_aggregates(runtime: Context) -> list[store.partners.HeldPledge]:
    return await runtime.db.read(store.partners.held_listing)


async def answer_held_aggregate(runtime: Context, held_id: int, approve: bool) -> store.partners.HeldPledge:
    """An organizer approves a held aggregate of a partner (it counts, and later ones up to it will) or
    rejects it (it is forgotten; the partner's previous aggregate, if any, keeps counting)."""
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> store.partners.HeldPledge:
        held = store.partners.held(conn, held_id)
        if held is None:
            raise ActionError(Message(N_("there is no held aggregate %(id)s"), id=held_id), "held")
        if approve:
            standing = store.partners.standing(conn, held.group_actor)
            if partnership.status(standing) != partnership.PARTNER:
                raise ActionError(
                    Message(N_("accept %(actor)s as a partner group first"), actor=held.group_actor), "held"
                )
            row = store.campaigns.get(conn, held.campaign_id)
            if row is None or row.deleted_at is not None:
                raise ActionError(Message(N_("campaign %(id)s was deleted"), id=held.campaign_id), "held")
            partnership.approve_held(conn, held, now)
        else:
            store.partners.release(conn, held.id)
        return held

    held = await runtime.db.write(job)
    runtime.wake_scheduler()
    log.info(
        "held aggregate %s id=%d group=%s", "approved" if approve else "rejected", held_id, held.group_actor
    )
    return held
