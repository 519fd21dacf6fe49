"""Gatherings and who comes to them (tables of migration 0018)."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from fedgroup.store.campaigns import id_chunks
from fedgroup.store.db import fetchall, fetchone, from_db_time, to_db_time


@dataclass(frozen=True)
class GatheringFields:
    """What an organizer writes: the same value creates a gathering and edits it."""

    title: str
    description: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    place: str
    latitude: float | None
    longitude: float | None
    online_url: str | None
    capacity: int | None
    campaign_id: int | None
    visibility: str


@dataclass(frozen=True)
class GatheringRow(GatheringFields):
    """A stored gathering: what its organizer wrote and what the server keeps beside it. It satisfies
    rules.gatherings.GatheringRecord (what the rules and documents read)."""

    id: int
    status: str
    created_at: datetime
    updated_at: datetime

    @property
    def federates(self) -> bool:
        return self.visibility != "members"

    def fields(self) -> GatheringFields:
        return GatheringFields(**{f.name: getattr(self, f.name) for f in dataclasses.fields(GatheringFields)})


@dataclass(frozen=True)
class Rsvp:
    id: int
    gathering_id: int
    member_id: int | None
    actor: str | None
    rsvp_activity: str | None
    rsvp_type: str | None
    inbox: str | None
    state: str

    @property
    def attendee(self) -> str:
        """The person as the tallies know them: "member:ID" or the remote account's id."""
        return f"member:{self.member_id}" if self.member_id is not None else str(self.actor)


_SELECT = (
    "SELECT id, title, description, starts_at, ends_at, timezone, place, latitude, longitude, online_url,"
    " capacity, campaign_id, visibility, status, created_at, updated_at FROM gatherings"
)
_RSVP_SELECT = (
    "SELECT id, gathering_id, member_id, actor, rsvp_activity, rsvp_type, inbox, state FROM gathering_rsvps"
)


def _row(r: sqlite3.Row) -> GatheringRow:
    return GatheringRow(
        id=r[0], title=r[1], description=r[2], starts_at=from_db_time(r[3]), ends_at=from_db_time(r[4]),  # type: ignore[arg-type]
        timezone=r[5], place=r[6], latitude=r[7], longitude=r[8], online_url=r[9], capacity=r[10],
        campaign_id=r[11], visibility=r[12], status=r[13], created_at=from_db_time(r[14]),  # type: ignore[arg-type]
        updated_at=from_db_time(r[15]),  # type: ignore[arg-type]
    )  # fmt: skip


def _rsvp(r: sqlite3.Row) -> Rsvp:
    return Rsvp(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7])


def _values(f: GatheringFields) -> tuple[object, ...]:
    return (
        f.title, f.description, to_db_time(f.starts_at), to_db_time(f.ends_at), f.timezone, f.place, f.latitude,
        f.longitude, f.online_url, f.capacity, f.campaign_id, f.visibility,
    )  # fmt: skip


