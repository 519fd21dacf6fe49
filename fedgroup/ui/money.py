"""A campaign's money record: the organizers' page (money received, expenses, approvals, CSV export) and what
the public campaign page shows of it (raised · spent · left, approved spending, named sponsors — no donor)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from fedgroup import actions
from fedgroup.rules import campaign_state, money
from fedgroup.runtime import Runtime
from fedgroup.ui.common import (
    field_errors,
    form,
    int_in_path,
    render,
    require_organizer,
    runtime_of,
    see_other,
    text_field,
)
from fedgroup.ui.organize import csv_response


@dataclass(frozen=True)
class SpendingView:
    day: date
    what: str
    amount: str
    receipt: str


@dataclass(frozen=True)
class PublicMoney:
    """What anyone who may see the campaign sees of its money record. Never who gave, never a source."""

    line: str
    spending: tuple[SpendingView, ...]
    sponsors: tuple[str, ...]


async def public_money(runtime: Runtime, state: campaign_state.CampaignState) -> PublicMoney | None:
    """None for a campaign that keeps no money record (no money goal, or nothing recorded yet)."""
    if not any(goal.kind == "money" for goal in state.goals):
        return None
    found = await runtime.db.read(actions.money_record_of, state)
    if not found.received and not found.expenses:
        return None
    spending = tuple(
        SpendingView(e.day, e.what, money.money_text(e.amount, found.currency), e.receipt)
        for e in found.approved
    )
    return PublicMoney(found.line, spending, tuple(found.sponsors))


async def _record(request: web.Request) -> actions.MoneyRecord:
    try:
        return await actions.money_record(runtime_of(request), int_in_path(request, "campaign_id"))
    except money.MoneyError as e:
        raise web.HTTPNotFound(text=f"{e}\n") from e


async def money_page(
    request: web.Request,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    me = require_organizer(request)
    runtime = runtime_of(request)
    found = await _record(request)
    return render(
        request,
        "organize/money.html",
        {
            "campaign": found.state.row,
            "record": found,
            "me_id": me.id,
            "money_text": lambda amount: money.money_text(amount, found.currency),
            "today": runtime.now().date().isoformat(),
            "errors": errors or {},
            "values": values or {},
        },
        status=status,
    )


def _values(data: MultiDictProxy[Any], names: tuple[str, ...]) -> dict[str, str]:
    return {name: text_field(data, name, 2000) for name in names}


async def add_received(request: web.Request) -> web.Response:
    me = require_organizer(request)
    data = await form(request)
    found = await _record(request)
    values = _values(data, ("source", "amount", "day", "sponsor_name", "member"))
    values["named"] = "yes" if text_field(data, "named", 10) == "yes" else ""
    try:
        await actions.record_money_received(
            runtime_of(request), found.state.id, me.id, values["source"], values["amount"], values["day"],
            sponsor=values["sponsor_name"] if values["named"] else None, member_name=values["member"] or None,
        )  # fmt: skip
    except actions.USER_ERRORS as e:
        errors = field_errors(e, "source")
        if "sponsor" in errors:
            errors["sponsor_name"] = errors.pop("sponsor")
        return await money_page(request, errors, values, status=422)
    raise see_other(f"/organize/campaigns/{found.state.id}/money", "money-received")


async def add_expense(request: web.Request) -> web.Response:
    me = require_organizer(request)
    data = await form(request)
    found = await _record(request)
    values = _values(data, ("what", "expense_amount", "expense_day", "receipt"))
    try:
        await actions.record_expense(
            runtime_of(request), found.state.id, me.id, values["what"], values["expense_amount"],
            values["expense_day"], values["receipt"],
        )  # fmt: skip
    except actions.USER_ERRORS as e:
        errors = field_errors(e, "what")
        for name in ("amount", "day"):  # the expense form's fields have their own names on the shared page
            if name in errors:
                errors[f"expense_{name}"] = errors.pop(name)
        return await money_page(request, errors, values, status=422)
    raise see_other(f"/organize/campaigns/{found.state.id}/money", "expense-recorded")


async def decide_expense(request: web.Request) -> web.Response:
    me = require_organizer(request)
    data = await form(request)
    found = await _record(request)
    approve = text_field(data, "answer", 10) == "approve"
    expense = text_field(data, "expense", 20)
    try:
        if not (expense.isascii() and expense.isdigit()):
            raise money.MoneyError("there is no such expense", "expense")
        await actions.decide_expense(runtime_of(request), found.state.id, int(expense), me.id, approve)
    except actions.USER_ERRORS as e:
        return await money_page(request, {"expense": str(e)}, status=422)
    raise see_other(
        f"/organize/campaigns/{found.state.id}/money", "expense-approved" if approve else "expense-rejected"
    )


async def export_money(request: web.Request) -> web.Response:
    require_organizer(request)
    found = await _record(request)
    return csv_response(actions.money_csv(found), f"campaign-{found.state.id}-money.csv")
