"""What the pages render from the database, kept in memory until the database changes: the HTML of the public
group page and public campaign pages as a visitor without a session sees them, and the campaign views (totals,
options, the pledges-over-time chart) that every page lays out.

Nothing kept is anyone's own. The pages hold totals only, no member and no form token
(common.render_public), so one rendering serves every visitor without a session; signed-in members always
get a page rendered for them (from the kept views, with their own pledges read afresh). Only public
campaigns' pages are kept. Which campaigns a request may see is checked on every request, kept view or not.

Freshness: a kept page or view names what it shows (one campaign, or every campaign for a listing, and the
site) and is thrown away when a write changed that (store/kept.py, store/versions.py: triggers in the
database mark each write's campaign, so a CLI command in another process counts too). A pledge or an edit
shows on the next request; an inbox flood of follows, replies and likes renders nothing again. A missing
page is rendered once however many visitors ask for it at that moment. A thing kept also expires after
MAX_AGE, because the chart runs up to "now", and at the next deadline it shows, because a campaign reads as
closed from its deadline before the scheduler marks it so.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from aiohttp import web

from fedgroup.runtime import RUNTIME, Runtime
from fedgroup.store.kept import PageCache

MAX_AGE = timedelta(seconds=5)
# A page's language follows the browser's Accept-Language and the language switch's cookie (ui/languages.py):
# a cache between us and the browser must keep one copy per language.
VARY = "Accept-Language, Cookie"


# The version of what pages show, read once as a GET or HEAD begins (app.fresh_site_middleware). The page
# handlers, which only read, take it from here instead of asking the database a second time; a handler that
# writes before it renders must ask afresh (`of(runtime).version`), or it would render what it just changed as
# it was before.
SHOWN_AT: web.RequestKey[int] = web.RequestKey("shown_at")

# The key in the kept pages of the page a handler answered this request with, set by the page handlers when
# they serve a visitor without a session from what is kept (app.kept_pages_middleware learns it).
KEPT_AS: web.RequestKey[tuple[object, ...]] = web.RequestKey("kept_as")
# How many addresses the fast lane remembers the page keys of (one per page, page number and notice; each with
# the languages it was asked in).
MAX_ADDRESSES = 1024


class KeptAddresses:
    """Which kept page a GET of an address answers with, for a visitor without a session, by language, as the
    page handlers last said (KEPT_AS). An address always names the same page (the campaign or page number is
    in the path or query), so what is remembered here never goes stale; whether that page is still kept and
    fresh is the page cache's question, asked on every request. Looked up by address first: a GET of anything
    else (a file, WebFinger) costs the fast lane no choice of language."""

    def __init__(self, limit: int = MAX_ADDRESSES) -> None:
        self.limit = limit
        self._keys: dict[str, dict[str, tuple[object, ...]]] = {}
        self.answered = 0  # requests the fast lane answered itself

    def by_language(self, address: str) -> dict[str, tuple[object, ...]] | None:
        """The page keys learnt for this address, by language code; None if no page was kept there."""
        return self._keys.get(address)

    def learn(self, address: str, language: str, key: tuple[object, ...]) -> None:
        if address not in self._keys and len(self._keys) >= self.limit:
            del self._keys[next(iter(self._keys))]  # the first learnt goes first
        self._keys.setdefault(address, {})[language] = key


KEPT_ADDRESSES: web.AppKey[KeptAddresses] = web.AppKey("kept_addresses", KeptAddresses)


def of(runtime: Runtime) -> PageCache:
    """The runtime's renderings (one set per open database: store.kept.PageCache)."""
    return runtime.page_cache


async def version_read_for(request: web.Request) -> int:
    """The version of what pages show as this request began (SHOWN_AT), read now if it was not."""
    known = request.get(SHOWN_AT)
    if known is None:
        runtime = request.app[RUNTIME]
        known = await of(runtime).version(runtime.db)
    return known


def expiry(now: datetime, deadlines: Iterable[datetime | None]) -> datetime:
    """When a thing rendered at `now` goes stale without any write: MAX_AGE on, or the next deadline it shows."""
    return min([now + MAX_AGE, *(d for d in deadlines if d is not None and d > now)])


def kept_page_response(request: web.Request, key: tuple[object, ...], body: bytes) -> web.Response:
    """The page kept under `key` for every visitor without a session, as this request's answer (the
    middlewares add the security headers). The fast lane (app.kept_pages_middleware) learns the key, to
    answer the next such GET of this address itself."""
    request[KEPT_AS] = key
    return web.Response(body=body, headers=_KEPT_PAGE_HEADERS)


_KEPT_PAGE_HEADERS = {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-cache", "Vary": VARY}
