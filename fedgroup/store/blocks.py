"""Remote actors and domains an organizer blocked: nothing from them is accepted or served to them."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from fedgroup.store.db import fetchall, fetchone, to_db_time


@dataclass(frozen=True)
class Block:
    target: str
    kind: str
    activity_id: str | None = None  # the Block activity we sent (account blocks), for its Undo
    inbox: str | None = None  # where we sent it


def add(conn: sqlite3.Connection, target: str, kind: str, now: datetime) -> bool:
    """Record a block; False when it was already there."""
    cursor = conn.execute(
        "INSERT INTO blocks (target, kind, created_at) VALUES (?, ?, ?) ON CONFLICT (target) DO NOTHING",
        (target, kind, to_db_time(now)),
    )
    return cursor.rowcount > 0


def remember_activity(conn: sqlite3.Connection, target: str, activity_id: str, inbox: str) -> None:
    conn.execute(
        "UPDATE blocks SET activity_id = ?, inbox = ? WHERE target = ?", (activity_id, inbox, target)
    )


def get(conn: sqlite3.Connection, target: str) -> Block | None:
    row = fetchone(conn, "SELECT target, kind, activity_id, inbox FROM blocks WHERE target = ?", (target,))
    return None if row is None else Block(*row)


def remove(conn: sqlite3.Connection, target: str) -> bool:
    cursor = conn.execute("DELETE FROM blocks WHERE target = ?", (target,))
    return cursor.rowcount > 0


def listing(conn: sqlite3.Connection) -> list[Block]:
    return [Block(*r) for r in fetchall(conn, "SELECT target, kind FROM blocks ORDER BY kind, target")]


@dataclass(frozen=True)
class BlockSet:
    """Every block at one moment, for checks on each request without a query each."""

    actors: frozenset[str] = frozenset()
    domains: frozenset[str] = frozenset()

    def blocks(self, actor_id: str) -> bool:
        """Whether the actor, or its domain, is blocked."""
        if actor_id in self.actors:
            return True
        return bool(self.domains) and urlsplit(actor_id).netloc.lower() in self.domains


def load_set(conn: sqlite3.Connection) -> BlockSet:
    rows = fetchall(conn, "SELECT target, kind FROM blocks")
    return BlockSet(
        actors=frozenset(r[0] for r in rows if r[1] == "actor"),
        domains=frozenset(r[0] for r in rows if r[1] == "domain"),
    )


def actors_on_domain(conn: sqlite3.Connection, domain: str) -> list[str]:
    """Every remote actor on a domain we hold anything of: followers, voters, repliers, partner groups."""
    prefixes = (f"https://{domain}/%", f"http://{domain}/%")
    rows = fetchall(
        conn,
        "SELECT actor_id FROM followers WHERE actor_id LIKE ? OR actor_id LIKE ?"
        " UNION SELECT voter FROM votes WHERE voter LIKE ? OR voter LIKE ?"
        " UNION SELECT author FROM comments WHERE author LIKE ? OR author LIKE ?"
        " UNION SELECT group_actor FROM group_pledges WHERE group_actor LIKE ? OR group_actor LIKE ?"
        " UNION SELECT group_actor FROM held_group_pledges WHERE group_actor LIKE ? OR group_actor LIKE ?"
        " UNION SELECT actor_id FROM partners WHERE actor_id LIKE ? OR actor_id LIKE ?"
        " UNION SELECT actor FROM reactions WHERE actor LIKE ? OR actor LIKE ?",
        prefixes * 7,
    )
    return [str(r[0]) for r in rows]
