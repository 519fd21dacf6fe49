"""Organizers' pages: the organizers' index, campaigns (create, edit, close, delete, outcome), pledgers with
fulfilment and CSV export, replies. Coalitions and followers are ui.coalitions, blocks and reports
ui.moderation. Every change goes through `actions`, as from the CLI."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from aiohttp import web

from fedgroup import actions, store
from fedgroup.rules import (
    aggregates,
    campaign_state,
    campaigns,
    formats,
    languages,
    sanitize,
    spreadsheet,
    timezones,
)
from fedgroup.rules.languages import N_, Language, message_of
from fedgroup.runtime import Runtime
from fedgroup.ui.common import (
    VISIBILITY_TEXT,
    campaign_view,
    checked_page,
    field_errors,
    form,
    int_in_path,
    listed_campaigns,
    page_number,
    pledge_text,
    render,
    requested_page,
    require_organizer,
    runtime_of,
    see_other,
    text_field,
)
from fedgroup.ui.languages import language_of

OPTION_ROWS = campaigns.MAX_OPTIONS_FEDERATED
GOAL_FIELDS = (  # kind, label, has a unit field, unit label
    ("money", N_("Money"), True, N_("Currency (ISO code, e.g. EUR)")),
    ("hours", N_("Hours of work"), False, ""),
    ("items", N_("Items"), True, N_("What (e.g. meals, coats)")),
    ("people", N_("People"), False, ""),
)


def form_deadline(text: str, zone_name: str) -> datetime | None:
    """A datetime-local field has no offset: it is the group's local time (the form names the zone)."""
    text = text.strip()
    if not text:
        return None
    if timezones.is_local_input(text):
        return timezones.from_local(text, zone_name)
    return campaigns.parse_deadline(text)


@dataclass(frozen=True)
class HeldView:
    id: int
    campaign_id: int
    campaign_title: str
    group_actor: str
    pledgers: int
    amounts: str
    reason: str


HELD_REASONS = {
    "not-a-partner": N_("waits until the group is accepted as a partner"),
    "more-pledgers-than-members": N_("more pledgers than the group says it has members"),
    "more-than-the-goal": N_("more than the whole goal"),
}


async def held_views(runtime: Runtime, lang: Language) -> list[HeldView]:
    """Partner aggregates waiting for an organizer, with the amounts as people read them."""
    views = []
    db = runtime.db
    for held in await actions.held_aggregates(runtime):
        state = await db.read(actions.load_campaign, held.campaign_id)
        if state is None:
            continue
        units = campaigns.units_of(state.goals)
        aggregate = campaign_state.group_aggregate(held.pledgers, held.contributions)
        amounts = formats.joined(
            [
                formats.quantity(kind, total, units.get(kind), lang)
                for kind, total in aggregates.aggregate_amounts(aggregate).items()
            ]
        )
        views.append(
            HeldView(
                held.id, held.campaign_id, state.row.title, held.group_actor, held.pledgers, amounts,
                lang.gettext(HELD_REASONS[held.reason]) if held.reason in HELD_REASONS else held.reason,
            )
        )  # fmt: skip
    return views


async def index(
    request: web.Request, errors: dict[str, str] | None = None, values: dict[str, str] | None = None
) -> web.Response:
    require_organizer(request)
    runtime = runtime_of(request)
    db = runtime.db
    views, page = await listed_campaigns(request, campaigns.VISIBILITIES)
    partners = await actions.partner_groups(runtime)
    partners_page = checked_page(page_number(request, "partners_page"), len(partners))
    return render(
        request,
        "organize/index.html",
        {
            "campaigns": views,
            "page": page,
            "partners_page": partners_page,
            "followers": await db.read(store.follows.count_followers),
            "following": await db.read(store.follows.list_following),
            "pending": await db.read(store.follows.pending_followers),
            "partners": partners[partners_page.offset : partners_page.offset + partners_page.size],
            "held": await held_views(runtime, language_of(request)),
            "errors": errors or {},
            "values": values or {},
        },
        status=422 if errors else 200,
    )


# -- creating and editing ----------------------------------------------------------------------------------


def _campaign_form_context(values: dict[str, str], errors: dict[str, str]) -> dict[str, object]:
    return {
        "values": values,
        "errors": errors,
        "goal_fields": GOAL_FIELDS,
        "option_rows": range(OPTION_ROWS),
        "kinds": campaigns.GOAL_KINDS,
        "visibilities": [(v, VISIBILITY_TEXT[v]) for v in campaigns.VISIBILITIES],
    }


async def new_campaign_page(request: web.Request) -> web.Response:
    require_organizer(request)
    return render(
        request, "organize/campaign_form.html", _campaign_form_context({"visibility": "public"}, {})
    )


