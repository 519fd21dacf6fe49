"""Each interop fixture (tests/fixtures/<software>/, README there), signed with its actor's key as that
implementation signs, POSTed to a live fedgroup server; each test checks what a correct server does — the
effect, not only the status. FEDERATION.md's conformance table names these tests."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from fedgroup import actions, store
from fedgroup.rules.campaigns import parse_goal, parse_option
from tests.conftest import eventually
from tests.interop_world import InteropWorld

GROUP = "https://fedgroup.example/groups/water"


@pytest.fixture
async def world(make_server):
    server = await make_server()
    runtime = server.runtime
    c17 = await actions.create_campaign(
        runtime, "Clean water for Elm Street", "Filters for 40 flats",
        goals=[parse_goal("money:100:EUR"), parse_goal("hours:40"), parse_goal("people:30")],
        options=[parse_option("Pledge 10 EUR=money:10"), parse_option("Pledge 2 hours of volunteering=hours:2"),
                 parse_option("I will attend the rally=people:1")],
    )  # fmt: skip
    c18 = await actions.create_campaign(
        runtime, "Street party", "Bring what you can",
        goals=[parse_goal("money:500:EUR"), parse_goal("people:50")],
        options=[parse_option("Food & drink=money:5"), parse_option("Transport=people:1")],
        multiple_choice=True,
    )  # fmt: skip
    fixtures = await InteropWorld(server.base_url, {17: c17, 18: c18}).start()
    yield server, fixtures, {17: c17, 18: c18}
    await fixtures.stop()


async def settled(server) -> None:
    async def empty() -> bool:
        return await server.runtime.db.read(store.inbox.pending) == []

    await eventually(empty)


async def deliver(server, fixtures, name: str, key_id: str | None = None, expect: int = 202) -> dict:
    doc = fixtures.load(name)
    status, text = await fixtures.post(doc, server.url("/groups/water/inbox"), key_id=key_id)
    assert status == expect, f"{name}: {status} {text.strip()}"
    await settled(server)
    return doc


async def votes(server, campaign_id: int) -> list[tuple[str, str]]:
    rows = await server.runtime.db.fetchall(
        "SELECT v.voter, o.label FROM votes v JOIN campaign_options o ON o.id = v.option_id"
        " WHERE v.campaign_id = ? ORDER BY v.voter, o.label",
        (campaign_id,),
    )
    return [(r[0], r[1]) for r in rows]


async def followers(server) -> set[str]:
    return {r[0] for r in await server.runtime.db.fetchall("SELECT actor_id FROM followers")}


async def reports(server) -> list[tuple[str, list[str]]]:
    rows = await server.runtime.db.fetchall(
        "SELECT remote_actor, objects FROM reports WHERE direction = 'received'"
    )
    return [(r[0], json.loads(r[1])) for r in rows]


async def comments(server) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in await server.runtime.db.fetchall("SELECT object_id, content FROM comments")]


def follow_of(undo: dict) -> dict:
    """The Follow an Undo embeds, as it was sent (GoToSocial, Akkoma, Mitra, Iceshrimp re-send it unchanged)."""
    return {"@context": undo["@context"], **undo["object"]}


# -- follow and unfollow ------------------------------------------------------------------------------------------

FOLLOW_UNFOLLOW = [
    ("misskey/follow.json", "misskey/undo_follow.json"),  # Undo embeds a Follow id that was never sent
    ("hubzilla/follow.json", "hubzilla/undo_follow.json"),  # embedded Follow id lacks the '#follow'
    ("friendica/follow.json", "friendica/undo_follow.json"),
    ("lemmy/follow.json", "lemmy/undo_follow.json"),
    ("takahe/follow.json", "takahe/undo_follow.json"),
    (None, "iceshrimp/undo_follow.json"),
    (None, "akkoma/undo_follow.json"),
    (None, "mitra/undo_follow.json"),
    ("piefed/follow.json", None),
]


@pytest.mark.parametrize(("follow", "undo"), FOLLOW_UNFOLLOW, ids=[f or u for f, u in FOLLOW_UNFOLLOW])
async def test_follow_then_unfollow(world, follow, undo):
    server, fixtures, _ = world
    inbox = server.url("/groups/water/inbox")
    undo_doc = fixtures.load(undo) if undo else None
    follow_doc = fixtures.load(follow) if follow else follow_of(undo_doc)
    status, text = await fixtures.post(follow_doc, inbox)
    assert status == 202, text
    await settled(server)
    assert follow_doc["actor"] in await followers(server)
    host = fixtures.host_of(follow_doc["actor"])
    accept = await host.wait_for(lambda r: r.json and r.json.get("type") == "Accept")
    assert accept[0].json["object"]["id"] == follow_doc["id"]
    if undo_doc:
        assert (await fixtures.post(undo_doc, inbox))[0] == 202
        await settled(server)
        assert follow_doc["actor"] not in await followers(server)


async def test_gotosocial_follow_verified_through_its_key_stub(world):
    """GoToSocial's keyId answers with a stub actor (no inbox): the owner is read from it and fetched."""
    server, fixtures, _ = world
    follow = follow_of(fixtures.load("gotosocial/undo_follow.json"))
    status, text = await fixtures.post(follow, server.url("/groups/water/inbox"))
    assert status == 202, text
    await settled(server)
    assert follow["actor"] in await followers(server)


