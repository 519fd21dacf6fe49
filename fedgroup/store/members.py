"""Members of the group: local people, never ActivityPub actors."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from fedgroup.store.db import fetchall, fetchone, to_db_time

ROLES = ("admin", "organizer", "member")


@dataclass(frozen=True)
class Member:
    id: int
    name: str
    email: str | None
    role: str
    password_hash: str | None
    # The language of their pages, if they chose one (Account); None: their browser's, then the group's.
    language: str | None = None

    @property
    def is_organizer(self) -> bool:
        return self.role in ("admin", "organizer")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


COLUMNS = "id, name, email, role, password_hash, language"


def _member(row: sqlite3.Row | None) -> Member | None:
    return None if row is None else Member(*row)


def add(
    conn: sqlite3.Connection,
    name: str,
    role: str,
    email: str | None,
    password_hash: str | None,
    now: datetime,
) -> int:
    cursor = conn.execute(
        "INSERT INTO members (name, email, role, password_hash, created_at) VALUES (?, ?, ?, ?, ?)",
        (name, email, role, password_hash, to_db_time(now)),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def by_name(conn: sqlite3.Connection, name: str) -> Member | None:
    return _member(fetchone(conn, f"SELECT {COLUMNS} FROM members WHERE name = ?", (name,)))


def by_id(conn: sqlite3.Connection, member_id: int) -> Member | None:
    return _member(fetchone(conn, f"SELECT {COLUMNS} FROM members WHERE id = ?", (member_id,)))


def listing(conn: sqlite3.Connection, limit: int | None = None, offset: int = 0) -> list[Member]:
    """Members by name; `limit` of them from `offset` on when a limit is given (a page of the list)."""
    rows = fetchall(
        conn,
        f"SELECT {COLUMNS} FROM members ORDER BY name, id LIMIT ? OFFSET ?",
        (-1 if limit is None else limit, offset),
    )
    return [Member(*r) for r in rows]


def count(conn: sqlite3.Connection) -> int:
    row = fetchone(conn, "SELECT COUNT(*) FROM members")
    return int(row[0]) if row else 0


def count_admins(conn: sqlite3.Connection) -> int:
    row = fetchone(conn, "SELECT COUNT(*) FROM members WHERE role = 'admin'")
    return int(row[0]) if row else 0


def set_role(conn: sqlite3.Connection, member_id: int, role: str) -> None:
    conn.execute("UPDATE members SET role = ? WHERE id = ?", (role, member_id))


def set_language(conn: sqlite3.Connection, member_id: int, language: str | None) -> None:
    conn.execute("UPDATE members SET language = ? WHERE id = ?", (language, member_id))


def set_password_hash(conn: sqlite3.Connection, member_id: int, password_hash: str) -> None:
    conn.execute("UPDATE members SET password_hash = ? WHERE id = ?", (password_hash, member_id))


def remove(conn: sqlite3.Connection, member_id: int) -> None:
    """Delete the member; pledges and sessions go with them (ON DELETE CASCADE)."""
    conn.execute("DELETE FROM members WHERE id = ?", (member_id,))


# Every table that holds rows about one member, with the columns a copy of their data includes. A session's
# token digest and CSRF token are secrets, not data about the person, so only its dates are given; likewise
# for the second factor.
_EXPORTED: dict[str, str] = {
    "pledges": "p.id, p.campaign_id, c.title AS campaign_title, p.partner_campaign_id,"
    " pc.title AS partner_campaign_title, pc.group_actor AS partner_group, p.kind, p.amount, p.option_label,"
    " p.note, p.fulfilled, p.created_at, p.updated_at"
    " FROM pledges p LEFT JOIN campaigns c ON c.id = p.campaign_id"
    " LEFT JOIN partner_campaigns pc ON pc.id = p.partner_campaign_id WHERE p.member_id = ? ORDER BY p.id",
    "sessions": "created_at, expires_at FROM sessions WHERE member_id = ? ORDER BY created_at",
    # A password reset link: when it was made, until when it worked, whether it was used (never its token).
    "password_resets": "created_at, expires_at, used_at FROM password_resets WHERE member_id = ?"
    " ORDER BY created_at",
    # Money a member gave that an organizer linked to them, in the currency of the campaign's money goal.
    "money_received": "r.id, r.campaign_id, c.title AS campaign_title, r.source, r.amount, g.unit AS currency,"
    " r.received_on, r.sponsor, r.created_at FROM money_received r JOIN campaigns c ON c.id = r.campaign_id"
    " LEFT JOIN campaign_goals g ON g.campaign_id = r.campaign_id AND g.kind = 'money'"
    " WHERE r.member_id = ? ORDER BY r.id",
    # Expenses they recorded, approved or rejected as an organizer.
    "money_expenses": "e.id, e.campaign_id, e.what, e.amount, e.spent_on, e.state,"
    " CASE WHEN e.recorded_by = ?1 THEN 'recorded' ELSE 'decided' END AS role, e.created_at, e.decided_at"
    " FROM money_expenses e WHERE e.recorded_by = ?1 OR e.decided_by = ?1 ORDER BY e.id",
    # Their positions on named proposals. On an anonymous proposal only that they took part: what they chose
    # is not stored with them, so it cannot be exported either.
    "proposal_positions": "pp.proposal_id, p.title AS proposal_title, pp.choice, pp.reason, pp.updated_at"
    " FROM proposal_positions pp JOIN proposals p ON p.id = pp.proposal_id WHERE pp.member_id = ?"
    " ORDER BY pp.proposal_id",
    "proposal_participants": "pp.proposal_id, p.title AS proposal_title FROM proposal_participants pp"
    " JOIN proposals p ON p.id = pp.proposal_id WHERE pp.member_id = ? ORDER BY pp.proposal_id",
    # The TOTP secret and the recovery codes' digests are secrets too: only that the factor is on, since when.
    "two_factor": "enabled_at FROM two_factor WHERE member_id = ?",
    "recovery_codes": "used_at FROM recovery_codes WHERE member_id = ? ORDER BY used_at",
    # Gatherings they said they come to: going, or waiting for a place.
    "gathering_rsvps": "r.gathering_id, g.title AS gathering_title, g.starts_at, r.state, r.created_at"
    " FROM gathering_rsvps r JOIN gatherings g ON g.id = r.gathering_id WHERE r.member_id = ? ORDER BY r.id",
    # Their private feed link: when it was made (its secret is only in the link they were shown).
    "feed_links": "created_at FROM feed_links WHERE member_id = ?",
    # Mail: their choices, the news waiting for them, and the mail sent or queued to them (what, when; the
    # message itself is what they received).
    "mail_preferences": "kinds, delivery, break_until, break_keeps, asks_per_week, updated_at"
    " FROM mail_preferences WHERE member_id = ?",
    "mail_items": "kind, subject, created_at, release_at, dispatched_at FROM mail_items WHERE member_id = ?"
    " ORDER BY id",
    "mail_queue": "notification, message_id, state, queued_at, finished_at FROM mail_queue WHERE member_id = ?"
    " ORDER BY id",
    "pledge_notices": "text, created_at FROM pledge_notices WHERE member_id = ? ORDER BY id",
}
EXPORTED_TABLES = ("members", *_EXPORTED)


def export(conn: sqlite3.Connection, member_id: int) -> dict[str, object] | None:
    """Everything stored about one member, as plain values (the password is said to be set, not given)."""
    row = fetchone(
        conn,
        "SELECT id, name, email, role, password_hash, created_at, language FROM members WHERE id = ?",
        (member_id,),
    )
    if row is None:
        return None
    result: dict[str, object] = {
        "member": {
            "id": row[0],
            "name": row[1],
            "email": row[2],
            "role": row[3],
            "password": "set (stored only as an argon2 hash)" if row[4] else "not set",
            "created_at": row[5],
            "language": row[6],
        }
    }
    for table, query in _EXPORTED.items():
        cursor = conn.execute(f"SELECT {query}", (member_id,))
        names = [d[0] for d in cursor.description]
        result[table] = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
    return result
