"""Activity ids that real servers reuse, and activities with no id, at the inbox of a live server.

Takahē sends the same Follow id (and the same Undo id) each time someone follows and unfollows again;
Misskey gives every unfollow of the same account the same Undo id, and sends its Delete without an id. Each
is a new event and must be processed; a repeat of a delivery (a retry, a replayed request) must still count
exactly once. Everything is posted signed by the Mastodon-shaped peer, and each test checks the effect.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import aiohttp

from fedgroup import actions, store
from fedgroup.rules.campaigns import parse_goal, parse_option
from tests.conftest import MovableClock, eventually, inbox_handled
from tests.peer import FakeMastodon, cavage_sign
from tests.test_coalition import vote
from tests.test_federation import PUBLIC

AS = "https://www.w3.org/ns/activitystreams"


class Dates:
    """Dates for successive requests a second apart, as a person's clicks are: the same body signed in the
    same second is the same request (a replay), whatever comes between."""

    def __init__(self) -> None:
        self.sent = 0

    def next(self) -> datetime:
        self.sent += 1
        return datetime.now(UTC) + timedelta(seconds=self.sent)


def takahe_follow(actor, group: str) -> dict:
    """Takahē's Follow: its id names the follow relation, and is sent again on every re-follow."""
    return {
        "@context": AS,
        "id": f"{actor.id}/follow/7/",
        "type": "Follow",
        "actor": actor.id,
        "object": group,
    }


def takahe_undo(actor, follow: dict) -> dict:
    inner = {k: v for k, v in follow.items() if k != "@context"}
    return {"@context": AS, "id": follow["id"] + "#undo", "type": "Undo", "actor": actor.id, "object": inner}


def misskey_follow(actor, group: str) -> dict:
    """Misskey's Follow request: a fresh id each time."""
    return {"@context": AS, "id": f"{actor.id}/follows/{uuid.uuid4()}", "type": "Follow", "actor": actor.id,
            "object": group}  # fmt: skip


def misskey_undo_follow(actor, group: str) -> dict:
    """Misskey's unfollow: the same id every time (`/follows/<follower>/<followee>/undo`), embedding a Follow
    id of its own making, with a `published` of the moment."""
    relation = f"{actor.id.rsplit('/users/', 1)[0]}/follows/alice/water"
    return {
        "@context": AS,
        "id": relation + "/undo",
        "type": "Undo",
        "actor": actor.id,
        "object": {"id": relation, "type": "Follow", "actor": actor.id, "object": group},
        "published": datetime.now(UTC).isoformat(),
    }


def accepts_of(peer: FakeMastodon, follow_id: str) -> list:
    return [
        r
        for r in peer.received
        if r.json and r.json.get("type") == "Accept" and r.json["object"]["id"] == follow_id
    ]


async def is_follower(runtime, actor_id: str) -> bool:
    return await runtime.db.read(store.follows.is_accepted_follower, actor_id)


async def is_not_follower(runtime, actor_id: str) -> bool:
    return await runtime.db.read(store.follows.follower, actor_id) is None


async def raw_post(url: str, body: bytes, headers: dict[str, str]) -> int:
    async with aiohttp.ClientSession() as session:
        async with session.post(url, data=body, headers=headers) as response:
            return response.status


async def test_a_re_follow_with_the_same_follow_id_follows_again_and_is_accepted(make_server, peer):
    server = await make_server()
    runtime = server.runtime
    dates = Dates()
    alice = peer.add_actor("alice", "peer-1")
    group, inbox = server.url("/groups/water"), server.url("/groups/water/inbox")
    follow = takahe_follow(alice, group)
    undo = takahe_undo(alice, follow)

    for round_ in (1, 2):
        assert (await peer.post(alice, inbox, follow, now=dates.next()))[0] == 202
        await peer.wait_for(lambda r, n=round_: len(accepts_of(peer, follow["id"])) >= n or None)
        await eventually(lambda: is_follower(runtime, alice.id))
        assert len(accepts_of(peer, follow["id"])) == round_, f"one Accept per follow (round {round_})"
        assert (await peer.post(alice, inbox, undo, now=dates.next()))[
            0
        ] == 202  # Takahē's Undo id is reused as well
        await eventually(lambda: is_not_follower(runtime, alice.id))
    assert all(r.verified for r in accepts_of(peer, follow["id"]))


