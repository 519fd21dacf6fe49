"""The group's feeds as documents: Atom (RFC 4287), written with an XML builder, and iCalendar (RFC 5545),
written with the icalendar library; the public feeds and each member's private ones (behind their secret
link), and the Account form that makes a new link or stops it.

No text is ever pasted into markup by hand: ElementTree and icalendar escape what they write, and characters
XML cannot hold are dropped first (rules.feeds.xml_text), so a campaign's title cannot break a feed.
"""

from __future__ import annotations

import hashlib
import logging
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiohttp import web

from fedgroup import __version__, actions
from fedgroup.rules import feeds, timezones
from fedgroup.rules.feeds import CalendarItem, FeedEntry
from fedgroup.runtime import Runtime
from fedgroup.ui import account
from fedgroup.ui.common import form, require_member, runtime_of, see_other

log = logging.getLogger(__name__)

ATOM = "http://www.w3.org/2005/Atom"
ATOM_TYPE = "application/atom+xml"
CALENDAR_TYPE = "text/calendar"
# How often a calendar app should look again (RFC 7986 REFRESH-INTERVAL and its older X- twin).
REFRESH = timedelta(hours=1)


@dataclass(frozen=True)
class FeedHead:
    id: str
    title: str
    self_url: str
    page_url: str  # the HTML page the feed follows
    author: str


def _when(moment: datetime) -> str:
    """RFC 3339 in UTC, to the second, as Atom dates are."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _add(parent: ET.Element, name: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(
        parent, f"{{{ATOM}}}{name}", {k: feeds.xml_text(v) for k, v in attributes.items()}
    )
    if text is not None:
        element.text = feeds.xml_text(text)
    return element


def atom_document(head: FeedHead, entries: Sequence[FeedEntry], now: datetime) -> bytes:
    """The feed; its `updated` is its newest entry's (`now` only for a feed with no entry yet)."""
    # Unprefixed names in the Atom namespace, declared once on the root (as feed readers expect to see it).
    root = ET.Element("feed", xmlns=ATOM)
    _add(root, "id", head.id)
    _add(root, "title", head.title)
    _add(root, "updated", _when(max((e.updated for e in entries), default=now)))
    _add(root, "link", rel="self", type=ATOM_TYPE, href=head.self_url)
    _add(root, "link", rel="alternate", type="text/html", href=head.page_url)
    _add(_add(root, "author"), "name", head.author)
    _add(root, "generator", "fedgroup", version=__version__)
    for entry in entries:
        element = _add(root, "entry")
        _add(element, "id", entry.id)
        _add(element, "title", entry.title, type="text")
        _add(element, "link", rel="alternate", type="text/html", href=entry.link)
        _add(element, "published", _when(entry.published))
        _add(element, "updated", _when(entry.updated))
        if entry.category:
            label = feeds.VISIBILITY_LABELS.get(entry.category, entry.category)
            _add(element, "category", term=entry.category, label=label)
        _add(element, "content", entry.text, type="text")
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))


def _in_zone(moment: datetime, zone_name: str) -> datetime:
    # UTC is written with a Z and needs no VTIMEZONE; any other zone gets its TZID and its definition.
    return moment.astimezone(UTC) if zone_name == "UTC" else moment.astimezone(timezones.zone(zone_name))


def calendar_document(name: str, zone_name: str, items: Sequence[CalendarItem]) -> bytes:
    """The calendar: every time in the group's zone (TZID, with the zone's VTIMEZONE), so that a calendar app
    shows the same wall-clock time the web UI does, and moves it right if the zone's rules change."""
    import icalendar  # here, not at the top: 3 MB of every process's memory for a feed few ask for

    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//fedgroup//feeds//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("name", name)
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", zone_name)
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", REFRESH)
    for item in items:
        event = icalendar.Event()
        event.add("uid", item.uid)
        event.add("dtstamp", item.changed.astimezone(UTC))
        event.add("last-modified", item.changed.astimezone(UTC))
        event.add("dtstart", _in_zone(item.starts, zone_name))
        if item.ends is not None:
            event.add("dtend", _in_zone(item.ends, zone_name))
        event.add("summary", item.title)
        if item.description:
            event.add("description", item.description)
        if item.location:
            event.add("location", item.location)
        event.add("url", item.link)
        event.add("status", "CANCELLED" if item.cancelled else "CONFIRMED")
        calendar.add_component(event)
    if items and zone_name != "UTC":
        first = min(i.starts for i in items).date()
        last = max((i.ends or i.starts) for i in items).date()
        # The zone's rules over the span the items use (a year either side), not 1970 to 2038.
        calendar.add_missing_timezones(
            first_date=first - timedelta(days=366), last_date=last + timedelta(days=366)
        )
    return bytes(calendar.to_ical())