async def test_gotosocial_follow_and_unfollow_once_the_actor_is_known(world):
    server, fixtures, _ = world
    robin = fixtures.url("https://gts.example/users/robin")
    await server.runtime.actors.refresh(robin)  # as after any earlier signed fetch of the actor
    undo = fixtures.load("gotosocial/undo_follow.json")
    assert (await fixtures.post(follow_of(undo), server.url("/groups/water/inbox")))[0] == 202
    await settled(server)
    assert robin in await followers(server)
    await deliver(server, fixtures, "gotosocial/undo_follow.json")
    assert robin not in await followers(server)


async def test_a_signature_by_the_second_key_of_a_publickey_array_verifies(world):
    server, fixtures, _ = world
    await deliver(server, fixtures, "fedify/follow_signed_with_key2.json")
    assert fixtures.url("https://fedify.example/users/lin") in await followers(server)


async def test_mitra_actor_with_assertion_method_multikeys_signs_with_main_key(world):
    server, fixtures, _ = world
    undo = fixtures.load("mitra/undo_follow.json")
    assert (await fixtures.post(follow_of(undo), server.url("/groups/water/inbox")))[0] == 202
    await settled(server)
    assert undo["actor"] in await followers(server)


# -- reused ids ------------------------------------------------------------------------------------------------------


async def test_friendica_refollow_with_the_same_follow_id(world):
    server, fixtures, _ = world
    mira = fixtures.url("https://friendica.example/profile/mira")
    await deliver(server, fixtures, "friendica/follow.json")
    await deliver(server, fixtures, "friendica/undo_follow.json")
    assert mira not in await followers(server)
    await deliver(server, fixtures, "friendica/refollow.json")
    assert mira in await followers(server)


async def test_takahe_second_unfollow_with_the_same_undo_id(world):
    server, fixtures, _ = world
    ana = fixtures.url("https://takahe.example/@ana@takahe.example/")
    for _ in range(2):
        await deliver(server, fixtures, "takahe/follow.json")
        assert ana in await followers(server)
        await deliver(server, fixtures, "takahe/undo_follow.json")
        assert ana not in await followers(server)


async def test_misskey_second_unfollow_with_the_same_undo_id(world):
    server, fixtures, _ = world
    aiko = fixtures.url("https://misskey.example/users/9n3k2m1x0a")
    await deliver(server, fixtures, "misskey/follow.json")
    await deliver(server, fixtures, "misskey/undo_follow.json")
    again = fixtures.load("misskey/follow.json") | {
        "id": fixtures.url("https://misskey.example/follows/9q7fzx2k02")
    }
    assert (await fixtures.post(again, server.url("/groups/water/inbox")))[0] == 202
    await settled(server)
    assert aiko in await followers(server)
    await deliver(server, fixtures, "misskey/undo_follow.json")
    assert aiko not in await followers(server)


