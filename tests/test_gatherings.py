"""Gatherings: the rules of places and the waiting list, then everything through live servers — the Event as
a Mastodon-shaped and a Mobilizon-shaped peer receive and read it, RSVPs from members and from the fediverse
(Join/Leave as Mobilizon sends them) counted together under a capacity with a first-come waiting list, an
Update and a cancellation arriving, hostile RSVPs refused with nothing stored, attendance toward a campaign's
people goal, and who comes never leaving the server."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import aiohttp
import icalendar
import pytest

from fedgroup import actions, store
from fedgroup.rules import gatherings, passwords, tallies
from fedgroup.rules.campaigns import Contribution, Goal, PledgeOption, parse_goal
from fedgroup.rules.gatherings import Entry, GatheringError
from fedgroup.rules.tallies import MemberPledgeFacts
from tests.conftest import database_snapshot, eventually, writes_settled
from tests.peer import FakeMobilizon
from tests.test_federation import follow
from tests.web_client import WebClient

ZONE = "Europe/Madrid"


def local(days: int, hour: int) -> str:
    """A wall-clock time in ZONE, `days` from now: what the form's datetime-local field sends."""
    day = (datetime.now(UTC) + timedelta(days=days)).astimezone(ZoneInfo(ZONE)).date()
    return f"{day.isoformat()}T{hour:02d}:00"


def gathering_form(**changes: str) -> actions.GatheringForm:
    fields = {
        "title": "Door-knocking Saturday",
        "description": "Meet at the hall.\n\nBring water.",
        "starts": local(10, 10),
        "ends": local(10, 13),
        "timezone": ZONE,
        "place": "Community hall, 3 Main Street",
        "latitude": "40.4168",
        "longitude": "-3.7038",
        "online_url": "",
        "capacity": "2",
        "campaign": "",
        "visibility": "public",
    }
    fields.update(changes)
    return actions.GatheringForm(**fields)


# -- the rules ---------------------------------------------------------------------------------------------------


def test_first_come_first_served_and_a_freed_place_goes_to_the_longest_waiting():
    assert gatherings.admission(2, 0) == gatherings.admission(2, 1) == "going"
    assert gatherings.admission(2, 2) == "waiting"
    assert gatherings.admission(None, 10_000) == "going"
    entries = [Entry(1, "going"), Entry(4, "waiting"), Entry(2, "waiting"), Entry(7, "waiting")]
    assert gatherings.promotions(2, entries) == [2]  # one free place: the earliest waiting, not list order
    assert gatherings.promotions(3, entries) == [2, 4]
    assert gatherings.promotions(None, entries) == [2, 4, 7]
    over = [Entry(1, "going"), Entry(2, "going"), Entry(3, "waiting")]
    assert gatherings.promotions(1, over) == []  # capacity lowered: nobody promoted, nobody put out
    counts = gatherings.counts(1, ["going", "going", "waiting"])
    assert (counts.going, counts.waiting, counts.remaining, counts.full) == (2, 1, 0, True)
    assert gatherings.counts(None, ["going"]).remaining is None


def test_fields_are_checked_each_at_its_own_field():
    cases = [
        (lambda: gatherings.check_place("", "", "", ""), "place"),
        (lambda: gatherings.check_place("Hall", "91", "0", ""), "latitude"),
        (lambda: gatherings.check_place("Hall", "40", "", ""), "latitude"),
        (lambda: gatherings.check_place("", "40", "3", "https://meet.example/x"), "place"),
        (lambda: gatherings.check_place("Hall", "nan", "3", ""), "latitude"),
        (lambda: gatherings.check_place("", "", "", "javascript:alert(1)"), "online_url"),
        (lambda: gatherings.check_capacity("0"), "capacity"),
        (lambda: gatherings.check_capacity("2.5"), "capacity"),
        (lambda: gatherings.check_capacity("²"), "capacity"),
        (lambda: gatherings.check_title("   "), "title"),
        (lambda: gatherings.check_visibility("everyone"), "visibility"),
    ]
    for call, field in cases:
        with pytest.raises(GatheringError) as caught:
            call()
        assert caught.value.field == field
    start = datetime(2027, 1, 15, 18, tzinfo=UTC)
    with pytest.raises(GatheringError, match="end after"):
        gatherings.check_times(start, start)
    online = gatherings.check_place("", "", "", "https://meet.example/room")
    assert online.is_online and online.text == ""
    assert gatherings.check_capacity("") is None


