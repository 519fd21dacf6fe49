"""The one row describing this server's group and the keys of its actors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import aiosqlite

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


async def load(conn: aiosqlite.Connection) -> Site | None:
    row = await fetchone(
        conn,
        "SELECT handle, name, summary, group_private_key, group_public_key,"
        " instance_private_key, instance_public_key FROM site WHERE id = 1",
    )
    return None if row is None else Site(*row)


async def create(conn: aiosqlite.Connection, site: Site, now: datetime) -> None:
    await conn.execute(
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


async def update_profile(conn: aiosqlite.Connection, name: str, summary: str) -> None:
    await conn.execute("UPDATE site SET name = ?, summary = ? WHERE id = 1", (name, summary))