async def test_takahe_second_profile_update_with_the_same_id(world):
    server, fixtures, _ = world
    update = fixtures.load("takahe/update_person.json")
    await deliver(server, fixtures, "takahe/update_person.json")
    renamed = json.loads(json.dumps(update))
    renamed["object"]["name"] = "Ana M."
    assert (await fixtures.post(renamed, server.url("/groups/water/inbox")))[0] == 202
    await settled(server)
    cached = await server.runtime.db.read(store.actors.by_id, update["actor"])
    assert cached is not None and cached.name == "Ana M."


async def test_gotosocial_vote_again_after_it_replaced_its_copy_of_the_poll(world):
    server, fixtures, campaigns = world
    robin = fixtures.url("https://gts.example/users/robin")
    await server.runtime.actors.refresh(robin)
    await deliver(server, fixtures, "gotosocial/vote_single.json")
    assert await votes(server, campaigns[17]) == [(robin, "Pledge 10 EUR")]
    await deliver(server, fixtures, "gotosocial/revote_after_poll_reset.json")
    assert await votes(server, campaigns[17]) == [(robin, "I will attend the rally")]


# -- votes ----------------------------------------------------------------------------------------------------------

SINGLE_VOTES = [
    ("iceshrimp/vote.json", "Pledge 10 EUR"),
    ("akkoma/vote.json", "Pledge 2 hours of volunteering"),
    ("takahe/vote.json", "Pledge 10 EUR"),
    ("hubzilla/vote.json", "I will attend the rally"),
    ("bonfire/vote.json", "Pledge 10 EUR"),
]


@pytest.mark.parametrize(("name", "label"), SINGLE_VOTES, ids=[n for n, _ in SINGLE_VOTES])
async def test_a_vote_counts(world, name, label):
    server, fixtures, campaigns = world
    doc = await deliver(server, fixtures, name)
    assert await votes(server, campaigns[17]) == [(doc["actor"], label)]


@pytest.mark.parametrize("software", ["misskey", "gotosocial"])
async def test_a_multiple_choice_vote_sent_as_one_create_per_option_counts_both(world, software):
    server, fixtures, campaigns = world
    if software == "gotosocial":
        await server.runtime.actors.refresh(fixtures.url("https://gts.example/users/robin"))
        names = ("gotosocial/vote_multi_0.json", "gotosocial/vote_multi_1.json")
    else:
        names = ("misskey/vote_multi_1.json", "misskey/vote_multi_2.json")
    for name in names:
        doc = await deliver(server, fixtures, name)
    assert await votes(server, campaigns[18]) == [(doc["actor"], "Food & drink"), (doc["actor"], "Transport")]


async def test_mitra_multiple_choice_vote_is_one_create_with_an_array_of_notes(world):
    server, fixtures, campaigns = world
    doc = await deliver(server, fixtures, "mitra/vote_multi.json")
    assert await votes(server, campaigns[18]) == [(doc["actor"], "Food & drink"), (doc["actor"], "Transport")]


async def test_mitra_vote_for_an_option_with_an_ampersand(world):
    server, fixtures, campaigns = world
    doc = await deliver(server, fixtures, "mitra/vote_escaped_label.json")
    assert await votes(server, campaigns[18]) == [(doc["actor"], "Food & drink")]


# -- replies --------------------------------------------------------------------------------------------------------


async def test_friendica_reply_is_kept(world):
    server, fixtures, _ = world
    doc = await deliver(server, fixtures, "friendica/reply.json")
    assert [c[0] for c in await comments(server)] == [doc["object"]["id"]]