def test_attendance_counts_each_person_once_and_never_beside_their_own_pledge_of_people():
    goals = [Goal("people", Decimal(20), None)]
    options = [PledgeOption("I'll come", "people", Decimal(1))]
    pledges = [MemberPledgeFacts(1, Contribution("people", Decimal(2)), None)]  # member 1 and a friend
    votes = [("https://social.example/users/v", "I'll come")]
    attendees = [
        "member:1",  # already counted by their pledge
        "member:2",
        "member:2",  # going to two gatherings of the campaign: one person
        "https://social.example/users/v",  # voted "I'll come": already counted
        "https://mobilizon.example/@w",
    ]
    tally = tallies.tally(goals, options, pledges, votes, [], attendees)
    assert tally.progress[0].pledged == Decimal(2 + 1 + 2)
    assert tally.pledgers == 2  # coming is not pledging
    assert tallies.tally(goals, options, pledges, votes, []).progress[0].pledged == Decimal(3)


# -- live servers ------------------------------------------------------------------------------------------------


@pytest.fixture
async def mobilizon(test_keys):
    fake = await FakeMobilizon(keys=test_keys).start()
    yield fake
    await fake.stop()


def _of_type(kind: str, object_type: str | None = None):
    def match(r) -> bool:
        if not r.json or r.json.get("type") != kind:
            return False
        obj = r.json.get("object")
        return object_type is None or (isinstance(obj, dict) and obj.get("type") == object_type)

    return match


async def _rsvps(server, gathering_id: int) -> list[tuple[str | None, int | None, str]]:
    rows = await server.runtime.db.read(store.gatherings.rsvps, gathering_id)
    return [(r.actor, r.member_id, r.state) for r in rows]


