"""Every shared fixture, signed by its actor's key and POSTed to a running server: the verdict its README
gives, never a 5xx, never a half-stored row."""

from __future__ import annotations

from pathlib import Path

import pytest

from fedgroup import store
from tests.conftest import eventually, inbox_handled
from tests.fixture_world import FIXTURES, FixtureWorld, _actor_of


@pytest.fixture
async def world(make_server):
    server = await make_server()
    fixtures = await FixtureWorld(server.base_url).start()
    yield server, fixtures
    await fixtures.stop()


async def follower_ids(server) -> set[str]:
    rows = await server.runtime.db.fetchall("SELECT actor_id FROM followers")
    return {r[0] for r in rows}


ALL = sorted(f"activities/{p.name}" for p in (FIXTURES / "activities").glob("*.json")) + sorted(
    f"odd/{p.name}" for p in (FIXTURES / "odd").glob("*.json")
)
EXPECTED_STATUS = {
    "odd/missing_id.json": 400,
    "odd/id_on_other_host.json": 400,
    "odd/extremely_long_strings.json": 413,
}


@pytest.mark.parametrize("name", ALL)
async def test_every_fixture_gets_a_clear_answer(world, name):
    server, fixtures = world
    doc = fixtures.load(name)
    inbox = server.url("/groups/water/inbox")
    signer = None
    if name == "odd/actor_mismatch_with_signer.json":
        signer = doc["actor"].replace("/users/bob", "/users/alice")
    status, text = await fixtures.post(doc, inbox, signed_by=signer)
    expected = 403 if signer else EXPECTED_STATUS.get(name, 202)
    assert status == expected, f"{name}: {status} {text}"
    stored = await server.runtime.db.scalar("SELECT COUNT(*) FROM inbox_activities")
    if status >= 400:
        assert stored == 0, "a refused request leaves nothing behind"
    elif isinstance(doc, dict) and doc.get("id") and not name.endswith("delete_actor_self.json"):
        await eventually(lambda: inbox_handled(server.runtime, doc["id"]))
        assert await server.runtime.db.read(store.inbox.state_of, doc["id"]) == "done"


@pytest.mark.parametrize(
    "name",
    [
        "activities/mastodon_follow.json",
        "activities/lemmy_follow_group.json",
        "activities/akkoma_follow.json",
        "activities/expanded_jsonld_follow.json",
    ],
)
async def test_follows_from_every_server_are_stored_and_accepted(world, name):
    server, fixtures = world
    doc = fixtures.load(name)
    status, _ = await fixtures.post(doc, server.url("/groups/water/inbox"))
    assert status == 202
    actor = _actor_of(doc)
    await eventually(lambda: _follows(server, actor))
    host = fixtures.host_of(actor)
    accepts = await host.wait_for(lambda r: r.json and r.json.get("type") == "Accept")
    assert accepts[0].json["object"]["actor"] == actor


async def _follows(server, actor: str) -> bool:
    return actor in await follower_ids(server)


async def test_undo_block_and_self_delete_remove_followers(world):
    server, fixtures = world
    inbox = server.url("/groups/water/inbox")
    alice = fixtures.load("activities/mastodon_follow.json")
    await fixtures.post(alice, inbox)
    await eventually(lambda: _follows(server, alice["actor"]))

    undo = fixtures.load("activities/mastodon_undo_follow.json")
    # Mastodon's Undo embeds the original Follow: same actor, same object.
    undo["object"]["id"] = alice["id"]
    assert (await fixtures.post(undo, inbox))[0] == 202
    await eventually(lambda: _not_follows(server, alice["actor"]))

    await fixtures.post(dict(alice, id=alice["id"] + "-again"), inbox)
    await eventually(lambda: _follows(server, alice["actor"]))
    assert (await fixtures.post(fixtures.load("activities/mastodon_block.json"), inbox))[0] == 202
    await eventually(lambda: _not_follows(server, alice["actor"]))

    misskey = fixtures.load("activities/undo_follow_object_id_only.json")
    follow = {
        "id": misskey["object"],
        "type": "Follow",
        "actor": misskey["actor"],
        "object": server.url("/groups/water"),
    }
    await fixtures.post(follow, inbox)
    await eventually(lambda: _follows(server, misskey["actor"]))
    assert (await fixtures.post(misskey, inbox))[0] == 202
    await eventually(lambda: _not_follows(server, misskey["actor"]))

    delete = fixtures.load("activities/mastodon_delete_actor_self.json")
    bob = delete["actor"]
    await fixtures.post(dict(alice, id=bob + "#follows/1", actor=bob), inbox)
    await eventually(lambda: _follows(server, bob))
    fixtures.unserve(bob)  # the account is gone (its document would answer 410): only the cached key verifies
    assert (await fixtures.post(delete, inbox))[0] == 202
    await eventually(lambda: _not_follows(server, bob))
    assert await server.runtime.db.read(store.actors.by_id, bob) is None


async def _not_follows(server, actor: str) -> bool:
    return actor not in await follower_ids(server)


async def test_profile_updates_refresh_the_cached_actor(world):
    server, fixtures = world
    inbox = server.url("/groups/water/inbox")
    for name in ("activities/mastodon_update_person.json", "activities/misskey_update_person.json"):
        update = fixtures.load(name)
        assert (await fixtures.post(update, inbox))[0] == 202
        await eventually(lambda u=update: inbox_handled(server.runtime, u["id"]))
        cached = await server.runtime.db.read(store.actors.by_id, update["actor"])
        assert cached is not None and cached.name == update["object"]["name"]


def test_corpus_is_complete():
    """Every shared fixture is copied here (tests must not need ../shared)."""
    assert len(ALL) == len(list((FIXTURES / "activities").glob("*.json"))) + len(
        list((FIXTURES / "odd").glob("*.json"))
    )
    assert Path(FIXTURES / "keys.json").exists()
