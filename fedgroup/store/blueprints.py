"""Blueprints: ours, the adoptions other groups reported of them, the ones we adopted, and partners' ones."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from fedgroup.store.db import fetchall, fetchone, from_db_time, to_db_time


@dataclass(frozen=True)
class BlueprintRow:
    id: int
    campaign_id: int
    title: str
    summary: str
    what_worked: str
    steps: str  # JSON list of strings
    do_differently: str
    visibility: str
    results: str  # JSON list of result lines
    succeeded: bool
    template: str  # JSON
    started_at: datetime
    ended_at: datetime
    adapted_from: str | None
    published_at: datetime


_COLUMNS = (
    "id, campaign_id, title, summary, what_worked, steps, do_differently, visibility, results, succeeded,"
    " template, started_at, ended_at, adapted_from, published_at"
)


def _row(row: sqlite3.Row | None) -> BlueprintRow | None:
    if row is None:
        return None
    return BlueprintRow(
        id=row[0],
        campaign_id=row[1],
        title=row[2],
        summary=row[3],
        what_worked=row[4],
        steps=row[5],
        do_differently=row[6],
        visibility=row[7],
        results=row[8],
        succeeded=bool(row[9]),
        template=row[10],
        started_at=from_db_time(row[11]),  # type: ignore[arg-type]
        ended_at=from_db_time(row[12]),  # type: ignore[arg-type]
        adapted_from=row[13],
        published_at=from_db_time(row[14]),  # type: ignore[arg-type]
    )


def insert(
    conn: sqlite3.Connection,
    campaign_id: int,
    title: str,
    summary: str,
    what_worked: str,
    steps_json: str,
    do_differently: str,
    visibility: str,
    results_json: str,
    succeeded: bool,
    template_json: str,
    started_at: datetime,
    ended_at: datetime,
    adapted_from: str | None,
    now: datetime,
) -> int:
    cursor = conn.execute(
        f"INSERT INTO blueprints ({_COLUMNS.removeprefix('id, ')}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            campaign_id, title, summary, what_worked, steps_json, do_differently, visibility, results_json,
            int(succeeded), template_json, to_db_time(started_at), to_db_time(ended_at), adapted_from,
            to_db_time(now),
        ),
    )  # fmt: skip
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def get(conn: sqlite3.Connection, blueprint_id: int) -> BlueprintRow | None:
    return _row(fetchone(conn, f"SELECT {_COLUMNS} FROM blueprints WHERE id = ?", (blueprint_id,)))


def of_campaign(conn: sqlite3.Connection, campaign_id: int) -> BlueprintRow | None:
    return _row(fetchone(conn, f"SELECT {_COLUMNS} FROM blueprints WHERE campaign_id = ?", (campaign_id,)))


def listing(conn: sqlite3.Connection) -> list[BlueprintRow]:
    rows = fetchall(conn, f"SELECT {_COLUMNS} FROM blueprints ORDER BY id DESC")
    return [b for b in map(_row, rows) if b is not None]


# -- adoptions of our blueprints -------------------------------------------------------------------------


@dataclass(frozen=True)
class Adoption:
    id: int
    blueprint_id: int
    campaign_object: str
    adopter_group: str
    via: str | None
    title: str
    url: str
    unlisted: bool
    hidden: bool
    results: str | None
    succeeded: bool | None
    reported_at: datetime


_ADOPTION_COLUMNS = (
    "id, blueprint_id, campaign_object, adopter_group, via, title, url, unlisted, hidden, results, succeeded,"
    " reported_at"
)


def _adoption(row: sqlite3.Row) -> Adoption:
    return Adoption(
        id=row[0],
        blueprint_id=row[1],
        campaign_object=row[2],
        adopter_group=row[3],
        via=row[4],
        title=row[5],
        url=row[6],
        unlisted=bool(row[7]),
        hidden=bool(row[8]),
        results=row[9],
        succeeded=None if row[10] is None else bool(row[10]),
        reported_at=from_db_time(row[11]),  # type: ignore[arg-type]
    )


def save_adoption(
    conn: sqlite3.Connection,
    blueprint_id: int,
    campaign_object: str,
    adopter_group: str,
    via: str | None,
    title: str,
    url: str,
    unlisted: bool,
    results_json: str | None,
    succeeded: bool | None,
    now: datetime,
) -> None:
    """Record (or refresh) an adoption. Results, once reported, are kept when a later report has none; the
    organizer's `hidden` is never changed by a report."""
    stamp = to_db_time(now)
    conn.execute(
        "INSERT INTO blueprint_adoptions (blueprint_id, campaign_object, adopter_group, via, title, url, unlisted,"
        " results, succeeded, first_reported_at, reported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (blueprint_id, campaign_object) DO UPDATE SET via = excluded.via, title = excluded.title,"
        " url = excluded.url, unlisted = excluded.unlisted,"
        " results = coalesce(excluded.results, blueprint_adoptions.results),"
        " succeeded = coalesce(excluded.succeeded, blueprint_adoptions.succeeded), reported_at = excluded.reported_at"
        " WHERE blueprint_adoptions.adopter_group = excluded.adopter_group",
        (
            blueprint_id, campaign_object, adopter_group, via, title, url, int(unlisted), results_json,
            None if succeeded is None else int(succeeded), stamp, stamp,
        ),
    )  # fmt: skip


