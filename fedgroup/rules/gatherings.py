"""Gatherings: a time and a place (or a link) people come to. The rules of their fields, of capacity and the
waiting list (first come, first served; a freed place goes to the longest waiting), and of how attendance
counts toward a campaign's `people` goal. Pure: no I/O, no clock (the time is passed in)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from urllib.parse import urlsplit

from fedgroup.rules.languages import N_, Message

GOING = "going"
WAITING = "waiting"
CONFIRMED = "confirmed"
CANCELLED = "cancelled"
VISIBILITIES = ("public", "followers", "members")

MAX_TITLE = 200
MAX_DESCRIPTION = 10_000
MAX_PLACE = 300
MAX_CAPACITY = 100_000
# A gathering lasts at most this long: a week-long camp fits, a typo of a year does not.
MAX_LENGTH = timedelta(days=31)


class GatheringError(ValueError):
    """A gathering's field that cannot be accepted; `field` names the form field it belongs to."""

    def __init__(self, message: str, field: str = "title") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Place:
    """Where: a place as text with optional coordinates, and/or a link to join online."""

    text: str
    latitude: float | None
    longitude: float | None
    online_url: str | None

    @property
    def is_online(self) -> bool:
        return self.online_url is not None and not self.text


def check_title(title: str) -> str:
    clean = " ".join(title.split())
    if not clean:
        raise GatheringError(N_("a gathering needs a title"), "title")
    if len(clean) > MAX_TITLE:
        raise GatheringError(
            Message(N_("the title is longer than %(most)s characters"), most=MAX_TITLE), "title"
        )
    return clean


def check_description(text: str) -> str:
    clean = text.replace("\r\n", "\n").strip()
    if len(clean) > MAX_DESCRIPTION:
        raise GatheringError(
            Message(N_("the description is longer than %(most)s characters"), most=MAX_DESCRIPTION),
            "description",
        )
    return clean


def check_times(starts: datetime, ends: datetime) -> None:
    if ends <= starts:
        raise GatheringError(N_("it must end after it starts"), "ends")
    if ends - starts > MAX_LENGTH:
        raise GatheringError(N_("a gathering lasts at most 31 days"), "ends")


def _coordinate(text: str, limit: float, field: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError as e:
        raise GatheringError(Message(N_("%(text)r is not a number"), text=text[:30]), field) from e
    if not -limit <= value <= limit:  # also refuses nan
        raise GatheringError(Message(N_("must be between -%(most)s and %(most)s"), most=f"{limit:g}"), field)
    return value


def check_online_url(text: str) -> str | None:
    text = text.strip()
    if not text:
        return None
    parts = urlsplit(text)
    if parts.scheme not in ("https", "http") or not parts.netloc or len(text) > 2000 or " " in text:
        raise GatheringError(N_("the online link must be a web address (https://…)"), "online_url")
    return text


def check_place(place: str, latitude: str, longitude: str, online_url: str) -> Place:
    """A place as text (coordinates only beside it, both or neither), or a link to join online, or both."""
    text = " ".join(place.split())
    if len(text) > MAX_PLACE:
        raise GatheringError(
            Message(N_("the place is longer than %(most)s characters"), most=MAX_PLACE), "place"
        )
    lat = _coordinate(latitude, 90, "latitude")
    lon = _coordinate(longitude, 180, "longitude")
    if (lat is None) != (lon is None):
        raise GatheringError(N_("give both latitude and longitude, or neither"), "latitude")
    if lat is not None and not text:
        raise GatheringError(N_("coordinates go with a place: describe it too"), "place")
    url = check_online_url(online_url)
    if not text and url is None:
        raise GatheringError(N_("say where: a place, or a link to join online"), "place")
    return Place(text, lat, lon, url)


def check_capacity(text: str) -> int | None:
    """How many can come: empty for no limit, else a whole number from 1."""
    text = text.strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or len(text) > 6:
        raise GatheringError(N_("capacity is a whole number of people (empty: no limit)"), "capacity")
    value = int(text)
    if not 1 <= value <= MAX_CAPACITY:
        raise GatheringError(
            Message(N_("capacity is between 1 and %(most)s (empty: no limit)"), most=MAX_CAPACITY), "capacity"
        )
    return value


def check_visibility(visibility: str) -> str:
    if visibility not in VISIBILITIES:
        raise GatheringError(N_("choose public, followers or members"), "visibility")
    return visibility


# -- capacity and the waiting list ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    going: int
    waiting: int
    capacity: int | None

    @property
    def remaining(self) -> int | None:
        """Places left; None without a limit. Never below zero (capacity lowered under who was going)."""
        return None if self.capacity is None else max(self.capacity - self.going, 0)

    @property
    def full(self) -> bool:
        return self.capacity is not None and self.going >= self.capacity


def counts(capacity: int | None, states: Iterable[str]) -> Counts:
    listed = list(states)
    return Counts(listed.count(GOING), listed.count(WAITING), capacity)


def admission(capacity: int | None, going: int) -> str:
    """Where a new RSVP goes: a place while there is one, else the end of the waiting list."""
    return GOING if capacity is None or going < capacity else WAITING


@dataclass(frozen=True)
class Entry:
    """One RSVP in order of arrival (`order` grows with arrival)."""

    order: int
    state: str


def promotions(capacity: int | None, entries: Sequence[Entry]) -> list[int]:
    """The orders of the waiting entries that take the free places, longest waiting first. Someone going stays
    going when the capacity is lowered under the number going: the lower capacity only stops new arrivals."""
    going = sum(1 for e in entries if e.state == GOING)
    waiting = sorted((e for e in entries if e.state == WAITING), key=lambda e: e.order)
    free = len(waiting) if capacity is None else max(capacity - going, 0)
    return [e.order for e in waiting[:free]]


def open_for_rsvp(status: str, ends_at: datetime, now: datetime) -> bool:
    """RSVPs are taken until the gathering ends, never for a cancelled one."""
    return status == CONFIRMED and now < ends_at


# -- toward a campaign's goal ---------------------------------------------------------------------------------


def attendance_people(attendees: Iterable[str], pledged_people: Iterable[str]) -> int:
    """People a campaign's gatherings add to its `people` goal: each distinct person going to at least one of
    them (a member as "member:ID", a remote account by its id), except those whose pledge of people to the
    campaign already counts them — a pledge of "2 people" may be the pledger and a friend, and coming is how
    that pledge is kept, so it is not counted twice."""
    return len(set(attendees) - set(pledged_people))


class GatheringRecord(Protocol):
    """What the rules and the documents read of a stored gathering (store.gatherings.GatheringRow has it)."""

    @property
    def id(self) -> int: ...
    @property
    def title(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def starts_at(self) -> datetime: ...
    @property
    def ends_at(self) -> datetime: ...
    @property
    def timezone(self) -> str: ...
    @property
    def place(self) -> str: ...
    @property
    def latitude(self) -> float | None: ...
    @property
    def longitude(self) -> float | None: ...
    @property
    def online_url(self) -> str | None: ...
    @property
    def capacity(self) -> int | None: ...
    @property
    def visibility(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def updated_at(self) -> datetime: ...