async def test_the_event_reaches_mastodon_and_mobilizon_and_rsvps_from_both_share_the_places(
    make_server, peer, mobilizon
):
    server = await make_server()
    runtime = server.runtime
    group_id = server.url("/groups/water")
    alice = peer.add_actor("alice", "peer-1")
    mo = mobilizon.add_actor("mo", "peer-2")
    max_ = mobilizon.add_actor("max", "peer-3")
    await follow(peer, alice, server)
    await follow(mobilizon, mo, server)
    mia = await actions.add_member(runtime, "Mia Member", "member")

    gathering_id = await actions.create_gathering(
        runtime, None, gathering_form(online_url="https://meet.example/knock")
    )
    url = server.url(f"/gatherings/{gathering_id}")

    # Mastodon: a Create of an Event (one of its converted types: the name as a heading, the summary, a link).
    create = (await peer.wait_for(_of_type("Create", "Event")))[0]
    assert create.verified is True
    event = create.json["object"]
    assert (event["id"], event["url"], event["type"], event["name"]) == (
        url, url, "Event", "Door-knocking Saturday"
    )  # fmt: skip
    assert event["attributedTo"] == group_id and create.json["actor"] == group_id
    assert create.json["to"] == ["https://www.w3.org/ns/activitystreams#Public"]
    starts = datetime.fromisoformat(event["startTime"])
    assert starts.utcoffset() == ZoneInfo(ZONE).utcoffset(starts.replace(tzinfo=None))
    assert event["startTime"].startswith(
        local(10, 10)
    )  # written in the gathering's own zone, with its offset
    assert event["summary"].startswith(starts.strftime("%-d %B %Y, 10:00–13:00 (Europe/Madrid)"))
    assert "Community hall" in event["summary"]
    assert event["content"].startswith("<p>Meet at the hall.</p><p>Bring water.</p>")
    assert (event["joinMode"], event["maximumAttendeeCapacity"], event["participantCount"]) == (
        "restricted", 2, 0
    )  # fmt: skip
    assert event["ical:status"] == event["status"] == "CONFIRMED"
    assert isinstance(event["attachment"], list)  # Gancio reads attachment.length on an Update

    # Mobilizon: fetches the Event (signed) and keeps what its converter keeps.
    status, fetched = await mobilizon.get(mo, url)
    assert status == 200
    kept = FakeMobilizon.read_event(fetched)
    assert kept["title"] == "Door-knocking Saturday" and kept["status"] == "confirmed"
    assert kept["street"] == kept["place_description"] == "Community hall, 3 Main Street"
    assert kept["geom"] == (-3.7038, 40.4168)
    assert kept["online_address"] == "https://meet.example/knock"
    assert (kept["timezone"], kept["join_options"], kept["maximum_attendee_capacity"]) == (
        ZONE,
        "restricted",
        2,
    )
    assert (await mobilizon.get(None, url))[0] == 401, "authorized fetch: the Event answers signed GETs only"

    # A member takes one of the two places, Mobilizon's `mo` the other: Accept of the very Join.
    assert await actions.member_rsvp(runtime, gathering_id, mia, True) == "going"
    join = mobilizon.join_of(mo, url, group_id, message="I'll bring leaflets")
    assert (await mobilizon.post(mo, server.url("/groups/water/inbox"), join))[0] == 202
    accept = (
        await mobilizon.wait_for(lambda r: _of_type("Accept")(r) and r.json["object"]["id"] == join["id"])
    )[0]
    assert accept.verified is True and accept.path == "/users/mo/inbox"
    assert accept.json["actor"] == group_id
    assert accept.json["object"] == {"id": join["id"], "type": "Join", "actor": mo.id, "object": url}

    # Full: `max` waits, and hears nothing until a place frees up.
    late = mobilizon.join_of(max_, url, group_id)
    assert (await mobilizon.post(max_, server.url("/inbox"), late))[0] == 202
    await eventually(lambda: _has(server, gathering_id, (max_.id, None, "waiting")))
    sent = await runtime.db.fetchall("SELECT document FROM outbox_activities WHERE type = 'Accept'")
    assert [late["id"] in r[0] for r in sent].count(True) == 0
    status, fetched = await mobilizon.get(mo, url)
    assert (fetched["participantCount"], fetched["remainingAttendeeCapacity"]) == (2, 0)
    assert await actions.member_rsvp(runtime, gathering_id, mia, True) == "going"  # again: no change

    # `mo` leaves: the place goes to `max`, whose Join is accepted now.
    leave = mobilizon.leave_of(mo, url, group_id)
    assert (await mobilizon.post(mo, server.url("/groups/water/inbox"), leave))[0] == 202
    await mobilizon.wait_for(lambda r: _of_type("Accept")(r) and r.json["object"]["id"] == late["id"])
    assert await _rsvps(server, gathering_id) == [(None, mia, "going"), (max_.id, None, "going")]
    assert (await mobilizon.get(mo, url))[1]["participantCount"] == 2

    # A change of place: an Update to followers and to everyone coming (max's own inbox too).
    await actions.edit_gathering(
        runtime, gathering_id, gathering_form(place="Library, 9 Side Street", latitude="", longitude="")
    )
    update = (await peer.wait_for(_of_type("Update", "Event")))[0]
    assert update.json["object"]["location"]["name"] == "Library, 9 Side Street"
    assert "latitude" not in update.json["object"]["location"]
    await mobilizon.wait_for(lambda r: _of_type("Update", "Event")(r) and r.path == "/users/max/inbox")

    # Cancelled: an Update whose Event says CANCELLED, for Mobilizon (status) and Mastodon (the summary line).
    assert await actions.cancel_gathering(runtime, gathering_id) is True
    cancelled = (
        await peer.wait_for(
            lambda r: _of_type("Update", "Event")(r) and r.json["object"]["status"] == "CANCELLED"
        )
    )[0]
    assert cancelled.json["object"]["ical:status"] == "CANCELLED"
    assert cancelled.json["object"]["summary"].startswith("CANCELLED · ")
    assert FakeMobilizon.read_event(cancelled.json["object"])["status"] == "cancelled"
    assert await actions.cancel_gathering(runtime, gathering_id) is False

    # A Join after the cancellation is answered with a Reject of that Join, and nothing is stored.
    again = mobilizon.join_of(mo, url, group_id)
    assert (await mobilizon.post(mo, server.url("/groups/water/inbox"), again))[0] == 202
    reject = (
        await mobilizon.wait_for(lambda r: _of_type("Reject")(r) and r.json["object"]["id"] == again["id"])
    )[0]
    assert reject.json["object"]["type"] == "Join"
    assert mo.id not in [a for a, _, _ in await _rsvps(server, gathering_id)]
    with pytest.raises(actions.ActionError, match="cancelled"):
        await actions.member_rsvp(runtime, gathering_id, mia, False)


