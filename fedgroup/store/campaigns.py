"""Campaigns, their goals and pledge options, partner groups' campaigns, and replies (comments).

One module, about 400 lines: the tables a campaign page reads. When new features add campaign tables,
partner groups' campaigns and replies move out first (store/partners.py already holds the partner standings)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from fedgroup.store import money
from fedgroup.store.db import fetchall, fetchone, from_db_time, to_db_time


@dataclass(frozen=True)
class CampaignRow:
    id: int
    title: str
    body: str
    visibility: str
    status: str
    deadline: datetime | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    deleted_at: datetime | None
    multiple_choice: bool
    outcome: str | None
    outcome_at: datetime | None
    # A draft is seen by organizers only and never federates (a campaign adopted from a blueprint starts so).
    draft: bool = False
    adapted_from: str | None = None  # the blueprint (its URL) the campaign was adopted from
    final_tally: str | None = None  # the totals frozen when it closed (JSON); None while open
    reopened_at: datetime | None = None
    # The language its title and text are written in (None: the group's language), and its second language
    # if an organizer wrote one: JSON {"language", "title", "body"} (rules/campaigns.SecondLanguage).
    language: str | None = None
    second_language: str | None = None


@dataclass(frozen=True)
class GoalRow:
    kind: str
    target: Decimal
    unit: str | None


@dataclass(frozen=True)
class OptionRow:
    id: int
    label: str
    kind: str
    amount: Decimal


_COLUMNS = (
    "id, title, body, visibility, status, deadline, created_at, updated_at, closed_at, deleted_at,"
    " multiple_choice, outcome, outcome_at, draft, adapted_from, final_tally, reopened_at, language,"
    " second_language"
)


def _row(row: sqlite3.Row | None) -> CampaignRow | None:
    if row is None:
        return None
    return CampaignRow(
        id=row[0],
        title=row[1],
        body=row[2],
        visibility=row[3],
        status=row[4],
        deadline=from_db_time(row[5]),
        created_at=from_db_time(row[6]),  # type: ignore[arg-type]
        updated_at=from_db_time(row[7]),  # type: ignore[arg-type]
        closed_at=from_db_time(row[8]),
        deleted_at=from_db_time(row[9]),
        multiple_choice=bool(row[10]),
        outcome=row[11],
        outcome_at=from_db_time(row[12]),
        draft=bool(row[13]),
        adapted_from=row[14],
        final_tally=row[15],
        reopened_at=from_db_time(row[16]),
        language=row[17],
        second_language=row[18],
    )


def insert(
    conn: sqlite3.Connection,
    title: str,
    body: str,
    visibility: str,
    deadline: datetime | None,
    multiple_choice: bool,
    goals: Sequence[tuple[str, Decimal, str | None]],
    options: Sequence[tuple[str, str, Decimal]],
    now: datetime,
    draft: bool = False,
    adapted_from: str | None = None,
    language: str | None = None,
) -> int:
    stamp = to_db_time(now)
    cursor = conn.execute(
        "INSERT INTO campaigns (title, body, visibility, deadline, multiple_choice, created_at, updated_at,"
        " draft, adapted_from, language) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            title,
            body,
            visibility,
            to_db_time(deadline) if deadline else None,
            int(multiple_choice),
            stamp,
            stamp,
            int(draft),
            adapted_from,
            language,
        ),
    )
    campaign_id = cursor.lastrowid
    assert campaign_id is not None
    _insert_goals_and_options(conn, campaign_id, goals, options)
    return campaign_id


def _insert_goals_and_options(
    conn: sqlite3.Connection,
    campaign_id: int,
    goals: Sequence[tuple[str, Decimal, str | None]],
    options: Sequence[tuple[str, str, Decimal]],
) -> None:
    conn.executemany(
        "INSERT INTO campaign_goals (campaign_id, position, kind, target, unit) VALUES (?, ?, ?, ?, ?)",
        [(campaign_id, i, kind, str(target), unit) for i, (kind, target, unit) in enumerate(goals)],
    )
    conn.executemany(
        "INSERT INTO campaign_options (campaign_id, position, label, kind, amount) VALUES (?, ?, ?, ?, ?)",
        [(campaign_id, i, label, kind, str(amount)) for i, (label, kind, amount) in enumerate(options)],
    )


def rewrite_draft(
    conn: sqlite3.Connection,
    campaign_id: int,
    title: str,
    body: str,
    visibility: str,
    deadline: datetime | None,
    goals: Sequence[tuple[str, Decimal, str | None]],
    options: Sequence[tuple[str, str, Decimal]],
    now: datetime,
) -> None:
    """A draft's every part replaced (nothing of it went anywhere yet, and nobody could pledge to it)."""
    conn.execute(
        "UPDATE campaigns SET title = ?, body = ?, visibility = ?, deadline = ?, updated_at = ?, created_at = ?"
        " WHERE id = ? AND draft = 1",
        (title, body, visibility, to_db_time(deadline) if deadline else None, to_db_time(now), to_db_time(now),
         campaign_id),
    )  # fmt: skip
    conn.execute("DELETE FROM campaign_options WHERE campaign_id = ?", (campaign_id,))
    conn.execute("DELETE FROM campaign_goals WHERE campaign_id = ?", (campaign_id,))
    _insert_goals_and_options(conn, campaign_id, goals, options)


