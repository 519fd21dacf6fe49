"""What organizers can do with a campaign's money record, shared by the CLI and the web UI: record money
received and expenses, approve or reject an expense, void or correct an entry (with a reason; the voided
entry stays in the record), read the record, export it. Rules in rules/money.py;
rows in store/money.py. Nothing here federates: the money line reaches the fediverse only in the outcome."""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from fedgroup import store
from fedgroup.actions.campaigns import counted_money, load_campaign
from fedgroup.rules import money, spreadsheet
from fedgroup.rules.campaign_state import CampaignState
from fedgroup.rules.languages import N_, Message
from fedgroup.rules.money import MoneyError

log = logging.getLogger(__name__)


class Runtime(Protocol):
    """What the money record needs of the running server: less than an actions.context.Context (nothing here
    federates), so that anything with a database and a clock can keep the record."""

    db: store.Database

    def now(self) -> datetime: ...


@dataclass(frozen=True)
class MoneyRecord:
    state: CampaignState
    currency: str
    received: list[store.money.Received]
    expenses: list[store.money.Expense]
    totals: money.MoneyTotals

    @property
    def line(self) -> str:
        return money.money_line(self.totals)

    @property
    def approved(self) -> list[store.money.Expense]:
        """The spending that counts: approved and not voided."""
        return [e for e in self.expenses if e.state == "approved" and e.history.counts]

    @property
    def sponsors(self) -> list[str]:
        """Sponsors who agreed to be named, each once, in the order they gave (a voided entry thanks nobody)."""
        return list(dict.fromkeys(r.sponsor for r in self.received if r.sponsor and r.history.counts))


def _campaign(conn: sqlite3.Connection, campaign_id: int) -> tuple[CampaignState, str]:
    state = load_campaign(conn, campaign_id)
    if state is None or state.row.deleted_at is not None:
        raise MoneyError(Message(N_("there is no campaign %(id)s"), id=campaign_id), "campaign")
    return state, money.currency_of(state.goals)


def _organizer(conn: sqlite3.Connection, member_id: int) -> store.members.Member:
    member = store.members.by_id(conn, member_id)
    if member is None or not member.is_organizer:
        raise MoneyError(N_("only organizers keep the money record"), "by")
    return member


async def money_record(runtime: Runtime, campaign_id: int) -> MoneyRecord:
    """The campaign's whole money record (for organizers; the public sees `MoneyRecord.line`, the approved
    spending and the sponsors' names)."""

    def read(conn: sqlite3.Connection) -> MoneyRecord:
        state, _ = _campaign(conn, campaign_id)
        return money_record_of(conn, state)

    return await runtime.db.read(read)


def money_record_of(conn: sqlite3.Connection, state: CampaignState) -> MoneyRecord:
    """The money record of a campaign already loaded (MoneyError if it has no money goal)."""
    currency = money.currency_of(state.goals)
    received = store.money.received_of(conn, state.id)
    expenses = store.money.expenses_of(conn, state.id)
    totals = counted_money(currency, received, expenses)
    return MoneyRecord(state, currency, received, expenses, totals)


async def record_money_received(
    runtime: Runtime,
    campaign_id: int,
    recorded_by: int,
    source: str,
    amount: str,
    day: str = "",
    sponsor: str | None = None,
    member_name: str | None = None,
) -> int:
    """Record money received from one source; `sponsor` is the public name of a sponsor who agreed to be
    named; `member_name` links the entry to that member's own contribution (their export shows it)."""
    draft = money.validate_received(source, amount, day, sponsor, runtime.now().date())

    def job(conn: sqlite3.Connection) -> int:
        _campaign(conn, campaign_id)
        _organizer(conn, recorded_by)
        member_id = None
        if member_name and member_name.strip():
            member = store.members.by_name(conn, member_name.strip())
            if member is None:
                raise MoneyError(
                    Message(N_("there is no member called %(name)s"), name=member_name.strip()), "member"
                )
            member_id = member.id
        return store.money.add_received(
            conn, campaign_id, draft.source, draft.amount, draft.day, draft.sponsor, member_id, recorded_by,
            runtime.now(),
        )  # fmt: skip

    entry_id = await runtime.db.write(job)
    log.info("money received campaign=%d entry=%d", campaign_id, entry_id)
    return entry_id


