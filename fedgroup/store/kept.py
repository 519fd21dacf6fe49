"""Values read from the database, kept in memory until it changes: the store half of the page cache
(ui/renderings.py says what the pages keep, and why that is safe).

Freshness is SQLite's `PRAGMA data_version`, read on the reader connection: it changes whenever another
connection commits (our own writer, or a CLI process on the same file), and a change empties what is kept.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Hashable
from datetime import datetime
from typing import Any

from fedgroup.store.db import Database

MAX_PAGES = 256
MAX_BYTES = 8 * 1024 * 1024
MAX_VIEWS = 256


class Kept:
    """Values by key, all rendered from one database version; the least recently used go first when there
    are more than `max_entries` or their sizes add up to more than `max_bytes`."""

    def __init__(self, max_entries: int, max_bytes: int | None = None) -> None:
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self._entries: OrderedDict[Hashable, tuple[Any, datetime, int]] = OrderedDict()
        self._bytes = 0
        self._version: int | None = None

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._entries

    def values(self) -> list[Any]:
        return [value for value, _, _ in self._entries.values()]

    def keys(self) -> list[Hashable]:
        return list(self._entries)

    @property
    def size(self) -> int:
        """The sizes of what is kept, added up."""
        return self._bytes

    def get(self, key: Hashable, version: int, now: datetime) -> Any | None:
        if version != self._version:
            self._entries.clear()
            self._bytes = 0
            self._version = version
            return None
        found = self._entries.get(key)
        if found is None:
            return None
        value, expires, _ = found
        if now >= expires:
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return value

    def put(self, key: Hashable, version: int, value: Any, expires: datetime, size: int = 0) -> None:
        """Keep `value`, rendered from data read after `version` was; not kept if the data has moved on."""
        if version != self._version or (self.max_bytes is not None and size > self.max_bytes):
            return
        if key in self._entries:
            self._drop(key)
        self._entries[key] = (value, expires, size)
        self._bytes += size
        while len(self._entries) > self.max_entries or (
            self.max_bytes is not None and self._bytes > self.max_bytes
        ):
            self._drop(next(iter(self._entries)))

    def _drop(self, key: Hashable) -> None:
        _, _, size = self._entries.pop(key)
        self._bytes -= size


class PageCache:
    """The kept pages and views of one open database, and its data_version."""

    def __init__(
        self, max_pages: int = MAX_PAGES, max_bytes: int = MAX_BYTES, max_views: int = MAX_VIEWS
    ) -> None:
        self.pages = Kept(max_pages, max_bytes)  # HTML for visitors without a session: bytes
        self.views = Kept(max_views)  # view models of campaigns and listings, for everyone
        self._next: asyncio.Future[int] | None = None
        self._reading: asyncio.Task[None] | None = None

    async def version(self, db: Database) -> int:
        """The database's data_version, read after this call began: a commit that finished before the call
        is always seen. Callers that arrive while a read is under way share the next one, so a burst of
        requests costs one or two trips to the reader's thread, not one each."""
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
                    waiting.set_result(int(await db.scalar("PRAGMA data_version")))
                except Exception as e:  # the reader closed under us: every waiter gets the error
                    waiting.set_exception(e)
                    waiting.exception()  # marked as seen, in case every waiter has gone
                except BaseException:  # cancelled (shutting down): so are the waiters
                    waiting.cancel()
                    raise
        finally:
            self._reading = None
