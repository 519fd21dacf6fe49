"""What remote servers send about campaigns: replies, and fedgroup extension data from strangers and partners.

Everything here is posted, signed, to a real server's inbox by the Mastodon-shaped peer; the peer's actors may
claim to be groups and send fedgroup's extension terms with hostile values.
"""

from __future__ import annotations

import uuid

from fedgroup import actions, store
from fedgroup.rules.campaigns import parse_goal, parse_option
from tests.conftest import eventually, inbox_handled
from tests.test_federation import PUBLIC, follow

HOSTILE_HTML = (
    '<p>Count me in! <script>alert("x")</script><a href="javascript:steal()">me</a>'
    '<img src="https://tracker.example/p.gif" onerror="steal()"></p>'
)


def create(actor, obj: dict) -> dict:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{obj['id']}/activity",
        "type": "Create",
        "actor": actor.id,
        "to": obj.get("to", [PUBLIC]),
        "object": obj,
    }


def note_id(actor) -> str:
    return f"{actor.id.rsplit('/users/', 1)[0]}/notes/{uuid.uuid4()}"


async def test_replies_are_kept_clean_for_organizers_and_go_with_their_note(make_server, peer):
    server = await make_server()
    alice = peer.add_actor("alice", "peer-1")
    await follow(peer, alice, server)
    public = await actions.create_campaign(server.runtime, "Crossing", "Paint it", visibility="public")
    hidden = await actions.create_campaign(server.runtime, "Internal", "members only", visibility="members")
    inbox = server.url("/groups/water/inbox")

    reply = {
        "id": note_id(alice),
        "type": "Note",
        "attributedTo": alice.id,
        "content": HOSTILE_HTML,
        "inReplyTo": server.url(f"/campaigns/{public}"),
        "to": [PUBLIC],
    }
    to_hidden = dict(reply, id=note_id(alice), inReplyTo=server.url(f"/campaigns/{hidden}"))
    for obj in (to_hidden, reply):
        assert (await peer.post(alice, inbox, create(alice, obj)))[0] == 202
    await eventually(lambda: inbox_handled(server.runtime, reply["id"] + "/activity"))
    await eventually(lambda: inbox_handled(server.runtime, to_hidden["id"] + "/activity"))

    [comment] = await server.runtime.db.read(store.campaigns.comments, public)
    assert comment.author == alice.id and "Count me in!" in comment.content
    for bad in ("<script", "javascript:", "onerror", "tracker.example"):
        assert bad not in comment.content
    assert await server.runtime.db.read(store.campaigns.comments, hidden) == [], "members campaigns take none"

    # Someone else cannot delete alice's reply; alice can.
    mallory = peer.add_actor("mallory", "peer-2")
    for actor in (mallory, alice):
        delete = {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"{actor.id}#delete-{uuid.uuid4()}",
            "type": "Delete",
            "actor": actor.id,
            "to": [PUBLIC],
            "object": {"id": reply["id"], "type": "Tombstone"},
        }
        assert (await peer.post(actor, inbox, delete))[0] == 202
        await eventually(lambda d=delete: inbox_handled(server.runtime, d["id"]))
        left = await server.runtime.db.read(store.campaigns.comments, public)
        assert len(left) == (1 if actor is mallory else 0)


def fedgroup_question(actor, **extension) -> dict:
    """A campaign as a fedgroup server federates it, with the extension terms given."""
    return {
        "id": note_id(actor),
        "type": "Question",
        "attributedTo": actor.id,
        "name": "Winter coats",
        "content": "<p>Coats for the shelter</p>",
        "to": [PUBLIC],
        "oneOf": [{"type": "Note", "name": "One coat", "replies": {"type": "Collection", "totalItems": 3}}],
        **extension,
    }


GOOD = {
    "goals": [{"kind": "items", "target": "40", "unit": "coats", "pledged": "3"}],
    "pledgeOptions": [{"name": "One coat", "kind": "items", "amount": "1"}],
}

HOSTILE_EXTENSIONS = {
    "negative target": {"goals": [{"kind": "money", "target": "-500", "unit": "EUR"}]},
    "NaN target": {"goals": [{"kind": "hours", "target": "NaN"}]},
    "astronomic target": {"goals": [{"kind": "hours", "target": "1e999999"}]},
    "unknown kind": {"goals": [{"kind": "gold", "target": "10"}]},
    "unknown currency": {"goals": [{"kind": "money", "target": "10", "unit": "XXBTC"}]},
    "duplicate goals": {"goals": [{"kind": "hours", "target": "1"}, {"kind": "hours", "target": "2"}]},
    "option for no goal": {
        "goals": [{"kind": "hours", "target": "10"}],
        "pledgeOptions": [{"name": "Money", "kind": "money", "amount": "5"}],
    },
    "option label not a string": {
        "goals": [{"kind": "hours", "target": "10"}],
        "pledgeOptions": [{"name": {"@value": "x"}, "kind": "hours", "amount": "1"}],
    },
    "a flood of goals": {"goals": [{"kind": "hours", "target": str(i + 1)} for i in range(500)]},
    "pledged is not a number": {"goals": [{"kind": "hours", "target": "10", "pledged": "lots"}]},
}


