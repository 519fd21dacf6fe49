"""Following the group, hearing from it, and fetching from it — across real loopback servers."""

from __future__ import annotations

import uuid

from fedgroup import actions, store
from tests.conftest import eventually
from tests.peer import FakeMastodon

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


def follow_of(actor, group_id: str) -> dict:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{actor.id.rsplit('/users/', 1)[0]}/{uuid.uuid4()}",
        "type": "Follow",
        "actor": actor.id,
        "object": group_id,
    }


async def follow(peer: FakeMastodon, actor, server) -> dict:
    activity = follow_of(actor, server.url("/groups/water"))
    status, _ = await peer.post(actor, server.url("/groups/water/inbox"), activity)
    assert status == 202
    accepts = await peer.wait_for(
        lambda r: r.json and r.json.get("type") == "Accept" and r.json["object"]["id"] == activity["id"]
    )
    assert len(accepts) == 1
    return activity


async def test_mastodon_user_follows_gets_accept_hears_campaigns_and_unfollows(make_server, peer):
    server = await make_server()
    alice = peer.add_actor("alice", "peer-1")
    group_id = server.url("/groups/water")

    activity = await follow(peer, alice, server)
    accept = [r for r in peer.received if r.json.get("type") == "Accept"][0]
    assert accept.verified is True, "the Accept must verify with the group's published key"
    assert accept.path == "/users/alice/inbox"
    assert accept.key_id == group_id + "#main-key"
    assert accept.json["actor"] == group_id
    assert accept.json["object"] == {
        "id": activity["id"],
        "type": "Follow",
        "actor": alice.id,
        "object": group_id,
    }
    assert accept.headers["Content-Type"] == "application/activity+json"
    assert "digest" in accept.headers["Signature"] and "content-type" in accept.headers["Signature"]

    status, collection = await peer.get(alice, server.url("/groups/water/followers"))
    assert status == 200 and collection["totalItems"] == 1
    assert "orderedItems" not in collection and "first" not in collection, "the followers list is never shown"

    runtime = server.runtime
    await actions.create_campaign(runtime, "Members only", "secret plans", visibility="members")
    await actions.create_campaign(runtime, "Followers only", "for friends", visibility="followers")
    public_id = await actions.create_campaign(
        runtime, "Safe crossing", "We need a crossing.\n\nCome!", visibility="public"
    )

    creates = await peer.wait_for(
        lambda r: r.json and r.json.get("type") == "Create" and "Safe" in str(r.json)
    )
    create = creates[0]
    assert create.verified is True and create.path == "/inbox", "delivered once to the shared inbox"
    note = create.json["object"]
    assert create.json["actor"] == group_id and note["attributedTo"] == group_id
    assert note["type"] == "Note" and note["id"] == runtime.ids.campaign(public_id)
    assert note["to"] == [PUBLIC] and note["cc"] == [server.url("/groups/water/followers")]
    assert create.json["to"] == note["to"] and create.json["cc"] == note["cc"]
    assert note["content"].startswith("<p><strong>Safe crossing</strong></p><p>We need a crossing.</p>")
    await peer.wait_for(lambda r: r.json and "Followers only" in str(r.json))
    followers_only = [r.json for r in peer.received if "Followers only" in str(r.json)][0]
    assert followers_only["object"]["to"] == [server.url("/groups/water/followers")]
    assert PUBLIC not in str(followers_only)
    assert not any("secret plans" in r.body.decode() for r in peer.received), (
        "members campaigns never federate"
    )

    undo = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": activity["id"] + "/undo",
        "type": "Undo",
        "actor": alice.id,
        "object": activity,
    }
    status, _ = await peer.post(alice, server.url("/groups/water/inbox"), undo)
    assert status == 202
    await eventually(lambda: _no_followers(runtime))
    before = len(peer.received)
    await actions.create_campaign(runtime, "After unfollow", "nobody hears this", visibility="public")
    await eventually(lambda: _queue_empty(runtime))
    assert len(peer.received) == before


