"""Reading what real servers send: every fixture parses (or is refused for a stated reason), offline JSON-LD,
and sanitising of remote HTML and text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pyld import jsonld as pyld

from fedgroup.protocol import jsonld
from fedgroup.protocol.ids import LocalIds
from fedgroup.protocol.parse import (
    ParseError,
    parse_activity,
    parse_actor,
    parse_flag,
    parse_move,
    parse_note,
    same_origin,
)
from fedgroup.protocol.parse_campaigns import parse_member_bound, parse_question
from fedgroup.rules.sanitize import clean_html, clean_text, html_to_text

FIXTURES = Path(__file__).parent / "fixtures"
KEYS = json.loads((FIXTURES / "keys.json").read_text())


def load(name: str):
    return json.loads((FIXTURES / name).read_text())


# -- actors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(p.name for p in (FIXTURES / "actors").glob("*.json")))
def test_every_actor_fixture_parses_with_its_key(path):
    doc = load(f"actors/{path}")
    actor = parse_actor(jsonld.normalize(doc))
    assert actor.id == doc["id"]
    assert actor.inbox.startswith("https://")
    assert actor.key_id in KEYS, "the key id is the one keys.json signs with"
    assert KEYS[actor.key_id]["owner"] == actor.id
    assert actor.public_key_pem.strip() == KEYS[actor.key_id]["public_key_pem"].strip()


def test_actor_shapes():
    gts = parse_actor(load("actors/gotosocial_person.json"))
    assert gts.key_id.endswith("/main-key") and "#" not in gts.key_id
    assert gts.shared_inbox is None, "GoToSocial has no shared inbox: deliver to the personal one"
    misskey = parse_actor(load("actors/misskey_person.json"))
    assert misskey.shared_inbox == "https://misskey.example/inbox"
    lemmy = parse_actor(load("actors/lemmy_group.json"))
    assert lemmy.type == "Group" and lemmy.followers is not None
    instance = parse_actor(load("actors/mastodon_instance_actor.json"))
    assert instance.type == "Application"
    akkoma = parse_actor(load("actors/akkoma_person.json"))
    assert akkoma.public_key_pem.endswith("\n\n") or akkoma.public_key_pem.endswith("\n")
    moved = parse_actor(load("actors/mastodon_person_moved_target.json"))
    assert "https://mastodon.example/users/alice" in moved.also_known_as


def test_actor_refusals():
    doc = load("actors/mastodon_person.json")
    for broken, reason in [
        ({**doc, "id": None}, "missing-id"),
        ({**doc, "inbox": "javascript:alert(1)"}, "missing-inbox"),
        ({**doc, "publicKey": None}, "missing-key"),
        ({**doc, "publicKey": {**doc["publicKey"], "owner": "https://evil.example/u"}}, "missing-key"),
        ({**doc, "publicKey": {**doc["publicKey"], "id": "https://evil.example/k"}}, "key-on-other-host"),
    ]:
        with pytest.raises(ParseError) as e:
            parse_actor(broken)
        assert e.value.reason == reason


# -- activities --------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(p.name for p in (FIXTURES / "activities").glob("*.json")))
def test_every_activity_fixture_parses(path):
    activity = parse_activity(jsonld.normalize(load(f"activities/{path}")))
    assert activity.actor.startswith("https://")
    assert activity.id and activity.id.startswith("https://")
    assert activity.type in (
        "Create",
        "Update",
        "Delete",
        "Follow",
        "Accept",
        "Undo",
        "Announce",
        "Like",
        "Block",
        "Flag",
        "Move",
    )


def test_expanded_jsonld_is_compacted_to_a_plain_follow():
    activity = parse_activity(jsonld.normalize(load("activities/expanded_jsonld_follow.json")))
    assert activity.type == "Follow"
    assert activity.actor == "https://akkoma.example/users/june"
    assert activity.object_id == "https://fedgroup.example/groups/water"


def test_votes_are_recognised_in_every_shape():
    for name, option in [
        ("mastodon_poll_vote", "Pledge 10 EUR"),
        ("misskey_poll_vote", "I will attend the rally"),
    ]:
        activity = parse_activity(load(f"activities/{name}.json"))
        note = parse_note(activity.object)
        assert note.is_vote and note.name == option
        assert note.in_reply_to == "https://fedgroup.example/campaigns/17"
        assert note.to == ("https://fedgroup.example/groups/water",)
    first = parse_note(parse_activity(load("activities/mastodon_poll_vote_multi_1.json")).object)
    second = parse_note(parse_activity(load("activities/mastodon_poll_vote_multi_2.json")).object)
    assert first.is_vote and second.is_vote and first.name != second.name and first.id != second.id


def test_replies_are_not_votes():
    for name in (
        "mastodon_create_note_reply",
        "akkoma_create_note_reply",
        "gotosocial_create_note_reply",
        "lemmy_create_comment_reply",
    ):
        note = parse_note(parse_activity(load(f"activities/{name}.json")).object)
        assert not note.is_vote and note.content
    gts = parse_activity(load("activities/gotosocial_create_note_reply.json"))
    assert len(gts.to) == 1, "a single string `to` is read as a one-element list"


def test_questions():
    question = parse_question(parse_activity(load("activities/mastodon_create_question.json")).object)
    assert not question.multiple and len(question.options) >= 2 and question.end_time
    closed = parse_question(
        parse_activity(load("activities/mastodon_create_question_anyof_closed.json")).object
    )
    assert closed.multiple and closed.closed
    assert closed.voters_count == 6 and sum(n for _, n in closed.options) == 11


def test_public_spellings():
    doc = load("activities/public_collection_spellings.json")
    found = [
        jsonld.is_public(i)
        for key in ("to", "cc")
        for i in jsonld.as_list(doc.get(key) or doc["object"].get(key))
    ]
    assert any(found)
    for spelling in ("https://www.w3.org/ns/activitystreams#Public", "as:Public", "Public"):
        assert jsonld.is_public(spelling)
    assert not jsonld.is_public("https://www.w3.org/ns/activitystreams#Publicity")


def test_reports_and_moves():
    mastodon = parse_flag(parse_activity(load("activities/mastodon_flag_report.json")))
    assert len(mastodon.objects) >= 2 and mastodon.comment
    lemmy = parse_flag(parse_activity(load("activities/lemmy_flag_report.json")))
    assert lemmy.comment, "Lemmy puts the reason in summary"
    move = parse_move(parse_activity(load("activities/mastodon_move.json")))
    assert move.target.startswith("https://mastodon2.example/")


def test_type_arrays_pick_the_known_type():
    activity = parse_activity(load("odd/type_as_array_and_unknown_type.json"))
    assert activity.type == "Create"
    assert activity.object_type == "Note"


def test_odd_documents_are_refused_or_read_safely():
    with pytest.raises(ParseError):
        parse_note(parse_activity(load("odd/missing_id.json")).object)
    spoof = parse_activity(load("odd/id_on_other_host.json"))
    assert not same_origin(spoof.id, spoof.actor)
    plain = parse_activity(jsonld.normalize(load("odd/plain_json_no_context.json")))
    assert plain.actor.startswith("https://")


def test_same_origin():
    assert same_origin("https://a.example/x", "https://A.example:443/y")
    assert not same_origin("https://a.example/x", "http://a.example/x")
    assert not same_origin("https://a.example/x", "https://a.example:8443/x")
    assert not same_origin("https://a.example.evil.example/x", "https://a.example/x")


# -- JSON-LD offline ------------------------------------------------------------------------------------


def test_unknown_contexts_are_never_fetched():
    with pytest.raises(pyld.JsonLdError):
        jsonld.document_loader("https://evil.example/contexts/track-me.jsonld")
    doc = load("odd/unknown_remote_context.json")
    assert jsonld.normalize(doc) is doc, "compact documents are read as they are, contexts untouched"
    prefixed = {**doc, "as:actor": doc["actor"]}
    del prefixed["actor"]
    normalized = jsonld.normalize(prefixed)  # goes through pyld with the unknown context dropped
    assert normalized["actor"] == doc["actor"]


def test_bundled_contexts_load():
    for url in (
        "https://www.w3.org/ns/activitystreams",
        "http://www.w3.org/ns/activitystreams",
        "https://w3id.org/security/v1",
    ):
        assert "@context" in jsonld.document_loader(url)["document"]


def test_normalize_refuses_what_cannot_be_a_document():
    for bad in ("a string", 42, [1, 2], [{"@id": "https://a.example/1"}, {"@id": "https://a.example/2"}]):
        with pytest.raises(jsonld.DocumentError):
            jsonld.normalize(bad)


def test_jsonld_is_paid_for_only_where_it_is_needed():
    compact = load("activities/mastodon_create_note_reply.json")
    expanded = load("activities/expanded_jsonld_follow.json")
    assert not jsonld.needs_jsonld(compact) and jsonld.needs_jsonld(expanded)
    before = jsonld.compactions
    assert jsonld.normalize(compact) == compact  # read as it is: no pyld call at all
    assert jsonld.compactions == before
    assert jsonld.normalize(expanded)["type"] == "Follow"
    assert jsonld.compactions == before + 1


# -- sanitising ---------------------------------------------------------------------------------------------


def test_scripts_styles_frames_handlers_and_javascript_links_are_removed():
    doc = load("odd/html_script_content.json")
    note = parse_note(doc["object"])
    cleaned = clean_html(note.content)
    lowered = cleaned.lower()
    for bad in ("<script", "<style", "<iframe", "onerror", "onclick", "onload", "javascript:", "alert("):
        assert bad not in lowered, bad
    assert "<p>" in cleaned or cleaned  # harmless markup survives
    text = html_to_text(note.summary or "")
    assert "<" not in text


def test_control_and_bidi_characters_are_removed():
    doc = load("odd/nul_and_control_chars.json")
    note = parse_note(doc["object"])
    cleaned = clean_text(note.content, 10_000)
    assert "\x00" not in cleaned and "\u202e" not in cleaned and "\u200b" not in cleaned
    assert clean_text("line one\nline\ttwo", 100) == "line one\nline\ttwo"
    assert clean_text("x" * 50, 10) == "x" * 10


def test_links_get_safe_rel():
    assert clean_html('<a href="https://a.example/">a</a>') == (
        '<a href="https://a.example/" rel="nofollow noopener noreferrer">a</a>'
    )


def test_a_groups_published_member_bound_is_read_strictly():
    assert parse_member_bound({"membersAtMost": 50}) == 50
    for value in (None, 0, -5, True, 50.0, "50", 10**7, [50], {"@value": 50}):
        assert parse_member_bound({"membersAtMost": value}) is None, value
    assert parse_member_bound({}) is None


def test_our_campaign_urls_are_recognised_only_in_their_own_spelling():
    ids = LocalIds("https://water.example", "water")
    assert ids.campaign_id_of("https://water.example/campaigns/12") == 12
    for other in ("https://water.example/campaigns/012", "https://water.example/campaigns/\u00b2",
                  "https://water.example/campaigns/\u0661", "https://water.example/campaigns/1?x",
                  "https://water.example/campaigns/", "https://water.example.evil/campaigns/1",
                  "https://water.example:443/campaigns/1", "https://water.example/campaigns/" + "9" * 19):  # fmt: skip
        assert ids.campaign_id_of(other) is None, other
