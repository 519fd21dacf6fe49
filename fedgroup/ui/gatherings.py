"""Gatherings in the web UI: the list and each gathering's page (anyone for a public one, members for the
rest), members' RSVPs (going / not going), the .ics file, and the organizers' pages to create, edit and
cancel. Members see counts; organizers also see which members come (remote accounts only as a count)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from fedgroup import actions, store
from fedgroup.rules import formats, gatherings, timezones
from fedgroup.rules.languages import N_, Language
from fedgroup.runtime import Runtime
from fedgroup.ui.common import (
    VISIBILITY_TEXT,
    Routes,
    field_errors,
    form,
    int_in_path,
    render,
    require_member,
    require_organizer,
    runtime_of,
    see_other,
    text_field,
)
from fedgroup.ui.languages import language_of
from fedgroup.ui.sessions import MEMBER

FORM_FIELDS = (
    "title", "description", "starts", "ends", "timezone", "place", "latitude", "longitude", "online_url",
    "capacity", "campaign", "visibility",
)  # fmt: skip


@dataclass(frozen=True)
class GatheringView:
    """A gathering as people read it: every figure and date already written out."""

    id: int
    title: str
    description: str
    when: str
    where: str
    place: str
    online_url: str | None
    map_url: str | None
    cancelled: bool
    over: bool
    visibility: str
    going: int
    waiting: int
    capacity: int | None
    remaining: int | None
    campaign_id: int | None
    campaign_title: str | None
    places_text: str = ""
    waiting_text: str = ""  # the waiting list's head count as places_text's: "fewer than 3" where small


def view_of(state: actions.GatheringState, now: Any, lang: Language, minimum: int) -> GatheringView:
    """`minimum`: the group's min_disclosed_count, under which a head count reads "fewer than N" (as on
    campaign pages); organizers' own pages pass 1 and see every figure."""
    row, counts = state.row, state.counts
    map_url = None
    if row.latitude is not None and row.longitude is not None:
        map_url = (
            f"https://www.openstreetmap.org/?mlat={row.latitude}&mlon={row.longitude}"
            f"#map=17/{row.latitude}/{row.longitude}"
        )
    if row.place and row.online_url:
        where = lang.gettext("%(place)s and online", place=row.place)
    else:
        where = row.place or lang.gettext("Online")
    if counts.capacity is None:
        places = lang.gettext("%(count)s going", count=formats.count(counts.going, False, minimum, lang))
    else:
        places = lang.gettext(
            "%(going)s of %(capacity)s places taken",
            going=formats.count(counts.going, False, minimum, lang),
            capacity=formats.number(counts.capacity, lang),
        )
    return GatheringView(
        row.id, row.title, row.description, formats.span(row.starts_at, row.ends_at, row.timezone, lang), where,
        row.place, row.online_url, map_url, row.status == gatherings.CANCELLED, now >= row.ends_at,
        row.visibility, counts.going, counts.waiting, counts.capacity, counts.remaining, row.campaign_id,
        state.campaign_title, places, formats.count(counts.waiting, False, minimum, lang),
    )  # fmt: skip


def _visible_to(request: web.Request, state: actions.GatheringState) -> None:
    """A public gathering is anyone's to see; the others are members' (to anyone else, as for campaigns,
    there is no such gathering)."""
    if state.row.visibility != "public" and request[MEMBER] is None:
        raise web.HTTPNotFound(text="no such gathering\n")


async def _gathering(request: web.Request) -> actions.GatheringState:
    state = await runtime_of(request).db.read(actions.load_gathering, int_in_path(request, "gathering_id"))
    if state is None:
        raise web.HTTPNotFound(text="no such gathering\n")
    _visible_to(request, state)
    return state


