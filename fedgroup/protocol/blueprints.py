"""Blueprints as ActivityStreams documents, out and in. Pure: plain values in, dicts or dataclasses out.

A blueprint is an `Article` (so Mastodon and others show its name, summary and link) that is also a
`fedgroup:Blueprint`: its case study, results and template in fedgroup terms. An adoption is reported with a
`fedgroup:Adopt` activity; the receiver believes none of its numbers without the adopter's campaign document.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from fedgroup.protocol.ids import LocalIds
from fedgroup.protocol.jsonld import as_list, id_of, types_of
from fedgroup.protocol.parse import (
    ParseError,
    is_addressed_publicly,
    is_http_url,
    language_text,
    parse_note,
    same_origin,
)
from fedgroup.protocol.parse_campaigns import campaign_title
from fedgroup.protocol.vocab import (
    AS_CONTEXT,
    FEDGROUP_TERMS,
    addressing,
    paragraphs_html,
    words_of,
    xsd_datetime,
)
from fedgroup.rules import blueprints as blueprint_rules
from fedgroup.rules import campaigns, formats, languages
from fedgroup.rules.blueprints import CaseStudy, ResultLine, Template
from fedgroup.rules.campaigns import CampaignError, Goal, PledgeOption, amount_text, make_goal, parse_amount

BLUEPRINT_TERMS: dict[str, Any] = {
    **FEDGROUP_TERMS,
    "Blueprint": "fedgroup:Blueprint",
    "Adopt": "fedgroup:Adopt",
    "whatWorked": "fedgroup:whatWorked",
    "steps": {"@id": "fedgroup:steps", "@container": "@list"},
    "doDifferently": "fedgroup:doDifferently",
    "results": {"@id": "fedgroup:results", "@container": "@list"},
    "fulfilled": "fedgroup:fulfilled",
    "succeeded": "fedgroup:succeeded",
    "durationDays": "fedgroup:durationDays",
    "template": "fedgroup:template",
    "multipleChoice": "fedgroup:multipleChoice",
    "campaign": {"@id": "fedgroup:campaign", "@type": "@id"},
    "unlisted": "fedgroup:unlisted",
}
BLUEPRINT_CONTEXT: list[Any] = [AS_CONTEXT, BLUEPRINT_TERMS]
BLUEPRINT_TYPES = ["Article", "Blueprint"]
# What we read of a remote template or report at most: a real one has a handful of each.
MAX_ITEMS = 20


@dataclass(frozen=True)
class BlueprintFacts:
    """One of our blueprints as the document needs it."""

    number: int
    study: CaseStudy
    template: Template
    results: tuple[ResultLine, ...]
    succeeded: bool
    duration_days: int
    campaign_number: int
    adapted_from: str | None
    visibility: str
    published: Any  # datetime


def blueprint_url(ids: LocalIds, number: int) -> str:
    return f"{ids.base_url}/blueprints/{number}"


def _result_json(line: ResultLine) -> dict[str, Any]:
    doc = {
        "kind": line.kind,
        "target": amount_text(line.target),
        "pledged": amount_text(line.pledged),
        "fulfilled": amount_text(line.fulfilled),
    }
    return doc | ({"unit": line.unit} if line.unit else {})


def _quantity(kind: str, amount: Decimal, unit: str | None) -> str:
    return campaigns.format_quantity(kind, amount, unit)


def _results_line(facts: BlueprintFacts, lang: languages.Language) -> str:
    """What each goal asked, got pledged and given, and how long it ran: English as it always was (a changed
    `content` reads as an edit on several servers), other languages in their words and number forms."""
    if lang.is_source:
        cost = " · ".join(
            f"{_quantity(r.kind, r.target, r.unit)} asked, {_quantity(r.kind, r.pledged, r.unit)} pledged, "
            f"{_quantity(r.kind, r.fulfilled, r.unit)} given"
            for r in facts.results
        )
        return f"{cost} · {facts.duration_days} days"
    parts = [
        lang.gettext(
            "%(asked)s asked, %(pledged)s pledged, %(given)s given",
            asked=formats.quantity(r.kind, r.target, r.unit, lang),
            pledged=formats.quantity(r.kind, r.pledged, r.unit, lang),
            given=formats.quantity(r.kind, r.fulfilled, r.unit, lang),
        )
        for r in facts.results
    ]
    days = lang.ngettext("%(num)s day", "%(num)s days", facts.duration_days,
                         num=formats.number(facts.duration_days, lang))  # fmt: skip
    return " · ".join([*parts, days])


def blueprint_article(ids: LocalIds, facts: BlueprintFacts, language: str | None = None) -> dict[str, Any]:
    """The blueprint: an Article whose content tells the case study for people on any server. `language`:
    the group's; the fixed words ("What worked") are in it, and `contentMap`/`nameMap` name it."""
    url = blueprint_url(ids, facts.number)
    to, cc = addressing(ids, facts.visibility)
    study = facts.study
    words = words_of(language)
    content = paragraphs_html(study.summary)
    if study.what_worked:
        heading = html.escape(words.gettext("What worked"))
        content += f"<p><strong>{heading}</strong></p>" + paragraphs_html(study.what_worked)
    if study.steps:
        content += "<ol>" + "".join(f"<li>{html.escape(s)}</li>" for s in study.steps) + "</ol>"
    content += f"<p>{html.escape(_results_line(facts, words))}</p>"
    if study.do_differently:
        heading = html.escape(words.gettext("What we would do differently"))
        content += f"<p><strong>{heading}</strong></p>" + paragraphs_html(study.do_differently)
    template = facts.template
    doc: dict[str, Any] = {
        "@context": BLUEPRINT_CONTEXT,
        "id": url,
        "type": BLUEPRINT_TYPES,
        "attributedTo": ids.group,
        "name": study.title,
        "summary": study.summary,
        "content": content,
        "mediaType": "text/html",
        "url": url,
        "published": xsd_datetime(facts.published),
        "to": to,
        "cc": cc,
        "campaign": ids.campaign(facts.campaign_number),
        "whatWorked": study.what_worked,
        "steps": list(study.steps),
        "doDifferently": study.do_differently,
        "results": [_result_json(r) for r in facts.results],
        "succeeded": facts.succeeded,
        "durationDays": facts.duration_days,
        "template": {
            "campaignTitle": template.title,
            "content": template.body,
            "goals": [
                {"kind": g.kind, "target": amount_text(g.target)} | ({"unit": g.unit} if g.unit else {})
                for g in template.goals
            ],
            "pledgeOptions": [
                {"name": o.label, "kind": o.kind, "amount": amount_text(o.amount)} for o in template.options
            ],
            "multipleChoice": template.multiple_choice,
        },
    }
    if language:
        doc["nameMap"] = {language: study.title}
        doc["contentMap"] = {language: content}
    if facts.adapted_from:
        doc["adaptedFrom"] = facts.adapted_from
    return doc


