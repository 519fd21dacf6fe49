"""Partner groups are explicit, and their aggregates plausible: attacks on a group's totals through `Pledge`.

Each test runs a real server on loopback; the Mastodon-shaped peer plays a plain account, a group that is no
partner, and a partner that sends too much, signing everything as a real server would. What is asserted is
what people and peers observe: the public campaign page, the totals federated to followers, the organizer's
page and CLI, and what the database holds.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid

import pytest

from fedgroup import actions, store
from fedgroup.rules.campaigns import parse_goal, parse_option
from tests.conftest import eventually, inbox_handled
from tests.test_federation import follow
from tests.test_moderation import organizer

AS = "https://www.w3.org/ns/activitystreams"
FEDGROUP_CONTEXT = [AS, {"fedgroup": "https://w3id.org/fedgroup/ns#"}]
GIVE = "Give €20"
LEAFLET = "Leaflet for 2 hours"


async def crossing(server) -> int:
    """A public campaign with a €500 goal and a 40-hour goal, €20 of it pledged by a member."""
    runtime = server.runtime
    campaign_id = await actions.create_campaign(
        runtime, "A safe crossing", "Four lanes.", goals=[parse_goal("money:500:EUR"), parse_goal("hours:40")],
        options=[parse_option(f"{GIVE}=money:20"), parse_option(f"{LEAFLET}=hours:2")],
    )  # fmt: skip
    member = await actions.add_member(runtime, "Rosa", "member")
    await actions.pledge(runtime, member, campaign_id, option=GIVE)
    return campaign_id


def pledge_of(actor, campaign: str, pledgers, contributions: list, pledge_id: str | None = None) -> dict:
    return {
        "@context": FEDGROUP_CONTEXT,
        "id": pledge_id or f"{actor.id}#pledges/{uuid.uuid4()}",
        "type": "Pledge",
        "actor": actor.id,
        "to": [campaign.rsplit("/campaigns/", 1)[0]],
        "object": campaign,
        "pledgers": pledgers,
        "contributions": contributions,
    }


def update_of(actor, pledge: dict) -> dict:
    return {
        "@context": FEDGROUP_CONTEXT,
        "id": f"{actor.id}#updates/{uuid.uuid4()}",
        "type": "Update",
        "actor": actor.id,
        "object": {k: v for k, v in pledge.items() if k != "@context"},
    }


def money(amount: str, pledgers: int, option: str | None = None) -> dict:
    return {"kind": "money", "amount": amount, "option": option, "pledgers": pledgers}


async def deliver(peer, actor, server, activity: dict) -> None:
    """Post to the group inbox and wait until the server has handled it (and handled it without failing)."""
    status, text = await peer.post(actor, server.url("/groups/water/inbox"), activity)
    assert status == 202, text
    assert await eventually(lambda: inbox_handled(server.runtime, activity["id"])) == "done"


async def tally(server, campaign_id: int):
    state = await server.runtime.db.read(actions.load_campaign, campaign_id)
    assert state is not None
    return state.tally


async def public_page(server, campaign_id: int) -> str:
    status, text = await _anonymous_get(server.url(f"/campaigns/{campaign_id}"))
    assert status == 200
    return text


async def _anonymous_get(url: str) -> tuple[int, str]:
    import aiohttp

    async with aiohttp.ClientSession() as session:
        async with session.get(url) as response:
            return response.status, await response.text()


async def totals_pending(server, campaign_id: int) -> str | None:
    """When the totals last changed (None: never): an Update to followers is due whenever it moves."""
    return await server.runtime.db.scalar(
        "SELECT totals_changed_at FROM campaigns WHERE id = ?", (campaign_id,)
    )


async def aggregates(server) -> tuple[list, list]:
    db = server.runtime.db
    return (
        [tuple(r) for r in await db.fetchall("SELECT group_actor, pledgers FROM group_pledges")],
        [tuple(r) for r in await db.fetchall("SELECT group_actor, pledgers, reason FROM held_group_pledges")],
    )


async def fedgroup_cli(server, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI beside the running server (in a thread: the server's event loop keeps running)."""
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "fedgroup.cli", *args, "--data-dir", str(server.config.data_dir)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


# -- the attack: a plain account pledges a fortune ------------------------------------------------------------


