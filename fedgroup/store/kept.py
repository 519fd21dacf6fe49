"""Values read from the database, kept in memory until what they show changes: the store half of the page
cache (ui/renderings.py says what the pages keep, and why that is safe).

Freshness has two parts. SQLite's `PRAGMA data_version`, read on the reader connection, changes whenever
another connection commits (our own writer, or a CLI process on the same file): it is the cheap question
"did anything change?". Only when it moved are the scopes that changed read from `shown_versions`
(store/versions.py: triggers bump a campaign's scope, or 'all', on every write to a table a page may show).
A kept value names the scopes it depends on and the version it was rendered at; it is thrown away only when
one of those scopes moved past that version. An inbox flood commits many times a second, but it writes
tables no page shows, so what is kept survives it.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fedgroup.store import versions
from fedgroup.store.db import Database

MAX_PAGES = 256
MAX_BYTES = 8 * 1024 * 1024
MAX_VIEWS = 256
# The scope that moves whenever any campaign's does (listings show every campaign).
ANY_CAMPAIGN = "campaigns"
# What a value depends on unless told: everything a listing of campaigns shows.
LISTING = (versions.EVERYTHING, ANY_CAMPAIGN)


def campaign_scopes(campaign_id: int) -> tuple[str, ...]:
    """What one campaign's page or view depends on."""
    return (versions.EVERYTHING, versions.scope_of_campaign(campaign_id))


class Shown:
    """The versions of the scopes pages show, as last read (store/versions.py)."""

    def __init__(self) -> None:
        self.scopes: dict[str, int] = {}
        self.stamp = 0  # the newest version read: whatever changed later has a greater one
        self.data_version: int | None = None

    def apply(self, changes: Iterable[tuple[str, int]]) -> None:
        for scope, version in changes:
            self.scopes[scope] = version
            if scope.startswith(versions.CAMPAIGN_PREFIX):
                self.scopes[ANY_CAMPAIGN] = max(self.scopes.get(ANY_CAMPAIGN, 0), version)
            self.stamp = max(self.stamp, version)

    def moved(self, scopes: Iterable[str], since: int) -> bool:
        """Whether any of these scopes changed after version `since`."""
        return any(self.scopes.get(scope, 0) > since for scope in scopes)

    def bump(self, scopes: Iterable[str]) -> None:
        """Mark scopes as changed now (for a Kept used without a database, as in tests)."""
        self.stamp += 1
        self.apply((scope, self.stamp) for scope in scopes)


@dataclass(frozen=True, slots=True)
class Made:
    """What a maker returns: the value, when it goes stale without any write, its size, and whether to keep
    it at all (a value only this request may see is returned, never kept)."""

    value: Any
    expires: datetime
    size: int = 0
    keep: bool = True


@dataclass(slots=True)
class _Entry:
    value: Any
    expires: datetime
    size: int
    scopes: tuple[str, ...]
    version: int


