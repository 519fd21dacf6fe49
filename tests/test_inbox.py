"""The inbox edge: every rejection, and nothing half-stored."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from fedgroup import store
from fedgroup.federation.inbox import json_depth_exceeds
from tests.conftest import eventually, inbox_handled
from tests.peer import cavage_sign
from tests.test_federation import follow, follow_of


async def stored_activities(runtime) -> int:
    return int(await runtime.db.scalar("SELECT COUNT(*) FROM inbox_activities"))


async def raw_post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session:
        async with session.post(url, data=body, headers=headers) as response:
            return response.status, await response.text()


@pytest.fixture
async def setup(make_server, peer):
    server = await make_server()
    alice = peer.add_actor("alice", "peer-1")
    bob = peer.add_actor("bob", "peer-2")
    return server, peer, alice, bob


async def test_rejections_each_get_their_status_and_store_nothing(setup):
    server, peer, alice, bob = setup
    inbox = server.url("/groups/water/inbox")
    good = follow_of(alice, server.url("/groups/water"))
    body = json.dumps(good).encode()

    cases = []
    # unsigned
    cases.append(
        ("unsigned", await raw_post(inbox, body, {"Content-Type": "application/activity+json"}), 401)
    )
    # not JSON, signed
    cases.append(("not-json", await peer.post(alice, inbox, b"{not json"), 400))
    # JSON but not an object / no actor
    no_actor = dict(good)
    del no_actor["actor"]
    cases.append(("no-actor", await peer.post(alice, inbox, no_actor), 400))
    cases.append(("array", await peer.post(alice, inbox, b"[1, 2]"), 400))
    # digest does not match the body
    headers = cavage_sign("POST", inbox, body, alice.key_id, alice.private_pem)
    cases.append(("digest", await raw_post(inbox, body.replace(b"Follow", b"Folloq"), headers), 401))
    # signature made with another key than the keyId's
    headers = cavage_sign("POST", inbox, body, alice.key_id, bob.private_pem)
    cases.append(("wrong-key", await raw_post(inbox, body, headers), 401))
    # a Date 13 hours old
    old = datetime.now(UTC) - timedelta(hours=13)
    cases.append(("stale-date", await peer.post(alice, inbox, good, now=old), 401))
    # a POST whose signature does not cover the digest
    headers_no_digest = ("(request-target)", "host", "date")
    cases.append(("no-digest", await peer.post(alice, inbox, good, headers_to_sign=headers_no_digest), 401))
    # signed by bob, claiming to be alice
    cases.append(("signer-not-actor", await peer.post(bob, inbox, good), 403))
    # ids on another host than the actor
    spoof = dict(good, id="https://elsewhere.example/follows/1")
    cases.append(("foreign-id", await peer.post(alice, inbox, spoof), 400))
    # a nesting bomb
    bomb: dict = {"a": 1}
    for _ in range(200):
        bomb = {"a": bomb}
    cases.append(("too-deep", await peer.post(alice, inbox, dict(good, bomb=bomb)), 400))
    # more than a megabyte
    cases.append(("too-large", await peer.post(alice, inbox, dict(good, junk="x" * (1024 * 1024 + 10))), 413))
    # keyId on a server that does not answer
    headers = cavage_sign("POST", inbox, body, "http://127.0.0.1:9/users/x#main-key", alice.private_pem)
    cases.append(("key-unreachable", await raw_post(inbox, body, headers), 401))

    for name, (status, text), expected in cases:
        assert status == expected, f"{name}: got {status} {text!r}"
    assert await stored_activities(server.runtime) == 0
    assert await server.runtime.db.read(store.follows.count_followers) == 0


async def test_unknown_types_are_accepted_and_ignored(setup):
    server, peer, alice, _ = setup
    activity = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{alice.id}#custom/{uuid.uuid4()}",
        "type": "Frobnicate",
        "actor": alice.id,
        "object": server.url("/groups/water"),
    }
    status, _ = await peer.post(alice, server.url("/inbox"), activity)
    assert status == 202
    assert await eventually(lambda: inbox_handled(server.runtime, activity["id"])) == "done"
    assert await server.runtime.db.read(store.follows.count_followers) == 0


async def test_the_same_activity_id_is_processed_once(setup):
    server, peer, alice, _ = setup
    activity = follow_of(alice, server.url("/groups/water"))
    for _ in range(3):
        status, _ = await peer.post(alice, server.url("/groups/water/inbox"), activity)
        assert status == 202
    await peer.wait_for(lambda r: r.json and r.json.get("type") == "Accept")
    assert await eventually(lambda: inbox_handled(server.runtime, activity["id"])) == "done"
    await eventually(lambda: _queue_empty(server.runtime))
    assert len([r for r in peer.received if r.json.get("type") == "Accept"]) == 1
    assert await stored_activities(server.runtime) == 1


async def _queue_empty(runtime) -> bool:
    return await runtime.db.read(store.outbox.pending_count) == 0


async def test_delete_of_an_actor_removes_its_follow(setup):
    server, peer, alice, _ = setup
    await follow(peer, alice, server)
    delete = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": alice.id + "#delete",
        "type": "Delete",
        "actor": alice.id,
        "object": alice.id,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
    }
    del peer.actors["alice"]  # the account is gone: its actor document now answers 404
    status, _ = await peer.post(alice, server.url("/inbox"), delete)
    assert status == 202
    await eventually(lambda: _no_followers(server.runtime))


async def test_delete_of_an_unknown_actor_is_dropped_without_fetching(setup):
    server, peer, alice, _ = setup
    delete = {
        "id": alice.id + "#delete",
        "type": "Delete",
        "actor": alice.id,
        "object": alice.id,
    }
    status, _ = await peer.post(alice, server.url("/inbox"), delete)
    assert status == 202
    assert await stored_activities(server.runtime) == 0
    assert await server.runtime.db.read(store.actors.by_id, alice.id) is None, (
        "no fetch for a deleted account"
    )


async def _no_followers(runtime) -> bool:
    return await runtime.db.read(store.follows.count_followers) == 0


async def test_a_rotated_key_is_fetched_again(setup, test_keys):
    server, peer, alice, _ = setup
    await follow(peer, alice, server)  # the server has cached alice's first key
    rotated = peer.add_actor("alice", "peer-4")  # same id, new key
    activity = follow_of(rotated, server.url("/groups/water"))
    status, text = await peer.post(rotated, server.url("/groups/water/inbox"), activity)
    assert status == 202, text
    cached = await server.runtime.db.read(store.actors.by_id, alice.id)
    assert cached.public_key_pem == test_keys["peer-4"]["public_key_pem"]


def test_json_depth_limit():
    nested: list = []
    for _ in range(40):
        nested = [nested]
    assert json_depth_exceeds(nested, 32)
    assert not json_depth_exceeds({"a": [{"b": 1}]}, 32)
