"""Moderation: blocks (of an account or a whole domain) and reports. Reports from other servers (ActivityPub
`Flag`) about the group or its campaigns reach our organizers; ours about remote accounts (report_account)
are signed by the instance actor. Forgetting a remote actor (blocked, or deleted) erases what it gave us."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from urllib.parse import urlsplit

from fedgroup import store
from fedgroup.actions import handling, outbox
from fedgroup.actions.coalitions import resolve_account
from fedgroup.actions.context import ActionError, Context
from fedgroup.net.fetch import FetchError
from fedgroup.protocol import vocab
from fedgroup.protocol.parse import Activity, ParseError, is_http_url, parse_flag
from fedgroup.rules import sanitize
from fedgroup.rules.languages import N_, Message, message_of

log = logging.getLogger(__name__)

MAX_COMMENT = 5000
MAX_OBJECTS = 50
MAX_OBJECT_ID = 2000


async def on_flag(runtime: Context, activity: Activity) -> None:
    """A report from another server. Kept when it names something of ours (the group, a campaign, one of
    our activities): that is what our organizers can act on. The comment is kept as plain text."""
    try:
        report = parse_flag(activity)
    except ParseError as e:
        log.info("report dropped reason=%s actor=%s", e.reason, activity.actor)
        return
    objects = [o for o in report.objects[:MAX_OBJECTS] if len(o) <= MAX_OBJECT_ID]
    if not any(runtime.ids.is_local(o) for o in objects):
        log.info("report dropped reason=not-about-us actor=%s", activity.actor)
        return
    comment = sanitize.html_to_text(report.comment, MAX_COMMENT)
    activity_id = activity.id or ""
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> bool:
        return store.reports.add(conn, "received", activity_id, activity.actor, objects, comment, now)

    added = await runtime.db.write(handling.finishing(job))
    if added:
        log.info("report received actor=%s objects=%d", activity.actor, len(objects))


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
            raise ActionError(N_("that is not an actor URL"), "target")
        return "actor", text
    domain = text.lower().rstrip(".")
    if (
        not domain
        or len(domain) > 253
        or not all(c.isalnum() or c in ".-:[]" for c in domain)
        or "." not in domain
    ):
        raise ActionError(N_("write an actor's URL or a domain like spam.example"), "target")
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
        raise ActionError(N_("that is our own domain"), "target")
    if kind == "actor" and runtime.ids.is_local(target):
        raise ActionError(N_("that is an account of ours"), "target")
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
        raise ActionError(Message(N_("%(target)s is not blocked"), target=target), "target")
    runtime.blocks_changed()
    runtime.deliveries_queued()


async def report_account(runtime: Context, account: str, comment: str, objects: Sequence[str] = ()) -> str:
    """Report a remote account (@name@host or its URL, and optionally some of its posts) to its server.
    The Flag is signed by our instance actor: the other server learns that this group reported, never which
    member asked. Returns the report's activity id."""
    try:
        actor_id = await resolve_account(runtime, account)
    except ActionError as e:
        raise ActionError(message_of(e), "account") from e
    if runtime.ids.is_local(actor_id):
        raise ActionError(N_("that is an account of ours"), "account")
    extra = list(dict.fromkeys(o.strip() for o in objects if o.strip()))
    if len(extra) > MAX_OBJECTS or not all(is_http_url(o) and len(o) <= MAX_OBJECT_ID for o in extra):
        raise ActionError(N_("reported posts are given by their URLs"), "objects")
    comment = sanitize.clean_text(comment.strip(), MAX_COMMENT)
    if not comment:
        raise ActionError(N_("say why you report this account"), "comment")
    assert runtime.actors is not None
    try:
        actor = await runtime.actors.actor(actor_id)
    except FetchError as e:
        raise ActionError(Message(N_("cannot fetch %(actor)s: %(reason)s"), actor=actor_id, reason=str(e)), "account") from e
    shared_inbox = actor.shared_inbox
    if not shared_inbox:
        # A report goes to the server, never to the reported person's own inbox.
        raise ActionError(N_("that server has no shared inbox to send a report to"), "account")
    activity = vocab.flag(runtime.ids, outbox.new_activity_id(runtime.ids), actor.id, extra, comment)
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> None:
        outbox.send(conn, activity, "direct", [shared_inbox], now, signer="instance")
        store.reports.add(conn, "sent", activity["id"], actor.id, activity["object"], comment, now)

    await runtime.db.write(job)
    runtime.deliveries_queued()
    log.info("report sent account=%s", actor.id)
    return str(activity["id"])


async def resolve_report(runtime: Context, report_id: int) -> None:
    if not await runtime.db.write(lambda conn: store.reports.resolve(conn, report_id, runtime.now())):
        raise ActionError(N_("there is no such open report"), "report")
