"""A campaign's money record: the organizers' page (money received, expenses, approvals, corrections, CSV
export) and what the public campaign page shows of it (raised · spent · left, approved spending, named sponsors — no donor)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from aiohttp import web
from multidict import MultiDictProxy

from fedgroup import actions
from fedgroup.rules import formats, money
from fedgroup.rules.languages import N_, Language
from fedgroup.ui.common import (
    field_errors,
    form,
    int_in_path,
    render,
    require_organizer,
    row_id,
    runtime_of,
    see_other,
    text_field,
)
from fedgroup.ui.languages import language_of
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


def public_money(found: actions.MoneyRecord | None, lang: Language) -> PublicMoney | None:
    """What the public sees of a money record; None when the campaign keeps none (no money goal, or nothing
    recorded yet)."""
    if found is None or (not found.received and not found.expenses):
        return None
    spending = tuple(
        SpendingView(e.day, e.what, formats.money(e.amount, found.currency, lang), e.receipt)
        for e in found.approved
    )
    return PublicMoney(formats.money_line(found.totals, lang), spending, tuple(found.sponsors))


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
    lang = language_of(request)
    return render(
        request,
        "organize/money.html",
        {
            "campaign": found.state.row,
            "record": found,
            "me_id": me.id,
            "money_text": lambda amount: formats.money(amount, found.currency, lang),
            "money_line": formats.money_line(found.totals, lang),
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
        expense_id = row_id(expense)
        if expense_id is None:
            raise money.MoneyError(N_("there is no such expense"), "expense")
        await actions.decide_expense(runtime_of(request), found.state.id, expense_id, me.id, approve)
    except actions.USER_ERRORS as e:
        return await money_page(request, {"expense": str(e)}, status=422)
    raise see_other(
        f"/organize/campaigns/{found.state.id}/money", "expense-approved" if approve else "expense-rejected"
    )


async def export_money(request: web.Request) -> web.Response:
    require_organizer(request)
    found = await _record(request)
    return csv_response(actions.money_csv(found), f"campaign-{found.state.id}-money.csv")


def _entry_ref(entry: str, entry_id: str) -> tuple[Literal["received", "expense"], int]:
    """The entry a correction form names (its kind and id, from hidden fields or the query)."""
    found = row_id(entry_id)
    if entry not in ("received", "expense") or found is None:
        raise web.HTTPNotFound(text="no such entry\n")
    return ("received" if entry == "received" else "expense"), found


async def correct_page(
    request: web.Request,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    """One entry, with a form to correct it (the right figures and why) and one to void it (only why)."""
    require_organizer(request)
    found = await _record(request)
    source = values if values is not None else request.query
    entry, entry_id = _entry_ref(str(source.get("entry", "")), str(source.get("id", "")))
    entries: list[Any] = found.received if entry == "received" else found.expenses
    current = next((e for e in entries if e.id == entry_id), None)
    if current is None:
        raise web.HTTPNotFound(text="no such entry\n")
    if values is None:
        values = {"entry": entry, "id": str(entry_id), "amount": money.plain_amount(current.amount),
                  "day": current.day.isoformat(), "reason": ""}  # fmt: skip
        if entry == "received":
            values |= {"source": current.source, "sponsor_name": current.sponsor or ""}
        else:
            values |= {"what": current.what, "receipt": current.receipt}
    return render(
        request,
        "organize/money_correct.html",
        {
            "campaign": found.state.row,
            "record": found,
            "entry": entry,
            "current": current,
            "money_text": lambda amount: money.money_text(amount, found.currency),
            "today": runtime_of(request).now().date().isoformat(),
            "errors": errors or {},
            "values": values,
        },
        status=status,
    )


async def correct_entry(request: web.Request) -> web.Response:
    """Void an entry, or void it and record the right figures (button `do`: "void" or "correct")."""
    me = require_organizer(request)
    data = await form(request)
    found = await _record(request)
    values = _values(
        data, ("entry", "id", "source", "sponsor_name", "what", "receipt", "amount", "day", "reason")
    )
    entry, entry_id = _entry_ref(values["entry"], values["id"])
    runtime = runtime_of(request)
    voiding = text_field(data, "do", 10) == "void"
    try:
        if voiding:
            await actions.void_entry(runtime, found.state.id, entry, entry_id, me.id, values["reason"])
        elif entry == "received":
            await actions.correct_received(
                runtime, found.state.id, entry_id, me.id, values["reason"], values["source"], values["amount"],
                values["day"], values["sponsor_name"] or None,
            )  # fmt: skip
        else:
            await actions.correct_expense(
                runtime, found.state.id, entry_id, me.id, values["reason"], values["what"], values["amount"],
                values["day"], values["receipt"],
            )  # fmt: skip
    except actions.USER_ERRORS as e:
        errors = field_errors(e, "reason")
        if "sponsor" in errors:
            errors["sponsor_name"] = errors.pop("sponsor")
        return await correct_page(request, errors, values, status=422)
    done = "entry-voided" if voiding else ("expense-corrected" if entry == "expense" else "money-corrected")
    raise see_other(f"/organize/campaigns/{found.state.id}/money", done)
