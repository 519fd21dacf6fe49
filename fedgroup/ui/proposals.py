"""Proposals in the web UI: members propose and take positions (/proposals, members only); the facilitator's
forms (extend, close early, write the outcome, publish it) post to /organize/proposals/ (organizers only).

An anonymous proposal's change code is given to the member's browser as a cookie (and shown, to note down for
another device); the server never keeps it, only its digest beside the position (actions/proposals.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiohttp import web

from fedgroup import actions
from fedgroup.actions.proposals import ProposalState
from fedgroup.rules import proposals as rules
from fedgroup.rules import timezones
from fedgroup.rules.proposals import Position
from fedgroup.ui.common import (
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
from fedgroup.ui.sessions import read_cookie, set_cookie


def change_code_cookie(proposal_id: int) -> str:
    return f"proposal-{proposal_id}-code"


def cookie_code(request: web.Request, proposal_id: int, member_id: int) -> str | None:
    """The change code this browser keeps for the signed-in member. The cookie names the member it belongs
    to (in the browser only), so that on a shared computer another member signed in later neither sees nor
    changes the first one's position."""
    value = read_cookie(request, change_code_cookie(proposal_id)) or ""
    owner, _, code = value.partition(":")
    return code if code and owner == str(member_id) else None


@dataclass(frozen=True)
class NamedView:
    name: str
    text: str
    reason: str
    is_block: bool


def _form_values(kind: str, options: tuple[str, ...], position: Position | None) -> dict[str, str]:
    """The position form filled with a position (the member's own, or what they just sent)."""
    if position is None:
        return {}
    value = position.choice
    values = {"reason": position.reason}
    if kind in ("consent", "choice"):
        values["position"] = str(value)
    elif kind == "ranked" and isinstance(value, tuple):
        for rank, index in enumerate(value, 1):
            values[f"rank-{index}"] = str(rank)
    elif kind == "score" and isinstance(value, tuple):
        for index, score in enumerate(value):
            values[f"score-{index}"] = str(score)
    return values


async def _state(request: web.Request) -> ProposalState:
    try:
        return await actions.proposals.load_proposal(runtime_of(request), int_in_path(request, "proposal_id"))
    except actions.ActionError as e:
        raise web.HTTPNotFound(text="not found\n") from e


async def list_page(request: web.Request) -> web.Response:
    require_member(request)
    runtime = runtime_of(request)
    rows = await actions.proposals.list_proposals(runtime)
    now = runtime.now()
    return render(
        request,
        "proposals.html",
        {"proposals": [(row, rules.is_open(row.status, row.closes_at, now)) for row in rows]},
    )