async def test_a_second_unfollow_with_the_same_undo_id_ends_the_follow_again(make_server, peer):
    server = await make_server()
    runtime = server.runtime
    alice = peer.add_actor("alice", "peer-1")
    group, inbox = server.url("/groups/water"), server.url("/groups/water/inbox")
    # Bob, on another server, keeps following: followers-only campaigns do go out, just not to alice's.
    elsewhere = await FakeMastodon(keys=peer.keys).start()
    try:
        bob = elsewhere.add_actor("bob", "peer-2")
        bob_follow = misskey_follow(bob, group)
        assert (await elsewhere.post(bob, inbox, bob_follow))[0] == 202
        await elsewhere.wait_for(lambda r: r.json and r.json.get("type") == "Accept")

        for _ in range(2):
            follow = misskey_follow(alice, group)
            assert (await peer.post(alice, inbox, follow))[0] == 202
            await peer.wait_for(lambda r, f=follow: r.json and r.json.get("type") == "Accept"
                                and r.json["object"]["id"] == f["id"])  # fmt: skip
            assert (await peer.post(alice, inbox, misskey_undo_follow(alice, group)))[0] == 202
            await eventually(lambda: is_not_follower(runtime, alice.id))

        before = len(peer.received)
        await actions.create_campaign(runtime, "Friends only", "for followers", visibility="followers")
        await elsewhere.wait_for(lambda r: r.json and r.json.get("type") == "Create")
        await eventually(lambda: _queue_empty(runtime))
        assert peer.received[before:] == [], "alice unfollowed: no followers-only campaign reaches her server"
    finally:
        await elsewhere.stop()


async def test_a_vote_undone_and_cast_again_with_the_same_ids_counts_each_time(make_server, peer):
    server = await make_server()
    runtime = server.runtime
    dates = Dates()
    alice = peer.add_actor("alice", "peer-1")
    campaign_id = await actions.create_campaign(
        runtime, "Coats", "For the shelter", goals=[parse_goal("items:40:coats")],
        options=[parse_option("One coat=items:1"), parse_option("Two coats=items:2")],
    )  # fmt: skip
    inbox = server.url("/groups/water/inbox")
    cast = vote(alice, runtime.ids.campaign(campaign_id), server.url("/groups/water"), "Two coats")
    undo = {"@context": AS, "id": cast["id"] + "#undo", "type": "Undo", "actor": alice.id,
            "object": {k: v for k, v in cast.items() if k != "@context"}}  # fmt: skip

    async def pledged() -> tuple[int, dict]:
        state = await runtime.db.read(actions.load_campaign, campaign_id)
        return state.tally.pledgers, dict(state.tally.option_counts)

    for _ in range(2):
        assert (await peer.post(alice, inbox, cast, now=dates.next()))[0] == 202
        await eventually(lambda: _is(pledged, (1, {"One coat": 0, "Two coats": 1})))
        assert (await peer.post(alice, inbox, undo, now=dates.next()))[0] == 202
        await eventually(lambda: _is(pledged, (0, {"One coat": 0, "Two coats": 0})))
    # A retry of the last Undo changes nothing and is not stored twice.
    assert (await peer.post(alice, inbox, undo, now=dates.next()))[0] == 202
    assert await runtime.db.scalar("SELECT COUNT(*) FROM inbox_activities WHERE id = ?", (undo["id"],)) == 1


async def test_an_activity_without_an_id_is_processed_and_a_retry_of_it_only_once(make_server, peer):
    server = await make_server()
    runtime = server.runtime
    dates = Dates()
    alice = peer.add_actor("alice", "peer-1")
    campaign_id = await actions.create_campaign(runtime, "Crossing", "Paint it")
    inbox = server.url("/groups/water/inbox")
    note_id = f"{alice.id}/notes/{uuid.uuid4()}"
    reply = {"@context": AS, "id": note_id + "/activity", "type": "Create", "actor": alice.id, "to": [PUBLIC],
             "object": {"id": note_id, "type": "Note", "attributedTo": alice.id, "content": "<p>count me in</p>",
                        "inReplyTo": runtime.ids.campaign(campaign_id), "to": [PUBLIC]}}  # fmt: skip
    assert (await peer.post(alice, inbox, reply, now=dates.next()))[0] == 202
    await eventually(lambda: runtime.db.read(store.campaigns.comments, campaign_id))

    # Misskey's Delete has no id.
    delete = {"@context": AS, "type": "Delete", "actor": alice.id, "object": note_id, "to": [PUBLIC],
              "published": "2026-01-05T10:00:00.000Z"}  # fmt: skip
    assert (await peer.post(alice, inbox, delete, now=dates.next()))[0] == 202
    await eventually(lambda: _none(lambda: runtime.db.read(store.campaigns.comments, campaign_id)))

    # The same body again (a retry, freshly signed) is the same delivery: stored and processed once.
    assert (await peer.post(alice, inbox, delete, now=dates.next()))[0] == 202
    transient = "SELECT id, state FROM inbox_activities WHERE id LIKE 'transient:%'"
    [(key, state)] = await runtime.db.fetchall(transient)
    assert state == "done" and key.startswith("transient:sha256:")

    # A Follow must have an id (the Accept names it): one without is refused, with its reason.
    no_id = {"@context": AS, "type": "Follow", "actor": alice.id, "object": server.url("/groups/water")}
    assert await peer.post(alice, inbox, no_id, now=dates.next()) == (400, "missing-id\n")


