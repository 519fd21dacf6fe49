"""What people can do with the group, shared by the CLI and the web UI. Each action checks its input with
the rules (campaigns.py), writes in one transaction, and queues in that same transaction what federates."""

from __future__ import annotations

import asyncio
import logging
import secrets
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import orjson

from fedgroup import store
from fedgroup.actions import moderation, outbox, partnership
from fedgroup.actions.campaigns import load_campaign as load_campaign
from fedgroup.actions.campaigns import load_campaigns as load_campaigns
from fedgroup.actions.campaigns import outcome_summary as outcome_summary
from fedgroup.actions.context import USER_ERRORS as USER_ERRORS
from fedgroup.actions.context import ActionError as ActionError
from fedgroup.actions.context import Context
from fedgroup.net import webfinger
from fedgroup.net.fetch import FetchError
from fedgroup.protocol import vocab
from fedgroup.protocol.parse import is_http_url
from fedgroup.rules import campaign_state, campaigns, passwords, sanitize
from fedgroup.rules.campaigns import Goal, PledgeOption
from fedgroup.rules.passwords import PasswordError

log = logging.getLogger(__name__)

VISIBILITIES = campaigns.VISIBILITIES
MAX_NAME = 60
MAX_EMAIL = 254


def _load(conn: sqlite3.Connection, campaign_id: int) -> campaign_state.CampaignState:
    state = load_campaign(conn, campaign_id)
    if state is None or state.row.deleted_at is not None:
        raise ActionError(f"there is no campaign {campaign_id}", "campaign")
    return state


# -- campaigns ---------------------------------------------------------------------------------------------


async def campaign(runtime: Context, campaign_id: int) -> campaign_state.CampaignState:
    """A campaign that exists (not deleted), or an ActionError."""
    return await runtime.db.read(_load, campaign_id)


async def create_campaign(
    runtime: Context,
    title: str,
    body: str,
    *,
    goals: Sequence[Goal] = (),
    options: Sequence[PledgeOption] = (),
    deadline: datetime | None = None,
    visibility: str = "public",
    multiple_choice: bool = False,
) -> int:
    """Store a campaign and, unless it is for members only, send it to followers."""
    now = runtime.now()
    draft = campaigns.validate_draft(title, body, goals, options, deadline, visibility, now, multiple_choice)

    def job(conn: sqlite3.Connection) -> int:
        campaign_id = store.campaigns.insert(
            conn,
            draft.title,
            draft.body,
            draft.visibility,
            draft.deadline,
            draft.multiple_choice,
            [(g.kind, g.target, g.unit) for g in draft.goals],
            [(o.label, o.kind, o.amount) for o in draft.options],
            now,
        )
        outbox.publish_campaign(conn, runtime.ids, _load(conn, campaign_id), now)
        return campaign_id

    campaign_id = await runtime.db.write(job)
    runtime.deliveries_queued()
    log.info("campaign created id=%d visibility=%s", campaign_id, draft.visibility)
    return campaign_id


async def edit_campaign(
    runtime: Context,
    campaign_id: int,
    title: str,
    body: str,
    deadline: datetime | None,
    targets: dict[str, Decimal] | None = None,
) -> None:
    """Change the text, deadline and goal targets. Options and visibility stay as created: Mastodon resets a
    poll whose options change, and a visibility change would need a Create or Delete instead of an Update."""
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> None:
        state = _load(conn, campaign_id)
        goals = [Goal(g.kind, (targets or {}).get(g.kind, g.target), g.unit) for g in state.goals]
        deadline_changed = deadline != state.row.deadline
        draft = campaigns.validate_draft(
            title, body, goals, state.options, deadline if deadline_changed else None, state.row.visibility, now,
            state.row.multiple_choice,
        )  # fmt: skip
        store.campaigns.update_text(
            conn,
            campaign_id,
            draft.title,
            draft.body,
            deadline,
            [(g.kind, g.target) for g in draft.goals],
            now,
        )
        outbox.update_campaign(conn, runtime.ids, _load(conn, campaign_id), now)
        store.campaigns.totals_published(conn, campaign_id, now)

    await runtime.db.write(job)
    runtime.deliveries_queued()


async def close_campaign(runtime: Context, campaign_id: int) -> bool:
    """Close (by hand or at the deadline); the final Update carries `closed`. False if already closed."""
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> bool:
        _load(conn, campaign_id)
        if not store.campaigns.close(conn, campaign_id, now):
            return False
        outbox.update_campaign(conn, runtime.ids, _load(conn, campaign_id), now)
        store.campaigns.totals_published(conn, campaign_id, now)
        return True

    closed = await runtime.db.write(job)
    runtime.deliveries_queued()
    if closed:
        log.info("campaign closed id=%d", campaign_id)
    return closed


