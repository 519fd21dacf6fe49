"""Reading campaign documents: polls (Question), fedgroup's extension (partner groups' campaigns, their
member bound, group pledges). Pure: a dict in, a value or a ParseError out."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from fedgroup.protocol.jsonld import as_list
from fedgroup.protocol.parse import ParseError, is_addressed_publicly, language_text, parse_note, text_value
from fedgroup.rules.campaigns import (
    MAX_LABEL,
    CampaignError,
    Contribution,
    Goal,
    PledgeOption,
    make_goal,
    parse_amount,
)
from fedgroup.rules.tallies import AggregateLine, GroupAggregate


@dataclass(frozen=True)
class Question:
    id: str
    attributed_to: str | None
    name: str | None
    content: str | None
    end_time: str | None
    closed: str | None
    voters_count: int | None
    multiple: bool
    options: tuple[tuple[str, int], ...]


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def parse_question(obj: dict[str, Any]) -> Question:
    note = parse_note(obj)
    multiple = "anyOf" in obj and "oneOf" not in obj
    options = []
    for option in as_list(obj.get("anyOf") if multiple else obj.get("oneOf")):
        if not isinstance(option, dict):
            continue
        label = language_text(option, "name")
        if label is None:
            continue
        replies = option.get("replies")
        total = _count(replies.get("totalItems")) if isinstance(replies, dict) else 0
        options.append((label, total))
    closed = obj.get("closed")
    voters = obj.get("votersCount")
    return Question(
        id=note.id,
        attributed_to=note.attributed_to,
        name=note.name,
        content=note.content,
        end_time=text_value(obj.get("endTime")),
        closed=closed if isinstance(closed, str) else ("closed" if closed is True else None),
        voters_count=_count(voters) if voters is not None else None,
        multiple=multiple,
        options=tuple(options),
    )


MAX_EXTENSION_ITEMS = 20


MAX_PLEDGERS = 1_000_000
# The largest "fewer than" a withheld aggregate may claim (rules.disclosure.MAX_MINIMUM).
MAX_DISCLOSURE_MINIMUM = 100


@dataclass(frozen=True)
class PartnerCampaignDoc:
    id: str
    attributed_to: str | None
    title: str
    content: str
    url: str | None
    goals: tuple[Goal, ...]
    pledged: tuple[Decimal, ...]  # per goal, as the partner counts it
    options: tuple[PledgeOption, ...]
    option_counts: tuple[int, ...]
    deadline: datetime | None
    closed: bool
    public: bool
    published: datetime | None
    # `contentMap` as sent: (language tag, html) pairs, at most MAX_LANGUAGES, tags checked; not sanitized yet.
    content_map: tuple[tuple[str, str], ...] = ()


MAX_LANGUAGES = 10
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,3}")


def content_map(obj: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """The text of a document per language (`contentMap`), keeping only entries whose key looks like a BCP 47
    language tag and whose value is a string; the first MAX_LANGUAGES of them."""
    mapped = obj.get("contentMap")
    if not isinstance(mapped, dict):
        return ()
    pairs = [
        (tag, text)
        for tag, text in mapped.items()
        if isinstance(tag, str) and isinstance(text, str) and _LANGUAGE_TAG.fullmatch(tag)
    ]
    return tuple(pairs[:MAX_LANGUAGES])


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _extension_list(doc: dict[str, Any], key: str) -> list[dict[str, Any]]:
    items = [i for i in as_list(doc.get(key)) if isinstance(i, dict)]
    if len(items) > MAX_EXTENSION_ITEMS:
        raise ParseError("too-many-items", key)
    return items


def campaign_title(obj: dict[str, Any]) -> str | None:
    """A fedgroup campaign's title: `campaignTitle` (fedgroup's own term), else `name`, where fedgroup servers
    before it put the title (and where GoToSocial, Takahē and Misskey showed it as a warning or a heading)."""
    title = obj.get("campaignTitle")
    return title if isinstance(title, str) and title.strip() else language_text(obj, "name")


def parse_partner_campaign(obj: dict[str, Any]) -> PartnerCampaignDoc:
    """A campaign another fedgroup server federated (Question or Note with fedgroup goals). Everything in the
    extension is checked as strictly as our own forms: the sender may not be a fedgroup at all."""
    note = parse_note(obj)
    try:
        goals, pledged = [], []
        for item in _extension_list(obj, "goals"):
            kind = str(item.get("kind", ""))
            goal = make_goal(kind, parse_amount(kind, str(item.get("target", "")), "goals"), item.get("unit"))
            goals.append(goal)
            raw_pledged = str(item.get("pledged", "0"))
            pledged.append(
                Decimal(0) if raw_pledged in ("0", "0.0") else parse_amount("money", raw_pledged, "goals")
            )
        if len({g.kind for g in goals}) != len(goals):
            raise ParseError("duplicate-goals")
        options = []
        for item in _extension_list(obj, "pledgeOptions"):
            label = item.get("name")
            kind = str(item.get("kind", ""))
            if (
                not isinstance(label, str)
                or not 0 < len(label) <= MAX_LABEL
                or kind not in {g.kind for g in goals}
            ):
                raise ParseError("bad-option")
            options.append(
                PledgeOption(label, kind, parse_amount(kind, str(item.get("amount", "")), "options"))
            )
    except CampaignError as e:
        raise ParseError("bad-extension", str(e)) from e
    question = parse_question(obj) if "oneOf" in obj or "anyOf" in obj else None
    counts = dict(question.options) if question else {}
    return PartnerCampaignDoc(
        id=note.id,
        attributed_to=note.attributed_to,
        title=(campaign_title(obj) or "")[:200],
        content=note.content or "",
        url=note.url,
        goals=tuple(goals),
        pledged=tuple(pledged),
        options=tuple(options),
        option_counts=tuple(counts.get(o.label, 0) for o in options),
        deadline=_moment(obj.get("endTime")),
        closed=bool(obj.get("closed")) or obj.get("campaignStatus") == "closed",
        public=is_addressed_publicly(obj),
        published=_moment(obj.get("published")),
        content_map=content_map(obj),
    )


def parse_member_bound(actor_document: dict[str, Any]) -> int | None:
    """The most members a group says it has (`membersAtMost`, which fedgroup groups publish), or None when it
    says nothing usable: a positive whole number, not a boolean, a float or a string."""
    value = actor_document.get("membersAtMost") if isinstance(actor_document, dict) else None
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_PLEDGERS:
        return value
    return None


def parse_group_pledge(doc: dict[str, Any]) -> GroupAggregate:
    """A partner group's aggregate pledge: contributions with kinds, decimal amounts and head counts, and
    what was delivered per kind; or, withheld by its sender, only `pledgersFewerThan` (no figures)."""
    if "pledgersFewerThan" in doc:
        fewer = doc.get("pledgersFewerThan")
        if (
            not isinstance(fewer, int) or isinstance(fewer, bool) or not 2 <= fewer <= MAX_DISCLOSURE_MINIMUM
            or "pledgers" in doc or doc.get("contributions") or doc.get("delivered")
        ):  # fmt: skip
            raise ParseError("bad-withheld-aggregate")
        return GroupAggregate(0, (), (), fewer_than=fewer)
    pledgers = doc.get("pledgers")
    if not isinstance(pledgers, int) or isinstance(pledgers, bool) or not 0 <= pledgers <= MAX_PLEDGERS:
        raise ParseError("bad-pledgers")
    lines = []
    try:
        for item in _extension_list(doc, "contributions"):
            kind = str(item.get("kind", ""))
            amount = parse_amount(kind, str(item.get("amount", "")), "amount")
            option = item.get("option")
            count = item.get("pledgers", 0)
            if option is not None and (not isinstance(option, str) or len(option) > MAX_LABEL):
                raise ParseError("bad-option")
            if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= pledgers:
                raise ParseError("bad-pledgers")
            lines.append(AggregateLine(Contribution(kind, amount), option, count))
    except CampaignError as e:
        raise ParseError("bad-contribution", str(e)) from e
    delivered = []
    try:
        for item in _extension_list(doc, "delivered"):
            kind = str(item.get("kind", ""))
            delivered.append(Contribution(kind, parse_amount(kind, str(item.get("amount", "")), "delivered")))
    except CampaignError as e:
        raise ParseError("bad-delivered", str(e)) from e
    return GroupAggregate(pledgers, tuple(lines), tuple(delivered))
