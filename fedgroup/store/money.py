"""A campaign's money record: money received and expenses (tables of migration 0014), corrected by voiding an
entry and recording the right one (migration 0026): nothing is rewritten, so the history stays readable."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from fedgroup.store.db import fetchall, fetchone, from_db_time, to_db_time

# What a received entry linked to an erased member says it came from.
ERASED_SOURCE = "a member's own contribution (member erased)"


@dataclass(frozen=True)
class History:
    """Where an entry stands in the record's history: the entry it corrects, and whether (when, by whom, why)
    it was voided. A voided entry counts toward nothing."""

    corrects: int | None
    voided_at: datetime | None
    voided_by_name: str | None
    void_reason: str | None

    @property
    def counts(self) -> bool:
        return self.voided_at is None


@dataclass(frozen=True)
class Received:
    id: int
    campaign_id: int
    source: str
    amount: Decimal
    day: date
    sponsor: str | None
    member_id: int | None
    member_name: str | None
    recorded_by_name: str | None
    created_at: datetime
    history: History


@dataclass(frozen=True)
class Expense:
    id: int
    campaign_id: int
    what: str
    amount: Decimal
    day: date
    receipt: str
    state: str
    recorded_by: int | None
    recorded_by_name: str | None
    decided_by_name: str | None
    decided_at: datetime | None
    created_at: datetime
    history: History


_RECEIVED_SELECT = (
    "SELECT r.id, r.campaign_id, r.source, r.amount, r.received_on, r.sponsor, r.member_id, m.name, rec.name,"
    " r.created_at, r.corrects, r.voided_at, vo.name, r.void_reason FROM money_received r"
    " LEFT JOIN members m ON m.id = r.member_id LEFT JOIN members rec ON rec.id = r.recorded_by"
    " LEFT JOIN members vo ON vo.id = r.voided_by"
)
_EXPENSE_SELECT = (
    "SELECT e.id, e.campaign_id, e.what, e.amount, e.spent_on, e.receipt, e.state, e.recorded_by, rec.name,"
    " dec.name, e.decided_at, e.created_at, e.corrects, e.voided_at, vo.name, e.void_reason FROM money_expenses e"
    " LEFT JOIN members rec ON rec.id = e.recorded_by LEFT JOIN members dec ON dec.id = e.decided_by"
    " LEFT JOIN members vo ON vo.id = e.voided_by"
)


def _history(row: sqlite3.Row, first: int) -> History:
    return History(row[first], from_db_time(row[first + 1]), row[first + 2], row[first + 3])


def _received(row: sqlite3.Row) -> Received:
    return Received(
        row[0], row[1], row[2], Decimal(row[3]), date.fromisoformat(row[4]), row[5], row[6], row[7], row[8],
        from_db_time(row[9]), _history(row, 10),  # type: ignore[arg-type]
    )  # fmt: skip


def _expense(row: sqlite3.Row) -> Expense:
    return Expense(
        row[0], row[1], row[2], Decimal(row[3]), date.fromisoformat(row[4]), row[5], row[6], row[7], row[8],
        row[9], from_db_time(row[10]), from_db_time(row[11]), _history(row, 12),  # type: ignore[arg-type]
    )  # fmt: skip


def add_received(
    conn: sqlite3.Connection,
    campaign_id: int,
    source: str,
    amount: Decimal,
    day: date,
    sponsor: str | None,
    member_id: int | None,
    recorded_by: int | None,
    now: datetime,
    corrects: int | None = None,
) -> int:
    cursor = conn.execute(
        "INSERT INTO money_received (campaign_id, source, amount, received_on, sponsor, member_id, recorded_by,"
        " created_at, corrects) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            campaign_id, source, str(amount), day.isoformat(), sponsor, member_id, recorded_by, to_db_time(now),
            corrects,
        ),
    )  # fmt: skip
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def add_expense(
    conn: sqlite3.Connection,
    campaign_id: int,
    what: str,
    amount: Decimal,
    day: date,
    receipt: str,
    recorded_by: int | None,
    now: datetime,
    corrects: int | None = None,
) -> int:
    cursor = conn.execute(
        "INSERT INTO money_expenses (campaign_id, what, amount, spent_on, receipt, recorded_by, created_at,"
        " corrects) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (campaign_id, what, str(amount), day.isoformat(), receipt, recorded_by, to_db_time(now), corrects),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def received_of(conn: sqlite3.Connection, campaign_id: int) -> list[Received]:
    rows = fetchall(
        conn, f"{_RECEIVED_SELECT} WHERE r.campaign_id = ? ORDER BY r.received_on, r.id", (campaign_id,)
    )
    return [_received(r) for r in rows]


def expenses_of(conn: sqlite3.Connection, campaign_id: int) -> list[Expense]:
    rows = fetchall(
        conn, f"{_EXPENSE_SELECT} WHERE e.campaign_id = ? ORDER BY e.spent_on, e.id", (campaign_id,)
    )
    return [_expense(r) for r in rows]


def expense(conn: sqlite3.Connection, expense_id: int) -> Expense | None:
    row = fetchone(conn, f"{_EXPENSE_SELECT} WHERE e.id = ?", (expense_id,))
    return None if row is None else _expense(row)


def received(conn: sqlite3.Connection, entry_id: int) -> Received | None:
    row = fetchone(conn, f"{_RECEIVED_SELECT} WHERE r.id = ?", (entry_id,))
    return None if row is None else _received(row)


# The two tables of entries a correction may void; the name is never taken from input.
ENTRY_TABLES = {"received": "money_received", "expense": "money_expenses"}


def void(
    conn: sqlite3.Connection, entry: str, entry_id: int, voided_by: int | None, reason: str, now: datetime
) -> bool:
    """Void an entry (it stays in the record, counting toward nothing); False if it was voided already."""
    cursor = conn.execute(
        f"UPDATE {ENTRY_TABLES[entry]} SET voided_at = ?, voided_by = ?, void_reason = ?"
        " WHERE id = ? AND voided_at IS NULL",
        (to_db_time(now), voided_by, reason, entry_id),
    )
    return cursor.rowcount == 1


def decide_expense(
    conn: sqlite3.Connection, expense_id: int, state: str, decided_by: int | None, now: datetime
) -> bool:
    """Approve or reject a pending expense; False if it was no longer pending."""
    cursor = conn.execute(
        "UPDATE money_expenses SET state = ?, decided_by = ?, decided_at = ?"
        " WHERE id = ? AND state = 'pending' AND voided_at IS NULL",
        (state, decided_by, to_db_time(now), expense_id),
    )
    return cursor.rowcount == 1


def forget_member(conn: sqlite3.Connection, member_id: int) -> None:
    """Before a member is erased: their contributions stay in the totals, without them. The source text and a
    sponsor name written for an entry linked to them may name them, so both go; who recorded or decided an
    entry is forgotten."""
    conn.execute(
        "UPDATE money_received SET member_id = NULL, sponsor = NULL, source = ? WHERE member_id = ?",
        (ERASED_SOURCE, member_id),
    )
    conn.execute("UPDATE money_received SET recorded_by = NULL WHERE recorded_by = ?", (member_id,))
    conn.execute("UPDATE money_expenses SET recorded_by = NULL WHERE recorded_by = ?", (member_id,))
    conn.execute("UPDATE money_expenses SET decided_by = NULL WHERE decided_by = ?", (member_id,))
    conn.execute("UPDATE money_received SET voided_by = NULL WHERE voided_by = ?", (member_id,))
    conn.execute("UPDATE money_expenses SET voided_by = NULL WHERE voided_by = ?", (member_id,))


def forget_campaign(conn: sqlite3.Connection, campaign_id: int) -> None:
    """A deleted campaign's record goes with it (its row stays as a tombstone, so no cascade runs)."""
    conn.execute("DELETE FROM money_received WHERE campaign_id = ?", (campaign_id,))
    conn.execute("DELETE FROM money_expenses WHERE campaign_id = ?", (campaign_id,))
