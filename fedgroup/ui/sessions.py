"""Who is signed in, and CSRF protection.

Sessions live in SQLite (only a digest of the cookie's token is stored) and last 30 days. Signing in always
starts a new session and ends the one the browser had; signing out deletes the session on the server. The
cookies are HttpOnly, SameSite=Lax (Strict for the form and known-browser cookies), and, when the base URL is
https, Secure with the `__Host-` prefix (so no other host, not even a subdomain, can set them). Every form
carries a CSRF token: the session's, or for the sign-in and invitation forms (no session yet) a random one that
must match a cookie of its own; and a form posted from a page of another origin is refused whatever it carries.
No IP address is ever stored: sign-in attempts are paced by account name (ui/sign_ins.py).
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta
from urllib.parse import urlsplit

from aiohttp import hdrs, web

from fedgroup import store
from fedgroup.runtime import RUNTIME
from fedgroup.ui.sign_ins import SignInGate

log = logging.getLogger(__name__)

# Cookie names; with an https base URL they carry the `__Host-` prefix (cookie_name).
SESSION_COOKIE = "fedgroup_session"
FORM_COOKIE = "fedgroup_form"
KNOWN_BROWSER_COOKIE = "fedgroup_known"
KNOWN_BROWSER_DAYS = 365
SESSION_DAYS = 30

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


SIGN_INS = web.AppKey("sign_ins", SignInGate)
# What the session middleware attaches to each request.
MEMBER: web.RequestKey[store.members.Member | None] = web.RequestKey("member")
SESSION_TOKEN: web.RequestKey[str | None] = web.RequestKey("session_token")
# An organizer or admin who must enrol a second factor first (the site requires one and they have none).
MUST_ENROL: web.RequestKey[bool] = web.RequestKey("must_enrol")
CSRF = web.RequestKey("csrf", object)  # str | None: the session's CSRF token
NEW_FORM_TOKEN = web.RequestKey("new_form_token", str)


def cookie_name(request: web.Request, name: str) -> str:
    """`__Host-` + name when cookies are Secure: browsers then refuse the cookie from any other host
    (a sibling subdomain cannot plant a session) and insist on Secure and Path=/."""
    return "__Host-" + name if request.app[RUNTIME].config.secure_cookies else name


def read_cookie(request: web.Request, name: str) -> str | None:
    if RUNTIME not in request.app or hdrs.COOKIE not in request.headers:
        return None  # (most visitors send none: not even an empty jar is parsed)
    return request.cookies.get(cookie_name(request, name))


@web.middleware
async def session_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Attach the signed-in member (or None) to the request; HTML routes read request[MEMBER]."""
    request[MEMBER] = None
    request[SESSION_TOKEN] = None
    request[CSRF] = None
    request[MUST_ENROL] = False
    token = read_cookie(request, SESSION_COOKIE)
    if token and len(token) < 200:
        runtime = request.app[RUNTIME]
        session = await runtime.db.read(store.sessions.get, token, runtime.now())
        if session is not None:
            request[MEMBER] = session.member
            request[SESSION_TOKEN] = token
            request[CSRF] = session.csrf_token
            if session.member.is_organizer:
                request[MUST_ENROL] = await runtime.db.read(
                    store.two_factor.must_enrol, session.member.id, session.member.role
                )
    response = await handler(request)
    form_token = request.get(NEW_FORM_TOKEN)
    if form_token:
        set_cookie(request, response, FORM_COOKIE, form_token, max_age=3600, same_site="Strict")
    return response


def set_cookie(
    request: web.Request,
    response: web.StreamResponse,
    name: str,
    value: str,
    max_age: int,
    same_site: str = "Lax",
) -> None:
    response.set_cookie(
        cookie_name(request, name),
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
    token = request.get(NEW_FORM_TOKEN) or read_cookie(request, FORM_COOKIE)
    if not token or len(token) > 100:
        token = secrets.token_urlsafe(24)
        request[NEW_FORM_TOKEN] = token
    return str(token)


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url.strip().lower())
    try:
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        port = -1
    return parts.scheme, parts.hostname or "", port


def _cross_origin(request: web.Request) -> bool:
    """Whether the browser says the form was posted from another origin. Browsers send Origin with every
    POST (and Sec-Fetch-Site, in newer ones); clients that send neither (scripts, old browsers) rely on the
    token alone. "null" is an opaque origin (a sandboxed frame, a data: URL): never ours."""
    if request.headers.get("Sec-Fetch-Site", "") in ("cross-site", "same-site"):
        return True
    origin = request.headers.get("Origin")
    return origin is not None and _origin(origin) != _origin(request.app[RUNTIME].config.base_url)


EXPIRED_TEXT = "This form has expired or did not come from this site. Go back, reload the page and try again.\n"


class ExpiredForm(web.HTTPForbidden):
    """A form posted from this site whose token no longer holds (the session ended, the page was open
    too long). It keeps what was typed so the error page can hand it back."""

    def __init__(self, typed: list[tuple[str, str]]) -> None:
        super().__init__(text=EXPIRED_TEXT)
        self.typed = typed


def check_csrf(request: web.Request, submitted: str | None, typed: list[tuple[str, str]] | None = None) -> None:
    """Refuse a form that came from another origin (plain 403: nothing of it is shown back) or whose token
    does not match (ExpiredForm, carrying `typed`, the text fields worth handing back)."""
    expected = request[CSRF] or read_cookie(request, FORM_COOKIE)
    if _cross_origin(request):
        log.info("form refused reason=cross-origin path=%s", request.path)
        raise web.HTTPForbidden(text=EXPIRED_TEXT)
    if not expected or not submitted or not hmac.compare_digest(str(expected), str(submitted)):
        log.info("form refused reason=csrf path=%s", request.path)
        raise ExpiredForm(typed or [])


async def start_session(request: web.Request, response: web.StreamResponse, member_id: int) -> None:
    """A new session for the member; the session the browser had (if any) ends, so a session token known
    before signing in (planted, or left by someone else) is never the signed-in one."""
    runtime = request.app[RUNTIME]
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    previous = request[SESSION_TOKEN]
    now = runtime.now()

    def job(conn):  # type: ignore[no-untyped-def]
        store.sessions.remove_expired(conn, now)
        if previous:
            store.sessions.remove(conn, previous)
        store.sessions.add(conn, token, member_id, csrf, now, now + timedelta(days=SESSION_DAYS))

    await runtime.db.write(job)
    set_cookie(request, response, SESSION_COOKIE, token, max_age=SESSION_DAYS * 86400)


async def end_session(request: web.Request, response: web.StreamResponse) -> None:
    token = request[SESSION_TOKEN]
    if token:
        await request.app[RUNTIME].db.write(lambda conn: store.sessions.remove(conn, token))
    response.del_cookie(
        cookie_name(request, SESSION_COOKIE),
        path="/",
        secure=request.app[RUNTIME].config.secure_cookies,
        httponly=True,
        samesite="Lax",
    )


# A path on this site: printable ASCII without spaces (browsers drop tab, CR and LF inside URLs and read "\\"
# as "/", so "/\t/evil.example" would become "//evil.example"), starting with one "/" and not "//".
_LOCAL_PATH = re.compile(r"/(?![/\\])[\x21-\x7e]*")


def safe_next(target: str, fallback: str = "/home") -> str:
    """Where to go after signing in: only a path on this site, never an open redirect to another host."""
    if len(target) < 500 and _LOCAL_PATH.fullmatch(target) and "\\" not in target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return fallback
