"""What every web UI handler shares: rendering with the signed-in member, access checks, forms, and the
view models of campaigns (numbers already formatted for people; templates only lay them out)."""

from __future__ import annotations

import functools
import re
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypedDict
from urllib.parse import quote

import aiohttp_jinja2
import orjson
from aiohttp import web
from multidict import MultiDictProxy

from fedgroup import actions, store
from fedgroup.protocol import ids
from fedgroup.rules import campaigns, disclosure, formats, languages, paging, tallies
from fedgroup.rules.campaign_state import CampaignState
from fedgroup.rules.languages import N_, Language
from fedgroup.runtime import RUNTIME, Runtime
from fedgroup.store.kept import Made
from fedgroup.ui import renderings
from fedgroup.ui.languages import language_of
from fedgroup.ui.sessions import MEMBER, MUST_ENROL, check_csrf, csrf_token

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def form_route(handler: Handler) -> Handler:
    """The handler behind a check of the form's CSRF token and origin, made before the handler runs, whatever
    it does first (handlers read the same form again through `form`, which checks it too)."""

    @functools.wraps(handler)
    async def checked(request: web.Request) -> web.StreamResponse:
        await form(request)
        return await handler(request)

    return checked


@dataclass(frozen=True)
class Routes:
    """How the web UI's modules add their routes. Paths are written with plain `{..._id}` parts, each matching
    a row's id only (protocol.ids.route); every POST is a form route."""

    router: web.UrlDispatcher

    def get(self, path: str, handler: Handler) -> None:
        self.router.add_get(ids.route(path), handler)

    def post(self, path: str, handler: Handler) -> None:
        self.router.add_post(ids.route(path), form_route(handler))


VISIBILITY_TEXT = {
    "public": N_("Public: anyone, and followers on the fediverse"),
    "followers": N_("Followers: only accounts that follow the group"),
    "members": N_("Members: only members signed in here; never leaves this server"),
}


def runtime_of(request: web.Request) -> Runtime:
    return request.app[RUNTIME]


def render(
    request: web.Request, template: str, context: dict[str, Any] | None = None, status: int = 200
) -> web.Response:
    runtime = runtime_of(request)
    values: dict[str, Any] = {
        "site": runtime.site,
        "ids": runtime.ids,
        "me": request[MEMBER],
        "csrf": csrf_token(request),
        "errors": {},
        "values": {},
        "notice": _notice(request, request.query.get("done", "")),
        "lang": language_of(request),
        "path": switch_back(request),
    }
    values.update(context or {})
    response = aiohttp_jinja2.render_template(template, request, values, status=status)
    response.headers["Cache-Control"] = "no-store" if request[MEMBER] else "no-cache"
    response.headers["Vary"] = renderings.VARY
    return response


# Pages whose address carries a secret (an invitation, a reset or unsubscribe link): the language switch does
# not repeat it in its form, where it would travel again in a query string (and into access logs).
_SECRET_PATHS = ("/invite/", "/reset/", "/unsubscribe/", "/feeds/")


def switch_back(request: web.Request) -> str:
    """Where the language switch at the foot of the page goes back to: this page, unless its address holds a
    secret (then the home page; a browser's Accept-Language already chose the language there)."""
    return "/" if request.path.startswith(_SECRET_PATHS) else request.path


def render_public(request: web.Request, template: str, context: dict[str, Any]) -> bytes:
    """`template` as every visitor without a session sees it: no member and no form token, nothing that is
    the visitor's own, so that one rendering may serve them all (ui/renderings.py). Only the notice after
    a redirect varies, and it is chosen by a key (notice_key); and the language, which keys every kept page
    (page_key)."""
    values: dict[str, Any] = {
        "site": runtime_of(request).site,
        "ids": runtime_of(request).ids,
        "me": None,
        "csrf": "",
        "errors": {},
        "values": {},
        "notice": _notice(request, notice_key(request) or ""),
        "lang": language_of(request),
        "path": switch_back(request),
    }
    values.update(context)
    return aiohttp_jinja2.render_string(template, request, values).encode()


def page_key(request: web.Request, *parts: object) -> tuple[object, ...]:
    """The key of a page kept for every visitor without a session: what it shows, in this request's language."""
    return (*parts, notice_key(request), language_of(request).code)


