"""Gatherings as documents: the ActivityStreams `Event` (shaped as Mobilizon writes and reads one, so that
Mobilizon and Gancio show it as an event and Mastodon as a post with its title, when and where, and a link),
the answers to a remote RSVP, reading a remote RSVP, and the iCalendar file. Pure: plain values in, plain
values out. Counts go out; who comes never does.

Shapes: Mobilizon's lib/federation/activity_stream/converter/event.ex (model_to_as and as_to_model_data) and
the context of lib/federation/activity_pub/utils.ex; Gancio's server/federation/events.js (reads `name`,
`startTime`, `endTime`, `content`, `location.name`, `location.address`, and `attachment[0]` as an image);
Mastodon's ActivityPub::Activity (Event is one of its CONVERTED_TYPES: a status with `name` as a heading,
`summary`, and a link to `url`)."""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fedgroup.protocol.ids import LocalIds
from fedgroup.protocol.jsonld import id_of, types_of
from fedgroup.protocol.parse import Activity
from fedgroup.protocol.vocab import AS_CONTEXT, addressing, paragraphs_html, words_of, xsd_datetime
from fedgroup.rules import disclosure, formats, gatherings, languages, timezones
from fedgroup.rules.gatherings import Counts, GatheringRecord

# Mobilizon's terms (schema.org, iCal and its own mz: namespace), inline so nobody fetches a context. Mobilizon
# reads the plain keys; a JSON-LD reader (Fedify) reads the terms, so `location`, `latitude` and `longitude`
# stay ActivityStreams' own (Mobilizon's header remaps `location` to schema.org, which would hide the place
# from such a reader), and `address`, a string here, is schema.org's without a type coercion.
EVENT_TERMS: dict[str, Any] = {
    "sc": "http://schema.org#",
    "ical": "http://www.w3.org/2002/12/cal/ical#",
    "mz": "https://joinmobilizon.org/ns#",
    "pt": "https://joinpeertube.org/ns#",
    "maximumAttendeeCapacity": "sc:maximumAttendeeCapacity",
    "remainingAttendeeCapacity": "sc:remainingAttendeeCapacity",
    "address": "sc:address",
    "joinModeType": {"@id": "mz:joinModeType", "@type": "rdfs:Class"},
    "joinMode": {"@id": "mz:joinMode", "@type": "mz:joinModeType"},
    "participantCount": {"@id": "mz:participantCount", "@type": "sc:Integer"},
    "isOnline": {"@id": "mz:isOnline", "@type": "sc:Boolean"},
    "anonymousParticipationEnabled": {"@id": "mz:anonymousParticipationEnabled", "@type": "sc:Boolean"},
    "commentsEnabled": {"@id": "pt:commentsEnabled", "@type": "sc:Boolean"},
    "timezone": {"@id": "mz:timezone", "@type": "sc:Text"},
    "status": {"@id": "ical:status", "@type": "ical:status"},
}
EVENT_CONTEXT: list[Any] = [AS_CONTEXT, EVENT_TERMS]

# Mobilizon finds an online event's address as the attachment that is a Link with this name.
ONLINE_LINK_NAME = "Website"


def local_iso(moment: datetime, zone_name: str) -> str:
    """The time with the offset of the gathering's zone (as Mobilizon writes startTime): 2027-01-15T18:00:00+01:00."""
    return moment.astimezone(timezones.zone(zone_name)).replace(microsecond=0).isoformat()


def _english(lang: languages.Language | None) -> bool:
    """English words as the Event always said them (Language.is_source says why)."""
    return lang is None or lang.is_source


def when_text(g: GatheringRecord, lang: languages.Language | None = None) -> str:
    """15 January 2027, 18:00–20:00 (Europe/Madrid); the end's day too when it is another day. In `lang`'s
    words and date order when it is not English (15 de enero de 2027, 18:00–20:00 (Europe/Madrid))."""
    if lang is not None and not _english(lang):
        return formats.span(g.starts_at, g.ends_at, g.timezone, lang)
    zone = timezones.zone(g.timezone)
    start, end = g.starts_at.astimezone(zone), g.ends_at.astimezone(zone)
    first = f"{start.day} {start.strftime('%B %Y, %H:%M')}"
    last = (
        end.strftime("%H:%M") if end.date() == start.date() else f"{end.day} {end.strftime('%B %Y, %H:%M')}"
    )
    return f"{first}–{last} ({g.timezone})"


