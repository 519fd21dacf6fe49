"""Partner groups' aggregates: what a partner may send, and what is plausible (bounds on its members and
per goal), so that an implausible one is held for an organizer. Pure: no I/O, no clock."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from fedgroup.rules.campaigns import (
    Contribution,
    Goal,
    PledgeOption,
)
from fedgroup.rules.tallies import AggregateLine, GroupAggregate

# One aggregate of a partner group that publishes no bound on its members is believed for at most this many
# pledgers (the small end of the groups fedgroup is for); a larger one waits for an organizer.
DEFAULT_MEMBER_BOUND = 20


# No group's published bound is believed beyond this.
MAX_MEMBER_BOUND = 100_000


_BOUND_STEPS = (1, 2, 5)


class AggregateRefused(ValueError):
    """A partner's aggregate that no fedgroup server would send: it is dropped, never held."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def members_at_most(count: int) -> int:
    """What a group publishes about its size: its member count rounded up to 10, 20, 50, 100, 200, 500, …
    Enough for partners to bound our aggregates; the exact number stays here."""
    scale = 10
    while True:
        for step in _BOUND_STEPS:
            if count <= step * scale:
                return step * scale
        scale *= 10


def member_bound(published: int | None) -> int:
    """The most pledgers one aggregate of a partner may name: what it publishes, or a conservative default."""
    if published is None:
        return DEFAULT_MEMBER_BOUND
    return max(1, min(published, MAX_MEMBER_BOUND))


def check_aggregate(
    aggregate: GroupAggregate, goals: Sequence[Goal], options: Sequence[PledgeOption]
) -> GroupAggregate:
    """A partner's aggregate as it counts toward this campaign, or AggregateRefused. Its shape is what a
    fedgroup server computes from its members' pledges (`aggregate` above):

    - at least one pledger (a partner withdraws with Undo, not with zero) and at least one line;
    - every line of a kind this campaign has a goal for, from at least one pledger, no (kind, option) twice;
    - a line naming one of our options has that option's kind, and its amount is the option's times the
      line's pledgers; a label we do not have is kept as an amount of the partner's own;
    - per kind, the lines' pledgers add up to no more than the aggregate's (one pledge per member and kind).
    """
    if aggregate.pledgers < 1 or not aggregate.lines:
        raise AggregateRefused("empty-aggregate")
    kinds = {g.kind for g in goals}
    by_label = {o.label: o for o in options}
    seen: set[tuple[str, str | None]] = set()
    people_per_kind: dict[str, int] = {}
    lines = []
    for line in aggregate.lines:
        kind, amount = line.contribution.kind, line.contribution.amount
        if kind not in kinds:
            raise AggregateRefused("unknown-goal")
        if line.pledgers < 1:
            raise AggregateRefused("line-without-pledgers")
        option = by_label.get(line.option) if line.option is not None else None
        if option is not None and (option.kind != kind or option.amount * line.pledgers != amount):
            raise AggregateRefused("option-mismatch")
        label = option.label if option is not None else None
        if (kind, label) in seen:
            raise AggregateRefused("duplicate-line")
        seen.add((kind, label))
        people_per_kind[kind] = people_per_kind.get(kind, 0) + line.pledgers
        lines.append(AggregateLine(Contribution(kind, amount), label, line.pledgers))
    if any(people > aggregate.pledgers for people in people_per_kind.values()):
        raise AggregateRefused("more-line-pledgers-than-pledgers")
    checked = GroupAggregate(aggregate.pledgers, tuple(lines))
    return GroupAggregate(checked.pledgers, checked.lines, check_delivered(checked, aggregate.delivered))


def check_delivered(aggregate: GroupAggregate, delivered: Sequence[Contribution]) -> tuple[Contribution, ...]:
    """What a partner says its members delivered, per kind: each kind once, a kind the aggregate pledges, and
    never more than it pledges of that kind (a partner delivers what its members pledged, or less)."""
    pledged = aggregate_amounts(aggregate)
    seen: set[str] = set()
    for item in delivered:
        if item.kind in seen:
            raise AggregateRefused("duplicate-delivered")
        seen.add(item.kind)
        if item.kind not in pledged:
            raise AggregateRefused("delivered-unpledged-kind")
        if item.amount > pledged[item.kind]:
            raise AggregateRefused("delivered-more-than-pledged")
    return tuple(sorted(delivered, key=lambda c: c.kind))


@dataclass(frozen=True)
class Approval:
    """How far an organizer approved one partner's aggregates to one campaign beyond the usual bounds."""

    pledgers: int = 0
    amounts: Mapping[str, Decimal] = field(default_factory=dict)


def aggregate_amounts(aggregate: GroupAggregate) -> dict[str, Decimal]:
    sums: dict[str, Decimal] = {}
    for line in aggregate.lines:
        kind = line.contribution.kind
        sums[kind] = sums.get(kind, Decimal(0)) + line.contribution.amount
    return sums


def hold_reason(
    aggregate: GroupAggregate, goals: Sequence[Goal], bound: int, approval: Approval | None = None
) -> str | None:
    """Why a partner's (checked) aggregate waits for an organizer instead of counting, or None.

    Plausible is: no more pledgers than the partner's member bound, and per goal no more than the goal's
    whole target — one partner alone pledging past a goal is what a typo or a forgery looks like. An
    organizer's approval of a larger aggregate raises both, for that partner and campaign."""
    approval = approval or Approval()
    if aggregate.pledgers > max(bound, approval.pledgers):
        return "more-pledgers-than-members"
    targets = {g.kind: g.target for g in goals}
    for kind, total in aggregate_amounts(aggregate).items():
        if total > max(targets.get(kind, Decimal(0)), approval.amounts.get(kind, Decimal(0))):
            return "more-than-the-goal"
    return None
