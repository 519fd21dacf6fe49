"""Telling a blueprint's groups that our campaign ran it: in the caller's transaction, like outbox.py.

An adopted campaign reports to every group up its blueprint's lineage (the direct origin first, then the
blueprint it came from, …): once when it is published, and again with its totals when its outcome is. Each
origin checks the report against our campaign document itself, so the report carries nothing it must trust.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

import orjson

from fedgroup import store
from fedgroup.actions import outbox
from fedgroup.protocol import blueprints as blueprint_docs
from fedgroup.protocol.ids import LocalIds
from fedgroup.rules import blueprints as blueprint_rules
from fedgroup.rules.blueprints import ResultLine
from fedgroup.rules.campaign_state import CampaignState


def results_json(results: Sequence[ResultLine]) -> str:
    return orjson.dumps(
        [
            {"kind": r.kind, "unit": r.unit, "target": str(r.target), "pledged": str(r.pledged),
             "fulfilled": str(r.fulfilled)}
            for r in results
        ]
    ).decode()  # fmt: skip


def results_from_json(text: str) -> tuple[ResultLine, ...]:
    return tuple(
        ResultLine(r["kind"], r["unit"], Decimal(r["target"]), Decimal(r["pledged"]), Decimal(r["fulfilled"]))
        for r in orjson.loads(text)
    )


def campaign_results(conn: sqlite3.Connection, state: CampaignState) -> tuple[ResultLine, ...]:
    """Per goal: target, pledged (the tally) and fulfilled (pledges marked given). Totals only."""
    fulfilled: dict[str, Decimal] = {}
    for kind, amount in store.pledges.fulfilled_pledges(conn, state.id):
        fulfilled[kind] = fulfilled.get(kind, Decimal(0)) + amount
    pledged = {line.goal.kind: line.pledged for line in state.tally.progress}
    return blueprint_rules.results_of(state.goals, pledged, fulfilled)


def report_to_origins(conn: sqlite3.Connection, ids: LocalIds, state: CampaignState, now: datetime) -> int:
    """Queue an Adopt for each group up the lineage; with results once the outcome is published. Returns how
    many were queued (none for a campaign that was not adopted, is a draft, or never leaves the server)."""
    adopted = store.blueprints.adopted(conn, state.id)
    if adopted is None or not state.federates or state.row.deleted_at is not None:
        return 0
    results = campaign_results(conn, state) if state.row.outcome else None
    links = orjson.loads(adopted.lineage)
    for link in links:
        report = blueprint_docs.adopt_report(
            ids,
            outbox.new_activity_id(ids),
            ids.campaign(state.id),
            link["blueprint"],
            link["group"],
            adopted.unlisted,
            results,
        )
        outbox.send(conn, report, "direct", [link["inbox"]], now)
    return len(links)