async def delete_campaign(runtime: Context, campaign_id: int) -> None:
    """Delete everywhere it went (Delete with a Tombstone), then erase its pledges, votes and replies here."""
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> None:
        state = _load(conn, campaign_id)
        outbox.delete_campaign(conn, runtime.ids, campaign_id, state.row.visibility, now)
        store.campaigns.mark_deleted(conn, campaign_id, now)

    await runtime.db.write(job)
    runtime.deliveries_queued()
    log.info("campaign deleted id=%d", campaign_id)


async def report_outcome(runtime: Context, campaign_id: int, report: str) -> str:
    """Record what was achieved and publish it as a reply to the campaign; returns the summary line."""
    report = campaigns.clean_block(report)
    if not report:
        raise ActionError("write what the campaign achieved", "outcome")
    if len(report) > campaigns.MAX_BODY:
        raise ActionError("the report is too long", "outcome")
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> str:
        _load(conn, campaign_id)
        store.campaigns.close(conn, campaign_id, now)
        store.campaigns.set_outcome(conn, campaign_id, report, now)
        state = _load(conn, campaign_id)
        summary = outcome_summary(conn, state)
        outbox.publish_outcome(conn, runtime.ids, state, summary, now)
        outbox.update_campaign(conn, runtime.ids, state, now)
        return summary

    summary = await runtime.db.write(job)
    runtime.deliveries_queued()
    return summary


# -- members -----------------------------------------------------------------------------------------------


def _clean_name(name: str) -> str:
    name = campaigns.clean_line(name)
    if not name or len(name) > MAX_NAME:
        raise ActionError(f"a name is 1-{MAX_NAME} characters", "name")
    return name


async def add_member(
    runtime: Context, name: str, role: str, email: str | None = None, password_hash: str | None = None
) -> int:
    name = _clean_name(name)
    if role not in store.members.ROLES:
        raise ActionError(f"role must be one of {', '.join(store.members.ROLES)}", "role")
    if email is not None:
        email = email.strip() or None
        if email is not None and (
            len(email) > MAX_EMAIL or "@" not in email or any(c.isspace() for c in email)
        ):
            raise ActionError("that does not look like an email address", "email")
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> int:
        if store.members.by_name(conn, name) is not None:
            raise ActionError(f"there is already a member called {name}", "name")
        return store.members.add(conn, name, role, email, password_hash, now)

    return await runtime.db.write(job)


async def member_named(runtime: Context, name: str) -> store.members.Member:
    member = await runtime.db.read(store.members.by_name, name.strip())
    if member is None:
        raise ActionError(f"there is no member called {name.strip()}", "member")
    return member


async def remove_member(runtime: Context, member_id: int) -> None:
    """Erase a member and everything we hold about them; totals and partner aggregates adjust and federate."""
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> None:
        member = store.members.by_id(conn, member_id)
        if member is None:
            raise ActionError("there is no such member", "member")
        if member.is_admin and store.members.count_admins(conn) <= 1:
            raise ActionError("the last admin cannot be removed", "member")
        local = store.pledges.campaigns_pledged_by(conn, member_id)
        partner = store.pledges.partner_campaigns_pledged_by(conn, member_id)
        store.members.remove(conn, member_id)
        for campaign_id in local:
            store.campaigns.totals_changed(conn, campaign_id, now)
        for partner_campaign_id in partner:
            _send_aggregate(conn, runtime, partner_campaign_id, now)

    await runtime.db.write(job)
    await runtime.db.flush_log()
    runtime.deliveries_queued()
    log.info("member removed id=%d", member_id)


async def export_member(runtime: Context, member_id: int) -> dict[str, Any]:
    """A copy of everything we hold about a member (for them, or an admin acting on their request)."""
    data = await runtime.db.read(store.members.export, member_id)
    if data is None:
        raise ActionError("there is no such member", "member")
    return {"group": runtime.ids.acct, "exported_at": vocab.xsd_datetime(runtime.now()), **data}


# -- pledges -----------------------------------------------------------------------------------------------