async def test_hubzilla_delete_embeds_the_whole_note(world):
    server, fixtures, _ = world
    await deliver(server, fixtures, "hubzilla/reply.json")
    assert len(await comments(server)) == 1
    await deliver(server, fixtures, "hubzilla/delete_reply.json")
    assert await comments(server) == []


# -- account deletion -----------------------------------------------------------------------------------------------

DELETES = [
    ("misskey/delete_account.json", "misskey/follow.json", True),
    ("iceshrimp/delete_account.json", "iceshrimp/undo_follow.json", True),
    ("friendica/delete_account.json", "friendica/follow.json", True),
    ("mitra/delete_account.json", "mitra/undo_follow.json", True),
    ("lemmy/delete_user.json", "lemmy/follow.json", True),
    ("takahe/delete_account.json", "takahe/follow.json", True),
]


@pytest.mark.parametrize(("delete", "follow", "gone"), DELETES, ids=[d for d, _, _ in DELETES])
async def test_account_deletion_with_a_cached_key_forgets_the_account(world, delete, follow, gone):
    server, fixtures, _ = world
    inbox = server.url("/groups/water/inbox")
    doc = fixtures.load(follow)
    if doc["type"] == "Undo":
        doc = follow_of(doc)
    assert (await fixtures.post(doc, inbox))[0] == 202
    await settled(server)
    actor = doc["actor"]
    assert actor in await followers(server)
    if gone:
        fixtures.unserve(actor)  # 404/410 afterwards: only the cached key can verify
    await deliver(server, fixtures, delete)
    assert actor not in await followers(server)


async def test_after_an_account_deletion_its_key_verifies_nothing(world):
    """G12: the deleted account's cached document and the key kept in memory both go; a request signed with
    that key afterwards (its document now 404) is refused and stores nothing."""
    server, fixtures, _ = world
    inbox = server.url("/groups/water/inbox")
    follow = await deliver(server, fixtures, "misskey/follow.json")
    actor = follow["actor"]
    fixtures.unserve(actor)
    await deliver(server, fixtures, "misskey/delete_account.json")
    assert await server.runtime.db.read(store.actors.by_id, actor) is None
    again = follow | {"id": fixtures.url("https://misskey.example/follows/9q7fzx2k99")}
    status, text = await fixtures.post(again, inbox)
    assert status == 401, text
    await settled(server)
    assert actor not in await followers(server)


async def test_gotosocial_account_deletion(world):
    server, fixtures, _ = world
    robin = fixtures.url("https://gts.example/users/robin")
    await server.runtime.actors.refresh(robin)
    assert (
        await fixtures.post(
            follow_of(fixtures.load("gotosocial/undo_follow.json")), server.url("/groups/water/inbox")
        )
    )[0] == 202
    await settled(server)
    await deliver(server, fixtures, "gotosocial/delete_account.json")
    assert robin not in await followers(server)


async def test_akkoma_account_deletion_arrives_as_deletes_of_each_object(world):
    server, fixtures, campaigns = world
    vote = await deliver(server, fixtures, "akkoma/vote.json")
    assert await votes(server, campaigns[17]) == [(vote["actor"], "Pledge 2 hours of volunteering")]
    await deliver(server, fixtures, "akkoma/delete_vote.json")
    assert await votes(server, campaigns[17]) == []


async def test_a_delete_of_an_account_by_an_akkoma_admin_is_ignored(world):
    server, fixtures, _ = world
    follow = follow_of(fixtures.load("akkoma/undo_follow.json"))
    assert (await fixtures.post(follow, server.url("/groups/water/inbox")))[0] == 202
    await settled(server)
    await deliver(server, fixtures, "akkoma/delete_by_admin.json")
    assert follow["actor"] in await followers(server)


async def test_misskey_undo_of_an_account_delete_is_accepted_and_changes_nothing(world):
    server, fixtures, _ = world
    await deliver(server, fixtures, "misskey/follow.json")
    await deliver(server, fixtures, "misskey/undo_delete_account.json")
    assert fixtures.url("https://misskey.example/users/9n3k2m1x0a") in await followers(server)


