"""Pending releases of what partners see: changes to our aggregate for a partner's campaign, waiting to be
sent in one batch (disclosure.py decides when)."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from fedgroup.store.db import fetchall, fetchone, from_db_time, to_db_time


def add_change(conn: sqlite3.Connection, partner_campaign_id: int, now: datetime) -> tuple[int, datetime]:
    """Count one more pending change; returns (pending changes, when the batch's first change was made)."""
    conn.execute(
        "INSERT INTO partner_releases (partner_campaign_id, pending_changes, first_change_at, due_at)"
        " VALUES (?, 1, ?, ?) ON CONFLICT (partner_campaign_id) DO UPDATE SET"
        " pending_changes = pending_changes + 1",
        (partner_campaign_id, to_db_time(now), to_db_time(now)),
    )
    row = fetchone(
        conn,
        "SELECT pending_changes, first_change_at FROM partner_releases WHERE partner_campaign_id = ?",
        (partner_campaign_id,),
    )
    assert row is not None
    return int(row[0]), from_db_time(row[1])  # type: ignore[return-value]


def set_due(conn: sqlite3.Connection, partner_campaign_id: int, due: datetime) -> None:
    conn.execute(
        "UPDATE partner_releases SET due_at = ? WHERE partner_campaign_id = ?",
        (to_db_time(due), partner_campaign_id),
    )


def due(conn: sqlite3.Connection, now: datetime) -> list[int]:
    rows = fetchall(
        conn, "SELECT partner_campaign_id FROM partner_releases WHERE due_at <= ? ORDER BY due_at", (to_db_time(now),)
    )
    return [r[0] for r in rows]


def pending(conn: sqlite3.Connection) -> list[tuple[int, int, datetime]]:
    """(partner campaign, pending changes, due at) of every batch waiting."""
    rows = fetchall(
        conn, "SELECT partner_campaign_id, pending_changes, due_at FROM partner_releases ORDER BY due_at"
    )
    return [(r[0], r[1], from_db_time(r[2])) for r in rows]  # type: ignore[misc]


def released(conn: sqlite3.Connection, partner_campaign_id: int) -> None:
    conn.execute("DELETE FROM partner_releases WHERE partner_campaign_id = ?", (partner_campaign_id,))