def _notice(request: web.Request, key: str) -> str | None:
    """The notice after a redirect, in the page's language."""
    notice = NOTICES.get(key)
    return language_of(request).gettext(notice) if notice else None


def notice_key(request: web.Request) -> str | None:
    done = request.query.get("done")
    return done if done in NOTICES else None


# Messages after a redirect are chosen by key, never reflected from the URL.
NOTICES = {
    "pledged": N_("Thank you: your pledge is recorded."),
    "withdrawn": N_("Your pledge is withdrawn."),
    "claimed": N_("Thank you! An organizer will confirm it."),
    "created": N_("The campaign is created."),
    "saved": N_("Saved."),
    "closed": N_("The campaign is closed."),
    "reopened": N_(
        "The campaign is open again: its totals move with pledges, and the outcome says it was reopened."
    ),
    "deleted": N_("The campaign is deleted everywhere it went."),
    "reported": N_("The outcome is published."),
    "password": N_("Your password is changed."),
    "reset-sent": N_(
        "If an account here has that name or address, a link to choose a new password is on its way."
    ),
    "following": N_("Follow request sent; the group's campaigns arrive once it accepts."),
    "left": N_("You left the coalition."),
    "partner-accepted": N_("Accepted as a partner group: its aggregate pledges count (within its bounds)."),
    "partner-rejected": N_("Not a partner group: its aggregate pledges are not counted."),
    "held-approved": N_("Approved: that aggregate pledge counts now."),
    "held-rejected": N_("Rejected: that aggregate pledge is not counted."),
    "blocked": N_("Blocked."),
    "unblocked": N_("Unblocked."),
    "report-sent": N_("The report is on its way to that server, sent in the group's name (not yours)."),
    "invited": N_("Invitation created."),
    "revoked": N_("Invitation revoked: its link no longer works."),
    "removed": N_("Removed, with everything we held about them."),
    "welcome": N_("Welcome! You are signed in."),
    "blueprint": N_("The blueprint is published: other groups can adopt it."),
    "adopted": N_("A draft campaign is made from the blueprint: edit it, then publish it."),
    "published": N_("The campaign is published."),
    "money-received": N_("The money received is recorded."),
    "gathering-created": N_("The gathering is created; followers on the fediverse see it as an event."),
    "gathering-saved": N_("Saved; followers and everyone coming hear of the change."),
    "gathering-cancelled": N_("The gathering is cancelled; followers and everyone coming hear of it."),
    "rsvp-going": N_("You are going: see you there!"),
    "rsvp-waiting": N_("It is full: you are on the waiting list, and get the next free place."),
    "rsvp-not-going": N_("You are not going; your place (if you had one) went to the waiting list."),
    "expense-recorded": N_("The expense is recorded; it counts once another organizer approves it."),
    "expense-approved": N_("Approved: the expense counts now."),
    "expense-rejected": N_("Rejected: the expense does not count."),
    "proposed": N_("The proposal is open: members can take their positions."),
    "position": N_("Your position is recorded. You can change it until the proposal closes."),
    "extended": N_("The proposal closes later now."),
    "proposal-closed": N_("The proposal is closed; its count is kept."),
    "outcome-written": N_("The outcome is written and kept with the count."),
    "outcome-published": N_("The outcome is on its way to followers (counts only, no names)."),
    "entry-voided": N_(
        "The entry is voided: it stays in the record with your reason, and counts toward nothing."
    ),
    "money-corrected": N_("Corrected: the old entry stays in the record, voided with your reason."),
    "expense-corrected": N_(
        "Corrected: the old expense stays in the record, voided with your reason; the corrected one counts once another organizer approves it."
    ),
    "two-factor-required": N_(
        "Organizers and admins here sign in with a second factor: set one up to go on."
    ),
    "feed-stopped": N_("Your private feed link is stopped: it no longer works."),
    "two-factor-reset": N_(
        "Their second factor is removed: they sign in with their password and set up a new one."
    ),
    "first-steps-hidden": N_("The first steps are hidden. Members and Group settings stay in the menu."),
}


def see_other(location: str, done: str | None = None) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(f"{location}?done={done}" if done else location)


