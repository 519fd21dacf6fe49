"""Refusals and failures a person meets in a browser (403, 404, an expired form, 500) as pages of the site,
with a way back; everything else (documents for other servers, JSON, CSV) keeps its short plain answer."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from aiohttp import web

from fedgroup.rules.languages import N_
from fedgroup.runtime import RUNTIME
from fedgroup.ui.common import Handler, render
from fedgroup.ui.languages import language_of
from fedgroup.ui.sessions import MEMBER, ExpiredForm

log = logging.getLogger(__name__)

TITLES = {403: N_("You cannot do this here"), 404: N_("There is nothing here")}
DEFAULT_TEXT = {
    403: N_("This page is for other roles."),
    404: N_("The address may be mistyped, or the page is gone."),
}
# What handlers refuse with most often, for the catalogues: a refusal whose text has a translation is shown
# translated; any other is shown as it is.
REFUSALS = (
    N_("Only organizers can do this."),
    N_("Only admins can do this."),
    N_("no such campaign"),
    N_("no such group"),
    N_("not found"),
)


def wants_page(request: web.Request) -> bool:
    """A browser asking for a page (servers and scripts ask for JSON or anything)."""
    return "text/html" in request.headers.get("Accept", "")


def _home(request: web.Request) -> str:
    return "/home" if request.get(MEMBER) is not None else "/"


def _page_before(request: web.Request) -> str:
    """The page the form was on (the Referer, when it is one of ours), else home."""
    referer = urlsplit(request.headers.get("Referer", ""))
    ours = urlsplit(request.app[RUNTIME].config.base_url)
    if (referer.scheme, referer.netloc) == (ours.scheme, ours.netloc) and referer.path.startswith("/"):
        return referer.path + (f"?{referer.query}" if referer.query else "")
    return _home(request)


@web.middleware
async def error_pages_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ExpiredForm as expired:
        if not wants_page(request) or MEMBER not in request:
            raise
        context = {"typed": expired.typed, "back": _page_before(request)}
        return render(request, "expired.html", context, status=403)
    except (web.HTTPForbidden, web.HTTPNotFound) as refused:
        if not wants_page(request) or MEMBER not in request:
            raise
        text = (refused.text or "").strip()
        if not text or text.startswith(f"{refused.status}:"):  # aiohttp's own "404: Not Found"
            text = DEFAULT_TEXT[refused.status]
        lang = language_of(request)
        return render(
            request,
            "message.html",
            {"title": lang.gettext(TITLES[refused.status]), "message": lang.gettext(text), "back": _home(request)},
            status=refused.status,
        )
    except web.HTTPException:
        raise
    except Exception:
        if not wants_page(request) or MEMBER not in request:
            raise  # the outer errors middleware answers a short 500 and logs it
        log.exception("request failed method=%s path=%s", request.method, request.path)
        lang = language_of(request)
        message = lang.gettext(
            "Something went wrong on our side, and it is logged for the people who run this server. "
            "Nothing you did caused it. Try again in a moment."
        )
        try:
            return render(
                request,
                "message.html",
                {"title": lang.gettext("Something went wrong"), "message": message, "back": _home(request)},
                status=500,
            )
        except Exception:  # the page itself cannot be drawn (the database is gone): the short answer
            return web.Response(status=500, text="internal error\n")
