"""Manual follower approval (`manually_approves_followers`): a follow waits for an organizer, who approves it
(the follower gets Accept and then our campaigns) or rejects it (Reject, and the request is forgotten) — from
the web UI and from the command line."""

from __future__ import annotations

import pytest

from fedgroup import actions, store
from fedgroup.rules import passwords
from tests.conftest import eventually, run_cli
from tests.peer import FakeMastodon
from tests.test_federation import follow_of
from tests.web_client import WebClient

PASSWORD = "correct horse battery"


@pytest.fixture
async def other_peer(test_keys):
    """A second Mastodon-shaped server, so that what reaches one follower's server is told apart."""
    fake = await FakeMastodon(keys=test_keys).start()
    yield fake
    await fake.stop()


async def request_follow(peer, actor, server) -> dict:
    activity = follow_of(actor, server.url("/groups/water"))
    status, _ = await peer.post(actor, server.url("/groups/water/inbox"), activity)
    assert status == 202
    return activity


async def pending_ids(server) -> list[str]:
    return [f.actor_id for f in await server.runtime.db.read(store.follows.pending_followers)]


def answer_to(kind: str, follow: dict):
    return lambda r: r.json and r.json.get("type") == kind and r.json["object"]["id"] == follow["id"]


async def campaign_reaches_only(server, reached, not_reached) -> None:
    """A public campaign goes to the accepted follower's server and not to the rejected one's."""
    await actions.create_campaign(server.runtime, "Seen by followers", "b", visibility="public")
    await reached.wait_for(lambda r: r.json and r.json.get("type") == "Create")
    await eventually(lambda: _queue_empty(server))
    assert not [r for r in not_reached.received if r.json and r.json.get("type") == "Create"]


async def _queue_empty(server) -> bool:
    return await server.runtime.db.read(store.outbox.pending_count) == 0


async def test_an_organizer_approves_and_rejects_follow_requests_on_the_web(make_server, peer, other_peer):
    server = await make_server(manually_approves_followers=True)
    alice, bob = peer.add_actor("alice", "peer-1"), other_peer.add_actor("bob", "peer-2")
    alice_follow = await request_follow(peer, alice, server)
    bob_follow = await request_follow(other_peer, bob, server)
    await eventually(lambda: _equals(pending_ids(server), [alice.id, bob.id]))
    await actions.add_member(server.runtime, "Olu", "organizer", None, passwords.hash_password(PASSWORD))
    browser = WebClient(server.base_url)
    try:
        await browser.sign_in("Olu", PASSWORD)
        index = await browser.get("/organize")
        assert alice.id in index.text and bob.id in index.text, "the requests wait on the organizer's page"

        approved = await browser.post("/organize/followers", {"actor": alice.id, "answer": "approve"},
                                      csrf_from="/organize")  # fmt: skip
        assert approved.status == 200
        (accept,) = await peer.wait_for(answer_to("Accept", alice_follow))
        assert accept.verified and accept.json["object"]["actor"] == alice.id

        rejected = await browser.post("/organize/followers", {"actor": bob.id, "answer": "reject"},
                                      csrf_from="/organize")  # fmt: skip
        assert rejected.status == 200
        (reject,) = await other_peer.wait_for(answer_to("Reject", bob_follow))
        assert reject.verified and reject.json["object"]["actor"] == bob.id

        assert await pending_ids(server) == []
        index = await browser.get("/organize")
        assert alice.id not in index.text and bob.id not in index.text, "no request left, no follower listed"
        assert await server.runtime.db.read(store.follows.count_followers) == 1
        assert await server.runtime.db.read(store.follows.follower, bob.id) is None, (
            "the rejected is forgotten"
        )
        # Answered already: a second answer is a clear error on the page, and sends nothing.
        again = await browser.post("/organize/followers", {"actor": bob.id, "answer": "approve"},
                                   csrf_from="/organize")  # fmt: skip
        assert again.status == 422 and "No follow request from" in again.text
    finally:
        await browser.close()
    await campaign_reaches_only(server, peer, other_peer)
    assert not [r for r in other_peer.received if r.json and r.json.get("type") == "Accept"]


async def test_a_member_cannot_answer_follow_requests(make_server, peer):
    server = await make_server(manually_approves_followers=True)
    alice = peer.add_actor("alice", "peer-1")
    await request_follow(peer, alice, server)
    await eventually(lambda: _equals(pending_ids(server), [alice.id]))
    await actions.add_member(server.runtime, "Mo", "member", None, passwords.hash_password(PASSWORD))
    browser = WebClient(server.base_url)
    try:
        await browser.sign_in("Mo", PASSWORD)
        token = (await browser.get("/home")).csrf
        page = await browser.post_raw(
            "/organize/followers", [("actor", alice.id), ("answer", "approve"), ("csrf", token)]
        )
        assert page.status == 403
    finally:
        await browser.close()
    assert await pending_ids(server) == [alice.id]


async def test_follow_requests_are_answered_from_the_command_line(make_server, peer, other_peer):
    server = await make_server(manually_approves_followers=True)
    data_dir = str(server.config.data_dir)
    alice, bob = peer.add_actor("alice", "peer-1"), other_peer.add_actor("bob", "peer-2")
    alice_follow = await request_follow(peer, alice, server)
    bob_follow = await request_follow(other_peer, bob, server)
    await eventually(lambda: _equals(pending_ids(server), [alice.id, bob.id]))

    listed = await run_cli("followers", "requests", "--data-dir", data_dir)
    assert listed.returncode == 0 and listed.stdout.split() == [alice.id, bob.id]
    approved = await run_cli("followers", "approve", alice.id, "--data-dir", data_dir)
    assert (approved.returncode, approved.stdout.strip()) == (0, f"approved {alice.id}")
    rejected = await run_cli("followers", "reject", bob.id, "--data-dir", data_dir)
    assert (rejected.returncode, rejected.stdout.strip()) == (0, f"rejected {bob.id}")

    # The running server delivers what the CLI queued.
    await peer.wait_for(answer_to("Accept", alice_follow))
    await other_peer.wait_for(answer_to("Reject", bob_follow))
    counted = await run_cli("followers", "count", "--data-dir", data_dir)
    assert counted.stdout.strip() == "1"
    nothing = await run_cli("followers", "requests", "--data-dir", data_dir)
    assert nothing.stdout.strip() == "no follow requests waiting"
    unknown = await run_cli("followers", "approve", bob.id, "--data-dir", data_dir)
    assert (
        unknown.returncode != 0
        and unknown.stderr.strip() == f"fedgroup: error: no follow request from {bob.id} is waiting"
    )
    await campaign_reaches_only(server, peer, other_peer)


async def _equals(probe, expected) -> bool:
    return await probe == expected
