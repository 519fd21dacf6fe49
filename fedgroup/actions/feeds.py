"""The group's feeds: what goes into the Atom feed and the calendar for the public or for one member, and each
member's private link (a secret in a URL, kept only as a digest, replaced at will).

Calendar items come from `CALENDAR_SOURCES`: each source is one function yielding the items a reader may see.
Another kind of item (a gathering, say) is one more function added there; the calendar writer and both
calendar feeds take it as it is.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from fedgroup import store
from fedgroup.actions.campaigns import load_campaigns, outcome_summary
from fedgroup.actions.context import ActionError, Context
from fedgroup.actions.partner_releases import partner_goals
from fedgroup.protocol.ids import LocalIds
from fedgroup.rules import campaigns, feeds, gatherings, timezones
from fedgroup.rules.feeds import CalendarItem, FeedEntry
from fedgroup.rules.languages import N_

# The secret in a private feed link: 256 random bits, URL-safe (43 characters).
SECRET_BYTES = 32


@dataclass(frozen=True)
class FeedReader:
    """Who a feed is for: the public (no member), or one member through their private link."""

    member_id: int | None = None

    @property
    def visibilities(self) -> tuple[str, ...]:
        return feeds.PUBLIC_VISIBILITIES if self.member_id is None else feeds.MEMBER_VISIBILITIES


PUBLIC_READER = FeedReader()


# -- the private link ----------------------------------------------------------------------------------------


async def new_feed_link(runtime: Context, member_id: int) -> str:
    """A new secret for the member's private feeds; the one they had stops working in the same commit. The
    secret is returned once (the caller shows it) and only its digest is stored."""
    secret = secrets.token_urlsafe(SECRET_BYTES)
    await runtime.db.write(store.feeds.replace_link, member_id, secret, runtime.now())
    return secret


async def stop_feed_link(runtime: Context, member_id: int) -> None:
    if not await runtime.db.write(store.feeds.remove_link, member_id):
        raise ActionError(N_("you have no private feed link"), "feed")


async def feed_reader(runtime: Context, secret: str) -> FeedReader | None:
    """The reader a private link stands for; None for a wrong, replaced or stopped one (or a removed member)."""
    if not 20 <= len(secret) <= 100:
        return None
    member = await runtime.db.read(store.feeds.member_of_secret, secret)
    return None if member is None else FeedReader(member.id)


def feed_urls(base_url: str, secret: str) -> tuple[str, str]:
    """The member's private feeds: (Atom, iCalendar)."""
    return f"{base_url}/feeds/{secret}/feed.atom", f"{base_url}/feeds/{secret}/calendar.ics"


# -- the Atom feed -------------------------------------------------------------------------------------------


def feed_entries(
    conn: sqlite3.Connection, reader: FeedReader, ids: LocalIds, zone_name: str
) -> list[FeedEntry]:
    """The newest entries the reader may see: our campaigns (drafts and deleted ones never) and outcomes."""
    rows = store.campaigns.listing(conn, reader.visibilities)
    with_outcome = {state.id: state for state in load_campaigns(conn, [r for r in rows if r.outcome])}
    entries: list[FeedEntry] = []
    for row in rows:
        state = with_outcome.get(row.id)
        entries += feeds.campaign_entries(
            row,
            ids.campaign(row.id),
            timezones.local_text(row.deadline, zone_name) if row.deadline else None,
            outcome_summary(conn, state) if state is not None else "",
            with_visibility=reader.member_id is not None,
        )
    return feeds.newest(entries)


# -- the calendar --------------------------------------------------------------------------------------------

CalendarSource = Callable[[sqlite3.Connection, FeedReader, LocalIds], Iterable[CalendarItem]]


