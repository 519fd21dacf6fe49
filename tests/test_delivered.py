"""Numbers people can trust, across three real fedgroup servers: what was delivered beside what was pledged,
small counts that never leave a server, and changes that reach partners only in batches.

All three servers share one movable clock: a release an hour away is reached by moving it, never by waiting
(and the servers' signed requests stay within each other's allowed clock skew).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal

import aiohttp
import orjson

from fedgroup import actions, store
from fedgroup.rules import campaign_state, disclosure, passwords
from fedgroup.rules.campaigns import Contribution, parse_goal, parse_option
from fedgroup.rules.tallies import AggregateLine, GroupAggregate, Tally
from tests.conftest import MovableClock, eventually
from tests.web_client import WebClient

PASSWORD = "correct horse battery"

# The group's real defaults, which the other tests turn off.
DISCLOSURE = {"min_disclosed_count": 3, "partner_release_minutes": 60, "partner_release_changes": 3}
CANARIES = ("Canary Orla z5qd", "canary.z5qd@tenants.example", "canary note z5qd: back door")
COME, TOOLS = "Come along", "Bring tools for 2 hours"


async def _coalition(make_server, recorded, clock):
    options = {"clock": clock}
    c = await make_server("c", handle="crossing", recorded=recorded, app_options=options, **DISCLOSURE)
    a = await make_server("a", handle="tenants", recorded=recorded, app_options=options, **DISCLOSURE)
    b = await make_server("b", handle="foodbank", recorded=recorded, app_options=options, **DISCLOSURE)
    c_group = c.url("/groups/crossing")
    for partner in (a, b):
        await actions.follow_group(partner.runtime, await partner.runtime.actors.actor(c_group))

    async def accepted():
        states = [await p.runtime.db.read(store.follows.following_of, c_group) for p in (a, b)]
        return all(s is not None and s.state == "accepted" for s in states)

    await eventually(accepted)
    for partner in (a, b):
        await actions.accept_partner(c.runtime, partner.url(f"/groups/{partner.runtime.site.handle}"))
    return a, b, c


async def _partner_id(server, object_id: str) -> int:
    async def found():
        row = await server.runtime.db.read(store.campaigns.partner_campaign_by_object, object_id)
        return row.id if row else None

    return await eventually(found)


async def _members(server, names) -> list[int]:
    return [await actions.add_member(server.runtime, name, "member") for name in names]


async def _lines(c, campaign_id: int) -> dict[str, campaign_state.ContributorLine]:
    state = await c.runtime.db.read(actions.load_campaign, campaign_id)
    assert state is not None
    lines = await c.runtime.db.read(actions.contributors, state)
    return {line.who.split("@")[1] if line.partner else line.who: line for line in lines}


def _pledges_from(recorded, server) -> list[dict]:
    """The Pledge documents (or Updates of one) `server` sent, in order."""
    found = []
    for r in recorded:
        if r.method != "POST" or not r.body:
            continue
        doc = orjson.loads(r.body)
        if doc.get("actor") != server.url(f"/groups/{server.runtime.site.handle}"):
            continue
        if doc.get("type") == "Pledge":
            found.append(doc)
        elif doc.get("type") == "Update" and doc["object"].get("type") == "Pledge":
            found.append(doc["object"])
    return found


async def _release(server, clock, minutes: int = 61) -> None:
    clock.advance(timedelta(minutes=minutes))
    server.runtime.wake_scheduler()

    async def released():
        return await server.runtime.db.read(store.releases.pending) == []

    await eventually(released)


async def test_small_counts_withheld_released_in_batches_delivered_on_the_outcome(make_server, caplog):
    caplog.set_level(logging.INFO)
    recorded: list = []
    clock = MovableClock()
    a, b, c = await _coalition(make_server, recorded, clock)
    campaign_id = await actions.create_campaign(
        c.runtime, "Spring clean-up", "One Saturday morning.",
        goals=[parse_goal("people:20"), parse_goal("hours:30")],
        options=[parse_option(f"{COME}=people:1"), parse_option(f"{TOOLS}=hours:2")],
    )  # fmt: skip
    object_id = c.url(f"/campaigns/{campaign_id}")
    a_id = await _partner_id(a, object_id)
    orla = await actions.add_member(a.runtime, CANARIES[0], "member", CANARIES[1])
    a2, a3 = await _members(a, ("Tenant Two", "Tenant Three"))

    # One member pledges on A: nothing leaves A until the batch is due; the change waits in a row.
    await actions.pledge_to_partner(a.runtime, orla, a_id, option=COME, note=CANARIES[2])
    [(pending_id, pending, due)] = await a.runtime.db.read(store.releases.pending)
    assert (pending_id, pending) == (a_id, 1) and due > clock() + timedelta(minutes=59)
    assert _pledges_from(recorded, a) == []

    # A restart neither loses the pending release nor sends it early.
    await a.stop()
    await a.start()
    a.runtime.wake_scheduler()
    assert [p[:2] for p in await a.runtime.db.read(store.releases.pending)] == [(a_id, 1)]

    # An hour later it is released, withheld: C shows "fewer than 3" for A and counts A in no total.
    await _release(a, clock)
    line = (await eventually(lambda: _lines(c, campaign_id)))["tenants"]
    assert line.fewer_than == 3 and line.text(()).endswith(": fewer than 3 people pledged")
    state = await c.runtime.db.read(actions.load_campaign, campaign_id)
    assert state.tally.pledgers == 0 and state.tally.partner_groups == 0
    sent = _pledges_from(recorded, a)
    assert sent == [sent[0]] and sent[0]["pledgersFewerThan"] == 3 and "pledgers" not in sent[0]
    assert "contributions" not in sent[0], "no amount of fewer than three members leaves A"

    # Two more pledge: still withheld until the batch is released, then the real figure in one Update.
    await actions.pledge_to_partner(a.runtime, a2, a_id, option=COME)
    await actions.pledge_to_partner(a.runtime, a3, a_id, option=COME)
    assert len(_pledges_from(recorded, a)) == 1
    await _release(a, clock)

    async def counted():
        found = (await _lines(c, campaign_id))["tenants"]
        return found.fewer_than is None and found

    line = await eventually(counted)
    assert line.text(state.goals).endswith(": pledged 3 people, delivered nothing")
    assert len(_pledges_from(recorded, a)) == 2, "the real figure came in one batched release"

    # The campaign closes; A's organizer marks two pledges kept; what was delivered reaches C afterwards.
    assert await actions.close_campaign(c.runtime, campaign_id)
    for pledge_id in [p.id for p in await a.runtime.db.read(store.pledges.pledges_for_partner_campaign, a_id)][:2]:
        await actions.set_fulfilled(a.runtime, pledge_id, True)
    await _release(a, clock)

    async def delivered():
        found = (await _lines(c, campaign_id))["tenants"]
        return found.delivered == (Contribution("people", Decimal(2)),) and found

    await eventually(delivered)
    summary = await actions.report_outcome(c.runtime, campaign_id, "The park was clean by noon.")
    assert f"{line.who}: pledged 3 people, delivered 2 people" in summary
    async with aiohttp.ClientSession() as session, session.get(object_id) as r:  # the public page
        page = await r.text()
    assert f"{line.who}: pledged 3 people, delivered 2 people" in page

    # No name, email or note of A's member anywhere else: traffic (the outcome as it federates among it), C's
    # and B's pages (public, and what C's organizers see of their partners), any server's log.
    assert any("The park was clean by noon" in r.body.decode("utf-8", "replace") for r in recorded)
    pages = [page]
    async with aiohttp.ClientSession() as session:
        for url in (c.url("/groups/crossing"), b.url("/groups/foodbank")):
            async with session.get(url) as r:
                assert r.status == 200, url
                pages.append(await r.text())
    await actions.add_member(c.runtime, "Cleo Organizer", "organizer", None, passwords.hash_password(PASSWORD))
    organizer = WebClient(c.base_url)
    try:
        await organizer.sign_in("Cleo Organizer", PASSWORD)
        for path in (f"/organize/campaigns/{campaign_id}", "/organize/partners/record"):
            seen = await organizer.get(path)
            assert seen.status == 200 and "tenants" in seen.text, "the page shows group A's figures"
            pages.append(seen.text)
    finally:
        await organizer.close()
    texts = [r.body.decode("utf-8", "replace") + r.url for r in recorded] + pages + [caplog.text]
    for text in texts:
        for canary in CANARIES:
            assert canary not in text


async def test_one_members_withdrawal_cannot_be_told_from_two_successive_partner_views(make_server):
    """Differencing: the partner's views before and after one member's action differ only by a batch of at
    least three changes, so no view it receives is 'the previous one minus that member'."""
    recorded: list = []
    clock = MovableClock()
    a, b, c = await _coalition(make_server, recorded, clock)
    campaign_id = await actions.create_campaign(
        c.runtime, "Meals", "Cooks wanted.", goals=[parse_goal("hours:100")],
        options=[parse_option("Cook=hours:3"), parse_option("Drive=hours:1")],
    )  # fmt: skip
    b_id = await _partner_id(b, c.url(f"/campaigns/{campaign_id}"))
    people = await _members(b, [f"Cook {n}" for n in range(6)])
    for member in people[:4]:
        await actions.pledge_to_partner(b.runtime, member, b_id, option="Cook")
    await _release(b, clock)  # three changes released at once, the fourth an hour later
    await eventually(lambda: _received_pledgers(c, campaign_id, 4))
    before = _pledges_from(recorded, b)[-1]
    assert before["pledgers"] == 4

    # The member we watch withdraws. Nothing reaches C: its view of B is unchanged.
    watched = (await b.runtime.db.read(store.pledges.pledges_of_member, people[0]))[0]
    await actions.withdraw_pledge(b.runtime, people[0], watched.id)
    assert _pledges_from(recorded, b)[-1] == before
    assert await _received_pledgers(c, campaign_id, 4)
    # Two others pledge: the third change releases one batch with the net result of all three.
    await actions.pledge_to_partner(b.runtime, people[4], b_id, option="Cook")
    await actions.pledge_to_partner(b.runtime, people[5], b_id, option="Drive")
    await eventually(lambda: _received_pledgers(c, campaign_id, 5))
    views = _pledges_from(recorded, b)
    after = views[-1]
    assert views.index(before) == len(views) - 2, "one release between the two views"

    # The view that would expose the member (before, minus one Cook) never reached C after their action.
    exposing = {"pledgers": 3, "lines": {("hours", "Cook"): (3, "9")}}
    for view in views[views.index(before) + 1 :]:
        assert _figures(view) != exposing
    assert _figures(after) != exposing and after["pledgers"] == 5


def _figures(doc: dict) -> dict:
    return {
        "pledgers": doc.get("pledgers"),
        "lines": {(c["kind"], c["option"]): (c["pledgers"], c["amount"]) for c in doc.get("contributions", [])},
    }


async def _received_pledgers(c, campaign_id: int, n: int) -> bool:
    state = await c.runtime.db.read(actions.load_campaign, campaign_id)
    return state is not None and state.tally.pledgers == n


def test_disclosed_aggregate_never_sends_a_count_below_the_minimum():
    def line(kind, option, amount, n):
        return AggregateLine(Contribution(kind, Decimal(amount)), option, n)

    two = GroupAggregate(2, (line("hours", "Cook", "6", 2),))
    assert disclosure.disclosed_aggregate(two, 3) == GroupAggregate(0, (), (), fewer_than=3)
    mixed = GroupAggregate(
        6,
        (line("hours", "Cook", "12", 4), line("hours", "Drive", "1", 1), line("hours", None, "5", 1),
         line("money", None, "20", 1)),
        (Contribution("hours", Decimal(3)), Contribution("money", Decimal(20))),
    )  # fmt: skip
    shown = disclosure.disclosed_aggregate(mixed, 3)
    assert all(x.pledgers >= 3 for x in shown.lines)
    # Drive (1) and the own amount (1) merge, still fewer than 3: Cook joins them; money (1 person) is left out.
    assert shown.lines == (line("hours", None, "18", 6),)
    assert shown.delivered == (Contribution("hours", Decimal(3)),)
    assert disclosure.disclosed_aggregate(mixed, 1) == GroupAggregate(
        6, tuple(sorted(mixed.lines, key=lambda x: (x.contribution.kind, x.option or ""))), mixed.delivered
    )


def test_public_counts_leave_out_a_small_number_of_our_members():
    tally = Tally((), (("Cook", 3), ("Drive", 1)), 4, 0, (("Cook", 1), ("Drive", 1)), 2)
    public = disclosure.public_counts(tally, 3)
    assert public.options == (("Cook", 2), ("Drive", 0)) and public.pledgers == 2
    assert disclosure.count_text(0, "Drive" in public.withheld_options, 3) == "fewer than 3"
    assert disclosure.count_text(2, False, 3) == "fewer than 3"
    assert disclosure.count_text(7, True, 3) == "7"
