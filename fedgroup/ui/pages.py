"""The group page and campaign pages: public for public campaigns, and for signed-in members every campaign
they may see, with their pledge form. Totals only: never who pledged."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web

from fedgroup import actions, campaign_state, campaigns, store
from fedgroup.ui import charts
from fedgroup.ui.common import (
    VISIBILITY_TEXT,
    campaign_view,
    campaign_views,
    field_errors,
    form,
    int_in_path,
    pledge_fields,
    pledge_id,
    pledge_text,
    render,
    require_member,
    runtime_of,
    see_other,
)
from fedgroup.ui.sessions import MEMBER


async def group_page(request: web.Request) -> web.Response:
    runtime = runtime_of(request)
    if request.match_info["handle"].lower() != runtime.ids.handle.lower():
        raise web.HTTPNotFound(text="no such group\n")
    visible = ("public", "followers", "members") if request[MEMBER] else ("public",)
    views = await campaign_views(runtime, visible)
    return render(request, "group.html", {"campaigns": views})


async def _visible_state(request: web.Request, campaign_id: int) -> campaign_state.CampaignState:
    runtime = runtime_of(request)
    state = await campaign_state.load(runtime.db.reader, campaign_id)
    if state is None or (state.row.visibility != "public" and request[MEMBER] is None):
        raise web.HTTPNotFound(text="no such campaign\n")
    if state.row.deleted_at is not None:
        raise web.HTTPGone(text="this campaign was deleted\n")
    return state


async def campaign_page(
    request: web.Request, errors: dict[str, str] | None = None, status: int = 200
) -> web.Response:
    runtime = runtime_of(request)
    state = await _visible_state(request, int_in_path(request, "campaign_id"))
    now = runtime.now()
    times = await store.pledges.pledge_times(runtime.db.reader, state.id)
    end = state.row.closed_at or (min(now, state.row.deadline) if state.row.deadline else now)
    timeline = charts.pledges_over_time(
        times, state.row.created_at, max(end, state.row.created_at + timedelta(hours=1))
    )
    mine = []
    member = request[MEMBER]
    if member is not None:
        units = campaigns.units_of(state.goals)
        mine = [
            (p, pledge_text(p, units))
            for p in await store.pledges.pledges_of_member(runtime.db.reader, member.id)
            if p.campaign_id == state.id
        ]
    return render(
        request,
        "campaign.html",
        {
            "campaign": campaign_view(state, now),
            "timeline": timeline,
            "mine": mine,
            "visibility_text": VISIBILITY_TEXT[state.row.visibility],
            "errors": errors or {},
            "values": (await request.post()) if errors else {},
        },
        status=status,
    )


async def pledge(request: web.Request) -> web.Response:
    member = require_member(request)
    data = await form(request)
    campaign_id = int_in_path(request, "campaign_id")
    await _visible_state(request, campaign_id)
    try:
        await actions.pledge(runtime_of(request), member.id, campaign_id, **pledge_fields(data))
    except actions.USER_ERRORS as e:
        return await campaign_page(request, field_errors(e, "amount"), status=422)
    raise see_other(f"/campaigns/{campaign_id}", "pledged")


async def withdraw(request: web.Request) -> web.Response:
    member = require_member(request)
    data = await form(request)
    campaign_id = int_in_path(request, "campaign_id")
    try:
        await actions.withdraw_pledge(runtime_of(request), member.id, pledge_id(data))
    except actions.USER_ERRORS as e:
        return await campaign_page(request, {"pledge": str(e)}, status=422)
    raise see_other(f"/campaigns/{campaign_id}", "withdrawn")