def adoptions(conn: sqlite3.Connection, blueprint_id: int) -> list[Adoption]:
    rows = fetchall(
        conn,
        f"SELECT {_ADOPTION_COLUMNS} FROM blueprint_adoptions WHERE blueprint_id = ? ORDER BY id",
        (blueprint_id,),
    )
    return [_adoption(r) for r in rows]


def adopter_known(conn: sqlite3.Connection, blueprint_id: int, group: str) -> bool:
    """Whether this group's adoption of the blueprint is recorded and not hidden (a link of a longer lineage
    must be one)."""
    row = fetchone(
        conn,
        "SELECT 1 FROM blueprint_adoptions WHERE blueprint_id = ? AND adopter_group = ? AND hidden = 0",
        (blueprint_id, group),
    )
    return row is not None


def adopter_groups(conn: sqlite3.Connection, blueprint_id: int) -> list[str]:
    """The groups whose adoption of the blueprint is recorded and not hidden."""
    rows = fetchall(
        conn,
        "SELECT DISTINCT adopter_group FROM blueprint_adoptions WHERE blueprint_id = ? AND hidden = 0",
        (blueprint_id,),
    )
    return [r[0] for r in rows]


def set_hidden(conn: sqlite3.Connection, adoption_id: int, hidden: bool) -> bool:
    cursor = conn.execute(
        "UPDATE blueprint_adoptions SET hidden = ? WHERE id = ?", (int(hidden), adoption_id)
    )
    return cursor.rowcount > 0


# -- what we adopted ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Adopted:
    campaign_id: int
    blueprint_object: str
    origin_group: str
    document: str
    lineage: str  # JSON list of {"blueprint", "group", "inbox"}
    unlisted: bool


def save_adopted(
    conn: sqlite3.Connection,
    campaign_id: int,
    blueprint_object: str,
    origin_group: str,
    document: str,
    lineage_json: str,
    unlisted: bool,
    now: datetime,
) -> None:
    conn.execute(
        "INSERT INTO adopted_blueprints (campaign_id, blueprint_object, origin_group, document, lineage, unlisted,"
        " adopted_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (campaign_id, blueprint_object, origin_group, document, lineage_json, int(unlisted), to_db_time(now)),
    )


def adopted(conn: sqlite3.Connection, campaign_id: int) -> Adopted | None:
    row = fetchone(
        conn,
        "SELECT campaign_id, blueprint_object, origin_group, document, lineage, unlisted FROM adopted_blueprints"
        " WHERE campaign_id = ?",
        (campaign_id,),
    )
    return None if row is None else Adopted(row[0], row[1], row[2], row[3], row[4], unlisted=bool(row[5]))


def set_unlisted(conn: sqlite3.Connection, campaign_id: int, unlisted: bool) -> None:
    conn.execute(
        "UPDATE adopted_blueprints SET unlisted = ? WHERE campaign_id = ?", (int(unlisted), campaign_id)
    )


# -- partners' blueprints ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PartnerBlueprint:
    id: int
    object_id: str
    group_actor: str
    title: str
    summary: str


def save_partner_blueprint(
    conn: sqlite3.Connection, object_id: str, group_actor: str, title: str, summary: str, now: datetime
) -> None:
    conn.execute(
        "INSERT INTO partner_blueprints (object_id, group_actor, title, summary, received_at) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (object_id) DO UPDATE SET title = excluded.title, summary = excluded.summary"
        " WHERE partner_blueprints.group_actor = excluded.group_actor",
        (object_id, group_actor, title, summary, to_db_time(now)),
    )


def partner_blueprints(conn: sqlite3.Connection) -> list[PartnerBlueprint]:
    rows = fetchall(
        conn,
        "SELECT id, object_id, group_actor, title, summary FROM partner_blueprints ORDER BY received_at DESC",
    )
    return [PartnerBlueprint(*r) for r in rows]


def remove_partner_blueprint(conn: sqlite3.Connection, object_id: str, group_actor: str) -> bool:
    cursor = conn.execute(
        "DELETE FROM partner_blueprints WHERE object_id = ? AND group_actor = ?", (object_id, group_actor)
    )
    return cursor.rowcount > 0