class Kept:
    """Values by key, each with the scopes it shows and the version it was rendered at; the least recently
    used go first when there are more than `max_entries` or their sizes add up to more than `max_bytes`.
    `get_or_make` renders a missing value once however many requests want it at the same moment."""

    def __init__(self, max_entries: int, max_bytes: int | None = None, shown: Shown | None = None) -> None:
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self.shown = shown if shown is not None else Shown()
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._bytes = 0
        self._making: dict[Hashable, tuple[int, tuple[str, ...], asyncio.Task[Made]]] = {}
        self.made = 0  # how many values were rendered (a stampede shows here)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._entries

    def values(self) -> list[Any]:
        return [entry.value for entry in self._entries.values()]

    def keys(self) -> list[Hashable]:
        return list(self._entries)

    @property
    def size(self) -> int:
        """The sizes of what is kept, added up."""
        return self._bytes

    def get(self, key: Hashable, now: datetime) -> Any | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if now >= entry.expires or self.shown.moved(entry.scopes, entry.version):
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return entry.value

    def put(
        self,
        key: Hashable,
        version: int,
        value: Any,
        expires: datetime,
        size: int = 0,
        scopes: tuple[str, ...] = LISTING,
    ) -> None:
        """Keep `value`, rendered from data read after `version` was current; not kept if what it shows has
        moved on since."""
        if self.shown.moved(scopes, version) or (self.max_bytes is not None and size > self.max_bytes):
            return
        if key in self._entries:
            self._drop(key)
        self._entries[key] = _Entry(value, expires, size, scopes, version)
        self._bytes += size
        while len(self._entries) > self.max_entries or (
            self.max_bytes is not None and self._bytes > self.max_bytes
        ):
            self._drop(next(iter(self._entries)))

    async def get_or_make(
        self,
        key: Hashable,
        version: int,
        now: datetime,
        make: Callable[[], Awaitable[Made]],
        scopes: tuple[str, ...] = LISTING,
    ) -> Any:
        """The kept value, or one made by `make()` and kept. Requests that want a value already being made
        (from data no older than what they need) wait for it instead of making it again: a burst of visitors
        after a change costs one rendering, not one each."""
        found = self.get(key, now)
        if found is not None:
            return found
        making = self._making.get(key)
        if making is not None:
            started_at, its_scopes, task = making
            if its_scopes == scopes and not self.shown.moved(scopes, started_at):
                return (await asyncio.shield(task)).value
        task = asyncio.ensure_future(make())
        self._making[key] = (version, scopes, task)
        try:
            made = await asyncio.shield(task)
        finally:
            if self._making.get(key, (0, (), None))[2] is task:
                del self._making[key]
        self.made += 1
        if made.keep:
            self.put(key, version, made.value, made.expires, made.size, scopes)
        return made.value

    def _drop(self, key: Hashable) -> None:
        self._bytes -= self._entries.pop(key).size


def _read_changes(
    conn: sqlite3.Connection, data_version: int | None, since: int
) -> tuple[int, list[tuple[str, int]]]:
    """The data_version now and, if it moved, the scopes changed after version `since`."""
    now = int(conn.execute("PRAGMA data_version").fetchone()[0])
    if now == data_version:
        return now, []
    return now, versions.changes_since(conn, since)


class PageCache:
    """The kept pages and views of one open database, and what is known of its versions."""

    def __init__(
        self, max_pages: int = MAX_PAGES, max_bytes: int = MAX_BYTES, max_views: int = MAX_VIEWS
    ) -> None:
        self.shown = Shown()
        self.pages = Kept(max_pages, max_bytes, self.shown)  # HTML for visitors without a session: bytes
        self.views = Kept(max_views, shown=self.shown)  # view models of campaigns and listings, for everyone
        self._next: asyncio.Future[int] | None = None
        self._reading: asyncio.Task[None] | None = None

    async def version(self, db: Database) -> int:
        """The newest version of what pages show, as read after this call began: a commit that finished
        before the call is always seen. Read here and now on a connection of its own (`Database.peek`): when
        nothing was committed since the last look that is one `PRAGMA data_version`, otherwise also the
        scopes that changed, by index; both cost microseconds, while a trip to the reader thread costs a
        turn of the event loop, which an inbox flood makes tens of milliseconds long. Only if the peek finds
        the database locked does the read go to the reader thread, shared by the callers of that moment."""
        try:
            data_version, changes = db.peek(_read_changes, self.shown.data_version, self.shown.stamp)
        except sqlite3.OperationalError:
            return await self._version_from_reader(db)
        self.shown.apply(changes)
        self.shown.data_version = data_version
        return self.shown.stamp

    async def _version_from_reader(self, db: Database) -> int:
        """`version` by way of the reader thread: callers that arrive while a read is under way share the
        next one, so a burst of requests costs one or two trips, not one each."""
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
            if self._reading is None:
                self._reading = asyncio.create_task(self._read(db))
        return await asyncio.shield(self._next)

    async def _read(self, db: Database) -> None:
        try:
            while self._next is not None:
                waiting, self._next = self._next, None  # later callers wait for the next read
                try:
                    data_version, changes = await db.read(
                        _read_changes, self.shown.data_version, self.shown.stamp
                    )
                    self.shown.apply(changes)
                    self.shown.data_version = data_version
                    waiting.set_result(self.shown.stamp)
                except Exception as e:  # the reader closed under us: every waiter gets the error
                    waiting.set_exception(e)
                    waiting.exception()  # marked as seen, in case every waiter has gone
                except BaseException:  # cancelled (shutting down): so are the waiters
                    waiting.cancel()
                    raise
        finally:
            self._reading = None
