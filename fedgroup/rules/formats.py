"""Numbers, money, quantities and dates as people read them in their language, with Babel's CLDR data:
€1,234.50 in English, 1.234,50 € in Spanish, ₹12,34,567.50 in Hindi (Indian digit grouping). The one module
that formats for people: pages, charts, the CLI and emails all call it. What federates or goes into files
stays in the plain, exact forms of rules/campaigns.amount_text and rules/money.plain_amount.

Pure: the time zone and the language are passed in (rules/languages.Language).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal

from babel import dates as babel_dates
from babel import numbers as babel_numbers

from fedgroup.rules.campaign_state import ContributorLine
from fedgroup.rules.campaigns import DEFAULT_UNIT, Contribution, Goal
from fedgroup.rules.languages import SOURCE_LANGUAGE, Language
from fedgroup.rules.money import MoneyTotals
from fedgroup.rules.tallies import OutcomeLine
from fedgroup.rules.timezones import zone
from fedgroup.rules.words import singular_unit

NO_BREAK = "\u00a0"
# How a sentence ends where it is not a full stop (Hindi: the danda), and every end a message may have already.
_FULL_STOPS = {"hi": "।"}
_SENTENCE_ENDS = (".", "!", "?", "…", "।", "؟")


def sentence(message: str, lang: Language) -> str:
    """A message as a page shows it, in one style: a capital first letter and the language's full stop. The
    messages stay as they are made for the command line ("fedgroup: error: the title is ...")."""
    message = message.strip()
    if not message:
        return message
    if message[0].islower():
        message = message[0].upper() + message[1:]
    return message if message.endswith(_SENTENCE_ENDS) else message + _FULL_STOPS.get(lang.code, ".")


def number(amount: Decimal | int, lang: Language) -> str:
    """1,234 · 2.5 · 12,34,567 (hi) · 1 234,5 (fr): grouping and decimal mark of the language."""
    return str(babel_numbers.format_decimal(amount, locale=lang.locale))


def money(amount: Decimal, currency: str, lang: Language) -> str:
    """€1,000 · €12.50 · CHF 20 · 1.234,50 € · ₹12,34,567: the language's currency pattern; a whole amount
    shows no cents (as the group's goals are written), and a negative one its minus sign."""
    pattern = lang.locale.currency_formats["standard"].pattern
    whole = amount == amount.to_integral_value()
    if whole:
        pattern = pattern.replace(".00", "")
    try:
        text = babel_numbers.format_currency(
            amount, currency, format=pattern, locale=lang.locale, currency_digits=not whole
        )
    except babel_numbers.UnknownCurrencyError:  # a code CLDR does not know: written out as it is
        text = babel_numbers.format_currency(
            amount, "XXX", format=pattern, locale=lang.locale, currency_digits=False
        ).replace("XXX", currency)
    return _spaced_symbol(str(text), str(babel_numbers.get_currency_symbol(currency, lang.locale)))


def _spaced_symbol(text: str, symbol: str) -> str:
    """CLDR's currency spacing: a symbol that ends (or starts) with a letter gets a no-break space where it
    touches a digit ("CHF 20", not "CHF20"); € and ₹ stay close."""
    at = text.find(symbol)
    if at < 0 or not symbol:
        return text
    end = at + len(symbol)
    if end < len(text) and text[end].isdigit() and not unicodedata.category(symbol[-1]).startswith("S"):
        return text[:end] + NO_BREAK + text[end:]
    if at > 0 and text[at - 1].isdigit() and not unicodedata.category(symbol[0]).startswith("S"):
        return text[:at] + NO_BREAK + text[at:]
    return text


def quantity(
    kind: str, amount: Decimal, unit: str | None, lang: Language, unit_language: str | None = None
) -> str:
    """€1,000 · 12 hours · 1 person · 30 people · 50 meals, in the language. A unit the group named, such as
    "meals", is the group's word, typed in the plural in `unit_language` (the campaign's; the reader's when not
    known): only an English one is made singular for one ("1 meal"), by English rules; in any other language
    it is shown as typed, since its plural rules are not English ones ("1 panes" rather than "1 pane")."""
    if kind == "money":
        return money(amount, unit or "XXX", lang)
    shown = number(amount, lang)
    count = int(amount) if amount == amount.to_integral_value() else 2  # 2.5 hours reads as a plural
    if kind == "hours":
        return lang.ngettext("%(num)s hour", "%(num)s hours", count, num=shown)
    if kind == "people":
        return lang.ngettext("%(num)s person", "%(num)s people", count, num=shown)
    if unit and unit != DEFAULT_UNIT:
        english = (unit_language or lang.code).split("-")[0].lower() == SOURCE_LANGUAGE
        one = singular_unit(unit) if count == 1 and english else unit
        return lang.gettext("%(num)s %(unit)s", num=shown, unit=one)
    # No unit named (the goal's default, "items"): the language's own word and plural forms.
    return lang.ngettext("%(num)s item", "%(num)s items", count, num=shown)


def progress(
    kind: str, pledged: Decimal, target: Decimal, unit: str | None, lang: Language, unit_language: str | None = None
) -> str:
    """€340 of €1,000 · 12 of 40 hours: how far one goal is."""
    done = money(pledged, unit or "XXX", lang) if kind == "money" else number(pledged, lang)
    return lang.gettext(
        "%(pledged)s of %(target)s", pledged=done, target=quantity(kind, target, unit, lang, unit_language)
    )


def joined(parts: Sequence[str]) -> str:
    """Parts of one line, as the pages separate them."""
    return " · ".join(parts)


def count(count: int, withheld: bool, minimum: int, lang: Language) -> str:
    """A head count as the public may see it: the number, or "fewer than N" where it is small (or is 0 only
    because a small part was withheld; rules/disclosure.py decides which)."""
    if counted_as(count, withheld, minimum) != count:
        return lang.gettext("fewer than %(minimum)s", minimum=number(minimum, lang))
    return number(count, lang)


def pledged(count_: int, withheld: bool, minimum: int, lang: Language) -> str:
    """ "1 person pledged", "3 people pledged", "fewer than 3 people pledged": a head count the public may
    read, in a sentence."""
    return lang.ngettext(
        "%(num)s person pledged",
        "%(num)s people pledged",
        counted_as(count_, withheld, minimum),
        num=count(count_, withheld, minimum, lang),
    )


def counted_as(count: int, withheld: bool, minimum: int) -> int:
    """The number whose plural form the words after a head count take: the count, or N for "fewer than N"."""
    if 0 < count < minimum or (withheld and count < minimum):
        return minimum
    return count


def day(moment: date, lang: Language, width: str = "long") -> str:
    """15 January 2027 · 15 de enero de 2027 · 15 जनवरी 2027 ("medium": 15 Jan 2027)."""
    return str(babel_dates.format_date(moment, width, locale=lang.locale))


def short_day(moment: datetime, zone_name: str, lang: Language) -> str:
    """15 Jan · 15 ene: a chart's axis."""
    local = moment.astimezone(zone(zone_name))
    return str(babel_dates.format_skeleton("MMMd", local, locale=lang.locale))


def moment(moment: datetime, zone_name: str, lang: Language) -> str:
    """15 January 2027, 18:00 (Europe/Madrid): a date and time in the group's zone, which is named."""
    local = moment.astimezone(zone(zone_name))
    day_text = babel_dates.format_date(local.date(), "long", locale=lang.locale)
    time_text = babel_dates.format_time(local.time(), "HH:mm", locale=lang.locale)
    return lang.gettext("%(day)s, %(time)s (%(zone)s)", day=day_text, time=time_text, zone=zone_name)


def money_line(totals: MoneyTotals, lang: Language) -> str:
    """€700 raised · €250 spent · €450 left (or "… overspent"): a money record's line."""
    values = {
        "raised": money(totals.raised, totals.currency, lang),
        "spent": money(totals.spent, totals.currency, lang),
        "left": money(abs(totals.left), totals.currency, lang),
    }
    if totals.left < 0:
        return lang.gettext("%(raised)s raised · %(spent)s spent · %(left)s overspent", **values)
    return lang.gettext("%(raised)s raised · %(spent)s spent · %(left)s left", **values)


def contributions(goals: Sequence[Goal], given: Iterable[Contribution], lang: Language) -> str:
    """Amounts per kind in the goals' order and units: "2 people · 2 hours"; "nothing" when there are none."""
    sums: dict[str, Decimal] = {}
    for c in given:
        sums[c.kind] = sums.get(c.kind, Decimal(0)) + c.amount
    parts = [quantity(g.kind, sums[g.kind], g.unit, lang) for g in goals if sums.get(g.kind)]
    return joined(parts) or lang.gettext("nothing")


def outcome(lines: Sequence[OutcomeLine], lang: Language) -> str:
    """Goal by goal, what was pledged and given: "1.000 €: 800 € comprometido, 650 € entregado" (the pages'
    words; tallies.outcome_text is the English that federates for a campaign of no recorded language)."""
    parts = []
    for line in lines:
        goal = line.goal
        if goal.kind == "money":
            pledged_ = money(line.pledged, goal.unit or "XXX", lang)
            given = money(line.fulfilled, goal.unit or "XXX", lang)
        else:
            pledged_, given = number(line.pledged, lang), number(line.fulfilled, lang)
        parts.append(
            lang.gettext(
                "%(goal)s: %(pledged)s pledged, %(given)s given",
                goal=quantity(goal.kind, goal.target, goal.unit, lang), pledged=pledged_, given=given,
            )  # fmt: skip
        )
    return joined(parts)


def contributor(line: ContributorLine, goals: Sequence[Goal], lang: Language) -> str:
    """Our members, or a partner group: what it pledged beside what it delivered (never a person)."""
    if line.fewer_than is not None:
        return lang.gettext(
            "%(who)s: fewer than %(count)s people pledged", who=line.who, count=number(line.fewer_than, lang)
        )
    return lang.gettext(
        "%(who)s: pledged %(pledged)s, delivered %(delivered)s",
        who=lang.gettext(line.who) if line.partner is None else line.who,
        pledged=contributions(goals, line.pledged, lang),
        delivered=contributions(goals, line.delivered, lang),
    )


def span(start: datetime, end: datetime, zone_name: str, lang: Language) -> str:
    """15 January 2027, 18:00–20:00 (Europe/Madrid); the end's day too when it is another day."""
    tz = zone(zone_name)
    first, last = start.astimezone(tz), end.astimezone(tz)
    start_text = lang.gettext(
        "%(day)s, %(time)s",
        day=babel_dates.format_date(first.date(), "long", locale=lang.locale),
        time=babel_dates.format_time(first.time(), "HH:mm", locale=lang.locale),
    )
    end_time = babel_dates.format_time(last.time(), "HH:mm", locale=lang.locale)
    end_text = (
        end_time
        if last.date() == first.date()
        else lang.gettext(
            "%(day)s, %(time)s",
            day=babel_dates.format_date(last.date(), "long", locale=lang.locale),
            time=end_time,
        )
    )
    return f"{start_text}–{end_text} ({zone_name})"
