"""Incoming activities: stored before we answer 202, processed later, each id once."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from fedgroup.store.db import Database, fetchall, fetchone, from_db_time, scalar, to_db_time


@dataclass(frozen=True)
class StoredActivity:
    id: str
    actor: str
    type: str
    document: str
    received_at: str
    attempts: int = 0  # failed attempts so far
    # What the inbox already read from the document when it arrived (handed to the processor with the row
    # just stored, so that it is not read from the database and parsed a second time); None when read back.
    parsed: Any = field(default=None, compare=False, repr=False)


class Arrival(NamedTuple):
    id: str  # the activity's id, or a digest of its body for one without an id
    actor: str
    type: str
    document: str
    received_at: str
    undoes: str | None  # for an Undo, the id of what it undoes
    signature: str | None  # a digest of the request's signature
    forget_before: str  # a row received before this is forgotten: a request that old is refused anyway
    event: str | None  # for a Create its object ids, for an Update a digest of its document (see _ADD)


# An id already stored is a repeat, and is left as it is, unless the row is a new event:
# - the earlier row is older than any request we would still accept (`forget_before`);
# - or, since it arrived, an Undo of it came from the same actor (Takahē re-follows with the Follow's id;
#   a vote undone and cast again with the same ids);
# - or it is an Undo and, since the earlier one arrived, its actor did again what it undoes — sent the
#   activity it names again, or sent anything new other than an Undo or Delete (Misskey's Undo of a follow
#   names a Follow id of its own making, never the id of the Follow it sent). Processing an Undo whose
#   target is already gone changes nothing, so this errs only toward a harmless extra run;
# - or it is a Create of other objects, or an Update of another document, than the stored one (`event`):
#   GoToSocial's vote Create id names no poll, so a vote cast again after it replaced its copy of the poll
#   comes with the first vote's id and a new Note; Takahē sends every profile Update as `<actor>#update`.
#   A Create of the same objects with other content stays a repeat: an edit comes as an Update.
# In every case only the same actor, and never the same signed request again (a replay). A row taken up
# again is pending, with the new document and arrival time; its processing follows what came before it.
_ADD = """
INSERT INTO inbox_activities (id, actor, type, document, received_at, undoes, signature, event)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?9)
ON CONFLICT (id) DO UPDATE SET
    type = excluded.type, document = excluded.document, received_at = excluded.received_at,
    undoes = excluded.undoes, signature = excluded.signature, event = excluded.event, state = 'pending',
    error = NULL, attempts = 0, next_attempt_at = NULL
WHERE inbox_activities.actor = excluded.actor
  AND inbox_activities.signature IS NOT excluded.signature
  AND (
    inbox_activities.received_at < ?8
    OR EXISTS (
        SELECT 1 FROM inbox_activities AS undo
        WHERE undo.undoes = excluded.id AND undo.actor = excluded.actor
          AND undo.received_at > inbox_activities.received_at)
    OR (excluded.type = 'Undo' AND (
        EXISTS (
            SELECT 1 FROM inbox_activities AS redo
            WHERE redo.id = excluded.undoes AND redo.actor = excluded.actor
              AND redo.received_at > inbox_activities.received_at)
        OR EXISTS (
            SELECT 1 FROM inbox_activities AS later
            WHERE later.rowid > inbox_activities.rowid AND later.actor = excluded.actor
              AND later.type NOT IN ('Undo', 'Delete'))))
    OR (excluded.type IN ('Create', 'Update') AND inbox_activities.event IS NOT excluded.event)
  )
