"""Two-factor pages: enrolling an authenticator app (QR code as inline SVG: no script, nothing remote), the
code step of signing in, and the admins' requirement and reset.

Between the password and the code nothing is signed in: the browser carries a short-lived token naming the
member, MACed with a key only the server has, and the code is paced like a password (ui/sign_ins.py)."""

from __future__ import annotations

import hashlib
import hmac
import logging

from aiohttp import web
from markupsafe import Markup

from fedgroup import actions, store
from fedgroup.ui import sign_ins
from fedgroup.ui.common import (
    field_errors,
    form,
    render,
    require_admin,
    require_member,
    runtime_of,
    see_other,
    text_field,
)

log = logging.getLogger(__name__)

PENDING_SECONDS = 300


def _pending_key(request: web.Request) -> bytes:
    secret = sign_ins.secret_from(runtime_of(request).site.instance_private_key)
    return hashlib.sha256(b"fedgroup two-factor pending\0" + secret).digest()


def pending_token(request: web.Request, member_id: int) -> str:
    """Proof, for the code step, that this browser gave the member's password in the last few minutes."""
    expires = int(runtime_of(request).now().timestamp()) + PENDING_SECONDS
    body = f"{member_id}.{expires}"
    mac = hmac.new(_pending_key(request), body.encode(), hashlib.sha256).hexdigest()
    return f"{body}.{mac}"


def pending_member(request: web.Request, token: str) -> int | None:
    try:
        member_id, expires, mac = token.split(".")
        body = f"{int(member_id)}.{int(expires)}"
    except ValueError:
        return None
    expected = hmac.new(_pending_key(request), body.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, mac) or int(expires) < runtime_of(request).now().timestamp():
        return None
    return int(member_id)


def code_step(request: web.Request, token: str, next_page: str, error: str | None = None,
              status: int = 200) -> web.Response:  # fmt: skip
    return render(request, "login_code.html", {"pending": token, "next": next_page,
                  "errors": {"code": error} if error else {}}, status=status)  # fmt: skip


def _qr_svg(uri: str) -> Markup:
    """The QR code as an inline <svg> (no image request, no script)."""
    import segno  # here, not at the top: most of a server's life nobody enrols, and memory is tight

    svg = segno.make(uri, error="m").svg_inline(scale=4, dark="#000", light="#fff", title="QR code to scan")
    return Markup(svg)  # noqa: S704 - segno's own markup; the URI inside is escaped by segno


async def two_factor_page(request: web.Request, errors: dict[str, str] | None = None,
                          status: int = 200) -> web.Response:  # fmt: skip
    member = require_member(request)
    runtime = runtime_of(request)
    enrolled = await runtime.db.read(store.two_factor.enrolled, member.id)
    context: dict[str, object] = {"enrolled": enrolled, "errors": errors or {},
                                  "required": await runtime.db.read(store.two_factor.required)}  # fmt: skip
    if enrolled:
        context["codes_left"] = await runtime.db.read(store.two_factor.recovery_codes_left, member.id)
    else:
        secret = actions.new_secret()
        context.update(secret=secret, qr=_qr_svg(actions.provisioning_uri(runtime, member.name, secret)))
    return render(request, "two_factor.html", context, status=status)


async def enable_two_factor(request: web.Request) -> web.Response:
    member = require_member(request)
    data = await form(request)
    try:
        codes = await actions.enable_two_factor(
            runtime_of(request), member.id, text_field(data, "secret", 100), text_field(data, "code", 100)
        )
    except actions.USER_ERRORS as e:
        return await two_factor_page(request, field_errors(e, "code"), status=422)
    return render(request, "two_factor.html", {"enrolled": True, "recovery_codes": codes})


async def require_two_factor(request: web.Request) -> web.Response:
    require_admin(request)
    data = await form(request)
    await actions.require_two_factor(runtime_of(request), data.get("required") == "on")
    raise see_other("/admin/members", "saved")


async def reset_two_factor(request: web.Request) -> web.Response:
    from fedgroup.ui.admin import _member_id, members_page

    require_admin(request)
    data = await form(request)
    try:
        await actions.reset_two_factor(runtime_of(request), _member_id(data))
    except actions.USER_ERRORS as e:
        return await members_page(request, field_errors(e, "member"), status=422)
    raise see_other("/admin/members", "two-factor-reset")