async def upcoming_views(
    runtime: Runtime, visibilities: tuple[str, ...], lang: Language
) -> list[GatheringView]:
    """Gatherings not yet over, of these visibilities, as the group page and the list show them."""
    now = runtime.now()
    minimum = runtime.config.min_disclosed_count
    return [
        view_of(s, now, lang, minimum) for s in await runtime.db.read(actions.upcoming, now, visibilities)
    ]


async def list_page(request: web.Request) -> web.Response:
    runtime = runtime_of(request)
    member = request[MEMBER]
    shown = ("public", "followers", "members") if member is not None else ("public",)
    states = await runtime.db.read(actions.upcoming, runtime.now(), shown)
    mine = await runtime.db.read(actions.my_rsvps, member.id) if member is not None else {}
    now = runtime.now()
    views = [view_of(s, now, language_of(request), runtime.config.min_disclosed_count) for s in states]
    return render(request, "gatherings.html", {"gatherings": views, "mine": mine})


async def gathering_page(
    request: web.Request, errors: dict[str, str] | None = None, status: int = 200
) -> web.Response:
    runtime = runtime_of(request)
    state = await _gathering(request)
    member = request[MEMBER]
    mine = None
    if member is not None:
        mine = (await runtime.db.read(actions.my_rsvps, member.id)).get(state.id)
    return render(
        request,
        "gathering.html",
        {
            "g": view_of(state, runtime.now(), language_of(request), runtime.config.min_disclosed_count),
            "mine": mine,
            "errors": errors or {},
        },
        status=status,
    )


async def rsvp(request: web.Request) -> web.Response:
    member = require_member(request)
    data = await form(request)
    state = await _gathering(request)
    answer = text_field(data, "answer", 20)
    if answer not in ("going", "not-going"):
        return await gathering_page(request, {"answer": N_("choose going or not going")}, status=422)
    try:
        result = await actions.member_rsvp(runtime_of(request), state.id, member.id, answer == "going")
    except actions.USER_ERRORS as e:
        return await gathering_page(request, {"answer": str(e)}, status=422)
    raise see_other(f"/gatherings/{state.id}", f"rsvp-{result}")


async def calendar_file(request: web.Request) -> web.Response:
    runtime = runtime_of(request)
    state = await _gathering(request)
    body = actions.calendar_of(runtime.ids, runtime.site.name, [state])
    return web.Response(
        body=body,
        content_type="text/calendar",
        charset="utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="gathering-{state.id}.ics"',
            "Cache-Control": "no-store" if request[MEMBER] else "no-cache",
        },
    )


# -- organizers -----------------------------------------------------------------------------------------------


def _form_values(data: MultiDictProxy[Any]) -> dict[str, str]:
    return {name: text_field(data, name, 10_000 if name == "description" else 2000) for name in FORM_FIELDS}


def _gathering_form(values: dict[str, str]) -> actions.GatheringForm:
    return actions.GatheringForm(**{name: values.get(name, "") for name in FORM_FIELDS})


async def _form_context(request: web.Request) -> dict[str, Any]:
    runtime = runtime_of(request)
    campaigns = await runtime.db.read(store.campaigns.listing, ("public", "followers", "members"))
    return {
        "campaigns": [(c.id, c.title) for c in campaigns if c.deleted_at is None],
        "visibilities": list(VISIBILITY_TEXT.items()),
        "zones": timezones.names(),
    }


async def organize_list(request: web.Request) -> web.Response:
    require_organizer(request)
    runtime = runtime_of(request)
    rows = await runtime.db.read(store.gatherings.all_gatherings)
    states = await runtime.db.read(actions.load_gatherings, rows)
    now = runtime.now()
    views = [view_of(s, now, language_of(request), minimum=1) for s in states]  # organizers see every figure
    return render(request, "organize/gatherings.html", {"gatherings": views})