async def _no_followers(runtime) -> bool:
    return await runtime.db.read(store.follows.count_followers) == 0


async def _queue_empty(runtime) -> bool:
    return await runtime.db.read(store.outbox.pending_count) == 0


async def test_two_servers_fetch_each_others_actors_with_signed_gets(make_server):
    a = await make_server("a")
    b = await make_server("b", handle="tenants")
    # A fetches B's group; B answers the full actor only after verifying A's instance-actor signature,
    # which makes B fetch A's instance actor in turn.
    actor_b = await a.runtime.actors.refresh(b.url("/groups/tenants"))
    assert actor_b.type == "Group" and actor_b.name == "Group B"
    assert actor_b.shared_inbox == b.url("/inbox")
    cached_on_b = await b.runtime.db.read(store.actors.by_id, a.url("/actor"))
    assert cached_on_b is not None and cached_on_b.type == "Application"
    actor_a = await b.runtime.actors.refresh(a.url("/groups/water"))
    assert actor_a.name == "Group A"


async def test_objects_answer_signed_gets_only_and_followers_only_to_followers(make_server, peer):
    server = await make_server()
    alice = peer.add_actor("alice", "peer-1")
    bob = peer.add_actor("bob", "peer-2")
    runtime = server.runtime
    public_id = await actions.create_campaign(runtime, "Open", "for all", visibility="public")
    private_id = await actions.create_campaign(runtime, "Close", "for followers", visibility="followers")
    members_id = await actions.create_campaign(runtime, "Inner", "for members", visibility="members")

    status, _ = await peer.get(None, runtime.ids.campaign(public_id))
    assert status == 401, "authorized fetch: unsigned object requests are refused"
    status, note = await peer.get(alice, runtime.ids.campaign(public_id))
    assert status == 200 and note["campaignTitle"] == "Open" and "name" not in note

    other = FakeMastodon(keys=peer.keys)  # bob on another server: not a follower, no follower on his host
    await other.start()
    try:
        carol = other.add_actor("carol", "peer-3")
        status, _ = await other.get(carol, runtime.ids.campaign(private_id))
        assert status == 403
    finally:
        await other.stop()
    await follow(peer, bob, server)
    status, note = await peer.get(bob, runtime.ids.campaign(private_id))
    assert status == 200 and note["campaignTitle"] == "Close" and "name" not in note
    status, _ = await peer.get(bob, runtime.ids.campaign(members_id))
    assert status == 404

    status, outbox = await peer.get(alice, server.url("/groups/water/outbox"))
    assert status == 200 and outbox["totalItems"] == 1
    status, page = await peer.get(alice, outbox["first"])
    assert [item["object"]["campaignTitle"] for item in page["orderedItems"]] == ["Open"]
    status, _ = await peer.get(None, server.url("/groups/water/outbox"))
    assert status == 401


async def test_repeated_follow_is_accepted_again_and_counted_once(make_server, peer):
    server = await make_server()
    alice = peer.add_actor("alice", "peer-1")
    await follow(peer, alice, server)
    await follow(peer, alice, server)
    assert await server.runtime.db.read(store.follows.count_followers) == 1


async def test_manual_approval_keeps_follows_pending(make_server, peer):
    server = await make_server(manually_approves_followers=True)
    alice = peer.add_actor("alice", "peer-1")
    status, _ = await peer.post(
        alice, server.url("/groups/water/inbox"), follow_of(alice, server.url("/groups/water"))
    )
    assert status == 202
    pending = await eventually(lambda: server.runtime.db.read(store.follows.pending_followers))
    assert [f.actor_id for f in pending] == [alice.id]
    assert await server.runtime.db.read(store.follows.count_followers) == 0
    _, actor = await peer.get(None, server.url("/groups/water"))
    assert actor["manuallyApprovesFollowers"] is True
    assert not any(r.json and r.json.get("type") == "Accept" for r in peer.received)
