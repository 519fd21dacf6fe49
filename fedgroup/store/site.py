"""The one row describing this server's group and the keys of its actors."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

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


def load(conn: sqlite3.Connection) -> Site | None:
    row = fetchone(
        conn,
        "SELECT handle, name, summary, group_private_key, group_public_key,"
        " instance_private_key, instance_public_key FROM site WHERE id = 1",
    )
    return None if row is None else Site(*row)


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


def update_profile(conn: sqlite3.Connection, name: str, summary: str) -> None:
    conn.execute("UPDATE site SET name = ?, summary = ? WHERE id = 1", (name, summary))