def _goals_and_options(values: dict[str, str]) -> tuple[list[campaigns.Goal], list[campaigns.PledgeOption]]:
    goals = []
    for kind, _, has_unit, _ in GOAL_FIELDS:
        target = values.get(f"goal_{kind}", "").strip()
        if target:
            unit = values.get(f"unit_{kind}", "").strip() or None
            goals.append(
                campaigns.make_goal(
                    kind,
                    campaigns.parse_amount(kind, target, f"goal_{kind}", decimal_comma=True),
                    unit if has_unit else None,
                )
            )
    options = []
    for i in range(OPTION_ROWS):
        label = values.get(f"option_label_{i}", "").strip()
        if label:
            kind = values.get(f"option_kind_{i}", "")
            amount = values.get(f"option_amount_{i}", "")
            if goals and kind in campaigns.GOAL_KINDS and kind not in {goal.kind for goal in goals}:
                # Said at the row's kind, where it is fixed (the campaign's own check names no row).
                raise campaigns.CampaignError(
                    N_("no goal of this kind for this option: set one above, or choose another kind"),
                    f"option_kind_{i}",
                )
            if kind in campaigns.GOAL_KINDS:  # a wrong amount is the amount's field's error, not the label's
                campaigns.parse_amount(kind, amount, f"option_amount_{i}", decimal_comma=True)
            try:
                options.append(campaigns.parse_option(f"{label}={kind}:{amount}"))
            except campaigns.CampaignError as e:
                raise campaigns.CampaignError(message_of(e), f"option_{i}") from e
    return goals, options


def _second_language(values: dict[str, str], first_language: str) -> campaigns.SecondLanguage | None:
    """The campaign form's optional title and text in a second language (CampaignError names the field)."""
    return campaigns.validate_second_language(
        values.get("second_language", ""),
        values.get("second_title", ""),
        values.get("second_body", ""),
        first_language,
        languages.LANGUAGES,
    )


async def create_campaign(request: web.Request) -> web.Response:
    require_organizer(request)
    data = await form(request)
    values = {k: v for k, v in data.items() if isinstance(v, str) and k != "csrf"}
    try:
        goals, options = _goals_and_options(values)
        deadline = form_deadline(values.get("deadline", ""), runtime_of(request).site.timezone)
        second = _second_language(values, actions.group_language(runtime_of(request)))
        campaign_id = await actions.create_campaign(
            runtime_of(request),
            values.get("title", ""),
            values.get("body", ""),
            goals=goals,
            options=options,
            deadline=deadline,
            visibility=values.get("visibility", "public"),
            multiple_choice=values.get("multiple") == "yes",
            second=second,
        )
    except actions.USER_ERRORS as e:
        errors = field_errors(e, "title")
        if "goals" in errors:
            errors["goal_money"] = errors.pop("goals")
        return render(
            request, "organize/campaign_form.html", _campaign_form_context(values, errors), status=422
        )
    raise see_other(f"/organize/campaigns/{campaign_id}", "created")


async def _state(request: web.Request) -> campaign_state.CampaignState:
    runtime = runtime_of(request)
    state = await runtime.db.read(actions.load_campaign, int_in_path(request, "campaign_id"))
    if state is None or state.row.deleted_at is not None:
        raise web.HTTPNotFound(text="no such campaign\n")
    return state


