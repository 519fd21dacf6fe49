"""Pledges: a member's pledge to one of our campaigns or to a partner group's, its withdrawal, its fulfilment."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from fedgroup import store
from fedgroup.actions.campaigns import existing_campaign
from fedgroup.actions.coalitions import partner_goals, partner_open, send_aggregate
from fedgroup.actions.context import ActionError, Context
from fedgroup.rules import campaigns
from fedgroup.rules.campaigns import Goal, PledgeOption
from fedgroup.rules.languages import N_, Message


def _choose(
    goals: Sequence[Goal], options: Sequence[PledgeOption], option: str | None, kind: str | None,
    amount: str | Decimal | None, note: str,
) -> tuple[campaigns.Contribution, str | None, str]:  # fmt: skip
    """A pledge is either one of the campaign's options or a kind and amount of the member's own; an amount
    given beside an option is refused, never silently replaced by the option's."""
    if option:
        chosen = campaigns.option_contribution(options, option)
        if chosen is None:
            raise ActionError(Message(N_("there is no option %(option)r"), option=option), "option")
        if amount is not None and str(amount).strip():
            raise ActionError(
                Message(
                    N_('you chose "%(option)s" and typed an amount: to pledge an amount of your own, choose "An amount of my own"'),
                    option=option,
                ),
                "amount",
            )
        _, note = campaigns.validate_pledge(goals, chosen.kind, chosen.amount, note)
        return chosen, option, note
    if not kind or amount is None:
        raise ActionError(N_("choose an option, or a kind and an amount"), "amount")
    contribution, note = campaigns.validate_pledge(goals, kind, amount, note)
    return contribution, None, note


FULFILLED = "this pledge is marked fulfilled: an organizer can reopen it if it has to change"


def _changed_note(
    earlier: store.pledges.MemberPledge | None,
    goals: Sequence[Goal],
    contribution: campaigns.Contribution,
    note: str | None,
) -> str:
    """The note of a new or changed pledge: the member's, or (None) the one the earlier pledge had. A fulfilled
    pledge is what the group received: the member cannot change it."""
    if earlier is not None and earlier.fulfilled:
        raise ActionError(FULFILLED, "amount")
    if note is None:
        return earlier.note if earlier is not None else ""
    _, clean = campaigns.validate_pledge(goals, contribution.kind, contribution.amount, note)
    return clean


async def pledge(
    runtime: Context,
    member_id: int,
    campaign_id: int,
    option: str | None = None,
    kind: str | None = None,
    amount: str | Decimal | None = None,
    note: str | None = None,
) -> None:
    """A member's pledge to one of our campaigns; replaces their earlier pledge of the same kind (keeping its
    note when `note` is None). A pledge an organizer marked fulfilled stays as it is."""
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> None:
        state = existing_campaign(conn, campaign_id)
        if not state.is_open(now):
            raise ActionError(N_("this campaign is closed"), "campaign")
        contribution, label, _ = _choose(state.goals, state.options, option, kind, amount, "")
        earlier = store.pledges.member_pledge_of_kind(conn, member_id, campaign_id, None, contribution.kind)
        clean_note = _changed_note(earlier, state.goals, contribution, note)
        store.pledges.upsert_member_pledge(
            conn, member_id, campaign_id, None, contribution.kind, contribution.amount, label, clean_note, now
        )
        store.campaigns.totals_changed(conn, campaign_id, now)

    await runtime.db.write(job)
    runtime.wake_scheduler()


def _still_open(conn: sqlite3.Connection, pledge: store.pledges.MemberPledge, now: datetime) -> bool:
    """Whether the campaign a member's pledge is for still takes changes: a closed one (ours or a partner's)
    is frozen until an organizer reopens it."""
    if pledge.campaign_id is not None:
        return existing_campaign(conn, pledge.campaign_id).is_open(now)
    partner = store.campaigns.partner_campaign(conn, pledge.partner_campaign_id or 0)
    return partner is not None and partner_open(partner, now)


async def withdraw_pledge(runtime: Context, member_id: int, pledge_id: int) -> None:
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> None:
        found = store.pledges.member_pledge(conn, pledge_id)
        if found is None or found.member_id != member_id:
            raise ActionError(N_("there is no such pledge"), "pledge")
        if found.fulfilled:
            raise ActionError(FULFILLED, "pledge")
        if not _still_open(conn, found, now):
            raise ActionError(N_("this campaign is closed: its pledges stay as they were"), "pledge")
        store.pledges.withdraw_member_pledge(conn, pledge_id, member_id)
        if found.campaign_id is not None:
            store.campaigns.totals_changed(conn, found.campaign_id, now)
        else:
            assert found.partner_campaign_id is not None
            send_aggregate(conn, runtime, found.partner_campaign_id, now)

    await runtime.db.write(job)
    runtime.deliveries_queued()
    runtime.wake_scheduler()


async def set_fulfilled(runtime: Context, pledge_id: int, fulfilled: bool) -> None:
    """An organizer marks a pledge kept (or not). For a pledge to a partner's campaign, what we tell the
    partner was delivered changes with it (in the next release)."""
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> None:
        found = store.pledges.member_pledge(conn, pledge_id)
        if found is None:
            raise ActionError(N_("there is no such pledge"), "pledge")
        if store.pledges.set_fulfilled(conn, pledge_id, fulfilled) and found.partner_campaign_id:
            send_aggregate(conn, runtime, found.partner_campaign_id, now)

    await runtime.db.write(job)
    runtime.deliveries_queued()


async def claim_done(runtime: Context, member_id: int, pledge_id: int) -> None:
    """A member says "I did it" about their own pledge; an organizer confirms it in one click."""
    now = runtime.now()
    found = await runtime.db.read(store.pledges.member_pledge, pledge_id)
    if found is None or found.member_id != member_id:
        raise ActionError(N_("there is no such pledge"), "pledge")
    await runtime.db.write(lambda conn: store.pledges.claim_done(conn, pledge_id, member_id, now))


async def pledge_to_partner(
    runtime: Context,
    member_id: int,
    partner_campaign_id: int,
    option: str | None = None,
    kind: str | None = None,
    amount: str | Decimal | None = None,
    note: str | None = None,
) -> None:
    """A member pledges to a partner's campaign; the partner gets our group's new aggregate (no names). A
    change keeps the note when `note` is None; a fulfilled pledge stays as it is."""
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> None:
        partner = store.campaigns.partner_campaign(conn, partner_campaign_id)
        if partner is None:
            raise ActionError(N_("there is no such partner campaign"), "campaign")
        if not partner_open(partner, now):
            raise ActionError(N_("this campaign is closed"), "campaign")
        goals, options = partner_goals(partner)
        contribution, label, _ = _choose(goals, options, option, kind, amount, "")
        earlier = store.pledges.member_pledge_of_kind(
            conn, member_id, None, partner_campaign_id, contribution.kind
        )
        clean_note = _changed_note(earlier, goals, contribution, note)
        store.pledges.upsert_member_pledge(
            conn,
            member_id,
            None,
            partner_campaign_id,
            contribution.kind,
            contribution.amount,
            label,
            clean_note,
            now,
        )
        send_aggregate(conn, runtime, partner_campaign_id, now)

    await runtime.db.write(job)
    runtime.deliveries_queued()