async def record_expense(
    runtime: Runtime,
    campaign_id: int,
    recorded_by: int,
    what: str,
    amount: str,
    day: str = "",
    receipt: str = "",
) -> int:
    """Record an expense; it counts once another organizer approves it."""
    draft = money.validate_expense(what, amount, day, receipt, runtime.now().date())

    def job(conn: sqlite3.Connection) -> int:
        _campaign(conn, campaign_id)
        _organizer(conn, recorded_by)
        return store.money.add_expense(
            conn, campaign_id, draft.what, draft.amount, draft.day, draft.receipt, recorded_by, runtime.now()
        )

    expense_id = await runtime.db.write(job)
    log.info("expense recorded campaign=%d expense=%d", campaign_id, expense_id)
    return expense_id


async def decide_expense(
    runtime: Runtime, campaign_id: int, expense_id: int, decider: int, approve: bool
) -> None:
    """Approve (counts from now on) or reject a pending expense. Nobody approves their own."""

    def job(conn: sqlite3.Connection) -> None:
        _campaign(conn, campaign_id)
        _organizer(conn, decider)
        found = store.money.expense(conn, expense_id)
        if found is None or found.campaign_id != campaign_id:
            raise MoneyError(
                Message(N_("campaign %(id)s has no expense %(expense)s"), id=campaign_id, expense=expense_id), "expense"
            )
        if not found.history.counts:
            raise MoneyError(N_("this expense was voided: decide the entry that replaced it, if any"), "expense")
        money.check_decision(found.state, found.recorded_by, decider, approve)
        state = "approved" if approve else "rejected"
        if not store.money.decide_expense(conn, expense_id, state, decider, runtime.now()):
            raise MoneyError(N_("this expense was decided meanwhile"), "expense")

    await runtime.db.write(job)
    log.info(
        "expense %s campaign=%d expense=%d", "approved" if approve else "rejected", campaign_id, expense_id
    )


Entry = Literal["received", "expense"]


def _entry(conn: sqlite3.Connection, campaign_id: int, entry: Entry, entry_id: int) -> str | None:
    """Check the entry exists in this campaign's record and may be voided; returns an expense's state."""
    found: store.money.Received | store.money.Expense | None = (
        store.money.received(conn, entry_id) if entry == "received" else store.money.expense(conn, entry_id)
    )
    if found is None or found.campaign_id != campaign_id:
        raise MoneyError(
            Message(
                N_("campaign %(id)s has no such entry (%(entry)s %(entry_id)s)"),
                id=campaign_id,
                entry=entry,
                entry_id=entry_id,
            ),
            "entry",
        )
    state = found.state if isinstance(found, store.money.Expense) else None
    money.check_correctable(not found.history.counts, state)
    return state


async def void_entry(
    runtime: Runtime, campaign_id: int, entry: Entry, entry_id: int, by: int, reason: str
) -> None:
    """Void an entry that should never have been recorded: it stays in the record, with who voided it, when
    and why, and counts toward nothing from now on."""
    why = money.validate_reason(reason)

    def job(conn: sqlite3.Connection) -> None:
        _campaign(conn, campaign_id)
        _organizer(conn, by)
        _entry(conn, campaign_id, entry, entry_id)
        if not store.money.void(conn, entry, entry_id, by, why, runtime.now()):
            raise MoneyError(N_("this entry was voided meanwhile"), "entry")

    await runtime.db.write(job)
    log.info("money entry voided campaign=%d entry=%s-%d", campaign_id, entry, entry_id)


