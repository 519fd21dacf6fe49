"""An account that moved (`Move{actor: A, object: A, target: B}`), as Misskey, Iceshrimp.NET, GoToSocial,
Akkoma and Mitra announce it to the account's followers.

It reaches us when our group follows A: a coalition partner moving servers. Then, as Mastodon does for its
local followers of a moved account: B is fetched from its own origin and believed only if its `alsoKnownAs`
names A; our follow moves to B (Undo to A, Follow to B), an organizer's decision on A as a partner now
stands for B, and A's campaigns go (B's arrive when it accepts). When A follows us, A's server re-follows
from B by itself (its Follow arrives like any other); nothing is done here.
"""

from __future__ import annotations

import logging
import sqlite3

from fedgroup import store
from fedgroup.actions.coalitions import follow_group, leave_group
from fedgroup.actions.context import ActionError, Context
from fedgroup.net.fetch import FetchError
from fedgroup.protocol.parse import Activity, ParseError, parse_move

log = logging.getLogger(__name__)


async def on_move(runtime: Context, activity: Activity) -> None:
    try:
        move = parse_move(activity)
    except ParseError as e:
        log.info("move ignored reason=%s actor=%s", e.reason, activity.actor)
        return
    if move.target == runtime.ids.group or move.target == move.actor:
        log.info("move ignored reason=bad-target actor=%s", move.actor)
        return
    following = await runtime.db.read(store.follows.following_of, move.actor)
    if following is None:
        log.info("move noted actor=%s target=%s (not followed by us)", move.actor, move.target)
        return
    assert runtime.actors is not None
    try:
        target = await runtime.actors.move_target(move.actor, move.target)
    except FetchError as e:
        log.info("move ignored reason=%s actor=%s target=%s", e.reason, move.actor, move.target)
        return

    def repoint(conn: sqlite3.Connection) -> None:
        store.partners.move(conn, move.actor, target.id)

    await runtime.db.write(repoint)
    try:
        await leave_group(runtime, move.actor)
    except ActionError:
        pass  # left meanwhile: following the target is still what the Move asks
    if await runtime.db.read(store.follows.following_of, target.id) is None:
        await follow_group(runtime, target)
    log.info("follow moved from=%s to=%s", move.actor, target.id)
