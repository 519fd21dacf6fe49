"""What partners hear about our members' pledges to their campaigns: one aggregate per partner campaign (sums,
head counts and what was delivered; never names), withheld when small, and released in batches.

Every change (a pledge, a withdrawal, an erasure, a pledge marked kept) is counted in a durable row
(store.releases); the aggregate is sent when its batch is due (disclosure.batch_due), by the caller at once or
later by the scheduler (release_due). What is sent is computed afresh at release time, so a batch carries the
net effect of all its changes, and nothing at all when they cancel out.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson

from fedgroup import store
from fedgroup.actions import outbox
from fedgroup.actions.context import Context
from fedgroup.protocol import vocab_campaigns
from fedgroup.protocol.parse import ParseError
from fedgroup.protocol.parse_campaigns import parse_group_pledge
from fedgroup.rules import campaigns, disclosure, tallies
from fedgroup.rules.campaigns import Goal, PledgeOption

log = logging.getLogger(__name__)

# A batch due after the partner's deadline goes out this long before it instead: a partner's server takes
# no pledge after its campaign closed, so a later release would lose the batch.
BEFORE_DEADLINE = timedelta(minutes=2)
# The figures of a Pledge document; its other fields (id, summary text) do not make a change.
_FIGURES = ("pledgers", "contributions", "delivered", "pledgersFewerThan")


def partner_goals(partner: store.campaigns.PartnerCampaign) -> tuple[list[Goal], list[PledgeOption]]:
    """A partner campaign's goals and options, as its server described them (validated when received)."""
    goals = [Goal(g["kind"], Decimal(g["target"]), g.get("unit")) for g in orjson.loads(partner.goals)]
    options = [
        PledgeOption(o["name"], o["kind"], Decimal(o["amount"])) for o in orjson.loads(partner.options)
    ]
    return goals, options


def partner_open(partner: store.campaigns.PartnerCampaign, now: datetime) -> bool:
    """Whether a partner's campaign still takes pledges, as its server last described it."""
    return campaigns.is_open("closed" if partner.closed else "open", partner.deadline, now)


def _summary(group_name: str, goals: list[Goal], aggregate: tallies.GroupAggregate) -> str:
    """The plain text a server that does not know fedgroup's terms shows."""
    if aggregate.fewer_than is not None:
        return f"{group_name}: fewer than {aggregate.fewer_than} members pledged"
    text = (
        f"{group_name} pledges "
        + tallies.progress_text(
            tallies.progress(goals, [line.contribution for line in aggregate.lines])
        ).replace(" of ", " toward ")
        + f" from {aggregate.pledgers} member{'s' if aggregate.pledgers != 1 else ''}"
    )
    if aggregate.delivered:
        text += "; delivered " + tallies.contribution_text(goals, aggregate.delivered)
    return text


def frozen_at_close(sent: dict[str, Any], current: tallies.GroupAggregate) -> tallies.GroupAggregate | None:
    """What we may still tell a partner whose campaign closed: the pledged figures exactly as we last sent them
    (its totals are frozen; the partner refuses any other), with what our members delivered as recorded now,
    no more than was pledged per kind. None when nothing can be told (what we sent had no figures)."""
    try:
        frozen = parse_group_pledge(sent)
    except ParseError:
        return None
    if frozen.fewer_than is not None or not frozen.lines:
        return None
    pledged: dict[str, Decimal] = {}
    for line in frozen.lines:
        kind = line.contribution.kind
        pledged[kind] = pledged.get(kind, Decimal(0)) + line.contribution.amount
    delivered = tuple(
        campaigns.Contribution(c.kind, min(c.amount, pledged[c.kind]))
        for c in current.delivered
        if c.kind in pledged and c.amount > 0
    )
    return tallies.GroupAggregate(frozen.pledgers, frozen.lines, delivered)


