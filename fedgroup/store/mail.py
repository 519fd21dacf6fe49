"""Mail to members: preferences, notifications waiting for their time, the outbound queue, calls."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import NamedTuple

from fedgroup.store.db import fetchall, fetchone, from_db_time, scalar, to_db_time

# -- preferences --------------------------------------------------------------------------------------------


class StoredPreferences(NamedTuple):
    kinds: str
    delivery: str
    break_until: date | None
    break_keeps: str
    asks_per_week: int


def preferences(conn: sqlite3.Connection, member_id: int) -> StoredPreferences | None:
    row = fetchone(
        conn,
        "SELECT kinds, delivery, break_until, break_keeps, asks_per_week FROM mail_preferences WHERE member_id = ?",
        (member_id,),
    )
    if row is None:
        return None
    until = date.fromisoformat(row[2]) if row[2] else None
    return StoredPreferences(row[0], row[1], until, row[3], int(row[4]))


def save_preferences(
    conn: sqlite3.Connection, member_id: int, prefs: StoredPreferences, now: datetime
) -> None:
    conn.execute(
        "INSERT INTO mail_preferences (member_id, kinds, delivery, break_until, break_keeps, asks_per_week,"
        " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (member_id) DO UPDATE SET kinds = excluded.kinds,"
        " delivery = excluded.delivery, break_until = excluded.break_until, break_keeps = excluded.break_keeps,"
        " asks_per_week = excluded.asks_per_week, updated_at = excluded.updated_at",
        (
            member_id,
            prefs.kinds,
            prefs.delivery,
            prefs.break_until.isoformat() if prefs.break_until else None,
            prefs.break_keeps,
            prefs.asks_per_week,
            to_db_time(now),
        ),
    )


def set_email(conn: sqlite3.Connection, member_id: int, email: str | None) -> None:
    conn.execute("UPDATE members SET email = ? WHERE id = ?", (email, member_id))


class Recipient(NamedTuple):
    member_id: int
    email: str
    prefs: StoredPreferences | None
    language: str | None = None  # their own choice (Account); None: the group's


def recipients(conn: sqlite3.Connection, member_ids: Iterable[int] | None = None) -> list[Recipient]:
    """Members with an address (all of them, or those named), with their stored preferences."""
    rows = fetchall(
        conn,
        "SELECT m.id, m.email, p.kinds, p.delivery, p.break_until, p.break_keeps, p.asks_per_week, m.language"
        " FROM members m"
        " LEFT JOIN mail_preferences p ON p.member_id = m.id WHERE m.email IS NOT NULL AND m.email != ''"
        " ORDER BY m.id",
    )
    wanted = None if member_ids is None else set(member_ids)
    out = []
    for r in rows:
        if wanted is not None and r[0] not in wanted:
            continue
        prefs = None
        if r[2] is not None:
            prefs = StoredPreferences(r[2], r[3], date.fromisoformat(r[4]) if r[4] else None, r[5], int(r[6]))
        out.append(Recipient(int(r[0]), r[1], prefs, r[7]))
    return out


def member_ids_with_role(conn: sqlite3.Connection, roles: Sequence[str]) -> list[int]:
    marks = ",".join("?" * len(roles))
    return [
        int(r[0]) for r in fetchall(conn, f"SELECT id FROM members WHERE role IN ({marks})", tuple(roles))
    ]


def pledger_ids(conn: sqlite3.Connection, campaign_id: int, unfulfilled_only: bool = False) -> list[int]:
    extra = " AND fulfilled = 0" if unfulfilled_only else ""
    rows = fetchall(
        conn,
        f"SELECT DISTINCT member_id FROM pledges WHERE campaign_id = ?{extra} ORDER BY member_id",
        (campaign_id,),
    )
    return [int(r[0]) for r in rows]


# -- events turned into notifications ------------------------------------------------------------------------


def handled_events(conn: sqlite3.Connection, events: Sequence[str]) -> set[str]:
    if not events:
        return set()
    marks = ",".join("?" * len(events))
    return {
        r[0] for r in fetchall(conn, f"SELECT event FROM mail_events WHERE event IN ({marks})", tuple(events))
    }


def mark_events(conn: sqlite3.Connection, events: Iterable[str], now: datetime) -> None:
    conn.executemany(
        "INSERT INTO mail_events (event, handled_at) VALUES (?, ?) ON CONFLICT (event) DO NOTHING",
        [(e, to_db_time(now)) for e in events],
    )


def any_event_handled(conn: sqlite3.Connection) -> bool:
    return bool(scalar(conn, "SELECT EXISTS (SELECT 1 FROM mail_events)"))


class Occasion(NamedTuple):
    """A campaign of ours (or a partner's) that may be news: its id, title, and the moments that matter."""

    id: int
    title: str
    deadline: datetime | None
    closed_at: datetime | None
    outcome_at: datetime | None
    outcome: str | None


def open_campaigns(conn: sqlite3.Connection) -> list[Occasion]:
    return _occasions(conn, "c.status = 'open'")


def recently_closed(conn: sqlite3.Connection, since: datetime) -> list[Occasion]:
    return _occasions(conn, "(c.closed_at >= ? OR c.outcome_at >= ?)", (to_db_time(since), to_db_time(since)))


def _occasions(conn: sqlite3.Connection, where: str, params: tuple[str, ...] = ()) -> list[Occasion]:
    rows = fetchall(
        conn,
        "SELECT c.id, c.title, c.deadline, c.closed_at, c.outcome_at, c.outcome FROM campaigns c"
        f" WHERE c.draft = 0 AND c.deleted_at IS NULL AND {where} ORDER BY c.id",
        params,
    )
    return [
        Occasion(r[0], r[1], from_db_time(r[2]), from_db_time(r[3]), from_db_time(r[4]), r[5]) for r in rows
    ]


def recent_partner_campaigns(conn: sqlite3.Connection, since: datetime) -> list[tuple[int, str, str]]:
    """(id, title, group actor) of partners' campaigns that arrived since then."""
    rows = fetchall(
        conn,
        "SELECT id, title, group_actor FROM partner_campaigns WHERE received_at >= ? AND closed = 0 ORDER BY id",
        (to_db_time(since),),
    )
    return [(int(r[0]), r[1], r[2]) for r in rows]


# -- notifications waiting for their time ----------------------------------------------------------------------


@dataclass(frozen=True)
class Notice:
    member_id: int
    notification: str
    kind: str
    subject: str
    body: str
    url: str


def add_item(
    conn: sqlite3.Connection, notice: Notice, now: datetime, release_at: datetime, batch: str | None
) -> bool:
    """Queue a notification for its time; False if this member has it already."""
    cursor = conn.execute(
        "INSERT INTO mail_items (member_id, notification, kind, subject, body, url, created_at, release_at, batch)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (member_id, notification) DO NOTHING",
        (notice.member_id, notice.notification, notice.kind, notice.subject, notice.body, notice.url,
         to_db_time(now), to_db_time(release_at), batch),
    )  # fmt: skip
    return cursor.rowcount > 0


@dataclass(frozen=True)
class WaitingItem:
    id: int
    member_id: int
    kind: str
    subject: str
    body: str
    url: str
    created_at: datetime
    release_at: datetime
    batch: str | None


_ITEM_COLUMNS = "id, member_id, kind, subject, body, url, created_at, release_at, batch"


def _item(r: sqlite3.Row) -> WaitingItem:
    created, release = from_db_time(r[6]), from_db_time(r[7])
    assert created is not None and release is not None
    return WaitingItem(r[0], r[1], r[2], r[3], r[4], r[5], created, release, r[8])


def due_items(conn: sqlite3.Connection, now: datetime, limit: int = 500) -> list[WaitingItem]:
    rows = fetchall(
        conn,
        f"SELECT {_ITEM_COLUMNS} FROM mail_items WHERE dispatched_at IS NULL AND release_at <= ?"
        " ORDER BY member_id, release_at, id LIMIT ?",
        (to_db_time(now), limit),
    )
    return [_item(r) for r in rows]


def waiting_items(conn: sqlite3.Connection, member_id: int) -> list[WaitingItem]:
    rows = fetchall(
        conn,
        f"SELECT {_ITEM_COLUMNS} FROM mail_items WHERE dispatched_at IS NULL AND member_id = ? ORDER BY id",
        (member_id,),
    )
    return [_item(r) for r in rows]


def reschedule_item(conn: sqlite3.Connection, item_id: int, release_at: datetime, batch: str | None) -> None:
    conn.execute(
        "UPDATE mail_items SET release_at = ?, batch = ? WHERE id = ? AND dispatched_at IS NULL",
        (to_db_time(release_at), batch, item_id),
    )


def drop_waiting(conn: sqlite3.Connection, member_id: int, kinds: Iterable[str] | None) -> None:
    """Forget what waits for a member who no longer wants it (all of it, or these kinds)."""
    if kinds is None:
        conn.execute("DELETE FROM mail_items WHERE member_id = ? AND dispatched_at IS NULL", (member_id,))
        return
    conn.executemany(
        "DELETE FROM mail_items WHERE member_id = ? AND kind = ? AND dispatched_at IS NULL",
        [(member_id, k) for k in kinds],
    )


def still_waiting(conn: sqlite3.Connection, item_id: int) -> bool:
    return (
        fetchone(conn, "SELECT 1 FROM mail_items WHERE id = ? AND dispatched_at IS NULL", (item_id,))
        is not None
    )


def dispatched(conn: sqlite3.Connection, item_ids: Sequence[int], mail_id: int | None, now: datetime) -> None:
    conn.executemany(
        "UPDATE mail_items SET dispatched_at = ?, mail_id = ? WHERE id = ?",
        [(to_db_time(now), mail_id, i) for i in item_ids],
    )


def asks_since(conn: sqlite3.Connection, member_id: int, since: datetime) -> int:
    return int(
        scalar(
            conn,
            "SELECT COUNT(*) FROM mail_items WHERE member_id = ? AND kind = 'call' AND created_at > ?",
            (member_id, to_db_time(since)),
        )
    )


def add_call(
    conn: sqlite3.Connection,
    sent_by: int,
    subject: str,
    audience: str,
    reached: int,
    held_back: int,
    now: datetime,
) -> int:
    cursor = conn.execute(
        "INSERT INTO mail_calls (sent_by, subject, audience, reached, held_back, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (sent_by, subject, audience, reached, held_back, to_db_time(now)),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


class Call(NamedTuple):
    id: int
    subject: str
    audience: str
    reached: int
    held_back: int
    created_at: datetime | None


def recent_calls(conn: sqlite3.Connection, limit: int = 20) -> list[Call]:
    rows = fetchall(
        conn,
        "SELECT id, subject, audience, reached, held_back, created_at FROM mail_calls ORDER BY id DESC LIMIT ?",
        (limit,),
    )
    return [Call(r[0], r[1], r[2], r[3], r[4], from_db_time(r[5])) for r in rows]


# -- the outbound queue ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueuedMail:
    id: int
    message_id: str
    recipient: str
    message: bytes
    attempts: int
    queued_at: datetime


def add_mail(
    conn: sqlite3.Connection,
    member_id: int,
    notification: str,
    message_id: str,
    recipient: str,
    message: bytes,
    now: datetime,
) -> int | None:
    """Queue a mail once per (member, notification); None if it was queued before (sent or not)."""
    stamp = to_db_time(now)
    cursor = conn.execute(
        "INSERT INTO mail_queue (member_id, notification, message_id, recipient, message, queued_at,"
        " next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (member_id, notification, message_id, recipient, message, stamp, stamp),
    )
    return cursor.lastrowid if cursor.rowcount > 0 else None


def due_mail(conn: sqlite3.Connection, now: datetime, exclude: Iterable[int], limit: int) -> list[QueuedMail]:
    skip = list(exclude)
    skip_clause = f" AND id NOT IN ({','.join('?' * len(skip))})" if skip else ""
    rows = fetchall(
        conn,
        "SELECT id, message_id, recipient, message, attempts, queued_at FROM mail_queue"
        f" WHERE state = 'queued' AND next_attempt_at <= ?{skip_clause} ORDER BY next_attempt_at, id LIMIT ?",
        (to_db_time(now), *skip, limit),
    )
    return [QueuedMail(r[0], r[1], r[2], bytes(r[3]), r[4], from_db_time(r[5])) for r in rows]  # type: ignore[arg-type]


def sent(conn: sqlite3.Connection, mail_id: int, now: datetime) -> None:
    conn.execute(
        "UPDATE mail_queue SET state = 'sent', finished_at = ?, attempts = attempts + 1 WHERE id = ?",
        (to_db_time(now), mail_id),
    )


def retry_mail_later(conn: sqlite3.Connection, mail_id: int, at: datetime, error: str) -> None:
    conn.execute(
        "UPDATE mail_queue SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE id = ?",
        (to_db_time(at), error[:500], mail_id),
    )


def failed(conn: sqlite3.Connection, mail_id: int, error: str, now: datetime) -> None:
    conn.execute(
        "UPDATE mail_queue SET state = 'failed', attempts = attempts + 1, last_error = ?, finished_at = ?"
        " WHERE id = ?",
        (error[:500], to_db_time(now), mail_id),
    )


class MailCounts(NamedTuple):
    pending: int
    retrying: int
    sent: int
    failed: int
    oldest: datetime | None


def counts(conn: sqlite3.Connection) -> MailCounts:
    row = fetchone(
        conn,
        "SELECT COALESCE(SUM(state = 'queued' AND attempts = 0), 0), COALESCE(SUM(state = 'queued' AND attempts > 0), 0),"
        " COALESCE(SUM(state = 'sent'), 0), COALESCE(SUM(state = 'failed'), 0),"
        " MIN(CASE WHEN state = 'queued' THEN queued_at END) FROM mail_queue",
    )
    assert row is not None
    return MailCounts(int(row[0]), int(row[1]), int(row[2]), int(row[3]), from_db_time(row[4]))


class FailedMail(NamedTuple):
    id: int
    member_name: str | None
    notification: str
    error: str
    finished_at: datetime | None


def failures(conn: sqlite3.Connection, limit: int = 50) -> list[FailedMail]:
    """Mail the SMTP server refused for good, newest first: to whom by member name (never the address)."""
    rows = fetchall(
        conn,
        "SELECT q.id, m.name, q.notification, COALESCE(q.last_error, ''), q.finished_at FROM mail_queue q"
        " LEFT JOIN members m ON m.id = q.member_id WHERE q.state = 'failed' ORDER BY q.finished_at DESC, q.id DESC"
        " LIMIT ?",
        (limit,),
    )
    return [FailedMail(r[0], r[1], r[2], r[3], from_db_time(r[4])) for r in rows]
