"""Reports (moderation): the ones other servers sent about us, and the ones we sent about remote accounts."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import orjson

from fedgroup.store.db import fetchall, from_db_time, to_db_time


@dataclass(frozen=True)
class Report:
    id: int
    direction: str
    activity_id: str
    remote_actor: str
    objects: tuple[str, ...]
    comment: str
    created_at: datetime
    resolved_at: datetime | None


def add(
    conn: sqlite3.Connection,
    direction: str,
    activity_id: str,
    remote_actor: str,
    objects: Sequence[str],
    comment: str,
    now: datetime,
) -> bool:
    """Record a report once per activity id; False when it was already there."""
    cursor = conn.execute(
        "INSERT INTO reports (direction, activity_id, remote_actor, objects, comment, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (activity_id) DO NOTHING",
        (
            direction,
            activity_id,
            remote_actor,
            orjson.dumps(list(objects)).decode(),
            comment,
            to_db_time(now),
        ),
    )
    return cursor.rowcount > 0


def listing(conn: sqlite3.Connection, direction: str, open_only: bool = False) -> list[Report]:
    rows = fetchall(
        conn,
        "SELECT id, direction, activity_id, remote_actor, objects, comment, created_at, resolved_at"
        " FROM reports WHERE direction = ?"
        + (" AND resolved_at IS NULL" if open_only else "")
        + " ORDER BY created_at DESC, id DESC",
        (direction,),
    )
    return [
        Report(
            id=r[0],
            direction=r[1],
            activity_id=r[2],
            remote_actor=r[3],
            objects=tuple(orjson.loads(r[4])),
            comment=r[5],
            created_at=from_db_time(r[6]),  # type: ignore[arg-type]
            resolved_at=from_db_time(r[7]),
        )
        for r in rows
    ]


def resolve(conn: sqlite3.Connection, report_id: int, now: datetime) -> bool:
    cursor = conn.execute(
        "UPDATE reports SET resolved_at = ? WHERE id = ? AND direction = 'received' AND resolved_at IS NULL",
        (to_db_time(now), report_id),
    )
    return cursor.rowcount > 0


def forget_actor(conn: sqlite3.Connection, actor_id: str) -> None:
    """A blocked or deleted account: the reports it sent go (reports about it that we sent stay)."""
    conn.execute("DELETE FROM reports WHERE direction = 'received' AND remote_actor = ?", (actor_id,))
