"""Which groups' aggregate pledges count toward our campaigns, and how far: the partner rules applied to what
the store holds, inside the caller's transaction.

A remote actor is a partner group when it is a `Group` or an `Organization`, is an accepted follower of ours,
and either an organizer accepted it as a partner or our group follows it (a coalition we chose; an
organizer's rejection overrides that). A group follower that is neither is a partner *request*: its
aggregates wait for an organizer. Anyone else's aggregates are dropped.

A partner's aggregate counts only when plausible (aggregates.check_aggregate, aggregates.hold_reason): no more
pledgers than the partner's published member bound, no more per goal than the goal's target, unless an
organizer approved more. Otherwise it is held, and the partner's previous aggregate keeps counting.

When a group stops being a partner (it unfollows or blocks us, we leave it, an organizer rejects it), its
aggregates leave the totals: a group that is still a partner request keeps them waiting for an organizer.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import datetime
from decimal import Decimal

import orjson

from fedgroup import store
from fedgroup.actions.campaigns import load_campaign
from fedgroup.protocol.parse_campaigns import parse_member_bound
from fedgroup.rules import aggregates, campaign_state, campaigns, tallies
from fedgroup.rules.campaign_state import CampaignState
from fedgroup.store.partners import PARTNER_TYPES, Standing

log = logging.getLogger(__name__)

PARTNER = "partner"
REQUESTED = "requested"
REJECTED = "rejected"
NONE = "none"


def status(standing: Standing) -> str:
    """partner, requested (a group follower no organizer has decided about), rejected, or none."""
    if standing.follower_state != "accepted" or standing.actor_type not in PARTNER_TYPES:
        return NONE
    if standing.decision == "rejected":
        return REJECTED
    if standing.decision == "accepted" or standing.following_state == "accepted":
        return PARTNER
    return REQUESTED


def published_bound(standing: Standing) -> int | None:
    """The `membersAtMost` of the group's cached actor document, if it publishes one."""
    if not standing.document:
        return None
    try:
        document = orjson.loads(standing.document)
    except orjson.JSONDecodeError:
        return None
    return parse_member_bound(document)


def member_bound(standing: Standing) -> int:
    return aggregates.member_bound(published_bound(standing))


def _approval(conn: sqlite3.Connection, campaign_id: int, group: str) -> aggregates.Approval:
    pledgers, amounts = store.pledges.approval_of(conn, campaign_id, group)
    parsed = {k: Decimal(v) for k, v in orjson.loads(amounts).items()} if amounts else {}
    return aggregates.Approval(pledgers or 0, parsed)


def take_aggregate(
    conn: sqlite3.Connection,
    state: CampaignState,
    group: str,
    pledge_id: str,
    aggregate: tallies.GroupAggregate,
    now: datetime,
) -> str:
    """Count, hold or drop a group's aggregate for one of our open campaigns; returns what happened, as a
    log word. Nothing is stored unless the sender is a partner or a partner request and the aggregate is
    well-formed; only counting changes totals (and so federates an Update)."""
    standing = store.partners.standing(conn, group)
    where = status(standing)
    if where == NONE:
        return "not-a-partner"
    if where == REJECTED:
        return "rejected-partner"
    try:
        # A withheld aggregate has no figures to check or bound: it counts toward no total.
        checked = (
            aggregate
            if aggregate.fewer_than is not None
            else aggregates.check_aggregate(aggregate, state.goals, state.options)
        )
    except aggregates.AggregateRefused as e:
        return e.reason
    if store.pledges.pledge_id_used_elsewhere(conn, pledge_id, state.id, group):
        return "pledge-id-reused"
    if where == REQUESTED:
        store.partners.hold(
            conn, state.id, group, pledge_id, checked.pledgers, campaign_state.aggregate_json(checked),
            "not-a-partner", now,
        )  # fmt: skip
        return "held reason=not-a-partner"
    return _count_or_hold(conn, state, group, pledge_id, checked, member_bound(standing), now)


def _count_or_hold(
    conn: sqlite3.Connection,
    state: CampaignState,
    group: str,
    pledge_id: str,
    checked: tallies.GroupAggregate,
    bound: int,
    now: datetime,
) -> str:
    contributions = campaign_state.aggregate_json(checked)
    reason = (
        None
        if checked.fewer_than is not None
        else aggregates.hold_reason(checked, state.goals, bound, _approval(conn, state.id, group))
    )
    if reason is not None:
        store.partners.hold(conn, state.id, group, pledge_id, checked.pledgers, contributions, reason, now)
        return f"held reason={reason}"
    store.pledges.save_group_pledge(conn, state.id, group, pledge_id, checked.pledgers, contributions, now)
    store.partners.release_for(conn, state.id, group)
    store.campaigns.totals_changed(conn, state.id, now)
    return "counted"


