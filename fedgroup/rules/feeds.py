"""What the group's feeds hold: an Atom entry for each campaign and each outcome, and calendar items for
deadlines. Pure: plain values in, plain values out (ui/feeds.py writes the documents, actions/feeds.py reads
what goes in).

Who reads a feed decides what it holds. The public feeds hold public campaigns only, and nothing of any
member; a member's private feeds (behind their secret link) hold every campaign members see, and the
deadlines of what they pledged to, with their pledge.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from fedgroup.rules.campaign_state import CampaignRecord

# The public sees public campaigns; a signed-in member sees these three on the group page, and so in their feed.
PUBLIC_VISIBILITIES = ("public",)
MEMBER_VISIBILITIES = ("public", "followers", "members")
# An Atom feed is a window, not an archive: the newest entries, as feed readers expect.
MAX_ENTRIES = 50

VISIBILITY_LABELS = {
    "public": "Public",
    "followers": "Followers only",
    "members": "Members only",
}

# Characters XML 1.0 cannot carry at all (a feed holding one is not well-formed and readers drop it whole).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def xml_text(text: str) -> str:
    """`text` without the characters an XML document cannot hold (escaping is the XML writer's work)."""
    return _NOT_XML.sub("", text)


@dataclass(frozen=True)
class FeedEntry:
    """One Atom entry. `id` is stable for the life of what it describes: the campaign's URL (or its outcome's),
    never something that changes with a link or an edit."""

    id: str
    title: str
    link: str
    published: datetime
    updated: datetime
    text: str  # plain text; the writer escapes it
    category: str = ""  # a visibility, shown in members' feeds


@dataclass(frozen=True)
class CalendarItem:
    """One calendar event. A deadline is a moment (no end); a gathering has an end and maybe a place.
    `changed` is when what the item says last changed (DTSTAMP and LAST-MODIFIED): feeds stay byte-stable
    between changes, so calendar apps see nothing new when nothing is."""

    uid: str
    title: str
    starts: datetime
    link: str
    description: str
    changed: datetime
    ends: datetime | None = None
    location: str = ""
    cancelled: bool = False


def campaign_entries(
    row: CampaignRecord, url: str, deadline_text: str | None, outcome_summary: str, with_visibility: bool
) -> list[FeedEntry]:
    """The entries of one campaign: the campaign itself, and its outcome once reported (an entry of its own, so
    that a feed reader shows the outcome as news rather than as a silent edit of an old entry).
    `deadline_text` is the deadline as people read it (in the group's time zone); `outcome_summary` the
    aggregate figures the outcome report carries."""
    category = row.visibility if with_visibility else ""
    lines = [row.body]
    if deadline_text:
        lines.append(f"Deadline: {deadline_text}")
    if with_visibility and row.visibility != "public":
        lines.append(VISIBILITY_LABELS.get(row.visibility, row.visibility))
    entries = [
        FeedEntry(
            id=url,
            title=row.title,
            link=url,
            published=row.created_at,
            updated=max(row.updated_at, row.created_at),
            text="\n\n".join(lines),
            category=category,
        )
    ]
    if row.outcome and row.outcome_at is not None:
        text = row.outcome + (f"\n\n{outcome_summary}" if outcome_summary else "")
        entries.append(
            FeedEntry(
                id=f"{url}/outcome",  # the outcome report's own id (FEDERATION.md)
                title=f"Outcome: {row.title}",
                link=f"{url}#outcome-heading",
                published=row.outcome_at,
                updated=row.outcome_at,
                text=text,
                category=category,
            )
        )
    return entries


def newest(entries: list[FeedEntry], limit: int = MAX_ENTRIES) -> list[FeedEntry]:
    """The `limit` most recently updated entries, newest first; ties in a fixed order (by id)."""
    return sorted(entries, key=lambda e: (e.updated, e.id), reverse=True)[:limit]


def deadline_item(
    uid: str,
    title: str,
    deadline: datetime,
    link: str,
    changed: datetime,
    about: str,
    closed_at: datetime | None,
) -> CalendarItem:
    """A campaign's deadline as a calendar event at that moment. A campaign closed before its deadline keeps
    its event, marked cancelled, so that calendars that had it drop it rather than keep a stale one (one
    closed at its deadline, as the clock closes them, is not cancelled: it ended as planned)."""
    closed_early = closed_at is not None and closed_at < deadline
    return CalendarItem(
        uid=uid,
        title=f"Deadline: {title}",
        starts=deadline,
        link=link,
        description="\n\n".join(
            x for x in ("Closed before its deadline." if closed_early else "", about) if x
        ),
        changed=changed,
        cancelled=closed_early,
    )


def pledge_line(pledged: list[str]) -> str:
    """What the member pledged, as their own calendar tells them."""
    return f"You pledged: {'; '.join(pledged)}." if pledged else ""