async def test_a_plain_follower_pledging_a_fortune_changes_nothing(make_server, peer):
    """Before: any accepted follower's Pledge counted — "€1,000,019 of €500" on the public page, and the
    Update with it went to every follower."""
    server = await make_server()
    campaign_id = await crossing(server)
    campaign = server.url(f"/campaigns/{campaign_id}")
    mallory = peer.add_actor("mallory", "peer-1")  # a Person, as on any Mastodon server
    await follow(peer, mallory, server)
    changed_before = await totals_pending(server, campaign_id)

    attack = pledge_of(mallory, campaign, 1_000_000, [money("999999", 1_000_000)])
    await deliver(peer, mallory, server, attack)
    await deliver(peer, mallory, server, update_of(mallory, attack))

    assert (await tally(server, campaign_id)).partner_groups == 0
    page = await public_page(server, campaign_id)
    assert "€20 of €500" in page and "999,999" not in page and "1,000,019" not in page
    assert await totals_pending(server, campaign_id) == changed_before, "no Update goes to followers"
    assert await aggregates(server) == ([], []), "nothing of it is stored, not even for an organizer"


# -- a group is a partner only once accepted ------------------------------------------------------------------


async def test_a_group_that_follows_is_a_partner_request_until_an_organizer_accepts_it(make_server, peer):
    server = await make_server()
    campaign_id = await crossing(server)
    campaign = server.url(f"/campaigns/{campaign_id}")
    coats = peer.add_actor("coats", "peer-1", actor_type="Group")
    coats.document["name"] = "Coats for All"
    alice = peer.add_actor("alice", "peer-2")  # an ordinary follower, who hears totals through Updates
    await follow(peer, alice, server)
    await follow(peer, coats, server)

    sane = pledge_of(coats, campaign, 3, [money("60", 3, GIVE)])
    await deliver(peer, coats, server, sane)
    assert (await tally(server, campaign_id)).partner_groups == 0, "not a partner yet: not counted"
    assert "€20 of €500" in await public_page(server, campaign_id)
    assert await aggregates(server) == ([], [(coats.id, 3, "not-a-partner")])

    # Organizers see the request, with what waits, on their page and from the CLI.
    client = await organizer(server)
    try:
        page = await client.get("/organize")
        assert (
            "Partner requests" in page.text
            and "Coats for All" in page.text
            and "1 pledge waiting" in page.text
        )
        listed = await fedgroup_cli(server, "coalition", "partners")
        assert listed.returncode == 0, listed.stderr
        assert listed.stdout.split("\t")[:2] == [coats.id, "requested"]

        accepted = await client.post(
            "/organize/partners", {"actor": coats.id, "answer": "accept"}, "/organize"
        )
        assert accepted.status == 200 and "Accepted as a partner group" in accepted.text
    finally:
        await client.close()

    # Accepted: what it sent meanwhile counts, and followers hear the new totals.
    state = await tally(server, campaign_id)
    assert state.partner_groups == 1 and state.pledgers == 4
    assert "€80 of €500" in await public_page(server, campaign_id)
    await peer.wait_for(
        lambda r: r.json and r.json.get("type") == "Update" and r.json["object"].get("partnerGroups") == 1
    )

    # An organizer who changes their mind: it leaves the totals, and later aggregates are dropped.
    rejected = await fedgroup_cli(server, "coalition", "reject-partner", coats.id)
    assert rejected.returncode == 0, rejected.stderr
    await eventually(lambda: _partner_groups_are(server, campaign_id, 0))
    await deliver(peer, coats, server, update_of(coats, sane))
    assert await aggregates(server) == ([], [])
    assert "€20 of €500" in await public_page(server, campaign_id)


async def _partner_groups_are(server, campaign_id: int, n: int) -> bool:
    return (await tally(server, campaign_id)).partner_groups == n


async def test_only_groups_can_be_partners(make_server, peer):
    server = await make_server()
    mallory = peer.add_actor("mallory", "peer-1")
    await follow(peer, mallory, server)
    with pytest.raises(actions.ActionError, match="not a group"):
        await actions.accept_partner(server.runtime, mallory.id)
    stranger = peer.add_actor("stranger", "peer-2", actor_type="Group")
    await server.runtime.actors.actor(stranger.id)  # known, but not following
    with pytest.raises(actions.ActionError, match="does not follow"):
        await actions.accept_partner(server.runtime, stranger.id)
    refused = await fedgroup_cli(server, "coalition", "accept-partner", mallory.id)
    assert (
        refused.returncode == 2
        and refused.stderr.startswith("fedgroup: error:")
        and "not a group" in refused.stderr
    )


# -- a partner's aggregates are bounded -----------------------------------------------------------------------


