"""Disclosure control: no count of our own people below the group's minimum leaves the server or reaches a
public page. Pure: plain values in, plain values out.

A *count* is a number of people (an aggregate's pledgers, a line's pledgers, a per-option figure). Amounts
are not counts: a campaign's total is what it is for. But every amount we send a partner is a sum over at
least `minimum` of our members, because an aggregate with fewer pledgers is withheld whole.

Batches: a partner hears our changes only when a release is due (batch_due), so one Update cannot be tied to
one member's pledge, withdrawal or erasure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from fedgroup.rules.campaigns import Contribution
from fedgroup.rules.tallies import AggregateLine, GroupAggregate, Tally

# The most a group may set as its minimum, and the most a partner's "fewer than" may claim.
MAX_MINIMUM = 100


def disclosed_aggregate(aggregate: GroupAggregate, minimum: int) -> GroupAggregate:
    """The aggregate as a partner may see it.

    - Fewer than `minimum` pledgers in all: withheld whole — no figures, only "fewer than `minimum`" (it then
      counts toward none of the partner's totals; its page says "fewer than 3" for our group).
    - Otherwise, per kind: a line naming an option keeps its own head count only if that count is at least
      `minimum`; smaller lines (and lines of members' own amounts) are merged into one line without an
      option. If that merged line still stands for fewer than `minimum` people, the kind's smallest option
      lines join it until it does — so every head count sent is at least `minimum`. A kind pledged by fewer
      than `minimum` members is left out (its amount would be theirs alone); if nothing is left, nothing is
      sent.
    """
    if aggregate.pledgers <= 0:
        return GroupAggregate(0, ())
    if aggregate.pledgers < minimum:
        return GroupAggregate(0, (), (), fewer_than=minimum)
    lines: list[AggregateLine] = []
    for kind in sorted({line.contribution.kind for line in aggregate.lines}):
        of_kind = [line for line in aggregate.lines if line.contribution.kind == kind]
        if sum(line.pledgers for line in of_kind) < minimum:
            continue  # a kind pledged by fewer than `minimum` of us is left out, amounts and all
        kept = sorted(
            (line for line in of_kind if line.option is not None and line.pledgers >= minimum),
            key=lambda line: (line.pledgers, line.option or ""),
        )
        merged = [line for line in of_kind if line not in kept]
        while merged and sum(line.pledgers for line in merged) < minimum and kept:
            merged.append(kept.pop(0))
        if merged:
            amount = sum((line.contribution.amount for line in merged), start=Decimal(0))
            lines.append(AggregateLine(Contribution(kind, amount), None, sum(line.pledgers for line in merged)))
        lines.extend(kept)
    if not lines:
        return GroupAggregate(0, ())  # nothing disclosable: sent as nothing (an Undo of anything sent before)
    lines.sort(key=lambda line: (line.contribution.kind, line.option or ""))
    delivered = tuple(c for c in aggregate.delivered if any(line.contribution.kind == c.kind for line in lines))
    return GroupAggregate(aggregate.pledgers, tuple(lines), delivered)


@dataclass(frozen=True)
class PublicCounts:
    """The head counts the public sees of one campaign: per option and in all; None where withheld."""

    options: tuple[tuple[str, int], ...]  # what federates (a poll needs whole numbers): withheld parts left out
    pledgers: int
    withheld_options: frozenset[str]  # options whose figure hides a small count of our members
    pledgers_withheld: bool


def public_counts(tally: Tally, minimum: int) -> PublicCounts:
    """Our members' part of a per-option figure (and of the number of pledgers) is left out when it is below
    `minimum`: those figures then count only poll voters and partner groups, and pages say "fewer than N"
    where the figure shown is below the minimum."""
    members: Mapping[str, int] = dict(tally.member_option_counts)
    options = []
    withheld = set()
    for label, count in tally.option_counts:
        ours = members.get(label, 0)
        if 0 < ours < minimum:
            withheld.add(label)
            count -= ours
        options.append((label, count))
    pledgers_withheld = 0 < tally.members < minimum
    pledgers = tally.pledgers - (tally.members if pledgers_withheld else 0)
    return PublicCounts(tuple(options), pledgers, frozenset(withheld), pledgers_withheld)


def too_small(count: int, minimum: int) -> bool:
    """A head count of our people that may not be shown or sent as it is (0 may: it names nobody)."""
    return 0 < count < minimum


def count_text(count: int, withheld: bool, minimum: int) -> str:
    """A head count for a public page: the number, or "fewer than N" where it is small (or is 0 only because a
    small part was withheld)."""
    if 0 < count < minimum or (withheld and count < minimum):
        return f"fewer than {minimum}"
    return str(count)


def batch_due(
    first_change_at: datetime, pending: int, release_minutes: float, release_changes: int
) -> datetime | None:
    """When a batch of `pending` changes to what a partner sees is released: once enough changes are pending
    (if the group releases by count), else `release_minutes` after the batch's first change. None: at once
    (release_minutes 0, no batching)."""
    if release_minutes <= 0:
        return None
    if release_changes > 0 and pending >= release_changes:
        return None
    return first_change_at + timedelta(minutes=release_minutes)