async def test_fedgroup_extension_is_trusted_only_from_partners_and_checked_like_our_own_forms(
    make_server, peer
):
    server = await make_server()
    org = peer.add_actor("coats", "peer-1", actor_type="Group")
    inbox = server.url("/groups/water/inbox")
    db = server.runtime.db

    # A stranger (not followed by us) sending a well-formed campaign is not stored as a partner campaign.
    stranger_campaign = fedgroup_question(org, **GOOD)
    assert (await peer.post(org, inbox, create(org, stranger_campaign)))[0] == 202
    await eventually(lambda: inbox_handled(server.runtime, stranger_campaign["id"] + "/activity"))
    assert await db.read(store.campaigns.partner_campaign_by_object, stranger_campaign["id"]) is None

    # Now we follow it and it accepts: it is a partner.
    await actions.follow_group(server.runtime, await server.runtime.actors.actor(org.id))
    [follow_request] = await peer.wait_for(lambda r: r.json and r.json.get("type") == "Follow")
    accept = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{org.id}#accepts/1",
        "type": "Accept",
        "actor": org.id,
        "object": follow_request.json,
    }
    assert (await peer.post(org, inbox, accept))[0] == 202

    async def accepted():
        following = await db.read(store.follows.following_of, org.id)
        return following is not None and following.state == "accepted"

    await eventually(accepted)

    # Every hostile variant is refused whole: nothing stored, no error beyond a log line.
    for name, extension in HOSTILE_EXTENSIONS.items():
        campaign = fedgroup_question(org, **extension)
        status, _ = await peer.post(org, inbox, create(org, campaign))
        assert status in (202, 400), name
        await eventually(lambda c=campaign: inbox_handled(server.runtime, c["id"] + "/activity"))
        assert await db.read(store.campaigns.partner_campaign_by_object, campaign["id"]) is None, name

    # A good one is stored, its HTML made safe, its numbers exact.
    good = fedgroup_question(org, **GOOD, content=HOSTILE_HTML)
    assert (await peer.post(org, inbox, create(org, good)))[0] == 202
    stored = await eventually(lambda: db.read(store.campaigns.partner_campaign_by_object, good["id"]))
    assert "<script" not in stored.content and "javascript:" not in stored.content
    assert "Count me in!" in stored.content


async def test_group_pledges_count_only_from_accepted_followers_and_only_sane_ones(make_server, peer):
    server = await make_server()
    campaign_id = await actions.create_campaign(
        server.runtime,
        "Coats",
        "b",
        visibility="public",
        goals=[parse_goal("items:40:coats")],
        options=[parse_option("One coat=items:1")],
    )
    campaign = server.url(f"/campaigns/{campaign_id}")
    inbox = server.url("/groups/water/inbox")
    org = peer.add_actor("coats", "peer-1", actor_type="Group")

    def pledge(pledgers, amount="1", kind="items"):  # one pledger of "One coat" (items:1)
        return {
            "@context": [
                "https://www.w3.org/ns/activitystreams",
                {"fedgroup": "https://w3id.org/fedgroup/ns#"},
            ],
            "id": f"{org.id}#pledges/{uuid.uuid4()}",
            "type": "Pledge",
            "actor": org.id,
            "to": [server.url("/groups/water")],
            "object": campaign,
            "pledgers": pledgers,
            "contributions": [{"kind": kind, "amount": amount, "option": "One coat", "pledgers": 1}],
        }

    async def counted():
        state = await server.runtime.db.read(actions.load_campaign, campaign_id)
        return state.tally.partner_groups

    # Not a follower: ignored.
    stranger = pledge(2)
    assert (await peer.post(org, inbox, stranger))[0] == 202
    await eventually(lambda: inbox_handled(server.runtime, stranger["id"]))
    assert await counted() == 0

    follow_activity = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{org.id}#follows/1",
        "type": "Follow",
        "actor": org.id,
        "object": server.url("/groups/water"),
    }
    assert (await peer.post(org, inbox, follow_activity))[0] == 202
    await eventually(lambda: server.runtime.db.read(store.follows.is_accepted_follower, org.id))
    await actions.accept_partner(server.runtime, org.id)  # a follower counts only as an accepted partner

    for bad in (pledge(True), pledge(-1), pledge(10**9), pledge(2, amount="-3"), pledge(2, kind="money")):
        assert (await peer.post(org, inbox, bad))[0] in (202, 400)
        await eventually(lambda b=bad: inbox_handled(server.runtime, b["id"]))
        assert await counted() == 0, bad
    good = pledge(2)
    assert (await peer.post(org, inbox, good))[0] == 202
    await eventually(lambda: inbox_handled(server.runtime, good["id"]))
    assert await counted() == 1
