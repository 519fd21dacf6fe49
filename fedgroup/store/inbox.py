"""Incoming activities: stored before we answer 202, processed later, each id once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from fedgroup.store.db import Database, fetchall, scalar, to_db_time


@dataclass(frozen=True)
class StoredActivity:
    id: str
    actor: str
    type: str
    document: str


Arrival = tuple[str, str, str, str, str]  # id, actor, type, document, received_at


async def add_all(conn: aiosqlite.Connection, arrivals: Iterable[Arrival]) -> None:
    """Store activities; an id already received is left as it is (a duplicate delivery)."""
    await conn.executemany(
        "INSERT INTO inbox_activities (id, actor, type, document, received_at) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (id) DO NOTHING",
        arrivals,
    )


class Arrivals:
    """Stores arriving activities together: everything that arrives while one batch is being committed goes
    into the next, as one statement and one commit. `add` returns only once its row is committed."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._waiting: list[tuple[Arrival, asyncio.Future[None]]] = []
        self._flushing: asyncio.Task[None] | None = None

    async def add(self, activity_id: str, actor: str, type_: str, document: str, now: datetime) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(((activity_id, actor, type_, document, to_db_time(now)), future))
        if self._flushing is None:
            self._flushing = asyncio.create_task(self._flush(), name="inbox-arrivals")
        await asyncio.shield(future)  # a caller that goes away does not cancel the others' commit

    async def _flush(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                rows = [row for row, _ in batch]
                try:
                    await self.db.write(lambda conn, rows=rows: add_all(conn, rows))
                except Exception as e:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(e)
                    continue
                for _, future in batch:
                    if not future.done():
                        future.set_result(None)
        finally:
            self._flushing = None


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