def publish_draft(conn: sqlite3.Connection, campaign_id: int, now: datetime) -> bool:
    """A draft becomes a campaign, created now. False if it was not a draft."""
    cursor = conn.execute(
        "UPDATE campaigns SET draft = 0, created_at = ?, updated_at = ? WHERE id = ? AND draft = 1"
        " AND deleted_at IS NULL",
        (to_db_time(now), to_db_time(now), campaign_id),
    )
    return cursor.rowcount > 0


def drafts(conn: sqlite3.Connection) -> list[CampaignRow]:
    rows = fetchall(
        conn, f"SELECT {_COLUMNS} FROM campaigns WHERE draft = 1 AND deleted_at IS NULL ORDER BY id DESC"
    )
    return [c for c in map(_row, rows) if c is not None]


def get(conn: sqlite3.Connection, campaign_id: int) -> CampaignRow | None:
    return _row(fetchone(conn, f"SELECT {_COLUMNS} FROM campaigns WHERE id = ?", (campaign_id,)))


# Bound parameters per IN (...) list: far below SQLite's limit, and a listing rarely needs a second query.
_IDS_PER_QUERY = 500


def id_chunks(ids: Sequence[int]) -> list[tuple[int, ...]]:
    """`ids` in slices short enough for one `IN (...)` list each."""
    unique = tuple(dict.fromkeys(ids))
    return [unique[i : i + _IDS_PER_QUERY] for i in range(0, len(unique), _IDS_PER_QUERY)]


def goals_of(conn: sqlite3.Connection, campaign_ids: Sequence[int]) -> dict[int, list[GoalRow]]:
    """The goals of each of these campaigns, in order (an empty list for a campaign without any)."""
    found: dict[int, list[GoalRow]] = {i: [] for i in campaign_ids}
    for chunk in id_chunks(campaign_ids):
        rows = fetchall(
            conn,
            "SELECT campaign_id, kind, target, unit FROM campaign_goals"
            f" WHERE campaign_id IN ({','.join('?' * len(chunk))}) ORDER BY campaign_id, position",
            chunk,
        )
        for r in rows:
            found[r[0]].append(GoalRow(r[1], Decimal(r[2]), r[3]))
    return found


def options(conn: sqlite3.Connection, campaign_id: int) -> list[OptionRow]:
    return (options_of(conn, [campaign_id]))[campaign_id]


def options_of(conn: sqlite3.Connection, campaign_ids: Sequence[int]) -> dict[int, list[OptionRow]]:
    """The pledge options of each of these campaigns, in order (an empty list for one without any)."""
    found: dict[int, list[OptionRow]] = {i: [] for i in campaign_ids}
    for chunk in id_chunks(campaign_ids):
        rows = fetchall(
            conn,
            "SELECT campaign_id, id, label, kind, amount FROM campaign_options"
            f" WHERE campaign_id IN ({','.join('?' * len(chunk))}) ORDER BY campaign_id, position",
            chunk,
        )
        for r in rows:
            found[r[0]].append(OptionRow(r[1], r[2], r[3], Decimal(r[4])))
    return found


