"""A member's pages: every campaign they may see (ours and partner groups'), their pledges, and pledging to
partner groups' campaigns (sent on as part of our group's aggregate, without names)."""

from __future__ import annotations

from aiohttp import web

from fedgroup import actions, campaign_state, store
from fedgroup.ui.common import (
    campaign_view,
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


async def home(request: web.Request) -> web.Response:
    member = require_member(request)
    runtime = runtime_of(request)
    reader, now = runtime.db.reader, runtime.now()
    ours = []
    for row in await store.campaigns.listing(reader, ("public", "followers", "members")):
        state = await campaign_state.load(reader, row.id)
        if state is not None:
            ours.append(campaign_view(state, now))
    partners = [partner_view(p, now) for p in await store.campaigns.partner_campaigns(reader)]
    titles = {c.id: c.title for c in ours}
    partner_titles = {p.id: p.title for p in partners}
    pledges = []
    for p in await store.pledges.pledges_of_member(reader, member.id):
        if p.campaign_id is not None:
            state = await campaign_state.load(reader, p.campaign_id)
            units = {g.kind: g.unit for g in state.goals} if state else {}
            where, link = titles.get(p.campaign_id, "a campaign"), f"/campaigns/{p.campaign_id}"
        else:
            partner = await store.campaigns.partner_campaign(reader, p.partner_campaign_id or 0)
            units = {g.kind: g.unit for g in actions.partner_goals(partner)[0]} if partner else {}
            where, link = (
                partner_titles.get(p.partner_campaign_id or 0, "a partner campaign"),
                f"/partners/{p.partner_campaign_id}",
            )
        pledges.append(
            {
                "where": where,
                "link": link,
                "text": pledge_text(p, units),
                "fulfilled": p.fulfilled,
                "note": p.note,
            }
        )
    return render(request, "home.html", {"campaigns": ours, "partners": partners, "pledges": pledges})


async def _partner(request: web.Request) -> store.campaigns.PartnerCampaign:
    runtime = runtime_of(request)
    partner = await store.campaigns.partner_campaign(runtime.db.reader, int_in_path(request, "partner_id"))
    if partner is None:
        raise web.HTTPNotFound(text="no such partner campaign\n")
    return partner


async def partner_page(
    request: web.Request, errors: dict[str, str] | None = None, status: int = 200
) -> web.Response:
    member = require_member(request)
    runtime = runtime_of(request)
    partner = await _partner(request)
    view = partner_view(partner, runtime.now())
    units = {g.kind: g.unit for g in actions.partner_goals(partner)[0]}
    mine = [
        (p, pledge_text(p, units))
        for p in await store.pledges.pledges_of_member(runtime.db.reader, member.id)
        if p.partner_campaign_id == partner.id
    ]
    return render(
        request, "partner.html", {"partner": view, "mine": mine, "errors": errors or {}}, status=status
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
