"""The rules of campaigns and pledges: goals, options, deadlines, amounts and how they read. Pure: no I/O,
no clock. What counts toward a campaign is tallies.py; partners' aggregates, aggregates.py.

Amounts are `Decimal` everywhere (money never touches a float). Text in the forms people use:
goals `KIND:TARGET[:UNIT]` ("money:1000:EUR", "hours:40", "items:50:meals", "people:30") and options
`LABEL=KIND:AMOUNT` ("Bring food=items:1", "€20=money:20"); decimals use a point.
"""

from __future__ import annotations

import html
import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from fedgroup.rules.languages import N_, SOURCE_LANGUAGE, Message, language
from fedgroup.rules.words import singular_unit

GOAL_KINDS = ("money", "hours", "items", "people")
VISIBILITIES = ("public", "followers", "members")
MAX_TITLE = 200
MAX_BODY = 20_000
MAX_NOTE = 500
MAX_UNIT = 30
# An items goal's unit when the organizer names none: each language says it with its own word ("1 artículo").
DEFAULT_UNIT = "items"
# Mastodon shows at most 4 poll options by default and has had bugs counting remote votes beyond that.
MAX_OPTIONS_FEDERATED = 4
MAX_OPTIONS = 20
MAX_LABEL = 50  # Mastodon's limit for a poll option's text
MAX_AMOUNT = Decimal(10) ** 9

