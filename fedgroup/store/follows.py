"""Who follows our group, and whom our group follows."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from fedgroup.store.db import fetchall, fetchone, scalar, to_db_time


@dataclass(frozen=True)
class Follower:
    actor_id: str
    follow_id: str
    state: str
    inbox: str
    shared_inbox: str | None


def add_follower(
    conn: sqlite3.Connection,
    actor_id: str,
    follow_id: str,
    state: str,
    inbox: str,
    shared_inbox: str | None,
    now: datetime,
) -> None:
    """Store or refresh a follower; an already accepted follower stays accepted."""
    conn.execute(
        "INSERT INTO followers (actor_id, follow_id, state, inbox, shared_inbox, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (actor_id) DO UPDATE SET follow_id = excluded.follow_id,"
        " inbox = excluded.inbox, shared_inbox = excluded.shared_inbox,"
        " state = CASE WHEN followers.state = 'accepted' THEN 'accepted' ELSE excluded.state END",
        (actor_id, follow_id, state, inbox, shared_inbox, to_db_time(now)),
    )


def follower(conn: sqlite3.Connection, actor_id: str) -> Follower | None:
    row = fetchone(
        conn,
        "SELECT actor_id, follow_id, state, inbox, shared_inbox FROM followers WHERE actor_id = ?",
        (actor_id,),
    )
    return None if row is None else Follower(*row)


def set_follower_state(conn: sqlite3.Connection, actor_id: str, state: str) -> bool:
    cursor = conn.execute("UPDATE followers SET state = ? WHERE actor_id = ?", (state, actor_id))
    return cursor.rowcount > 0


def remove_follower(conn: sqlite3.Connection, actor_id: str, follow_id: str | None = None) -> bool:
    """Remove a follower; with `follow_id`, only if that is the follow being undone."""
    if follow_id is None:
        cursor = conn.execute("DELETE FROM followers WHERE actor_id = ?", (actor_id,))
    else:
        cursor = conn.execute(
            "DELETE FROM followers WHERE actor_id = ? AND follow_id = ?", (actor_id, follow_id)
        )
    return cursor.rowcount > 0


def follower_inboxes(conn: sqlite3.Connection) -> list[str]:
    """One inbox per server where possible: shared inboxes de-duplicated, personal ones otherwise."""
    rows = fetchall(
        conn,
        "SELECT DISTINCT COALESCE(shared_inbox, inbox) FROM followers WHERE state = 'accepted' ORDER BY 1",
    )
    return [r[0] for r in rows]


def is_accepted_follower(conn: sqlite3.Connection, actor_id: str) -> bool:
    row = fetchone(conn, "SELECT 1 FROM followers WHERE actor_id = ? AND state = 'accepted'", (actor_id,))
    return row is not None


def is_follower_on_host(conn: sqlite3.Connection, origin: str) -> bool:
    """Whether any accepted follower's id starts with this scheme://host (for instance-actor fetches)."""
    row = fetchone(
        conn,
        "SELECT 1 FROM followers WHERE state = 'accepted' AND substr(actor_id, 1, ?) = ? LIMIT 1",
        (len(origin) + 1, origin + "/"),
    )
    return row is not None


def count_followers(conn: sqlite3.Connection) -> int:
    return int(scalar(conn, "SELECT COUNT(*) FROM followers WHERE state = 'accepted'"))


def pending_followers(conn: sqlite3.Connection) -> list[Follower]:
    rows = fetchall(
        conn,
        "SELECT actor_id, follow_id, state, inbox, shared_inbox FROM followers WHERE state = 'pending'"
        " ORDER BY created_at",
    )
    return [Follower(*r) for r in rows]


# -- following (our group's outgoing follows) -------------------------------------------------------


@dataclass(frozen=True)
class Following:
    actor_id: str
    follow_id: str
    state: str


def add_following(conn: sqlite3.Connection, actor_id: str, follow_id: str, now: datetime) -> None:
    conn.execute(
        "INSERT INTO following (actor_id, follow_id, state, created_at) VALUES (?, ?, 'pending', ?)"
        " ON CONFLICT (actor_id) DO UPDATE SET follow_id = excluded.follow_id, state = 'pending'",
        (actor_id, follow_id, to_db_time(now)),
    )


def following_by_follow_id(conn: sqlite3.Connection, follow_id: str) -> Following | None:
    row = fetchone(conn, "SELECT actor_id, follow_id, state FROM following WHERE follow_id = ?", (follow_id,))
    return None if row is None else Following(*row)


def following_of(conn: sqlite3.Connection, actor_id: str) -> Following | None:
    row = fetchone(conn, "SELECT actor_id, follow_id, state FROM following WHERE actor_id = ?", (actor_id,))
    return None if row is None else Following(*row)


def set_following_state(conn: sqlite3.Connection, follow_id: str, state: str) -> bool:
    cursor = conn.execute("UPDATE following SET state = ? WHERE follow_id = ?", (state, follow_id))
    return cursor.rowcount > 0


def remove_following(conn: sqlite3.Connection, actor_id: str) -> bool:
    cursor = conn.execute("DELETE FROM following WHERE actor_id = ?", (actor_id,))
    return cursor.rowcount > 0


def list_following(conn: sqlite3.Connection) -> list[Following]:
    rows = fetchall(conn, "SELECT actor_id, follow_id, state FROM following ORDER BY created_at")
    return [Following(*r) for r in rows]


def count_following(conn: sqlite3.Connection) -> int:
    return int(scalar(conn, "SELECT COUNT(*) FROM following WHERE state = 'accepted'"))