async def campaign_page(
    request: web.Request,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    require_organizer(request)
    runtime = runtime_of(request)
    state = await _state(request)
    db = runtime.db
    units = campaigns.units_of(state.goals)
    pledges = [
        (p, pledge_text(p, units, language_of(request)))
        for p in await db.read(store.pledges.pledges_for_campaign, state.id)
    ]
    replies_page = requested_page(request, await db.read(store.campaigns.count_comments, state.id))
    comments = [
        (c, sanitize.html_to_text(c.content))
        for c in await db.read(store.campaigns.comments, state.id, replies_page.size, replies_page.offset)
    ]
    row = state.row
    second = campaigns.parse_second_language(row.second_language)
    defaults = {
        "title": row.title,
        "body": row.body,
        "second_language": second.language if second else "",
        "second_title": second.title if second else "",
        "second_body": second.body if second else "",
        "deadline": timezones.to_local_input(row.deadline, runtime_of(request).site.timezone)
        if row.deadline
        else "",
        **{f"target_{g.kind}": campaigns.amount_text(g.target) for g in state.goals},
    }
    return render(
        request,
        "organize/campaign.html",
        {
            "campaign": campaign_view(state, runtime.now(), 1, language_of(request)),
            "goals": state.goals,
            "pledges": pledges,
            "comments": comments,
            "replies_page": replies_page,
            "reactions": await db.read(store.pledges.reaction_counts, state.id),
            "group_pledges": await db.read(store.pledges.group_pledges_for, state.id),
            "contributors": await db.read(actions.contributors, state),
            "contributor_text": lambda line: formats.contributor(line, state.goals, language_of(request)),
            "visibility_text": VISIBILITY_TEXT[row.visibility],
            "values": values or defaults,
            "errors": errors or {},
            "url": runtime.ids.campaign(state.id),
        },
        status=status,
    )


async def edit_campaign(request: web.Request) -> web.Response:
    require_organizer(request)
    data = await form(request)
    state = await _state(request)
    values = {k: v for k, v in data.items() if isinstance(v, str) and k != "csrf"}
    try:
        targets = {
            g.kind: campaigns.parse_amount(
                g.kind, values.get(f"target_{g.kind}", ""), f"target_{g.kind}", decimal_comma=True
            )
            for g in state.goals
        }
        deadline = form_deadline(values.get("deadline", ""), runtime_of(request).site.timezone)
        second = _second_language(values, state.row.language or actions.group_language(runtime_of(request)))
        await actions.edit_campaign(
            runtime_of(request),
            state.id,
            values.get("title", ""),
            values.get("body", ""),
            deadline,
            targets,
        )
        await actions.set_second_language(runtime_of(request), state.id, second)
    except actions.USER_ERRORS as e:
        return await campaign_page(request, field_errors(e, "title"), values, status=422)
    raise see_other(f"/organize/campaigns/{state.id}", "saved")


async def close_campaign(request: web.Request) -> web.Response:
    require_organizer(request)
    await form(request)
    state = await _state(request)
    await actions.close_campaign(runtime_of(request), state.id)
    raise see_other(f"/organize/campaigns/{state.id}", "closed")


async def reopen_campaign(request: web.Request) -> web.Response:
    """Open a closed campaign again, with the deadline the organizer gives (empty: none)."""
    require_organizer(request)
    data = await form(request)
    state = await _state(request)
    try:
        deadline = form_deadline(text_field(data, "deadline", 40), runtime_of(request).site.timezone)
        await actions.reopen_campaign(runtime_of(request), state.id, deadline)
    except actions.USER_ERRORS as e:
        return await campaign_page(request, field_errors(e, "reopen"), status=422)
    raise see_other(f"/organize/campaigns/{state.id}", "reopened")


async def delete_campaign(request: web.Request) -> web.Response:
    require_organizer(request)
    data = await form(request)
    state = await _state(request)
    if text_field(data, "confirm", 10) != "yes":
        return await campaign_page(request, {"delete": N_("Tick the box to confirm.")}, status=422)
    await actions.delete_campaign(runtime_of(request), state.id)
    raise see_other("/organize", "deleted")


async def report_outcome(request: web.Request) -> web.Response:
    require_organizer(request)
    data = await form(request)
    state = await _state(request)
    try:
        await actions.report_outcome(runtime_of(request), state.id, text_field(data, "outcome"))
    except actions.USER_ERRORS as e:
        return await campaign_page(request, field_errors(e, "outcome"), status=422)
    raise see_other(f"/organize/campaigns/{state.id}", "reported")


async def set_fulfilled(request: web.Request) -> web.Response:
    require_organizer(request)
    data = await form(request)
    state = await _state(request)
    runtime = runtime_of(request)
    ticked = {v for v in data.getall("fulfilled", []) if isinstance(v, str)}
    for pledge in await runtime.db.read(store.pledges.pledges_for_campaign, state.id):
        wanted = str(pledge.id) in ticked
        if wanted != pledge.fulfilled:
            await actions.set_fulfilled(runtime, pledge.id, wanted)
    raise see_other(f"/organize/campaigns/{state.id}", "saved")


async def export_pledgers(request: web.Request) -> web.Response:
    require_organizer(request)
    runtime = runtime_of(request)
    state = await _state(request)
    members = {m.id: m for m in await runtime.db.read(store.members.listing)}
    units = campaigns.units_of(state.goals)
    rows = []
    for p in await runtime.db.read(store.pledges.pledges_for_campaign, state.id):
        member = members.get(p.member_id)
        rows.append(
            (
                p.member_name, member.email if member else "", p.kind, campaigns.amount_text(p.amount),
                units.get(p.kind) or "", p.option_label or "", p.note, "yes" if p.fulfilled else "no",
                p.created_at.isoformat(),
            )
        )  # fmt: skip
    header = ["name", "email", "kind", "amount", "unit", "option", "note", "fulfilled", "pledged_at"]
    return csv_response(spreadsheet.csv_bytes(header, rows), f"campaign-{state.id}-pledgers.csv")


def csv_response(body: bytes, filename: str) -> web.Response:
    return web.Response(
        body=body,
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )
