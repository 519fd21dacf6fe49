"""The delivery queue: retry rules (pure) and nothing lost across a restart (real servers)."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections import Counter
from datetime import UTC, datetime, timedelta

from fedgroup import actions, store
from fedgroup.net.delivery import GIVE_UP_AFTER, MAX_RETRY_DELAY, next_attempt, outcome
from tests.conftest import eventually
from tests.peer import FakeMastodon
from tests.test_federation import follow

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_outcome_of_statuses():
    assert [outcome(s) for s in (200, 202, 204)] == ["delivered"] * 3
    assert [outcome(s) for s in (400, 401, 403, 404, 410, 422)] == ["give-up"] * 6
    assert [outcome(s) for s in (408, 429, 500, 502, 503)] == ["retry"] * 5


def test_backoff_doubles_caps_and_gives_up_after_three_days():
    delays = []
    now = T0
    attempts = 0
    while True:
        attempts += 1
        when = next_attempt(attempts, T0, now, base_delay=30)
        if when is None:
            break
        delays.append(when - now)
        now = when
    assert delays[:4] == [timedelta(seconds=s) for s in (30, 60, 120, 240)]
    assert max(delays) == MAX_RETRY_DELAY
    assert now - T0 == GIVE_UP_AFTER, "the last retry lands exactly at the three-day mark"
    assert 15 <= attempts <= 30


def test_retry_after_is_honoured_when_longer():
    assert next_attempt(1, T0, T0, 30, retry_after=600) == T0 + timedelta(seconds=600)
    assert next_attempt(1, T0, T0, 30, retry_after=1) == T0 + timedelta(seconds=30)


async def test_deliveries_to_a_dead_peer_arrive_once_after_a_restart(make_server, test_keys):
    peer_sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    peer_sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    peer_sock.bind(("127.0.0.1", 0))
    peer_port = peer_sock.getsockname()[1]
    peer = await FakeMastodon(keys=test_keys).start(peer_sock)
    alice = peer.add_actor("alice", "peer-1")
    server = await make_server()
    await follow(peer, alice, server)
    await peer.stop()  # the peer's server goes down; its port refuses connections

    titles = [f"Campaign {i}" for i in range(5)]
    for title in titles:
        await actions.create_campaign(server.runtime, title, "body", visibility="public")
    # Let the worker fail a few times, then stop the server with the rows still queued.
    await eventually(lambda: _attempted(server.runtime))
    assert await server.runtime.db.read(store.outbox.pending_count) == len(titles)
    await server.stop()

    revived_sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    revived_sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    revived_sock.bind(("127.0.0.1", peer_port))
    revived = FakeMastodon(keys=test_keys)
    await revived.start(revived_sock)
    revived.actors = peer.actors
    await server.start()
    await revived.wait_for(
        lambda r: len({x.json["id"] for x in revived.received if x.json}) >= len(titles) or None, timeout=20
    )
    await eventually(lambda: _queue_empty(server.runtime))
    await server.stop()  # its delivery worker has finished every POST it started: nothing is on its way
    counts = Counter(
        r.json["object"]["campaignTitle"] for r in revived.received if r.json and r.json["type"] == "Create"
    )
    assert counts == Counter({title: 1 for title in titles})
    assert all(r.verified for r in revived.received)
    await revived.stop()


async def _attempted(runtime) -> bool:
    return bool(await runtime.db.scalar("SELECT MIN(attempts) FROM deliveries"))


async def _queue_empty(runtime) -> bool:
    return await runtime.db.read(store.outbox.pending_count) == 0


async def test_a_gone_inbox_ends_the_row(make_server, peer):
    server = await make_server()
    alice = peer.add_actor("alice", "peer-1")
    await follow(peer, alice, server)
    peer.inbox_status = 410
    await actions.create_campaign(server.runtime, "Gone", "body", visibility="public")
    await peer.wait_for(lambda r: r.json and r.json.get("type") == "Create")
    await eventually(lambda: _queue_empty(server.runtime))
    assert len([r for r in peer.received if r.json.get("type") == "Create"]) == 1


async def test_a_finished_delivery_never_removes_a_newer_row_that_reused_its_id(tmp_path):
    """A delivery cancelled in flight (its object deleted) frees its row id; the worker's late 'delivered'
    must not remove the new delivery that took that id (it once swallowed the Delete of a campaign)."""
    async with store.db.Database(tmp_path / "q.sqlite3") as db:

        def queue(conn, activity_id, object_id):
            store.outbox.add_activity(conn, activity_id, "Update", object_id, "public", "group", "{}", T0)
            store.outbox.add_deliveries(conn, activity_id, ["https://peer.example/inbox"], T0)

        await db.write(lambda conn: queue(conn, "https://here/a/1", "https://here/campaigns/1"))
        [in_flight] = await db.read(store.outbox.due, T0, (), 10)
        await db.write(
            lambda conn: store.outbox.remove_activities_of_object(conn, "https://here/campaigns/1")
        )
        await db.write(lambda conn: queue(conn, "https://here/a/2", "https://here/campaigns/2"))
        [newer] = await db.read(store.outbox.due, T0, (), 10)
        assert newer.id == in_flight.id, "SQLite reused the id (the situation this test is about)"

        await db.write(lambda conn: store.outbox.delivered_many(conn, [in_flight]))
        await db.write(lambda conn: store.outbox.retry_later(conn, in_flight, T0, "late"))
        assert await db.read(store.outbox.due, T0, (), 10) == [newer]


async def test_an_inbox_that_refuses_cavage_with_401_gets_the_rfc9421_retry(make_server, peer):
    server = await make_server()
    alice = peer.add_actor("alice", "peer-1")
    await follow(peer, alice, server)
    peer.accepts_cavage = False  # from now on their inbox verifies only RFC 9421 signatures
    await actions.create_campaign(server.runtime, "Knock twice", "body", visibility="public")
    await peer.wait_for(lambda r: r.json and r.json.get("type") == "Create" and r.scheme == "rfc9421")
    await eventually(lambda: _queue_empty(server.runtime))
    creates = [r for r in peer.received if r.json and r.json.get("type") == "Create"]
    assert [(r.scheme, r.status, r.verified) for r in creates] == [
        ("cavage", 401, True),
        ("rfc9421", 202, True),
    ]
    assert creates[0].body == creates[1].body, "the same activity, signed the other way"


async def test_an_inbox_on_a_private_address_is_given_up_at_once_and_never_contacted(make_server, caplog):
    """In production (allow_private_networks = never) a follower whose inbox is on loopback or a private
    network is not retried for days: the row ends at the first attempt, and no connection is made."""
    connections: list[object] = []

    async def count(reader, writer) -> None:
        connections.append(writer.get_extra_info("peername"))
        writer.close()

    listener = await asyncio.start_server(count, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    server = await make_server(allow_private_networks="never")
    actor = f"http://127.0.0.1:{port}/users/eve"
    now = server.runtime.now()

    def add_eve(conn) -> None:
        store.follows.add_follower(conn, actor, f"{actor}#follow", "accepted", f"{actor}/inbox", None, now)

    await server.runtime.db.write(add_eve)
    caplog.set_level(logging.INFO, logger="fedgroup.net.delivery")
    await actions.create_campaign(server.runtime, "Not for the LAN", "body", visibility="public")
    await eventually(lambda: _queue_empty(server.runtime))
    gave_up = [r.getMessage() for r in caplog.records if "delivery gave up" in r.getMessage()]
    assert len(gave_up) == 1 and "reason=private-address" in gave_up[0] and f"{actor}/inbox" in gave_up[0]
    listener.close()
    await listener.wait_closed()
    assert connections == []
