"""Tallies: everything that counts toward a campaign (members' pledges, poll votes, partner groups'
aggregates), progress per goal, and the outcome set against what was pledged. Pure: no I/O, no clock."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from fedgroup.rules import gatherings
from fedgroup.rules.campaigns import (
    Contribution,
    Goal,
    PledgeOption,
    format_quantity,
    number_text,
    option_contribution,
)


@dataclass(frozen=True)
class GoalProgress:
    goal: Goal
    pledged: Decimal

    @property
    def percent(self) -> int:
        """Whole percent of the target reached, for a bar: floored, 0..100."""
        if self.goal.target <= 0:
            return 0
        value = (self.pledged * 100 / self.goal.target).to_integral_value(rounding=ROUND_FLOOR)
        return int(min(max(value, Decimal(0)), Decimal(100)))

    @property
    def reached(self) -> bool:
        return self.pledged >= self.goal.target


def progress(goals: Sequence[Goal], contributions: Iterable[Contribution]) -> tuple[GoalProgress, ...]:
    """Pledged per goal; contributions of a kind the campaign has no goal for count for nothing."""
    sums = {g.kind: Decimal(0) for g in goals}
    for c in contributions:
        if c.kind in sums:
            sums[c.kind] += c.amount
    return tuple(GoalProgress(g, sums[g.kind]) for g in goals)


def progress_text(progress_lines: Sequence[GoalProgress]) -> str:
    """€340 of €1,000 · 12 of 40 hours"""
    parts = []
    for line in progress_lines:
        goal = line.goal
        target = format_quantity(goal.kind, goal.target, goal.unit)
        if goal.kind == "money":
            parts.append(f"{format_quantity(goal.kind, line.pledged, goal.unit)} of {target}")
        else:
            parts.append(f"{number_text(line.pledged)} of {target}")
    return " · ".join(parts)


@dataclass(frozen=True)
class OutcomeLine:
    goal: Goal
    pledged: Decimal
    fulfilled: Decimal


def outcome_lines(
    goals: Sequence[Goal], pledged: Iterable[Contribution], fulfilled: Iterable[Contribution]
) -> tuple[OutcomeLine, ...]:
    pledged_by = {p.goal.kind: p.pledged for p in progress(goals, pledged)}
    fulfilled_by = {p.goal.kind: p.pledged for p in progress(goals, fulfilled)}
    return tuple(OutcomeLine(g, pledged_by[g.kind], fulfilled_by[g.kind]) for g in goals)


def outcome_text(lines: Sequence[OutcomeLine]) -> str:
    """Goal €1,000: €800 pledged, €650 given · Goal 40 hours: 30 pledged, 30 given"""
    parts = []
    for line in lines:
        goal = line.goal
        if goal.kind == "money":
            pledged = format_quantity("money", line.pledged, goal.unit)
            given = format_quantity("money", line.fulfilled, goal.unit)
        else:
            pledged, given = number_text(line.pledged), number_text(line.fulfilled)
        parts.append(
            f"Goal {format_quantity(goal.kind, goal.target, goal.unit)}: {pledged} pledged, {given} given"
        )
    return " · ".join(parts)


def contribution_text(goals: Sequence[Goal], contributions: Iterable[Contribution]) -> str:
    """Amounts per kind in the goals' order and units: "2 people · 2 hours"; "nothing" when there are none."""
    sums: dict[str, Decimal] = {}
    for c in contributions:
        sums[c.kind] = sums.get(c.kind, Decimal(0)) + c.amount
    units = {g.kind: g.unit for g in goals}
    parts = [format_quantity(g.kind, sums[g.kind], units.get(g.kind)) for g in goals if sums.get(g.kind)]
    return " · ".join(parts) or "nothing"


@dataclass(frozen=True)
class AggregateLine:
    """One line of a partner group's aggregate pledge: how much, for which option, from how many members."""

    contribution: Contribution
    option: str | None
    pledgers: int