def adopt_report(
    ids: LocalIds,
    activity_id: str,
    campaign_id: str,
    blueprint: str,
    origin_group: str,
    unlisted: bool,
    results: tuple[ResultLine, ...] | None,
) -> dict[str, Any]:
    """Tells a blueprint's group that our campaign ran it; with its totals once its outcome is published."""
    doc: dict[str, Any] = {
        "@context": BLUEPRINT_CONTEXT,
        "id": activity_id,
        "type": "Adopt",
        "actor": ids.group,
        "object": campaign_id,
        "target": blueprint,
        "to": [origin_group],
        "unlisted": unlisted,
    }
    if results is not None:
        doc["results"] = [_result_json(r) for r in results]
    return doc


# -- reading ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BlueprintDoc:
    id: str
    attributed_to: str
    title: str
    summary: str
    what_worked: str
    steps: tuple[str, ...]
    do_differently: str
    results: tuple[ResultLine, ...]
    duration_days: int | None
    template: Template
    adapted_from: str | None
    public: bool


def is_blueprint(doc: dict[str, Any]) -> bool:
    return isinstance(doc, dict) and "Blueprint" in types_of(doc)


def _items(value: Any, what: str) -> list[dict[str, Any]]:
    items = as_list(value)
    if len(items) > MAX_ITEMS:
        raise ParseError("too-many-items", what)
    if not all(isinstance(i, dict) for i in items):
        raise ParseError("bad-items", what)
    return items


