"""Campaigns, pledges and coalitions across three real fedgroup servers and a Mastodon-shaped peer.

A and B follow C as coalition partners. C publishes a campaign; members of A, B and C pledge; a Mastodon user
votes, changes the vote and undoes it; the deadline closes the campaign; the outcome is reported; the delete
reaches everyone. Afterwards, no member's name, email or note appears in any traffic or public response.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest

from fedgroup import actions, store
from fedgroup.rules.campaigns import parse_goal, parse_option
from tests.conftest import MovableClock, eventually
from tests.test_federation import PUBLIC

# Unique strings in every member field: none may ever appear outside the server that holds them.
CANARIES = {
    "a": ("Canary Amira q7xk", "canary.q7xk@tenants.example", "canary note q7xk: key under the mat"),
    "a2": ("Canary Bogdan w3pz", "canary.w3pz@tenants.example", "canary note w3pz: after 6pm"),
    "b": ("Canary Dara m8vt", "canary.m8vt@food.example", "canary note m8vt: I have a van"),
    "c": ("Canary Fatima j2rn", "canary.j2rn@crossing.example", "canary note j2rn: cash only"),
}

LEAFLET = "Leaflet for 2 hours"
GIVE = "Give €20"


def vote(voter, question_id: str, group_id: str, label: str) -> dict:
    """A Mastodon poll vote: a Create of a Note with the option as `name`, no content, only to the author."""
    note_id = f"{voter.id}#votes/{uuid.uuid4()}"
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{note_id}/activity",
        "type": "Create",
        "actor": voter.id,
        "to": group_id,
        "object": {
            "id": note_id,
            "type": "Note",
            "name": label,
            "attributedTo": voter.id,
            "to": group_id,
            "inReplyTo": question_id,
        },
    }


async def add_member(runtime, key: str, role: str = "member") -> int:
    name, email, _ = CANARIES[key]
    return await actions.add_member(runtime, name, role, email)


async def tally(server, campaign_id: int):
    state = await server.runtime.db.read(actions.load_campaign, campaign_id)
    assert state is not None
    return state


def totals(state) -> dict[str, Decimal]:
    return {line.goal.kind: line.pledged for line in state.tally.progress}


async def start_coalition(make_server, recorded, clock):
    c = await make_server(
        "c", handle="crossing", totals_update_seconds=0.3, recorded=recorded, app_options={"clock": clock}
    )
    a = await make_server("a", handle="tenants", recorded=recorded)
    b = await make_server("b", handle="foodbank", recorded=recorded)
    c_group = c.url("/groups/crossing")
    for partner in (a, b):
        runtime = partner.runtime
        await actions.follow_group(runtime, await runtime.actors.actor(c_group))

    async def both_accepted():
        states = [await p.runtime.db.read(store.follows.following_of, c_group) for p in (a, b)]
        return all(s is not None and s.state == "accepted" for s in states)

    await eventually(both_accepted)
    # Following C does not make a group C's partner: C's organizers accept A, and C follows B back (a
    # coalition both chose). Only then do their aggregates count in C's totals.
    await actions.accept_partner(c.runtime, a.url("/groups/tenants"))
    b_group = b.url("/groups/foodbank")
    await actions.follow_group(c.runtime, await c.runtime.actors.actor(b_group))

    async def c_follows_b():
        following = await c.runtime.db.read(store.follows.following_of, b_group)
        return following is not None and following.state == "accepted"

    await eventually(c_follows_b)
    return a, b, c


async def test_three_servers_pledge_vote_close_report_delete_without_leaking(make_server, peer):
    recorded: list = []
    clock = MovableClock()
    a, b, c = await start_coalition(make_server, recorded, clock)
    c_group = c.url("/groups/crossing")
    alice = peer.add_actor("alice", "peer-1")  # follows C from Mastodon
    bob = peer.add_actor("bob", "peer-2")  # votes from Mastodon without following
    status, _ = await peer.post(
        alice,
        c.url("/groups/crossing/inbox"),
        {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{alice.id}/follows/1", "type": "Follow",
         "actor": alice.id, "object": c_group},
    )  # fmt: skip
    assert status == 202
    await peer.wait_for(lambda r: r.json and r.json.get("type") == "Accept")

    # C publishes a campaign with two goals and two options (a poll on Mastodon).
    campaign_id = await actions.create_campaign(
        c.runtime,
        "A safe crossing",
        "Children cross four lanes every morning.",
        goals=[parse_goal("hours:40"), parse_goal("money:500:EUR")],
        options=[parse_option(f"{LEAFLET}=hours:2"), parse_option(f"{GIVE}=money:20")],
        deadline=clock() + timedelta(minutes=20),
    )
    question_id = c.url(f"/campaigns/{campaign_id}")
    creates = await peer.wait_for(lambda r: r.json.get("type") == "Create")
    question = creates[0].json["object"]
    assert question["type"] == "Question" and question["id"] == question_id
    assert [o["name"] for o in question["oneOf"]] == [LEAFLET, GIVE]
    assert question["endTime"].startswith(str((clock() + timedelta(minutes=20)).year))

    # It reaches A and B as partner campaigns, goals and options included.
    async def partner_campaign(server):
        found = await server.runtime.db.read(store.campaigns.partner_campaign_by_object, question_id)
        return found

    a_partner = await eventually(lambda: partner_campaign(a))
    b_partner = await eventually(lambda: partner_campaign(b))
    goals, options = actions.partner_goals(a_partner)
    assert [(g.kind, g.target) for g in goals] == [("hours", Decimal(40)), ("money", Decimal(500))]
    assert [o.label for o in options] == [LEAFLET, GIVE]
    assert a_partner.title == "A safe crossing", "the title travels in fedgroup's own term, not `name`"
    assert "name" not in question and question["campaignTitle"] == "A safe crossing"

    # Members pledge: two on A (an option, and an amount of their own), one on B, one on C.
    a1, a2 = await add_member(a.runtime, "a"), await add_member(a.runtime, "a2")
    b1 = await add_member(b.runtime, "b")
    c1 = await add_member(c.runtime, "c", "organizer")
    await actions.pledge_to_partner(a.runtime, a1, a_partner.id, option=LEAFLET, note=CANARIES["a"][2])
    await actions.pledge_to_partner(
        a.runtime, a2, a_partner.id, kind="hours", amount="5", note=CANARIES["a2"][2]
    )
    await actions.pledge_to_partner(b.runtime, b1, b_partner.id, option=GIVE, note=CANARIES["b"][2])
    await actions.pledge(c.runtime, c1, campaign_id, option=GIVE, note=CANARIES["c"][2])

    async def c_counts(expected_hours, expected_money, expected_groups):
        state = await tally(c, campaign_id)
        return (
            totals(state) == {"hours": expected_hours, "money": expected_money}
            and state.tally.partner_groups == expected_groups
        ) and state

    state = await eventually(lambda: c_counts(Decimal(7), Decimal(40), 2))
    assert state.tally.pledgers == 4, "two members of A, one of B, one of C"
    assert dict(state.tally.option_counts) == {LEAFLET: 1, GIVE: 2}

    # C's followers hear the new totals as an Update(Question), within the coalescing interval.
    def update_with(hours: str, money: str):
        def match(r):
            obj = r.json.get("object") if r.json.get("type") == "Update" else None
            return (
                isinstance(obj, dict)
                and obj.get("id") == question_id
                and {g["kind"]: g["pledged"] for g in obj["goals"]} == {"hours": hours, "money": money}
            )

        return match

    updates = await peer.wait_for(update_with("7", "40"))
    latest = updates[-1].json["object"]
    assert {o["name"]: o["replies"]["totalItems"] for o in latest["oneOf"]} == {LEAFLET: 1, GIVE: 2}
    assert latest["votersCount"] == 4 and latest["partnerGroups"] == 2
    # The totals are in the poll and `goals`; `content` keeps the targets and never changes with a total
    # (GoToSocial, Iceshrimp.NET and Mitra would show each totals Update as an edit).
    assert "Goal: 40 hours · €500" in latest["content"]
    assert "7 of 40 hours" not in latest["content"] and "€40 of €500" not in latest["content"]
    assert updates[-1].verified is True

    # A Mastodon user votes, changes the vote (single choice: the new one replaces it), then undoes it.
    first = vote(bob, question_id, c_group, LEAFLET)
    assert (await peer.post(bob, c.url("/groups/crossing/inbox"), first))[0] == 202
    await eventually(lambda: c_counts(Decimal(9), Decimal(40), 2))
    await peer.wait_for(update_with("9", "40"))
    assert (await peer.post(bob, c.url("/groups/crossing/inbox"), first))[0] == 202  # a redelivery
    second = vote(bob, question_id, c_group, GIVE)
    assert (await peer.post(bob, c.url("/groups/crossing/inbox"), second))[0] == 202
    state = await eventually(lambda: c_counts(Decimal(7), Decimal(60), 2))
    assert state.tally.pledgers == 5
    undo = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{bob.id}#undo/{uuid.uuid4()}",
        "type": "Undo",
        "actor": bob.id,
        "object": second,
    }
    assert (await peer.post(bob, c.url("/groups/crossing/inbox"), undo))[0] == 202
    state = await eventually(lambda: c_counts(Decimal(7), Decimal(40), 2))
    assert state.tally.pledgers == 4

    # A member of B withdraws: B undoes its aggregate and C counts one partner group.
    await actions.withdraw_pledge(
        b.runtime, b1, (await b.runtime.db.read(store.pledges.pledges_of_member, b1))[0].id
    )
    await eventually(lambda: c_counts(Decimal(7), Decimal(20), 1))

    # The deadline passes: the scheduler closes the campaign; votes and pledges are refused afterwards.
    # Less than an hour: C's requests are then dated ahead of its partners' clocks, which allow one hour.
    clock.advance(timedelta(minutes=30))
    c.runtime.wake_scheduler()

    def closed_update(r):
        obj = r.json.get("object") if r.json.get("type") == "Update" else None
        return isinstance(obj, dict) and obj.get("id") == question_id and "closed" in obj

    closed = await peer.wait_for(closed_update)
    assert closed[-1].json["object"]["campaignStatus"] == "closed"
    late = vote(bob, question_id, c_group, LEAFLET)
    assert (await peer.post(bob, c.url("/groups/crossing/inbox"), late))[0] == 202
    with pytest.raises(actions.ActionError, match="closed"):
        await actions.pledge(c.runtime, c1, campaign_id, option=LEAFLET)
    assert totals(await tally(c, campaign_id)) == {"hours": Decimal(7), "money": Decimal(20)}

    async def partner_closed():
        found = await partner_campaign(a)
        return found is not None and found.closed

    await eventually(partner_closed)
    with pytest.raises(actions.ActionError, match="closed"):
        await actions.pledge_to_partner(a.runtime, a1, a_partner.id, option=GIVE)

    # The organizer marks C's member pledge fulfilled and reports the outcome: a reply to the campaign.
    c_pledge = (await c.runtime.db.read(store.pledges.pledges_for_campaign, campaign_id))[0]
    await actions.set_fulfilled(c.runtime, c_pledge.id, True)
    summary = await actions.report_outcome(c.runtime, campaign_id, "The council agreed to a crossing!")
    assert "€20 of €20 pledged given" in summary or "€20" in summary
    outcome = await peer.wait_for(
        lambda r: r.json.get("type") == "Create" and r.json["object"].get("inReplyTo") == question_id
    )
    assert "The council agreed" in outcome[0].json["object"]["content"]

    # Delete: a Delete(Tombstone) reaches followers and partners; the object answers 410.
    await actions.delete_campaign(c.runtime, campaign_id)
    await peer.wait_for(lambda r: r.json.get("type") == "Delete" and r.json["object"]["id"] == question_id)
    for partner in (a, b):
        await eventually(lambda p=partner: _gone(p, question_id))
    status, tombstone = await peer.get(alice, question_id)
    assert status == 410 and tombstone["type"] == "Tombstone"
    assert await a.runtime.db.read(store.pledges.pledges_of_member, a1) == [], "pledges to it went too"

    await _assert_no_canary_leaves(peer, alice, recorded, (a, b, c), question_id)


async def _gone(server, object_id: str) -> bool:
    return await server.runtime.db.read(store.campaigns.partner_campaign_by_object, object_id) is None


async def _assert_no_canary_leaves(peer, alice, recorded, servers, question_id) -> None:
    """Every request between the servers and to the peer, and every public or federated response."""
    canaries = [value for fields in CANARIES.values() for value in fields]
    traffic = [(f"{r.method} {r.url}", r.body.decode("utf-8", "replace") + repr(r.headers)) for r in recorded]
    traffic += [
        (f"{r.method} {r.path}", r.body.decode("utf-8", "replace") + repr(r.headers)) for r in peer.received
    ]
    assert len(traffic) > 20, "the traffic was recorded"
    urls = []
    for server in servers:
        handle = server.runtime.site.handle
        group = server.url(f"/groups/{handle}")
        urls += [group, f"{group}/outbox", f"{group}/outbox?page=true", f"{group}/followers",
                 f"{group}/following", server.url("/"), server.url("/actor"), server.url("/nodeinfo/2.1"),
                 server.url(f"/.well-known/webfinger?resource=acct:{handle}@127.0.0.1:{server.port}")]  # fmt: skip
        urls += [server.url(f"/campaigns/{n}") for n in range(1, 4)]
        urls += [server.url(f"/campaigns/{n}/outcome") for n in range(1, 4)]
        urls += [r.url for r in recorded if r.method == "GET" and r.url.startswith(server.base_url)]
    urls.append(question_id)
    for url in dict.fromkeys(urls):
        for who in (None, alice):
            for accept in ("application/activity+json", "text/html"):
                status, body = await peer.get(who, url, accept=accept)
                traffic.append((f"GET {url} as {who and who.username} ({accept}) -> {status}", str(body)))
    for where, text in traffic:
        for canary in canaries:
            assert canary not in text, f"member data {canary!r} leaked in {where}"


async def test_a_burst_of_pledges_federates_as_few_coalesced_updates(make_server, peer):
    # The clock moves only when the test moves it: the burst takes 1.2 s of it however slow the machine is.
    clock = MovableClock(stands_still=True)
    server = await make_server(
        "c", handle="crossing", totals_update_seconds=1.5, app_options={"clock": clock}
    )
    alice = peer.add_actor("alice", "peer-1")
    group = server.url("/groups/crossing")
    follow = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{alice.id}/f", "type": "Follow",
              "actor": alice.id, "object": group}  # fmt: skip
    assert (await peer.post(alice, group + "/inbox", follow))[0] == 202
    await peer.wait_for(lambda r: r.json.get("type") == "Accept")
    runtime = server.runtime
    campaign_id = await actions.create_campaign(
        runtime, "Hot meals", "Cooks wanted.", goals=[parse_goal("hours:100")],
        options=[parse_option("Cook=hours:3"), parse_option("Drive=hours:1")],  # two: a poll
    )  # fmt: skip
    members = [await actions.add_member(runtime, f"Cook {n}", "member") for n in range(12)]
    for member in members:
        clock.advance(timedelta(seconds=0.1))
        await actions.pledge(runtime, member, campaign_id, option="Cook")
    # One interval after the burst the last totals are due (at most one Update went out during it).
    clock.advance(timedelta(seconds=1.5))
    runtime.wake_scheduler()

    def update_of(r):
        return r.json.get("type") == "Update" and r.json["object"].get("id") == server.url(
            f"/campaigns/{campaign_id}"
        )

    final = await peer.wait_for(lambda r: update_of(r) and r.json["object"]["votersCount"] == 12)
    assert final[-1].json["object"]["oneOf"][0]["replies"]["totalItems"] == 12
    await runtime.delivery.stop()  # what was queued is sent or stays queued: the count below is final
    sent = [r for r in peer.received if update_of(r)]
    assert 1 <= len(sent) <= 2, f"12 pledges made {len(sent)} Updates; they should be coalesced"


async def test_votes_are_checked_against_the_poll(make_server, peer):
    """Wrong option names, votes on members-only campaigns and votes by someone else are not counted."""
    server = await make_server("c", handle="crossing")
    runtime = server.runtime
    bob = peer.add_actor("bob", "peer-2")
    mallory = peer.add_actor("mallory", "peer-3")
    group = server.url("/groups/crossing")
    public = await actions.create_campaign(
        runtime, "Public", "b", goals=[parse_goal("people:10")], options=[parse_option("Come=people:1")]
    )
    inner = await actions.create_campaign(
        runtime, "Inner", "b", goals=[parse_goal("people:10")], options=[parse_option("Come=people:1")],
        visibility="members",
    )  # fmt: skip
    bad_label = vote(bob, server.url(f"/campaigns/{public}"), group, "come")  # labels match exactly
    members_only = vote(bob, server.url(f"/campaigns/{inner}"), group, "Come")
    forged = vote(bob, server.url(f"/campaigns/{public}"), group, "Come")
    forged["object"]["attributedTo"] = mallory.id  # the vote claims another author than its actor
    for activity in (bad_label, members_only, forged):
        assert (await peer.post(bob, group + "/inbox", activity))[0] == 202

    async def processed():
        return await runtime.db.read(store.inbox.pending) == []

    await eventually(processed)
    for campaign_id in (public, inner):
        state = await tally(server, campaign_id)
        assert state.tally.pledgers == 0

    ok = vote(bob, server.url(f"/campaigns/{public}"), group, "Come")
    assert (await peer.post(bob, group + "/inbox", ok))[0] == 202
    await eventually(lambda: _pledgers_are(server, public, 1))
    # A Delete of the vote note by its author withdraws it.
    delete = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{bob.id}#del", "type": "Delete",
              "actor": bob.id, "object": ok["object"]["id"], "to": PUBLIC}  # fmt: skip
    assert (await peer.post(bob, group + "/inbox", delete))[0] == 202
    await eventually(lambda: _pledgers_are(server, public, 0))


async def _pledgers_are(server, campaign_id: int, n: int) -> bool:
    return (await tally(server, campaign_id)).tally.pledgers == n


async def test_leaving_a_coalition_withdraws_the_aggregate(make_server):
    clock = MovableClock()
    a, b, c = await start_coalition(make_server, None, clock)
    campaign_id = await actions.create_campaign(
        c.runtime, "Meals", "b", goals=[parse_goal("items:100:meals")], options=[parse_option("Ten=items:10")]
    )
    question_id = c.url(f"/campaigns/{campaign_id}")

    async def partner(server):
        return await server.runtime.db.read(store.campaigns.partner_campaign_by_object, question_id)

    found = await eventually(lambda: partner(a))
    member = await actions.add_member(a.runtime, "Someone", "member")
    await actions.pledge_to_partner(a.runtime, member, found.id, option="Ten")
    await eventually(lambda: _pledgers_are(c, campaign_id, 1))
    await actions.leave_group(a.runtime, c.url("/groups/crossing"))
    await eventually(lambda: _pledgers_are(c, campaign_id, 0))

    async def unfollowed() -> bool:  # the Undo of the Follow is a delivery of its own, after the pledge's
        return not await c.runtime.db.read(store.follows.is_accepted_follower, a.url("/groups/tenants"))

    await eventually(unfollowed)
    assert await partner(a) is None