@dataclass(frozen=True)
class GroupAggregate:
    """A group's aggregate: head counts and amounts per (kind, option); what its members delivered per kind
    (amounts only); or, when `fewer_than` is set, only that fewer than that many of its members pledged
    (rules/disclosure.py: no figures at all, so nothing in it counts toward a total)."""

    pledgers: int
    lines: tuple[AggregateLine, ...]
    delivered: tuple[Contribution, ...] = ()
    fewer_than: int | None = None


@dataclass(frozen=True)
class MemberPledgeFacts:
    member_id: int
    contribution: Contribution
    option: str | None


@dataclass(frozen=True)
class Tally:
    progress: tuple[GoalProgress, ...]
    option_counts: tuple[tuple[str, int], ...]
    pledgers: int
    partner_groups: int
    # Our own members' part of the figures above (rules/disclosure.py withholds it from the public when small).
    member_option_counts: tuple[tuple[str, int], ...] = ()
    members: int = 0


def aggregate(
    pledges: Iterable[MemberPledgeFacts], delivered: Iterable[Contribution] = ()
) -> GroupAggregate:
    """What a group tells a partner about its members' pledges: sums per kind and option, head counts, what
    was delivered per kind (the pledges an organizer marked kept); no names."""
    sums: dict[tuple[str, str | None], Decimal] = {}
    people: dict[tuple[str, str | None], set[int]] = {}
    everyone: set[int] = set()
    for p in pledges:
        key = (p.contribution.kind, p.option)
        sums[key] = sums.get(key, Decimal(0)) + p.contribution.amount
        people.setdefault(key, set()).add(p.member_id)
        everyone.add(p.member_id)
    lines = tuple(
        AggregateLine(Contribution(kind, sums[(kind, option)]), option, len(people[(kind, option)]))
        for kind, option in sorted(sums, key=lambda k: (k[0], k[1] or ""))
    )
    kept: dict[str, Decimal] = {}
    for c in delivered:
        kept[c.kind] = kept.get(c.kind, Decimal(0)) + c.amount
    return GroupAggregate(
        len(everyone), lines, tuple(Contribution(k, kept[k]) for k in sorted(kept) if kept[k] > 0)
    )


def tally(
    goals: Sequence[Goal],
    options: Sequence[PledgeOption],
    member_pledges: Iterable[MemberPledgeFacts],
    votes: Iterable[tuple[str, str]],
    groups: Iterable[GroupAggregate],
    attendees: Iterable[str] = (),
) -> Tally:
    """Totals per goal, pledges per option, and how many pledged — from members, poll voters (voter, label)
    and partner groups' aggregates; and the people going to the campaign's gatherings ("member:ID" or a remote
    account's id), each once, toward a `people` goal (rules/gatherings.attendance_people)."""
    contributions: list[Contribution] = []
    per_option = {o.label: 0 for o in options}
    member_per_option = {o.label: 0 for o in options}
    members: set[int] = set()
    voters: set[str] = set()
    pledged_people: set[str] = set()
    for pledge in member_pledges:
        contributions.append(pledge.contribution)
        members.add(pledge.member_id)
        if pledge.contribution.kind == "people":
            pledged_people.add(f"member:{pledge.member_id}")
        if pledge.option in per_option:
            per_option[pledge.option] += 1
            member_per_option[pledge.option] += 1
    for voter, label in votes:
        contribution = option_contribution(options, label)
        if contribution is None:
            continue
        contributions.append(contribution)
        voters.add(voter)
        per_option[label] += 1
        if contribution.kind == "people":
            pledged_people.add(voter)
    coming = gatherings.attendance_people(attendees, pledged_people)
    if coming:
        contributions.append(Contribution("people", Decimal(coming)))
    group_people = 0
    group_count = 0
    for group in groups:
        if group.fewer_than is not None:
            continue  # withheld by its sender: in no figure here (shown per group as "fewer than N")
        group_count += 1
        group_people += group.pledgers
        for line in group.lines:
            contributions.append(line.contribution)
            if line.option in per_option:
                per_option[line.option] += line.pledgers
    return Tally(
        progress=progress(goals, contributions),
        option_counts=tuple(per_option.items()),
        pledgers=len(members) + len(voters) + group_people,
        partner_groups=group_count,
        member_option_counts=tuple(member_per_option.items()),
        members=len(members),
    )