def _choose(
    goals: Sequence[Goal], options: Sequence[PledgeOption], option: str | None, kind: str | None,
    amount: str | Decimal | None, note: str,
) -> tuple[campaigns.Contribution, str | None, str]:  # fmt: skip
    """A pledge is either one of the campaign's options or a kind and amount of the member's own."""
    if option:
        chosen = campaigns.option_contribution(options, option)
        if chosen is None:
            raise ActionError(f"there is no option {option!r}", "option")
        _, note = campaigns.validate_pledge(goals, chosen.kind, chosen.amount, note)
        return chosen, option, note
    if not kind or amount is None:
        raise ActionError("choose an option, or a kind and an amount", "amount")
    contribution, note = campaigns.validate_pledge(goals, kind, amount, note)
    return contribution, None, note


async def pledge(
    runtime: Context,
    member_id: int,
    campaign_id: int,
    option: str | None = None,
    kind: str | None = None,
    amount: str | Decimal | None = None,
    note: str = "",
) -> None:
    """A member's pledge to one of our campaigns; replaces their earlier pledge of the same kind."""
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> None:
        state = _load(conn, campaign_id)
        if not state.is_open(now):
            raise ActionError("this campaign is closed", "campaign")
        contribution, label, clean_note = _choose(state.goals, state.options, option, kind, amount, note)
        store.pledges.upsert_member_pledge(
            conn, member_id, campaign_id, None, contribution.kind, contribution.amount, label, clean_note, now
        )
        store.campaigns.totals_changed(conn, campaign_id, now)

    await runtime.db.write(job)
    runtime.wake_scheduler()


async def withdraw_pledge(runtime: Context, member_id: int, pledge_id: int) -> None:
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> None:
        found = store.pledges.member_pledge(conn, pledge_id)
        if found is None or found.member_id != member_id:
            raise ActionError("there is no such pledge", "pledge")
        store.pledges.withdraw_member_pledge(conn, pledge_id, member_id)
        if found.campaign_id is not None:
            store.campaigns.totals_changed(conn, found.campaign_id, now)
        else:
            assert found.partner_campaign_id is not None
            _send_aggregate(conn, runtime, found.partner_campaign_id, now)

    await runtime.db.write(job)
    runtime.deliveries_queued()
    runtime.wake_scheduler()


async def set_fulfilled(runtime: Context, pledge_id: int, fulfilled: bool) -> None:
    if not await runtime.db.write(lambda conn: store.pledges.set_fulfilled(conn, pledge_id, fulfilled)):
        raise ActionError("there is no such pledge", "pledge")


# -- coalitions: pledging to partner groups' campaigns --------------------------------------------------------


def partner_goals(partner: store.campaigns.PartnerCampaign) -> tuple[list[Goal], list[PledgeOption]]:
    """A partner campaign's goals and options, as its server described them (validated when received)."""
    goals = [Goal(g["kind"], Decimal(g["target"]), g.get("unit")) for g in orjson.loads(partner.goals)]
    options = [
        PledgeOption(o["name"], o["kind"], Decimal(o["amount"])) for o in orjson.loads(partner.options)
    ]
    return goals, options


async def pledge_to_partner(
    runtime: Context,
    member_id: int,
    partner_campaign_id: int,
    option: str | None = None,
    kind: str | None = None,
    amount: str | Decimal | None = None,
    note: str = "",
) -> None:
    """A member pledges to a partner's campaign; the partner gets our group's new aggregate (no names)."""
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> None:
        partner = store.campaigns.partner_campaign(conn, partner_campaign_id)
        if partner is None:
            raise ActionError("there is no such partner campaign", "campaign")
        if not campaigns.is_open("closed" if partner.closed else "open", partner.deadline, now):
            raise ActionError("this campaign is closed", "campaign")
        goals, options = partner_goals(partner)
        contribution, label, clean_note = _choose(goals, options, option, kind, amount, note)
        store.pledges.upsert_member_pledge(
            conn,
            member_id,
            None,
            partner_campaign_id,
            contribution.kind,
            contribution.amount,
            label,
            clean_note,
            now,
        )
        _send_aggregate(conn, runtime, partner_campaign_id, now)

    await runtime.db.write(job)
    runtime.deliveries_queued()