def listing(
    conn: sqlite3.Connection, visibilities: tuple[str, ...], limit: int | None = None, offset: int = 0
) -> list[CampaignRow]:
    """Campaigns not deleted, of the given visibilities, newest first (drafts are not listed: drafts()); only
    `limit` of them from `offset` on when a limit is given (a page of the listing)."""
    marks = ",".join("?" * len(visibilities))
    rows = fetchall(
        conn,
        f"SELECT {_COLUMNS} FROM campaigns WHERE deleted_at IS NULL AND draft = 0 AND visibility IN ({marks})"
        " ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
        (*visibilities, -1 if limit is None else limit, offset),
    )
    return [c for c in map(_row, rows) if c is not None]


def count_listed(conn: sqlite3.Connection, visibilities: tuple[str, ...]) -> int:
    """How many campaigns listing() would return without a limit."""
    marks = ",".join("?" * len(visibilities))
    row = fetchone(
        conn,
        f"SELECT COUNT(*) FROM campaigns WHERE deleted_at IS NULL AND draft = 0 AND visibility IN ({marks})",
        visibilities,
    )
    return int(row[0]) if row else 0


def update_text(
    conn: sqlite3.Connection,
    campaign_id: int,
    title: str,
    body: str,
    deadline: datetime | None,
    targets: Sequence[tuple[str, Decimal]],
    now: datetime,
) -> None:
    conn.execute(
        "UPDATE campaigns SET title = ?, body = ?, deadline = ?, updated_at = ? WHERE id = ?",
        (title, body, to_db_time(deadline) if deadline else None, to_db_time(now), campaign_id),
    )
    conn.executemany(
        "UPDATE campaign_goals SET target = ? WHERE campaign_id = ? AND kind = ?",
        [(str(target), campaign_id, kind) for kind, target in targets],
    )


def close(conn: sqlite3.Connection, campaign_id: int, final_tally: str, now: datetime) -> bool:
    """Close an open campaign, freezing its totals as `final_tally`; False if it was closed already."""
    cursor = conn.execute(
        "UPDATE campaigns SET status = 'closed', closed_at = ?, updated_at = ?, final_tally = ?"
        " WHERE id = ? AND status = 'open'",
        (to_db_time(now), to_db_time(now), final_tally, campaign_id),
    )
    return cursor.rowcount > 0


def closed_without_final_tally(conn: sqlite3.Connection) -> list[int]:
    """Campaigns closed before closing froze their totals (schema 25): frozen as they stand, once."""
    rows = fetchall(
        conn,
        "SELECT id FROM campaigns WHERE status = 'closed' AND final_tally IS NULL AND deleted_at IS NULL",
    )
    return [r[0] for r in rows]


def freeze(conn: sqlite3.Connection, campaign_id: int, final_tally: str) -> None:
    conn.execute(
        "UPDATE campaigns SET final_tally = ? WHERE id = ? AND status = 'closed' AND final_tally IS NULL",
        (final_tally, campaign_id),
    )


def reopen(conn: sqlite3.Connection, campaign_id: int, deadline: datetime | None, now: datetime) -> bool:
    """Open a closed campaign again: its totals are live again. False if it was not closed."""
    cursor = conn.execute(
        "UPDATE campaigns SET status = 'open', closed_at = NULL, final_tally = NULL, deadline = ?,"
        " reopened_at = ?, updated_at = ? WHERE id = ? AND status = 'closed' AND deleted_at IS NULL",
        (to_db_time(deadline) if deadline else None, to_db_time(now), to_db_time(now), campaign_id),
    )
    return cursor.rowcount > 0


def set_second_language(conn: sqlite3.Connection, campaign_id: int, second: str | None, now: datetime) -> None:
    """The campaign's second language (JSON, or None to remove it); an edit, as a change of text is."""
    conn.execute(
        "UPDATE campaigns SET second_language = ?, updated_at = ? WHERE id = ?",
        (second, to_db_time(now), campaign_id),
    )


def set_outcome(conn: sqlite3.Connection, campaign_id: int, outcome: str, now: datetime) -> None:
    conn.execute(
        "UPDATE campaigns SET outcome = ?, outcome_at = ?, updated_at = ? WHERE id = ?",
        (outcome, to_db_time(now), to_db_time(now), campaign_id),
    )


