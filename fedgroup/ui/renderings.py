"""The public group page and public campaign pages as a visitor without a session sees them: rendered once,
then served from memory to every such visitor until the database changes.

Nothing in these pages is the visitor's own: totals only, no member, no form token (common.render_public), so
one rendering can serve them all. Signed-in members always get a fresh page (pages.py never asks here for
them), and only public campaigns are kept.

Freshness: SQLite's `PRAGMA data_version`, read on the reader connection, changes whenever another
connection commits (our own writer, or a CLI process on the same file), so a pledge or an edit shows on the
next request. A page also expires after MAX_AGE, because its chart runs up to "now", and at the next
deadline it shows, because a campaign reads as closed from its deadline before the scheduler marks it so.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Hashable, Iterable
from datetime import datetime, timedelta

import aiosqlite
from aiohttp import web

from fedgroup.runtime import Runtime

MAX_AGE = timedelta(seconds=5)
MAX_PAGES = 256
MAX_BYTES = 8 * 1024 * 1024
_EXTRAS_KEY = "public-pages"


class PublicPages:
    """Rendered pages by key, all of one database version; least recently served dropped first."""

    def __init__(self, max_pages: int = MAX_PAGES, max_bytes: int = MAX_BYTES) -> None:
        self.max_pages, self.max_bytes = max_pages, max_bytes
        self._pages: OrderedDict[Hashable, tuple[bytes, datetime]] = OrderedDict()
        self._bytes = 0
        self._version: int | None = None
        self._next: asyncio.Future[int] | None = None
        self._reading: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return len(self._pages)

    @property
    def size(self) -> int:
        """Bytes of HTML held."""
        return self._bytes

    async def version(self, conn: aiosqlite.Connection) -> int:
        """The database's data_version, read after this call began: a commit that finished before the call
        is always seen. Callers that arrive while a read is under way share the next one, so a burst of
        requests costs one or two trips to the connection's thread, not one each."""
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
            if self._reading is None:
                self._reading = asyncio.create_task(self._read(conn))
        return await asyncio.shield(self._next)

    async def _read(self, conn: aiosqlite.Connection) -> None:
        try:
            while self._next is not None:
                waiting, self._next = self._next, None  # later callers wait for the next read
                try:
                    rows = await conn.execute_fetchall("PRAGMA data_version")
                    waiting.set_result(int(next(iter(rows))[0]))
                except Exception as e:  # the reader closed under us: every waiter gets the error
                    waiting.set_exception(e)
                    waiting.exception()  # marked as seen, in case every waiter has gone
                except BaseException:  # cancelled (shutting down): so are the waiters
                    waiting.cancel()
                    raise
        finally:
            self._reading = None

    def get(self, key: Hashable, version: int, now: datetime) -> bytes | None:
        if version != self._version:
            self._pages.clear()
            self._bytes = 0
            self._version = version
            return None
        found = self._pages.get(key)
        if found is None:
            return None
        body, expires = found
        if now >= expires:
            self._drop(key)
            return None
        self._pages.move_to_end(key)
        return body

    def put(self, key: Hashable, version: int, body: bytes, expires: datetime) -> None:
        """Keep `body`, rendered from data read after `version` was; dropped if the data has moved on since."""
        if version != self._version or len(body) > self.max_bytes:
            return
        if key in self._pages:
            self._drop(key)
        self._pages[key] = (body, expires)
        self._bytes += len(body)
        while len(self._pages) > self.max_pages or self._bytes > self.max_bytes:
            self._drop(next(iter(self._pages)))

    def _drop(self, key: Hashable) -> None:
        body, _ = self._pages.pop(key)
        self._bytes -= len(body)


def of(runtime: Runtime) -> PublicPages:
    """The runtime's pages (one set per open database)."""
    pages = runtime.extras.get(_EXTRAS_KEY)
    if pages is None:
        pages = runtime.extras[_EXTRAS_KEY] = PublicPages()
    return pages  # type: ignore[no-any-return]


def expiry(now: datetime, deadlines: Iterable[datetime | None]) -> datetime:
    """When a page rendered at `now` goes stale without any write: MAX_AGE on, or the next deadline it shows."""
    return min([now + MAX_AGE, *(d for d in deadlines if d is not None and d > now)])


def response(body: bytes) -> web.Response:
    """A stored page as a response of its own (the middlewares add the security headers to each)."""
    reply = web.Response(body=body, content_type="text/html", charset="utf-8")
    reply.headers["Cache-Control"] = "no-cache"
    return reply