def require_member(request: web.Request) -> store.members.Member:
    member = request[MEMBER]
    if member is None:
        raise web.HTTPSeeOther(f"/login?next={quote(request.path_qs, safe='/')}")
    return member


def _enrolled_first(request: web.Request) -> None:
    """Organizers' and admins' pages wait until a required second factor is enrolled."""
    if request[MUST_ENROL]:
        raise web.HTTPSeeOther("/account/two-factor?done=two-factor-required")


def require_organizer(request: web.Request) -> store.members.Member:
    member = require_member(request)
    _enrolled_first(request)
    if not member.is_organizer:
        raise web.HTTPForbidden(text="Only organizers can do this.\n")
    return member


def require_admin(request: web.Request) -> store.members.Member:
    member = require_member(request)
    _enrolled_first(request)
    if not member.is_admin:
        raise web.HTTPForbidden(text="Only admins can do this.\n")
    return member


# Fields never shown back on the expired-form page: secrets, and the form's own token.
SECRET_FIELDS = ("csrf", "password", "passphrase", "code", "token", "secret", "recovery")


def typed_text(data: MultiDictProxy[Any]) -> list[tuple[str, str]]:
    """What a person typed into a form, to hand back when it cannot be taken: non-empty text fields, no
    secrets, no files."""
    return [
        (name, value[:20_000])
        for name, value in data.items()
        if isinstance(value, str) and value.strip() and not any(s in name.lower() for s in SECRET_FIELDS)
    ]


async def form(request: web.Request) -> MultiDictProxy[Any]:
    data = await request.post()
    csrf = data.get("csrf")
    check_csrf(request, csrf if isinstance(csrf, str) else None, typed_text(data))
    return data


def text_field(data: MultiDictProxy[Any], name: str, limit: int = 20_000) -> str:
    value = data.get(name, "")
    if not isinstance(value, str):
        return ""
    return value[:limit]


class PledgeFields(TypedDict):
    option: str | None
    kind: str | None
    amount: str | None
    note: str


def pledge_fields(data: MultiDictProxy[Any]) -> PledgeFields:
    """The pledge form: one of the options by label, or ("own") a kind and an amount; and a note."""
    choice = text_field(data, "option", 200)
    return {
        "option": choice if choice and choice != "own" else None,
        "kind": text_field(data, "kind", 20) or None,
        "amount": text_field(data, "amount", 40) or None,
        "note": text_field(data, "note", 2000),
    }


_ROW_ID = re.compile(ids.ROW_ID)


def row_id(text: str) -> int | None:
    """A row's id as a form or a query names it, or None: the same rule as a route's `{..._id}`
    (protocol.ids.ROW_ID)."""
    return int(text) if _ROW_ID.fullmatch(text) else None


def pledge_id(data: MultiDictProxy[Any]) -> int:
    found = row_id(text_field(data, "pledge", 20))
    if found is None:
        raise actions.ActionError(N_("there is no such pledge"), "pledge")
    return found


def int_in_path(request: web.Request, name: str) -> int:
    """A row's id in the path, by the same rule as in forms (the routes' patterns already hold to it)."""
    found = row_id(request.match_info[name])
    if found is None:
        raise web.HTTPNotFound(text="not found\n")
    return found


def field_errors(error: Exception, default_field: str) -> dict[str, str]:
    return {getattr(error, "field", None) or default_field: languages.message_of(error)}


# -- view models ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GoalView:
    text: str
    percent: int
    reached: bool


@dataclass(frozen=True)
class OptionView:
    label: str
    worth: str
    count: int
    count_text: str = ""  # as the public sees it: "fewer than 3" where small (disclosure.py)


@dataclass(frozen=True)
class CampaignView:
    id: int
    title: str
    body: str
    visibility: str
    open: bool
    deadline: datetime | None
    goals: tuple[GoalView, ...]
    options: tuple[OptionView, ...]
    pledgers: int
    partner_groups: int
    outcome: str | None
    units: dict[str, str | None]
    pledgers_text: str = ""
    reopened_at: datetime | None = None
    text_language: str | None = None  # the language `title` and `body` are written in, when known
    # "3 people pledged", "fewer than 3 people pledged": the head count in the page's language.
    pledged_line: str = ""

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(self.units)


