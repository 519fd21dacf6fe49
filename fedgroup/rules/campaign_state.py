"""A campaign as the rest of the code sees it: its record, goals and options as rule values, and its tally,
computed by the rules in campaigns.py. Pure: actions.campaigns loads one from the store."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

import orjson

from fedgroup.rules import campaigns, tallies
from fedgroup.rules.campaigns import Contribution, Goal, PledgeOption
from fedgroup.rules.tallies import AggregateLine, GroupAggregate


class CampaignRecord(Protocol):
    """What the rules and the documents read of a stored campaign (store.campaigns.CampaignRow is one)."""

    @property
    def id(self) -> int: ...
    @property
    def title(self) -> str: ...
    @property
    def body(self) -> str: ...
    @property
    def visibility(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def deadline(self) -> datetime | None: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def updated_at(self) -> datetime: ...
    @property
    def closed_at(self) -> datetime | None: ...
    @property
    def deleted_at(self) -> datetime | None: ...
    @property
    def multiple_choice(self) -> bool: ...
    @property
    def outcome(self) -> str | None: ...
    @property
    def outcome_at(self) -> datetime | None: ...
    @property
    def draft(self) -> bool: ...
    @property
    def adapted_from(self) -> str | None: ...
    @property
    def final_tally(self) -> str | None: ...
    @property
    def reopened_at(self) -> datetime | None: ...
    @property
    def language(self) -> str | None: ...
    @property
    def second_language(self) -> str | None: ...


@dataclass(frozen=True)
class CampaignState:
    row: CampaignRecord
    goals: tuple[Goal, ...]
    options: tuple[PledgeOption, ...]
    option_ids: dict[str, int]
    tally: tallies.Tally

    @property
    def id(self) -> int:
        return self.row.id

    @property
    def federates(self) -> bool:
        return self.row.visibility != "members" and not self.row.draft

    def is_open(self, now: datetime) -> bool:
        return not self.row.draft and campaigns.is_open(self.row.status, self.row.deadline, now)

    @property
    def progress_text(self) -> str:
        return tallies.progress_text(self.tally.progress)


def tally_json(tally: tallies.Tally) -> str:
    """A tally as it is frozen when a campaign closes: pledged per goal kind, pledges per option, head counts."""
    return orjson.dumps(
        {
            "pledged": {line.goal.kind: campaigns.amount_text(line.pledged) for line in tally.progress},
            "options": [[label, count] for label, count in tally.option_counts],
            "pledgers": tally.pledgers,
            "partnerGroups": tally.partner_groups,
            "memberOptions": [[label, count] for label, count in tally.member_option_counts],
            "members": tally.members,
        }
    ).decode()


def frozen_tally(goals: Sequence[Goal], frozen: str) -> tallies.Tally:
    """The tally a closed campaign keeps, against its goals as they are now (an organizer may still correct a
    target; the amounts pledged stay as they were when it closed)."""
    data = orjson.loads(frozen)
    pledged = {kind: Decimal(amount) for kind, amount in data["pledged"].items()}
    return tallies.Tally(
        progress=tuple(tallies.GoalProgress(g, pledged.get(g.kind, Decimal(0))) for g in goals),
        option_counts=tuple((label, int(count)) for label, count in data["options"]),
        pledgers=int(data["pledgers"]),
        partner_groups=int(data["partnerGroups"]),
        # Frozen before the disclosure work kept our members' part apart: none is known, so none is shown.
        member_option_counts=tuple((label, int(count)) for label, count in data.get("memberOptions", [])),
        members=int(data.get("members", 0)),
    )


def group_aggregate(pledgers: int, contributions_json: str) -> GroupAggregate:
    """A stored aggregate (validated when it arrived) back into rule values. The stored JSON is the list of
    lines, or (since delivered figures) {"lines": [...], "delivered": [...], "fewerThan": n}."""
    stored = orjson.loads(contributions_json)
    if isinstance(stored, list):
        stored = {"lines": stored}
    lines = tuple(
        AggregateLine(
            Contribution(c["kind"], Decimal(c["amount"])), c.get("option"), int(c.get("pledgers", 0))
        )
        for c in stored.get("lines", [])
    )
    delivered = tuple(Contribution(c["kind"], Decimal(c["amount"])) for c in stored.get("delivered", []))
    return GroupAggregate(pledgers, lines, delivered, stored.get("fewerThan"))


def aggregate_json(aggregate: GroupAggregate) -> str:
    stored: dict[str, object] = {
        "lines": [
            {
                "kind": line.contribution.kind,
                "amount": campaigns.amount_text(line.contribution.amount),
                "option": line.option,
                "pledgers": line.pledgers,
            }
            for line in aggregate.lines
        ],
        "delivered": [
            {"kind": c.kind, "amount": campaigns.amount_text(c.amount)} for c in aggregate.delivered
        ],
    }
    if aggregate.fewer_than is not None:
        stored["fewerThan"] = aggregate.fewer_than
    return orjson.dumps(stored).decode()


@dataclass(frozen=True)
class ContributorLine:
    """Who stands behind part of a campaign's total: our members together, or one partner group (by its
    public name), with what it pledged and delivered — amounts only, never a name of a person."""

    who: str
    partner: str | None  # the partner group's actor id; None for our own members
    pledged: tuple[Contribution, ...]
    delivered: tuple[Contribution, ...]
    fewer_than: int | None = None  # a partner withheld its figures: fewer than this many pledged

    def text(self, goals: Sequence[Goal]) -> str:
        if self.fewer_than is not None:
            return f"{self.who}: fewer than {self.fewer_than} people pledged"
        return (
            f"{self.who}: pledged {tallies.contribution_text(goals, self.pledged)},"
            f" delivered {tallies.contribution_text(goals, self.delivered)}"
        )