def _send_aggregate(
    conn: sqlite3.Connection, runtime: Context, partner_campaign_id: int, now: datetime
) -> None:
    """Send the partner our members' current aggregate: the Pledge, an Update of it, or its Undo at zero."""
    partner = store.campaigns.partner_campaign(conn, partner_campaign_id)
    if partner is None:
        return
    group = store.actors.by_id(conn, partner.group_actor)
    if group is None:
        log.info("group pledge not sent reason=partner-unknown partner=%s", partner.group_actor)
        return
    pledges = store.pledges.pledges_for_partner_campaign(conn, partner_campaign_id)
    aggregate = campaigns.aggregate(
        campaigns.MemberPledgeFacts(p.member_id, campaigns.Contribution(p.kind, p.amount), p.option_label)
        for p in pledges
    )
    sent = store.pledges.sent_group_pledge(conn, partner_campaign_id)
    previous: dict[str, Any] | None = orjson.loads(sent[1]) if sent else None
    if aggregate.pledgers == 0:
        if previous is not None:
            outbox.withdraw_group_pledge(conn, runtime.ids, previous, group.inbox, now)
            store.pledges.forget_sent_group_pledge(conn, partner_campaign_id)
        return
    goals, _ = partner_goals(partner)
    summary = (
        f"{runtime.site.name} pledges "
        + campaigns.progress_text(
            campaigns.progress(goals, [line.contribution for line in aggregate.lines])
        ).replace(" of ", " toward ")
        + f" from {aggregate.pledgers} member{'s' if aggregate.pledgers != 1 else ''}"
    )
    pledge_id = sent[0] if sent else outbox.new_activity_id(runtime.ids)
    document = vocab.group_pledge(
        runtime.ids, pledge_id, partner.group_actor, partner.object_id, aggregate, summary
    )
    outbox.send_group_pledge(conn, runtime.ids, document, previous, group.inbox, now)
    store.pledges.save_sent_group_pledge(
        conn, partner_campaign_id, pledge_id, orjson.dumps(document).decode(), now
    )


async def follow_group(runtime: Context, actor: store.actors.CachedActor) -> None:
    """Our group follows another group (a coalition partner); its campaigns arrive once it accepts."""
    if actor.id == runtime.ids.group:
        raise ActionError("a group cannot follow itself", "handle")
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> None:
        store.actors.save(conn, actor)
        follow_id = outbox.follow(conn, runtime.ids, actor.id, actor.inbox, now)
        store.follows.add_following(conn, actor.id, follow_id, now)

    await runtime.db.write(job)
    runtime.deliveries_queued()
    log.info("following group=%s", actor.id)


async def leave_group(runtime: Context, actor_id: str) -> None:
    """Stop following a partner: withdraw our pledges to its campaigns, Undo the Follow, forget its campaigns."""
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> None:
        following = store.follows.following_of(conn, actor_id)
        if following is None:
            raise ActionError(f"we do not follow {actor_id}", "handle")
        actor = store.actors.by_id(conn, actor_id)
        for partner in store.campaigns.partner_campaigns(conn, actor_id):
            sent = store.pledges.sent_group_pledge(conn, partner.id)
            if sent is not None and actor is not None:
                outbox.withdraw_group_pledge(conn, runtime.ids, orjson.loads(sent[1]), actor.inbox, now)
        if actor is not None:
            outbox.unfollow(conn, runtime.ids, actor_id, following.follow_id, actor.inbox, now)
        store.campaigns.remove_partner_campaigns_of(conn, actor_id)
        store.follows.remove_following(conn, actor_id)
        # Partners because we followed them are not any more (an organizer's acceptance stands).
        partnership.reconsider(conn, actor_id, now)

    await runtime.db.write(job)
    runtime.deliveries_queued()
    runtime.wake_scheduler()
    log.info("left group=%s", actor_id)


async def answer_follower(runtime: Context, actor_id: str, approve: bool) -> None:
    """Manual approval: Accept (the follower then hears our campaigns) or Reject and forget the request."""
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> None:
        follower = store.follows.follower(conn, actor_id)
        if follower is None or follower.state != "pending":
            raise ActionError(f"no follow request from {actor_id} is waiting", "actor")
        follow = {"id": follower.follow_id, "actor": actor_id}
        if approve:
            store.follows.set_follower_state(conn, actor_id, "accepted")
            outbox.accept_follow(conn, runtime.ids, follow, follower.inbox, now)
        else:
            store.follows.remove_follower(conn, actor_id)
            outbox.reject_follow(conn, runtime.ids, follow, follower.inbox, now)

    await runtime.db.write(job)
    runtime.deliveries_queued()
    log.info("follow request %s actor=%s", "approved" if approve else "rejected", actor_id)


