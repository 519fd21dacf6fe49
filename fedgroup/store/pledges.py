"""Pledges: members' pledges, remote poll votes, partner groups' aggregates, and what we sent partners.

One module, though a little over 400 lines: these are the tables of everything that counts toward a campaign,
and tally_inputs_of reads them all in one trip; `store.pledges` is the one place their SQL lives."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from fedgroup.store.campaigns import id_chunks
from fedgroup.store.db import fetchall, fetchone, from_db_time, to_db_time


@dataclass(frozen=True)
class MemberPledge:
    id: int
    member_id: int
    member_name: str
    campaign_id: int | None
    partner_campaign_id: int | None
    kind: str
    amount: Decimal
    option_label: str | None
    note: str
    fulfilled: bool
    created_at: datetime
    done_claimed_at: datetime | None = None  # the member said "I did it"; an organizer confirms


_PLEDGE_SELECT = (
    "SELECT p.id, p.member_id, m.name, p.campaign_id, p.partner_campaign_id, p.kind, p.amount, p.option_label,"
    " p.note, p.fulfilled, p.created_at, p.done_claimed_at FROM pledges p JOIN members m ON m.id = p.member_id"
)


def _pledge(row: sqlite3.Row) -> MemberPledge:
    return MemberPledge(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4],
        row[5],
        Decimal(row[6]),
        row[7],
        row[8],
        bool(row[9]),
        from_db_time(row[10]),  # type: ignore[arg-type]
        from_db_time(row[11]),
    )


def upsert_member_pledge(
    conn: sqlite3.Connection,
    member_id: int,
    campaign_id: int | None,
    partner_campaign_id: int | None,
    kind: str,
    amount: Decimal,
    option_label: str | None,
    note: str,
    now: datetime,
) -> None:
    """Add a member's pledge, or change the one they already made for that campaign and goal kind."""
    stamp = to_db_time(now)
    target = "campaign_id = ?" if campaign_id is not None else "partner_campaign_id = ?"
    key = campaign_id if campaign_id is not None else partner_campaign_id
    cursor = conn.execute(
        f"UPDATE pledges SET amount = ?, option_label = ?, note = ?, updated_at = ?"
        f" WHERE member_id = ? AND kind = ? AND {target}",
        (str(amount), option_label, note, stamp, member_id, kind, key),
    )
    if cursor.rowcount == 0:
        conn.execute(
            "INSERT INTO pledges (member_id, campaign_id, partner_campaign_id, kind, amount, option_label, note,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                member_id,
                campaign_id,
                partner_campaign_id,
                kind,
                str(amount),
                option_label,
                note,
                stamp,
                stamp,
            ),
        )


def withdraw_member_pledge(conn: sqlite3.Connection, pledge_id: int, member_id: int) -> bool:
    cursor = conn.execute("DELETE FROM pledges WHERE id = ? AND member_id = ?", (pledge_id, member_id))
    return cursor.rowcount > 0


def set_fulfilled(conn: sqlite3.Connection, pledge_id: int, fulfilled: bool) -> bool:
    """Mark a pledge kept (or not), to one of our campaigns or to a partner's; True if it changed."""
    cursor = conn.execute(
        "UPDATE pledges SET fulfilled = ? WHERE id = ? AND fulfilled != ?", (int(fulfilled), pledge_id, int(fulfilled))
    )
    return cursor.rowcount > 0


def claim_done(conn: sqlite3.Connection, pledge_id: int, member_id: int, now: datetime) -> bool:
    """The member says they did what they pledged (only their own pledge, once)."""
    cursor = conn.execute(
        "UPDATE pledges SET done_claimed_at = ? WHERE id = ? AND member_id = ? AND done_claimed_at IS NULL",
        (to_db_time(now), pledge_id, member_id),
    )
    return cursor.rowcount > 0


def delivered_for_partner_campaign(
    conn: sqlite3.Connection, partner_campaign_id: int
) -> list[tuple[str, Decimal]]:
    rows = fetchall(
        conn,
        "SELECT kind, amount FROM pledges WHERE partner_campaign_id = ? AND fulfilled = 1",
        (partner_campaign_id,),
    )
    return [(r[0], Decimal(r[1])) for r in rows]


