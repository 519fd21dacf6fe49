"""A campaign as the rest of the code sees it: its record, goals and options as rule values, and its tally,
computed by the rules in campaigns.py. Pure: actions.campaigns loads one from the store."""

from __future__ import annotations

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


def group_aggregate(pledgers: int, contributions_json: str) -> GroupAggregate:
    """A stored aggregate (validated when it arrived) back into rule values."""
    lines = tuple(
        AggregateLine(
            Contribution(c["kind"], Decimal(c["amount"])), c.get("option"), int(c.get("pledgers", 0))
        )
        for c in orjson.loads(contributions_json)
    )
    return GroupAggregate(pledgers, lines)


def aggregate_json(aggregate: GroupAggregate) -> str:
    return orjson.dumps(
        [
            {
                "kind": line.contribution.kind,
                "amount": campaigns.amount_text(line.contribution.amount),
                "option": line.option,
                "pledgers": line.pledgers,
            }
            for line in aggregate.lines
        ]
    ).decode()
