"""Moving the group to a new domain, between two live servers and a Mastodon-shaped peer: the new server
(restored from the old one's backup) names the old actor in alsoKnownAs; the old one says movedTo, sends a
Move to its followers and redirects; the peer re-follows as Mastodon does, so its users end up following the
new actor, and the new server holds them as followers."""

from __future__ import annotations

import aiohttp

from fedgroup import actions, store
from fedgroup import config as config_module
from tests.conftest import RunningServer, run_cli
from tests.peer import ACTIVITY_JSON, free_socket
from tests.test_federation import follow


async def _get(url: str, accept: str = ACTIVITY_JSON) -> tuple[int, str, dict | None]:
    async with aiohttp.ClientSession() as session:
        async with session.get(url, headers={"Accept": accept}, allow_redirects=False) as r:
            body = await r.read()
            try:
                doc = await r.json(content_type=None)
            except ValueError:
                doc = None
            return (
                r.status,
                r.headers.get("Location", ""),
                doc if isinstance(doc, dict) else None if body else None,
            )


async def test_a_moved_group_is_followed_at_its_new_address(make_server, peer, tmp_path):
    old = await make_server()
    old_actor = old.url("/groups/water")
    alice, bob = peer.add_actor("alice", "peer-1"), peer.add_actor("bob", "peer-2")
    await follow(peer, alice, old)
    await follow(peer, bob, old)
    assert peer.following == {"alice": {old_actor}, "bob": {old_actor}}
    campaign_id = await actions.create_campaign(old.runtime, "Move with us", "body", visibility="public")

    # The new server: the old one's backup, restored, moved to its own base URL, then started.
    backup = tmp_path / "old.tar.gz"
    taken = await run_cli("backup", "--data-dir", str(old.config.data_dir), "--to", str(backup))
    assert taken.returncode == 0, taken.stderr
    new_dir = tmp_path / "new-server"
    restored = await run_cli("restore", "--from", str(backup), "--data-dir", str(new_dir))
    assert restored.returncode == 0, restored.stderr
    sock = free_socket()
    new_base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    arrived = await run_cli("move", "--to", new_base, "--data-dir", str(new_dir))
    assert arrived.returncode == 0, arrived.stderr
    new_actor = f"{new_base}/groups/water"
    assert f"fedgroup move --announce-to {new_actor}" in arrived.stdout
    new = RunningServer(config=config_module.load(new_dir), port=sock.getsockname()[1])
    await new.start(sock)
    try:
        status, _, doc = await _get(new_actor)
        assert status == 200 and doc["id"] == new_actor and doc["alsoKnownAs"] == [old_actor]
        assert "movedTo" not in doc

        announced = await run_cli("move", "--announce-to", new_actor, "--data-dir", str(old.config.data_dir))
        assert announced.returncode == 0, announced.stderr
        assert "a Move is queued for 1 inbox(es)" in announced.stdout  # the peer's shared inbox

        moves = await peer.wait_for(lambda r: r.json and r.json.get("type") == "Move")
        assert moves[0].verified and moves[0].json["actor"] == moves[0].json["object"] == old_actor
        assert moves[0].json["target"] == new_actor

        await peer.wait_for(
            lambda r: peer.following == {"alice": {new_actor}, "bob": {new_actor}}, timeout=20
        )
        assert peer.moves == [(old_actor, new_actor, "followed")]
        followers = await new.runtime.db.fetchall("SELECT actor_id, state FROM followers ORDER BY actor_id")
        assert [tuple(f) for f in followers] == [(alice.id, "accepted"), (bob.id, "accepted")]

        # The old server: its actor says movedTo (with its key, for the Move's signature); the rest redirects.
        status, _, doc = await _get(old_actor)
        assert status == 200 and doc["movedTo"] == new_actor and "publicKey" in doc
        status, location, _ = await _get(old_actor, accept="text/html")
        assert (status, location) == (301, new_actor)
        status, location, _ = await _get(old.url(f"/campaigns/{campaign_id}"))
        assert (status, location) == (301, f"{new_base}/campaigns/{campaign_id}")
        status, doc = await peer.get(alice, new.url(f"/campaigns/{campaign_id}"))  # a signed fetch
        assert status == 200 and doc["attributedTo"] == new_actor
        assert (await _get(old.url("/healthz"), accept="text/plain"))[0] == 200
        site = await old.runtime.db.read(store.site.load)
        assert site.moved_to == new_actor
    finally:
        await new.stop()


async def test_a_move_to_an_actor_that_does_not_name_us_is_refused(make_server, peer):
    server = await make_server()
    stranger = peer.add_actor("stranger", "peer-1", actor_type="Group")
    refused = await run_cli("move", "--announce-to", stranger.id, "--data-dir", str(server.config.data_dir))
    assert refused.returncode == 1
    assert f"{stranger.id} does not name {server.url('/groups/water')} in alsoKnownAs" in refused.stderr
    site = await server.runtime.db.read(store.site.load)
    assert site.moved_to is None
    assert (await _get(server.url("/groups/water"), accept="text/html"))[0] != 301, "nothing redirects"
