"""Public HTML pages: the group and its campaigns, for browsers."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from fedgroup import campaign_state, campaigns, store
from fedgroup.runtime import RUNTIME


async def group_page(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    if request.match_info["handle"].lower() != runtime.ids.handle.lower():
        raise web.HTTPNotFound(text="no such group\n")
    campaigns = await store.campaigns.listing(runtime.db.reader, ("public",))
    return aiohttp_jinja2.render_template(
        "group.html", request, {"site": runtime.site, "ids": runtime.ids, "campaigns": campaigns}
    )


async def campaign_page(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    row = await store.campaigns.get(runtime.db.reader, int(request.match_info["campaign_id"]))
    if row is None or row.visibility != "public":
        raise web.HTTPNotFound(text="no such campaign\n")
    if row.deleted_at is not None:
        raise web.HTTPGone(text="this campaign was deleted\n")
    state = await campaign_state.load(runtime.db.reader, row.id)
    assert state is not None
    return aiohttp_jinja2.render_template(
        "campaign.html",
        request,
        {
            "site": runtime.site,
            "ids": runtime.ids,
            "campaign": row,
            "state": state,
            "open": state.is_open(runtime.now()),
            "goals": [
                {"text": campaigns.progress_text([line]), "percent": line.percent}
                for line in state.tally.progress
            ],
        },
    )