async def _has(server, gathering_id: int, entry: tuple[str | None, int | None, str]) -> bool:
    return entry in await _rsvps(server, gathering_id)


async def test_accept_tentative_accept_and_reject_of_the_event_are_rsvps_too(make_server, peer):
    """The vocabulary's own RSVP (Friendica's attend yes / maybe / no): going, a maybe that holds no place
    and stores nothing, and not going."""
    server = await make_server()
    bob = peer.add_actor("bob", "peer-1")
    gathering_id = await actions.create_gathering(server.runtime, None, gathering_form(capacity=""))
    url = server.url(f"/gatherings/{gathering_id}")
    inbox = server.url("/groups/water/inbox")

    def rsvp(kind: str, n: int) -> dict:
        return {"@context": "https://www.w3.org/ns/activitystreams", "type": kind, "actor": bob.id,
                "id": f"{peer.base_url}/rsvp/{n}", "object": {"type": "Event", "id": url}}  # fmt: skip

    assert (await peer.post(bob, inbox, rsvp("Accept", 1)))[0] == 202
    await eventually(lambda: _has(server, gathering_id, (bob.id, None, "going")))
    assert (await peer.post(bob, inbox, rsvp("TentativeAccept", 2)))[0] == 202
    await eventually(lambda: _rsvps_are(server, gathering_id, []))
    assert (await peer.post(bob, inbox, rsvp("Accept", 3)))[0] == 202
    await eventually(lambda: _has(server, gathering_id, (bob.id, None, "going")))
    assert (await peer.post(bob, inbox, rsvp("Reject", 4)))[0] == 202
    await eventually(lambda: _rsvps_are(server, gathering_id, []))
    # None of these was a Join: nothing answers them (an Accept of an Accept would mean nothing).
    await writes_settled(server.runtime)
    kinds = [r[0] for r in await server.runtime.db.fetchall("SELECT type FROM outbox_activities")]
    assert "Accept" not in kinds and "Reject" not in kinds


async def _rsvps_are(server, gathering_id: int, expected: list) -> bool:
    return await _rsvps(server, gathering_id) == expected