async def remove_follower(runtime: Context, actor_id: str) -> None:
    """Stop an account following the group (Mastodon's "remove follower"): Reject of its Follow, to its own
    inbox; a partner group's aggregates leave the totals."""
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> None:
        follower = store.follows.follower(conn, actor_id)
        if follower is None:
            raise ActionError(f"{actor_id} does not follow the group", "actor")
        store.follows.remove_follower(conn, actor_id)
        outbox.reject_follow(
            conn, runtime.ids, {"id": follower.follow_id, "actor": actor_id}, follower.inbox, now
        )
        partnership.reconsider(conn, actor_id, now)

    await runtime.db.write(job)
    runtime.deliveries_queued()
    runtime.wake_scheduler()
    log.info("follower removed actor=%s reason=organizer", actor_id)


# -- partner groups: whose aggregate pledges count ------------------------------------------------------------


@dataclass(frozen=True)
class PartnerView:
    """A group as organizers see it under partners (no member of anyone is involved: groups are public)."""

    actor_id: str
    name: str | None
    actor_type: str | None
    status: str  # partnership.PARTNER, REQUESTED, REJECTED or NONE
    via: str  # "organizer", "following" (a partner because we follow it) or ""
    follows_us: bool
    published_bound: int | None  # the `membersAtMost` it publishes
    bound: int  # the most pledgers one of its aggregates counts for without an organizer
    held: int  # its aggregates waiting for an organizer


async def partner_groups(runtime: Context) -> list[PartnerView]:
    """Partner groups, requests (group followers no organizer has decided about) and rejected groups."""
    db = runtime.db
    held = await db.read(store.partners.held_counts)
    views = []
    for standing in await db.read(store.partners.candidates):
        status = partnership.status(standing)
        if status == partnership.NONE and standing.decision is None:
            continue  # a group we follow that does not follow us: `coalition list` shows it
        via = (
            "organizer" if standing.decision == "accepted"
            else "following" if standing.following_state == "accepted" and status == partnership.PARTNER
            else ""
        )  # fmt: skip
        views.append(
            PartnerView(
                standing.actor_id, standing.name, standing.actor_type, status, via,
                standing.follower_state == "accepted", partnership.published_bound(standing),
                partnership.member_bound(standing), held.get(standing.actor_id, 0),
            )
        )  # fmt: skip
    return views


async def accept_partner(runtime: Context, actor_id: str) -> int:
    """An organizer accepts a group that follows us as a partner: its aggregates count (within its bounds),
    including those it sent while it waited. Returns how many now count."""
    actor_id = actor_id.strip()
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> int:
        standing = store.partners.standing(conn, actor_id)
        if standing.follower_state is None:
            raise ActionError(
                f"{actor_id} does not follow our group: a partner group follows us first", "actor"
            )
        if standing.actor_type not in store.partners.PARTNER_TYPES:
            raise ActionError(
                f"{actor_id} is a {standing.actor_type or 'unknown account'}, not a group", "actor"
            )
        store.partners.decide(conn, actor_id, "accepted", now)
        return partnership.reconsider_held(conn, actor_id, now)

    counted = await runtime.db.write(job)
    runtime.wake_scheduler()
    log.info("partner accepted group=%s aggregates_counted=%d", actor_id, counted)
    return counted


async def reject_partner(runtime: Context, actor_id: str) -> None:
    """An organizer refuses a group as a partner (or ends a partnership): its aggregates leave the totals
    and are not kept; it may still follow the group and hear its campaigns."""
    actor_id = actor_id.strip()
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> None:
        standing = store.partners.standing(conn, actor_id)
        if (
            standing.follower_state is None and standing.decision is None and standing.following_state is None
            and not store.partners.held_listing(conn, actor_id)
        ):  # fmt: skip
            raise ActionError(f"{actor_id} is not a partner group or a partner request", "actor")
        store.partners.decide(conn, actor_id, "rejected", now)
        partnership.reconsider(conn, actor_id, now)

    await runtime.db.write(job)
    runtime.wake_scheduler()
    log.info("partner rejected group=%s", actor_id)


async def held_aggregates(runtime: Context) -> list[store.partners.HeldPledge]:
    return await runtime.db.read(store.partners.held_listing)


