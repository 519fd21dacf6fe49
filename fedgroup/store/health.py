"""Is the server keeping up? The queues' progress and whether one has stalled, the last backup, disk use.

A queue is stalled when it has work overdue (due for longer than the stall time, on a host that is not
paused) and its worker recorded no progress for that long: a worker that is alive gets through what is
due well within minutes, so overdue work means it is stuck, or not running. Progress is written by the
workers in the same transaction as the work itself, so a `fedgroup status` beside the server sees it too.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import NamedTuple

from fedgroup.store.db import fetchall, from_db_time, scalar, to_db_time

QUEUES = ("deliveries", "inbox")
LAST_BACKUP_FILE = "last-backup"


def record_progress(conn: sqlite3.Connection, queue: str, now: datetime) -> None:
    conn.execute(
        "INSERT INTO queue_progress (queue, progressed_at) VALUES (?, ?)"
        " ON CONFLICT (queue) DO UPDATE SET progressed_at = excluded.progressed_at",
        (queue, to_db_time(now)),
    )


class Stall(NamedTuple):
    queue: str
    overdue_since: datetime  # when the oldest overdue item became due
    progressed_at: datetime | None  # the worker's last progress (None: never)

    @property
    def reason(self) -> str:
        last = to_db_time(self.progressed_at) if self.progressed_at is not None else "never"
        return (
            f"{self.queue} queue stalled: work due since {to_db_time(self.overdue_since)},"
            f" last progress {last}"
        )


def _overdue_since(conn: sqlite3.Connection, queue: str, cutoff: str) -> datetime | None:
    if queue == "deliveries":
        text = scalar(
            conn,
            "SELECT MIN(d.next_attempt_at) FROM deliveries d LEFT JOIN delivery_hosts h ON h.host = d.host"
            " WHERE d.given_up_at IS NULL AND d.next_attempt_at <= ?"
            " AND (h.paused_until IS NULL OR h.paused_until <= ?)",
            (cutoff, cutoff),
        )
    else:
        text = scalar(
            conn,
            "SELECT MIN(COALESCE(next_attempt_at, received_at)) FROM inbox_activities"
            " WHERE state = 'pending' AND COALESCE(next_attempt_at, received_at) <= ?",
            (cutoff,),
        )
    return from_db_time(text)


def stalls(conn: sqlite3.Connection, now: datetime, stall_after: timedelta) -> list[Stall]:
    """The queues that have stalled (see the module's note), each with why."""
    cutoff = to_db_time(now - stall_after)
    progress = {
        str(queue): from_db_time(at)
        for queue, at in fetchall(conn, "SELECT queue, progressed_at FROM queue_progress")
    }
    found = []
    for queue in QUEUES:
        overdue = _overdue_since(conn, queue, cutoff)
        last = progress.get(queue)
        if overdue is not None and (last is None or to_db_time(last) <= cutoff):
            found.append(Stall(queue, overdue, last))
    return found


# -- files: the last backup and the disk -----------------------------------------------------------------


def record_backup(data_dir: Path, now: datetime, size: int | None) -> None:
    """Note a finished backup in the data dir (not in the database: taking a backup only reads it)."""
    line = to_db_time(now) + (f" {size}" if size is not None else "")
    try:
        (data_dir / LAST_BACKUP_FILE).write_text(line + "\n")
    except OSError:
        pass  # a read-only data dir still gets its backup; only the note is missing


class LastBackup(NamedTuple):
    at: datetime
    size: int | None  # bytes; None when it was streamed


def last_backup(data_dir: Path) -> LastBackup | None:
    try:
        fields = (data_dir / LAST_BACKUP_FILE).read_text().split()
    except OSError:
        return None
    at = from_db_time(fields[0]) if fields else None
    if at is None:
        return None
    size = int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else None
    return LastBackup(at, size)


class DiskUse(NamedTuple):
    data_dir_bytes: int  # the database (with its WAL) and everything else in the data dir
    free_bytes: int  # left on the file system that holds it
    total_bytes: int


def disk_use(data_dir: Path) -> DiskUse:
    used = 0
    for root, _, files in os.walk(data_dir):
        for name in files:
            try:
                used += (Path(root) / name).stat().st_size
            except OSError:
                continue  # gone meanwhile (a WAL checkpoint, a temporary file)
    usage = shutil.disk_usage(data_dir)
    return DiskUse(used, usage.free, usage.total)