async def test_hostile_rsvps_are_refused_at_the_door_and_leave_nothing_behind(make_server, peer, mobilizon):
    server = await make_server()
    runtime = server.runtime
    group_id = server.url("/groups/water")
    eve = peer.add_actor("eve", "peer-1")
    mo = mobilizon.add_actor("mo", "peer-2")
    public = await actions.create_gathering(runtime, None, gathering_form())
    members_only = await actions.create_gathering(runtime, None, gathering_form(visibility="members"))
    followers_only = await actions.create_gathering(runtime, None, gathering_form(visibility="followers"))
    campaign = await actions.create_campaign(runtime, "Crossing", "Paint it.", goals=[parse_goal("people:5")])
    inbox = server.url("/groups/water/inbox")
    # Both signers' keys are known first (a signed GET caches them): what is compared is what RSVPs leave.
    for fake, account in ((mobilizon, mo), (peer, eve)):
        assert (await fake.get(account, server.url(f"/gatherings/{public}")))[0] == 200
    await writes_settled(runtime)
    before = await database_snapshot(runtime)

    unsigned = mobilizon.join_of(mo, server.url(f"/gatherings/{public}"), group_id)
    async with aiohttp.ClientSession() as session:
        async with session.post(
            inbox, json=unsigned, headers={"Content-Type": "application/activity+json"}
        ) as r:
            assert r.status == 401
    cases = [
        (mobilizon.join_of(mo, server.url(f"/campaigns/{campaign}"), group_id), 422, "rsvp-object-not-a-gathering"),
        (mobilizon.join_of(mo, group_id, group_id), 422, "rsvp-object-not-a-gathering"),
        (mobilizon.join_of(mo, "https://elsewhere.example/events/1", group_id), 422, "rsvp-object-not-a-gathering"),
        (mobilizon.join_of(mo, server.url("/gatherings/999"), group_id), 404, "unknown-gathering"),
        (mobilizon.join_of(mo, server.url(f"/gatherings/{members_only}"), group_id), 404, "unknown-gathering"),
        (mobilizon.join_of(mo, server.url(f"/gatherings/{followers_only}"), group_id), 403, "gathering-followers-only"),
        (mobilizon.leave_of(mo, server.url("/gatherings/01"), group_id), 422, "rsvp-object-not-a-gathering"),
        ({**mobilizon.join_of(mo, server.url(f"/gatherings/{public}"), group_id), "id": None}, 400, "missing-id"),
    ]  # fmt: skip
    for activity, expected, reason in cases:
        if activity.get("id") is None:
            activity.pop("id")
        status, text = await mobilizon.post(mo, inbox, activity)
        assert (status, text.strip()) == (expected, reason), activity
    # Another host's account, signed by someone on this one: the signer is not the actor.
    forged = mobilizon.join_of(mo, server.url(f"/gatherings/{public}"), group_id)
    assert (await peer.post(eve, inbox, forged)) == (403, "signer-not-actor\n")
    await writes_settled(runtime)
    assert await database_snapshot(runtime) == before


async def test_coming_counts_toward_the_campaigns_people_goal_once_and_stops_when_cancelled(
    make_server, mobilizon
):
    server = await make_server()
    runtime = server.runtime
    mo = mobilizon.add_actor("mo", "peer-2")
    campaign = await actions.create_campaign(
        runtime, "Crossing", "Paint it.", goals=[parse_goal("people:10")]
    )
    mia = await actions.add_member(runtime, "Mia Member", "member")
    olu = await actions.add_member(runtime, "Olu Organizer", "organizer")
    await actions.pledge(runtime, mia, campaign, kind="people", amount="1")
    gathering_id = await actions.create_gathering(
        runtime, None, gathering_form(campaign=str(campaign), capacity="")
    )
    second = await actions.create_gathering(
        runtime, None, gathering_form(campaign=str(campaign), capacity="")
    )

    async def people() -> Decimal:
        state = await runtime.db.read(actions.load_campaign, campaign)
        return state.tally.progress[0].pledged

    assert await people() == 1
    await actions.member_rsvp(runtime, gathering_id, mia, True)  # pledged already: not twice
    await actions.member_rsvp(runtime, gathering_id, olu, True)
    await actions.member_rsvp(runtime, second, olu, True)  # one person at two gatherings
    join = mobilizon.join_of(mo, server.url(f"/gatherings/{gathering_id}"), server.url("/groups/water"))
    assert (await mobilizon.post(mo, server.url("/inbox"), join))[0] == 202
    await eventually(lambda: _has(server, gathering_id, (mo.id, None, "going")))
    assert await people() == 3
    await actions.cancel_gathering(runtime, gathering_id)
    assert await people() == 2  # Olu still comes to the second one
    await actions.member_rsvp(runtime, second, olu, False)
    assert await people() == 1