async def answer_held_aggregate(runtime: Context, held_id: int, approve: bool) -> store.partners.HeldPledge:
    """An organizer approves a held aggregate of a partner (it counts, and later ones up to it will) or
    rejects it (it is forgotten; the partner's previous aggregate, if any, keeps counting)."""
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> store.partners.HeldPledge:
        held = store.partners.held(conn, held_id)
        if held is None:
            raise ActionError(f"there is no held aggregate {held_id}", "held")
        if approve:
            standing = store.partners.standing(conn, held.group_actor)
            if partnership.status(standing) != partnership.PARTNER:
                raise ActionError(f"accept {held.group_actor} as a partner group first", "held")
            row = store.campaigns.get(conn, held.campaign_id)
            if row is None or row.deleted_at is not None:
                raise ActionError(f"campaign {held.campaign_id} was deleted", "held")
            partnership.approve_held(conn, held, now)
        else:
            store.partners.release(conn, held.id)
        return held

    held = await runtime.db.write(job)
    runtime.wake_scheduler()
    log.info(
        "held aggregate %s id=%d group=%s", "approved" if approve else "rejected", held_id, held.group_actor
    )
    return held


# -- the clock's work ------------------------------------------------------------------------------------------


async def close_due_campaigns(runtime: Context) -> int:
    due = await runtime.db.read(store.campaigns.past_deadline, runtime.now())
    closed = 0
    for campaign_id in due:
        closed += await close_campaign(runtime, campaign_id)
    return closed


async def publish_due_totals(runtime: Context, interval_seconds: float) -> int:
    """One Update(Question) per campaign whose totals changed, at most one per `interval_seconds`."""
    now = runtime.now()
    due = await runtime.db.read(store.campaigns.totals_to_publish, now - timedelta(seconds=interval_seconds))

    def job(conn: sqlite3.Connection, campaign_id: int) -> None:
        state = load_campaign(conn, campaign_id)
        if state is None or state.row.deleted_at is not None:
            return
        outbox.update_campaign(conn, runtime.ids, state, now)
        store.campaigns.totals_published(conn, campaign_id, now)

    for campaign_id in due:
        await runtime.db.write(lambda conn, c=campaign_id: job(conn, c))
    if due:
        runtime.deliveries_queued()
    return len(due)


async def resolve_account(runtime: Context, handle: str) -> str:
    """The actor id of @name@host (WebFinger), or of an actor URL given as such."""
    handle = handle.strip()
    if not handle:
        raise ActionError("write the group's @name@host", "handle")
    if runtime.http is None:
        raise ActionError("the network is not running", "handle")
    try:
        return await webfinger.resolve_account(runtime.http, handle)
    except FetchError as e:
        raise ActionError(f"cannot find {handle}: {e}", "handle") from e


async def follow_group_by_handle(runtime: Context, handle: str) -> str:
    """Follow a group named by @name@host or its URL; returns its actor id."""
    actor_id = await resolve_account(runtime, handle)
    assert runtime.actors is not None
    try:
        actor = await runtime.actors.refresh(actor_id)
    except FetchError as e:
        raise ActionError(f"cannot fetch {actor_id}: {e}", "handle") from e
    if actor.type != "Group":
        raise ActionError(f"{handle} is a {actor.type}, not a group", "handle")
    await follow_group(runtime, actor)
    return actor.id


# -- remote actors: forgetting and blocking -----------------------------------------------------------------


def forget_remote_actor(conn: sqlite3.Connection, actor_id: str, now: datetime) -> None:
    """Everything a remote actor gave us goes: its follow, votes, replies, reactions, aggregates; totals adjust."""
    store.follows.remove_follower(conn, actor_id)
    store.follows.remove_following(conn, actor_id)
    store.campaigns.remove_partner_campaigns_of(conn, actor_id)
    store.campaigns.remove_comments_of(conn, actor_id)
    store.partners.release_all_of(conn, actor_id)
    store.partners.forget(conn, actor_id)
    for campaign_id in store.pledges.forget_remote_actor(conn, actor_id):
        store.campaigns.totals_changed(conn, campaign_id, now)
    store.actors.forget(conn, actor_id)


def block_target(text: str) -> tuple[str, str]:
    """An actor URL → ("actor", url); a domain (or @user@domain's domain is not guessed) → ("domain", host)."""
    text = text.strip()
    if text.startswith(("https://", "http://")):
        parts = urlsplit(text)
        if not parts.netloc or any(c.isspace() for c in text) or len(text) > 2000:
            raise ActionError("that is not an actor URL", "target")
        return "actor", text
    domain = text.lower().rstrip(".")
    if (
        not domain
        or len(domain) > 253
        or not all(c.isalnum() or c in ".-:[]" for c in domain)
        or "." not in domain
    ):
        raise ActionError("write an actor's URL or a domain like spam.example", "target")
    return "domain", domain