def member_pledge(conn: sqlite3.Connection, pledge_id: int) -> MemberPledge | None:
    row = fetchone(conn, f"{_PLEDGE_SELECT} WHERE p.id = ?", (pledge_id,))
    return None if row is None else _pledge(row)


def member_pledge_of_kind(
    conn: sqlite3.Connection,
    member_id: int,
    campaign_id: int | None,
    partner_campaign_id: int | None,
    kind: str,
) -> MemberPledge | None:
    """The member's pledge of this kind to this campaign (ours, or a partner's): the one a new pledge replaces."""
    target = "p.campaign_id = ?" if campaign_id is not None else "p.partner_campaign_id = ?"
    key = campaign_id if campaign_id is not None else partner_campaign_id
    row = fetchone(
        conn, f"{_PLEDGE_SELECT} WHERE p.member_id = ? AND p.kind = ? AND {target}", (member_id, kind, key)
    )
    return None if row is None else _pledge(row)


def pledges_for_campaign(conn: sqlite3.Connection, campaign_id: int) -> list[MemberPledge]:
    rows = fetchall(conn, f"{_PLEDGE_SELECT} WHERE p.campaign_id = ? ORDER BY p.created_at", (campaign_id,))
    return [_pledge(r) for r in rows]


def pledges_for_partner_campaign(conn: sqlite3.Connection, partner_campaign_id: int) -> list[MemberPledge]:
    rows = fetchall(
        conn,
        f"{_PLEDGE_SELECT} WHERE p.partner_campaign_id = ? ORDER BY p.created_at",
        (partner_campaign_id,),
    )
    return [_pledge(r) for r in rows]


def pledges_of_member(conn: sqlite3.Connection, member_id: int) -> list[MemberPledge]:
    rows = fetchall(conn, f"{_PLEDGE_SELECT} WHERE p.member_id = ? ORDER BY p.created_at DESC", (member_id,))
    return [_pledge(r) for r in rows]


def partner_campaigns_pledged_by(conn: sqlite3.Connection, member_id: int) -> list[int]:
    rows = fetchall(
        conn,
        "SELECT DISTINCT partner_campaign_id FROM pledges WHERE member_id = ? AND partner_campaign_id IS NOT NULL",
        (member_id,),
    )
    return [r[0] for r in rows]


def campaigns_pledged_by(conn: sqlite3.Connection, member_id: int) -> list[int]:
    rows = fetchall(
        conn,
        "SELECT DISTINCT campaign_id FROM pledges WHERE member_id = ? AND campaign_id IS NOT NULL",
        (member_id,),
    )
    return [r[0] for r in rows]


# -- what members are told about pledges withdrawn by someone else ----------------------------------------


@dataclass(frozen=True)
class PledgeNotice:
    id: int
    text: str
    created_at: datetime


def add_notice(conn: sqlite3.Connection, member_id: int, text: str, now: datetime) -> None:
    conn.execute(
        "INSERT INTO pledge_notices (member_id, text, created_at) VALUES (?, ?, ?)",
        (member_id, text, to_db_time(now)),
    )


def notices_of(conn: sqlite3.Connection, member_id: int) -> list[PledgeNotice]:
    rows = fetchall(
        conn,
        "SELECT id, text, created_at FROM pledge_notices WHERE member_id = ? ORDER BY id DESC",
        (member_id,),
    )
    return [PledgeNotice(r[0], r[1], from_db_time(r[2])) for r in rows]  # type: ignore[arg-type]


def dismiss_notices(conn: sqlite3.Connection, member_id: int) -> None:
    conn.execute("DELETE FROM pledge_notices WHERE member_id = ?", (member_id,))


# -- remote poll votes ---------------------------------------------------------------------------------


def add_vote(
    conn: sqlite3.Connection,
    campaign_id: int,
    option_id: int,
    voter: str,
    object_id: str,
    replace_others: bool,
    now: datetime,
) -> bool:
    """Count a vote once per voter and option; for single-choice polls a new vote replaces the old one."""
    if replace_others:
        conn.execute(
            "DELETE FROM votes WHERE campaign_id = ? AND voter = ? AND option_id != ?",
            (campaign_id, voter, option_id),
        )
    cursor = conn.execute(
        "INSERT INTO votes (campaign_id, option_id, voter, object_id, created_at) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        (campaign_id, option_id, voter, object_id, to_db_time(now)),
    )
    return cursor.rowcount > 0


