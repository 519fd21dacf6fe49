"""The rules of a campaign's money record: what may be recorded, what counts, and the line people read.
Pure: no I/O, no clock (`today` is passed in).

Money is `Decimal` in the currency of the campaign's money goal. Money received counts at once; an expense
counts ("spent") only once an organizer other than the one who recorded it approved it. Left is raised minus
spent, and may go below zero (overspent) — the record shows that rather than hiding it.

Nothing recorded is rewritten: an organizer corrects an entry by voiding it with a reason and recording the
right figures as a new entry that names it. A voided entry counts toward nothing; a corrected expense is a new
expense, so it counts only once another organizer approves the corrected figures.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from fedgroup.rules.campaigns import CampaignError, Goal, clean_line, format_quantity, parse_amount
from fedgroup.rules.languages import N_, Message, message_of

MAX_SOURCE = 100
MAX_SPONSOR = 100
MAX_WHAT = 200
MAX_RECEIPT = 100
MAX_REASON = 300
# Entries older than this many years are a typo (2062 for 2026), not bookkeeping.
MAX_YEARS_BACK = 10

EXPENSE_STATES = ("pending", "approved", "rejected")
# Why an expense cannot be decided again, a sentence per state (translated where shown).
ALREADY_DECIDED = {
    "approved": N_("this expense is already approved"),
    "rejected": N_("this expense is already rejected"),
}


class MoneyError(CampaignError):
    """Money-record input a person must correct; `field` names the form field it belongs to."""


@dataclass(frozen=True)
class ReceivedDraft:
    source: str
    amount: Decimal
    day: date
    sponsor: str | None  # the public name of a sponsor who agreed to be named; None for everyone else


@dataclass(frozen=True)
class ExpenseDraft:
    what: str
    amount: Decimal
    day: date
    receipt: str


@dataclass(frozen=True)
class ExpenseFacts:
    """What the totals need of an expense."""

    amount: Decimal
    state: str


@dataclass(frozen=True)
class MoneyTotals:
    currency: str
    raised: Decimal
    spent: Decimal  # approved expenses only
    pending: Decimal  # recorded, waiting for a second organizer

    @property
    def left(self) -> Decimal:
        return self.raised - self.spent


def currency_of(goals: Sequence[Goal]) -> str:
    """The currency of the campaign's money goal; a campaign without one has no money record."""
    for goal in goals:
        if goal.kind == "money" and goal.unit:
            return goal.unit
    raise MoneyError(N_("this campaign has no money goal, so it keeps no money record"), "campaign")


def parse_day(text: str, today: date, field: str = "day") -> date:
    """YYYY-MM-DD, not after today and not absurdly old; empty means today."""
    raw = text.strip()
    if not raw:
        return today
    try:
        day = date.fromisoformat(raw)
    except ValueError as e:
        raise MoneyError(Message(N_("%(text)r is not a date like 2026-12-05"), text=raw[:20]), field) from e
    if day > today:
        raise MoneyError(N_("that date is in the future"), field)
    if day.year < today.year - MAX_YEARS_BACK:
        raise MoneyError(N_("that date is too long ago"), field)
    return day


def _text(value: str, limit: int, field: str, missing: str, too_long: str, required: bool = True) -> str:
    """A line of text: `missing` (a message) when required and empty, `too_long` (an id with %(most)s) when
    longer than `limit`: whole sentences, so that each language words them as a whole."""
    cleaned = clean_line(value)
    if required and not cleaned:
        raise MoneyError(missing, field)
    if len(cleaned) > limit:
        raise MoneyError(Message(too_long, most=limit), field)
    return cleaned


def _amount(text: str | Decimal) -> Decimal:
    """A positive amount of money with at most two decimals (the campaigns' rule for money)."""
    try:
        return parse_amount("money", text, "amount")
    except CampaignError as e:
        raise MoneyError(message_of(e), "amount") from e


