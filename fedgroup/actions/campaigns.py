"""Campaigns: creating, editing, closing, deleting, reporting the outcome; and loading one from the store
with its tally (the rules compute it), for the actions and the faces."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Literal
from urllib.parse import urlsplit

from fedgroup import store
from fedgroup.actions import lineage, outbox
from fedgroup.actions.context import ActionError, Context
from fedgroup.rules import campaign_state, campaigns, formats, languages, money, tallies
from fedgroup.rules.campaign_state import CampaignState, ContributorLine, group_aggregate
from fedgroup.rules.campaigns import Contribution, Goal, PledgeOption
from fedgroup.rules.languages import N_, Message
from fedgroup.rules.tallies import MemberPledgeFacts

log = logging.getLogger(__name__)


def _state(
    row: store.campaigns.CampaignRow,
    goal_rows: list[store.campaigns.GoalRow],
    option_rows: list[store.campaigns.OptionRow],
    inputs: store.pledges.TallyInputs,
    attendees: list[str],
) -> CampaignState:
    goals = tuple(Goal(g.kind, g.target, g.unit) for g in goal_rows)
    options = tuple(PledgeOption(o.label, o.kind, o.amount) for o in option_rows)
    if row.final_tally is not None:  # closed: what was published stays, whatever changed since
        frozen = campaign_state.frozen_tally(goals, row.final_tally)
        return CampaignState(row, goals, options, {o.label: o.id for o in option_rows}, frozen)
    tally = tallies.tally(
        goals,
        options,
        (MemberPledgeFacts(m, Contribution(k, a), label) for m, k, a, label in inputs.member_pledges),
        inputs.votes,
        (group_aggregate(p, c) for p, c in inputs.group_pledges),
        attendees,
    )
    return CampaignState(row, goals, options, {o.label: o.id for o in option_rows}, tally)


def load_campaign(conn: sqlite3.Connection, campaign_id: int) -> CampaignState | None:
    """The campaign with its tally; None when there is no such campaign (deleted ones have a row)."""
    row = store.campaigns.get(conn, campaign_id)
    if row is None:
        return None
    return load_campaigns(conn, [row])[0]


def load_campaigns(
    conn: sqlite3.Connection, rows: Sequence[store.campaigns.CampaignRow]
) -> list[CampaignState]:
    """These campaigns with their tallies, in the same order: four queries whatever their number."""
    ids = [row.id for row in rows]
    goals = store.campaigns.goals_of(conn, ids)
    options = store.campaigns.options_of(conn, ids)
    inputs = store.pledges.tally_inputs_of(conn, ids)
    attendees = store.gatherings.attendees_of(conn, ids)
    return [_state(row, goals[row.id], options[row.id], inputs[row.id], attendees[row.id]) for row in rows]


def _group_name(actor_id: str, actor: store.actors.CachedActor | None) -> str:
    """A partner group as people know it: its name, else @handle@host, else its id."""
    if actor is not None and actor.name:
        return actor.name
    host = urlsplit(actor_id).netloc
    if actor is not None and actor.preferred_username and host:
        return f"@{actor.preferred_username}@{host}"
    return actor_id


def contributors(conn: sqlite3.Connection, state: CampaignState) -> list[ContributorLine]:
    """Our members' pledges together, then each partner group's aggregate: pledged beside delivered."""
    ours = store.pledges.pledges_for_campaign(conn, state.id)
    lines = []
    if ours:
        lines.append(
            ContributorLine(
                N_("Our members"),
                None,
                tuple(Contribution(p.kind, p.amount) for p in ours),
                tuple(Contribution(p.kind, p.amount) for p in ours if p.fulfilled),
            )
        )
    for pledge in store.pledges.group_pledges_for(conn, state.id):
        aggregate = group_aggregate(pledge.pledgers, pledge.contributions)
        lines.append(
            ContributorLine(
                _group_name(pledge.group_actor, store.actors.by_id(conn, pledge.group_actor)),
                pledge.group_actor,
                tuple(line.contribution for line in aggregate.lines),
                aggregate.delivered,
                aggregate.fewer_than,
            )
        )
    return lines


def outcome_summary(conn: sqlite3.Connection, state: CampaignState) -> str:
    """Goal by goal: what was pledged and what members were marked as having given; then, on its own line,
    what the money record says (raised · spent · left), when the campaign keeps one."""
    fulfilled = [Contribution(k, a) for k, a in store.pledges.fulfilled_pledges(conn, state.id)]
    pledged = [Contribution(line.goal.kind, line.pledged) for line in state.tally.progress]
    lines = tallies.outcome_lines(state.goals, pledged, fulfilled)
    who = contributors(conn, state)
    code = state.row.language
    if code is None or code == languages.SOURCE_LANGUAGE or code not in languages.LANGUAGES:
        # English as it always was: the outcome Note's content changes only when its figures do.
        summary = tallies.outcome_text(lines)
        if any(line.partner for line in who):
            summary += " — " + " · ".join(line.text(state.goals) for line in who)
        return "\n".join(line for line in (summary, money_summary(conn, state)) if line)
    # The campaign's language: the outcome Note's `contentMap` names it.
    lang = languages.language(code)
    summary = formats.outcome(lines, lang)
    if any(line.partner for line in who):
        summary += " — " + " · ".join(formats.contributor(line, state.goals, lang) for line in who)
    found = money_totals(conn, state)
    return "\n".join(line for line in (summary, formats.money_line(found, lang) if found else None) if line)


def money_totals(conn: sqlite3.Connection, state: CampaignState) -> money.MoneyTotals | None:
    """The campaign's money record in figures; None when it keeps none (no money goal, nothing recorded)."""
    if not any(goal.kind == "money" for goal in state.goals):
        return None
    received = store.money.received_of(conn, state.id)
    expenses = store.money.expenses_of(conn, state.id)
    if not received and not expenses:
        return None
    return counted_money(money.currency_of(state.goals), received, expenses)