async def new_page(
    request: web.Request,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    require_organizer(request)
    runtime = runtime_of(request)
    defaults = {"visibility": "public", "timezone": runtime.site.timezone}
    return render(
        request,
        "organize/gathering_form.html",
        {**await _form_context(request), "errors": errors or {}, "values": values or defaults, "g": None},
        status=status,
    )


async def create(request: web.Request) -> web.Response:
    me = require_organizer(request)
    values = _form_values(await form(request))
    try:
        gathering_id = await actions.create_gathering(runtime_of(request), me.id, _gathering_form(values))
    except actions.USER_ERRORS as e:
        return await new_page(request, field_errors(e, "title"), values, status=422)
    raise see_other(f"/gatherings/{gathering_id}", "gathering-created")


def _values_of(row: store.gatherings.GatheringRow) -> dict[str, str]:
    return {
        "title": row.title,
        "description": row.description,
        "starts": timezones.to_local_input(row.starts_at, row.timezone),
        "ends": timezones.to_local_input(row.ends_at, row.timezone),
        "timezone": row.timezone,
        "place": row.place,
        "latitude": "" if row.latitude is None else f"{row.latitude:g}",
        "longitude": "" if row.longitude is None else f"{row.longitude:g}",
        "online_url": row.online_url or "",
        "capacity": "" if row.capacity is None else str(row.capacity),
        "campaign": "" if row.campaign_id is None else str(row.campaign_id),
        "visibility": row.visibility,
    }


async def organize_page(
    request: web.Request,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    require_organizer(request)
    runtime = runtime_of(request)
    state = await runtime.db.read(actions.load_gathering, int_in_path(request, "gathering_id"))
    if state is None:
        raise web.HTTPNotFound(text="no such gathering\n")
    names = await runtime.db.read(store.gatherings.member_names, state.id)
    remote = [r for r in await runtime.db.read(store.gatherings.rsvps, state.id) if r.actor is not None]
    return render(
        request,
        "organize/gathering_form.html",
        {
            **await _form_context(request),
            "g": view_of(state, runtime.now(), language_of(request), minimum=1),
            "member_names": names,
            "remote_going": sum(1 for r in remote if r.state == gatherings.GOING),
            "remote_waiting": sum(1 for r in remote if r.state == gatherings.WAITING),
            "errors": errors or {},
            "values": values or _values_of(state.row),
        },
        status=status,
    )


async def edit(request: web.Request) -> web.Response:
    require_organizer(request)
    values = _form_values(await form(request))
    gathering_id = int_in_path(request, "gathering_id")
    try:
        await actions.edit_gathering(runtime_of(request), gathering_id, _gathering_form(values))
    except actions.USER_ERRORS as e:
        return await organize_page(request, field_errors(e, "title"), values, status=422)
    raise see_other(f"/organize/gatherings/{gathering_id}", "gathering-saved")


async def cancel(request: web.Request) -> web.Response:
    require_organizer(request)
    await form(request)
    gathering_id = int_in_path(request, "gathering_id")
    try:
        await actions.cancel_gathering(runtime_of(request), gathering_id)
    except actions.USER_ERRORS as e:
        return await organize_page(request, {"cancel": str(e)}, status=422)
    raise see_other(f"/gatherings/{gathering_id}", "gathering-cancelled")


def add_routes(routes: Routes) -> None:
    """The routes of gatherings but the page at the gathering's URL (app.py pairs it with the Event);
    each POST is a form route (CSRF and origin checked first)."""
    routes.get("/gatherings", list_page)
    routes.get("/gatherings/{gathering_id}/calendar.ics", calendar_file)
    routes.post("/gatherings/{gathering_id}/rsvp", rsvp)
    routes.get("/organize/gatherings", organize_list)
    routes.get("/organize/gatherings/new", new_page)
    routes.post("/organize/gatherings/new", create)
    routes.get("/organize/gatherings/{gathering_id}", organize_page)
    routes.post("/organize/gatherings/{gathering_id}/edit", edit)
    routes.post("/organize/gatherings/{gathering_id}/cancel", cancel)
