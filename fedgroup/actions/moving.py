"""Moving the group to a new domain, as Mastodon moves an account, in two steps.

1. On the new server (restored from a backup of the old one): `arrive` takes the new base URL; the group's
   actor, now at the new address, names the old one in `alsoKnownAs` (the consent a receiver checks).
2. On the old server: `depart` fetches the new actor from its own origin and insists that it names us in
   `alsoKnownAs`; then our actor says `movedTo`, every follower gets a `Move` (actor = object = old,
   target = new) and an `Update` of the actor, and from then on the old server redirects requests for
   anything else to the same path on the new origin (federation/moved.py).

Receivers that follow moves (Mastodon and most others) re-follow the new actor from each follower's account;
the new server already holds those followers (from the backup) and accepts again.
"""

from __future__ import annotations

import logging
import sqlite3

from fedgroup import store
from fedgroup.actions import group, outbox
from fedgroup.actions.context import ActionError, Context
from fedgroup.net.fetch import FetchError
from fedgroup.protocol import vocab
from fedgroup.rules.languages import N_, Message

log = logging.getLogger(__name__)


async def arrive(runtime: Context, old_actor: str) -> None:
    """This server's group is the one that lived at `old_actor`: name it in `alsoKnownAs`, and forget any
    `movedTo` the backup carried (the old server may have announced the move before its backup)."""

    def job(conn: sqlite3.Connection) -> None:
        store.site.set_moved(conn, also_known_as=[old_actor], moved_to=None)

    await runtime.db.write(job)


async def depart(runtime: Context, new_actor: str) -> int:
    """Announce the move to `new_actor`; returns how many inboxes get the Move."""
    ids = runtime.ids
    if new_actor == ids.group:
        raise ActionError(N_("the new actor is this group itself"), "to")
    assert runtime.actors is not None
    try:
        target = await runtime.actors.move_target(ids.group, new_actor)
    except FetchError as e:
        if e.reason == "move-not-confirmed":
            raise ActionError(
                Message(
                    N_("%(actor)s does not name %(group)s in alsoKnownAs: run `fedgroup move --to` on the new server first"),
                    actor=new_actor,
                    group=ids.group,
                ),
                "to",
            ) from e
        raise ActionError(Message(N_("cannot fetch %(actor)s: %(reason)s"), actor=new_actor, reason=e.reason), "to") from e
    now = runtime.now()
    manually = runtime.config.manually_approves_followers

    def job(conn: sqlite3.Connection) -> int:
        store.site.set_moved(conn, also_known_as=None, moved_to=target.id)
        site = store.site.load(conn)
        assert site is not None
        inboxes = store.follows.follower_inboxes(conn)
        actor = group.actor_document(ids, site, manually, store.members.count(conn))
        outbox.send(
            conn, vocab.update_actor(ids, outbox.new_activity_id(ids), actor, now), "public", inboxes, now
        )
        outbox.send(
            conn, vocab.move(ids, outbox.new_activity_id(ids), target.id, now), "public", inboxes, now
        )
        return len(inboxes)

    count = await runtime.db.write(job)
    runtime.deliveries_queued()
    log.info("group moved to=%s inboxes=%d", target.id, count)
    return count