def validate_received(
    source: str, amount: str | Decimal, day: str, sponsor: str | None, today: date
) -> ReceivedDraft:
    """Money received from one source: a total ("cash box at the fair", "online"), or a sponsor who agreed
    to be named (`sponsor` is then the name thanked in public)."""
    named = (
        _text(
            sponsor,
            MAX_SPONSOR,
            "sponsor",
            N_("write the sponsor's public name"),
            N_("the sponsor's public name is at most %(most)s characters"),
        )
        if sponsor is not None
        else None
    )
    return ReceivedDraft(
        source=_text(
            source,
            MAX_SOURCE,
            "source",
            N_("write where the money came from"),
            N_("where the money came from is at most %(most)s characters"),
        ),
        amount=_amount(amount),
        day=parse_day(day, today),
        sponsor=named,
    )


def validate_expense(what: str, amount: str | Decimal, day: str, receipt: str, today: date) -> ExpenseDraft:
    return ExpenseDraft(
        what=_text(
            what,
            MAX_WHAT,
            "what",
            N_("write what the money was spent on"),
            N_("what the money was spent on is at most %(most)s characters"),
        ),
        amount=_amount(amount),
        day=parse_day(day, today),
        receipt=_text(
            receipt,
            MAX_RECEIPT,
            "receipt",
            "",
            N_("the receipt reference is at most %(most)s characters"),
            required=False,
        ),
    )


def check_decision(state: str, recorded_by: int | None, decider: int, approve: bool) -> None:
    """Whether `decider` (an organizer) may approve or reject this expense. Only a pending expense is decided.
    Nobody approves their own: approval is the second pair of eyes. Rejecting one's own is allowed: it is
    withdrawing a mistake, and it never makes money count. An expense whose recorder was erased has no
    recorder left to be the same person as the decider."""
    if state != "pending":
        already = ALREADY_DECIDED.get(state) or Message(N_("this expense is already %(state)s"), state=state)
        raise MoneyError(already, "expense")
    if approve and recorded_by is not None and recorded_by == decider:
        raise MoneyError(N_("nobody approves their own expense: another organizer must approve it"), "expense")


def validate_reason(text: str) -> str:
    """Why an entry is voided or corrected: required, because the record's history must explain itself."""
    return _text(
        text,
        MAX_REASON,
        "reason",
        N_("write why the entry is corrected"),
        N_("why the entry is corrected is at most %(most)s characters"),
    )


def check_correctable(voided: bool, state: str | None) -> None:
    """Whether an entry may still be voided or corrected: not one voided already (correct its correction
    instead), nor a rejected expense (it counts for nothing: record the expense anew)."""
    if voided:
        raise MoneyError(
            "this entry was already voided or corrected: correct the entry that replaced it", "entry"
        )
    if state == "rejected":
        raise MoneyError(N_("a rejected expense counts for nothing: record it anew instead"), "entry")


def totals(currency: str, received: Iterable[Decimal], expenses: Iterable[ExpenseFacts]) -> MoneyTotals:
    raised = sum(received, Decimal(0))
    spent = pending = Decimal(0)
    for expense in expenses:
        if expense.state == "approved":
            spent += expense.amount
        elif expense.state == "pending":
            pending += expense.amount
    return MoneyTotals(currency, raised, spent, pending)


def money_text(amount: Decimal, currency: str) -> str:
    """€1,234.50, CHF 20, −€12 (a minus sign before the symbol)."""
    if amount < 0:
        return "−" + format_quantity("money", -amount, currency)
    return format_quantity("money", amount, currency)


def plain_amount(amount: Decimal) -> str:
    """120.50: how files and listings write an amount — exact, two decimals, no symbol, no separators."""
    return f"{amount.quantize(Decimal('0.01'))}"


def money_line(result: MoneyTotals) -> str:
    """€700 raised · €250 spent · €450 left — the same line on the page, in the outcome and its post."""
    raised = money_text(result.raised, result.currency)
    spent = money_text(result.spent, result.currency)
    if result.left < 0:
        return f"{raised} raised · {spent} spent · {money_text(-result.left, result.currency)} overspent"
    return f"{raised} raised · {spent} spent · {money_text(result.left, result.currency)} left"
