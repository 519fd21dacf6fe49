"""Delivered, not only pledged: a member says "I did it", an organizer confirms it in one click or ticks which
pledges to a partner's campaign were kept; what partners delivered to our past campaigns; and, in plain
words, what partners and the public can learn from us."""

from __future__ import annotations

import sqlite3
from typing import Any

from aiohttp import web

from fedgroup import actions, store
from fedgroup.rules.campaign_state import CampaignState
from fedgroup.ui.common import (
    form,
    int_in_path,
    partner_view,
    pledge_text,
    render,
    require_member,
    require_organizer,
    runtime_of,
    see_other,
)
from fedgroup.ui.languages import language_of


async def claim_done(request: web.Request) -> web.Response:
    member = require_member(request)
    await form(request)
    try:
        await actions.claim_done(runtime_of(request), member.id, int_in_path(request, "pledge_id"))
    except actions.USER_ERRORS as e:
        raise web.HTTPNotFound(text=f"{e}\n") from e
    raise see_other("/home", "claimed")


async def confirm_done(request: web.Request) -> web.Response:
    """One click: the member said they did it, the organizer agrees."""
    require_organizer(request)
    await form(request)
    runtime = runtime_of(request)
    pledge = await runtime.db.read(store.pledges.member_pledge, int_in_path(request, "pledge_id"))
    if pledge is None:
        raise web.HTTPNotFound(text="there is no such pledge\n")
    await actions.set_fulfilled(runtime, pledge.id, True)
    if pledge.campaign_id is not None:
        raise see_other(f"/organize/campaigns/{pledge.campaign_id}", "saved")
    raise see_other(f"/partners/{pledge.partner_campaign_id}", "saved")


async def partner_kept(request: web.Request) -> web.Response:
    """An organizer ticks which of our members' pledges to a partner's campaign were kept; the partner hears
    what was delivered (as a sum, in the next release)."""
    require_organizer(request)
    data = await form(request)
    runtime = runtime_of(request)
    partner_id = int_in_path(request, "partner_id")
    ticked = {v for v in data.getall("fulfilled", []) if isinstance(v, str)}
    for pledge in await runtime.db.read(store.pledges.pledges_for_partner_campaign, partner_id):
        wanted = str(pledge.id) in ticked
        if wanted != pledge.fulfilled:
            await actions.set_fulfilled(runtime, pledge.id, wanted)
    raise see_other(f"/partners/{partner_id}", "saved")


async def partner_pledges(request: web.Request, partner: store.campaigns.PartnerCampaign) -> list[Any]:
    """For an organizer's view of a partner's campaign: our members' pledges to it, to tick the kept ones."""
    runtime = runtime_of(request)
    view = partner_view(partner, runtime.now(), language_of(request))
    return [
        (p, pledge_text(p, view.units, language_of(request)))
        for p in await runtime.db.read(store.pledges.pledges_for_partner_campaign, partner.id)
    ]


async def partners_record(request: web.Request) -> web.Response:
    """Each partner group's pledged and delivered figures on our past (closed) campaigns."""
    require_organizer(request)
    runtime = runtime_of(request)

    def closed_contributors(conn: sqlite3.Connection) -> list[tuple[CampaignState, list[Any]]]:
        rows = store.campaigns.listing(conn, ("public", "followers", "members"))
        states = actions.load_campaigns(conn, [r for r in rows if r.status == "closed"])
        return [(state, actions.contributors(conn, state)) for state in states]

    groups: dict[str, dict[str, Any]] = {}
    for state, lines in await runtime.db.read(closed_contributors):
        for line in lines:
            if line.partner is None:
                continue
            entry = groups.setdefault(line.partner, {"name": line.who, "campaigns": [], "in_full": 0})
            entry["campaigns"].append((state.row.title, line.text(state.goals)))
            pledged = {c.kind: c.amount for c in line.pledged}
            delivered = {c.kind: c.amount for c in line.delivered}
            entry["in_full"] += line.fewer_than is None and all(
                delivered.get(kind, 0) >= amount for kind, amount in pledged.items()
            )
    return render(request, "organize/partners_record.html", {"groups": groups})


async def disclosure_page(request: web.Request) -> web.Response:
    require_organizer(request)
    config = runtime_of(request).config
    return render(
        request,
        "organize/disclosure.html",
        {
            "minimum": config.min_disclosed_count,
            "release_minutes": config.partner_release_minutes,
            "release_changes": config.partner_release_changes,
        },
    )