def counted_money(
    currency: str, received: Sequence[store.money.Received], expenses: Sequence[store.money.Expense]
) -> money.MoneyTotals:
    """The totals of what counts in a money record: a voided entry (corrected or voided) counts toward nothing."""
    return money.totals(
        currency,
        (r.amount for r in received if r.history.counts),
        (money.ExpenseFacts(e.amount, e.state) for e in expenses if e.history.counts),
    )


def money_summary(conn: sqlite3.Connection, state: CampaignState) -> str | None:
    """The line the page, the outcome and its post share (€700 raised · €250 spent · €450 left), or None."""
    found = money_totals(conn, state)
    return None if found is None else money.money_line(found)


VISIBILITIES = campaigns.VISIBILITIES


def existing_campaign(conn: sqlite3.Connection, campaign_id: int) -> campaign_state.CampaignState:
    state = load_campaign(conn, campaign_id)
    if state is None or state.row.deleted_at is not None:
        raise ActionError(Message(N_("there is no campaign %(id)s"), id=campaign_id), "campaign")
    return state


async def campaign(runtime: Context, campaign_id: int) -> campaign_state.CampaignState:
    """A campaign that exists (not deleted), or an ActionError."""
    return await runtime.db.read(existing_campaign, campaign_id)


async def create_campaign(
    runtime: Context,
    title: str,
    body: str,
    *,
    goals: Sequence[Goal] = (),
    options: Sequence[PledgeOption] = (),
    deadline: datetime | None = None,
    visibility: str = "public",
    multiple_choice: bool = False,
    second: campaigns.SecondLanguage | None = None,
) -> int:
    """Store a campaign and, unless it is for members only, send it to followers. It is written in the group's
    language (recorded with it: `contentMap` keeps naming that language after the group changes its own), and
    `second` is its title and text in another language, if an organizer wrote them."""
    now = runtime.now()
    draft = campaigns.validate_draft(title, body, goals, options, deadline, visibility, now, multiple_choice)
    language = group_language(runtime)
    if second is not None and second.language == language:
        raise ActionError(N_("the second language must differ from the campaign's own"), "second_language")

    def job(conn: sqlite3.Connection) -> int:
        campaign_id = store.campaigns.insert(
            conn,
            draft.title,
            draft.body,
            draft.visibility,
            draft.deadline,
            draft.multiple_choice,
            [(g.kind, g.target, g.unit) for g in draft.goals],
            [(o.label, o.kind, o.amount) for o in draft.options],
            now,
            language=language,
        )
        if second is not None:
            store.campaigns.set_second_language(conn, campaign_id, second.to_json(), now)
        outbox.publish_campaign(
            conn, runtime.ids, existing_campaign(conn, campaign_id), now, minimum=runtime.config.min_disclosed_count
        )
        return campaign_id

    campaign_id = await runtime.db.write(job)
    runtime.deliveries_queued()
    log.info("campaign created id=%d visibility=%s", campaign_id, draft.visibility)
    return campaign_id


async def edit_campaign(
    runtime: Context,
    campaign_id: int,
    title: str,
    body: str,
    deadline: datetime | None,
    targets: dict[str, Decimal] | None = None,
) -> None:
    """Change the text, deadline and goal targets. Options and visibility stay as created: Mastodon resets a
    poll whose options change, and a visibility change would need a Create or Delete instead of an Update."""
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> None:
        state = existing_campaign(conn, campaign_id)
        goals = [Goal(g.kind, (targets or {}).get(g.kind, g.target), g.unit) for g in state.goals]
        deadline_changed = deadline != state.row.deadline
        draft = campaigns.validate_draft(
            title, body, goals, state.options, deadline if deadline_changed else None, state.row.visibility, now,
            state.row.multiple_choice,
        )  # fmt: skip
        store.campaigns.update_text(
            conn,
            campaign_id,
            draft.title,
            draft.body,
            deadline,
            [(g.kind, g.target) for g in draft.goals],
            now,
        )
        outbox.update_campaign(
            conn, runtime.ids, existing_campaign(conn, campaign_id), now, minimum=runtime.config.min_disclosed_count
        )
        store.campaigns.totals_published(conn, campaign_id, now)

    await runtime.db.write(job)
    runtime.deliveries_queued()


