"""Web sign-in sessions and invitations. Only digests of their tokens are stored."""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass
from datetime import datetime

from fedgroup.store.db import fetchone, from_db_time, to_db_time
from fedgroup.store.members import COLUMNS, Member

_MEMBER_COLUMNS = ", ".join(f"m.{c}" for c in COLUMNS.split(", "))


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Session:
    member: Member
    csrf_token: str


def add(
    conn: sqlite3.Connection, token: str, member_id: int, csrf_token: str, now: datetime, expires: datetime
) -> None:
    conn.execute(
        "INSERT INTO sessions (token_hash, member_id, csrf_token, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
        (digest(token), member_id, csrf_token, to_db_time(now), to_db_time(expires)),
    )


def get(conn: sqlite3.Connection, token: str, now: datetime) -> Session | None:
    """The unexpired session of a token, with its member (one query: this runs on every signed-in page)."""
    row = fetchone(
        conn,
        f"SELECT {_MEMBER_COLUMNS}, s.csrf_token FROM sessions s JOIN members m ON m.id = s.member_id WHERE s.token_hash = ? AND s.expires_at > ?",
        (digest(token), to_db_time(now)),
    )
    return None if row is None else Session(Member(*row[:-1]), str(row[-1]))


def remove(conn: sqlite3.Connection, token: str) -> None:
    conn.execute("DELETE FROM sessions WHERE token_hash = ?", (digest(token),))


def remove_all_of(conn: sqlite3.Connection, member_id: int, keep_token: str | None = None) -> None:
    """Sign a member out everywhere (after a password change), optionally keeping the current session."""
    conn.execute(
        "DELETE FROM sessions WHERE member_id = ? AND token_hash != ?",
        (member_id, digest(keep_token) if keep_token else ""),
    )


def remove_expired(conn: sqlite3.Connection, now: datetime) -> None:
    conn.execute("DELETE FROM sessions WHERE expires_at <= ?", (to_db_time(now),))


# -- invitations -------------------------------------------------------------------------------------------


def add_invite(conn: sqlite3.Connection, token: str, role: str, now: datetime, expires: datetime) -> None:
    conn.execute(
        "INSERT INTO invites (token_hash, role, created_at, expires_at) VALUES (?, ?, ?, ?)",
        (digest(token), role, to_db_time(now), to_db_time(expires)),
    )


def open_invite_role(conn: sqlite3.Connection, token: str, now: datetime) -> str | None:
    """The role an unused, unexpired invitation grants, or None."""
    row = fetchone(
        conn,
        "SELECT role FROM invites WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?",
        (digest(token), to_db_time(now)),
    )
    return None if row is None else str(row[0])


def use_invite(conn: sqlite3.Connection, token: str, now: datetime) -> bool:
    """Mark used; False when it was already used or expired (two tabs racing on one link)."""
    cursor = conn.execute(
        "UPDATE invites SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?",
        (to_db_time(now), digest(token), to_db_time(now)),
    )
    return cursor.rowcount == 1


# -- password resets ---------------------------------------------------------------------------------------


def add_reset(conn: sqlite3.Connection, token: str, member_id: int, now: datetime, expires: datetime) -> None:
    conn.execute(
        "INSERT INTO password_resets (token_hash, member_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
        (digest(token), member_id, to_db_time(now), to_db_time(expires)),
    )


def open_reset_member(conn: sqlite3.Connection, token: str, now: datetime) -> Member | None:
    """The member an unused, unexpired reset link is for, or None."""
    row = fetchone(
        conn,
        f"SELECT {_MEMBER_COLUMNS} FROM password_resets r JOIN members m ON m.id = r.member_id"
        " WHERE r.token_hash = ? AND r.used_at IS NULL AND r.expires_at > ?",
        (digest(token), to_db_time(now)),
    )
    return None if row is None else Member(*row)


def use_reset(conn: sqlite3.Connection, token: str, member_id: int, now: datetime) -> None:
    """Mark this link used and void the member's other open links: one reset ends them all."""
    conn.execute(
        "UPDATE password_resets SET used_at = ? WHERE member_id = ? AND used_at IS NULL",
        (to_db_time(now), member_id),
    )


@dataclass(frozen=True)
class OpenInvite:
    id: int
    role: str
    created_at: datetime
    expires_at: datetime


def open_invites(conn: sqlite3.Connection, now: datetime) -> list[OpenInvite]:
    """Unused, unexpired invitations, newest first (what admins may still revoke)."""
    rows = conn.execute(
        "SELECT rowid, role, created_at, expires_at FROM invites WHERE used_at IS NULL AND expires_at > ?"
        " ORDER BY created_at DESC",
        (to_db_time(now),),
    ).fetchall()
    return [OpenInvite(int(r[0]), str(r[1]), _time(r[2]), _time(r[3])) for r in rows]


def revoke_invite(conn: sqlite3.Connection, invite_id: int) -> bool:
    """Forget an unused invitation, so its link no longer works; False when there is none to revoke."""
    return conn.execute("DELETE FROM invites WHERE rowid = ? AND used_at IS NULL", (invite_id,)).rowcount == 1


def _time(text: str) -> datetime:
    moment = from_db_time(text)
    assert moment is not None
    return moment
