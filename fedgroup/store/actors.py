"""Cache of remote actors we have fetched: their inboxes and public keys."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from fedgroup.store.db import fetchone, from_db_time, to_db_time


@dataclass(frozen=True)
class CachedActor:
    id: str
    type: str
    preferred_username: str | None
    name: str | None
    inbox: str
    shared_inbox: str | None
    followers: str | None
    url: str | None
    key_id: str
    public_key_pem: str
    document: str
    fetched_at: datetime

    @property
    def delivery_inbox(self) -> str:
        """Where one activity for everyone on that server goes: the shared inbox when there is one."""
        return self.shared_inbox or self.inbox


_COLUMNS = (
    "id, type, preferred_username, name, inbox, shared_inbox, followers, url, key_id, public_key_pem,"
    " document, fetched_at"
)


def _actor(row: sqlite3.Row | None) -> CachedActor | None:
    if row is None:
        return None
    values = list(row)
    values[-1] = from_db_time(values[-1])
    return CachedActor(*values)


def by_id(conn: sqlite3.Connection, actor_id: str) -> CachedActor | None:
    return _actor(fetchone(conn, f"SELECT {_COLUMNS} FROM remote_actors WHERE id = ?", (actor_id,)))


def by_key_id(conn: sqlite3.Connection, key_id: str) -> CachedActor | None:
    return _actor(fetchone(conn, f"SELECT {_COLUMNS} FROM remote_actors WHERE key_id = ?", (key_id,)))


def save(conn: sqlite3.Connection, actor: CachedActor) -> None:
    conn.execute(
        f"INSERT INTO remote_actors ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (id) DO UPDATE SET type = excluded.type, preferred_username = excluded.preferred_username,"
        " name = excluded.name, inbox = excluded.inbox, shared_inbox = excluded.shared_inbox,"
        " followers = excluded.followers, url = excluded.url, key_id = excluded.key_id,"
        " public_key_pem = excluded.public_key_pem, document = excluded.document, fetched_at = excluded.fetched_at",
        (
            actor.id,
            actor.type,
            actor.preferred_username,
            actor.name,
            actor.inbox,
            actor.shared_inbox,
            actor.followers,
            actor.url,
            actor.key_id,
            actor.public_key_pem,
            actor.document,
            to_db_time(actor.fetched_at),
        ),
    )


def forget(conn: sqlite3.Connection, actor_id: str) -> None:
    conn.execute("DELETE FROM remote_actors WHERE id = ?", (actor_id,))
