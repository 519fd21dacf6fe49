"""Refusals a person meets in a browser (403, 404) as pages of the site, with a way back; everything else
(documents for other servers, JSON, CSV) keeps its short plain answer."""

from __future__ import annotations

from aiohttp import web

from fedgroup.ui.common import Handler, render
from fedgroup.ui.sessions import MEMBER

TITLES = {403: "You cannot do this here", 404: "There is nothing here"}
DEFAULT_TEXT = {403: "This page is for other roles.", 404: "The address may be mistyped, or the page is gone."}


def wants_page(request: web.Request) -> bool:
    """A browser asking for a page (servers and scripts ask for JSON or anything)."""
    return "text/html" in request.headers.get("Accept", "")


@web.middleware
async def error_pages_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except (web.HTTPForbidden, web.HTTPNotFound) as refused:
        if not wants_page(request) or MEMBER not in request:
            raise
        text = (refused.text or "").strip()
        if not text or text.startswith(f"{refused.status}:"):  # aiohttp's own "404: Not Found"
            text = DEFAULT_TEXT[refused.status]
        back = "/home" if request[MEMBER] is not None else "/"
        return render(
            request,
            "message.html",
            {"title": TITLES[refused.status], "message": text, "back": back},
            status=refused.status,
        )
