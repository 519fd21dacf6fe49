"""Members: adding one, finding one by name, removing one with everything held about them, exporting it."""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

from fedgroup import store
from fedgroup.actions import gatherings
from fedgroup.actions.coalitions import PledgeAtStake, pledges_at_stake, send_aggregate
from fedgroup.actions.context import ActionError, Context
from fedgroup.protocol import vocab
from fedgroup.rules import campaigns
from fedgroup.rules.languages import N_, Message

log = logging.getLogger(__name__)

MAX_NAME = 60


MAX_EMAIL = 254


def clean_name(name: str) -> str:
    name = campaigns.clean_line(name)
    if not name or len(name) > MAX_NAME:
        raise ActionError(Message(N_("a name is 1-%(most)s characters"), most=MAX_NAME), "name")
    return name


async def add_member(
    runtime: Context, name: str, role: str, email: str | None = None, password_hash: str | None = None
) -> int:
    name = clean_name(name)
    if role not in store.members.ROLES:
        raise ActionError(Message(N_("role must be one of %(roles)s"), roles=", ".join(store.members.ROLES)), "role")
    if email is not None:
        email = email.strip() or None
        if email is not None and (
            len(email) > MAX_EMAIL or "@" not in email or any(c.isspace() for c in email)
        ):
            raise ActionError(N_("that does not look like an email address"), "email")
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> int:
        if store.members.by_name(conn, name) is not None:
            raise ActionError(Message(N_("there is already a member called %(name)s"), name=name), "name")
        return store.members.add(conn, name, role, email, password_hash, now)

    return await runtime.db.write(job)


async def member_named(runtime: Context, name: str) -> store.members.Member:
    member = await runtime.db.read(store.members.by_name, name.strip())
    if member is None:
        raise ActionError(Message(N_("there is no member called %(name)s"), name=name.strip()), "member")
    return member


async def member_removal(
    runtime: Context, member_id: int
) -> tuple[store.members.Member, list[PledgeAtStake]]:
    """What removing this member erases, said before it is done: the member, and each of their pledges with
    what happens to it (an open campaign's totals drop; a closed one's stay as they closed)."""
    now = runtime.now()

    def read(conn: sqlite3.Connection) -> tuple[store.members.Member, list[PledgeAtStake]]:
        member = store.members.by_id(conn, member_id)
        if member is None:
            raise ActionError(N_("there is no such member"), "member")
        return member, pledges_at_stake(conn, store.pledges.pledges_of_member(conn, member_id), now)

    return await runtime.db.read(read)


async def remove_member(runtime: Context, member_id: int) -> None:
    """Erase a member and everything we hold about them; open campaigns' totals and partner aggregates adjust
    and federate (a closed campaign's stay frozen as it closed)."""
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> None:
        member = store.members.by_id(conn, member_id)
        if member is None:
            raise ActionError(N_("there is no such member"), "member")
        if member.is_admin and store.members.count_admins(conn) <= 1:
            raise ActionError(N_("the last admin cannot be removed"), "member")
        local = store.pledges.campaigns_pledged_by(conn, member_id)
        partner = store.pledges.partner_campaigns_pledged_by(conn, member_id)
        # Money they gave stays in the money record's totals; the link to them goes.
        store.money.forget_member(conn, member_id)
        coming = list(store.gatherings.member_rsvps(conn, member_id))
        store.members.remove(conn, member_id)
        # Their places (their RSVPs went with them) go to the waiting lists.
        gatherings.places_freed(conn, runtime.ids, coming, now)
        for campaign_id in local:
            store.campaigns.totals_changed(conn, campaign_id, now)
        for partner_campaign_id in partner:
            send_aggregate(conn, runtime, partner_campaign_id, now)

    await runtime.db.write(job)
    await runtime.db.flush_log()
    runtime.deliveries_queued()
    log.info("member removed id=%d", member_id)


async def export_member(runtime: Context, member_id: int) -> dict[str, Any]:
    """A copy of everything we hold about a member (for them, or an admin acting on their request)."""
    data = await runtime.db.read(store.members.export, member_id)
    if data is None:
        raise ActionError(N_("there is no such member"), "member")
    return {"group": runtime.ids.acct, "exported_at": vocab.xsd_datetime(runtime.now()), **data}
