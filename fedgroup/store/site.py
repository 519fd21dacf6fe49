"""The one row describing this server's group and the keys of its actors."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import orjson

from fedgroup.store.db import fetchone, to_db_time


@dataclass(frozen=True)
class Site:
    handle: str
    name: str
    summary: str
    group_private_key: str
    group_public_key: str
    instance_private_key: str
    instance_public_key: str
    # The avatar, if the group has one: its media type and the digest that names it in its URL.
    avatar_type: str | None = None
    avatar_digest: str | None = None
    # The IANA zone in which people enter and read dates (rules/timezones.py).
    timezone: str = "UTC"
    # Moving to a new domain (actions/moving.py): the actors the group was before (on the new server), and
    # the actor it moved to (on the old one).
    also_known_as: tuple[str, ...] = ()
    moved_to: str | None = None
    # The group's language as set on its settings page; None: config.toml's default_language.
    language: str | None = None


def load(conn: sqlite3.Connection) -> Site | None:
    row = fetchone(
        conn,
        "SELECT s.handle, s.name, s.summary, s.group_private_key, s.group_public_key,"
        " s.instance_private_key, s.instance_public_key, a.media_type, a.digest, s.timezone,"
        " s.also_known_as, s.moved_to, s.language"
        " FROM site s LEFT JOIN group_avatar a ON a.id = 1 WHERE s.id = 1",
    )
    if row is None:
        return None
    values = list(row)
    values[10] = tuple(str(a) for a in orjson.loads(values[10] or "[]"))
    return Site(*values)


def create(conn: sqlite3.Connection, site: Site, now: datetime) -> None:
    conn.execute(
        "INSERT INTO site (id, handle, name, summary, group_private_key, group_public_key,"
        " instance_private_key, instance_public_key, created_at) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            site.handle,
            site.name,
            site.summary,
            site.group_private_key,
            site.group_public_key,
            site.instance_private_key,
            site.instance_public_key,
            to_db_time(now),
        ),
    )
    # Only a zone other than the column's default is written, so the row is the same on a schema before 11.
    if site.timezone != "UTC":
        set_timezone(conn, site.timezone)


def update_profile(conn: sqlite3.Connection, name: str, summary: str) -> None:
    conn.execute("UPDATE site SET name = ?, summary = ? WHERE id = 1", (name, summary))


def set_moved(conn: sqlite3.Connection, also_known_as: Sequence[str] | None, moved_to: str | None) -> None:
    """The group's earlier actors (None: unchanged) and the actor it moved to (None: it has not moved)."""
    if also_known_as is not None:
        conn.execute(
            "UPDATE site SET also_known_as = ? WHERE id = 1", (orjson.dumps(list(also_known_as)).decode(),)
        )
    conn.execute("UPDATE site SET moved_to = ? WHERE id = 1", (moved_to,))


def set_timezone(conn: sqlite3.Connection, timezone: str) -> None:
    conn.execute("UPDATE site SET timezone = ? WHERE id = 1", (timezone,))


def set_language(conn: sqlite3.Connection, language: str | None) -> None:
    conn.execute("UPDATE site SET language = ? WHERE id = 1", (language,))


def set_avatar(conn: sqlite3.Connection, media_type: str, digest: str, data: bytes, now: datetime) -> None:
    conn.execute(
        "INSERT INTO group_avatar (id, media_type, digest, data, updated_at) VALUES (1, ?, ?, ?, ?)"
        " ON CONFLICT (id) DO UPDATE SET media_type = excluded.media_type, digest = excluded.digest,"
        " data = excluded.data, updated_at = excluded.updated_at",
        (media_type, digest, data, to_db_time(now)),
    )


def avatar(conn: sqlite3.Connection, digest: str) -> tuple[str, bytes] | None:
    """(media type, bytes) of the avatar named by `digest`, if it is the current one."""
    row = fetchone(conn, "SELECT media_type, data FROM group_avatar WHERE id = 1 AND digest = ?", (digest,))
    return None if row is None else (str(row[0]), bytes(row[1]))