def remove_vote(conn: sqlite3.Connection, object_id: str, voter: str) -> int | None:
    """Withdraw a vote by its object id (only its own voter can); returns its campaign id."""
    row = fetchone(
        conn, "SELECT campaign_id FROM votes WHERE object_id = ? AND voter = ?", (object_id, voter)
    )
    if row is None:
        return None
    conn.execute("DELETE FROM votes WHERE object_id = ?", (object_id,))
    return int(row[0])


def remove_votes_of(conn: sqlite3.Connection, voter: str) -> list[int]:
    rows = fetchall(conn, "SELECT DISTINCT campaign_id FROM votes WHERE voter = ?", (voter,))
    conn.execute("DELETE FROM votes WHERE voter = ?", (voter,))
    return [r[0] for r in rows]


def voter_inboxes(conn: sqlite3.Connection, campaign_id: int) -> list[str]:
    """Where voters hear about new tallies (Mastodon sends poll updates to voters as well)."""
    rows = fetchall(
        conn,
        "SELECT DISTINCT COALESCE(a.shared_inbox, a.inbox) FROM votes v JOIN remote_actors a ON a.id = v.voter"
        " WHERE v.campaign_id = ?",
        (campaign_id,),
    )
    return [r[0] for r in rows]


# -- aggregates from partner groups ----------------------------------------------------------------------


@dataclass(frozen=True)
class GroupPledge:
    campaign_id: int
    group_actor: str
    pledge_id: str
    pledgers: int
    contributions: str  # JSON, campaign_state.aggregate_json


def save_group_pledge(
    conn: sqlite3.Connection,
    campaign_id: int,
    group_actor: str,
    pledge_id: str,
    pledgers: int,
    contributions: str,
    now: datetime,
) -> None:
    conn.execute(
        "INSERT INTO group_pledges (campaign_id, group_actor, pledge_id, pledgers, contributions, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (campaign_id, group_actor) DO UPDATE SET"
        " pledge_id = excluded.pledge_id, pledgers = excluded.pledgers, contributions = excluded.contributions,"
        " updated_at = excluded.updated_at",
        (campaign_id, group_actor, pledge_id, pledgers, contributions, to_db_time(now)),
    )


def group_pledge_of(conn: sqlite3.Connection, campaign_id: int, group_actor: str) -> GroupPledge | None:
    row = fetchone(
        conn,
        "SELECT campaign_id, group_actor, pledge_id, pledgers, contributions FROM group_pledges"
        " WHERE campaign_id = ? AND group_actor = ?",
        (campaign_id, group_actor),
    )
    return None if row is None else GroupPledge(*row)


def approve_group_pledge(
    conn: sqlite3.Connection,
    campaign_id: int,
    group_actor: str,
    pledge_id: str,
    pledgers: int,
    contributions: str,
    approved_amounts: str,
    now: datetime,
) -> None:
    """Count an aggregate an organizer approved beyond the usual bounds, and remember how far they approved
    (the larger of this and any earlier approval) for the partner's later updates."""
    save_group_pledge(conn, campaign_id, group_actor, pledge_id, pledgers, contributions, now)
    conn.execute(
        "UPDATE group_pledges SET approved_pledgers = MAX(COALESCE(approved_pledgers, 0), ?),"
        " approved_amounts = ? WHERE campaign_id = ? AND group_actor = ?",
        (pledgers, approved_amounts, campaign_id, group_actor),
    )


def approval_of(
    conn: sqlite3.Connection, campaign_id: int, group_actor: str
) -> tuple[int | None, str | None]:
    """(pledgers, amounts JSON) an organizer approved for this partner and campaign, or (None, None)."""
    row = fetchone(
        conn,
        "SELECT approved_pledgers, approved_amounts FROM group_pledges WHERE campaign_id = ? AND group_actor = ?",
        (campaign_id, group_actor),
    )
    return (None, None) if row is None else (row[0], row[1])


