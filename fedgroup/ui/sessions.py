"""Who is signed in, CSRF tokens, and the sign-in rate limit.

Sessions live in SQLite (only a digest of the cookie's token is stored) and last 30 days. The cookie is
HttpOnly, SameSite=Lax, and Secure when the base URL is https. Every form carries a CSRF token: the session's,
or for the sign-in and invitation forms (no session yet) a random one that must match a cookie of its own.
No IP address is ever stored: the sign-in limit counts failures per account name and overall.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import timedelta

from aiohttp import web

from fedgroup import store
from fedgroup.runtime import RUNTIME

log = logging.getLogger(__name__)

SESSION_COOKIE = "fedgroup_session"
FORM_COOKIE = "fedgroup_form"
SESSION_DAYS = 30

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class LoginLimiter:
    """At most `per_name` failed sign-ins per account name, and `overall` in all, per `window` seconds.
    In memory: a restart forgets, which is fine for slowing guessing down."""

    def __init__(self, per_name: int = 5, overall: int = 100, window: float = 900.0) -> None:
        self.per_name, self.overall, self.window = per_name, overall, window
        self._by_name: dict[str, deque[float]] = {}
        self._all: deque[float] = deque()

    def _trim(self, times: deque[float], now: float) -> deque[float]:
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def allowed(self, name: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        by_name = self._trim(self._by_name.get(name.lower(), deque()), now)
        return len(by_name) < self.per_name and len(self._trim(self._all, now)) < self.overall

    def failed(self, name: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if len(self._by_name) > 10_000:  # bounded memory under a spray of names
            self._by_name.clear()
        self._by_name.setdefault(name.lower(), deque()).append(now)
        self._all.append(now)

    def succeeded(self, name: str) -> None:
        self._by_name.pop(name.lower(), None)


LIMITER = web.AppKey("login_limiter", LoginLimiter)
# What the session middleware attaches to each request.
MEMBER = web.RequestKey("member", object)  # a store.members.Member, or None
SESSION_TOKEN = web.RequestKey("session_token", object)  # str | None
CSRF = web.RequestKey("csrf", object)  # str | None: the session's CSRF token
NEW_FORM_TOKEN = web.RequestKey("new_form_token", str)


@web.middleware
async def session_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Attach the signed-in member (or None) to the request; HTML routes read request[MEMBER]."""
    request[MEMBER] = None
    request[SESSION_TOKEN] = None
    request[CSRF] = None
    token = request.cookies.get(SESSION_COOKIE)
    if token and len(token) < 200 and RUNTIME in request.app:
        runtime = request.app[RUNTIME]
        session = await store.sessions.get(runtime.db.reader, token, runtime.now())
        if session is not None:
            request[MEMBER] = session.member
            request[SESSION_TOKEN] = token
            request[CSRF] = session.csrf_token
    response = await handler(request)
    form_token = request.get(NEW_FORM_TOKEN)
    if form_token:
        _set_cookie(request, response, FORM_COOKIE, form_token, max_age=3600, same_site="Strict")
    return response


def _set_cookie(
    request: web.Request,
    response: web.StreamResponse,
    name: str,
    value: str,
    max_age: int,
    same_site: str = "Lax",
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite=same_site,
        secure=request.app[RUNTIME].config.secure_cookies,
    )


def csrf_token(request: web.Request) -> str:
    """The token to put in a form: the session's, or one paired with a short-lived cookie."""
    if request[CSRF]:
        return str(request[CSRF])
    token = request.get(NEW_FORM_TOKEN) or request.cookies.get(FORM_COOKIE)
    if not token or len(token) > 100:
        token = secrets.token_urlsafe(24)
        request[NEW_FORM_TOKEN] = token
    return str(token)


def check_csrf(request: web.Request, submitted: str | None) -> None:
    expected = request[CSRF] or request.cookies.get(FORM_COOKIE)
    if not expected or not submitted or not hmac.compare_digest(str(expected), str(submitted)):
        log.info("form refused reason=csrf path=%s", request.path)
        raise web.HTTPForbidden(
            text="This form has expired or did not come from this site. Go back, reload the page and try again.\n"
        )


async def start_session(request: web.Request, response: web.StreamResponse, member_id: int) -> None:
    runtime = request.app[RUNTIME]
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    now = runtime.now()

    async def job(conn):  # type: ignore[no-untyped-def]
        await store.sessions.remove_expired(conn, now)
        await store.sessions.add(conn, token, member_id, csrf, now, now + timedelta(days=SESSION_DAYS))

    await runtime.db.write(job)
    _set_cookie(request, response, SESSION_COOKIE, token, max_age=SESSION_DAYS * 86400)


async def end_session(request: web.Request, response: web.StreamResponse) -> None:
    token = request[SESSION_TOKEN]
    if token:
        await request.app[RUNTIME].db.write(lambda conn: store.sessions.remove(conn, token))
    response.del_cookie(SESSION_COOKIE, path="/")