async def test_who_comes_never_leaves_the_server(make_server, peer, mobilizon, caplog):
    caplog.set_level(logging.DEBUG)
    canary = "Canary Qz7Member"
    server = await make_server()
    runtime = server.runtime
    alice = peer.add_actor("alice", "peer-1")
    mo = mobilizon.add_actor("canaryqz7remote", "peer-2")
    await follow(peer, alice, server)
    member = await actions.add_member(runtime, canary, "member", "canary-qz7@private.example")
    gathering_id = await actions.create_gathering(runtime, None, gathering_form(capacity="1"))
    url = server.url(f"/gatherings/{gathering_id}")
    await actions.member_rsvp(runtime, gathering_id, member, True)
    join = mobilizon.join_of(mo, url, server.url("/groups/water"), message="canary-qz7 message")
    assert (await mobilizon.post(mo, server.url("/inbox"), join))[0] == 202
    await eventually(lambda: _has(server, gathering_id, (mo.id, None, "waiting")))
    await actions.edit_gathering(runtime, gathering_id, gathering_form(capacity="1", title="Renamed"))
    await peer.wait_for(_of_type("Update", "Event"))
    _, event = await peer.get(alice, url)
    page = await peer.get(None, url, accept="text/html")
    ics = await peer.get(None, url + "/calendar.ics", accept="text/calendar")
    listing = await peer.get(None, "/gatherings".join([server.base_url, ""]), accept="text/html")
    seen = [str(event), str(page), str(ics), str(listing)]
    seen += [r.body.decode() for r in peer.received] + [r.body.decode() for r in mobilizon.received]
    seen += [r.getMessage() for r in caplog.records]
    for text in seen:
        assert canary not in text and "canary-qz7" not in text
    assert "canaryqz7remote" not in "".join(seen[:4] + [r.body.decode() for r in peer.received])
    assert event["participantCount"] == 1  # the count is what leaves
    stored = await runtime.db.fetchall("SELECT * FROM gathering_rsvps")
    assert "canary-qz7 message" not in str([tuple(r) for r in stored])  # a participation message is not kept


async def test_fewer_going_than_the_groups_minimum_is_not_told_as_a_number(make_server, peer):
    """min_disclosed_count holds for gatherings as for campaigns: while fewer than 3 people are going, the
    Event carries no participantCount and no places left (they would tell the count), and pages say "fewer
    than 3" to visitors and members; organizers see the figures. From 3 going, the numbers are told."""
    server = await make_server(min_disclosed_count=3)
    runtime = server.runtime
    alice = peer.add_actor("alice", "peer-1")
    await follow(peer, alice, server)
    gathering_id = await actions.create_gathering(runtime, None, gathering_form(capacity="10"))
    url = server.url(f"/gatherings/{gathering_id}")
    created = (await peer.wait_for(_of_type("Create", "Event")))[0].json["object"]
    assert created["participantCount"] == 0 and created["remainingAttendeeCapacity"] == 10  # 0 names nobody
    hashed = passwords.hash_password("correct horse battery")
    people = [await actions.add_member(runtime, f"Member {n}", "member", None, hashed) for n in range(3)]
    await actions.add_member(runtime, "Olu Organizer", "organizer", None, hashed)
    organizer = WebClient(server.base_url)
    member = WebClient(server.base_url)
    try:
        await organizer.sign_in("Olu Organizer", "correct horse battery")
        await member.sign_in("Member 2", "correct horse battery")
        for going in (1, 2):
            await actions.member_rsvp(runtime, gathering_id, people[going - 1], True)
            _, event = await peer.get(alice, url)
            assert "participantCount" not in event and "remainingAttendeeCapacity" not in event, going
            assert event["maximumAttendeeCapacity"] == 10
            _, page = await peer.get(None, url, accept="text/html")
            assert "fewer than 3 of 10 places taken" in page and f"{going} of 10" not in page
            assert "fewer than 3 of 10 places taken" in (await member.get(f"/gatherings/{gathering_id}")).text
            assert f"{going} of 10 places taken" in (await organizer.get(f"/organize/gatherings/{gathering_id}")).text
        await actions.member_rsvp(runtime, gathering_id, people[2], True)
        _, event = await peer.get(alice, url)
        assert (event["participantCount"], event["remainingAttendeeCapacity"]) == (3, 7)
        _, page = await peer.get(None, url, accept="text/html")
        assert "3 of 10 places taken" in page
    finally:
        await organizer.close()
        await member.close()