def _plain(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _result_line(item: dict[str, Any]) -> ResultLine:
    kind = str(item.get("kind", ""))
    goal = make_goal(kind, parse_amount(kind, str(item.get("target", "")), "results"), item.get("unit"))
    amounts = []
    for key in ("pledged", "fulfilled"):
        raw = str(item.get(key, "0"))
        amounts.append(Decimal(0) if raw == "0" else parse_amount("money", raw, "results"))
    return ResultLine(goal.kind, goal.unit, goal.target, amounts[0], amounts[1])


def parse_results(value: Any) -> tuple[ResultLine, ...]:
    try:
        return tuple(_result_line(i) for i in _items(value, "results"))
    except CampaignError as e:
        raise ParseError("bad-results", str(e)) from e


def parse_blueprint(doc: dict[str, Any]) -> BlueprintDoc:
    """A blueprint another server serves, checked as strictly as our own forms: known goal kinds and
    currencies, decimal amounts, at most 20 goals or options, plain text within our limits (HTML in the
    case study's fields is kept as text, never as markup). ParseError says what is wrong."""
    if not is_blueprint(doc):
        raise ParseError("not-a-blueprint")
    note = parse_note(doc)
    if not note.attributed_to:
        raise ParseError("no-author")
    raw_template = doc.get("template")
    if not isinstance(raw_template, dict):
        raise ParseError("no-template")
    try:
        goals: list[Goal] = []
        for item in _items(raw_template.get("goals"), "goals"):
            kind = str(item.get("kind", ""))
            goals.append(
                make_goal(kind, parse_amount(kind, str(item.get("target", "")), "goals"), item.get("unit"))
            )
        options = []
        for item in _items(raw_template.get("pledgeOptions"), "pledgeOptions"):
            label, kind = item.get("name"), str(item.get("kind", ""))
            if not isinstance(label, str) or not 0 < len(label) <= campaigns.MAX_LABEL:
                raise CampaignError("an option's name is missing or too long", "template")
            options.append(
                PledgeOption(label, kind, parse_amount(kind, str(item.get("amount", "")), "options"))
            )
        template = blueprint_rules.check_template(
            _plain(raw_template.get("campaignTitle")) or _plain(doc.get("name")),
            _plain(raw_template.get("content")),
            goals,
            options,
            raw_template.get("multipleChoice") is True,
        )
        study = blueprint_rules.check_case_study(
            language_text(doc, "name") or template.title,
            language_text(doc, "summary") or template.title,
            _plain(doc.get("whatWorked")),
            [s for s in as_list(doc.get("steps"))[: blueprint_rules.MAX_STEPS + 1] if isinstance(s, str)],
            _plain(doc.get("doDifferently")),
        )
    except CampaignError as e:
        raise ParseError("bad-template", str(e)) from e
    duration = doc.get("durationDays")
    adapted_from = id_of(doc.get("adaptedFrom"))
    return BlueprintDoc(
        id=note.id,
        attributed_to=note.attributed_to,
        title=study.title,
        summary=study.summary,
        what_worked=study.what_worked,
        steps=study.steps,
        do_differently=study.do_differently,
        results=parse_results(doc.get("results")),
        duration_days=duration if _whole(duration) else None,
        template=template,
        adapted_from=adapted_from if is_http_url(adapted_from) else None,
        public=is_addressed_publicly(doc),
    )


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 100_000


@dataclass(frozen=True)
class AdoptReport:
    actor: str
    campaign: str
    blueprint: str
    unlisted: bool
    results: tuple[ResultLine, ...] | None


def parse_adopt(doc: dict[str, Any]) -> AdoptReport:
    actor = id_of(doc.get("actor"))
    campaign = id_of(doc.get("object"))
    blueprint = id_of(doc.get("target"))
    if not (is_http_url(actor) and is_http_url(campaign) and is_http_url(blueprint)):
        raise ParseError("bad-adopt")
    assert actor is not None and campaign is not None and blueprint is not None
    results = parse_results(doc.get("results")) if "results" in doc else None
    return AdoptReport(actor, campaign, blueprint, doc.get("unlisted") is True, results)


@dataclass(frozen=True)
class AdaptedCampaign:
    """An adopter's campaign as its own server serves it: what the origin checks a report against."""

    id: str
    attributed_to: str | None
    adapted_from: str | None
    title: str
    url: str
    goals: tuple[ResultLine, ...]  # target and pledged; fulfilled is not in a campaign document
    finished: bool


def parse_adapted_campaign(doc: dict[str, Any]) -> AdaptedCampaign:
    note = parse_note(doc)
    try:
        goals = tuple(
            ResultLine(line.kind, line.unit, line.target, line.pledged, Decimal(0))
            for line in (_result_line(i) for i in _items(doc.get("goals"), "goals"))
        )
    except CampaignError as e:
        raise ParseError("bad-goals", str(e)) from e
    adapted_from = id_of(doc.get("adaptedFrom"))
    url = note.url if note.url and same_origin(note.url, note.id) else note.id
    return AdaptedCampaign(
        id=note.id,
        attributed_to=note.attributed_to,
        adapted_from=adapted_from if is_http_url(adapted_from) else None,
        title=campaigns.clean_line(campaign_title(doc) or "")[: campaigns.MAX_TITLE] or "a campaign",
        url=url,
        goals=goals,
        finished=bool(doc.get("outcome"))
        and (doc.get("campaignStatus") == "closed" or bool(doc.get("closed"))),
    )