async def block(runtime: Context, text: str) -> str:
    """Block an actor or a domain: refuse what they send, serve them nothing, forget what they gave.

    The other server is told, so that it drops the follow and stops showing the blocked account our
    followers-only campaigns (it still receives them for its other followers of ours): each follower blocked
    gets a Reject of its Follow (Takahē and Mastodon drop a follow on it), and a blocked account also a Block
    (GoToSocial and Misskey drop a follow only on that), both to the account's own inbox. A domain block sends
    no Block per account: each follower there gets the Reject, as Mastodon does."""
    kind, target = block_target(text)
    if kind == "domain" and target == runtime.config.domain:
        raise ActionError("that is our own domain", "target")
    if kind == "actor" and runtime.ids.is_local(target):
        raise ActionError("that is an account of ours", "target")
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> None:
        added = store.blocks.add(conn, target, kind, now)
        actors = [target] if kind == "actor" else store.blocks.actors_on_domain(conn, target)
        if kind == "domain":
            store.outbox.remove_deliveries_to_host(conn, target)
        farewells: list[tuple[str, store.follows.Follower | None, str | None]] = []
        for actor_id in actors:
            cached = store.actors.by_id(conn, actor_id)
            follower = store.follows.follower(conn, actor_id)
            if cached is not None:
                store.outbox.remove_deliveries_to(conn, [cached.inbox])
            farewells.append((actor_id, follower, cached.inbox if cached is not None else None))
            store.reports.forget_actor(conn, actor_id)
            forget_remote_actor(conn, actor_id, now)
        # Queued after the purge above, so that these are the only things still sent to them.
        for actor_id, follower, inbox in farewells:
            if follower is not None:
                follow = {"id": follower.follow_id, "actor": actor_id}
                outbox.reject_follow(conn, runtime.ids, follow, follower.inbox, now)
            inbox = inbox or (follower.inbox if follower is not None else None)
            if kind == "actor" and added and inbox is not None:
                activity = vocab.block(runtime.ids, outbox.new_activity_id(runtime.ids), actor_id)
                outbox.send(conn, activity, "direct", [inbox], now)
                store.blocks.remember_activity(conn, target, activity["id"], inbox)

    await runtime.db.write(job)
    runtime.blocks_changed()
    runtime.deliveries_queued()
    runtime.wake_scheduler()
    log.info("blocked %s=%s", kind, target)
    return target


async def unblock(runtime: Context, target: str) -> None:
    """Lift a block; for an account we sent a Block to, send its Undo (to the same inbox)."""
    target = target.strip()
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> bool:
        found = store.blocks.get(conn, target)
        if found is None:
            return False
        store.blocks.remove(conn, target)
        if found.activity_id and found.inbox:
            sent = vocab.block(runtime.ids, found.activity_id, target)
            undo = vocab.undo(runtime.ids, outbox.new_activity_id(runtime.ids), sent, [target])
            outbox.send(conn, undo, "direct", [found.inbox], now)
        return True

    if not await runtime.db.write(job):
        raise ActionError(f"{target} is not blocked", "target")
    runtime.blocks_changed()
    runtime.deliveries_queued()


async def report_account(runtime: Context, account: str, comment: str, objects: Sequence[str] = ()) -> str:
    """Report a remote account (@name@host or its URL, and optionally some of its posts) to its server.
    The Flag is signed by our instance actor: the other server learns that this group reported, never which
    member asked. Returns the report's activity id."""
    try:
        actor_id = await resolve_account(runtime, account)
    except ActionError as e:
        raise ActionError(str(e), "account") from e
    if runtime.ids.is_local(actor_id):
        raise ActionError("that is an account of ours", "account")
    extra = list(dict.fromkeys(o.strip() for o in objects if o.strip()))
    if len(extra) > moderation.MAX_OBJECTS or not all(
        is_http_url(o) and len(o) <= moderation.MAX_OBJECT_ID for o in extra
    ):
        raise ActionError("reported posts are given by their URLs", "objects")
    comment = sanitize.clean_text(comment.strip(), moderation.MAX_COMMENT)
    if not comment:
        raise ActionError("say why you report this account", "comment")
    assert runtime.actors is not None
    try:
        actor = await runtime.actors.actor(actor_id)
    except FetchError as e:
        raise ActionError(f"cannot fetch {actor_id}: {e}", "account") from e
    if not actor.shared_inbox:
        # A report goes to the server, never to the reported person's own inbox.
        raise ActionError("that server has no shared inbox to send a report to", "account")
    activity = vocab.flag(runtime.ids, outbox.new_activity_id(runtime.ids), actor.id, extra, comment)
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> None:
        outbox.send(conn, activity, "direct", [actor.shared_inbox], now, signer="instance")
        store.reports.add(conn, "sent", activity["id"], actor.id, activity["object"], comment, now)

    await runtime.db.write(job)
    runtime.deliveries_queued()
    log.info("report sent account=%s", actor.id)
    return activity["id"]