def mark_deleted(conn: sqlite3.Connection, campaign_id: int, now: datetime) -> None:
    """Erase what the campaign held; keep a tombstone row so its URL answers 410 Gone."""
    conn.execute("DELETE FROM pledges WHERE campaign_id = ?", (campaign_id,))
    conn.execute("DELETE FROM votes WHERE campaign_id = ?", (campaign_id,))
    conn.execute("DELETE FROM group_pledges WHERE campaign_id = ?", (campaign_id,))
    conn.execute("DELETE FROM comments WHERE campaign_id = ?", (campaign_id,))
    conn.execute("DELETE FROM campaign_options WHERE campaign_id = ?", (campaign_id,))
    conn.execute("DELETE FROM campaign_goals WHERE campaign_id = ?", (campaign_id,))
    money.forget_campaign(conn, campaign_id)
    conn.execute(
        "UPDATE campaigns SET title = '', body = '', outcome = NULL, deleted_at = ?, status = 'closed' WHERE id = ?",
        (to_db_time(now), campaign_id),
    )


# -- the coalescing of totals updates ----------------------------------------------------------------------


def totals_changed(conn: sqlite3.Connection, campaign_id: int, now: datetime) -> None:
    """Mark an open campaign's totals for the next Update; a closed one's are frozen, nothing to send."""
    conn.execute(
        "UPDATE campaigns SET totals_changed_at = ? WHERE id = ? AND status = 'open'",
        (to_db_time(now), campaign_id),
    )


def totals_to_publish(conn: sqlite3.Connection, not_published_since: datetime) -> list[int]:
    """Federated campaigns whose totals changed after their last published update, if that update is older
    than `not_published_since` (so a burst of pledges makes one update per interval)."""
    stamp = to_db_time(not_published_since)
    rows = fetchall(
        conn,
        "SELECT id FROM campaigns WHERE deleted_at IS NULL AND draft = 0 AND visibility != 'members'"
        " AND totals_changed_at IS NOT NULL"
        " AND (totals_published_at IS NULL OR (totals_changed_at > totals_published_at AND totals_published_at <= ?))",
        (stamp,),
    )
    return [r[0] for r in rows]


def totals_published(conn: sqlite3.Connection, campaign_id: int, now: datetime) -> None:
    conn.execute("UPDATE campaigns SET totals_published_at = ? WHERE id = ?", (to_db_time(now), campaign_id))


def past_deadline(conn: sqlite3.Connection, now: datetime) -> list[int]:
    rows = fetchall(
        conn,
        "SELECT id FROM campaigns WHERE status = 'open' AND deleted_at IS NULL AND draft = 0"
        " AND deadline IS NOT NULL"
        " AND deadline <= ?",
        (to_db_time(now),),
    )
    return [r[0] for r in rows]


# -- partner groups' campaigns -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PartnerCampaign:
    id: int
    object_id: str
    group_actor: str
    title: str
    content: str
    url: str | None
    goals: str  # JSON: [{"kind", "target", "unit", "pledged"}]
    options: str  # JSON: [{"name", "kind", "amount", "count"}]
    deadline: datetime | None
    closed: bool
    visibility: str
    published_at: datetime | None
    updated_at: datetime
    content_map: str | None = None  # JSON {language: sanitized html} from the partner's contentMap


_PARTNER_COLUMNS = (
    "id, object_id, group_actor, title, content, url, goals, options, deadline, closed, visibility,"
    " published_at, updated_at, content_map"
)


def _partner(row: sqlite3.Row | None) -> PartnerCampaign | None:
    if row is None:
        return None
    return PartnerCampaign(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4],
        row[5],
        row[6],
        row[7],
        deadline=from_db_time(row[8]),
        closed=bool(row[9]),
        visibility=row[10],
        published_at=from_db_time(row[11]),
        updated_at=from_db_time(row[12]),  # type: ignore[arg-type]
        content_map=row[13],
    )


