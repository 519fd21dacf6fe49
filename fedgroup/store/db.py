"""The SQLite database: one write path with group commits, one read path, numbered migrations.

Every write goes through `Database.write(job)`, where a job is a plain function of a sqlite3 connection. The
writer thread takes the queued jobs, runs as many as are waiting inside one transaction (should one fail, the
batch is run again with each job in its own SAVEPOINT, so the failure rolls back only itself), commits once,
and only then resolves each caller's future. Under load that turns N commits into one, and a caller is never
told "stored" before its rows are committed. A transaction begins and commits within one call on the writer
thread: nothing in it waits for the event loop, so a loop that stalls (a slow page, a long callback) never
holds the write lock, and a CLI command beside the server never waits for it.

Reads go through `Database.read(fn, ...)`: `fn(conn, ...)` runs on the reader thread's read-only connection,
one trip for the whole function however many statements it runs. `Database.peek(fn, ...)` is for the few
reads of a few microseconds that nearly every request makes (has anything been committed since I last
looked?): it runs on the calling thread with a read-only connection of its own, because a trip to the reader
thread costs at least a turn of the event loop, and during an inbox flood a turn takes tens of milliseconds.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from fedgroup.store import versions

log = logging.getLogger(__name__)

T = TypeVar("T")
P = ParamSpec("P")
WriteJob = Callable[[sqlite3.Connection], T]

# A CLI command and the server share the file: wait for the other writer instead of failing.
BUSY_TIMEOUT_MS = 30_000
# A peek waits at most this long for a lock (WAL readers take none, except for an instant while the log is
# restarted); on a timeout it raises, and the caller goes the usual way, through the reader thread.
PEEK_BUSY_TIMEOUT_MS = 50
# Upper bound of jobs committed together; keeps one transaction short enough not to starve readers.
MAX_JOBS_PER_COMMIT = 256


class DatabaseError(Exception):
    """The database cannot be opened or migrated; the message is meant for the operator."""


def _migrations(directory: Path | None = None) -> list[tuple[int, str, str]]:
    """(version, name, sql) for every file in `directory` (by default the package's store/migrations), in
    order."""
    found = []
    source = resources.files("fedgroup.store.migrations") if directory is None else directory
    for entry in source.iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), name, entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [v for v, _, _ in found]
    if versions != list(range(1, len(versions) + 1)):
        raise DatabaseError(f"migrations are not numbered 1..n: {versions}")
    return found


def pre_migration_copy_path(database: Path, version: int) -> Path:
    """Where the copy of a database at schema `version` goes before it is migrated: beside it, never over an
    earlier copy."""
    stem = database.name.removesuffix(".sqlite3")
    candidate = database.with_name(f"{stem}.schema-{version}.sqlite3")
    n = 2
    while candidate.exists():
        candidate = database.with_name(f"{stem}.schema-{version}.{n}.sqlite3")
        n += 1
    return candidate


def copy_database(conn: sqlite3.Connection, target: Path) -> None:
    """A consistent copy of the open database into a new file readable by its owner only (backup API)."""
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    copy = sqlite3.connect(target)
    try:
        conn.backup(copy)
        copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
    finally:
        copy.close()


def _connect(path: str, busy_timeout_ms: int) -> sqlite3.Connection:
    # Autocommit (isolation_level None): transactions are begun and ended by the writer, explicitly. Each
    # connection is only ever used by one thread at a time (its own), so the same-thread check is off.
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = NORMAL")  # safe with WAL: a crash loses no committed txn
    conn.execute("PRAGMA temp_store = MEMORY")
    # Deleted rows are overwritten with zeros, not left in free pages: erasing a member erases the bytes.
    conn.execute("PRAGMA secure_delete = ON")
    return conn


@dataclass(slots=True)
class _WriteTask:
    job: WriteJob[Any]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]


def _settle_all(outcomes: list[tuple[asyncio.Future[Any], bool, Any]]) -> None:
    for future, ok, value in outcomes:
        _settle(future, ok, value)


def _settle(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    """On the event loop: hand a job's outcome to its caller (unless the caller went away)."""
    if future.done():
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


class Database:
    """One SQLite file: a writer thread fed by a job queue, and a reader thread."""

    def __init__(
        self, path: Path | str, busy_timeout_ms: int = BUSY_TIMEOUT_MS, migrations: Path | None = None
    ) -> None:
        self.path = str(path)
        self.busy_timeout_ms = busy_timeout_ms
        # Where the numbered .sql files are; None: the package's own. Tests give a directory of their own.
        self.migrations = migrations
        self._writer: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None
        self._peeker: sqlite3.Connection | None = None
        self._reads: ThreadPoolExecutor | None = None
        self._jobs: queue.SimpleQueue[list[_WriteTask] | None] = queue.SimpleQueue()
        self._writer_thread: threading.Thread | None = None
        # What callers asked for during this turn of the event loop, handed to the threads at its end in one
        # go: a hand-over to another thread is a wake-up and a turn of the GIL, and under load those, not the
        # SQL, are what a trip to the database costs. Many jobs at once (an inbox burst) cost one.
        self._writes_waiting: list[_WriteTask] = []
        self._reads_waiting: list[tuple[Callable[[], Any], asyncio.Future[Any]]] = []

    async def open(self) -> Database:
        try:
            await asyncio.to_thread(self._open)
        except sqlite3.Error as e:
            await self.close()
            raise DatabaseError(f"cannot open database {self.path}: {e}") from e
        except DatabaseError:
            await self.close()
            raise
        self._reads = ThreadPoolExecutor(max_workers=1, thread_name_prefix="db-reader")
        self._writer_thread = threading.Thread(target=self._write_loop, name="db-writer", daemon=True)
        self._writer_thread.start()
        return self

    def _open(self) -> None:
        self._writer = _connect(self.path, self.busy_timeout_ms)
        mode = self._writer.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise DatabaseError(f"could not switch {self.path} to WAL mode (got {mode})")
        self._migrate(self._writer, Path(self.path), _migrations(self.migrations))
        versions.install_triggers(self._writer)
        self._reader = _connect(self.path, self.busy_timeout_ms)
        self._reader.execute("PRAGMA query_only = ON")
        self._peeker = _connect(self.path, PEEK_BUSY_TIMEOUT_MS)
        self._peeker.execute("PRAGMA query_only = ON")

    async def close(self) -> None:
        if self._writer_thread is not None:
            self._hand_writes_over()
            self._jobs.put(None)  # after every job queued before it
            await asyncio.to_thread(self._writer_thread.join)
            self._writer_thread = None
        if self._reads is not None:
            reads, self._reads = self._reads, None
            await asyncio.to_thread(reads.shutdown)
        for conn in (self._peeker, self._reader, self._writer):
            if conn is not None:
                conn.close()
        self._peeker = self._reader = self._writer = None

    async def __aenter__(self) -> Database:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- reads ---------------------------------------------------------------------------------

    async def read(
        self, fn: Callable[Concatenate[sqlite3.Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """`fn(conn, *args, **kwargs)` on the read-only connection, in the reader thread."""
        if self._reads is None or self._reader is None:
            raise DatabaseError("database is not open")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        if not self._reads_waiting:
            loop.call_soon(self._hand_reads_over, loop)
        self._reads_waiting.append((functools.partial(fn, self._reader, *args, **kwargs), future))
        return await future

    def peek(
        self, fn: Callable[Concatenate[sqlite3.Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """`fn(conn, *args, **kwargs)` on a read-only connection of its own, here and now (on the event loop:
        it blocks it while it runs). Only for reads that cost microseconds whatever the data's size, such as
        `PRAGMA data_version` and a lookup by index; anything else goes through `read`. Raises
        sqlite3.OperationalError if the database is locked for longer than PEEK_BUSY_TIMEOUT_MS."""
        if self._peeker is None:
            raise DatabaseError("database is not open")
        return fn(self._peeker, *args, **kwargs)

    def _hand_reads_over(self, loop: asyncio.AbstractEventLoop) -> None:
        reads, self._reads_waiting = self._reads_waiting, []
        if self._reads is None:
            for _, future in reads:
                if not future.done():
                    future.set_exception(DatabaseError("database is not open"))
            return
        self._reads.submit(self._run_reads, reads, loop)

    @staticmethod
    def _run_reads(
        reads: list[tuple[Callable[[], Any], asyncio.Future[Any]]], loop: asyncio.AbstractEventLoop
    ) -> None:
        """On the reader thread: each read in the order asked, then every answer back in one hand-over."""
        outcomes: list[tuple[asyncio.Future[Any], bool, Any]] = []
        for call, future in reads:
            if future.cancelled():
                continue
            try:
                outcomes.append((future, True, call()))
            except Exception as e:
                outcomes.append((future, False, e))
        try:
            loop.call_soon_threadsafe(_settle_all, outcomes)
        except RuntimeError:  # the caller's loop is closed: nobody is waiting
            pass

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        return await self.read(fetchall, sql, params)

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Row | None:
        return await self.read(fetchone, sql, params)

    async def scalar(self, sql: str, params: Iterable[Any] = ()) -> Any:
        return await self.read(scalar, sql, params)

    # -- writes --------------------------------------------------------------------------------

    async def write(
        self, job: Callable[Concatenate[sqlite3.Connection, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run `job(conn, *args, **kwargs)` inside a transaction on the writer thread; returns once its changes
        are committed. The job touches nothing but the database: it may run twice (see _run_batch)."""
        if self._writer_thread is None:
            raise DatabaseError("database is not open")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()

        def bound(conn: sqlite3.Connection) -> T:
            return job(conn, *args, **kwargs)

        if not self._writes_waiting:
            loop.call_soon(self._hand_writes_over)
        self._writes_waiting.append(_WriteTask(bound, loop, future))
        return await future

    def _hand_writes_over(self) -> None:
        if self._writes_waiting:
            writes, self._writes_waiting = self._writes_waiting, []
            self._jobs.put(writes)

    def _write_loop(self) -> None:
        """The writer thread: take what is queued, commit it together, tell the callers."""
        conn = self._writer
        assert conn is not None
        while True:
            first = self._jobs.get()
            if first is None:
                return
            batch = list(first)
            stop = False
            while len(batch) < MAX_JOBS_PER_COMMIT:
                try:
                    item = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.extend(item)
            settled: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], bool, Any]]] = {}
            for task, (ok, value) in zip(batch, self._run_batch(conn, batch), strict=True):
                settled.setdefault(task.loop, []).append((task.future, ok, value))
            for loop, outcomes in settled.items():
                try:
                    loop.call_soon_threadsafe(_settle_all, outcomes)
                except RuntimeError:  # the caller's loop is closed: nobody is waiting
                    pass
            if stop:
                return

    @staticmethod
    def _run_batch(conn: sqlite3.Connection, batch: list[_WriteTask]) -> list[tuple[bool, Any]]:
        """Commit the batch's jobs together; (ok, result or exception) for each. First all in one plain
        transaction; only when a job fails is that undone and the batch run again with each job in its own
        SAVEPOINT, so the failure rolls back that job alone. A job whose caller went away is skipped."""
        live = [i for i, task in enumerate(batch) if not task.future.cancelled()]
        outcomes: list[tuple[bool, Any]] = [(False, asyncio.CancelledError())] * len(batch)
        if not live:
            return outcomes
        jobs = [batch[i].job for i in live]
        try:
            results = Database._attempt(conn, jobs, savepoints=False)
            if results is None:
                results = Database._attempt(conn, jobs, savepoints=True)
            assert results is not None
        except Exception as e:
            log.exception("database write failed; batch rolled back jobs=%d", len(jobs))
            if conn.in_transaction:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    log.exception("rollback failed")
            results = [(False, e)] * len(jobs)
        for i, outcome in zip(live, results, strict=True):
            outcomes[i] = outcome
        return outcomes

    @staticmethod
    def _attempt(
        conn: sqlite3.Connection, jobs: list[WriteJob[Any]], savepoints: bool
    ) -> list[tuple[bool, Any]] | None:
        """Run and commit the jobs; None (rolled back) when a job failed and savepoints were off."""
        outcomes: list[tuple[bool, Any]] = []
        conn.execute("BEGIN IMMEDIATE")
        for job in jobs:
            if savepoints:
                conn.execute("SAVEPOINT job")
            try:
                result = job(conn)
            except Exception as e:  # the job's own failure
                if not savepoints:
                    conn.execute("ROLLBACK")
                    return None
                conn.execute("ROLLBACK TO job")
                conn.execute("RELEASE job")
                outcomes.append((False, e))
            else:
                if savepoints:
                    conn.execute("RELEASE job")
                outcomes.append((True, result))
        conn.execute("COMMIT")
        return outcomes

    # -- migrations ----------------------------------------------------------------------------

    @staticmethod
    def _migrate(conn: sqlite3.Connection, path: Path, migrations: list[tuple[int, str, str]]) -> None:
        """Bring the schema up to date. A database that holds data is first copied beside itself (the copy's
        name has its schema version); all pending migrations then run in one transaction, so that a failing
        one leaves the database exactly as it was."""
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        current = scalar(conn, "SELECT MAX(version) FROM schema_version") or 0
        if current > len(migrations):
            raise DatabaseError(
                f"database schema version {current} is newer than this fedgroup ({len(migrations)}); upgrade fedgroup"
            )
        if current == len(migrations):
            return
        copy: Path | None = None
        if current > 0:
            copy = pre_migration_copy_path(path, current)
            try:
                copy_database(conn, copy)
            except (OSError, sqlite3.Error) as e:
                raise DatabaseError(f"cannot copy {path} before migrating it (nothing changed): {e}") from e
            log.warning(
                "database at schema %d copied to %s before migrating to schema %d",
                current,
                copy,
                len(migrations),
            )
        conn.execute("BEGIN IMMEDIATE")
        # Re-read inside the lock: another process may have migrated meanwhile.
        current = scalar(conn, "SELECT MAX(version) FROM schema_version") or 0
        failing = ""
        try:
            for version, name, sql in migrations[current:]:
                failing = name
                for statement in _split_sql(sql):
                    conn.execute(statement)
                conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
            conn.execute("COMMIT")
        except Exception as e:
            conn.execute("ROLLBACK")
            kept = f"; a copy made before is {copy}" if copy is not None else ""
            reason = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise DatabaseError(
                f"migration {failing} failed ({reason}): the database is unchanged at schema {current}{kept}"
            ) from e
        for version, name, _ in migrations[current:]:
            log.info("database migrated to version=%d file=%s", version, name)

    async def flush_log(self) -> None:
        """Move the write-ahead log into the database file and empty it, so that the old versions of pages
        it holds (rows just erased among them) are gone from disk too. Best effort: a busy log is left."""

        def checkpoint() -> None:
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout_ms / 1000)
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


def fetchone(conn: sqlite3.Connection, sql: str, params: Iterable[Any] = ()) -> sqlite3.Row | None:
    """The first row; the statement is closed at once (an open one would hold its snapshot)."""
    cursor = conn.execute(sql, tuple(params))
    try:
        row: sqlite3.Row | None = cursor.fetchone()
        return row
    finally:
        cursor.close()


def fetchall(conn: sqlite3.Connection, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
    return conn.execute(sql, tuple(params)).fetchall()


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


def scalar(conn: sqlite3.Connection, sql: str, params: Iterable[Any] = ()) -> Any:
    row = fetchone(conn, sql, params)
    return None if row is None else row[0]


def latest_schema_version(migrations: Path | None = None) -> int:
    """The schema version this fedgroup migrates a database to."""
    return len(_migrations(migrations))