def send_aggregate(
    conn: sqlite3.Connection, runtime: Context, partner_campaign_id: int, now: datetime
) -> None:
    """Send the partner our members' current aggregate as disclosure allows: the Pledge, an Update of it (only
    when its figures changed), or its Undo at zero. Once the partner's campaign is closed only what was
    delivered may change: the pledged figures stay as last sent, whatever was erased or withdrawn since."""
    partner = store.campaigns.partner_campaign(conn, partner_campaign_id)
    if partner is None:
        return
    group = store.actors.by_id(conn, partner.group_actor)
    if group is None:
        log.info("group pledge not sent reason=partner-unknown partner=%s", partner.group_actor)
        return
    pledges = store.pledges.pledges_for_partner_campaign(conn, partner_campaign_id)
    delivered = store.pledges.delivered_for_partner_campaign(conn, partner_campaign_id)
    ours = tallies.aggregate(
        (
            tallies.MemberPledgeFacts(p.member_id, campaigns.Contribution(p.kind, p.amount), p.option_label)
            for p in pledges
        ),
        (campaigns.Contribution(k, a) for k, a in delivered),
    )
    sent = store.pledges.sent_group_pledge(conn, partner_campaign_id)
    previous: dict[str, Any] | None = orjson.loads(sent[1]) if sent else None
    if not partner_open(partner, now):
        frozen = frozen_at_close(previous, ours) if previous is not None else None
        if frozen is None:
            log.info("group pledge not sent reason=partner-campaign-closed partner=%s", partner.group_actor)
            return
        aggregate = frozen
    else:
        aggregate = disclosure.disclosed_aggregate(ours, runtime.config.min_disclosed_count)
    if aggregate.pledgers == 0 and aggregate.fewer_than is None:
        if previous is not None:
            outbox.withdraw_group_pledge(conn, runtime.ids, previous, group.inbox, now)
            store.pledges.forget_sent_group_pledge(conn, partner_campaign_id)
        return
    goals, _ = partner_goals(partner)
    pledge_id = sent[0] if sent else outbox.new_activity_id(runtime.ids)
    document = vocab_campaigns.group_pledge(
        runtime.ids, pledge_id, partner.group_actor, partner.object_id, aggregate,
        _summary(runtime.site.name, goals, aggregate),
    )  # fmt: skip
    if previous is not None and all(previous.get(k) == document.get(k) for k in _FIGURES):
        return  # nothing a partner could see changed
    outbox.send_group_pledge(conn, runtime.ids, document, previous, group.inbox, now)
    store.pledges.save_sent_group_pledge(
        conn, partner_campaign_id, pledge_id, orjson.dumps(document).decode(), now
    )


def changed(conn: sqlite3.Connection, runtime: Context, partner_campaign_id: int, now: datetime) -> None:
    """Our aggregate for a partner's campaign changed: count the change in its batch, and release the batch
    now if it is due (enough changes pending, or no batching), else leave it for the scheduler."""
    config = runtime.config
    pending, first_change_at = store.releases.add_change(conn, partner_campaign_id, now)
    due = disclosure.batch_due(
        first_change_at, pending, config.partner_release_minutes, config.partner_release_changes
    )
    partner = store.campaigns.partner_campaign(conn, partner_campaign_id)
    if due is not None and partner is not None and partner.deadline is not None and now < partner.deadline:
        due = min(due, partner.deadline - BEFORE_DEADLINE)
    if due is None or due <= now:
        send_aggregate(conn, runtime, partner_campaign_id, now)
        store.releases.released(conn, partner_campaign_id)
        return
    store.releases.set_due(conn, partner_campaign_id, due)


async def release_due(runtime: Context) -> int:
    """The scheduler's part: send every batch whose time has come (one transaction each)."""
    now = runtime.now()
    due = await runtime.db.read(store.releases.due, now)

    def job(conn: sqlite3.Connection, partner_campaign_id: int) -> None:
        send_aggregate(conn, runtime, partner_campaign_id, now)
        store.releases.released(conn, partner_campaign_id)

    for partner_campaign_id in due:
        await runtime.db.write(job, partner_campaign_id)
    if due:
        runtime.deliveries_queued()
        log.info("partner aggregates released batches=%d", len(due))
    return len(due)


async def release_all_now(runtime: Context) -> int:
    """Send every pending batch at once, due or not: for `fedgroup demo`, which cannot wait an hour."""
    batches = await runtime.db.read(store.releases.pending)
    now = runtime.now()

    def job(conn: sqlite3.Connection, partner_campaign_id: int) -> None:
        send_aggregate(conn, runtime, partner_campaign_id, now)
        store.releases.released(conn, partner_campaign_id)

    for partner_campaign_id, _, _ in batches:
        await runtime.db.write(job, partner_campaign_id)
    runtime.deliveries_queued()
    return len(batches)
