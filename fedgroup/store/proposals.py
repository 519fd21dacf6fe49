"""Proposals and the positions members take on them (tables of migration 0020).

A named proposal keeps each member's position with the member (proposal_positions). An anonymous one keeps
who took part (proposal_participants) apart from the positions (proposal_ballots): nothing in a ballot row
names, numbers or dates a member, so the file cannot say who chose what.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime

from fedgroup.store.db import fetchall, fetchone, from_db_time, to_db_time


@dataclass(frozen=True)
class ProposalRow:
    id: int
    title: str
    body: str
    kind: str
    options: tuple[str, ...]
    closes_at: datetime
    quorum: int | None
    anonymous: bool
    status: str
    closed_at: datetime | None
    final_count: str | None
    outcome: str | None
    outcome_at: datetime | None
    published_at: datetime | None
    published_visibility: str | None
    proposed_by: int | None
    proposed_by_name: str | None
    created_at: datetime


@dataclass(frozen=True)
class NamedPosition:
    member_id: int
    member_name: str
    choice: str  # as stored (JSON)
    reason: str
    updated_at: datetime


@dataclass(frozen=True)
class Ballot:
    """A position without its member: what the count reads, for named and anonymous proposals alike."""

    choice: str
    reason: str


_SELECT = (
    "SELECT p.id, p.title, p.body, p.kind, p.options, p.closes_at, p.quorum, p.anonymous, p.status, p.closed_at,"
    " p.final_count, p.outcome, p.outcome_at, p.published_at, p.published_visibility, p.proposed_by, m.name,"
    " p.created_at FROM proposals p LEFT JOIN members m ON m.id = p.proposed_by"
)


def _row(r: sqlite3.Row) -> ProposalRow:
    return ProposalRow(
        r[0], r[1], r[2], r[3], tuple(json.loads(r[4])), from_db_time(r[5]), r[6], bool(r[7]), r[8],  # type: ignore[arg-type]
        from_db_time(r[9]), r[10], r[11], from_db_time(r[12]), from_db_time(r[13]), r[14], r[15], r[16],
        from_db_time(r[17]),  # type: ignore[arg-type]
    )  # fmt: skip


def add(
    conn: sqlite3.Connection,
    title: str,
    body: str,
    kind: str,
    options: tuple[str, ...],
    closes_at: datetime,
    quorum: int | None,
    anonymous: bool,
    proposed_by: int,
    now: datetime,
) -> int:
    cursor = conn.execute(
        "INSERT INTO proposals (title, body, kind, options, closes_at, quorum, anonymous, proposed_by, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (title, body, kind, json.dumps(list(options)), to_db_time(closes_at), quorum, int(anonymous), proposed_by,
         to_db_time(now)),
    )  # fmt: skip
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def proposal(conn: sqlite3.Connection, proposal_id: int) -> ProposalRow | None:
    row = fetchone(conn, f"{_SELECT} WHERE p.id = ?", (proposal_id,))
    return None if row is None else _row(row)


def all_proposals(conn: sqlite3.Connection) -> list[ProposalRow]:
    """Open ones first (closing soonest first), then closed ones, latest first."""
    rows = fetchall(
        conn,
        f"{_SELECT} ORDER BY p.status = 'closed', CASE WHEN p.status = 'open' THEN p.closes_at END,"
        " p.closed_at DESC, p.id DESC",
    )
    return [_row(r) for r in rows]


def due_to_close(conn: sqlite3.Connection, now: datetime) -> list[int]:
    rows = fetchall(
        conn,
        "SELECT id FROM proposals WHERE status = 'open' AND closes_at <= ? ORDER BY id",
        (to_db_time(now),),
    )
    return [r[0] for r in rows]


def close(conn: sqlite3.Connection, proposal_id: int, final_count: str, now: datetime) -> bool:
    """Close an open proposal and keep its count; False if it was already closed."""
    cursor = conn.execute(
        "UPDATE proposals SET status = 'closed', closed_at = ?, final_count = ? WHERE id = ? AND status = 'open'",
        (to_db_time(now), final_count, proposal_id),
    )
    return cursor.rowcount == 1


def extend(conn: sqlite3.Connection, proposal_id: int, closes_at: datetime) -> None:
    conn.execute(
        "UPDATE proposals SET closes_at = ? WHERE id = ? AND status = 'open'",
        (to_db_time(closes_at), proposal_id),
    )


def set_outcome(conn: sqlite3.Connection, proposal_id: int, outcome: str, now: datetime) -> None:
    conn.execute(
        "UPDATE proposals SET outcome = ?, outcome_at = ? WHERE id = ?",
        (outcome, to_db_time(now), proposal_id),
    )


def set_published(conn: sqlite3.Connection, proposal_id: int, visibility: str, now: datetime) -> None:
    conn.execute(
        "UPDATE proposals SET published_at = ?, published_visibility = ? WHERE id = ?",
        (to_db_time(now), visibility, proposal_id),
    )


# -- named positions ----------------------------------------------------------------------------------------


def set_named_position(
    conn: sqlite3.Connection, proposal_id: int, member_id: int, choice: str, reason: str, now: datetime
) -> None:
    conn.execute(
        "INSERT INTO proposal_positions (proposal_id, member_id, choice, reason, updated_at) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (proposal_id, member_id) DO UPDATE SET choice = excluded.choice, reason = excluded.reason,"
        " updated_at = excluded.updated_at",
        (proposal_id, member_id, choice, reason, to_db_time(now)),
    )


def named_positions(conn: sqlite3.Connection, proposal_id: int) -> list[NamedPosition]:
    rows = fetchall(
        conn,
        "SELECT p.member_id, m.name, p.choice, p.reason, p.updated_at FROM proposal_positions p"
        " JOIN members m ON m.id = p.member_id WHERE p.proposal_id = ? ORDER BY m.name COLLATE NOCASE",
        (proposal_id,),
    )
    return [NamedPosition(r[0], r[1], r[2], r[3], from_db_time(r[4])) for r in rows]  # type: ignore[arg-type]


def named_position(conn: sqlite3.Connection, proposal_id: int, member_id: int) -> Ballot | None:
    row = fetchone(
        conn,
        "SELECT choice, reason FROM proposal_positions WHERE proposal_id = ? AND member_id = ?",
        (proposal_id, member_id),
    )
    return None if row is None else Ballot(row[0], row[1])


# -- anonymous positions ------------------------------------------------------------------------------------


def has_taken_part(conn: sqlite3.Connection, proposal_id: int, member_id: int) -> bool:
    row = fetchone(
        conn,
        "SELECT 1 FROM proposal_participants WHERE proposal_id = ? AND member_id = ?",
        (proposal_id, member_id),
    )
    return row is not None


def add_anonymous_position(
    conn: sqlite3.Connection, proposal_id: int, member_id: int, ballot_key: str, choice: str, reason: str
) -> None:
    """Record that the member took part, and (in another table, unlinked) the position. Raises
    sqlite3.IntegrityError if they already took part: the caller's transaction then stores neither."""
    conn.execute(
        "INSERT INTO proposal_participants (proposal_id, member_id) VALUES (?, ?)", (proposal_id, member_id)
    )
    conn.execute(
        "INSERT INTO proposal_ballots (proposal_id, ballot_key, choice, reason) VALUES (?, ?, ?, ?)",
        (proposal_id, ballot_key, choice, reason),
    )