# -- block, report, move, boosts, likes ----------------------------------------------------------------------------


async def test_friendica_block_removes_the_follower(world):
    server, fixtures, _ = world
    await deliver(server, fixtures, "friendica/follow.json")
    await deliver(server, fixtures, "friendica/block.json")
    assert fixtures.url("https://friendica.example/profile/mira") not in await followers(server)


@pytest.mark.parametrize(
    "name", ["misskey/flag.json", "akkoma/flag.json", "takahe/flag.json", "gotosocial/flag.json"]
)
async def test_reports_about_the_group_are_kept(world, name):
    server, fixtures, _ = world
    if name.startswith("gotosocial"):
        await server.runtime.actors.refresh(fixtures.url("https://gts.example/users/gts.example"))
    doc = await deliver(server, fixtures, name)
    kept = await reports(server)
    assert [actor for actor, _ in kept] == [doc["actor"]]
    assert server.url("/groups/water") in kept[0][1]


MOVES = ["misskey/move.json", "mitra/move.json", "akkoma/move.json"]


def move_target(fixtures, move: dict, aliases: list[str]) -> dict:
    """The target account's document as its server serves it: misskey2's fixture, or for the others the
    moved account's own document under the target's id (same key), naming `aliases` in alsoKnownAs."""
    if move["actor"].endswith("9n3k2m1x0a"):
        doc = fixtures.load("misskey/move_target.json")
    else:
        software = "mitra" if "ada" in move["actor"] else "akkoma"
        doc = json.loads(
            json.dumps(fixtures.load(f"{software}/actor.json")).replace(move["actor"], move["target"])
        )
    doc["alsoKnownAs"] = aliases
    return doc


@pytest.mark.parametrize("name", MOVES)
async def test_move_of_a_followed_group_moves_our_follow_and_partnership(world, name):
    """G8: a partner group moves; its target names it in alsoKnownAs (fetched from the target's origin):
    Undo to the old account, Follow to the new one, the organizer's acceptance moves with it."""
    server, fixtures, _ = world
    move = fixtures.load(name)
    old, new = move["actor"], move["target"]
    fixtures.serve(new, move_target(fixtures, move, [old]))
    await server.runtime.db.write(lambda conn: _following(conn, old, server.url("/activities/follow/1")))
    await server.runtime.db.write(
        lambda conn: store.partners.decide(conn, old, "accepted", datetime.now(UTC))
    )
    await deliver(server, fixtures, name)
    assert await server.runtime.db.read(store.follows.following_of, old) is None
    assert await server.runtime.db.read(store.follows.following_of, new) is not None
    assert (await server.runtime.db.read(store.partners.standing, new)).decision == "accepted"
    follow = await fixtures.host_of(new).wait_for(lambda r: r.json and r.json.get("type") == "Follow")
    assert follow[0].json["object"] == new
    undo = await fixtures.host_of(old).wait_for(lambda r: r.json and r.json.get("type") == "Undo")
    assert undo[0].json["object"]["object"] == old


async def test_a_move_to_an_account_that_does_not_name_the_old_one_is_ignored(world):
    server, fixtures, _ = world
    move = fixtures.load("misskey/move.json")
    old, new = move["actor"], move["target"]
    fixtures.serve(new, move_target(fixtures, move, []))  # the target never agreed
    await server.runtime.db.write(lambda conn: _following(conn, old, server.url("/activities/follow/1")))
    await deliver(server, fixtures, "misskey/move.json")
    assert await server.runtime.db.read(store.follows.following_of, old) is not None
    assert await server.runtime.db.read(store.follows.following_of, new) is None
    assert await server.runtime.db.read(store.actors.by_id, new) is None  # nothing of the target stored