async def test_a_partner_beyond_its_bounds_is_held_until_an_organizer_approves(make_server, peer):
    server = await make_server()
    campaign_id = await crossing(server)
    campaign = server.url(f"/campaigns/{campaign_id}")
    coats = peer.add_actor("coats", "peer-1", actor_type="Group")
    coats.document["membersAtMost"] = 10  # as a fedgroup group publishes it
    await follow(peer, coats, server)
    await actions.accept_partner(server.runtime, coats.id)

    first = pledge_of(coats, campaign, 5, [money("100", 5, GIVE)])
    await deliver(peer, coats, server, first)
    assert "€120 of €500" in await public_page(server, campaign_id)
    changed = await totals_pending(server, campaign_id)

    # 50 pledgers from a group of at most 10: held, and the page keeps the aggregate it had.
    jump = dict(first, pledgers=50, contributions=[money("1000", 50, GIVE)])
    await deliver(peer, coats, server, update_of(coats, jump))
    assert await aggregates(server) == ([(coats.id, 5)], [(coats.id, 50, "more-pledgers-than-members")])
    assert "€120 of €500" in await public_page(server, campaign_id)
    assert await totals_pending(server, campaign_id) == changed, "nothing federates while it waits"

    listed = await fedgroup_cli(server, "coalition", "held")
    assert listed.returncode == 0, listed.stderr
    held_id, held_campaign, held_group, *_ = listed.stdout.split("\t")
    assert (held_campaign, held_group) == (str(campaign_id), coats.id)
    assert "more-pledgers-than-members" in listed.stdout and "money:1000 (Give €20) from 50" in listed.stdout
    approved = await fedgroup_cli(server, "coalition", "approve-held", held_id)
    assert approved.returncode == 0, approved.stderr
    await eventually(lambda: _page_shows(server, campaign_id, "€1,020 of €500"))
    assert (await tally(server, campaign_id)).pledgers == 51

    # Up to what was approved, later updates count; beyond it they wait again.
    await deliver(
        peer,
        coats,
        server,
        update_of(coats, dict(first, pledgers=40, contributions=[money("800", 40, GIVE)])),
    )
    assert "€820 of €500" in await public_page(server, campaign_id)
    await deliver(
        peer,
        coats,
        server,
        update_of(coats, dict(first, pledgers=60, contributions=[money("1200", 60, GIVE)])),
    )
    assert "€820 of €500" in await public_page(server, campaign_id)
    [held] = await actions.held_aggregates(server.runtime)
    client = await organizer(server)
    try:
        page = await client.get("/organize")
        assert "Pledges waiting for you" in page.text and "€1,200 from 60 members" in page.text
        rejected = await client.post(
            "/organize/partners/held", {"held": str(held.id), "answer": "reject"}, "/organize"
        )
        assert rejected.status == 200 and "that aggregate pledge is not counted" in rejected.text
    finally:
        await client.close()
    assert await aggregates(server) == ([(coats.id, 40)], [])
    assert "€820 of €500" in await public_page(server, campaign_id)


async def _page_shows(server, campaign_id: int, text: str) -> bool:
    return text in await public_page(server, campaign_id)


async def test_a_partner_without_a_published_size_pledging_past_a_goal_is_held(make_server, peer):
    server = await make_server()
    campaign_id = await crossing(server)
    campaign = server.url(f"/campaigns/{campaign_id}")
    coats = peer.add_actor("coats", "peer-1", actor_type="Organization")  # publishes no membersAtMost
    await follow(peer, coats, server)
    await actions.accept_partner(server.runtime, coats.id)

    too_many = pledge_of(coats, campaign, 21, [money("420", 21, GIVE)])  # the default bound is 20
    await deliver(peer, coats, server, too_many)
    past_goal = pledge_of(coats, campaign, 2, [money("600", 2)])  # more than the whole €500 goal
    await deliver(peer, coats, server, past_goal)
    assert await aggregates(server) == ([], [(coats.id, 2, "more-than-the-goal")])
    assert "€20 of €500" in await public_page(server, campaign_id)
    fine = pledge_of(
        coats, campaign, 20, [money("400", 20, GIVE), {"kind": "hours", "amount": "6", "pledgers": 3}]
    )
    await deliver(peer, coats, server, fine)
    assert await aggregates(server) == ([(coats.id, 20)], [])
    assert "€420 of €500" in await public_page(server, campaign_id)


# -- hostile aggregates from an accepted partner --------------------------------------------------------------

