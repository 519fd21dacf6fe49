"""Members' private feed links. Only the digest of a link's secret is stored (store.sessions.digest)."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from fedgroup.store.db import fetchone, from_db_time, to_db_time
from fedgroup.store.members import COLUMNS, Member
from fedgroup.store.sessions import digest

_MEMBER_COLUMNS = ", ".join(f"m.{c}" for c in COLUMNS.split(", "))


def replace_link(conn: sqlite3.Connection, member_id: int, secret: str, now: datetime) -> None:
    """The member's one link is now `secret`'s: whatever link they had stops working in the same commit."""
    conn.execute(
        "INSERT INTO feed_links (member_id, secret_hash, created_at) VALUES (?, ?, ?) ON CONFLICT (member_id)"
        " DO UPDATE SET secret_hash = excluded.secret_hash, created_at = excluded.created_at",
        (member_id, digest(secret), to_db_time(now)),
    )


def remove_link(conn: sqlite3.Connection, member_id: int) -> bool:
    """The member's link stops working; False when they had none."""
    return conn.execute("DELETE FROM feed_links WHERE member_id = ?", (member_id,)).rowcount > 0


def link_made_at(conn: sqlite3.Connection, member_id: int) -> datetime | None:
    """When the member's current link was made; None when they have no link."""
    row = fetchone(conn, "SELECT created_at FROM feed_links WHERE member_id = ?", (member_id,))
    return None if row is None else from_db_time(row[0])


def member_of_secret(conn: sqlite3.Connection, secret: str) -> Member | None:
    """The member whose current link has this secret; None for a wrong or replaced one."""
    row = fetchone(
        conn,
        f"SELECT {_MEMBER_COLUMNS} FROM feed_links f JOIN members m ON m.id = f.member_id WHERE f.secret_hash = ?",
        (digest(secret),),
    )
    return None if row is None else Member(*row)