def pledge_id_used_elsewhere(
    conn: sqlite3.Connection, pledge_id: str, campaign_id: int, group_actor: str
) -> bool:
    """Whether this aggregate id already stands for another campaign's or another group's aggregate (one id
    is one aggregate: its Update and Undo must not reach another)."""
    row = fetchone(
        conn,
        "SELECT 1 FROM group_pledges WHERE pledge_id = ? AND (campaign_id != ? OR group_actor != ?)"
        " UNION ALL SELECT 1 FROM held_group_pledges WHERE pledge_id = ? AND (campaign_id != ? OR group_actor != ?)"
        " LIMIT 1",
        (pledge_id, campaign_id, group_actor) * 2,
    )
    return row is not None


def group_pledges_of(conn: sqlite3.Connection, group_actor: str) -> list[GroupPledge]:
    rows = fetchall(
        conn,
        "SELECT campaign_id, group_actor, pledge_id, pledgers, contributions FROM group_pledges"
        " WHERE group_actor = ? ORDER BY campaign_id",
        (group_actor,),
    )
    return [GroupPledge(*r) for r in rows]


def remove_group_pledge(conn: sqlite3.Connection, pledge_id: str, group_actor: str) -> int | None:
    row = fetchone(
        conn,
        "SELECT campaign_id FROM group_pledges WHERE pledge_id = ? AND group_actor = ?",
        (pledge_id, group_actor),
    )
    if row is None:
        return None
    conn.execute("DELETE FROM group_pledges WHERE pledge_id = ?", (pledge_id,))
    return int(row[0])


def remove_group_pledges_of(conn: sqlite3.Connection, group_actor: str) -> list[int]:
    rows = fetchall(conn, "SELECT campaign_id FROM group_pledges WHERE group_actor = ?", (group_actor,))
    conn.execute("DELETE FROM group_pledges WHERE group_actor = ?", (group_actor,))
    return [r[0] for r in rows]


def group_pledges_for(conn: sqlite3.Connection, campaign_id: int) -> list[GroupPledge]:
    rows = fetchall(
        conn,
        "SELECT campaign_id, group_actor, pledge_id, pledgers, contributions FROM group_pledges"
        " WHERE campaign_id = ? ORDER BY group_actor",
        (campaign_id,),
    )
    return [GroupPledge(*r) for r in rows]


# -- what we sent partners ---------------------------------------------------------------------------------


def sent_group_pledge(conn: sqlite3.Connection, partner_campaign_id: int) -> tuple[str, str] | None:
    row = fetchone(
        conn,
        "SELECT pledge_id, document FROM sent_group_pledges WHERE partner_campaign_id = ?",
        (partner_campaign_id,),
    )
    return None if row is None else (row[0], row[1])


def save_sent_group_pledge(
    conn: sqlite3.Connection, partner_campaign_id: int, pledge_id: str, document: str, now: datetime
) -> None:
    conn.execute(
        "INSERT INTO sent_group_pledges (partner_campaign_id, pledge_id, document, updated_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (partner_campaign_id) DO UPDATE SET document = excluded.document, updated_at = excluded.updated_at",
        (partner_campaign_id, pledge_id, document, to_db_time(now)),
    )


def forget_sent_group_pledge(conn: sqlite3.Connection, partner_campaign_id: int) -> None:
    conn.execute("DELETE FROM sent_group_pledges WHERE partner_campaign_id = ?", (partner_campaign_id,))


# -- what counts toward a campaign ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TallyInputs:
    member_pledges: list[tuple[int, str, Decimal, str | None]]  # member id, kind, amount, option label
    votes: list[tuple[str, str]]  # voter, option label
    group_pledges: list[tuple[int, str]]  # pledgers, contributions JSON


