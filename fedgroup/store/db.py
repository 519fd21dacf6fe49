"""The SQLite database: one write path with group commits, a read connection, numbered migrations.

Every write goes through `Database.write(job)`. A single writer task takes the queued jobs, runs as many as
are waiting inside one transaction (should one fail, the batch is run again with each job in its own
SAVEPOINT, so the failure rolls back only itself), commits once, and only then resolves each caller's future.
Under load that turns N commits into one, and a caller is never told "stored" before its rows are committed.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

log = logging.getLogger(__name__)

T = TypeVar("T")
WriteJob = Callable[[aiosqlite.Connection], Awaitable[T]]

# A CLI command and the server share the file: wait for the other writer instead of failing.
BUSY_TIMEOUT_MS = 30_000
# Upper bound of jobs committed together; keeps one transaction short enough not to starve readers.
MAX_JOBS_PER_COMMIT = 256


class DatabaseError(Exception):
    """The database cannot be opened or migrated; the message is meant for the operator."""


def _migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) for every file in store/migrations, in order."""
    found = []
    for entry in resources.files("fedgroup.store.migrations").iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), name, entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [v for v, _, _ in found]
    if versions != list(range(1, len(versions) + 1)):
        raise DatabaseError(f"migrations are not numbered 1..n: {versions}")
    return found


async def _configure(conn: aiosqlite.Connection) -> None:
    conn.row_factory = sqlite3.Row
    await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    await conn.execute("PRAGMA foreign_keys = ON")
    await conn.execute("PRAGMA synchronous = NORMAL")  # safe with WAL: a crash loses no committed txn
    await conn.execute("PRAGMA temp_store = MEMORY")
    # Deleted rows are overwritten with zeros, not left in free pages: erasing a member erases the bytes.
    await conn.execute("PRAGMA secure_delete = ON")


