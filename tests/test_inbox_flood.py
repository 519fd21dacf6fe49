"""The inbox under a flood: the same delivery many times at once counts once, a burst from a host we have
never seen fetches each key once, and when the inbox is over its limits it answers 503 with Retry-After
before anything piles up (federation/inbox.py `overloaded`, actions/inbox.py InboxProcessor)."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections import Counter

import aiohttp

from fedgroup import actions, store
from fedgroup.actions.inbox import InboxProcessor
from fedgroup.rules.campaigns import parse_goal, parse_option
from fedgroup.runtime import SCHEDULER_WAKE_DELAY
from tests.conftest import eventually
from tests.peer import cavage_sign
from tests.test_coalition import vote
from tests.test_federation import follow_of


async def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str]]:
    async with aiohttp.ClientSession() as session:
        async with session.post(url, data=body, headers=headers) as response:
            await response.read()
            return response.status, dict(response.headers)


async def _processed(runtime) -> bool:
    return await runtime.db.read(store.inbox.pending) == []


async def _campaign(runtime) -> int:
    return await actions.create_campaign(
        runtime, "Crossing", "b", goals=[parse_goal("people:9")],
        options=[parse_option("Come=people:1"), parse_option("Bring a friend=people:2")],
    )  # fmt: skip


async def test_the_same_delivery_many_times_at_once_counts_once(make_server, peer):
    server = await make_server()
    runtime = server.runtime
    alice = peer.add_actor("alice", "peer-1")
    inbox, group = server.url("/groups/water/inbox"), server.url("/groups/water")
    campaign = await _campaign(runtime)
    ballot = json.dumps(vote(alice, server.url(f"/campaigns/{campaign}"), group, "Come")).encode()
    following = json.dumps(follow_of(alice, group)).encode()
    # Each twice with the very same signature (a replay) and ten times signed afresh (a sender's retries).
    same_vote = cavage_sign("POST", inbox, ballot, alice.key_id, alice.private_pem)
    same_follow = cavage_sign("POST", inbox, following, alice.key_id, alice.private_pem)
    requests = [(ballot, same_vote)] * 2 + [(following, same_follow)] * 2
    requests += [
        (ballot, cavage_sign("POST", inbox, ballot, alice.key_id, alice.private_pem)) for _ in range(10)
    ]
    requests += [
        (following, cavage_sign("POST", inbox, following, alice.key_id, alice.private_pem)) for _ in range(10)
    ]
    answers = await asyncio.gather(*(_post(inbox, body, headers) for body, headers in requests))
    assert {status for status, _ in answers} == {202}

    await eventually(lambda: _processed(runtime))
    await peer.wait_for(lambda r: r.json and r.json.get("type") == "Accept")
    votes = await runtime.db.fetchall("SELECT voter FROM votes WHERE campaign_id = ?", (campaign,))
    assert [v[0] for v in votes] == [alice.id]
    assert int(await runtime.db.scalar("SELECT COUNT(*) FROM inbox_activities")) == 2
    assert await runtime.db.read(store.follows.count_followers) == 1
    await eventually(lambda: _queue_empty(runtime))
    assert len([r for r in peer.received if r.json and r.json.get("type") == "Accept"]) == 1


async def _queue_empty(runtime) -> bool:
    return await runtime.db.read(store.outbox.pending_count) == 0


async def test_a_burst_from_a_new_host_fetches_each_key_once(make_server, peer):
    server = await make_server(inbox_requests_per_minute_per_host=0)
    runtime = server.runtime
    voters = [
        peer.add_actor(name, key) for name, key in (("ann", "peer-1"), ("ben", "peer-2"), ("cat", "peer-3"))
    ]
    inbox, group = server.url("/groups/water/inbox"), server.url("/groups/water")
    campaign = await _campaign(runtime)
    question = server.url(f"/campaigns/{campaign}")
    requests = []
    for i in range(60):
        voter = voters[i % len(voters)]
        body = json.dumps(vote(voter, question, group, "Come")).encode()
        requests.append((body, cavage_sign("POST", inbox, body, voter.key_id, voter.private_pem)))
    answers = await asyncio.gather(*(_post(inbox, body, headers) for body, headers in requests))
    assert Counter(status for status, _ in answers) == {202: 60}
    await eventually(lambda: _processed(runtime))
    assert Counter(peer.actor_fetches) == {f"/users/{name}": 1 for name in ("ann", "ben", "cat")}
    votes = await runtime.db.fetchall("SELECT DISTINCT voter FROM votes WHERE campaign_id = ?", (campaign,))
    assert sorted(v[0] for v in votes) == sorted(v.id for v in voters)


async def test_a_backlog_past_the_limit_is_answered_503_with_retry_after_until_it_is_processed(
    make_server, peer
):
    server = await make_server(inbox_max_backlog=3)
    runtime = server.runtime
    alice = peer.add_actor("alice", "peer-1")
    inbox, group = server.url("/groups/water/inbox"), server.url("/groups/water")
    question = server.url(f"/campaigns/{await _campaign(runtime)}")
    await peer.post(alice, inbox, vote(alice, question, group, "Come"))  # alice's key is known from here on
    await eventually(lambda: _processed(runtime))
    assert runtime.inbox is not None
    await runtime.inbox.stop()  # processing stalls: what is accepted waits

    statuses = []
    for _ in range(5):
        body = json.dumps(vote(alice, question, group, "Come")).encode()
        statuses.append(
            await _post(inbox, body, cavage_sign("POST", inbox, body, alice.key_id, alice.private_pem))
        )
    assert [status for status, _ in statuses] == [202, 202, 202, 503, 503]
    assert statuses[3][1]["Retry-After"].isdigit()
    assert int(await runtime.db.scalar("SELECT COUNT(*) FROM inbox_activities WHERE state = 'pending'")) == 3

    # Processing again (a fresh processor reads what waits from the database): accepted again.
    runtime.inbox = InboxProcessor(runtime)
    runtime.inbox.start()
    await eventually(lambda: _processed(runtime))
    assert (await peer.post(alice, inbox, vote(alice, question, group, "Come")))[0] == 202


async def test_too_many_requests_at_once_are_answered_503_before_their_body_is_read(make_server, peer):
    server = await make_server(inbox_max_in_flight=1)
    runtime = server.runtime
    alice = peer.add_actor("alice", "peer-1")
    inbox = server.url("/groups/water/inbox")
    body = json.dumps(follow_of(alice, server.url("/groups/water"))).encode()
    headers = cavage_sign("POST", inbox, body, alice.key_id, alice.private_pem)
    # One request that sends its headers and half its body, then waits: it is in flight.
    slow = socket.create_connection(("127.0.0.1", server.port))
    try:
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items() if k.lower() != "host")
        slow.sendall(
            f"POST /groups/water/inbox HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n{head}"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body[:10]
        )

        async def slow_is_in_flight() -> bool:
            return runtime.inbox_in_flight == 1

        await eventually(slow_is_in_flight)
        status, answer_headers = await _post(inbox, body, headers)
        assert status == 503 and answer_headers["Retry-After"].isdigit()
        assert int(await runtime.db.scalar("SELECT COUNT(*) FROM inbox_activities")) == 0
    finally:
        slow.close()
    await eventually(lambda: _nothing_in_flight(runtime))
    assert (await peer.post(alice, inbox, follow_of(alice, server.url("/groups/water"))))[0] == 202


async def _nothing_in_flight(runtime) -> bool:
    return runtime.inbox_in_flight == 0


async def test_a_backlog_holds_what_was_parsed_for_only_the_first_and_counts_every_vote_once_in_order(
    make_server, peer
):
    # In a storm the backlog may reach thousands: past `parsed_held` an activity waits as its stored text
    # (three times smaller) and is parsed again when its turn comes, in the order it came.
    server = await make_server()
    runtime = server.runtime
    inbox, group = server.url("/groups/water/inbox"), server.url("/groups/water")
    campaign_id = await _campaign(runtime)
    question = server.url(f"/campaigns/{campaign_id}")
    voters = [peer.add_actor(f"v{i}", "peer-1") for i in range(4)]
    for voter in voters:  # each voter's key known, so that what follows is stored as it arrives
        await peer.post(voter, inbox, follow_of(voter, group))
    await eventually(lambda: _processed(runtime))
    assert runtime.inbox is not None
    await runtime.inbox.stop()
    waiting = runtime.inbox = InboxProcessor(runtime, parsed_held=3)  # not started: everything waits

    first = vote(voters[0], question, group, "Come")
    undo_first = {"@context": first["@context"], "id": f"{first['id']}/undo", "type": "Undo",
                  "actor": voters[0].id, "to": group, "object": first}  # fmt: skip
    sent = [first, *(vote(v, question, group, "Bring a friend") for v in voters[1:]), undo_first]
    for voter, activity in zip([*voters, voters[0]], sent, strict=True):
        assert (await peer.post(voter, inbox, activity))[0] == 202
    assert waiting.waiting_parsed == (5, 3)

    waiting.start()
    await eventually(lambda: _processed(runtime))
    votes = await runtime.db.fetchall(
        "SELECT v.voter, o.label FROM votes v JOIN campaign_options o ON o.id = v.option_id"
        " WHERE v.campaign_id = ?",
        (campaign_id,),
    )
    # The first voter's Undo, waiting unparsed behind their vote, came after it: that vote is withdrawn.
    assert sorted(tuple(v) for v in votes) == sorted((v.id, "Bring a friend") for v in voters[1:])


async def test_a_burst_of_votes_is_federated_by_a_few_rounds_of_the_scheduler_not_one_each(make_server, peer):
    """Each vote tells the scheduler that totals changed; it looks a moment later (runtime.SCHEDULER_WAKE_DELAY)
    with every other vote of that moment, so a storm costs a few rounds of its five reads, not one a vote,
    and the totals are federated all the same."""
    server = await make_server(queue_poll_seconds=60, totals_update_seconds=30)  # no tick: only wakes
    runtime = server.runtime
    inbox, group = server.url("/groups/water/inbox"), server.url("/groups/water")
    campaign_id = await _campaign(runtime)
    question = server.url(f"/campaigns/{campaign_id}")
    voters = [peer.add_actor(f"v{i}", "peer-1") for i in range(40)]
    await asyncio.gather(*(peer.post(v, inbox, follow_of(v, group)) for v in voters))
    await eventually(lambda: _processed(runtime))
    assert runtime.scheduler is not None
    await eventually(lambda: _at_rest(runtime.scheduler))
    rounds = runtime.scheduler.rounds

    started = time.monotonic()
    for voter in voters:  # one at a time, as a storm's votes come: each processed before the next arrives
        assert (await peer.post(voter, inbox, vote(voter, question, group, "Come")))[0] == 202
        await eventually(lambda: _processed(runtime))
    await eventually(lambda: _at_rest(runtime.scheduler))
    elapsed = time.monotonic() - started
    assert runtime.scheduler.rounds - rounds <= elapsed / SCHEDULER_WAKE_DELAY + 3, "a round a vote"
    assert await runtime.db.scalar("SELECT COUNT(*) FROM votes WHERE campaign_id = ?", (campaign_id,)) == 40
    published = await runtime.db.scalar(
        "SELECT COUNT(*) FROM outbox_activities WHERE type = 'Update' AND object_id = ?", (question,)
    )
    assert published >= 1, "the new totals are federated"


async def _at_rest(worker) -> bool:
    return bool(worker.at_rest)


async def test_what_is_handed_over_one_at_a_time_is_processed_without_reading_the_queue_behind_each(
    make_server, peer
):
    """At a few hundred a second activities come one at a time, each handed to the processor in memory.
    Reading the queue in the database behind each cost more than handling it: it found the one being handled,
    and its next-due time woke the processor again. The queue is read when it may hold something; a vote
    still counts once, and a failed one is still retried from the queue (tests/test_inbox_retries.py)."""
    server = await make_server(queue_poll_seconds=60)
    runtime = server.runtime
    inbox, group = server.url("/groups/water/inbox"), server.url("/groups/water")
    campaign_id = await _campaign(runtime)
    question = server.url(f"/campaigns/{campaign_id}")
    voters = [peer.add_actor(f"v{i}", "peer-1") for i in range(20)]
    for voter in voters:  # keys fetched and cached
        await peer.post(voter, inbox, follow_of(voter, group))
    await eventually(lambda: _processed(runtime))
    assert runtime.inbox is not None
    reads = runtime.inbox.queue_reads
    for voter in voters:
        assert (await peer.post(voter, inbox, vote(voter, question, group, "Come")))[0] == 202
        await eventually(lambda: _processed(runtime))
    assert runtime.inbox.queue_reads - reads <= 3, "the queue read behind each activity"
    assert await runtime.db.scalar("SELECT COUNT(*) FROM votes WHERE campaign_id = ?", (campaign_id,)) == 20
