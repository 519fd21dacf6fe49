"""Blueprint pages: the public case study (with who adopted it and the combined results), and organizers'
pages to write one, adopt one (preview first), edit the draft it becomes and publish it."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from aiohttp import web

from fedgroup import actions, store
from fedgroup.actions import blueprints as blueprint_actions
from fedgroup.rules import campaign_state, campaigns, formats, timezones
from fedgroup.rules.campaigns import PledgeOption
from fedgroup.ui.common import (
    VISIBILITY_TEXT,
    Routes,
    field_errors,
    form,
    int_in_path,
    render,
    require_organizer,
    runtime_of,
    see_other,
    text_field,
)
from fedgroup.ui.languages import language_of
from fedgroup.ui.organize import form_deadline
from fedgroup.ui.sessions import MEMBER


def _quantity_in(request: web.Request) -> Callable[[str, Decimal, str | None], str]:
    """Amounts as the page's language writes them (`quantity(kind, amount, unit)` in the templates)."""
    lang = language_of(request)

    def quantity(kind: str, amount: Decimal, unit: str | None) -> str:
        return formats.quantity(kind, amount, unit, lang)

    return quantity


# -- the public page ----------------------------------------------------------------------------------------


async def blueprint_page(request: web.Request) -> web.Response:
    runtime = runtime_of(request)
    page = await blueprint_actions.blueprint_page(runtime, int_in_path(request, "blueprint_id"))
    member = request[MEMBER]
    if page is None or (page.row.visibility != "public" and member is None):
        raise web.HTTPNotFound(text="no such blueprint\n")
    organizer = member is not None and member.is_organizer
    shown = [a for a in page.adoptions if organizer or not a.hidden]
    return render(
        request,
        "blueprint.html",
        {
            "page": page,
            "facts": page.facts,
            "adoptions": shown,
            "organizer": organizer,
            "quantity": _quantity_in(request),
        },
    )


# -- writing one ---------------------------------------------------------------------------------------------


async def new_blueprint_page(
    request: web.Request, errors: dict[str, str] | None = None, values: dict[str, str] | None = None
) -> web.Response:
    require_organizer(request)
    runtime = runtime_of(request)
    campaign_id = int_in_path(request, "campaign_id")
    state = await runtime.db.read(actions.load_campaign, campaign_id)
    if state is None or state.row.deleted_at is not None or state.row.draft:
        raise web.HTTPNotFound(text="no such campaign\n")
    return render(
        request,
        "organize/blueprint_form.html",
        {"campaign": state.row, "errors": errors or {}, "values": values or {"title": state.row.title}},
        status=422 if errors else 200,
    )


async def publish_blueprint(request: web.Request) -> web.Response:
    require_organizer(request)
    data = await form(request)
    campaign_id = int_in_path(request, "campaign_id")
    values = {
        k: text_field(data, k, 6000) for k in ("title", "summary", "what_worked", "steps", "do_differently")
    }
    values["visibility"] = text_field(data, "visibility", 20) or "public"
    try:
        number = await blueprint_actions.publish_blueprint(runtime_of(request), campaign_id, **values)
    except actions.USER_ERRORS as e:
        return await new_blueprint_page(request, field_errors(e, "summary"), values)
    raise see_other(f"/blueprints/{number}", "blueprint")


async def answer_adoption(request: web.Request) -> web.Response:
    require_organizer(request)
    data = await form(request)
    number = int_in_path(request, "blueprint_id")
    try:
        adoption_id = int(text_field(data, "adoption", 20))
    except ValueError as e:
        raise web.HTTPBadRequest(text="no such adoption\n") from e
    try:
        await blueprint_actions.hide_adoption(
            runtime_of(request), adoption_id, text_field(data, "hide", 5) == "yes"
        )
    except actions.USER_ERRORS as e:
        raise web.HTTPBadRequest(text=f"{e}\n") from e
    raise see_other(f"/blueprints/{number}", "saved")


# -- adopting ----------------------------------------------------------------------------------------------


async def index(
    request: web.Request, errors: dict[str, str] | None = None, values: dict[str, str] | None = None
) -> web.Response:
    require_organizer(request)
    db = runtime_of(request).db
    return render(
        request,
        "organize/blueprints.html",
        {
            "ours": await db.read(store.blueprints.listing),
            "drafts": await db.read(store.campaigns.drafts),
            "partners": await db.read(store.blueprints.partner_blueprints),
            "errors": errors or {},
            "values": values or {},
        },
        status=422 if errors else 200,
    )


async def preview(request: web.Request) -> web.Response:
    require_organizer(request)
    data = await form(request)
    url = text_field(data, "url", 2048).strip()
    try:
        fetched = await blueprint_actions.fetch_blueprint(runtime_of(request), url)
    except actions.USER_ERRORS as e:
        return await index(request, field_errors(e, "url"), {"url": url})
    template = fetched.blueprint.template
    units = campaigns.units_of(template.goals)
    quantity = _quantity_in(request)
    return render(
        request,
        "organize/blueprint_preview.html",
        {
            "url": url,
            "blueprint": fetched.blueprint,
            "group": fetched.group,
            "goals": [quantity(g.kind, g.target, g.unit) for g in template.goals],
            "options": [(o.label, quantity(o.kind, o.amount, units.get(o.kind))) for o in template.options],
            "quantity": quantity,
        },
    )