def save_partner_campaign(
    conn: sqlite3.Connection,
    object_id: str,
    group_actor: str,
    title: str,
    content: str,
    url: str | None,
    goals_json: str,
    options_json: str,
    deadline: datetime | None,
    closed: bool,
    visibility: str,
    published_at: datetime | None,
    now: datetime,
    content_map: str | None = None,
) -> int:
    stamp = to_db_time(now)
    conn.execute(
        "INSERT INTO partner_campaigns (object_id, group_actor, title, content, url, goals, options, deadline,"
        " closed, visibility, published_at, received_at, updated_at, content_map)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (object_id) DO UPDATE SET title = excluded.title, content = excluded.content,"
        " content_map = excluded.content_map,"
        " url = excluded.url, goals = excluded.goals, options = excluded.options, deadline = excluded.deadline,"
        " closed = excluded.closed, visibility = excluded.visibility, updated_at = excluded.updated_at"
        " WHERE partner_campaigns.group_actor = excluded.group_actor",
        (
            object_id, group_actor, title, content, url, goals_json, options_json,
            to_db_time(deadline) if deadline else None, int(closed), visibility,
            to_db_time(published_at) if published_at else None, stamp, stamp, content_map,
        ),
    )  # fmt: skip
    row = fetchone(conn, "SELECT id FROM partner_campaigns WHERE object_id = ?", (object_id,))
    assert row is not None
    return int(row[0])


def partner_campaign(conn: sqlite3.Connection, partner_campaign_id: int) -> PartnerCampaign | None:
    return _partner(
        fetchone(
            conn, f"SELECT {_PARTNER_COLUMNS} FROM partner_campaigns WHERE id = ?", (partner_campaign_id,)
        )
    )


def partner_campaign_by_object(conn: sqlite3.Connection, object_id: str) -> PartnerCampaign | None:
    return _partner(
        fetchone(conn, f"SELECT {_PARTNER_COLUMNS} FROM partner_campaigns WHERE object_id = ?", (object_id,))
    )


def partner_campaigns(conn: sqlite3.Connection, group_actor: str | None = None) -> list[PartnerCampaign]:
    if group_actor is None:
        rows = fetchall(conn, f"SELECT {_PARTNER_COLUMNS} FROM partner_campaigns ORDER BY received_at DESC")
    else:
        rows = fetchall(
            conn,
            f"SELECT {_PARTNER_COLUMNS} FROM partner_campaigns WHERE group_actor = ? ORDER BY received_at DESC",
            (group_actor,),
        )
    return [p for p in map(_partner, rows) if p is not None]


def remove_partner_campaign(conn: sqlite3.Connection, object_id: str, group_actor: str) -> bool:
    cursor = conn.execute(
        "DELETE FROM partner_campaigns WHERE object_id = ? AND group_actor = ?", (object_id, group_actor)
    )
    return cursor.rowcount > 0


def remove_partner_campaigns_of(conn: sqlite3.Connection, group_actor: str) -> None:
    conn.execute("DELETE FROM partner_campaigns WHERE group_actor = ?", (group_actor,))


# -- replies -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Comment:
    id: int
    object_id: str
    campaign_id: int
    author: str
    content: str
    url: str | None
    published_at: str | None


def add_comment(
    conn: sqlite3.Connection,
    object_id: str,
    campaign_id: int,
    author: str,
    content: str,
    url: str | None,
    published_at: str | None,
    now: datetime,
) -> None:
    conn.execute(
        "INSERT INTO comments (object_id, campaign_id, author, content, url, published_at, received_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (object_id) DO UPDATE SET content = excluded.content"
        " WHERE comments.author = excluded.author",
        (object_id, campaign_id, author, content, url, published_at, to_db_time(now)),
    )


def remove_comment(conn: sqlite3.Connection, object_id: str, author: str) -> bool:
    cursor = conn.execute("DELETE FROM comments WHERE object_id = ? AND author = ?", (object_id, author))
    return cursor.rowcount > 0


def remove_comments_of(conn: sqlite3.Connection, author: str) -> None:
    conn.execute("DELETE FROM comments WHERE author = ?", (author,))


def comments(
    conn: sqlite3.Connection, campaign_id: int, limit: int | None = None, offset: int = 0
) -> list[Comment]:
    """A campaign's replies in the order they came; `limit` of them from `offset` on when a limit is given."""
    rows = fetchall(
        conn,
        "SELECT id, object_id, campaign_id, author, content, url, published_at FROM comments"
        " WHERE campaign_id = ? ORDER BY received_at, id LIMIT ? OFFSET ?",
        (campaign_id, -1 if limit is None else limit, offset),
    )
    return [Comment(*r) for r in rows]


def count_comments(conn: sqlite3.Connection, campaign_id: int) -> int:
    row = fetchone(conn, "SELECT COUNT(*) FROM comments WHERE campaign_id = ?", (campaign_id,))
    return int(row[0]) if row else 0
