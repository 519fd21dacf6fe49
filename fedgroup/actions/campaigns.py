"""Campaigns as the actions and the faces read them: loaded from the store, tallied by the rules."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from fedgroup import store
from fedgroup.rules import campaigns
from fedgroup.rules.campaign_state import CampaignState, group_aggregate
from fedgroup.rules.campaigns import Contribution, Goal, MemberPledgeFacts, PledgeOption


def _state(
    row: store.campaigns.CampaignRow,
    goal_rows: list[store.campaigns.GoalRow],
    option_rows: list[store.campaigns.OptionRow],
    inputs: store.pledges.TallyInputs,
) -> CampaignState:
    goals = tuple(Goal(g.kind, g.target, g.unit) for g in goal_rows)
    options = tuple(PledgeOption(o.label, o.kind, o.amount) for o in option_rows)
    tally = campaigns.tally(
        goals,
        options,
        (MemberPledgeFacts(m, Contribution(k, a), label) for m, k, a, label in inputs.member_pledges),
        inputs.votes,
        (group_aggregate(p, c) for p, c in inputs.group_pledges),
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
    """These campaigns with their tallies, in the same order: three queries whatever their number."""
    ids = [row.id for row in rows]
    goals = store.campaigns.goals_of(conn, ids)
    options = store.campaigns.options_of(conn, ids)
    inputs = store.pledges.tally_inputs_of(conn, ids)
    return [_state(row, goals[row.id], options[row.id], inputs[row.id]) for row in rows]


def outcome_summary(conn: sqlite3.Connection, state: CampaignState) -> str:
    """Goal by goal: what was pledged and what members were marked as having given."""
    fulfilled = [Contribution(k, a) for k, a in store.pledges.fulfilled_pledges(conn, state.id)]
    pledged = [Contribution(line.goal.kind, line.pledged) for line in state.tally.progress]
    return campaigns.outcome_text(campaigns.outcome_lines(state.goals, pledged, fulfilled))
