"""Campaign rows. Goals, options and pledges join on the campaign id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from fedgroup.store.db import fetchall, fetchone, from_db_time, to_db_time


@dataclass(frozen=True)
class CampaignRow:
    id: int
    title: str
    body: str
    visibility: str
    status: str
    deadline: datetime | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    deleted_at: datetime | None


_COLUMNS = "id, title, body, visibility, status, deadline, created_at, updated_at, closed_at, deleted_at"


def _row(row: aiosqlite.Row | None) -> CampaignRow | None:
    if row is None:
        return None
    return CampaignRow(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4],
        *(from_db_time(v) for v in row[5:]),  # type: ignore[arg-type]
    )


async def insert(
    conn: aiosqlite.Connection,
    title: str,
    body: str,
    visibility: str,
    deadline: datetime | None,
    now: datetime,
) -> int:
    stamp = to_db_time(now)
    cursor = await conn.execute(
        "INSERT INTO campaigns (title, body, visibility, deadline, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
        (title, body, visibility, to_db_time(deadline) if deadline else None, stamp, stamp),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


async def get(conn: aiosqlite.Connection, campaign_id: int) -> CampaignRow | None:
    return _row(await fetchone(conn, f"SELECT {_COLUMNS} FROM campaigns WHERE id = ?", (campaign_id,)))


async def listing(conn: aiosqlite.Connection, visibilities: tuple[str, ...]) -> list[CampaignRow]:
    """Campaigns not deleted, of the given visibilities, newest first."""
    marks = ",".join("?" * len(visibilities))
    rows = await fetchall(
        conn,
        f"SELECT {_COLUMNS} FROM campaigns WHERE deleted_at IS NULL AND visibility IN ({marks})"
        " ORDER BY created_at DESC, id DESC",
        visibilities,
    )
    return [c for c in map(_row, rows) if c is not None]
