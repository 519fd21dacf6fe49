"""What we sent (outbox activities) and the delivery queue that carries it to inboxes."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple
from urllib.parse import urlsplit

from fedgroup.store.db import fetchall, fetchone, from_db_time, scalar, to_db_time


@dataclass(frozen=True)
class OutboxActivity:
    id: str
    type: str
    object_id: str | None
    visibility: str
    signer: str
    document: str
    published_at: datetime


_ACTIVITY_COLUMNS = "id, type, object_id, visibility, signer, document, published_at"


def _activity(row: sqlite3.Row | None) -> OutboxActivity | None:
    if row is None:
        return None
    values = list(row)
    values[-1] = from_db_time(values[-1])
    return OutboxActivity(*values)


def add_activity(
    conn: sqlite3.Connection,
    activity_id: str,
    type_: str,
    object_id: str | None,
    visibility: str,
    signer: str,
    document: str,
    now: datetime,
) -> None:
    conn.execute(
        f"INSERT INTO outbox_activities ({_ACTIVITY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (activity_id, type_, object_id, visibility, signer, document, to_db_time(now)),
    )


def activity(conn: sqlite3.Connection, activity_id: str) -> OutboxActivity | None:
    return _activity(
        fetchone(conn, f"SELECT {_ACTIVITY_COLUMNS} FROM outbox_activities WHERE id = ?", (activity_id,))
    )


def count_public(conn: sqlite3.Connection) -> int:
    return int(scalar(conn, "SELECT COUNT(*) FROM outbox_activities WHERE visibility = 'public'"))


def public_page(conn: sqlite3.Connection, before: str | None, limit: int) -> list[OutboxActivity]:
    """Public activities, newest first, strictly older than `before` (a published_at cursor)."""
    if before is None:
        rows = fetchall(
            conn,
            f"SELECT {_ACTIVITY_COLUMNS} FROM outbox_activities WHERE visibility = 'public'"
            " ORDER BY published_at DESC, id DESC LIMIT ?",
            (limit,),
        )
    else:
        rows = fetchall(
            conn,
            f"SELECT {_ACTIVITY_COLUMNS} FROM outbox_activities WHERE visibility = 'public' AND published_at < ?"
            " ORDER BY published_at DESC, id DESC LIMIT ?",
            (before, limit),
        )
    return [a for a in map(_activity, rows) if a is not None]


def remove_activities_of_object(conn: sqlite3.Connection, object_id: str) -> None:
    """Forget what we said about an object (when it is deleted), except the Delete itself."""
    conn.execute("DELETE FROM outbox_activities WHERE object_id = ? AND type != 'Delete'", (object_id,))


# -- the delivery queue ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    id: int
    activity_id: str
    inbox: str
    host: str
    attempts: int
    queued_at: datetime


def host_of(inbox: str) -> str:
    return urlsplit(inbox).netloc.lower()


def add_deliveries(conn: sqlite3.Connection, activity_id: str, inboxes: Iterable[str], now: datetime) -> int:
    """Queue the activity for each inbox (once per inbox); returns how many rows were added."""
    stamp = to_db_time(now)
    rows = [(activity_id, inbox, host_of(inbox), stamp, stamp) for inbox in dict.fromkeys(inboxes)]
    # The same activity queued again for an inbox that gave up on it is tried afresh.
    cursor = conn.executemany(
        "INSERT INTO deliveries (activity_id, inbox, host, queued_at, next_attempt_at) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (activity_id, inbox) DO UPDATE SET given_up_at = NULL, attempts = 0,"
        " queued_at = excluded.queued_at, next_attempt_at = excluded.next_attempt_at, last_error = NULL"
        " WHERE deliveries.given_up_at IS NOT NULL",
        rows,
    )
    return cursor.rowcount


def supersede_updates(
    conn: sqlite3.Connection, activity_id: str, object_id: str, inboxes: Iterable[str]
) -> int:
    """Drop the queued deliveries, to these inboxes, of earlier Updates of the same object: an Update
    restates the whole object (a campaign's poll with its totals as they are now), so once a newer one is
    queued for an inbox an older one still waiting there says nothing the newer does not. Given-up rows
    stay (the operator's record). A row being POSTed right now may still arrive: harmless, the newer one
    follows. Returns how many rows were dropped."""
    older = [
        row[0]
        for row in conn.execute(
            "SELECT DISTINCT d.activity_id FROM outbox_activities a JOIN deliveries d ON d.activity_id = a.id"
            " WHERE a.object_id = ? AND a.type = 'Update' AND a.id != ? AND d.given_up_at IS NULL",
            (object_id, activity_id),
        )
    ]
    if not older:
        return 0
    wanted = list(dict.fromkeys(inboxes))
    cursor = conn.executemany(
        "DELETE FROM deliveries WHERE activity_id = ? AND inbox = ? AND given_up_at IS NULL",
        [(old, inbox) for old in older for inbox in wanted],
    )
    return cursor.rowcount


def due(conn: sqlite3.Connection, now: datetime, exclude: Iterable[int], limit: int) -> list[Delivery]:
    """Deliveries whose time has come, on hosts that are not paused, oldest first."""
    stamp = to_db_time(now)
    skip = list(exclude)
    # NOT IN (NULL) would match nothing, so the clause is only added when there is something to skip.
    skip_clause = f" AND d.id NOT IN ({','.join('?' * len(skip))})" if skip else ""
    rows = fetchall(
        conn,
        "SELECT d.id, d.activity_id, d.inbox, d.host, d.attempts, d.queued_at FROM deliveries d"
        " LEFT JOIN delivery_hosts h ON h.host = d.host"
        " WHERE d.given_up_at IS NULL AND d.next_attempt_at <= ? AND (h.paused_until IS NULL OR h.paused_until <= ?)"
        f"{skip_clause} ORDER BY d.next_attempt_at, d.id LIMIT ?",
        (stamp, stamp, *skip, limit),
    )
    return [Delivery(r[0], r[1], r[2], r[3], r[4], from_db_time(r[5])) for r in rows]  # type: ignore[arg-type]


def next_due_at(conn: sqlite3.Connection) -> datetime | None:
    return from_db_time(scalar(conn, "SELECT MIN(next_attempt_at) FROM deliveries WHERE given_up_at IS NULL"))


def pending_count(conn: sqlite3.Connection) -> int:
    """Deliveries still being tried (not the given-up ones)."""
    return int(scalar(conn, "SELECT COUNT(*) FROM deliveries WHERE given_up_at IS NULL"))


# A row id can be reused once its row is gone (a delivery cancelled while in flight, when its activity was
# withdrawn), so the worker's updates name the row by id *and* activity: they never touch a newer delivery.
_THIS_DELIVERY = "id = ? AND activity_id = ?"


def delivered_many(conn: sqlite3.Connection, deliveries: Sequence[Delivery]) -> None:
    """Rows whose inbox answered 2xx leave the queue, and their hosts count as healthy again (the worker
    confirms answers in batches)."""
    conn.executemany(
        f"DELETE FROM deliveries WHERE {_THIS_DELIVERY}", [(d.id, d.activity_id) for d in deliveries]
    )
    conn.executemany(
        "UPDATE delivery_hosts SET consecutive_failures = 0, paused_until = NULL WHERE host = ?",
        [(host,) for host in dict.fromkeys(d.host for d in deliveries)],
    )


def retry_later(conn: sqlite3.Connection, delivery: Delivery, at: datetime, error: str) -> None:
    conn.execute(
        f"UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE {_THIS_DELIVERY}",
        (to_db_time(at), error[:500], delivery.id, delivery.activity_id),
    )


def give_up(conn: sqlite3.Connection, delivery: Delivery, now: datetime, error: str) -> None:
    """Stop trying: the row stays, with its last error and attempts, for the operator to see and retry."""
    conn.execute(
        "UPDATE deliveries SET given_up_at = ?, attempts = attempts + 1, last_error = ?"
        f" WHERE {_THIS_DELIVERY}",
        (to_db_time(now), error[:500], delivery.id, delivery.activity_id),
    )


def withdraw(conn: sqlite3.Connection, delivery: Delivery) -> None:
    """The activity is gone (its object deleted): there is nothing to send, nor to keep."""
    conn.execute(f"DELETE FROM deliveries WHERE {_THIS_DELIVERY}", (delivery.id, delivery.activity_id))


@dataclass(frozen=True)
class GivenUpDelivery:
    id: int
    activity_id: str
    inbox: str
    host: str
    attempts: int
    queued_at: str
    given_up_at: str
    last_error: str | None


def given_up(conn: sqlite3.Connection, limit: int = 50) -> list[GivenUpDelivery]:
    """The most recently given-up deliveries, for the operator."""
    rows = fetchall(
        conn,
        "SELECT id, activity_id, inbox, host, attempts, queued_at, given_up_at, last_error FROM deliveries"
        " WHERE given_up_at IS NOT NULL ORDER BY given_up_at DESC, id DESC LIMIT ?",
        (limit,),
    )
    return [GivenUpDelivery(*r) for r in rows]


def retry_given_up(
    conn: sqlite3.Connection, now: datetime, delivery_id: int | None = None, host: str | None = None
) -> int:
    """Put given-up deliveries back in the queue, due at once: one (by id), a host's, or (neither) all of them;
    returns how many. Their hosts are no longer paused. A retried row is tried afresh: its attempts and its
    age (the give-up clock) start again, as the operator who retries it expects the host to be back."""
    where, args = "given_up_at IS NOT NULL", list[object]()
    if delivery_id is not None:
        where, args = where + " AND id = ?", [delivery_id]
    if host is not None:
        where, args = where + " AND host = ?", [*args, host.lower()]
    hosts = [r[0] for r in fetchall(conn, f"SELECT DISTINCT host FROM deliveries WHERE {where}", tuple(args))]
    stamp = to_db_time(now)
    cursor = conn.execute(
        "UPDATE deliveries SET given_up_at = NULL, attempts = 0, queued_at = ?, next_attempt_at = ?"
        f" WHERE {where}",
        (stamp, stamp, *args),
    )
    conn.executemany(
        "UPDATE delivery_hosts SET consecutive_failures = 0, paused_until = NULL WHERE host = ?",
        [(h,) for h in hosts],
    )
    return cursor.rowcount


def host_failed(conn: sqlite3.Connection, host: str) -> int:
    """Count one more failure in a row for a host; returns the new count."""
    conn.execute(
        "INSERT INTO delivery_hosts (host, consecutive_failures) VALUES (?, 1)"
        " ON CONFLICT (host) DO UPDATE SET consecutive_failures = consecutive_failures + 1",
        (host,),
    )
    row = fetchone(conn, "SELECT consecutive_failures FROM delivery_hosts WHERE host = ?", (host,))
    return int(row[0]) if row else 1


def pause_host(conn: sqlite3.Connection, host: str, until: datetime) -> None:
    conn.execute("UPDATE delivery_hosts SET paused_until = ? WHERE host = ?", (to_db_time(until), host))


def remove_deliveries_to(conn: sqlite3.Connection, inboxes: Iterable[str]) -> None:
    conn.executemany("DELETE FROM deliveries WHERE inbox = ?", [(i,) for i in inboxes])


def remove_deliveries_to_host(conn: sqlite3.Connection, host: str) -> None:
    """A blocked domain: nothing more is sent there, including what was already queued."""
    conn.execute("DELETE FROM deliveries WHERE host = ?", (host,))


class HostCounts(NamedTuple):
    host: str
    pending: int
    retrying: int
    given_up: int


class DeliveryCounts(NamedTuple):
    pending: int  # not tried yet
    retrying: int  # failed at least once, to be tried again
    oldest: datetime | None  # when the oldest undelivered row (not given up) was queued
    paused_hosts: list[tuple[str, datetime]]  # hosts paused after failures in a row, and until when
    given_up: int = 0  # kept for the operator
    hosts: tuple[HostCounts, ...] = ()  # the same per remote host, busiest first


_STILL_TRIED = "given_up_at IS NULL"


def counts(conn: sqlite3.Connection, now: datetime) -> DeliveryCounts:
    """The delivery queue at a glance, for the operator, in total and per remote host."""
    per_host = [
        HostCounts(str(r[0]), int(r[1]), int(r[2]), int(r[3]))
        for r in fetchall(
            conn,
            f"SELECT host, SUM({_STILL_TRIED} AND attempts = 0), SUM({_STILL_TRIED} AND attempts > 0),"
            " SUM(given_up_at IS NOT NULL) FROM deliveries GROUP BY host ORDER BY COUNT(*) DESC, host",
        )
    ]
    row = fetchone(conn, f"SELECT MIN(queued_at) FROM deliveries WHERE {_STILL_TRIED}")
    assert row is not None
    paused = fetchall(
        conn,
        "SELECT host, paused_until FROM delivery_hosts WHERE paused_until > ? ORDER BY host",
        (to_db_time(now),),
    )
    return DeliveryCounts(
        sum(h.pending for h in per_host),
        sum(h.retrying for h in per_host),
        from_db_time(row[0]),
        [(host, until) for host, text in paused if (until := from_db_time(text)) is not None],
        sum(h.given_up for h in per_host),
        tuple(per_host),
    )