def create(conn: sqlite3.Connection, fields: GatheringFields, created_by: int | None, now: datetime) -> int:
    cursor = conn.execute(
        "INSERT INTO gatherings (title, description, starts_at, ends_at, timezone, place, latitude, longitude,"
        " online_url, capacity, campaign_id, visibility, created_by, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (*_values(fields), created_by, to_db_time(now), to_db_time(now)),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def update(conn: sqlite3.Connection, gathering_id: int, fields: GatheringFields, now: datetime) -> None:
    conn.execute(
        "UPDATE gatherings SET title = ?, description = ?, starts_at = ?, ends_at = ?, timezone = ?, place = ?,"
        " latitude = ?, longitude = ?, online_url = ?, capacity = ?, campaign_id = ?, visibility = ?,"
        " updated_at = ? WHERE id = ?",
        (*_values(fields), to_db_time(now), gathering_id),
    )


def cancel(conn: sqlite3.Connection, gathering_id: int, now: datetime) -> bool:
    cursor = conn.execute(
        "UPDATE gatherings SET status = 'cancelled', updated_at = ? WHERE id = ? AND status = 'confirmed'",
        (to_db_time(now), gathering_id),
    )
    return cursor.rowcount == 1


def get(conn: sqlite3.Connection, gathering_id: int) -> GatheringRow | None:
    found = fetchone(conn, _SELECT + " WHERE id = ?", (gathering_id,))
    return _row(found) if found is not None else None


def listing(
    conn: sqlite3.Connection, ending_after: datetime, visibilities: Sequence[str]
) -> list[GatheringRow]:
    """Gatherings not yet over, of these visibilities, soonest first."""
    marks = ",".join("?" * len(visibilities))
    rows = fetchall(
        conn,
        _SELECT + f" WHERE ends_at > ? AND visibility IN ({marks}) ORDER BY starts_at, id",
        (to_db_time(ending_after), *visibilities),
    )
    return [_row(r) for r in rows]


def of_visibilities(conn: sqlite3.Connection, visibilities: Sequence[str]) -> list[GatheringRow]:
    """Every gathering of these visibilities, past, coming and cancelled (for calendars), oldest first."""
    marks = ",".join("?" * len(visibilities))
    rows = fetchall(
        conn, _SELECT + f" WHERE visibility IN ({marks}) ORDER BY starts_at, id", tuple(visibilities)
    )
    return [_row(r) for r in rows]


def all_gatherings(conn: sqlite3.Connection) -> list[GatheringRow]:
    return [_row(r) for r in fetchall(conn, _SELECT + " ORDER BY starts_at DESC, id DESC")]


# -- RSVPs ----------------------------------------------------------------------------------------------------


def rsvps(conn: sqlite3.Connection, gathering_id: int) -> list[Rsvp]:
    """Everyone who said they come, in order of arrival."""
    return [
        _rsvp(r)
        for r in fetchall(conn, _RSVP_SELECT + " WHERE gathering_id = ? ORDER BY id", (gathering_id,))
    ]


def states_of(conn: sqlite3.Connection, gathering_ids: Sequence[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {i: [] for i in gathering_ids}
    for chunk in id_chunks(gathering_ids):
        marks = ",".join("?" * len(chunk))
        for r in fetchall(
            conn, f"SELECT gathering_id, state FROM gathering_rsvps WHERE gathering_id IN ({marks})", chunk
        ):
            found[r[0]].append(r[1])
    return found


def member_rsvp(conn: sqlite3.Connection, gathering_id: int, member_id: int) -> Rsvp | None:
    found = fetchone(
        conn, _RSVP_SELECT + " WHERE gathering_id = ? AND member_id = ?", (gathering_id, member_id)
    )
    return _rsvp(found) if found is not None else None


def actor_rsvp(conn: sqlite3.Connection, gathering_id: int, actor: str) -> Rsvp | None:
    found = fetchone(conn, _RSVP_SELECT + " WHERE gathering_id = ? AND actor = ?", (gathering_id, actor))
    return _rsvp(found) if found is not None else None


def add_rsvp(
    conn: sqlite3.Connection,
    gathering_id: int,
    state: str,
    now: datetime,
    *,
    member_id: int | None = None,
    actor: str | None = None,
    rsvp_activity: str | None = None,
    rsvp_type: str | None = None,
    inbox: str | None = None,
) -> Rsvp:
    cursor = conn.execute(
        "INSERT INTO gathering_rsvps (gathering_id, member_id, actor, rsvp_activity, rsvp_type, inbox, state,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (gathering_id, member_id, actor, rsvp_activity, rsvp_type, inbox, state, to_db_time(now)),
    )
    assert cursor.lastrowid is not None
    return Rsvp(cursor.lastrowid, gathering_id, member_id, actor, rsvp_activity, rsvp_type, inbox, state)


def remove_rsvp(conn: sqlite3.Connection, rsvp_id: int) -> None:
    conn.execute("DELETE FROM gathering_rsvps WHERE id = ?", (rsvp_id,))


def set_going(conn: sqlite3.Connection, rsvp_id: int) -> None:
    conn.execute("UPDATE gathering_rsvps SET state = 'going' WHERE id = ?", (rsvp_id,))


def member_rsvps(conn: sqlite3.Connection, member_id: int) -> dict[int, str]:
    """A member's RSVPs: gathering id → going or waiting."""
    rows = fetchall(conn, "SELECT gathering_id, state FROM gathering_rsvps WHERE member_id = ?", (member_id,))
    return {r[0]: r[1] for r in rows}


def attendees_of(conn: sqlite3.Connection, campaign_ids: Sequence[int]) -> dict[int, list[str]]:
    """Per campaign, who is going to one of its gatherings that is not cancelled ("member:ID" or an actor id;
    a person going to two of them is listed twice, the tallies count people once)."""
    found: dict[int, list[str]] = {i: [] for i in campaign_ids}
    for chunk in id_chunks(campaign_ids):
        marks = ",".join("?" * len(chunk))
        rows = fetchall(
            conn,
            "SELECT g.campaign_id, r.member_id, r.actor FROM gathering_rsvps r"
            " JOIN gatherings g ON g.id = r.gathering_id"
            f" WHERE g.campaign_id IN ({marks}) AND g.status = 'confirmed' AND r.state = 'going'",
            chunk,
        )
        for r in rows:
            found[r[0]].append(f"member:{r[1]}" if r[1] is not None else r[2])
    return found


def forget_actor(conn: sqlite3.Connection, actor: str) -> list[int]:
    """A remote account is gone: its RSVPs go; returns the gatherings whose places changed."""
    rows = fetchall(conn, "SELECT DISTINCT gathering_id FROM gathering_rsvps WHERE actor = ?", (actor,))
    conn.execute("DELETE FROM gathering_rsvps WHERE actor = ?", (actor,))
    return [r[0] for r in rows]


def member_names(conn: sqlite3.Connection, gathering_id: int) -> list[tuple[str, str]]:
    """(name, going or waiting) of the members who said they come, in order of arrival: for organizers."""
    rows = fetchall(
        conn,
        "SELECT m.name, r.state FROM gathering_rsvps r JOIN members m ON m.id = r.member_id"
        " WHERE r.gathering_id = ? ORDER BY r.id",
        (gathering_id,),
    )
    return [(r[0], r[1]) for r in rows]