ACCEPTS = {
    # Mitra names our Follow by its id only (builders/accept_follow.rs); Misskey, Akkoma, Iceshrimp.NET, Lemmy
    # and Takahē embed it (ApRendererService.ts renderAccept; transmogrifier.ex prepare_outgoing Accept).
    "mitra": ("https://mitra.example/users/ada", lambda follow, ours, group: follow),
    "misskey": (
        "https://misskey.example/users/9n3k2m1x0a",
        lambda follow, them, group: {"id": follow, "type": "Follow", "actor": group, "object": them},
    ),
}


@pytest.mark.parametrize("software", ACCEPTS)
async def test_an_accept_of_our_follow_by_id_or_embedded_makes_it_accepted(world, software):
    server, fixtures, _ = world
    actor_url, shape = ACCEPTS[software]
    them, group = fixtures.url(actor_url), server.url("/groups/water")
    follow_id = server.url("/activities/follow/1")
    await server.runtime.db.write(
        lambda conn: store.follows.add_following(conn, them, follow_id, datetime.now(UTC))
    )
    accept = {"@context": "https://www.w3.org/ns/activitystreams", "id": them + "/activities/accept/1",
              "type": "Accept", "actor": them, "to": group, "object": shape(follow_id, them, group)}  # fmt: skip
    status, text = await fixtures.post(accept, server.url("/groups/water/inbox"))
    assert status == 202, text
    await settled(server)
    following = await server.runtime.db.read(store.follows.following_of, them)
    assert following is not None and following.state == "accepted"


def _following(conn, actor: str, follow_id: str) -> None:
    store.follows.add_following(conn, actor, follow_id, datetime.now(UTC))
    store.follows.set_following_state(conn, follow_id, "accepted")


async def test_takahe_boost_addressed_to_as_public_and_akkoma_undo_of_a_like_by_id(world):
    server, fixtures, campaigns = world
    await deliver(server, fixtures, "takahe/announce.json")
    await deliver(server, fixtures, "akkoma/like.json")
    counts = await server.runtime.db.read(store.pledges.reaction_counts, campaigns[17])
    assert counts.get("share") == 1 and counts.get("like") == 1
    await deliver(server, fixtures, "akkoma/undo_like.json")
    counts = await server.runtime.db.read(store.pledges.reaction_counts, campaigns[17])
    assert not counts.get("like")


async def test_piefed_pollvote_is_accepted_and_ignored(world):
    server, fixtures, campaigns = world
    await deliver(server, fixtures, "piefed/poll_vote.json")
    assert await votes(server, campaigns[17]) == []


# -- forwarded and ambiguous documents ------------------------------------------------------------------------------


async def test_a_forwarded_reply_is_never_stored_from_the_forwarders_copy(world):
    server, fixtures, _ = world
    doc = fixtures.load("mastodon/forwarded_reply.json")
    status, _ = await fixtures.post(
        doc,
        server.url("/groups/water/inbox"),
        key_id=fixtures.url("https://mastodon.example/users/dave#main-key"),
    )
    assert status == 403  # carol's origin does not serve it: nothing confirms it
    await settled(server)
    assert await comments(server) == []


async def test_a_forwarded_reply_is_verified_by_fetching_it_from_its_origin(world):
    server, fixtures, _ = world
    doc = fixtures.load("mastodon/forwarded_reply.json")
    origin = dict(doc["object"], content="<p>I will be there (origin copy).</p>")
    fixtures.serve(origin["id"], {"@context": doc["@context"], **origin})
    status, _ = await fixtures.post(
        doc,
        server.url("/groups/water/inbox"),
        key_id=fixtures.url("https://mastodon.example/users/dave#main-key"),
    )
    assert status == 202
    await settled(server)
    assert [content for _, content in await comments(server)] == ["<p>I will be there (origin copy).</p>"]


DAVE_KEY = "https://mastodon.example/users/dave#main-key"


async def forward(fixtures, server, doc: dict) -> tuple[int, str]:
    """POST `doc` as dave's server forwards carol's activities: signed by dave, not by carol."""
    return await fixtures.post(doc, server.url("/groups/water/inbox"), key_id=fixtures.url(DAVE_KEY))