def where_text(g: GatheringRecord, lang: languages.Language | None = None) -> str:
    words = lang or words_of(None)
    if g.place and g.online_url:
        return words.gettext("%(place)s and online", place=g.place)
    return g.place or words.gettext("Online")


def summary_text(g: GatheringRecord, lang: languages.Language | None = None) -> str:
    """One line: when, where, and CANCELLED first when it is; Mastodon shows it under the title."""
    line = f"{when_text(g, lang)} · {where_text(g, lang)}"
    if g.status != gatherings.CANCELLED:
        return line
    if _english(lang):
        return f"CANCELLED · {line}"
    assert lang is not None
    # The one line under a cancelled gathering's title on other servers; in capitals where the
    # language has them.
    return lang.gettext("CANCELLED · %(when_and_where)s", when_and_where=line)


def join_mode(g: GatheringRecord) -> str:
    """ "free" without a limit: every Join is accepted at once. With a capacity, "restricted": a Join may wait
    on the waiting list, and Mobilizon then shows its user the participation as pending until our Accept."""
    return "free" if g.capacity is None else "restricted"


def event_object(
    ids: LocalIds, g: GatheringRecord, counts: Counts, *, minimum: int, language: str | None = None
) -> dict[str, Any]:
    """The gathering as an `Event`; counts only (participantCount, capacity left), never who, and not even
    those while fewer than `minimum` people are going (min_disclosed_count): the places left would tell the
    count, so they are left out too, and the Event says only how many places there are. `language`: the
    group's; the fixed words and the dates are in it, and `contentMap`/`nameMap` name it."""
    url = ids.gathering(g.id)
    to, cc = addressing(ids, g.visibility)
    words = words_of(language)
    content = paragraphs_html(g.description)
    if g.online_url:
        link = html.escape(g.online_url)
        content += f'<p>{html.escape(words.gettext("Online:"))} <a href="{link}">{link}</a></p>'
    status = "CANCELLED" if g.status == gatherings.CANCELLED else "CONFIRMED"
    doc: dict[str, Any] = {
        "@context": EVENT_CONTEXT,
        "id": url,
        "type": "Event",
        "url": url,
        "name": g.title,
        "summary": summary_text(g, words),
        "content": content,
        "mediaType": "text/html",
        "attributedTo": ids.group,
        "actor": ids.group,
        "to": to,
        "cc": cc,
        "published": xsd_datetime(g.created_at),
        "updated": xsd_datetime(g.updated_at),
        "startTime": local_iso(g.starts_at, g.timezone),
        "endTime": local_iso(g.ends_at, g.timezone),
        "timezone": g.timezone,
        "joinMode": join_mode(g),
        "ical:status": status,
        "status": status,
        "isOnline": g.place == "" and g.online_url is not None,
        "commentsEnabled": False,
        "anonymousParticipationEnabled": False,
        "draft": False,
        # Always a list: Gancio reads attachment.length on an Update.
        "attachment": [],
        "tag": [],
    }
    if language:
        doc["nameMap"] = {language: g.title}
        doc["contentMap"] = {language: content}
    if g.capacity is not None:
        doc["maximumAttendeeCapacity"] = g.capacity
    if not disclosure.too_small(counts.going, minimum):
        doc["participantCount"] = counts.going
        if g.capacity is not None:
            doc["remainingAttendeeCapacity"] = counts.remaining
    if g.place:
        # `address` as text: Mobilizon takes a string as the street, Gancio as the place's address.
        place: dict[str, Any] = {"type": "Place", "name": g.place, "address": g.place}
        if g.latitude is not None and g.longitude is not None:
            place["latitude"] = g.latitude
            place["longitude"] = g.longitude
        doc["location"] = place
    if g.online_url:
        doc["attachment"].append(
            {"type": "Link", "href": g.online_url, "mediaType": "text/html", "name": ONLINE_LINK_NAME}
        )
    return doc