def take_delivered_after_close(
    conn: sqlite3.Connection,
    state: CampaignState,
    group: str,
    pledge_id: str,
    aggregate: tallies.GroupAggregate,
    now: datetime,
) -> str:
    """A closed campaign's pledges are frozen, but what a partner's members delivered of them is known only
    afterwards: a partner's update of its counted aggregate is taken when its pledged figures are exactly
    the counted ones and only what was delivered changed (checked as ever: no more than pledged)."""
    if status(store.partners.standing(conn, group)) != PARTNER:
        return "closed"
    current = store.pledges.group_pledge_of(conn, state.id, group)
    if current is None or current.pledge_id != pledge_id or aggregate.fewer_than is not None:
        return "closed"
    counted = campaign_state.group_aggregate(current.pledgers, current.contributions)
    try:
        checked = aggregates.check_aggregate(aggregate, state.goals, state.options)
    except aggregates.AggregateRefused as e:
        return e.reason
    if counted.fewer_than is not None or (checked.pledgers, checked.lines) != (counted.pledgers, counted.lines):
        return "closed"
    if checked.delivered == counted.delivered:
        return "unchanged"
    store.pledges.save_group_pledge(
        conn, state.id, group, pledge_id, checked.pledgers, campaign_state.aggregate_json(checked), now
    )
    return "delivered-updated"


def reconsider_held(conn: sqlite3.Connection, group: str, now: datetime) -> int:
    """A group just became a partner: what it sent meanwhile counts now if plausible (else stays held, with
    the reason updated). Returns how many aggregates now count."""
    standing = store.partners.standing(conn, group)
    if status(standing) != PARTNER:
        return 0
    bound = member_bound(standing)
    counted = 0
    for held in store.partners.held_listing(conn, group):
        state = load_campaign(conn, held.campaign_id)
        if state is None or state.row.deleted_at is not None:
            store.partners.release(conn, held.id)
            continue
        aggregate = campaign_state.group_aggregate(held.pledgers, held.contributions)
        outcome = _count_or_hold(conn, state, group, held.pledge_id, aggregate, bound, now)
        counted += outcome == "counted"
    return counted


def approve_held(conn: sqlite3.Connection, held: store.partners.HeldPledge, now: datetime) -> None:
    """An organizer approved a held aggregate of a partner: it counts, and so will later ones up to it."""
    aggregate = campaign_state.group_aggregate(held.pledgers, held.contributions)
    previous = _approval(conn, held.campaign_id, held.group_actor)
    amounts = dict(previous.amounts)
    for kind, total in aggregates.aggregate_amounts(aggregate).items():
        amounts[kind] = max(total, amounts.get(kind, Decimal(0)))
    store.pledges.approve_group_pledge(
        conn, held.campaign_id, held.group_actor, held.pledge_id, held.pledgers, held.contributions,
        orjson.dumps({k: campaigns.amount_text(v) for k, v in amounts.items()}).decode(), now,
    )  # fmt: skip
    store.partners.release(conn, held.id)
    store.campaigns.totals_changed(conn, held.campaign_id, now)


def reconsider(conn: sqlite3.Connection, actor_id: str, now: datetime) -> str:
    """After a relationship with `actor_id` changed (a follow ended, we left it, an organizer rejected it):
    if it is no longer a partner, its aggregates leave the totals. A group still asking to be a partner
    keeps them waiting for an organizer; anyone else's are dropped. Returns its status."""
    standing = store.partners.standing(conn, actor_id)
    where = status(standing)
    if where == PARTNER:
        return where
    if standing.decision == "accepted" and standing.follower_state is None:
        # An accepted partnership ends with the follow: a new follow is a new request.
        store.partners.forget(conn, actor_id)
    if where == REQUESTED:
        for pledge in store.pledges.group_pledges_of(conn, actor_id):
            store.partners.hold_unless_held(
                conn, pledge.campaign_id, actor_id, pledge.pledge_id, pledge.pledgers, pledge.contributions,
                "not-a-partner", now,
            )  # fmt: skip
    else:
        store.partners.release_all_of(conn, actor_id)
    touched = store.pledges.remove_group_pledges_of(conn, actor_id)
    for campaign_id in touched:
        store.campaigns.totals_changed(conn, campaign_id, now)
    if touched:
        log.info(
            "partner aggregates left the totals group=%s status=%s campaigns=%d",
            actor_id,
            where,
            len(touched),
        )
    return where
