"""Delivered rows leave the queue in batches: together, only after their 2xx, and never a failed one."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from fedgroup import actions, store
from fedgroup.net.delivery import Confirmations
from tests.conftest import eventually
from tests.peer import FakeMastodon
from tests.test_federation import follow

T0 = datetime(2026, 1, 1, tzinfo=UTC)
INBOXES = [f"https://peer{n}.example/inbox" for n in range(5)]


async def _queue(db: store.Database) -> list[store.outbox.Delivery]:
    def job(conn):
        store.outbox.add_activity(conn, "https://here/a/1", "Create", None, "public", "group", "{}", T0)
        store.outbox.add_deliveries(conn, "https://here/a/1", INBOXES, T0)
        # A host with failures behind it: a success resets its count.
        for _ in range(3):
            store.outbox.host_failed(conn, "peer0.example")

    await db.write(job)
    return await db.read(store.outbox.due, T0, (), 10)


def _nothing(conn: object) -> None:
    return None


async def _nonempty(items: list) -> list:
    return items


async def _queued_inboxes(db: store.Database) -> list[str]:
    return [r[0] for r in await db.fetchall("SELECT inbox FROM deliveries ORDER BY inbox")]


async def test_confirmations_are_written_together_and_only_then_leave_the_queue(tmp_path):
    async with store.Database(tmp_path / "q.sqlite3") as db:
        rows = await _queue(db)
        written: list[list[str]] = []
        batch = Confirmations(db, lambda done: written.append([r.inbox for r in done]), max_rows=3, delay=60)
        batch.confirm(rows[0])
        batch.confirm(rows[1])
        await asyncio.sleep(0)  # a write the confirmations started at once would now be queued...
        await db.write(_nothing)  # ...and committed once this one is
        # Confirmed but not yet written: still queued, so a crash now re-sends them (never loses them).
        assert written == [] and await _queued_inboxes(db) == INBOXES
        batch.confirm(rows[2])  # the third fills the batch: one write for the three
        await eventually(lambda: _nonempty(written))
        assert written == [INBOXES[:3]]
        assert await _queued_inboxes(db) == INBOXES[3:]
        failures = await db.scalar(
            "SELECT consecutive_failures FROM delivery_hosts WHERE host = 'peer0.example'"
        )
        assert failures == 0
        # A lone confirmation goes after the delay; flush() writes what waits and waits for it.
        batch.confirm(rows[3])
        await batch.flush()
        assert written == [INBOXES[:3], [INBOXES[3]]]
        assert await _queued_inboxes(db) == INBOXES[4:]


async def test_a_short_delay_flushes_a_partial_batch(tmp_path):
    async with store.Database(tmp_path / "q.sqlite3") as db:
        rows = await _queue(db)
        written: list[int] = []
        batch = Confirmations(db, lambda done: written.append(len(done)), max_rows=100, delay=0.01)
        for row in rows[:4]:
            batch.confirm(row)
        await eventually(lambda: _nonempty(written))
        assert written == [4]
        assert await _queued_inboxes(db) == INBOXES[4:]


async def test_a_failed_inbox_stays_queued_while_the_others_are_confirmed(make_server, peer, test_keys):
    failing = await FakeMastodon(keys=test_keys).start()
    try:
        server = await make_server(delivery_retry_seconds=30)
        alice = peer.add_actor("alice", "peer-1")
        bob = failing.add_actor("bob", "peer-2")
        await follow(peer, alice, server)
        await follow(failing, bob, server)
        failing.inbox_status = 503
        await actions.create_campaign(server.runtime, "Half", "body", visibility="public")
        await peer.wait_for(lambda r: r.json and r.json.get("type") == "Create")
        await failing.wait_for(lambda r: r.json and r.json.get("type") == "Create")
        db = server.runtime.db

        async def only_the_failed_row_left():
            rows = await db.fetchall("SELECT inbox, attempts FROM deliveries")
            return rows if [r[0] for r in rows] == [f"{failing.base_url}/inbox"] and rows[0][1] == 1 else None

        await eventually(only_the_failed_row_left)
        await server.stop()  # a stop writes what was confirmed; the failed row is still queued after it
        await server.start()
        assert [r[0] for r in await server.runtime.db.fetchall("SELECT inbox FROM deliveries")] == [
            f"{failing.base_url}/inbox"
        ]
    finally:
        await failing.stop()