async def resolve_report(runtime: Context, report_id: int) -> None:
    if not await runtime.db.write(lambda conn: store.reports.resolve(conn, report_id, runtime.now())):
        raise ActionError("there is no such open report", "report")


# -- accounts: sign-in, invitations, passwords, roles ---------------------------------------------------------

INVITE_HOURS = 72


async def sign_in(runtime: Context, name: str, password: str) -> store.members.Member | None:
    """The member if the name and password match. Exactly one argon2 verification whatever the name: an
    unknown name (or a member without a password) is checked against a hash nothing matches, so a wrong name
    costs as long as a wrong password and the answer's timing does not tell which names exist."""
    member = await runtime.db.read(store.members.by_name, campaigns.clean_line(name))
    password_hash = member.password_hash if member is not None else None
    checked = password_hash or passwords.unmatchable_hash()
    ok = await asyncio.to_thread(passwords.verify_password, checked, password)
    return member if ok and member is not None and password_hash else None


async def create_invite(runtime: Context, role: str = "member", hours: int = INVITE_HOURS) -> str:
    """A one-time invitation; returns its URL (the token is only ever in this URL, we keep its digest)."""
    if role not in store.members.ROLES:
        raise ActionError(f"role must be one of {', '.join(store.members.ROLES)}", "role")
    if not 1 <= hours <= 24 * 30:
        raise ActionError("an invitation lasts 1 hour to 30 days", "hours")
    token = secrets.token_urlsafe(24)
    now = runtime.now()
    await runtime.db.write(
        lambda conn: store.sessions.add_invite(conn, token, role, now, now + timedelta(hours=hours))
    )
    return f"{runtime.config.base_url}/invite/{token}"


async def accept_invite(runtime: Context, token: str, name: str, password: str) -> int:
    """Become a member through an invitation: a name and a password of one's own."""
    name = _clean_name(name)
    password_hash = await asyncio.to_thread(passwords.hash_password, password)
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> int:
        role = store.sessions.open_invite_role(conn, token, now)
        if role is None:
            raise ActionError("this invitation was used or has expired; ask for a new one", "invite")
        if store.members.by_name(conn, name) is not None:
            raise ActionError(f"there is already a member called {name}", "name")
        store.sessions.use_invite(conn, token, now)
        return store.members.add(conn, name, role, None, password_hash, now)

    return await runtime.db.write(job)


async def change_password(runtime: Context, member_id: int, current: str, new: str) -> None:
    member = await runtime.db.read(store.members.by_id, member_id)
    if member is None:
        raise ActionError("there is no such member", "current")
    if not await asyncio.to_thread(passwords.verify_password, member.password_hash, current):
        raise ActionError("that is not your current password", "current")
    try:
        password_hash = await asyncio.to_thread(passwords.hash_password, new)
    except PasswordError as e:
        raise ActionError(str(e), "new") from e
    await runtime.db.write(lambda conn: store.members.set_password_hash(conn, member_id, password_hash))


async def set_role(runtime: Context, member_id: int, role: str) -> None:
    if role not in store.members.ROLES:
        raise ActionError(f"role must be one of {', '.join(store.members.ROLES)}", "role")

    def job(conn: sqlite3.Connection) -> None:
        member = store.members.by_id(conn, member_id)
        if member is None:
            raise ActionError("there is no such member", "member")
        if member.is_admin and role != "admin" and store.members.count_admins(conn) <= 1:
            raise ActionError("the last admin must stay an admin", "role")
        store.members.set_role(conn, member_id, role)

    await runtime.db.write(job)


async def ensure_first_admin(runtime: Context) -> str | None:
    """On a server with no members yet, create the admin account; returns its one-time password."""
    if await runtime.db.read(store.members.count):
        return None  # the usual start: no password to hash (argon2 costs ~0.1 s)
    password = secrets.token_urlsafe(12)
    password_hash = await asyncio.to_thread(passwords.hash_password, password)
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> bool:
        if store.members.count(conn):  # checked again: a CLI command may have added one meanwhile
            return False
        store.members.add(conn, FIRST_ADMIN, "admin", None, password_hash, now)
        return True

    return password if await runtime.db.write(job) else None


FIRST_ADMIN = "admin"