async def adopt(request: web.Request) -> web.Response:
    require_organizer(request)
    data = await form(request)
    url = text_field(data, "url", 2048).strip()
    try:
        campaign_id = await blueprint_actions.adopt_blueprint(
            runtime_of(request), url, unlisted=text_field(data, "unlisted", 5) == "yes"
        )
    except actions.USER_ERRORS as e:
        return await index(request, field_errors(e, "url"), {"url": url})
    raise see_other(f"/organize/drafts/{campaign_id}", "adopted")


# -- the draft ---------------------------------------------------------------------------------------------


async def _draft(
    request: web.Request,
) -> tuple[campaign_state.CampaignState, store.blueprints.Adopted | None]:
    runtime = runtime_of(request)
    state = await runtime.db.read(actions.load_campaign, int_in_path(request, "campaign_id"))
    if state is None or state.row.deleted_at is not None or not state.row.draft:
        raise web.HTTPNotFound(text="no such draft\n")
    return state, await runtime.db.read(store.blueprints.adopted, state.id)


async def draft_page(
    request: web.Request, errors: dict[str, str] | None = None, values: dict[str, str] | None = None
) -> web.Response:
    require_organizer(request)
    state, adopted = await _draft(request)
    row = state.row
    defaults: dict[str, str] = {
        "title": row.title,
        "body": row.body,
        "deadline": timezones.to_local_input(row.deadline, runtime_of(request).site.timezone)
        if row.deadline
        else "",
        "visibility": row.visibility,
        "unlisted": "yes" if adopted is not None and adopted.unlisted else "",
    }
    for g in state.goals:
        defaults[f"target_{g.kind}"] = campaigns.amount_text(g.target)
        defaults[f"unit_{g.kind}"] = g.unit or ""
    for i, o in enumerate(state.options):
        defaults[f"option_label_{i}"] = o.label
        defaults[f"option_amount_{i}"] = campaigns.amount_text(o.amount)
    return render(
        request,
        "organize/draft.html",
        {
            "campaign": row,
            "goals": state.goals,
            "options": list(enumerate(state.options)),
            "adopted": adopted,
            "values": values or defaults,
            "errors": errors or {},
            "visibilities": [(v, VISIBILITY_TEXT[v]) for v in campaigns.VISIBILITIES],
        },
        status=422 if errors else 200,
    )


async def save_draft(request: web.Request) -> web.Response:
    require_organizer(request)
    data = await form(request)
    state, _ = await _draft(request)
    values = {k: text_field(data, k, 20_000) for k in data if isinstance(data.get(k), str) and k != "csrf"}
    try:
        goals = [
            campaigns.make_goal(
                g.kind,
                campaigns.parse_amount(g.kind, values.get(f"target_{g.kind}", ""), f"target_{g.kind}"),
                values.get(f"unit_{g.kind}") or None,
            )
            for g in state.goals
        ]
        options = [
            PledgeOption(
                values.get(f"option_label_{i}", ""),
                o.kind,
                campaigns.parse_amount(o.kind, values.get(f"option_amount_{i}", ""), f"option_{i}"),
            )
            for i, o in enumerate(state.options)
        ]
        deadline = form_deadline(values.get("deadline", ""), runtime_of(request).site.timezone)
        await blueprint_actions.edit_draft(
            runtime_of(request),
            state.id,
            title=values.get("title", ""),
            body=values.get("body", ""),
            goals=goals,
            options=options,
            deadline=deadline,
            visibility=values.get("visibility", "public"),
            multiple_choice=state.row.multiple_choice,
            unlisted=values.get("unlisted") == "yes",
        )
    except actions.USER_ERRORS as e:
        return await draft_page(request, field_errors(e, "title"), values)
    raise see_other(f"/organize/drafts/{state.id}", "saved")


async def publish_draft(request: web.Request) -> web.Response:
    require_organizer(request)
    await form(request)
    state, _ = await _draft(request)
    try:
        await blueprint_actions.publish_draft(runtime_of(request), state.id)
    except actions.USER_ERRORS as e:
        return await draft_page(request, {"publish": str(e)})
    raise see_other(f"/campaigns/{state.id}", "published")


def add_routes(routes: Routes) -> None:
    """Organizers' blueprint routes; each POST is a form route (CSRF and origin checked first)."""
    routes.get("/organize/blueprints", index)
    routes.post("/organize/blueprints/preview", preview)
    routes.post("/organize/blueprints/adopt", adopt)
    routes.get("/organize/drafts/{campaign_id}", draft_page)
    routes.post("/organize/drafts/{campaign_id}", save_draft)
    routes.post("/organize/drafts/{campaign_id}/publish", publish_draft)
    routes.get("/organize/campaigns/{campaign_id}/blueprint", new_blueprint_page)
    routes.post("/organize/campaigns/{campaign_id}/blueprint", publish_blueprint)
    routes.post("/organize/blueprints/{blueprint_id}/adoptions", answer_adoption)


__all__ = ["add_routes"]
