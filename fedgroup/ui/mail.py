"""Mail pages: a member's choices (Account → Mail), unsubscribing from a link without signing in, "Forgot
password?", and the organizers' page (how many each kind reaches; calls)."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from fedgroup import actions, store
from fedgroup.rules import notifications
from fedgroup.ui.common import (
    field_errors,
    form,
    render,
    require_member,
    require_organizer,
    runtime_of,
    see_other,
    text_field,
)
from fedgroup.ui.languages import language_of

log = logging.getLogger(__name__)


def _choices(prefs: notifications.Preferences) -> dict[str, Any]:
    return {
        "kinds": notifications.KINDS,
        "deliveries": notifications.DELIVERIES,
        "call": notifications.CALL,
        "prefs": prefs,
    }


async def mail_page(request: web.Request) -> web.Response:
    member = require_member(request)
    runtime = runtime_of(request)
    prefs = await actions.mail_preferences(runtime, member.id)
    fresh = await runtime.db.read(store.members.by_id, member.id)
    context = _choices(prefs) | {
        "email": fresh.email if fresh else "",
        "enabled": runtime.config.mail_enabled,
    }
    return render(request, "account_mail.html", context)


async def save_mail(request: web.Request) -> web.Response:
    member = require_member(request)
    data = await form(request)
    runtime = runtime_of(request)
    email = text_field(data, "email", 300)
    try:
        prefs = notifications.make_preferences(
            [k for k in data.getall("kinds", []) if isinstance(k, str)],
            text_field(data, "delivery", 20),
            text_field(data, "break_until", 20),
            [k for k in data.getall("keeps", []) if isinstance(k, str)],
            text_field(data, "asks_per_week", 5),
        )
        await actions.save_mail_preferences(runtime, member.id, email, prefs)
    except (notifications.NotificationError, *actions.USER_ERRORS) as e:
        current = await actions.mail_preferences(runtime, member.id)
        context = _choices(current) | {"email": email, "enabled": runtime.config.mail_enabled,
                                       "errors": field_errors(e, "email")}  # fmt: skip
        return render(request, "account_mail.html", context, status=422)
    raise see_other("/account/mail", "saved")


# -- unsubscribing, without signing in --------------------------------------------------------------------------


async def unsubscribe_page(request: web.Request) -> web.Response:
    """The link in a mail's footer: a page that says what the button will do (a GET changes nothing: link
    checkers and previews open links)."""
    runtime = runtime_of(request)
    found = actions.read_unsubscribe(runtime, request.match_info["token"])
    if found is None:
        lang = language_of(request)
        return render(request, "message.html", {"title": lang.gettext("This link cannot be used"),
                      "message": lang.gettext("It is not a link we made. Sign in and choose what you receive on your account page.")},
                      status=404)  # fmt: skip
    return render(request, "unsubscribe.html", {"scope": notifications.scope_text(found[1], language_of(request)),
                  "token": request.match_info["token"]})  # fmt: skip


async def unsubscribe(request: web.Request) -> web.Response:
    """RFC 8058 one-click: a mail client POSTs "List-Unsubscribe=One-Click" here, with no cookie and no form
    token; the signed token in the URL is the authority. The confirmation page's button posts here too."""
    await request.post()
    done = await actions.unsubscribe(runtime_of(request), request.match_info["token"])
    if done is None:
        log.info("unsubscribe refused reason=bad-token")
        raise web.HTTPNotFound(text="not a valid unsubscribe link\n")
    lang = language_of(request)
    return render(request, "message.html", {"title": lang.gettext("Unsubscribed"),
                  "message": lang.gettext("You will no longer get %(what)s. You can change it any time on your account page.",
                                          what=notifications.scope_text(done, lang))})  # fmt: skip


# -- forgot password ----------------------------------------------------------------------------------------------


async def forgot_page(request: web.Request) -> web.Response:
    return render(request, "forgot.html", {"enabled": runtime_of(request).config.mail_enabled})


async def forgot(request: web.Request) -> web.Response:
    data = await form(request)
    runtime = runtime_of(request)
    try:
        await actions.mail_password_reset(runtime, text_field(data, "who", 300))
    except actions.USER_ERRORS as e:
        return render(
            request, "forgot.html", {"enabled": False, "errors": field_errors(e, "who")}, status=422
        )
    raise see_other("/forgot", "reset-sent")


# -- organizers ------------------------------------------------------------------------------------------------------


async def organize_mail_page(request: web.Request) -> web.Response:
    require_organizer(request)
    return render(request, "organize/mail.html", await _organize_context(request))


async def _organize_context(request: web.Request) -> dict[str, Any]:
    runtime = runtime_of(request)
    campaigns = await runtime.db.read(store.campaigns.listing, ("public", "followers", "members"))
    return {
        "enabled": runtime.config.mail_enabled,
        "reach": await actions.mail_reach(runtime),
        "kinds_theirs": notifications.KINDS_THEIRS,
        "calls": await runtime.db.read(store.mail.recent_calls),
        "campaigns": campaigns,
        "audiences": actions.AUDIENCE_ROLES,
    }


async def send_call(request: web.Request) -> web.Response:
    organizer = require_organizer(request)
    data = await form(request)
    runtime = runtime_of(request)
    values = {name: text_field(data, name, 6000) for name in ("subject", "body", "audience")}
    try:
        result = await actions.send_call(
            runtime, organizer.id, values["subject"], values["body"], values["audience"]
        )
    except actions.USER_ERRORS as e:
        context = await _organize_context(request) | {"values": values, "errors": field_errors(e, "subject")}
        return render(request, "organize/mail.html", context, status=422)
    raise web.HTTPSeeOther(f"/organize/mail?call={result.call_id}#calls")
