"""Conformance beyond the fixture corpus (test_interop_corpus.py): the classes of difference real servers show
— ambiguous JSON, single or several values, embedded or named actors and objects, half-expanded JSON-LD — and
what we send (a totals Update is no edit), each against a live server where there is one to run."""

from __future__ import annotations

import uuid

import orjson
import pytest

from fedgroup import actions, store
from fedgroup.federation.inbox import has_duplicate_keys
from fedgroup.rules.campaigns import parse_goal, parse_option
from tests.conftest import eventually
from tests.test_coalition import vote
from tests.test_federation import follow

# -- ambiguous JSON -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "duplicated"),
    [
        (b'{"type": "Follow", "object": "a", "object": "b"}', True),
        (b'{"object": {"id": "x", "id": "y"}}', True),  # nested
        (b'{"a": "x:y:z", "b": {"c": "::"}}', False),  # colons inside strings
        (b'{"a": "\\u003a", "a": 1}', True),  # an escaped colon must not hide the second key
        (b'{"a": "\\u003a\\u003a", "b": 1}', False),
        (b'{"\\u0061": 1, "a": 2}', True),  # the same key, spelt once escaped
        (b'[{"a": 1}, {"a": 2}]', False),  # the same key in two objects is fine
    ],
)
def test_duplicate_keys_are_found_whatever_the_spelling(body, duplicated):
    assert has_duplicate_keys(body, orjson.loads(body)) is duplicated


# -- what we send: a totals Update is not an edit anywhere ----------------------------------------------------


async def test_a_totals_update_keeps_content_and_updated_as_they_were(make_server, peer):
    """G1: GoToSocial (dereferencing/status.go handleStatusEdit), Iceshrimp.NET (NoteService.cs) and Mitra
    (posts/types.rs is_edited) record any change of `content` as an edit, and the first two notify everyone
    who interacted. A vote changes the poll counts and `goals` of the Update; `content` and `updated` stay."""
    server = await make_server(totals_update_seconds=0.3)
    alice = peer.add_actor("alice", "peer-1")
    bob = peer.add_actor("bob", "peer-2")
    await follow(peer, alice, server)
    campaign = await actions.create_campaign(
        server.runtime, "Filters", "For 40 flats", goals=[parse_goal("money:500:EUR")],
        options=[parse_option("Give 10=money:10"), parse_option("Give 20=money:20")], visibility="public",
    )  # fmt: skip
    question_id = server.url(f"/campaigns/{campaign}")
    created = await peer.wait_for(lambda r: r.json and r.json.get("type") == "Create")
    original = created[0].json["object"]
    assert "Goal: €500" in original["content"]
    ballot = vote(bob, question_id, server.url("/groups/water"), "Give 20")
    assert (await peer.post(bob, server.url("/groups/water/inbox"), ballot))[0] == 202

    def totals_update(r) -> bool:
        obj = r.json.get("object") if r.json and r.json.get("type") == "Update" else None
        return isinstance(obj, dict) and obj.get("votersCount") == 1

    update = (await peer.wait_for(totals_update))[0].json["object"]
    assert {o["name"]: o["replies"]["totalItems"] for o in update["oneOf"]} == {"Give 10": 0, "Give 20": 1}
    assert update["goals"][0]["pledged"] == "20"
    assert update["content"] == original["content"]
    assert update.get("updated") == original.get("updated")


# -- single or several values, embedded or named, half-expanded JSON-LD -----------------------------------------

AS = "https://www.w3.org/ns/activitystreams"

FOLLOW_SHAPES = {
    "plain": lambda a, g: {"type": "Follow", "actor": a.id, "object": g},
    "type-array": lambda a, g: {"type": ["Follow"], "actor": a.id, "object": g},
    "actor-embedded": lambda a, g: {"type": "Follow", "actor": {"id": a.id, "type": "Person"}, "object": g},
    "object-embedded": lambda a, g: {"type": "Follow", "actor": a.id, "object": {"id": g, "type": "Group"}},
    "to-a-string": lambda a, g: {"type": "Follow", "actor": a.id, "object": g, "to": g},
    "half-expanded": lambda a, g: {"@type": "Follow", "actor": {"@id": a.id}, "object": {"@id": g}},
}


@pytest.mark.parametrize("shape", FOLLOW_SHAPES)
async def test_a_follow_in_every_shape_makes_a_follower(make_server, peer, shape):

    server = await make_server()
    alice = peer.add_actor("alice", "peer-1")
    body = FOLLOW_SHAPES[shape](alice, server.url("/groups/water"))
    follow_id = f"{alice.id}/follows/{uuid.uuid4()}"
    body = {"@context": AS, ("@id" if "@type" in body else "id"): follow_id, **body}
    status, text = await peer.post(alice, server.url("/groups/water/inbox"), body)
    assert status == 202, text
    await eventually(lambda: server.runtime.db.read(store.follows.is_accepted_follower, alice.id))
    accept = await peer.wait_for(lambda r: r.json and r.json.get("type") == "Accept")
    assert accept[0].json["object"]["id"] == follow_id


VOTE_SHAPES = {
    "attributedTo-array": lambda note, a: note | {"attributedTo": [a.id]},
    "type-array": lambda note, a: note | {"type": ["Note"]},
    "to-a-string": lambda note, a: note,
    "actor-embedded": lambda note, a: note,
}


@pytest.mark.parametrize("shape", VOTE_SHAPES)
async def test_a_vote_in_every_shape_counts(make_server, peer, shape):

    server = await make_server()
    bob = peer.add_actor("bob", "peer-2")
    campaign = await actions.create_campaign(
        server.runtime, "Filters", "For 40 flats", goals=[parse_goal("money:500:EUR")],
        options=[parse_option("Give 10=money:10"), parse_option("Give 20=money:20")], visibility="public",
    )  # fmt: skip
    group = server.url("/groups/water")
    note_id = f"{bob.id}#votes/{uuid.uuid4()}"
    note = {"id": note_id, "type": "Note", "name": "Give 20", "attributedTo": bob.id,
            "inReplyTo": server.url(f"/campaigns/{campaign}"), "to": group}  # fmt: skip
    actor = {"id": bob.id, "type": "Person"} if shape == "actor-embedded" else bob.id
    body = {"@context": AS, "id": note_id + "/activity", "type": "Create", "actor": actor, "to": group,
            "object": VOTE_SHAPES[shape](note, bob)}  # fmt: skip
    status, text = await peer.post(bob, server.url("/groups/water/inbox"), body)
    assert status == 202, text

    async def counted() -> bool:
        state = await server.runtime.db.read(actions.load_campaign, campaign)
        return state is not None and dict(state.tally.option_counts).get("Give 20") == 1

    await eventually(counted)
