"""Signing in and out, joining by invitation, changing one's password."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from fedgroup import actions, store
from fedgroup.rules.languages import N_
from fedgroup.ui import sign_ins, two_factor
from fedgroup.ui.common import field_errors, form, render, require_member, runtime_of, see_other, text_field
from fedgroup.ui.sessions import (
    KNOWN_BROWSER_COOKIE,
    KNOWN_BROWSER_DAYS,
    MEMBER,
    SIGN_INS,
    end_session,
    read_cookie,
    safe_next,
    set_cookie,
    start_session,
)

log = logging.getLogger(__name__)


async def login_page(request: web.Request) -> web.Response:
    if request[MEMBER] is not None:
        raise web.HTTPSeeOther("/home")
    return render(request, "login.html", {"next": safe_next(request.query.get("next", "/home"))})


@dataclass(frozen=True)
class _Pacing:
    """Which count a password check of `name` from this browser goes to (ui/sign_ins.py)."""

    key: str
    browser: str | None
    secret: bytes

    @property
    def bucket(self) -> str:
        return sign_ins.browser_key(self.key, self.browser) if self.browser else self.key

    @property
    def known(self) -> bool:
        return self.browser is not None


def _pacing(request: web.Request, name: str) -> _Pacing:
    key = sign_ins.name_key(name)
    secret = sign_ins.secret_from(runtime_of(request).site.instance_private_key)
    return _Pacing(
        key, sign_ins.known_browser(secret, read_cookie(request, KNOWN_BROWSER_COOKIE), key), secret
    )


async def login(request: web.Request) -> web.Response:
    data = await form(request)
    name, password = text_field(data, "name", 200), text_field(data, "password", 2000)
    next_page = safe_next(text_field(data, "next", 500))
    runtime = runtime_of(request)
    pacing = _pacing(request, name)
    try:
        member = await request.app[SIGN_INS].attempt(
            pacing.bucket, pacing.known, lambda: actions.sign_in(runtime, name, password)
        )
    except sign_ins.Refused as refused:
        log.info("sign-in refused reason=%s", refused.reason)
        response = render(request, "login.html", {"next": next_page, "values": {"name": name},
                          "errors": {"form": refused.message}}, status=refused.status)  # fmt: skip
        response.headers["Retry-After"] = str(refused.retry_after)
        return response
    if member is None:
        log.info("sign-in failed")
        return render(
            request,
            "login.html",
            {
                "next": next_page,
                "values": {"name": name},
                "errors": {"form": N_("That name and password do not match.")},
            },
            status=401,
        )
    if await runtime.db.read(store.two_factor.enrolled, member.id):
        # The password was right; the session starts only after the code (ui/two_factor.py). No known-browser
        # cookie yet: whoever has only the password must not collect browsers to spread code guesses over.
        return two_factor.code_step(request, two_factor.pending_token(request, member.id), next_page)
    must_enrol = await runtime.db.read(store.two_factor.must_enrol, member.id, member.role)
    response = web.HTTPSeeOther("/account/two-factor?done=two-factor-required" if must_enrol else next_page)
    await start_session(request, response, member.id)
    if not pacing.known:
        set_cookie(request, response, KNOWN_BROWSER_COOKIE, sign_ins.known_browser_token(pacing.secret, pacing.key),
                   max_age=KNOWN_BROWSER_DAYS * 86400, same_site="Strict")  # fmt: skip
    raise response


async def login_code(request: web.Request) -> web.Response:
    """The second step of signing in: the code, for the member whose password this browser just gave."""
    data = await form(request)
    token, code = text_field(data, "pending", 300), text_field(data, "code", 100)
    next_page = safe_next(text_field(data, "next", 500))
    member_id = two_factor.pending_member(request, token)
    runtime = runtime_of(request)
    member = await runtime.db.read(store.members.by_id, member_id) if member_id is not None else None
    if member is None:
        return render(request, "login.html", {"next": next_page, "errors": {
                      "form": N_("That took too long: sign in again.")}}, status=401)  # fmt: skip
    # Codes have their own count, per name whatever the browser: a right password (which clears the
    # password's count) must not clear it, or whoever has the password could guess codes without end.
    code_key = sign_ins.name_key(member.name) + "\0code"

    async def check() -> bool | None:
        return True if await actions.check_second_factor(runtime, member.id, code) else None

    try:
        ok = await request.app[SIGN_INS].attempt(code_key, False, check)
    except sign_ins.Refused as refused:
        response = two_factor.code_step(request, token, next_page, refused.message, refused.status)
        response.headers["Retry-After"] = str(refused.retry_after)
        return response
    if not ok:
        log.info("sign-in failed reason=second-factor")
        return two_factor.code_step(
            request, token, next_page, "That code is not right (or was used already).", 401
        )
    response = web.HTTPSeeOther(next_page)
    await start_session(request, response, member.id)
    raise response


async def logout(request: web.Request) -> web.Response:
    await form(request)
    response = web.HTTPSeeOther("/login")
    await end_session(request, response)
    raise response


async def invite_page(request: web.Request) -> web.Response:
    runtime = runtime_of(request)
    token = request.match_info["token"]
    role = await runtime.db.read(store.sessions.open_invite_role, token, runtime.now())
    if role is None:
        return render(request, "message.html", {"title": N_("This invitation cannot be used"),
                      "message": N_("It was used already or has expired (or an admin revoked it). Ask the group's admins for a new one.")}, status=410)  # fmt: skip
    return render(request, "invite.html", {"role": role, "token": token})


async def accept_invite(request: web.Request) -> web.Response:
    data = await form(request)
    token = request.match_info["token"]
    name, password = text_field(data, "name", 200), text_field(data, "password", 2000)
    if password != text_field(data, "password_again", 2000):
        errors = {"password_again": N_("The two passwords differ.")}
    else:
        try:
            member_id = await actions.accept_invite(runtime_of(request), token, name, password)
        except actions.USER_ERRORS as e:
            errors = field_errors(e, "password")
        else:
            response = see_other("/home", "welcome")
            await start_session(request, response, member_id)
            raise response
    runtime = runtime_of(request)
    role = await runtime.db.read(store.sessions.open_invite_role, token, runtime.now())
    return render(request, "invite.html", {"role": role, "token": token, "values": {"name": name}, "errors": errors},
                  status=422)  # fmt: skip


async def reset_page(request: web.Request) -> web.Response:
    runtime = runtime_of(request)
    token = request.match_info["token"]
    member = await runtime.db.read(store.sessions.open_reset_member, token, runtime.now())
    if member is None:
        return render(request, "message.html", {"title": N_("This link cannot be used"),
                      "message": N_("It was used already or has expired. An admin can make a new one.")}, status=410)  # fmt: skip
    return render(request, "reset.html", {"name": member.name, "token": token})


async def reset_password(request: web.Request) -> web.Response:
    data = await form(request)
    token = request.match_info["token"]
    password = text_field(data, "password", 2000)
    if password != text_field(data, "password_again", 2000):
        errors = {"password_again": N_("The two passwords differ.")}
    else:
        try:
            member_id = await actions.reset_password(runtime_of(request), token, password)
        except actions.USER_ERRORS as e:
            errors = field_errors(e, "password")
        else:
            # Signed in afresh here (a session this browser had, maybe someone else's, ends with it).
            response = see_other("/home", "password")
            await start_session(request, response, member_id)
            raise response
    runtime = runtime_of(request)
    member = await runtime.db.read(store.sessions.open_reset_member, token, runtime.now())
    return render(request, "reset.html", {"name": member.name if member else None, "token": token,
                  "errors": errors}, status=422)  # fmt: skip


async def account_response(
    request: web.Request, context: dict[str, Any] | None = None, status: int = 200
) -> web.Response:
    """The Account page, with whether the member has a private feed link (and since when)."""
    member = require_member(request)
    made = await runtime_of(request).db.read(store.feeds.link_made_at, member.id)
    return render(request, "account.html", {"feed_link_made": made, **(context or {})}, status=status)


async def account_page(request: web.Request) -> web.Response:
    return await account_response(request)


async def export_my_data(request: web.Request) -> web.Response:
    """Everything we hold about the signed-in member, as a JSON download for them alone."""
    member = require_member(request)
    data = await actions.export_member(runtime_of(request), member.id)
    return web.Response(
        body=orjson.dumps(data, option=orjson.OPT_INDENT_2),
        content_type="application/json",
        headers={
            "Content-Disposition": 'attachment; filename="my-fedgroup-data.json"',
            "Cache-Control": "no-store",
        },
    )


async def change_language(request: web.Request) -> web.Response:
    """The member's own language for every page (empty: as their browser asks, then the group's)."""
    member = require_member(request)
    data = await form(request)
    try:
        await actions.set_member_language(
            runtime_of(request), member.id, text_field(data, "language", 20) or None
        )
    except actions.USER_ERRORS as e:
        return render(request, "account.html", {"errors": field_errors(e, "language")}, status=422)
    raise see_other("/account", "saved")


async def change_password(request: web.Request) -> web.Response:
    member = require_member(request)
    data = await form(request)
    new = text_field(data, "new", 2000)
    if new != text_field(data, "new_again", 2000):
        return await account_response(request, {"errors": {"new_again": N_("The two new passwords differ.")}}, status=422)
    runtime = runtime_of(request)
    current = text_field(data, "current", 2000)

    async def change() -> bool | None:
        try:
            await actions.change_password(runtime, member.id, current, new)
        except actions.ActionError as e:
            if e.field == "current":
                return None  # a wrong current password: counted like a failed sign-in
            raise
        return True

    # Paced like signing in: whoever holds a session (a stolen one too) may not guess the password at will.
    pacing = _pacing(request, member.name)
    try:
        changed = await request.app[SIGN_INS].attempt(pacing.bucket, pacing.known, change)
    except sign_ins.Refused as refused:
        log.info("password change refused reason=%s", refused.reason)
        response = await account_response(request, {"errors": {"current": refused.message}}, status=refused.status)
        response.headers["Retry-After"] = str(refused.retry_after)
        return response
    except actions.USER_ERRORS as e:
        return await account_response(request, {"errors": field_errors(e, "new")}, status=422)
    if changed is None:
        return await account_response(request, {"errors": {"current": N_("That is not your current password.")}},
                                      status=422)  # fmt: skip
    # Every session of the member ends, this one too: it continues under a new token (and CSRF token).
    await runtime_of(request).db.write(lambda conn: store.sessions.remove_all_of(conn, member.id))
    response = see_other("/account", "password")
    await start_session(request, response, member.id)
    raise response