def answer_join(
    ids: LocalIds, activity_id: str, accepted: bool, join_id: str, actor: str, gathering_id: int
) -> dict[str, Any]:
    """Accept (or Reject) of a remote Join, embedding the Join's id, actor and object: Mobilizon finds the
    participation by the Join's id and checks that the one answering manages the event (its group)."""
    return {
        "@context": AS_CONTEXT,
        "id": activity_id,
        "type": "Accept" if accepted else "Reject",
        "actor": ids.group,
        "to": [actor],
        "object": {"id": join_id, "type": "Join", "actor": actor, "object": ids.gathering(gathering_id)},
    }


# -- reading a remote RSVP -------------------------------------------------------------------------------------

# What each activity about one of our gatherings says. Mobilizon sends Join and Leave; Accept, TentativeAccept
# and Reject of the Event itself are the vocabulary's own RSVP (Friendica's attend yes / maybe / no).
GOING, NOT_GOING, MAYBE = "going", "not-going", "maybe"
RSVP_ANSWERS = {
    "Join": GOING,
    "Accept": GOING,
    "Leave": NOT_GOING,
    "Reject": NOT_GOING,
    "TentativeReject": NOT_GOING,
    "TentativeAccept": MAYBE,
}
RSVP_TYPES = frozenset(RSVP_ANSWERS)


@dataclass(frozen=True)
class RemoteRsvp:
    gathering_id: int
    answer: str
    via: str  # the activity's type


def gathering_named(ids: LocalIds, activity: Activity) -> int | None:
    """The gathering an activity's object names (by id, embedded or not), if it is one of our gathering URLs."""
    return ids.gathering_id_of(activity.object_id) if activity.object_id else None


def remote_rsvp(ids: LocalIds, activity: Activity) -> RemoteRsvp | None:
    """What an RSVP says; None when the activity is not about one of our gatherings."""
    answer = RSVP_ANSWERS.get(activity.type)
    gathering_id = gathering_named(ids, activity)
    if answer is None or gathering_id is None:
        return None
    return RemoteRsvp(gathering_id, answer, activity.type)


# What an Undo of an RSVP withdraws: the account no longer says it comes.
UNDONE_TYPES = frozenset({"Join", "Accept", "TentativeAccept"})


def undone_rsvp(ids: LocalIds, activity: Activity) -> RemoteRsvp | None:
    """An Undo whose embedded object is the account's RSVP to one of our gatherings, read as "not going";
    None for anything else (an Undo naming its object by id alone says nothing of a gathering)."""
    inner = activity.object
    if activity.type != "Undo" or inner is None:
        return None
    kinds = types_of(inner)
    if not kinds or kinds[0] not in UNDONE_TYPES:
        return None
    if id_of(inner.get("actor")) not in (None, activity.actor):
        return None
    gathering_id = ids.gathering_id_of(id_of(inner.get("object")) or "")
    if gathering_id is None:
        return None
    return RemoteRsvp(gathering_id, NOT_GOING, f"Undo {kinds[0]}")


# -- iCalendar -------------------------------------------------------------------------------------------------


def calendar_ics(ids: LocalIds, calendar_name: str, listed: Iterable[GatheringRecord]) -> bytes:
    """An iCalendar file (RFC 5545) of these gatherings: times in UTC (every calendar shows them in its own
    zone), the gathering's URL as UID, a cancelled one with STATUS:CANCELLED."""
    import icalendar  # here, not at the top: 3 MB of every process's memory for a file few ask for

    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//fedgroup//gatherings//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", calendar_name)
    for g in listed:
        event = icalendar.Event()
        url = ids.gathering(g.id)
        event.add("uid", url)
        event.add("summary", g.title)
        event.add("dtstamp", g.updated_at)
        event.add("dtstart", g.starts_at)
        event.add("dtend", g.ends_at)
        event.add("created", g.created_at)
        event.add("last-modified", g.updated_at)
        # Calendars replace their copy when the sequence grows: seconds of edits since it was created.
        event.add("sequence", max(int((g.updated_at - g.created_at).total_seconds()), 0))
        event.add("status", "CANCELLED" if g.status == gatherings.CANCELLED else "CONFIRMED")
        event.add("url", url)
        description = g.description
        if g.online_url:
            description = f"{description}\n\nOnline: {g.online_url}".strip()
        if description:
            event.add("description", description)
        event.add("location", g.place or (g.online_url or ""))
        if g.latitude is not None and g.longitude is not None:
            event.add("geo", (g.latitude, g.longitude))
        calendar.add_component(event)
    result: bytes = calendar.to_ical()
    return result
