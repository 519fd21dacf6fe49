"""Members' second factors (TOTP secrets and hashed recovery codes) and the site's requirement of them."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from fedgroup.store.db import fetchall, fetchone, scalar, to_db_time


def secret_of(conn: sqlite3.Connection, member_id: int) -> str | None:
    row = fetchone(conn, "SELECT secret FROM two_factor WHERE member_id = ?", (member_id,))
    return None if row is None else str(row[0])


def enrolled(conn: sqlite3.Connection, member_id: int) -> bool:
    return secret_of(conn, member_id) is not None


def enrolled_ids(conn: sqlite3.Connection) -> frozenset[int]:
    return frozenset(int(r[0]) for r in fetchall(conn, "SELECT member_id FROM two_factor"))


def enable(conn: sqlite3.Connection, member_id: int, secret: str, code_hashes: Sequence[str], now: datetime) -> None:
    """The member's factor (replacing one they had) and a fresh set of recovery codes."""
    conn.execute("DELETE FROM recovery_codes WHERE member_id = ?", (member_id,))
    conn.execute(
        "INSERT INTO two_factor (member_id, secret, enabled_at) VALUES (?, ?, ?) ON CONFLICT (member_id)"
        " DO UPDATE SET secret = excluded.secret, last_step = 0, enabled_at = excluded.enabled_at",
        (member_id, secret, to_db_time(now)),
    )
    conn.executemany(
        "INSERT INTO recovery_codes (member_id, code_hash) VALUES (?, ?)", [(member_id, h) for h in code_hashes]
    )


def remove(conn: sqlite3.Connection, member_id: int) -> bool:
    """Forget the member's factor and recovery codes (a lost phone); False when there was none."""
    conn.execute("DELETE FROM recovery_codes WHERE member_id = ?", (member_id,))
    return conn.execute("DELETE FROM two_factor WHERE member_id = ?", (member_id,)).rowcount > 0


def use_step(conn: sqlite3.Connection, member_id: int, step: int) -> bool:
    """Accept the code of `step` once: False if that step (or a later one) was used already."""
    cursor = conn.execute(
        "UPDATE two_factor SET last_step = ? WHERE member_id = ? AND last_step < ?", (step, member_id, step)
    )
    return cursor.rowcount > 0


def use_recovery_code(conn: sqlite3.Connection, member_id: int, code_hash: str, now: datetime) -> bool:
    cursor = conn.execute(
        "UPDATE recovery_codes SET used_at = ? WHERE member_id = ? AND code_hash = ? AND used_at IS NULL",
        (to_db_time(now), member_id, code_hash),
    )
    return cursor.rowcount > 0


def recovery_codes_left(conn: sqlite3.Connection, member_id: int) -> int:
    return int(
        scalar(conn, "SELECT COUNT(*) FROM recovery_codes WHERE member_id = ? AND used_at IS NULL", (member_id,))
    )


def required(conn: sqlite3.Connection) -> bool:
    """Whether organizers and admins must sign in with a second factor."""
    return bool(scalar(conn, "SELECT two_factor_required FROM site WHERE id = 1"))


def set_required(conn: sqlite3.Connection, value: bool) -> None:
    conn.execute("UPDATE site SET two_factor_required = ? WHERE id = 1", (1 if value else 0,))


def must_enrol(conn: sqlite3.Connection, member_id: int, role: str) -> bool:
    """An organizer or admin without a factor on a site that requires one."""
    return role in ("admin", "organizer") and required(conn) and not enrolled(conn, member_id)
