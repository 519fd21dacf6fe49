"""Each rule a remote poll vote must pass, seen from the database after the inbox has processed it.

A vote is checked against the campaign's row and options only (not its whole tally), so these pin down what
that check still refuses: a passed deadline, a non-follower on a followers-only campaign, an unknown label;
and how votes replace each other on single-choice polls but add up on multiple-choice ones.
"""

from __future__ import annotations

from datetime import timedelta

from fedgroup import actions, store
from fedgroup.rules.campaigns import parse_goal, parse_option
from tests.conftest import MovableClock, eventually
from tests.test_coalition import vote


async def _processed(runtime) -> None:
    async def empty():
        return await runtime.db.read(store.inbox.pending) == []

    await eventually(empty)


async def _votes(runtime, campaign_id: int) -> list[tuple[str, str]]:
    rows = await runtime.db.fetchall(
        "SELECT v.voter, o.label FROM votes v JOIN campaign_options o ON o.id = v.option_id"
        " WHERE v.campaign_id = ? ORDER BY v.voter, o.label",
        (campaign_id,),
    )
    return [(r[0], r[1]) for r in rows]


def _options():
    return [parse_option("Come=people:1"), parse_option("Bring a friend=people:2")]


async def test_single_choice_vote_replaces_and_multiple_choice_adds_up(make_server, peer):
    server = await make_server("c", handle="crossing")
    runtime = server.runtime
    bob = peer.add_actor("bob", "peer-2")
    group = server.url("/groups/crossing")
    one = await actions.create_campaign(
        runtime, "One", "b", goals=[parse_goal("people:9")], options=_options()
    )
    many = await actions.create_campaign(
        runtime, "Many", "b", goals=[parse_goal("people:9")], options=_options(), multiple_choice=True
    )
    for campaign_id in (one, many):
        question = server.url(f"/campaigns/{campaign_id}")
        for label in ("Come", "Bring a friend"):
            assert (await peer.post(bob, group + "/inbox", vote(bob, question, group, label)))[0] == 202
            await _processed(runtime)
    assert await _votes(runtime, one) == [(bob.id, "Bring a friend")]
    assert await _votes(runtime, many) == [(bob.id, "Bring a friend"), (bob.id, "Come")]
    # The same vote again (a redelivery) changes nothing.
    again = vote(bob, server.url(f"/campaigns/{one}"), group, "Bring a friend")
    assert (await peer.post(bob, group + "/inbox", again))[0] == 202
    await _processed(runtime)
    assert await _votes(runtime, one) == [(bob.id, "Bring a friend")]


async def test_followers_only_campaign_counts_followers_only(make_server, peer):
    server = await make_server("c", handle="crossing")
    runtime = server.runtime
    alice = peer.add_actor("alice", "peer-1")
    bob = peer.add_actor("bob", "peer-2")
    group = server.url("/groups/crossing")
    follow = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{alice.id}/follows/1",
              "type": "Follow", "actor": alice.id, "object": group}  # fmt: skip
    assert (await peer.post(alice, group + "/inbox", follow))[0] == 202
    await peer.wait_for(lambda r: r.json and r.json.get("type") == "Accept")
    campaign_id = await actions.create_campaign(
        runtime, "Quiet", "b", goals=[parse_goal("people:9")], options=_options(), visibility="followers"
    )
    question = server.url(f"/campaigns/{campaign_id}")
    for actor in (alice, bob):
        assert (await peer.post(actor, group + "/inbox", vote(actor, question, group, "Come")))[0] == 202
    await _processed(runtime)
    assert await _votes(runtime, campaign_id) == [(alice.id, "Come")]


async def test_votes_after_the_deadline_and_unknown_labels_are_not_counted(make_server, peer):
    clock = MovableClock()
    server = await make_server("c", handle="crossing", app_options={"clock": clock})
    runtime = server.runtime
    bob = peer.add_actor("bob", "peer-2")
    group = server.url("/groups/crossing")
    campaign_id = await actions.create_campaign(
        runtime, "Soon", "b", goals=[parse_goal("people:9")], options=_options(),
        deadline=clock() + timedelta(hours=1),
    )  # fmt: skip
    question = server.url(f"/campaigns/{campaign_id}")
    assert (await peer.post(bob, group + "/inbox", vote(bob, question, group, "Nobody")))[0] == 202
    await _processed(runtime)
    assert await _votes(runtime, campaign_id) == []
    clock.advance(timedelta(hours=2))
    assert (await peer.post(bob, group + "/inbox", vote(bob, question, group, "Come")))[0] == 202
    await _processed(runtime)
    assert await _votes(runtime, campaign_id) == []
