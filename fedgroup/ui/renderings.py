"""What the pages render from the database, kept in memory until the database changes: the HTML of the public
group page and public campaign pages as a visitor without a session sees them, and the campaign views (totals,
options, the pledges-over-time chart) that every page lays out.

Nothing kept is anyone's own. The pages hold totals only, no member and no form token
(common.render_public), so one rendering serves every visitor without a session; signed-in members always
get a page rendered for them (from the kept views, with their own pledges read afresh). Only public
campaigns' pages are kept. Which campaigns a request may see is checked on every request, kept view or not.

Freshness: SQLite's `PRAGMA data_version`, read on the reader connection, changes whenever another
connection commits (our own writer, or a CLI process on the same file), and a change empties both stores, so
a pledge or an edit shows on the next request. A thing kept also expires after MAX_AGE, because the chart
runs up to "now", and at the next deadline it shows, because a campaign reads as closed from its deadline
before the scheduler marks it so.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Hashable, Iterable
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from fedgroup.runtime import Runtime
from fedgroup.store import Database

MAX_AGE = timedelta(seconds=5)
MAX_PAGES = 256
MAX_BYTES = 8 * 1024 * 1024
MAX_VIEWS = 256
_EXTRAS_KEY = "renderings"


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


class Renderings:
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


def of(runtime: Runtime) -> Renderings:
    """The runtime's renderings (one set per open database)."""
    renderings = runtime.extras.get(_EXTRAS_KEY)
    if renderings is None:
        renderings = runtime.extras[_EXTRAS_KEY] = Renderings()
    return renderings  # type: ignore[no-any-return]


def expiry(now: datetime, deadlines: Iterable[datetime | None]) -> datetime:
    """When a thing rendered at `now` goes stale without any write: MAX_AGE on, or the next deadline it shows."""
    return min([now + MAX_AGE, *(d for d in deadlines if d is not None and d > now)])


def page_response(body: bytes) -> web.Response:
    """A kept page as a response of its own (the middlewares add the security headers to each)."""
    reply = web.Response(body=body, content_type="text/html", charset="utf-8")
    reply.headers["Cache-Control"] = "no-cache"
    return reply