async def new_page(
    request: web.Request, errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:  # fmt: skip
    require_member(request)
    runtime = runtime_of(request)
    default_close = timezones.to_local_input(runtime.now() + timedelta(days=7), runtime.site.timezone)
    return render(
        request,
        "proposal_new.html",
        {
            "kinds": rules.KIND_TEXT,
            "values": values or {"kind": "consent", "closes": default_close},
            "errors": errors or {},
            "option_rows": rules.MAX_OPTIONS,
        },
        status=status,
    )


async def create(request: web.Request) -> web.Response:
    me = require_member(request)
    data = await form(request)
    runtime = runtime_of(request)
    values = {name: text_field(data, name, 25_000) for name in ("title", "body", "kind", "closes", "quorum")}
    options = [text_field(data, f"option-{i}", 200) for i in range(rules.MAX_OPTIONS)]
    values.update({f"option-{i}": text for i, text in enumerate(options)})
    anonymous = text_field(data, "anonymous", 10) == "yes"
    values["anonymous"] = "yes" if anonymous else ""
    try:
        closes_at = rules.parse_closing(values["closes"], runtime.site.timezone)
        proposal_id = await actions.proposals.create_proposal(
            runtime, me.id, values["title"], values["body"], values["kind"], options, closes_at,
            rules.parse_quorum(values["quorum"]), anonymous,
        )  # fmt: skip
    except actions.USER_ERRORS as e:
        errors = field_errors(e, "title")
        if "options" in errors:
            errors["option-0"] = errors.pop("options")
        return await new_page(request, errors, values, status=422)
    raise see_other(f"/proposals/{proposal_id}", "proposed")


async def proposal_page(
    request: web.Request, errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:  # fmt: skip
    me = require_member(request)
    runtime = runtime_of(request)
    state = await _state(request)
    row = state.row
    code = cookie_code(request, row.id, me.id) if row.anonymous else None
    took_part, mine = await actions.proposals.my_position(runtime, row.id, me.id, code)
    lang = language_of(request)
    named = [
        NamedView(
            p.member_name, rules.position_text(row.kind, row.options, rules.decode_choice(p.choice), lang), p.reason,
            rules.decode_choice(p.choice) == "block",
        )
        for p in state.named
    ]  # fmt: skip
    return render(
        request,
        "proposal.html",
        {
            "p": state,
            "row": row,
            "kind_text": rules.KIND_TEXT[row.kind],
            "count_lines": rules.count_lines_in(state.tally, lang),
            "consent_positions": {
                word: rules.consent_text_in(word, lang) for word in rules.CONSENT_POSITIONS
            },
            "max_score": rules.MAX_SCORE,
            "named": named,
            "took_part": took_part,
            "mine": rules.position_text(row.kind, row.options, mine.choice, lang) if mine else None,
            "mine_reason": mine.reason if mine else "",
            "change_code": code if mine else None,
            "values": values if values is not None else _form_values(row.kind, row.options, mine),
            "errors": errors or {},
            "extend_value": timezones.to_local_input(
                row.closes_at + timedelta(days=1), runtime.site.timezone
            ),
        },
        status=status,
    )


async def take_position(request: web.Request) -> web.Response:
    me = require_member(request)
    data = await form(request)
    runtime = runtime_of(request)
    state = await _state(request)
    row = state.row
    count = len(row.options)
    values: dict[str, Any] = {
        "position": text_field(data, "position", 40),
        "reason": text_field(data, "reason"),
    }
    ranks = [text_field(data, f"rank-{i}", 10) for i in range(count)]
    scores = [text_field(data, f"score-{i}", 10) for i in range(count)]
    values.update(
        {f"rank-{i}": v for i, v in enumerate(ranks)} | {f"score-{i}": v for i, v in enumerate(scores)}
    )
    typed_code = text_field(data, "change_code", 100).strip()
    code = typed_code or cookie_code(request, row.id, me.id)
    try:
        position = rules.validate_position(
            row.kind, count, values["position"], ranks, scores, values["reason"]
        )
        new_code = await actions.proposals.take_position(runtime, row.id, me.id, position, code)
    except actions.USER_ERRORS as e:
        return await proposal_page(request, field_errors(e, "position"), values, status=422)
    response = see_other(f"/proposals/{row.id}", "position")
    kept = new_code or (typed_code if row.anonymous else None)
    if kept:
        # Kept by the member's browser until a day after the closing time; the server keeps only its digest.
        seconds = int((row.closes_at - runtime.now()).total_seconds()) + 86400
        set_cookie(request, response, change_code_cookie(row.id), f"{me.id}:{kept}", max_age=max(seconds, 60))
    raise response


# -- the facilitator's forms --------------------------------------------------------------------------------


async def _facilitate(request: web.Request, done: str, act: Any) -> web.Response:
    me = require_organizer(request)
    data = await form(request)
    state = await _state(request)
    try:
        await act(runtime_of(request), state, me.id, data)
    except actions.USER_ERRORS as e:
        errors = field_errors(e, "facilitate")
        return await proposal_page(request, errors, status=422)
    raise see_other(f"/proposals/{state.id}", done)


async def extend(request: web.Request) -> web.Response:
    async def act(runtime: Any, state: ProposalState, by: int, data: Any) -> None:
        closes_at = rules.parse_closing(text_field(data, "closes", 40), runtime.site.timezone)
        await actions.proposals.extend_proposal(runtime, state.id, by, closes_at)

    return await _facilitate(request, "extended", act)


async def close(request: web.Request) -> web.Response:
    async def act(runtime: Any, state: ProposalState, by: int, data: Any) -> None:
        await actions.proposals.close_proposal(runtime, state.id, by)

    return await _facilitate(request, "proposal-closed", act)


async def write_outcome(request: web.Request) -> web.Response:
    async def act(runtime: Any, state: ProposalState, by: int, data: Any) -> None:
        await actions.proposals.write_outcome(runtime, state.id, by, text_field(data, "outcome"))

    return await _facilitate(request, "outcome-written", act)


async def publish(request: web.Request) -> web.Response:
    async def act(runtime: Any, state: ProposalState, by: int, data: Any) -> None:
        await actions.proposals.publish_outcome(runtime, state.id, by, text_field(data, "visibility", 20))

    return await _facilitate(request, "outcome-published", act)


def add_routes(routes: Routes) -> None:
    routes.get("/proposals", list_page)
    routes.get("/proposals/new", new_page)
    routes.post("/proposals/new", create)
    routes.get("/proposals/{proposal_id}", proposal_page)
    routes.post("/proposals/{proposal_id}/position", take_position)
    routes.post("/organize/proposals/{proposal_id}/extend", extend)
    routes.post("/organize/proposals/{proposal_id}/close", close)
    routes.post("/organize/proposals/{proposal_id}/outcome", write_outcome)
    routes.post("/organize/proposals/{proposal_id}/publish", publish)