def _document_response(request: web.Request, body: bytes, content_type: str, private: bool) -> web.Response:
    """The document with a validator, so that a feed reader polling an unchanged feed gets a 304."""
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": "private, no-cache" if private else "no-cache"}
    if private:
        headers["X-Robots-Tag"] = "noindex"  # a private link that leaks must not end up in a search engine
    if etag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, content_type=content_type, charset="utf-8", headers=headers)


async def _atom(
    request: web.Request, runtime: Runtime, reader: actions.FeedReader, self_url: str
) -> web.Response:
    site, ids = runtime.site, runtime.ids
    entries = await runtime.db.read(actions.feed_entries, reader, ids, site.timezone)
    private = reader.member_id is not None
    head = FeedHead(
        # The feed's id stays when a member makes a new link: it names the feed, not the link.
        id=f"{ids.group}#members-feed" if private else f"{ids.group}#feed",
        title=f"{site.name}: campaigns for members" if private else f"{site.name}: campaigns",
        self_url=self_url,
        page_url=f"{runtime.config.base_url}/home" if private else ids.group,
        author=site.name,
    )
    return _document_response(request, atom_document(head, entries, runtime.now()), ATOM_TYPE, private)


async def _calendar(request: web.Request, runtime: Runtime, reader: actions.FeedReader) -> web.Response:
    site = runtime.site
    items = await runtime.db.read(actions.calendar_items, reader, runtime.ids)
    private = reader.member_id is not None
    name = f"{site.name}: deadlines for members" if private else f"{site.name}: deadlines"
    return _document_response(request, calendar_document(name, site.timezone, items), CALENDAR_TYPE, private)


async def public_feed(request: web.Request) -> web.Response:
    runtime = runtime_of(request)
    return await _atom(request, runtime, actions.PUBLIC_READER, f"{runtime.config.base_url}/feed.atom")


async def public_calendar(request: web.Request) -> web.Response:
    return await _calendar(request, runtime_of(request), actions.PUBLIC_READER)


async def _private_reader(request: web.Request, kind: str) -> actions.FeedReader:
    reader = await actions.feed_reader(runtime_of(request), request.match_info["secret"])
    if reader is None:
        # Never the secret itself in the log: it is a password in a URL.
        log.info("private feed refused reason=unknown-secret kind=%s", kind)
        raise web.HTTPNotFound(text="no such feed\n")
    return reader


async def private_feed(request: web.Request) -> web.Response:
    runtime = runtime_of(request)
    reader = await _private_reader(request, "atom")
    atom_url, _ = actions.feed_urls(runtime.config.base_url, request.match_info["secret"])
    return await _atom(request, runtime, reader, atom_url)


async def private_calendar(request: web.Request) -> web.Response:
    return await _calendar(request, runtime_of(request), await _private_reader(request, "calendar"))


async def new_link(request: web.Request) -> web.Response:
    """A new private link, shown once on the Account page (like an invitation: it is the only copy)."""
    member = require_member(request)
    await form(request)
    runtime = runtime_of(request)
    secret = await actions.new_feed_link(runtime, member.id)
    atom_url, calendar_url = actions.feed_urls(runtime.config.base_url, secret)
    return await account.account_response(
        request, {"new_feed_urls": {"atom": atom_url, "calendar": calendar_url}}
    )


async def stop_link(request: web.Request) -> web.Response:
    member = require_member(request)
    await form(request)
    try:
        await actions.stop_feed_link(runtime_of(request), member.id)
    except actions.USER_ERRORS as e:
        return await account.account_response(request, {"errors": {"feed": str(e)}}, status=422)
    raise see_other("/account", "feed-stopped")