def _goal_views(
    lines: Sequence[tallies.GoalProgress], lang: Language, unit_language: str | None = None
) -> tuple[GoalView, ...]:
    """`unit_language`: the language the group's units are typed in (the campaign's), when known."""
    return tuple(
        GoalView(
            formats.progress(
                line.goal.kind, line.pledged, line.goal.target, line.goal.unit, lang, unit_language
            ),
            line.percent,
            line.reached,
        )
        for line in lines
    )


def _option_views(
    options: Sequence[campaigns.PledgeOption],
    units: dict[str, str | None],
    counts: dict[str, int],
    lang: Language,
    withheld: frozenset[str] = frozenset(),
    minimum: int = 1,
    unit_language: str | None = None,
) -> tuple[OptionView, ...]:
    return tuple(
        OptionView(
            o.label,
            formats.quantity(o.kind, o.amount, units.get(o.kind), lang, unit_language),
            counts.get(o.label, 0),
            formats.count(counts.get(o.label, 0), o.label in withheld, minimum, lang),
        )
        for o in options
    )


def campaign_view(state: CampaignState, now: datetime, minimum: int, lang: Language) -> CampaignView:
    """The campaign as shown to people in `lang`; head counts as the public may see them with the group's
    `minimum` (organizers' own pages pass 1: they see every figure)."""
    units = campaigns.units_of(state.goals)
    public = disclosure.public_counts(state.tally, minimum)
    # A campaign written in two languages shows the reader the one that is theirs.
    second = campaigns.parse_second_language(state.row.second_language)
    in_second = second is not None and second.language == lang.code
    return CampaignView(
        id=state.id,
        title=second.title if second is not None and in_second else state.row.title,
        body=second.body if second is not None and in_second else state.row.body,
        text_language=second.language if second is not None and in_second else state.row.language,
        visibility=state.row.visibility,
        open=state.is_open(now),
        deadline=state.row.deadline,
        goals=_goal_views(state.tally.progress, lang, state.row.language),
        options=_option_views(
            state.options,
            units,
            dict(public.options),
            lang,
            public.withheld_options,
            minimum,
            state.row.language,
        ),
        pledgers=public.pledgers,
        partner_groups=state.tally.partner_groups,
        outcome=state.row.outcome,
        units=units,
        pledgers_text=formats.count(public.pledgers, public.pledgers_withheld, minimum, lang),
        pledged_line=formats.pledged(public.pledgers, public.pledgers_withheld, minimum, lang),
        reopened_at=state.row.reopened_at,
    )


@dataclass(frozen=True)
class PartnerView:
    id: int
    group: str
    title: str
    content: str
    url: str
    open: bool
    deadline: datetime | None
    goals: tuple[GoalView, ...]
    options: tuple[OptionView, ...]
    units: dict[str, str | None]
    content_lang: str | None = None  # the language of `content`, when the partner named it (contentMap)

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(self.units)


def partner_view(partner: store.campaigns.PartnerCampaign, now: datetime, lang: Language) -> PartnerView:
    goals, options = actions.partner_goals(partner)
    pledged = {g["kind"]: Decimal(g.get("pledged", "0")) for g in orjson.loads(partner.goals)}
    counts = {o["name"]: int(o.get("count", 0)) for o in orjson.loads(partner.options)}
    units = campaigns.units_of(goals)
    lines = [tallies.GoalProgress(g, pledged.get(g.kind, Decimal(0))) for g in goals]
    # The text in the reader's language when the partner sent it (`contentMap`), else its `content`.
    mapped: dict[str, str] = orjson.loads(partner.content_map) if partner.content_map else {}
    tag = languages.best_match(mapped, lang.code)
    # Not sent in the reader's language: `content` is shown, named by the entry it equals, if one does.
    content_lang = tag or next((code for code, text in mapped.items() if text == partner.content), None)
    return PartnerView(
        id=partner.id,
        group=partner.group_actor,
        title=partner.title,
        content=mapped[tag] if tag is not None else partner.content,
        url=partner.url or partner.object_id,
        open=campaigns.is_open("closed" if partner.closed else "open", partner.deadline, now),
        deadline=partner.deadline,
        goals=_goal_views(lines, lang, content_lang),
        options=_option_views(options, units, counts, lang, unit_language=content_lang),
        units=units,
        content_lang=content_lang,
    )