async def test_the_ics_parses_with_icalendar(make_server):
    server = await make_server()
    gathering_id = await actions.create_gathering(
        server.runtime, None, gathering_form(online_url="https://meet.example/knock")
    )
    state = await server.runtime.db.read(actions.load_gathering, gathering_id)
    body = actions.calendar_of(server.runtime.ids, "Group A", [state])
    calendar = icalendar.Calendar.from_ical(body)
    (event,) = calendar.walk("VEVENT")
    assert str(event["uid"]) == server.url(f"/gatherings/{gathering_id}")
    assert str(event["summary"]) == "Door-knocking Saturday"
    assert event.decoded("dtstart") == state.row.starts_at
    assert event.decoded("dtend") == state.row.ends_at
    assert str(event["status"]) == "CONFIRMED"
    assert str(event["location"]) == "Community hall, 3 Main Street"
    assert (event["geo"].latitude, event["geo"].longitude) == (40.4168, -3.7038)
    assert "https://meet.example/knock" in str(event["description"])
    await actions.cancel_gathering(server.runtime, gathering_id)
    state = await server.runtime.db.read(actions.load_gathering, gathering_id)
    (event,) = icalendar.Calendar.from_ical(actions.calendar_of(server.runtime.ids, "A", [state])).walk(
        "VEVENT"
    )
    assert str(event["status"]) == "CANCELLED"
    assert int(event["sequence"]) >= 0


async def test_places_freed_by_an_erased_member_a_deleted_account_or_a_larger_capacity_go_to_the_waiting(
    make_server, mobilizon
):
    server = await make_server()
    runtime = server.runtime
    group_id = server.url("/groups/water")
    mo = mobilizon.add_actor("mo", "peer-2")
    max_ = mobilizon.add_actor("max", "peer-3")
    mia = await actions.add_member(runtime, "Mia Member", "member")
    noa = await actions.add_member(runtime, "Noa Member", "member")
    gathering_id = await actions.create_gathering(runtime, None, gathering_form(capacity="1"))
    url = server.url(f"/gatherings/{gathering_id}")
    assert await actions.member_rsvp(runtime, gathering_id, mia, True) == "going"
    for account in (mo, max_):
        join = mobilizon.join_of(account, url, group_id)
        assert (await mobilizon.post(account, server.url("/inbox"), join))[0] == 202
        await eventually(lambda a=account: _has(server, gathering_id, (a.id, None, "waiting")))
    assert await actions.member_rsvp(runtime, gathering_id, noa, True) == "waiting"

    [exported] = (await actions.export_member(runtime, mia))["gathering_rsvps"]
    assert (exported["gathering_title"], exported["state"]) == ("Door-knocking Saturday", "going")
    await actions.remove_member(runtime, mia)  # erased: the place goes to `mo`, who waited longest
    await mobilizon.wait_for(lambda r: _of_type("Accept")(r) and r.path == "/users/mo/inbox")
    gone = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{mo.id}#delete", "type": "Delete",
            "actor": mo.id, "object": mo.id, "to": ["https://www.w3.org/ns/activitystreams#Public"]}  # fmt: skip
    assert (await mobilizon.post(mo, server.url("/inbox"), gone))[0] == 202  # the account is deleted
    await mobilizon.wait_for(lambda r: _of_type("Accept")(r) and r.path == "/users/max/inbox")
    await actions.edit_gathering(runtime, gathering_id, gathering_form(capacity="2"))
    assert await _rsvps(server, gathering_id) == [(max_.id, None, "going"), (None, noa, "going")]


async def test_a_partner_group_takes_our_campaigns_from_the_outbox_but_no_gathering_as_a_campaign(
    make_server,
):
    a = await make_server("a", handle="tenants")
    b = await make_server("b", handle="foodbank")
    campaign_id = await actions.create_campaign(
        b.runtime, "Winter meals", "Hot meals.", goals=[parse_goal("hours:40")]
    )
    await actions.create_gathering(b.runtime, None, gathering_form())  # newer: first in the outbox
    await actions.follow_group(a.runtime, await a.runtime.actors.actor(b.url("/groups/foodbank")))

    async def imported() -> list[str]:
        return [p.object_id for p in await a.runtime.db.read(store.campaigns.partner_campaigns, None)]

    assert await eventually(imported) == [b.url(f"/campaigns/{campaign_id}")]


