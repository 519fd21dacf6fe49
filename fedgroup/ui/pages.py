"""The group page and campaign pages: public for public campaigns, and for signed-in members every campaign
they may see, with their pledge form. Totals only: never who pledged."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from fedgroup import actions, store
from fedgroup.rules import campaign_state, campaigns, disclosure, formats
from fedgroup.rules.campaign_state import ContributorLine
from fedgroup.rules.languages import Language
from fedgroup.runtime import Runtime
from fedgroup.store.kept import Made, campaign_scopes
from fedgroup.ui import charts, renderings
from fedgroup.ui.common import (
    VISIBILITY_TEXT,
    campaign_view,
    current_choice,
    field_errors,
    form,
    int_in_path,
    listed_campaigns,
    page_key,
    page_number,
    pledge_fields,
    pledge_id,
    pledge_text,
    render,
    render_public,
    require_member,
    runtime_of,
    see_other,
)
from fedgroup.ui.gatherings import upcoming_views
from fedgroup.ui.languages import language_of
from fedgroup.ui.money import public_money
from fedgroup.ui.sessions import MEMBER


async def group_page(request: web.Request) -> web.Response:
    runtime = runtime_of(request)
    if request.match_info["handle"].lower() != runtime.ids.handle.lower():
        raise web.HTTPNotFound(text="no such group\n")
    kept = renderings.of(runtime)
    version = await renderings.version_read_for(request)
    lang = language_of(request)
    if request[MEMBER] is not None:
        views, page = await listed_campaigns(request, ("public", "followers", "members"), version)
        coming = await upcoming_views(runtime, ("public", "followers", "members"), lang)
        return render(request, "group.html", {"campaigns": views, "page": page, "gatherings": coming})
    number = page_number(request)
    now = runtime.now()

    async def make() -> Made:
        views, page = await listed_campaigns(request, ("public",), version)
        coming = await upcoming_views(runtime, ("public",), lang)
        body = render_public(request, "group.html", {"campaigns": views, "page": page, "gatherings": coming})
        return Made(body, renderings.expiry(now, (v.deadline for v in views)), len(body))

    key = page_key(request, "group", number)
    return renderings.kept_page_response(request, key, await kept.pages.get_or_make(key, version, now, make))


async def _visible_state(request: web.Request, campaign_id: int) -> campaign_state.CampaignState:
    """The campaign read afresh (forms check against this), if this request may see it."""
    runtime = runtime_of(request)
    state = await runtime.db.read(actions.load_campaign, campaign_id)
    if state is None:
        raise web.HTTPNotFound(text="no such campaign\n")
    _check_visible(request, state)
    return state


def _check_visible(request: web.Request, state: campaign_state.CampaignState) -> None:
    member = request[MEMBER]
    if state.row.draft and (member is None or not member.is_organizer):
        raise web.HTTPNotFound(text="no such campaign\n")  # a draft is the organizers' until published
    if state.row.visibility != "public" and request[MEMBER] is None:
        raise web.HTTPNotFound(text="no such campaign\n")
    if state.row.deleted_at is not None:
        raise web.HTTPGone(text="this campaign was deleted\n")


@dataclass(frozen=True)
class _CampaignFacts:
    """What a campaign's page shows everyone, read in one trip to the reader thread: in a vote storm the page is
    made again after every counted vote, and under load each trip waits for that thread to be scheduled."""

    state: campaign_state.CampaignState
    pledge_times: list[tuple[datetime, int]]
    contributors: list[ContributorLine]
    money: actions.MoneyRecord | None  # None when the campaign has no money goal


def _read_campaign_facts(conn: sqlite3.Connection, campaign_id: int, minimum: int) -> _CampaignFacts | None:
    state = actions.load_campaign(conn, campaign_id)
    if state is None:
        return None
    if state.row.deleted_at is not None:  # its page says only that it is gone
        return _CampaignFacts(state, [], [], None)
    withheld = disclosure.public_counts(state.tally, minimum).pledgers_withheld
    return _CampaignFacts(
        state,
        store.pledges.pledge_times(conn, state.id, not withheld),
        actions.contributors(conn, state),
        actions.money_record_of(conn, state) if any(g.kind == "money" for g in state.goals) else None,
    )


def _campaign_context(runtime: Runtime, facts: _CampaignFacts, lang: Language) -> dict[str, Any]:
    """What the campaign page shows everyone who may see it: totals, options and the pledges-over-time chart."""
    state, who = facts.state, facts.contributors
    now = runtime.now()
    end = state.row.closed_at or (min(now, state.row.deadline) if state.row.deadline else now)
    timeline = charts.pledges_over_time(
        facts.pledge_times, state.row.created_at, max(end, state.row.created_at + timedelta(hours=1))
    )
    return {
        "contributors": [formats.contributor(line, state.goals, lang) for line in who]
        if any(w.partner for w in who)
        else [],
        "campaign": campaign_view(state, now, runtime.config.min_disclosed_count, lang),
        "timeline": timeline,
        "visibility_text": VISIBILITY_TEXT[state.row.visibility],
        "money": public_money(facts.money, lang),
    }


async def _campaign_shown(
    request: web.Request, campaign_id: int, version: int
) -> tuple[campaign_state.CampaignState, dict[str, Any]]:
    """The campaign and what its page shows everyone, kept until the campaign changes; checked against this
    request's right to see it every time."""
    runtime = runtime_of(request)
    lang = language_of(request)
    now = runtime.now()

    async def make() -> Made:
        facts = await runtime.db.read(_read_campaign_facts, campaign_id, runtime.config.min_disclosed_count)
        if facts is None:
            raise web.HTTPNotFound(text="no such campaign\n")
        state = facts.state
        context = _campaign_context(runtime, facts, lang) if state.row.deleted_at is None else {}
        return Made((state, context), renderings.expiry(now, [state.row.deadline]))

    found: tuple[campaign_state.CampaignState, dict[str, Any]] = await renderings.of(
        runtime
    ).views.get_or_make(
        ("campaign", campaign_id, lang.code), version, now, make, campaign_scopes(campaign_id)
    )
    _check_visible(request, found[0])
    return found