def tally_inputs_of(conn: sqlite3.Connection, campaign_ids: Sequence[int]) -> dict[int, TallyInputs]:
    """What counts toward each of these campaigns: one query for members' pledges, votes and partner groups'
    aggregates together (a listing reads them all in one trip to the connection's thread)."""
    found = {i: TallyInputs([], [], []) for i in campaign_ids}
    for chunk in id_chunks(campaign_ids):
        marks = ",".join("?" * len(chunk))
        rows = fetchall(
            conn,
            "SELECT campaign_id, 'm', member_id, kind, amount, option_label FROM pledges"
            f" WHERE campaign_id IN ({marks})"
            " UNION ALL SELECT v.campaign_id, 'v', v.voter, o.label, NULL, NULL FROM votes v"
            f" JOIN campaign_options o ON o.id = v.option_id WHERE v.campaign_id IN ({marks})"
            " UNION ALL SELECT campaign_id, 'g', pledgers, contributions, NULL, NULL FROM group_pledges"
            f" WHERE campaign_id IN ({marks})",
            chunk * 3,
        )
        for r in rows:
            inputs = found[r[0]]
            if r[1] == "m":
                inputs.member_pledges.append((r[2], r[3], Decimal(r[4]), r[5]))
            elif r[1] == "v":
                inputs.votes.append((r[2], r[3]))
            else:
                inputs.group_pledges.append((r[2], r[3]))
    return found


def fulfilled_pledges(conn: sqlite3.Connection, campaign_id: int) -> list[tuple[str, Decimal]]:
    rows = fetchall(
        conn, "SELECT kind, amount FROM pledges WHERE campaign_id = ? AND fulfilled = 1", (campaign_id,)
    )
    return [(r[0], Decimal(r[1])) for r in rows]


# -- likes and boosts ------------------------------------------------------------------------------------------


def add_reaction(
    conn: sqlite3.Connection, campaign_id: int, actor: str, kind: str, activity_id: str, now: datetime
) -> bool:
    cursor = conn.execute(
        "INSERT INTO reactions (campaign_id, actor, kind, activity_id, received_at)"
        " SELECT id, ?, ?, ?, ? FROM campaigns WHERE id = ? AND deleted_at IS NULL AND visibility != 'members'"
        " ON CONFLICT DO NOTHING",
        (actor, kind, activity_id, to_db_time(now), campaign_id),
    )
    return cursor.rowcount > 0


def remove_reaction(conn: sqlite3.Connection, activity_id: str, actor: str) -> bool:
    cursor = conn.execute("DELETE FROM reactions WHERE activity_id = ? AND actor = ?", (activity_id, actor))
    return cursor.rowcount > 0


def reaction_counts(conn: sqlite3.Connection, campaign_id: int) -> dict[str, int]:
    rows = fetchall(
        conn, "SELECT kind, COUNT(*) FROM reactions WHERE campaign_id = ? GROUP BY kind", (campaign_id,)
    )
    return {r[0]: r[1] for r in rows}


def forget_remote_actor(conn: sqlite3.Connection, actor: str) -> list[int]:
    """Remove everything a remote actor contributed (votes, aggregates, reactions); returns campaigns touched."""
    touched = set(remove_votes_of(conn, actor))
    touched |= set(remove_group_pledges_of(conn, actor))
    conn.execute("DELETE FROM reactions WHERE actor = ?", (actor,))
    return sorted(touched)


def pledge_times(
    conn: sqlite3.Connection, campaign_id: int, include_members: bool = True
) -> list[tuple[datetime, int]]:
    """When each standing pledge was made, with how many people it stands for (a partner group's aggregate
    counts its pledgers at its latest update), oldest first: the input of the pledges-over-time chart.
    Without our members' pledges when `include_members` is false (their number is withheld)."""
    rows = fetchall(
        conn,
        "SELECT at, people FROM ("
        " SELECT MIN(created_at) AS at, 1 AS people FROM pledges WHERE campaign_id = ? AND ? GROUP BY member_id"
        " UNION ALL SELECT MIN(created_at), 1 FROM votes WHERE campaign_id = ? GROUP BY voter"
        " UNION ALL SELECT updated_at, pledgers FROM group_pledges WHERE campaign_id = ?"
        ") ORDER BY at",
        (campaign_id, int(include_members), campaign_id, campaign_id),
    )
    return [(from_db_time(r[0]), int(r[1])) for r in rows]  # type: ignore[misc]