async def test_a_replayed_undo_is_not_a_new_event_even_after_a_re_follow(make_server, peer):
    """The same signed request sent again is a replay: it must not end a follow made since."""
    server = await make_server()
    runtime = server.runtime
    dates = Dates()
    alice = peer.add_actor("alice", "peer-1")
    group, inbox = server.url("/groups/water"), server.url("/groups/water/inbox")
    follow = takahe_follow(alice, group)
    undo = takahe_undo(alice, follow)
    undo_body = json.dumps(undo).encode()
    captured = cavage_sign("POST", inbox, undo_body, alice.key_id, alice.private_pem)

    assert (await peer.post(alice, inbox, follow, now=dates.next()))[0] == 202
    await eventually(lambda: is_follower(runtime, alice.id))
    assert await raw_post(inbox, undo_body, captured) == 202
    await eventually(lambda: is_not_follower(runtime, alice.id))
    assert (await peer.post(alice, inbox, follow, now=dates.next()))[0] == 202
    await eventually(lambda: is_follower(runtime, alice.id))

    assert await raw_post(inbox, undo_body, captured) == 202  # replayed byte for byte, signature and all
    await _marker_processed(peer, alice, runtime)  # processed in arrival order: after the replay
    assert await is_follower(runtime, alice.id), "a replay is not an unfollow"

    assert (await peer.post(alice, inbox, undo, now=dates.next()))[
        0
    ] == 202  # the same Undo, signed anew: alice unfollows
    await eventually(lambda: is_not_follower(runtime, alice.id))


async def test_ids_are_forgotten_once_a_request_of_their_age_would_be_refused(make_server, peer):
    clock = MovableClock()
    server = await make_server(app_options={"clock": clock})
    runtime = server.runtime
    alice = peer.add_actor("alice", "peer-1")
    inbox = server.url("/groups/water/inbox")
    follow = takahe_follow(alice, server.url("/groups/water"))
    assert (await peer.post(alice, inbox, follow))[0] == 202
    await peer.wait_for(lambda r: r.json and r.json.get("type") == "Accept")
    await eventually(lambda: inbox_handled(runtime, follow["id"]))

    # Within the window the same id is a repeat: no second Accept.
    clock.advance(timedelta(hours=12, minutes=59))
    assert (await peer.post(alice, inbox, follow, now=clock()))[0] == 202
    await _marker_processed(peer, alice, runtime, clock())
    await eventually(lambda: _queue_empty(runtime))
    assert (
        await runtime.db.scalar("SELECT state FROM inbox_activities WHERE id = ?", (follow["id"],)) == "done"
    )
    assert len(accepts_of(peer, follow["id"])) == 1

    # Past it (a Date 12 hours old, at most 1 hour ahead when it came): the row goes, and the id is new.
    clock.advance(timedelta(minutes=31))
    await eventually(lambda: _none(lambda: runtime.db.read(store.inbox.state_of, follow["id"])))
    assert (await peer.post(alice, inbox, follow, now=clock()))[0] == 202
    await peer.wait_for(lambda r: len(accepts_of(peer, follow["id"])) == 2 or None)


async def _marker_processed(peer, actor, runtime, now: datetime | None = None) -> None:
    """Send an activity that changes nothing and wait until it is processed: whatever arrived before it has
    been processed too (activities are processed in arrival order)."""
    marker = {"@context": AS, "id": f"{actor.id}#likes/{uuid.uuid4()}", "type": "Like", "actor": actor.id,
              "object": f"{actor.id}/statuses/1"}  # fmt: skip
    assert (await peer.post(actor, marker_inbox(runtime), marker, now=now))[0] == 202
    await eventually(lambda: inbox_handled(runtime, marker["id"]))


def marker_inbox(runtime) -> str:
    return runtime.ids.inbox


async def _is(check, expected) -> bool:
    return await check() == expected


async def _none(check) -> bool:
    return not await check()


async def _queue_empty(runtime) -> bool:
    return await runtime.db.read(store.outbox.pending_count) == 0