async def campaign_page(
    request: web.Request, errors: dict[str, str] | None = None, status: int = 200
) -> web.Response:
    runtime = runtime_of(request)
    campaign_id = int_in_path(request, "campaign_id")
    member = request[MEMBER]
    version = await renderings.version_read_for(request)
    if member is None and not errors:
        return await _public_campaign_page(request, campaign_id, version)
    state, shown = await _campaign_shown(request, campaign_id, version)
    mine = []
    if member is not None:
        units = campaigns.units_of(state.goals)
        mine = [
            (p, pledge_text(p, units, language_of(request)))
            for p in await runtime.db.read(store.pledges.pledges_of_member, member.id)
            if p.campaign_id == state.id
        ]
    return render(
        request,
        "campaign.html",
        {
            **shown,
            "mine": mine,
            "errors": errors or {},
            "values": (await request.post()) if errors else current_choice([p for p, _ in mine]),
        },
        status=status,
    )


async def _public_campaign_page(request: web.Request, campaign_id: int, version: int) -> web.Response:
    """A campaign page for a visitor without a session: one rendering serves them all until the campaign
    changes. Only public campaigns' pages are kept; the others are not found, as before."""
    runtime = runtime_of(request)
    now = runtime.now()

    async def make() -> Made:
        state, shown = await _campaign_shown(request, campaign_id, version)
        body = render_public(request, "campaign.html", shown)
        expires = renderings.expiry(now, [state.row.deadline])
        return Made(body, expires, len(body), keep=state.row.visibility == "public")

    key = page_key(request, "campaign", campaign_id)
    body = await renderings.of(runtime).pages.get_or_make(
        key, version, now, make, campaign_scopes(campaign_id)
    )
    return renderings.kept_page_response(request, key, body)


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