def change_anonymous_position(
    conn: sqlite3.Connection, proposal_id: int, ballot_key: str, choice: str, reason: str
) -> bool:
    cursor = conn.execute(
        "UPDATE proposal_ballots SET choice = ?, reason = ? WHERE proposal_id = ? AND ballot_key = ?",
        (choice, reason, proposal_id, ballot_key),
    )
    return cursor.rowcount == 1


def anonymous_position(conn: sqlite3.Connection, proposal_id: int, ballot_key: str) -> Ballot | None:
    row = fetchone(
        conn,
        "SELECT choice, reason FROM proposal_ballots WHERE proposal_id = ? AND ballot_key = ?",
        (proposal_id, ballot_key),
    )
    return None if row is None else Ballot(row[0], row[1])


def participant_count(conn: sqlite3.Connection, proposal_id: int) -> int:
    row = fetchone(conn, "SELECT COUNT(*) FROM proposal_participants WHERE proposal_id = ?", (proposal_id,))
    return int(row[0]) if row else 0


# -- the count ----------------------------------------------------------------------------------------------


def ballots(conn: sqlite3.Connection, proposal_id: int, anonymous: bool) -> list[Ballot]:
    """Every position taken, without who took it (anonymous: in key order, which is random)."""
    if anonymous:
        sql = "SELECT choice, reason FROM proposal_ballots WHERE proposal_id = ? ORDER BY ballot_key"
    else:
        sql = "SELECT choice, reason FROM proposal_positions WHERE proposal_id = ? ORDER BY updated_at"
    return [Ballot(r[0], r[1]) for r in fetchall(conn, sql, (proposal_id,))]


def member_took_part_in(conn: sqlite3.Connection, member_id: int) -> list[int]:
    """The proposals a member took a position on (for their data export): named and anonymous alike."""
    rows = fetchall(
        conn,
        "SELECT proposal_id FROM proposal_positions WHERE member_id = ?1"
        " UNION SELECT proposal_id FROM proposal_participants WHERE member_id = ?1 ORDER BY 1",
        (member_id,),
    )
    return [r[0] for r in rows]