def test_the_event_reads_the_same_through_a_json_ld_processor_as_fedify_reads_it(tmp_path):
    """Fedify (and any JSON-LD reader) sees the terms, not the keys: the Event expanded with the bundled
    contexts keeps ActivityStreams' name, times, place and url, and Mobilizon's counts and status."""
    from pyld import jsonld as pyld

    from fedgroup.protocol import gatherings as documents
    from fedgroup.protocol.ids import LocalIds
    from fedgroup.protocol.jsonld import document_loader
    from fedgroup.store.gatherings import GatheringRow

    moment = datetime(2027, 1, 16, 9, tzinfo=UTC)
    row = GatheringRow(
        id=4, title="Door-knocking Saturday", description="Meet at the hall.", starts_at=moment,
        ends_at=moment + timedelta(hours=3), timezone=ZONE, place="Community hall", latitude=40.4168,
        longitude=-3.7038, online_url="https://meet.example/knock", capacity=30, campaign_id=None,
        visibility="public", status="cancelled", created_at=moment, updated_at=moment,
    )  # fmt: skip
    ids = LocalIds("https://water.example", "water")
    event = documents.event_object(ids, row, gatherings.counts(30, ["going"] * 12), minimum=3)
    [expanded] = pyld.expand(event, {"documentLoader": document_loader})
    as_ = "https://www.w3.org/ns/activitystreams#"

    def value(node: dict, term: str):
        return node[term][0].get("@value", node[term][0].get("@id"))

    assert expanded["@type"] == [as_ + "Event"]
    assert value(expanded, as_ + "name") == "Door-knocking Saturday"
    assert value(expanded, as_ + "startTime") == "2027-01-16T10:00:00+01:00"
    assert value(expanded, as_ + "endTime") == "2027-01-16T13:00:00+01:00"
    [place] = expanded[as_ + "location"]
    assert place["@type"] == [as_ + "Place"] and value(place, as_ + "latitude") == 40.4168
    assert value(place, "http://schema.org#address") == "Community hall"
    assert value(expanded, "https://joinmobilizon.org/ns#participantCount") == 12
    assert value(expanded, "http://schema.org#remainingAttendeeCapacity") == 18
    assert value(expanded, "http://www.w3.org/2002/12/cal/ical#status") == "CANCELLED"
    [link] = expanded[as_ + "attachment"]
    assert value(link, as_ + "href") == "https://meet.example/knock"


async def test_an_undo_of_ones_own_join_or_accept_is_not_going(make_server, mobilizon):
    """Servers that retract an RSVP with an Undo of it (rather than Mobilizon's Leave) are heard the same."""
    server = await make_server()
    group_id = server.url("/groups/water")
    mo = mobilizon.add_actor("mo", "peer-2")
    max_ = mobilizon.add_actor("max", "peer-3")
    gathering_id = await actions.create_gathering(server.runtime, None, gathering_form(capacity="1"))
    url = server.url(f"/gatherings/{gathering_id}")
    joins = {}
    for account in (mo, max_):
        joins[account.id] = mobilizon.join_of(account, url, group_id)
        assert (await mobilizon.post(account, server.url("/inbox"), joins[account.id]))[0] == 202
        await eventually(lambda a=account: _rsvp_of(server, gathering_id, a.id))
    assert await _rsvps(server, gathering_id) == [(mo.id, None, "going"), (max_.id, None, "waiting")]
    # An Undo of someone else's Join changes nothing; the account's own does.
    embedded = {k: v for k, v in joins[mo.id].items() if k != "@context"}
    theirs = {"@context": "https://www.w3.org/ns/activitystreams", "type": "Undo", "actor": max_.id,
              "id": f"{max_.id}#undo/1", "object": embedded}  # fmt: skip
    own = {**theirs, "actor": mo.id, "id": f"{mo.id}#undo/2"}
    assert (await mobilizon.post(max_, server.url("/inbox"), theirs))[0] == 202
    assert (await mobilizon.post(mo, server.url("/inbox"), own))[0] == 202
    await mobilizon.wait_for(
        lambda r: _of_type("Accept")(r) and r.json["object"]["id"] == joins[max_.id]["id"]
    )
    assert await _rsvps(server, gathering_id) == [(max_.id, None, "going")]


async def _rsvp_of(server, gathering_id: int, actor: str) -> bool:
    return any(a == actor for a, _, _ in await _rsvps(server, gathering_id))
