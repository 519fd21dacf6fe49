"""What the admin's first steps are read from (rules/first_steps.py), and whether an admin put them away."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from fedgroup.store.db import fetchone, to_db_time


@dataclass(frozen=True)
class Facts:
    group_name: str
    organizers: int
    open_organizer_invitations: int
    campaigns: int
    dismissed: bool


def _count(conn: sqlite3.Connection, sql: str, params: tuple[object, ...] = ()) -> int:
    row = fetchone(conn, sql, params)
    return int(row[0]) if row else 0


def facts(conn: sqlite3.Connection, now: datetime) -> Facts:
    site = fetchone(conn, "SELECT name, first_steps_dismissed_at FROM site WHERE id = 1")
    return Facts(
        group_name=str(site[0]) if site else "",
        organizers=_count(conn, "SELECT COUNT(*) FROM members WHERE role IN ('organizer', 'admin')"),
        open_organizer_invitations=_count(
            conn,
            "SELECT COUNT(*) FROM invites WHERE role IN ('organizer', 'admin') AND used_at IS NULL"
            " AND expires_at > ?",
            (to_db_time(now),),
        ),
        campaigns=_count(conn, "SELECT COUNT(*) FROM campaigns WHERE draft = 0 AND deleted_at IS NULL"),
        dismissed=site is not None and site[1] is not None,
    )


def dismiss(conn: sqlite3.Connection, now: datetime) -> None:
    """Put the first steps away for every admin, for good (the first dismissal's time is kept)."""
    conn.execute(
        "UPDATE site SET first_steps_dismissed_at = ? WHERE id = 1 AND first_steps_dismissed_at IS NULL",
        (to_db_time(now),),
    )
