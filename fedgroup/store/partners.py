"""Partner groups: organizers' decisions about them, where each group stands with us, and partners'
aggregate pledges held for an organizer."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from fedgroup.store.db import fetchall, fetchone, from_db_time, to_db_time

# Only these actor types can be partner groups; the people behind a Person pledge by voting.
PARTNER_TYPES = ("Group", "Organization")


@dataclass(frozen=True)
class Standing:
    """What we know of a remote actor as a possible partner, in one read."""

    actor_id: str
    actor_type: str | None  # from the cached actor document; None when we hold none
    name: str | None
    document: str | None  # the cached actor document (JSON text)
    follower_state: str | None  # 'pending', 'accepted' or None
    decision: str | None  # the organizer's: 'accepted', 'rejected' or None
    following_state: str | None  # our follow of them: 'pending', 'accepted' or None


_STANDING = (
    "SELECT ?1, a.type, a.name, a.document,"
    " (SELECT state FROM followers WHERE actor_id = ?1),"
    " (SELECT state FROM partners WHERE actor_id = ?1),"
    " (SELECT state FROM following WHERE actor_id = ?1)"
    " FROM (SELECT 1) LEFT JOIN remote_actors a ON a.id = ?1"
)


def standing(conn: sqlite3.Connection, actor_id: str) -> Standing:
    row = fetchone(conn, _STANDING, (actor_id,))
    assert row is not None
    return Standing(*row)


def candidates(conn: sqlite3.Connection) -> list[Standing]:
    """Every group an organizer may want to see here: Group and Organization followers, groups an organizer
    decided about, groups we follow; newest follower first."""
    marks = ",".join("?" * len(PARTNER_TYPES))
    rows = fetchall(
        conn,
        "SELECT actor_id FROM ("
        f" SELECT f.actor_id, f.created_at AS at FROM followers f JOIN remote_actors a ON a.id = f.actor_id"
        f" WHERE a.type IN ({marks})"
        " UNION SELECT actor_id, decided_at FROM partners"
        " UNION SELECT actor_id, created_at FROM following"
        ") GROUP BY actor_id ORDER BY MAX(at) DESC",
        PARTNER_TYPES,
    )
    return [standing(conn, r[0]) for r in rows]


def decide(conn: sqlite3.Connection, actor_id: str, state: str, now: datetime) -> None:
    conn.execute(
        "INSERT INTO partners (actor_id, state, decided_at) VALUES (?, ?, ?)"
        " ON CONFLICT (actor_id) DO UPDATE SET state = excluded.state, decided_at = excluded.decided_at",
        (actor_id, state, to_db_time(now)),
    )


def move(conn: sqlite3.Connection, old_actor: str, new_actor: str) -> None:
    """An organizer's decision on a group stands for the account it moved to (unless one was made there)."""
    conn.execute(
        "UPDATE partners SET actor_id = ? WHERE actor_id = ?"
        " AND NOT EXISTS (SELECT 1 FROM partners WHERE actor_id = ?)",
        (new_actor, old_actor, new_actor),
    )


def forget(conn: sqlite3.Connection, actor_id: str) -> None:
    conn.execute("DELETE FROM partners WHERE actor_id = ?", (actor_id,))


# -- aggregates held for an organizer --------------------------------------------------------------------


@dataclass(frozen=True)
class HeldPledge:
    id: int
    campaign_id: int
    group_actor: str
    pledge_id: str
    pledgers: int
    contributions: str  # JSON, as group_pledges.contributions
    reason: str
    received_at: datetime


_HELD = "SELECT id, campaign_id, group_actor, pledge_id, pledgers, contributions, reason, received_at"


def _held(row: sqlite3.Row) -> HeldPledge:
    values = list(row)
    values[-1] = from_db_time(values[-1])
    return HeldPledge(*values)


_HOLD = (
    "INSERT INTO held_group_pledges"
    " (campaign_id, group_actor, pledge_id, pledgers, contributions, reason, received_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (campaign_id, group_actor) "
)


def hold(
    conn: sqlite3.Connection,
    campaign_id: int,
    group_actor: str,
    pledge_id: str,
    pledgers: int,
    contributions: str,
    reason: str,
    now: datetime,
) -> None:
    """Keep a partner's aggregate for an organizer; a newer one from the same group replaces it."""
    conn.execute(
        _HOLD + "DO UPDATE SET pledge_id = excluded.pledge_id, pledgers = excluded.pledgers,"
        " contributions = excluded.contributions, reason = excluded.reason, received_at = excluded.received_at",
        (campaign_id, group_actor, pledge_id, pledgers, contributions, reason, to_db_time(now)),
    )


def hold_unless_held(
    conn: sqlite3.Connection,
    campaign_id: int,
    group_actor: str,
    pledge_id: str,
    pledgers: int,
    contributions: str,
    reason: str,
    now: datetime,
) -> None:
    """Hold an aggregate that counted until now, unless a newer one of the group already waits."""
    conn.execute(
        _HOLD + "DO NOTHING",
        (campaign_id, group_actor, pledge_id, pledgers, contributions, reason, to_db_time(now)),
    )


def held(conn: sqlite3.Connection, held_id: int) -> HeldPledge | None:
    row = fetchone(conn, f"{_HELD} FROM held_group_pledges WHERE id = ?", (held_id,))
    return None if row is None else _held(row)


def held_listing(conn: sqlite3.Connection, group_actor: str | None = None) -> list[HeldPledge]:
    """Held aggregates, oldest first; of one group when given."""
    if group_actor is None:
        rows = fetchall(conn, f"{_HELD} FROM held_group_pledges ORDER BY received_at, id")
    else:
        rows = fetchall(
            conn,
            f"{_HELD} FROM held_group_pledges WHERE group_actor = ? ORDER BY received_at, id",
            (group_actor,),
        )
    return [_held(r) for r in rows]


def set_held_reason(conn: sqlite3.Connection, held_id: int, reason: str) -> None:
    conn.execute("UPDATE held_group_pledges SET reason = ? WHERE id = ?", (reason, held_id))


def release(conn: sqlite3.Connection, held_id: int) -> None:
    """Forget a held aggregate (approved into the totals, or rejected)."""
    conn.execute("DELETE FROM held_group_pledges WHERE id = ?", (held_id,))


def release_for(conn: sqlite3.Connection, campaign_id: int, group_actor: str) -> None:
    """A newer aggregate from this group counted: what it held before is out of date."""
    conn.execute(
        "DELETE FROM held_group_pledges WHERE campaign_id = ? AND group_actor = ?", (campaign_id, group_actor)
    )


def release_pledge(conn: sqlite3.Connection, pledge_id: str, group_actor: str) -> bool:
    """The group withdrew (Undo) this aggregate."""
    cursor = conn.execute(
        "DELETE FROM held_group_pledges WHERE pledge_id = ? AND group_actor = ?", (pledge_id, group_actor)
    )
    return cursor.rowcount > 0


def release_all_of(conn: sqlite3.Connection, group_actor: str) -> None:
    conn.execute("DELETE FROM held_group_pledges WHERE group_actor = ?", (group_actor,))


def held_counts(conn: sqlite3.Connection) -> dict[str, int]:
    rows = fetchall(conn, "SELECT group_actor, COUNT(*) FROM held_group_pledges GROUP BY group_actor")
    return {r[0]: int(r[1]) for r in rows}