class Database:
    """One SQLite file: a writer connection fed by a job queue, and a read connection."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._queue: asyncio.Queue[tuple[WriteJob[Any], asyncio.Future[Any]] | None] = asyncio.Queue()
        self._writer_task: asyncio.Task[None] | None = None

    async def open(self) -> Database:
        try:
            self._writer = await aiosqlite.connect(self.path, isolation_level=None)
            await _configure(self._writer)
            mode = await self._scalar(self._writer, "PRAGMA journal_mode = WAL")
            if str(mode).lower() != "wal":
                raise DatabaseError(f"could not switch {self.path} to WAL mode (got {mode})")
            await self._migrate(self._writer)
            self._reader = await aiosqlite.connect(self.path, isolation_level=None)
            await _configure(self._reader)
            await self._reader.execute("PRAGMA query_only = ON")
        except sqlite3.Error as e:
            await self.close()
            raise DatabaseError(f"cannot open database {self.path}: {e}") from e
        self._writer_task = asyncio.create_task(self._write_loop(), name="db-writer")
        return self

    async def close(self) -> None:
        if self._writer_task is not None:
            await self._queue.put(None)
            await self._writer_task
            self._writer_task = None
        for conn in (self._reader, self._writer):
            if conn is not None:
                await conn.close()
        self._reader = self._writer = None

    async def __aenter__(self) -> Database:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- reads ---------------------------------------------------------------------------------

    @property
    def reader(self) -> aiosqlite.Connection:
        assert self._reader is not None, "database is not open"
        return self._reader

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        return list(await self.reader.execute_fetchall(sql, tuple(params)))

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Row | None:
        return await fetchone(self.reader, sql, params)

    async def scalar(self, sql: str, params: Iterable[Any] = ()) -> Any:
        return await self._scalar(self.reader, sql, params)

    @staticmethod
    async def _scalar(conn: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()) -> Any:
        row = await fetchone(conn, sql, params)
        return None if row is None else row[0]

    # -- writes --------------------------------------------------------------------------------

    async def write(self, job: WriteJob[T]) -> T:
        """Run `job(conn)` inside a transaction; returns once its changes are committed."""
        if self._writer_task is None:
            raise DatabaseError("database is not open")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        await self._queue.put((job, future))
        return await future

    async def _write_loop(self) -> None:
        conn = self._writer
        assert conn is not None
        while True:
            first = await self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < MAX_JOBS_PER_COMMIT and not self._queue.empty():
                item = self._queue.get_nowait()
                if item is None:
                    stop = True
                    break
                batch.append(item)
            await self._run_batch(conn, batch)
            if stop:
                return

    async def _run_batch(
        self, conn: aiosqlite.Connection, batch: list[tuple[WriteJob[Any], asyncio.Future[Any]]]
    ) -> None:
        """Commit the batch's jobs together. First all in one plain transaction (two trips to the database
        thread fewer per job); only when a job fails is that undone and the batch run again with each job in
        its own SAVEPOINT, so the failure rolls back that job alone. Jobs touch nothing but the database, so
        running one twice is harmless."""
        live = [(job, future) for job, future in batch if not future.cancelled()]
        if not live:
            return
        try:
            outcomes = await self._attempt(conn, live, savepoints=False)
            if outcomes is None:
                outcomes = await self._attempt(conn, live, savepoints=True)
            assert outcomes is not None
        except Exception as e:
            log.exception("database write failed; batch rolled back jobs=%d", len(live))
            if conn.in_transaction:
                try:
                    await conn.execute("ROLLBACK")
                except sqlite3.Error:
                    log.exception("rollback failed")
            for _, future in live:
                if not future.done():
                    future.set_exception(e)
            return
        for (_, future), (ok, value) in zip(live, outcomes, strict=True):
            if future.done():
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

    @staticmethod
    async def _attempt(
        conn: aiosqlite.Connection, batch: list[tuple[WriteJob[Any], asyncio.Future[Any]]], savepoints: bool
    ) -> list[tuple[bool, Any]] | None:
        """Run and commit the jobs; None (rolled back) when a job failed and savepoints were off."""
        outcomes: list[tuple[bool, Any]] = []
        await conn.execute("BEGIN IMMEDIATE")
        for job, _ in batch:
            if savepoints:
                await conn.execute("SAVEPOINT job")
            try:
                result = await job(conn)
            except Exception as e:  # the job's own failure
                if not savepoints:
                    await conn.execute("ROLLBACK")
                    return None
                await conn.execute("ROLLBACK TO job")
                await conn.execute("RELEASE job")
                outcomes.append((False, e))
            else:
                if savepoints:
                    await conn.execute("RELEASE job")
                outcomes.append((True, result))
        await conn.execute("COMMIT")
        return outcomes

    # -- migrations ----------------------------------------------------------------------------

    async def _migrate(self, conn: aiosqlite.Connection) -> None:
        await conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        current = await self._scalar(conn, "SELECT MAX(version) FROM schema_version") or 0
        migrations = _migrations()
        if current > len(migrations):
            raise DatabaseError(
                f"database schema version {current} is newer than this fedgroup ({len(migrations)}); upgrade fedgroup"
            )
        for version, name, sql in migrations[current:]:
            await conn.execute("BEGIN IMMEDIATE")
            try:
                # Re-check inside the lock: another process may have migrated meanwhile.
                now_at = await self._scalar(conn, "SELECT MAX(version) FROM schema_version") or 0
                if now_at >= version:
                    await conn.execute("ROLLBACK")
                    continue
                for statement in _split_sql(sql):
                    await conn.execute(statement)
                await conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
                await conn.execute("COMMIT")
            except Exception:
                await conn.execute("ROLLBACK")
                raise
            log.info("database migrated to version=%d file=%s", version, name)

    async def flush_log(self) -> None:
        """Move the write-ahead log into the database file and empty it, so that the old versions of pages
        it holds (rows just erased among them) are gone from disk too. Best effort: a busy log is left."""

        def checkpoint() -> None:
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000)
            try:
                conn.execute("PRAGMA secure_delete = ON")
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                conn.close()

        try:
            await asyncio.to_thread(checkpoint)
        except sqlite3.Error as e:
            log.info("write-ahead log not flushed reason=%s", e)

    async def schema_version(self) -> int:
        return int(await self.scalar("SELECT MAX(version) FROM schema_version") or 0)


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements (executescript would commit our transaction)."""
    statements, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            if current.strip():
                statements.append(current.strip())
            current = ""
    if current.strip():
        raise DatabaseError("migration ends in an incomplete statement")
    return statements


async def fetchone(conn: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()) -> sqlite3.Row | None:
    """The first row. One trip to the database thread (execute, fetch and close would be three), and no
    statement is left open across an await, where it would hold other tasks' reads on an old snapshot."""
    rows = await conn.execute_fetchall(sql, tuple(params))
    return next(iter(rows), None)


async def fetchall(conn: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
    return list(await conn.execute_fetchall(sql, tuple(params)))


# Timestamps are stored as fixed-width UTC text so that they compare and sort as strings.
_DB_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"


def to_db_time(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("naive datetime given to the store")
    # The _DB_TIME layout, written by isoformat (several times faster than strftime, on every write).
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def from_db_time(text: str | None) -> datetime | None:
    if text is None:
        return None
    # Pages read thousands of these: strptime cost a quarter of a page's time. Our own fixed-width text
    # (YYYY-MM-DDTHH:MM:SS.ffffffZ, 27 characters) takes the fast path; anything else gets strptime's checks.
    if len(text) == 27 and text[10] == "T" and text[19] == "." and text[26] == "Z":
        return datetime.fromisoformat(text[:26]).replace(tzinfo=UTC)
    return datetime.strptime(text, _DB_TIME).replace(tzinfo=UTC)


async def scalar(conn: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()) -> Any:
    row = await fetchone(conn, sql, params)
    return None if row is None else row[0]


def latest_schema_version() -> int:
    """The schema version this fedgroup migrates a database to."""
    return len(_migrations())