"""


def add_all(conn: sqlite3.Connection, arrivals: Iterable[Arrival]) -> list[bool]:
    """Store activities; a repeat of one already stored is left as it is (see _ADD for what is new). Says of
    each whether it was stored (new, or a new event): only those are for the processor. Of the same id twice
    in one call (the same delivery sent twice at once), only the first is stored."""
    returning = _ADD + " RETURNING 1"
    return [conn.execute(returning, row).fetchone() is not None for row in arrivals]


class Arrivals:
    """Stores arriving activities together: everything that arrives while one batch is being committed goes
    into the next, as one statement and one commit. `add` returns only once its row is committed."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._waiting: list[tuple[Arrival, Any, asyncio.Future[None]]] = []
        self._flushing: asyncio.Task[None] | None = None
        # Called with the activities just stored (new ones only, not repeats), once committed: the processor
        # takes them from here instead of reading them back.
        self.on_stored: Callable[[list[StoredActivity]], None] | None = None

    async def add(
        self,
        activity_id: str,
        actor: str,
        type_: str,
        document: str,
        now: datetime,
        undoes: str | None = None,
        signature: str | None = None,
        forget_before: datetime | None = None,
        event: str | None = None,
        parsed: Any = None,
    ) -> None:
        """Store one arriving activity with the others arriving now; returns once it is committed. `parsed`
        is what the caller read from `document`, handed on with it."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        arrival = Arrival(
            activity_id, actor, type_, document, to_db_time(now), undoes, signature,
            to_db_time(forget_before) if forget_before is not None else "", event,
        )  # fmt: skip
        self._waiting.append((arrival, parsed, future))
        if self._flushing is None:
            self._flushing = asyncio.create_task(self._flush(), name="inbox-arrivals")
        await asyncio.shield(future)  # a caller that goes away does not cancel the others' commit

    async def _flush(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                rows = [row for row, _, _ in batch]
                try:
                    stored = await self.db.write(add_all, rows)
                except Exception as e:
                    for _, _, future in batch:
                        if not future.done():
                            future.set_exception(e)
                    continue
                if self.on_stored is not None:
                    self.on_stored([
                        StoredActivity(row.id, row.actor, row.type, row.document, row.received_at, 0, parsed)
                        for (row, parsed, _), new in zip(batch, stored, strict=True) if new
                    ])  # fmt: skip
                for _, _, future in batch:
                    if not future.done():
                        future.set_result(None)
        finally:
            self._flushing = None


def pending(conn: sqlite3.Connection, limit: int = 100) -> list[StoredActivity]:
    """Every activity not yet processed nor given up, due or not, in arrival order."""
    rows = fetchall(
        conn,
        f"SELECT {_COLUMNS} FROM inbox_activities WHERE state = 'pending' ORDER BY received_at LIMIT ?",
        (limit,),
    )
    return [StoredActivity(*r) for r in rows]


_COLUMNS = "id, actor, type, document, received_at, attempts"
# A new arrival is due at once (in arrival order); a failed one at the time its retry was set for.
_DUE_AT = "COALESCE(next_attempt_at, received_at)"


def due(conn: sqlite3.Connection, now: datetime, limit: int = 100) -> list[StoredActivity]:
    """Pending activities whose time has come: new ones in arrival order, retries when they are due."""
    rows = fetchall(
        conn,
        f"SELECT {_COLUMNS} FROM inbox_activities WHERE state = 'pending' AND {_DUE_AT} <= ?"
        f" ORDER BY {_DUE_AT}, rowid LIMIT ?",
        (to_db_time(now), limit),
    )
    return [StoredActivity(*r) for r in rows]


# More ids than this are not left out of next_due_at (SQLite bounds a statement's parameters): counting them
# in only makes the caller look again sooner.
MAX_EXCLUDED = 500


def next_due_at(conn: sqlite3.Connection, excluding: Collection[str] = ()) -> datetime | None:
    """When the next pending activity is due, leaving out those `excluding` names (the ones being handled
    right now, still 'pending' here until what came of them is recorded)."""
    ids = list(excluding) if len(excluding) <= MAX_EXCLUDED else []
    leave_out = f" AND id NOT IN ({', '.join('?' * len(ids))})" if ids else ""
    return from_db_time(
        scalar(conn, f"SELECT MIN({_DUE_AT}) FROM inbox_activities WHERE state = 'pending'{leave_out}", ids)
    )


class Finished(NamedTuple):
    """What came of processing an activity: done (no error), to be retried at `retry_at`, or given up."""

    activity: StoredActivity
    error: str | None = None
    retry_at: datetime | None = None


def finish_all(conn: sqlite3.Connection, results: Iterable[Finished]) -> None:
    """Record what came of processing activities. A done activity's document is dropped: only the id is needed
    to refuse a repeat. One to retry stays pending with its error and its next time; one given up is 'failed',
    kept with its document and error for the operator. A row that was taken up again while it was being
    processed (a new event with the same id) has a new arrival time, and is left as it is."""
    results = list(results)
    conn.executemany(
        "UPDATE inbox_activities SET state = 'done', document = '', error = NULL"
        " WHERE id = ? AND received_at = ?",
        [(r.activity.id, r.activity.received_at) for r in results if r.error is None],
    )
    # A row its handler already marked done (in its last write) before failing after it goes back to pending.
    conn.executemany(
        "UPDATE inbox_activities SET state = 'pending', attempts = attempts + 1, next_attempt_at = ?, error = ?"
        " WHERE id = ? AND received_at = ?",
        [
            (to_db_time(r.retry_at), r.error[:500], r.activity.id, r.activity.received_at)
            for r in results
            if r.error is not None and r.retry_at is not None
        ],
    )
    conn.executemany(
        "UPDATE inbox_activities SET state = 'failed', attempts = attempts + 1, next_attempt_at = NULL,"
        " error = ? WHERE id = ? AND received_at = ?",
        [
            (r.error[:500], r.activity.id, r.activity.received_at)
            for r in results
            if r.error is not None and r.retry_at is None
        ],
    )


def mark_done(conn: sqlite3.Connection, activity: StoredActivity) -> None:
    """Mark an activity done inside its handler's last write (actions.handling). Its document stays until the
    processor records the batch, in case the handler fails after this write and the row runs again."""
    conn.execute(
        "UPDATE inbox_activities SET state = 'done' WHERE id = ? AND received_at = ? AND state = 'pending'",
        (activity.id, activity.received_at),
    )


class QueueCounts(NamedTuple):
    pending: int  # not tried yet
    retrying: int  # failed at least once, to be tried again
    given_up: int  # kept for the operator
    oldest: datetime | None  # when the oldest item still to be done arrived


def pending_count(conn: sqlite3.Connection) -> int:
    """Activities not processed yet (nor given up): counted on the index of pending rows."""
    return int(scalar(conn, "SELECT COUNT(*) FROM inbox_activities WHERE state = 'pending'"))


def counts(conn: sqlite3.Connection) -> QueueCounts:
    row = fetchone(
        conn,
        "SELECT COALESCE(SUM(state = 'pending' AND attempts = 0), 0),"
        " COALESCE(SUM(state = 'pending' AND attempts > 0), 0), COALESCE(SUM(state = 'failed'), 0),"
        " MIN(CASE WHEN state = 'pending' THEN received_at END) FROM inbox_activities",
    )
    assert row is not None
    return QueueCounts(int(row[0]), int(row[1]), int(row[2]), from_db_time(row[3]))


@dataclass(frozen=True)
class GivenUp:
    id: str
    actor: str
    type: str
    received_at: str
    attempts: int
    error: str | None


def given_up(conn: sqlite3.Connection, limit: int = 50) -> list[GivenUp]:
    rows = fetchall(
        conn,
        "SELECT id, actor, type, received_at, attempts, error FROM inbox_activities WHERE state = 'failed'"
        " ORDER BY received_at DESC LIMIT ?",
        (limit,),
    )
    return [GivenUp(*r) for r in rows]


def retry_given_up(conn: sqlite3.Connection, activity_id: str | None) -> int:
    """Put a given-up activity (or, with None, every one) back in the queue, due at once; returns how many.
    Its age still counts from its arrival, so a retry that fails again is given up again at once."""
    where = "state = 'failed'" + (" AND id = ?" if activity_id is not None else "")
    cursor = conn.execute(
        f"UPDATE inbox_activities SET state = 'pending', next_attempt_at = NULL WHERE {where}",
        (activity_id,) if activity_id is not None else (),
    )
    return cursor.rowcount


def forget_done(conn: sqlite3.Connection, received_before: datetime) -> int:
    """Drop processed activities received before this: a request that old would be refused for its Date, so
    their ids are no longer needed to recognise a repeat (and the table stays small)."""
    cursor = conn.execute(
        "DELETE FROM inbox_activities WHERE state = 'done' AND received_at < ?",
        (to_db_time(received_before),),
    )
    return cursor.rowcount


def state_of(conn: sqlite3.Connection, activity_id: str) -> str | None:
    state: str | None = scalar(conn, "SELECT state FROM inbox_activities WHERE id = ?", (activity_id,))
    return state
