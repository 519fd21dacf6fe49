"""Incoming activities: stored before we answer 202, processed later, each id once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from fedgroup.store.db import fetchall, scalar, to_db_time


@dataclass(frozen=True)
class StoredActivity:
    id: str
    actor: str
    type: str
    document: str


async def add(
    conn: aiosqlite.Connection, activity_id: str, actor: str, type_: str, document: str, now: datetime
) -> bool:
    """Store an activity; False when that id was already received (a duplicate delivery)."""
    cursor = await conn.execute(
        "INSERT INTO inbox_activities (id, actor, type, document, received_at) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (id) DO NOTHING",
        (activity_id, actor, type_, document, to_db_time(now)),
    )
    return cursor.rowcount > 0


async def pending(conn: aiosqlite.Connection, limit: int = 100) -> list[StoredActivity]:
    rows = await fetchall(
        conn,
        "SELECT id, actor, type, document FROM inbox_activities WHERE state = 'pending'"
        " ORDER BY received_at LIMIT ?",
        (limit,),
    )
    return [StoredActivity(*r) for r in rows]


async def finish_all(conn: aiosqlite.Connection, results: Iterable[tuple[str, str | None]]) -> None:
    """Mark activities processed: (id, None) done, (id, error) failed. A done activity's document is dropped:
    only the id is needed to refuse a replay."""
    results = list(results)
    await conn.executemany(
        "UPDATE inbox_activities SET state = 'done', document = '' WHERE id = ?",
        [(i,) for i, error in results if error is None],
    )
    await conn.executemany(
        "UPDATE inbox_activities SET state = 'failed', error = ? WHERE id = ?",
        [(error[:500], i) for i, error in results if error is not None],
    )


async def state_of(conn: aiosqlite.Connection, activity_id: str) -> str | None:
    return await scalar(conn, "SELECT state FROM inbox_activities WHERE id = ?", (activity_id,))