def campaign_deadlines(conn: sqlite3.Connection, reader: FeedReader, ids: LocalIds) -> Iterator[CalendarItem]:
    """The deadline of each campaign the reader may see; in a member's calendar, with what they pledged."""
    rows = [row for row in store.campaigns.listing(conn, reader.visibilities) if row.deadline is not None]
    pledged: dict[int, list[str]] = {}
    if reader.member_id is not None:
        mine = [
            p for p in store.pledges.pledges_of_member(conn, reader.member_id) if p.campaign_id is not None
        ]
        units = {
            state.id: campaigns.units_of(state.goals)
            for state in load_campaigns(conn, [r for r in rows if any(p.campaign_id == r.id for p in mine)])
        }
        for p in mine:
            assert p.campaign_id is not None
            if p.campaign_id in units:
                worth = campaigns.format_quantity(p.kind, p.amount, units[p.campaign_id].get(p.kind))
                pledged.setdefault(p.campaign_id, []).append(worth)
    for row in rows:
        assert row.deadline is not None
        about = "\n\n".join(x for x in (row.body, feeds.pledge_line(pledged.get(row.id, []))) if x)
        yield feeds.deadline_item(
            f"campaign-{row.id}-deadline@{ids.domain}", row.title, row.deadline, ids.campaign(row.id),
            row.updated_at, about, row.closed_at,
        )  # fmt: skip


def pledged_partner_deadlines(
    conn: sqlite3.Connection, reader: FeedReader, ids: LocalIds
) -> Iterator[CalendarItem]:
    """In a member's calendar: the deadlines of partner groups' campaigns they pledged to through us."""
    if reader.member_id is None:
        return
    mine = [p for p in store.pledges.pledges_of_member(conn, reader.member_id) if p.partner_campaign_id]
    for partner_id in sorted({p.partner_campaign_id for p in mine if p.partner_campaign_id is not None}):
        partner = store.campaigns.partner_campaign(conn, partner_id)
        if partner is None or partner.deadline is None:
            continue
        units = campaigns.units_of(partner_goals(partner)[0])
        worth = [
            campaigns.format_quantity(p.kind, p.amount, units.get(p.kind))
            for p in mine
            if p.partner_campaign_id == partner_id
        ]
        yield feeds.deadline_item(
            f"partner-campaign-{partner.id}-deadline@{ids.domain}", partner.title, partner.deadline,
            f"{ids.base_url}/partners/{partner.id}", partner.updated_at, feeds.pledge_line(worth), None,
        )  # fmt: skip


_ANSWERS = {"going": "You are going.", "waiting": "You are on the waiting list."}


def gathering_items(conn: sqlite3.Connection, reader: FeedReader, ids: LocalIds) -> Iterator[CalendarItem]:
    """The gatherings the reader may see, cancelled ones marked so; in a member's calendar, with their own
    answer (never anyone else's, nor how many come)."""
    mine = store.gatherings.member_rsvps(conn, reader.member_id) if reader.member_id is not None else {}
    for row in store.gatherings.of_visibilities(conn, reader.visibilities):
        online = f"Online: {row.online_url}" if row.online_url else ""
        about = "\n\n".join(x for x in (row.description, online, _ANSWERS.get(mine.get(row.id, ""), "")) if x)
        yield CalendarItem(
            f"gathering-{row.id}@{ids.domain}", row.title, row.starts_at, ids.gathering(row.id), about,
            row.updated_at, row.ends_at, row.place or (row.online_url or ""), row.status == gatherings.CANCELLED,
        )  # fmt: skip


# Every kind of calendar item, one function each (see the module's opening comment).
CALENDAR_SOURCES: list[CalendarSource] = [campaign_deadlines, pledged_partner_deadlines, gathering_items]


def calendar_items(conn: sqlite3.Connection, reader: FeedReader, ids: LocalIds) -> list[CalendarItem]:
    """Every item of every source the reader may see, in time order (uid breaks ties: a stable document)."""
    return sorted(
        (item for source in CALENDAR_SOURCES for item in source(conn, reader, ids)),
        key=lambda item: (item.starts, item.uid),
    )
