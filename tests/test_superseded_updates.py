"""A totals Update still queued for an inbox is replaced by a newer Update of the same campaign
(store.outbox.supersede_updates): an inbox that was down during a vote storm gets the newest totals when it
is back, not every total on the way; and nothing is lost, the newest always arrives."""

from __future__ import annotations

from datetime import timedelta

from fedgroup import actions
from fedgroup.rules.campaigns import parse_goal, parse_option
from tests.conftest import MovableClock, eventually


def _deliveries(conn):
    return [
        tuple(row)
        for row in conn.execute(
            "SELECT d.activity_id, d.inbox, d.attempts, a.type FROM deliveries d"
            " JOIN outbox_activities a ON a.id = d.activity_id ORDER BY d.id"
        )
    ]


async def test_a_queued_totals_update_is_replaced_by_the_newer_one_and_the_newest_arrives(make_server, peer):
    clock = MovableClock(stands_still=True)  # retries and coalescing move only when the test moves them
    server = await make_server(
        "c", handle="crossing", totals_update_seconds=1.5, delivery_retry_seconds=600,
        app_options={"clock": clock},
    )  # fmt: skip
    runtime = server.runtime
    alice = peer.add_actor("alice", "peer-1")
    group = server.url("/groups/crossing")
    follow = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{alice.id}/f", "type": "Follow",
              "actor": alice.id, "object": group}  # fmt: skip
    assert (await peer.post(alice, group + "/inbox", follow))[0] == 202
    await peer.wait_for(lambda r: r.json.get("type") == "Accept")
    campaign_id = await actions.create_campaign(
        runtime, "Hot meals", "Cooks wanted.", goals=[parse_goal("hours:100")],
        options=[parse_option("Cook=hours:3"), parse_option("Drive=hours:1")],  # two: a poll
    )  # fmt: skip
    campaign = server.url(f"/campaigns/{campaign_id}")

    def update_of(r, voters: int | None = None) -> bool:
        if not (isinstance(r.json, dict) and r.json.get("type") == "Update"):
            return False
        obj = r.json["object"]
        return obj.get("id") == campaign and (voters is None or obj.get("votersCount") == voters)

    async def queued():
        return await runtime.db.read(_deliveries)

    await eventually(lambda: _empty(queued), timeout=60)  # the campaign's Create went out
    peer.inbox_status = 503  # alice's server is down for a while
    members = [await actions.add_member(runtime, f"Cook {n}", "member") for n in range(3)]

    await actions.pledge(runtime, members[0], campaign_id, option="Cook")
    clock.advance(timedelta(seconds=1.5))
    runtime.wake_scheduler()
    await peer.wait_for(lambda r: update_of(r, 1) and r.status == 503, timeout=60)

    async def first_waits():  # tried once, refused, waiting for its retry (600 s on)
        rows = await queued()
        return rows if len(rows) == 1 and rows[0][2] == 1 else None

    [(first_update, inbox, _, _)] = await eventually(first_waits, timeout=60)

    for member in members[1:]:
        clock.advance(timedelta(seconds=0.1))  # a change after the last Update
        await actions.pledge(runtime, member, campaign_id, option="Cook")
        clock.advance(timedelta(seconds=1.5))
        runtime.wake_scheduler()
        voters = members.index(member) + 1
        await peer.wait_for(lambda r, n=voters: update_of(r, n) and r.status == 503, timeout=60)

    async def only_newest_waits():
        rows = await queued()
        return rows if len(rows) == 1 and rows[0][0] != first_update and rows[0][2] == 1 else None

    [(newest, newest_inbox, _, kind)] = await eventually(only_newest_waits, timeout=60)
    assert (newest_inbox, kind) == (inbox, "Update"), "one row: the newest Update, to the same inbox"

    peer.inbox_status = 202  # alice's server is back
    clock.advance(timedelta(hours=1))
    runtime.deliveries_queued()
    await peer.wait_for(lambda r: update_of(r, 3) and r.status == 202, timeout=60)
    await eventually(lambda: _empty(queued), timeout=60)
    await runtime.delivery.stop()  # nothing more can arrive: what the peer has is final
    taken = [r for r in peer.received if update_of(r) and r.status == 202]
    assert [r.json["object"]["votersCount"] for r in taken] == [3], "only the newest totals, once"
    assert taken[0].json["id"] == newest


async def _empty(rows) -> bool:
    return not await rows()