def group_language(runtime: Context) -> str:
    """The language the group writes in: as set on its settings page, else config.toml's default_language."""
    return runtime.site.language or runtime.config.default_language


async def set_second_language(
    runtime: Context, campaign_id: int, second: campaigns.SecondLanguage | None
) -> None:
    """Give a campaign its title and text in a second language (None removes it); followers get an Update
    whose `contentMap` carries both languages."""
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> None:
        state = existing_campaign(conn, campaign_id)
        if second is not None and second.language == (state.row.language or group_language(runtime)):
            raise ActionError(N_("the second language must differ from the campaign's own"), "second_language")
        if (second.to_json() if second else None) == state.row.second_language:
            return
        store.campaigns.set_second_language(conn, campaign_id, second.to_json() if second else None, now)
        if not state.row.draft:
            outbox.update_campaign(
                conn, runtime.ids, existing_campaign(conn, campaign_id), now,
                minimum=runtime.config.min_disclosed_count,
            )  # fmt: skip

    await runtime.db.write(job)
    runtime.deliveries_queued()


async def close_campaign(runtime: Context, campaign_id: int) -> bool:
    """Close (by hand or at the deadline); the final Update carries `closed`. False if already closed."""
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> bool:
        state = existing_campaign(conn, campaign_id)
        if not store.campaigns.close(conn, campaign_id, campaign_state.tally_json(state.tally), now):
            return False
        closed = existing_campaign(conn, campaign_id)
        outbox.update_campaign(conn, runtime.ids, closed, now, minimum=runtime.config.min_disclosed_count)
        if closed.row.outcome and closed.row.reopened_at is not None:
            # Closed again after a reopening: the outcome is restated with the figures it ends with.
            outbox.update_outcome(conn, runtime.ids, closed, outcome_summary(conn, closed), now)
        store.campaigns.totals_published(conn, campaign_id, now)
        return True

    closed = await runtime.db.write(job)
    runtime.deliveries_queued()
    if closed:
        log.info("campaign closed id=%d", campaign_id)
    return closed


async def delete_campaign(runtime: Context, campaign_id: int) -> None:
    """Delete everywhere it went (Delete with a Tombstone), then erase its pledges, votes and replies here."""
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> None:
        state = existing_campaign(conn, campaign_id)
        if not state.row.draft:  # a draft never went anywhere: nothing to delete elsewhere
            outbox.delete_campaign(conn, runtime.ids, campaign_id, state.row.visibility, now)
        store.campaigns.mark_deleted(conn, campaign_id, now)

    await runtime.db.write(job)
    runtime.deliveries_queued()
    log.info("campaign deleted id=%d", campaign_id)


async def report_outcome(runtime: Context, campaign_id: int, report: str) -> str:
    """Record what was achieved and publish it as a reply to the campaign; returns the summary line."""
    report = campaigns.clean_block(report)
    if not report:
        raise ActionError(N_("write what the campaign achieved"), "outcome")
    if len(report) > campaigns.MAX_BODY:
        raise ActionError(N_("the report is too long"), "outcome")
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> str:
        current = existing_campaign(conn, campaign_id)
        if current.row.draft:
            raise ActionError(N_("publish the draft before reporting its outcome"), "outcome")
        store.campaigns.close(conn, campaign_id, campaign_state.tally_json(current.tally), now)
        store.campaigns.set_outcome(conn, campaign_id, report, now)
        state = existing_campaign(conn, campaign_id)
        summary = outcome_summary(conn, state)
        outbox.publish_outcome(conn, runtime.ids, state, summary, now)
        outbox.update_campaign(conn, runtime.ids, state, now, minimum=runtime.config.min_disclosed_count)
        lineage.report_to_origins(conn, runtime.ids, state, now)  # an adopted campaign's totals go home
        return summary

    summary = await runtime.db.write(job)
    runtime.deliveries_queued()
    return summary


async def reopen_campaign(
    runtime: Context, campaign_id: int, deadline: datetime | None | Literal["keep"] = "keep"
) -> None:
    """An organizer opens a closed campaign again (with a new deadline, none, or the one it had if that is still
    ahead): its totals are live again and move with pledges. Followers get an Update of the campaign, and a
    published outcome is restated (an Update of it) saying it was reopened and giving the figures as they are."""
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> None:
        state = existing_campaign(conn, campaign_id)
        if state.row.status != "closed":
            raise ActionError(N_("this campaign is open"), "campaign")
        new_deadline = state.row.deadline if deadline == "keep" else deadline
        if new_deadline is not None and new_deadline <= now:
            raise ActionError(N_("its deadline has passed: give a new deadline, or none"), "deadline")
        store.campaigns.reopen(conn, campaign_id, new_deadline, now)
        reopened = existing_campaign(conn, campaign_id)
        outbox.update_campaign(conn, runtime.ids, reopened, now, minimum=runtime.config.min_disclosed_count)
        if reopened.row.outcome:
            outbox.update_outcome(conn, runtime.ids, reopened, outcome_summary(conn, reopened), now)
        store.campaigns.totals_published(conn, campaign_id, now)

    await runtime.db.write(job)
    runtime.deliveries_queued()
    log.info("campaign reopened id=%d", campaign_id)