async def correct_received(
    runtime: Runtime,
    campaign_id: int,
    entry_id: int,
    by: int,
    reason: str,
    source: str,
    amount: str,
    day: str,
    sponsor: str | None,
) -> int:
    """Correct money received: the entry is voided with the reason, and the right figures recorded as a new
    entry that names it (still linked to the same member, if it was). Returns the new entry's id."""
    why = money.validate_reason(reason)
    draft = money.validate_received(source, amount, day, sponsor, runtime.now().date())

    def job(conn: sqlite3.Connection) -> int:
        _campaign(conn, campaign_id)
        _organizer(conn, by)
        _entry(conn, campaign_id, "received", entry_id)
        old = store.money.received(conn, entry_id)
        assert old is not None
        now = runtime.now()
        if not store.money.void(conn, "received", entry_id, by, why, now):
            raise MoneyError(N_("this entry was voided meanwhile"), "entry")
        return store.money.add_received(
            conn, campaign_id, draft.source, draft.amount, draft.day, draft.sponsor, old.member_id, by, now,
            corrects=entry_id,
        )  # fmt: skip

    new_id = await runtime.db.write(job)
    log.info("money received corrected campaign=%d entry=%d by=%d", campaign_id, entry_id, new_id)
    return new_id


async def correct_expense(
    runtime: Runtime,
    campaign_id: int,
    entry_id: int,
    by: int,
    reason: str,
    what: str,
    amount: str,
    day: str,
    receipt: str,
) -> int:
    """Correct an expense: it is voided with the reason, and the right figures recorded as a new expense that
    names it. The new one is pending, recorded by `by`: however the old one stood, the corrected figures count
    only once another organizer approves them. Returns the new expense's id."""
    why = money.validate_reason(reason)
    draft = money.validate_expense(what, amount, day, receipt, runtime.now().date())

    def job(conn: sqlite3.Connection) -> int:
        _campaign(conn, campaign_id)
        _organizer(conn, by)
        _entry(conn, campaign_id, "expense", entry_id)
        now = runtime.now()
        if not store.money.void(conn, "expense", entry_id, by, why, now):
            raise MoneyError(N_("this entry was voided meanwhile"), "entry")
        return store.money.add_expense(
            conn, campaign_id, draft.what, draft.amount, draft.day, draft.receipt, by, now, corrects=entry_id
        )

    new_id = await runtime.db.write(job)
    log.info("expense corrected campaign=%d expense=%d by=%d", campaign_id, entry_id, new_id)
    return new_id


CSV_HEADER = (
    "entry", "date", "what_or_source", "amount", "currency", "state", "counts", "sponsor", "member",
    "receipt", "recorded_by", "decided_by", "id", "corrects", "voided_on", "void_reason",
)  # fmt: skip


def _history_cells(entry_id: int, history: store.money.History) -> tuple[object, ...]:
    voided_on = history.voided_at.date().isoformat() if history.voided_at else ""
    return (entry_id, history.corrects or "", voided_on, history.void_reason or "")


def money_csv(found: MoneyRecord) -> bytes:
    """The record for organizers and the group's books: one row per entry, then the totals."""
    rows: list[tuple[object, ...]] = []
    for r in found.received:
        rows.append((
            "received", r.day.isoformat(), r.source, money.plain_amount(r.amount), found.currency,
            "" if r.history.counts else "voided", "yes" if r.history.counts else "no",
            r.sponsor or "", r.member_name or "", "", r.recorded_by_name or "", "", *_history_cells(r.id, r.history),
        ))  # fmt: skip
    for e in found.expenses:
        rows.append((
            "expense", e.day.isoformat(), e.what, money.plain_amount(e.amount), found.currency,
            e.state if e.history.counts else "voided", "yes" if e in found.approved else "no", "", "", e.receipt,
            e.recorded_by_name or "", e.decided_by_name or "", *_history_cells(e.id, e.history),
        ))  # fmt: skip
    totals = found.totals
    # Overspending is written as a positive "overspent": a cell starting with "-" would be neutralised to text.
    balance = ("left", totals.left) if totals.left >= 0 else ("overspent", -totals.left)
    for label, amount in (
        ("raised", totals.raised),
        ("spent", totals.spent),
        balance,
        ("pending", totals.pending),
    ):
        rows.append(("total", "", label, money.plain_amount(amount), found.currency, *[""] * 11))
    return spreadsheet.csv_bytes(CSV_HEADER, rows)