async def test_a_forwarded_reply_whose_origin_names_another_author_is_dropped(world):
    server, fixtures, _ = world
    doc = fixtures.load("mastodon/forwarded_reply.json")
    origin = dict(doc["object"], attributedTo=fixtures.url("https://mastodon.example/users/dave"))
    fixtures.serve(origin["id"], {"@context": doc["@context"], **origin})
    status, text = await forward(fixtures, server, doc)
    assert (status, text.strip()) == (403, "signer-not-actor")
    await settled(server)
    assert await comments(server) == []
    assert await server.runtime.db.scalar("SELECT COUNT(*) FROM inbox_activities") == 0


async def test_a_forwarded_follow_is_refused(world):
    server, fixtures, _ = world
    carol = fixtures.url("https://mastodon.example/users/carol")
    follow = {"@context": "https://www.w3.org/ns/activitystreams", "id": carol + "#follows/1", "type": "Follow",
              "actor": carol, "object": server.url("/groups/water")}  # fmt: skip
    status, text = await forward(fixtures, server, follow)
    assert (status, text.strip()) == (403, "signer-not-actor")
    assert await server.runtime.db.scalar("SELECT COUNT(*) FROM followers") == 0


async def test_a_forwarded_delete_counts_only_once_the_origin_says_the_reply_is_gone(world):
    server, fixtures, _ = world
    reply = fixtures.load("mastodon/forwarded_reply.json")
    note_id = reply["object"]["id"]
    status, _ = await fixtures.post(reply, server.url("/groups/water/inbox"))  # carol's own delivery
    assert status == 202
    await settled(server)
    assert [c[0] for c in await comments(server)] == [note_id]
    fixtures.serve(note_id, {"@context": reply["@context"], **reply["object"]})
    delete = {"@context": "https://www.w3.org/ns/activitystreams", "id": note_id + "#delete", "type": "Delete",
              "actor": reply["actor"], "object": {"id": note_id, "type": "Tombstone"}}  # fmt: skip
    # The forwarder lies: carol's reply is still there, so nothing goes and nothing is stored.
    assert (await forward(fixtures, server, delete))[0] == 403
    assert [c[0] for c in await comments(server)] == [note_id]
    # Carol deletes it (her server answers 404 now); dave forwards her real Delete — same id as the lie.
    fixtures.unserve(note_id)
    assert (await forward(fixtures, server, delete))[0] == 202
    await settled(server)
    assert await comments(server) == []


async def test_a_forged_forwarded_delete_does_not_make_the_authors_own_delete_a_repeat(world):
    server, fixtures, _ = world
    reply = fixtures.load("mastodon/forwarded_reply.json")
    note_id = reply["object"]["id"]
    assert (await fixtures.post(reply, server.url("/groups/water/inbox")))[0] == 202
    await settled(server)
    fixtures.serve(note_id, {"@context": reply["@context"], **reply["object"]})
    delete = {"@context": "https://www.w3.org/ns/activitystreams", "id": note_id + "#delete", "type": "Delete",
              "actor": reply["actor"], "object": note_id}  # fmt: skip
    assert (await forward(fixtures, server, delete))[0] == 403  # predicted id, sent ahead by the forwarder
    assert len(await comments(server)) == 1
    assert (await fixtures.post(delete, server.url("/groups/water/inbox")))[0] == 202  # carol's own
    await settled(server)
    assert await comments(server) == []


async def test_a_document_with_a_duplicate_key_is_refused(world):
    server, fixtures, _ = world
    raw = fixtures.raw("synthetic/duplicate_key.json")
    status, _ = await fixtures.post(
        raw,
        server.url("/groups/water/inbox"),
        key_id=fixtures.url("https://mastodon.example/users/carol#main-key"),
    )
    assert status == 400
    assert await server.runtime.db.scalar("SELECT COUNT(*) FROM inbox_activities") == 0