HOSTILE_CONTRIBUTIONS = {
    "negative": [money("-50", 1)],
    "NaN": [money("NaN", 1)],
    "infinity": [money("Infinity", 1)],
    "huge exponent": [money("1e999999", 1)],
    "exponent within bounds": [money("1E2", 1)],
    "hexadecimal": [money("0x10", 1)],
    "other digits": [money("١٢", 1)],
    "three decimals": [money("12.345", 1)],
    "a float": [{"kind": "money", "amount": 1e300, "pledgers": 1}],
    "zero": [money("0", 1)],
    "unknown kind": [{"kind": "gold", "amount": "5", "pledgers": 1}],
    "kind without a goal": [{"kind": "people", "amount": "5", "pledgers": 1}],
    "option of another amount": [money("999", 1, GIVE)],
    "option of another kind": [{"kind": "hours", "amount": "20", "option": GIVE, "pledgers": 1}],
    "line without pledgers": [money("20", 0)],
    "the same line twice": [money("20", 1, GIVE), money("20", 1, GIVE)],
    "more line pledgers than pledgers": [money("10", 2), money("20", 2, GIVE)],
    "no lines": [],
    "pledgers not a number": [{"kind": "money", "amount": "5", "pledgers": "1"}],
}


async def test_hostile_aggregates_from_a_partner_are_dropped_whole(make_server, peer):
    server = await make_server()
    campaign_id = await crossing(server)
    members_only = await actions.create_campaign(
        server.runtime, "Inside", "b", goals=[parse_goal("money:500:EUR")], visibility="members"
    )
    campaign = server.url(f"/campaigns/{campaign_id}")
    coats = peer.add_actor("coats", "peer-1", actor_type="Group")
    await follow(peer, coats, server)
    await actions.accept_partner(server.runtime, coats.id)
    changed = await totals_pending(server, campaign_id)

    hostile = {name: pledge_of(coats, campaign, 2, lines) for name, lines in HOSTILE_CONTRIBUTIONS.items()}
    hostile["no pledgers"] = pledge_of(coats, campaign, 0, [money("20", 1)])
    hostile["boolean pledgers"] = pledge_of(coats, campaign, True, [money("20", 1)])
    for name, target in {
        "a campaign of another server": f"{peer.base_url}/campaigns/{campaign_id}",
        "a superscript campaign number": server.url("/campaigns/²"),
        "another script's digit": server.url("/campaigns/١"),
        "a zero-padded number": server.url(f"/campaigns/0{campaign_id}"),
        "a members-only campaign": server.url(f"/campaigns/{members_only}"),
        "no campaign at all": server.url("/campaigns/999"),
    }.items():
        hostile[name] = pledge_of(coats, target, 1, [money("20", 1)])
    for name, activity in hostile.items():
        status, _ = await peer.post(coats, server.url("/groups/water/inbox"), activity)
        assert status in (202, 400), name
        if status == 202:
            assert await eventually(lambda a=activity: inbox_handled(server.runtime, a["id"])) == "done", name
        assert await aggregates(server) == ([], []), name
    assert await totals_pending(server, campaign_id) == changed
    assert "€20 of €500" in await public_page(server, campaign_id)

    # One id is one aggregate: reusing a counted aggregate's id for another campaign is refused.
    other = await actions.create_campaign(server.runtime, "Other", "b", goals=[parse_goal("money:500:EUR")])
    good = pledge_of(coats, campaign, 1, [money("20", 1, GIVE)])
    await deliver(peer, coats, server, good)
    await deliver(
        peer,
        coats,
        server,
        pledge_of(coats, server.url(f"/campaigns/{other}"), 1, [money("5", 1)], good["id"]),
    )
    assert await aggregates(server) == ([(coats.id, 1)], [])
    assert (await tally(server, other)).partner_groups == 0


# -- when a partnership ends, its aggregates leave the totals -------------------------------------------------