# Active ISO 4217 currency codes.
CURRENCIES = frozenset(
    """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD CAD
    CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD
    HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL
    LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR
    PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP
    TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWL""".split()
)
_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "INR": "₹", "ILS": "₪", "KRW": "₩", "NGN": "₦"}
_AMOUNT_RE = re.compile(r"^([0-9]+)(\.[0-9]{1,2})?$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


class CampaignError(ValueError):
    """Input a person must correct; `field` names the form field it belongs to."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Goal:
    kind: str
    target: Decimal
    unit: str | None = None  # currency code for money, a unit for items ("meals"); None for hours and people


@dataclass(frozen=True)
class PledgeOption:
    label: str
    kind: str
    amount: Decimal


@dataclass(frozen=True)
class CampaignDraft:
    title: str
    body: str
    goals: tuple[Goal, ...]
    options: tuple[PledgeOption, ...]
    deadline: datetime | None
    visibility: str
    multiple_choice: bool


@dataclass(frozen=True)
class Contribution:
    """What one pledge adds to a goal: a member's pledge, a poll vote, a partner group's aggregate."""

    kind: str
    amount: Decimal


# -- parsing ------------------------------------------------------------------------------------------


def _check_kind(kind: str, field: str) -> str:
    kind = kind.strip().lower()
    if kind not in GOAL_KINDS:
        raise CampaignError(
            Message(N_("unknown goal kind %(kind)r: use one of %(kinds)s"), kind=kind, kinds=", ".join(GOAL_KINDS)),
            field,
        )
    return kind


def parse_amount(
    kind: str, text: str | Decimal, field: str = "amount", decimal_comma: bool = False
) -> Decimal:
    """A positive amount: up to 2 decimals for money and hours, whole numbers for items and people.
    `decimal_comma`: what a person typed, where "7,50" means 7.50 (documents from other servers stay strict)."""
    raw = str(text).strip()
    # A decimal comma is as usual as a point ("7,50" and "7.50"); with at most 2 decimals, "1,000" stays
    # refused rather than read as a thousand or as one.
    comma = decimal_comma and raw.count(",") == 1 and "." not in raw
    found = _AMOUNT_RE.match(raw.replace(",", ".") if comma else raw)
    if not found:
        raise CampaignError(
            Message(N_("%(amount)r is not an amount (digits, and up to 2 decimals: 7.50 or 7,50)"), amount=raw[:20])
            if decimal_comma
            else Message(N_("%(amount)r is not an amount (digits, and up to 2 decimals: 7.50)"), amount=raw[:20]),
            field,
        )
    if len(found.group(1).lstrip("0")) > 10:
        raise CampaignError(
            Message(N_("that amount is too large (at most %(most)s)"), most=f"{MAX_AMOUNT:,}"), field
        )
    try:
        amount = Decimal(found.group(0))
    except InvalidOperation as e:  # unreachable after the pattern, kept for safety
        raise CampaignError(Message(N_("%(amount)r is not an amount"), amount=raw[:20]), field) from e
    if kind in ("items", "people") and amount != amount.to_integral_value():
        raise CampaignError(Message(N_("%(kind)s are counted in whole numbers"), kind=kind), field)
    if amount <= 0:
        raise CampaignError(N_("amounts must be more than zero"), field)
    if amount > MAX_AMOUNT:
        raise CampaignError(
            Message(N_("that amount is too large (at most %(most)s)"), most=f"{MAX_AMOUNT:,}"), field
        )
    return amount


def parse_goal(text: str) -> Goal:
    """KIND:TARGET[:UNIT], e.g. money:1000:EUR, hours:40, items:50:meals, people:30."""
    parts = text.split(":")
    if len(parts) not in (2, 3):
        raise CampaignError(
            Message(N_("goal %(goal)r should look like money:1000:EUR or hours:40"), goal=text[:40]), "goals"
        )
    kind = _check_kind(parts[0], "goals")
    target = parse_amount(kind, parts[1], "goals", decimal_comma=True)
    unit = parts[2].strip() if len(parts) == 3 else None
    return make_goal(kind, target, unit)


def make_goal(kind: str, target: Decimal, unit: str | None) -> Goal:
    kind = _check_kind(kind, "goals")
    if kind == "money":
        currency = (unit or "").upper()
        if currency not in CURRENCIES:
            raise CampaignError(
                Message(N_("a money goal needs an ISO currency code such as EUR, not %(unit)r"), unit=unit), "goals"
            )
        return Goal(kind, target, currency)
    if kind == "items":
        unit = (unit or DEFAULT_UNIT).strip()
        if not unit or len(unit) > MAX_UNIT or _CONTROL.search(unit) or any(c in unit for c in ":=<>"):
            raise CampaignError(
                Message(N_("the unit of an items goal must be 1-%(most)s plain characters"), most=MAX_UNIT), "goals"
            )
        return Goal(kind, target, unit)
    if unit:
        raise CampaignError(Message(N_("%(kind)s goals take no unit"), kind=kind), "goals")
    return Goal(kind, target, None)


def parse_option(text: str) -> PledgeOption:
    """LABEL=KIND:AMOUNT. The label is what Mastodon users see and vote for; split on the last '='."""
    label, sep, rest = text.rpartition("=")
    if not sep:
        raise CampaignError(
            Message(N_("option %(option)r should look like 'Bring food=items:1'"), option=text[:40]), "options"
        )
    kind, sep, amount = rest.partition(":")
    if not sep:
        raise CampaignError(
            Message(N_("option %(option)r should look like 'Bring food=items:1'"), option=text[:40]), "options"
        )
    kind = _check_kind(kind, "options")
    return PledgeOption(label.strip(), kind, parse_amount(kind, amount, "options", decimal_comma=True))


def units_of(goals: Sequence[Goal]) -> dict[str, str | None]:
    """Each goal kind's unit (currency for money): what amounts of that kind are counted in."""
    return {g.kind: g.unit for g in goals}


def _label_key(text: str) -> str:
    """An option's name as another server may send it back: Mitra stores remote option names HTML-escaped
    (`&` as `&amp;`) and votes with that copy; others may change the Unicode form or the spacing."""
    return " ".join(unicodedata.normalize("NFC", html.unescape(text)).split())


def option_named(labels: Sequence[str], voted: str) -> int | None:
    """The index of the option a vote names: its exact label, else the one that is the same once unescaped
    and normalised (only when that names exactly one option)."""
    if voted in labels:
        return labels.index(voted)
    key = _label_key(voted)
    matches = [i for i, label in enumerate(labels) if _label_key(label) == key]
    return matches[0] if len(matches) == 1 else None


def clean_line(text: str) -> str:
    return _CONTROL.sub("", text).replace("\r", "").replace("\n", " ").replace("\t", " ").strip()


def clean_block(text: str) -> str:
    return _CONTROL.sub("", text.replace("\r\n", "\n")).strip()


# -- validation ---------------------------------------------------------------------------------------


def validate_draft(
    title: str,
    body: str,
    goals: Sequence[Goal],
    options: Sequence[PledgeOption],
    deadline: datetime | None,
    visibility: str,
    now: datetime,
    multiple_choice: bool = False,
) -> CampaignDraft:
    title = clean_line(title)
    body = clean_block(body)
    if not title:
        raise CampaignError(N_("a campaign needs a title"), "title")
    if len(title) > MAX_TITLE:
        raise CampaignError(
            Message(N_("the title is longer than %(most)s characters"), most=MAX_TITLE), "title"
        )
    if len(body) > MAX_BODY:
        raise CampaignError(Message(N_("the text is longer than %(most)s characters"), most=MAX_BODY), "body")
    if visibility not in VISIBILITIES:
        raise CampaignError(
            Message(N_("visibility must be one of %(choices)s"), choices=", ".join(VISIBILITIES)), "visibility"
        )
    if options and not goals:
        raise CampaignError(N_("pledge options need a goal to count toward"), "goals")
    kinds = [g.kind for g in goals]
    if len(set(kinds)) != len(kinds):
        raise CampaignError(N_("each kind of goal can appear once"), "goals")
    cap = MAX_OPTIONS if visibility == "members" else MAX_OPTIONS_FEDERATED
    if len(options) > cap:
        raise CampaignError(
            Message(N_("at most %(most)s pledge options"), most=cap)
            if visibility == "members"
            else Message(N_("at most %(most)s pledge options (Mastodon polls show at most 4)"), most=cap),
            "options",
        )
    labels: set[str] = set()
    cleaned_options = []
    for option in options:
        label = clean_line(option.label)
        if not label:
            raise CampaignError(N_("every pledge option needs a label"), "options")
        if len(label) > MAX_LABEL:
            raise CampaignError(
                Message(N_("option labels are at most %(most)s characters"), most=MAX_LABEL), "options"
            )
        if label in labels:
            raise CampaignError(Message(N_("two options are labelled %(label)r"), label=label), "options")
        if option.kind not in kinds:
            raise CampaignError(
                Message(
                    N_("option %(option)r pledges %(kind)s, but there is no %(kind)s goal"),
                    option=label,
                    kind=option.kind,
                ),
                "options",
            )
        labels.add(label)
        cleaned_options.append(PledgeOption(label, option.kind, option.amount))
    if deadline is not None:
        if deadline.tzinfo is None:
            raise CampaignError(N_("the deadline needs a time zone"), "deadline")
        if deadline <= now:
            raise CampaignError(N_("the deadline is in the past"), "deadline")
    return CampaignDraft(
        title, body, tuple(goals), tuple(cleaned_options), deadline, visibility, multiple_choice
    )


def parse_deadline(text: str) -> datetime:
    """An ISO 8601 date-time with a time zone (a date alone means the end of that day, UTC)."""
    raw = text.strip()
    try:
        if len(raw) == 10:
            moment = datetime.fromisoformat(raw + "T23:59:59+00:00")
        else:
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as e:
        raise CampaignError(
            Message(N_("%(text)r is not an ISO 8601 date-time (e.g. 2026-12-24T18:00+01:00)"), text=raw[:30]),
            "deadline",
        ) from e
    if moment.tzinfo is None:
        raise CampaignError(N_("the deadline needs a time zone, e.g. 2026-12-24T18:00+01:00"), "deadline")
    return moment


def validate_pledge(
    goals: Sequence[Goal], kind: str, amount: str | Decimal, note: str
) -> tuple[Contribution, str]:
    """A member's pledge: a kind the campaign has a goal for, a positive amount, a short note."""
    kind = _check_kind(kind, "kind")
    if kind not in {g.kind for g in goals}:
        raise CampaignError(Message(N_("this campaign has no %(kind)s goal"), kind=kind), "kind")
    value = parse_amount(kind, amount, decimal_comma=True)
    note = clean_block(note)
    if len(note) > MAX_NOTE:
        raise CampaignError(Message(N_("the note is longer than %(most)s characters"), most=MAX_NOTE), "note")
    return Contribution(kind, value), note


def option_contribution(options: Sequence[PledgeOption], label: str) -> Contribution | None:
    """The option with exactly this label (as Mastodon matches a vote's name), else None."""
    for option in options:
        if option.label == label:
            return Contribution(option.kind, option.amount)
    return None


def is_open(status: str, deadline: datetime | None, now: datetime) -> bool:
    return status == "open" and (deadline is None or now < deadline)


# -- arithmetic ----------------------------------------------------------------------------------------


def number_text(amount: Decimal) -> str:
    """1,234 or 2.5: thousands separators, no trailing zeros."""
    if amount == amount.to_integral_value():
        return f"{int(amount):,}"
    return f"{amount.normalize():,f}"


def format_quantity(kind: str, amount: Decimal, unit: str | None) -> str:
    """€1,000 · €12.50 · CHF 20 · 12 hours · 1 hour · 50 meals · 1 meal · 1 person · 30 people."""
    if kind == "money":
        number = (
            f"{int(amount):,}"
            if amount == amount.to_integral_value()
            else f"{amount.quantize(Decimal('0.01')):,}"
        )
        symbol = _SYMBOLS.get(unit or "")
        return f"{symbol}{number}" if symbol else f"{unit} {number}"
    number = number_text(amount)
    # What federates and goes into files is English (pages and mail use rules/formats.py in the reader's
    # language); the plural forms come from the same catalogue calls. A fraction reads as a plural.
    count = int(amount) if amount == amount.to_integral_value() else 2
    english = language(SOURCE_LANGUAGE)
    if kind == "hours":
        return english.ngettext("%(num)s hour", "%(num)s hours", count, num=number)
    if kind == "people":
        return english.ngettext("%(num)s person", "%(num)s people", count, num=number)
    if unit:
        return f"{number} {singular_unit(unit) if count == 1 else unit}"
    return english.ngettext("%(num)s item", "%(num)s items", count, num=number)


def goals_text(goals: Sequence[Goal]) -> str:
    """Goal: €1,000 · 40 hours — what is asked, without the totals (they change with every pledge)."""
    return "Goal: " + " · ".join(format_quantity(g.kind, g.target, g.unit) for g in goals) if goals else ""


def amount_text(amount: Decimal) -> str:
    """How amounts travel in JSON: a plain decimal string, exact (never a float)."""
    normalized = amount.normalize()
    return f"{normalized:f}"


# -- a second language ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SecondLanguage:
    """A campaign's title and text in a second language, written by an organizer; both languages federate
    (`contentMap`) and each visitor reads the one that is theirs."""

    language: str
    title: str
    body: str

    def to_json(self) -> str:
        return json.dumps({"language": self.language, "title": self.title, "body": self.body})


def validate_second_language(
    language: str, title: str, body: str, first_language: str, shipped: Sequence[str]
) -> SecondLanguage | None:
    """The second language as written on the campaign form: None when left empty; CampaignError (with the form
    field) when it is half filled, not a language we ship, or the campaign's own language."""
    title, body, language = clean_line(title), clean_block(body), language.strip()
    if not (language or title or body):
        return None
    if language not in shipped:
        raise CampaignError(N_("choose the second language"), "second_language")
    if language == first_language:
        raise CampaignError(N_("the second language must differ from the campaign's own"), "second_language")
    if not title:
        raise CampaignError(N_("a title in the second language is needed"), "second_title")
    if len(title) > MAX_TITLE:
        raise CampaignError(
            Message(N_("the title is longer than %(most)s characters"), most=MAX_TITLE), "second_title"
        )
    if len(body) > MAX_BODY:
        raise CampaignError(
            Message(N_("the text is longer than %(most)s characters"), most=MAX_BODY), "second_body"
        )
    return SecondLanguage(language, title, body)


def parse_second_language(stored: str | None) -> SecondLanguage | None:
    """The stored second language (store.campaigns.CampaignRow.second_language), if any."""
    if not stored:
        return None
    data = json.loads(stored)
    return SecondLanguage(str(data["language"]), str(data["title"]), str(data.get("body", "")))
