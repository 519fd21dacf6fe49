"""Building our campaign documents: a campaign as a poll (Question) or a Note, its outcome, and a group
pledge to a partner's campaign. Pure: plain values in, dicts out (the activities that carry them are
vocab's)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from fedgroup.protocol.ids import LocalIds
from fedgroup.protocol.vocab import (
    CAMPAIGN_CONTEXT,
    OBJECT_CONTEXT,
    addressing,
    paragraphs_html,
    words_of,
    xsd_datetime,
)
from fedgroup.rules import campaigns, disclosure, formats, languages, tallies
from fedgroup.rules.campaign_state import CampaignState
from fedgroup.rules.campaigns import Goal

# Fewer options than this and a campaign is a `Note`, not a poll: Takahē compacts every incoming document with
# JSON-LD, which turns a one-item `oneOf` into a bare object that its poll model then refuses, so a one-option
# `Question` never arrives there.
MIN_POLL_OPTIONS = 2


def goals_line(goals: Sequence[Goal], lang: languages.Language, unit_language: str | None = None) -> str:
    """What is asked, in `lang` ("Objetivos: 1.000 € · 40 horas"). English keeps campaigns.goals_text to the
    byte: a changed `content` reads as an edit on GoToSocial, Iceshrimp.NET and Mitra."""
    if not goals:
        return ""
    if lang.is_source:
        return campaigns.goals_text(goals)
    return lang.gettext(
        "Goals: %(goals)s",
        goals=formats.joined(
            [formats.quantity(g.kind, g.target, g.unit, lang, unit_language) for g in goals]
        ),
    )


def is_poll(state: CampaignState) -> bool:
    """Whether the campaign federates as a `Question` (people on other servers pledge by voting)."""
    return len(state.options) >= MIN_POLL_OPTIONS


def poll_end(state: CampaignState) -> datetime | None:
    """When voting ends as other servers should show it: the deadline, or the closing time once closed
    early. Takahē ignores `closed` and keeps a poll open until `endTime`, so closing moves `endTime` too."""
    row = state.row
    if row.status == "closed" and row.closed_at is not None:
        return min(row.closed_at, row.deadline) if row.deadline is not None else row.closed_at
    return row.deadline


def campaign_object(
    ids: LocalIds, state: CampaignState, page_url: str | None = None, *, minimum: int
) -> dict[str, Any]:
    """A campaign as Mastodon and other fedgroup servers read it.

    With two or more pledge options it is a `Question` (a poll: each option's replies.totalItems is the number
    of pledges for it, votersCount how many pledged, endTime the deadline or closing time, closed once
    closed); otherwise a `Note`. The title and the goals' targets lead `content`, and there is no `name`:
    GoToSocial and Takahē show `name` as a content warning, Misskey as a heading above the text, so the title
    would be folded away or shown twice. fedgroup servers read the title from `campaignTitle` and the goals,
    targets and totals from the other fedgroup terms.

    `contentMap` gives `content` under the campaign's language (recorded at creation: the group's), and, when
    an organizer wrote one, the title and text in a second language under that language's code; the poll
    options carry `nameMap` in the campaign's language. A campaign from before languages were recorded has
    neither (its language is not known).
    """
    row = state.row
    to, cc = addressing(ids, row.visibility)
    object_id = ids.campaign(row.id)
    tally = state.tally
    public = disclosure.public_counts(tally, minimum)  # head counts are public: small parts of ours withheld
    # `content` changes only with an edit: GoToSocial, Iceshrimp.NET and Mitra record any change of it as
    # an edit (GoToSocial and Iceshrimp.NET notify everyone who interacted), so live totals would turn every
    # totals Update into one. The goals' targets are here; the totals are in the poll counts and `goals`.
    # Each language's entry says its fixed words in that language (`content` is the campaign's language's).
    words = words_of(row.language)
    content = f"<p><strong>{html.escape(row.title)}</strong></p>{paragraphs_html(row.body)}"
    goals = goals_line(state.goals, words)
    if goals:
        content += f"<p>{html.escape(goals)}</p>"
    if row.outcome:
        content += f"<p>{html.escape(words.gettext('Outcome: %(outcome)s', outcome=row.outcome))}</p>"
    second = campaigns.parse_second_language(row.second_language)
    poll = is_poll(state)
    doc: dict[str, Any] = {
        "@context": CAMPAIGN_CONTEXT,
        "id": object_id,
        "type": "Question" if poll else "Note",
        "attributedTo": ids.group,
        "content": content,
        "mediaType": "text/html",
        "url": page_url or object_id,
        "published": xsd_datetime(row.created_at),
        "to": to,
        "cc": cc,
        "sensitive": False,
        "campaignTitle": row.title,
        "goals": [
            {
                "type": "Goal",
                "kind": line.goal.kind,
                "target": campaigns.amount_text(line.goal.target),
                "pledged": campaigns.amount_text(line.pledged),
            }
            | ({"unit": line.goal.unit} if line.goal.unit else {})
            for line in tally.progress
        ],
        "pledgers": public.pledgers,
        "partnerGroups": tally.partner_groups,
        "campaignStatus": row.status,
    }
    if row.language:
        doc["contentMap"] = {row.language: content}
        if second is not None:
            second_goals = goals_line(state.goals, words_of(second.language), row.language)
            doc["contentMap"][second.language] = (
                f"<p><strong>{html.escape(second.title)}</strong></p>{paragraphs_html(second.body)}"
                + (f"<p>{html.escape(second_goals)}</p>" if second_goals else "")
            )
    if row.updated_at != row.created_at:
        doc["updated"] = xsd_datetime(row.updated_at)
    if row.outcome:
        doc["outcome"] = row.outcome
    if row.adapted_from:
        doc["adaptedFrom"] = row.adapted_from
    end = poll_end(state)
    if end is not None:
        # On a Note too: servers show no poll for it, and fedgroup servers read the deadline from it.
        doc["endTime"] = xsd_datetime(end)
    if state.options:
        doc["pledgeOptions"] = [
            {"name": o.label, "kind": o.kind, "amount": campaigns.amount_text(o.amount)}
            for o in state.options
        ]
    if poll:
        counts = dict(public.options)
        doc["anyOf" if row.multiple_choice else "oneOf"] = [
            {
                "type": "Note",
                "name": o.label,
                "replies": {"type": "Collection", "totalItems": counts.get(o.label, 0)},
            }
            | ({"nameMap": {row.language: o.label}} if row.language else {})
            for o in state.options
        ]
        doc["votersCount"] = public.pledgers
        if row.status == "closed" and row.closed_at is not None:
            doc["closed"] = xsd_datetime(row.closed_at)
    return doc


def outcome_note(
    ids: LocalIds, state: CampaignState, summary: str, published: datetime, updated: datetime | None = None
) -> dict[str, Any]:
    """The outcome report: a reply to the campaign, addressed like it. Once the campaign was reopened it says
    so: its figures are live again (or, closed again, final as of then)."""
    row = state.row
    to, cc = addressing(ids, row.visibility)
    report = row.outcome or ""
    # In the campaign's language, as its `contentMap` says (`summary` is worded so by actions.outcome_summary).
    words = words_of(row.language)
    restated = ""
    if row.reopened_at is not None:
        when = formats.day(row.reopened_at.date(), words)
        if row.status == "open":
            said = words.gettext(
                "Reopened on %(day)s: the campaign takes pledges again, so these figures may still change.",
                day=when,
            )
        else:
            said = words.gettext(
                "Reopened on %(day)s and closed again: these are its final figures.", day=when
            )
        restated = f"<p>{html.escape(said)}</p>"
    heading = words.gettext("Outcome: %(outcome)s", outcome=row.title)
    content = (
        f"<p><strong>{html.escape(heading)}</strong></p>{paragraphs_html(report)}"
        + restated
        + "".join(f"<p>{html.escape(line)}</p>" for line in summary.splitlines())
    )
    doc: dict[str, Any] = {
        "@context": OBJECT_CONTEXT,
        "id": f"{ids.campaign(row.id)}/outcome",
        "type": "Note",
        "attributedTo": ids.group,
        "inReplyTo": ids.campaign(row.id),
        "content": content,
        "mediaType": "text/html",
        "published": xsd_datetime(published),
        "to": to,
        "cc": cc,
    }
    if row.language:
        doc["contentMap"] = {row.language: content}
    if updated is not None:
        doc["updated"] = xsd_datetime(updated)
    return doc


def group_pledge(
    ids: LocalIds,
    pledge_id: str,
    partner_group: str,
    campaign_id: str,
    aggregate: tallies.GroupAggregate,
    summary: str,
) -> dict[str, Any]:
    """Our group's aggregate pledge to a partner's campaign: amounts per option or goal and head counts,
    never names. An activity like Like (so it can be replaced by Update and withdrawn by Undo). `delivered`:
    what our members did of it, per kind. A withheld aggregate carries only `pledgersFewerThan`."""
    doc: dict[str, Any] = {
        "@context": CAMPAIGN_CONTEXT,
        "id": pledge_id,
        "type": "Pledge",
        "actor": ids.group,
        "object": campaign_id,
        "to": [partner_group],
        "content": summary,
    }
    if aggregate.fewer_than is not None:
        doc["pledgersFewerThan"] = aggregate.fewer_than
        return doc
    doc["pledgers"] = aggregate.pledgers
    doc["contributions"] = [
        {
            "kind": line.contribution.kind,
            "amount": campaigns.amount_text(line.contribution.amount),
            "option": line.option,
            "pledgers": line.pledgers,
        }
        for line in aggregate.lines
    ]
    doc["delivered"] = [
        {"kind": c.kind, "amount": campaigns.amount_text(c.amount)} for c in aggregate.delivered
    ]
    return doc