async def test_a_partner_that_unfollows_or_is_blocked_leaves_the_totals(make_server, peer):
    server = await make_server()
    campaign_id = await crossing(server)
    campaign = server.url(f"/campaigns/{campaign_id}")
    coats = peer.add_actor("coats", "peer-1", actor_type="Group")
    meals = peer.add_actor("meals", "peer-2", actor_type="Group")
    coats_follow = await follow(peer, coats, server)
    await follow(peer, meals, server)
    for group in (coats, meals):
        await actions.accept_partner(server.runtime, group.id)
        await deliver(peer, group, server, pledge_of(group, campaign, 2, [money("40", 2, GIVE)]))
    assert "€100 of €500" in await public_page(server, campaign_id)

    undo = {"@context": AS, "id": f"{coats.id}#undo/{uuid.uuid4()}", "type": "Undo", "actor": coats.id,
            "object": coats_follow}  # fmt: skip
    await deliver(peer, coats, server, undo)
    assert "€60 of €500" in await public_page(server, campaign_id)
    assert (await tally(server, campaign_id)).partner_groups == 1
    # Following again is a new partner request: nothing counts until an organizer accepts again.
    await follow(peer, coats, server)
    await deliver(peer, coats, server, pledge_of(coats, campaign, 2, [money("40", 2, GIVE)]))
    assert "€60 of €500" in await public_page(server, campaign_id)

    await actions.block(server.runtime, meals.id)
    assert "€20 of €500" in await public_page(server, campaign_id)
    assert await aggregates(server) == ([], [(coats.id, 2, "not-a-partner")])
    await peer.wait_for(
        lambda r: r.json and r.json.get("type") == "Update" and r.json["object"].get("partnerGroups") == 0
    )


async def test_a_group_we_follow_back_is_a_partner_until_we_leave_it(make_server, peer):
    server = await make_server()
    campaign_id = await crossing(server)
    campaign = server.url(f"/campaigns/{campaign_id}")
    coats = peer.add_actor("coats", "peer-1", actor_type="Group")
    await follow(peer, coats, server)
    await actions.follow_group(server.runtime, await server.runtime.actors.actor(coats.id))
    [follow_request] = await peer.wait_for(lambda r: r.json and r.json.get("type") == "Follow")
    accept = {"@context": AS, "id": f"{coats.id}#accepts/1", "type": "Accept", "actor": coats.id,
              "object": follow_request.json}  # fmt: skip
    await deliver(peer, coats, server, accept)

    await deliver(peer, coats, server, pledge_of(coats, campaign, 2, [money("40", 2, GIVE)]))
    assert "€60 of €500" in await public_page(server, campaign_id)
    [view] = await actions.partner_groups(server.runtime)
    assert (view.status, view.via) == ("partner", "following")

    await actions.leave_group(server.runtime, coats.id)
    assert "€20 of €500" in await public_page(server, campaign_id)
    assert await aggregates(server) == ([], [(coats.id, 2, "not-a-partner")]), (
        "a request again, kept for organizers"
    )


# -- upgrading: what counted under the old rule ----------------------------------------------------------------


async def test_upgrading_holds_aggregates_of_groups_that_are_not_partners(tmp_path):
    """A database from before partner groups: an aggregate of a group we follow keeps counting, one of a
    mere follower waits for an organizer, and the campaign's totals are published again."""
    import sqlite3
    from importlib import resources

    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    migrations = sorted(
        entry
        for entry in resources.files("fedgroup.store.migrations").iterdir()
        if entry.name.endswith(".sql")
    )
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    for version, entry in enumerate(migrations[:4], start=1):
        conn.executescript(entry.read_text(encoding="utf-8"))
        conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
    stamp = "2026-01-01T00:00:00.000000Z"
    conn.execute(
        "INSERT INTO campaigns (id, title, body, visibility, created_at, updated_at) VALUES (1, 't', 'b', 'public', ?, ?)",
        (stamp, stamp),
    )
    conn.execute(
        "INSERT INTO following (actor_id, follow_id, state, created_at) VALUES ('https://b.example/g', 'f', 'accepted', ?)",
        (stamp,),
    )
    for group in ("https://b.example/g", "https://m.example/u"):
        conn.execute(
            "INSERT INTO group_pledges (campaign_id, group_actor, pledge_id, pledgers, contributions, updated_at)"
            " VALUES (1, ?, ?, 2, '[]', ?)",
            (group, group + "#p", stamp),
        )
    conn.commit()
    conn.close()

    async with store.Database(path) as db:
        assert await db.schema_version() == len(migrations)
        counted = await db.fetchall("SELECT group_actor FROM group_pledges")
        held = await db.fetchall("SELECT group_actor, pledge_id, reason FROM held_group_pledges")
        assert [tuple(r) for r in counted] == [("https://b.example/g",)]
        assert [tuple(r) for r in held] == [("https://m.example/u", "https://m.example/u#p", "not-a-partner")]
        changed = await db.scalar("SELECT totals_changed_at FROM campaigns WHERE id = 1")
        assert changed is not None and store.from_db_time(changed) is not None
