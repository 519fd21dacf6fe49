"""Followers: answering follow requests (manual approval), and making an account stop following."""

from __future__ import annotations

import logging
import sqlite3

from fedgroup import store
from fedgroup.actions import outbox, partnership
from fedgroup.actions.context import ActionError, Context
from fedgroup.rules.languages import N_, Message

log = logging.getLogger(__name__)


async def answer_follower(runtime: Context, actor_id: str, approve: bool) -> None:
    """Manual approval: Accept (the follower then hears our campaigns) or Reject and forget the request."""
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> None:
        follower = store.follows.follower(conn, actor_id)
        if follower is None or follower.state != "pending":
            raise ActionError(Message(N_("no follow request from %(actor)s is waiting"), actor=actor_id), "actor")
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
            raise ActionError(Message(N_("%(actor)s does not follow the group"), actor=actor_id), "actor")
        store.follows.remove_follower(conn, actor_id)
        outbox.reject_follow(
            conn, runtime.ids, {"id": follower.follow_id, "actor": actor_id}, follower.inbox, now
        )
        partnership.reconsider(conn, actor_id, now)

    await runtime.db.write(job)
    runtime.deliveries_queued()
    runtime.wake_scheduler()
    log.info("follower removed actor=%s reason=organizer", actor_id)
