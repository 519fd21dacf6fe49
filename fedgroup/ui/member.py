"""A member's pages: every campaign they may see (ours and partner groups'), their pledges, and pledging to
partner groups' campaigns (sent on as part of our group's aggregate, without names)."""

from __future__ import annotations

from aiohttp import web

from fedgroup import actions, store
from fedgroup.ui import delivered
from fedgroup.ui.common import (
    CampaignView,
    PartnerView,
    campaign_views,
    current_choice,
    field_errors,
    form,
    int_in_path,
    partner_view,
    pledge_fields,
    pledge_id,
    pledge_text,
    render,
    require_member,
    runtime_of,
    see_other,
)
from fedgroup.ui.gatherings import upcoming_views
from fedgroup.ui.languages import language_of


async def home(request: web.Request) -> web.Response:
    member = require_member(request)
    runtime = runtime_of(request)
    db, now = runtime.db, runtime.now()
    ours = await campaign_views(runtime, ("public", "followers", "members"), language_of(request))
    partners = [
        partner_view(p, now, language_of(request)) for p in await db.read(store.campaigns.partner_campaigns)
    ]
    ours_by_id = {c.id: c for c in ours}
    partners_by_id = {p.id: p for p in partners}
    pledges = []
    for p in await db.read(store.pledges.pledges_of_member, member.id):
        if p.campaign_id is not None:
            view: CampaignView | PartnerView | None = ours_by_id.get(p.campaign_id)
            link = f"/campaigns/{p.campaign_id}"
        else:
            view = partners_by_id.get(p.partner_campaign_id or 0)
            link = f"/partners/{p.partner_campaign_id}"
        pledges.append(
            {
                "where": view.title if view else "a campaign",
                "link": link,
                "text": pledge_text(p, view.units if view else {}, language_of(request)),
                "fulfilled": p.fulfilled,
                "claimed": p.done_claimed_at is not None,
                "id": p.id,
                "note": p.note,
            }
        )
    mine = await db.read(actions.my_rsvps, member.id)
    coming = [
        (g, mine[g.id])
        for g in await upcoming_views(runtime, ("public", "followers", "members"), language_of(request))
        if g.id in mine and not g.cancelled
    ]
    notices = await db.read(store.pledges.notices_of, member.id)
    # Admins see the group's first steps until they are done or put away; nobody else has them to take.
    first_steps = await actions.first_steps_left(runtime) if member.is_admin else None
    return render(
        request,
        "home.html",
        {
            "campaigns": ours,
            "partners": partners,
            "pledges": pledges,
            "coming": coming,
            "notices": notices,
            "first_steps": first_steps,
        },
    )


async def dismiss_notices(request: web.Request) -> web.Response:
    member = require_member(request)
    await form(request)
    runtime = runtime_of(request)
    await runtime.db.write(store.pledges.dismiss_notices, member.id)
    raise see_other("/home")


async def _partner(request: web.Request) -> store.campaigns.PartnerCampaign:
    runtime = runtime_of(request)
    partner = await runtime.db.read(store.campaigns.partner_campaign, int_in_path(request, "partner_id"))
    if partner is None:
        raise web.HTTPNotFound(text="no such partner campaign\n")
    return partner


async def partner_page(
    request: web.Request, errors: dict[str, str] | None = None, status: int = 200
) -> web.Response:
    member = require_member(request)
    runtime = runtime_of(request)
    partner = await _partner(request)
    view = partner_view(partner, runtime.now(), language_of(request))
    mine = [
        (p, pledge_text(p, view.units, language_of(request)))
        for p in await runtime.db.read(store.pledges.pledges_of_member, member.id)
        if p.partner_campaign_id == partner.id
    ]
    values = (await request.post()) if errors else current_choice([p for p, _ in mine])
    ours = await delivered.partner_pledges(request, partner) if member.is_organizer else []
    return render(
        request,
        "partner.html",
        {"partner": view, "mine": mine, "ours": ours, "errors": errors or {}, "values": values},
        status=status,
    )


async def partner_pledge(request: web.Request) -> web.Response:
    member = require_member(request)
    data = await form(request)
    partner = await _partner(request)
    try:
        await actions.pledge_to_partner(runtime_of(request), member.id, partner.id, **pledge_fields(data))
    except actions.USER_ERRORS as e:
        return await partner_page(request, field_errors(e, "amount"), status=422)
    raise see_other(f"/partners/{partner.id}", "pledged")


async def partner_withdraw(request: web.Request) -> web.Response:
    member = require_member(request)
    data = await form(request)
    partner = await _partner(request)
    try:
        await actions.withdraw_pledge(runtime_of(request), member.id, pledge_id(data))
    except actions.USER_ERRORS as e:
        return await partner_page(request, {"pledge": str(e)}, status=422)
    raise see_other(f"/partners/{partner.id}", "withdrawn")