async def campaign_views(
    runtime: Runtime, visibilities: tuple[str, ...], lang: Language, version: int | None = None
) -> list[CampaignView]:
    """Every one of our campaigns of these visibilities, newest first (for lookups by id; a listing shows a
    page at a time: listed_campaigns). Kept until a campaign changes. The caller decides who may see which
    visibilities."""
    db, kept = runtime.db, renderings.of(runtime)
    if version is None:
        version = await kept.version(db)
    now = runtime.now()

    async def make() -> Made:
        states = await db.read(
            lambda conn: actions.load_campaigns(conn, store.campaigns.listing(conn, visibilities))
        )
        minimum = runtime.config.min_disclosed_count
        views = tuple(campaign_view(state, now, minimum, lang) for state in states)
        return Made(views, renderings.expiry(now, (v.deadline for v in views)))

    views: tuple[CampaignView, ...] = await kept.views.get_or_make(
        ("all", visibilities, lang.code), version, now, make
    )
    return list(views)


async def listed_campaigns(
    request: web.Request, visibilities: tuple[str, ...], version: int | None = None
) -> tuple[list[CampaignView], paging.Page]:
    """The page of our campaigns of these visibilities that the request asks for (`?page=`), newest first:
    a page costs the same however many campaigns there are. Kept until a campaign changes."""
    runtime = runtime_of(request)
    db, kept = runtime.db, renderings.of(runtime)
    if version is None:
        version = await kept.version(db)
    number = page_number(request)
    lang = language_of(request)
    now = runtime.now()

    async def make() -> Made:
        def read(conn: sqlite3.Connection) -> tuple[list[CampaignState], int]:
            total = store.campaigns.count_listed(conn, visibilities)
            page = paging.Page(number, paging.PAGE_SIZE, total)
            rows = store.campaigns.listing(conn, visibilities, page.size, page.offset)
            return actions.load_campaigns(conn, rows), total

        states, total = await db.read(read)
        minimum = runtime.config.min_disclosed_count
        views = tuple(campaign_view(state, now, minimum, lang) for state in states)
        return Made((views, total), renderings.expiry(now, (v.deadline for v in views)))

    views, total = await kept.views.get_or_make(("page", visibilities, number, lang.code), version, now, make)
    return list(views), checked_page(number, total)


def page_number(request: web.Request, param: str = "page") -> int:
    """The page a request asks for (`?page=`, 1 if none); anything else is not found."""
    try:
        return paging.requested_number(request.query.get(param))
    except paging.NoSuchPage as e:
        raise web.HTTPNotFound(text="no such page\n") from e


def checked_page(number: int, total: int, size: int = paging.PAGE_SIZE) -> paging.Page:
    """Page `number` of `total` items; past the last page is not found."""
    try:
        return paging.page_of(number, total, size)
    except paging.NoSuchPage as e:
        raise web.HTTPNotFound(text="no such page\n") from e


def requested_page(request: web.Request, total: int, size: int = paging.PAGE_SIZE) -> paging.Page:
    """The page of a list of `total` items that the request asks for."""
    return checked_page(page_number(request), total, size)


def pledge_text(pledge: store.pledges.MemberPledge, units: dict[str, str | None], lang: Language) -> str:
    worth = formats.quantity(pledge.kind, pledge.amount, units.get(pledge.kind), lang)
    return f"{pledge.option_label} ({worth})" if pledge.option_label else worth


def current_choice(mine: Sequence[store.pledges.MemberPledge]) -> dict[str, str]:
    """The pledge form as the member last left it (their latest pledge here): the option they chose, or their
    own kind and amount, and their note, so that the form shows what is recorded and a change keeps the note."""
    if not mine:
        return {}
    latest = max(mine, key=lambda p: p.id)
    if latest.option_label:
        return {"option": latest.option_label, "note": latest.note}
    amount = campaigns.amount_text(latest.amount)
    return {"option": "own", "kind": latest.kind, "amount": amount, "note": latest.note}
