"""Whose key is whose, and who may read what: attacks on key lookup and on signed GETs, each against a live
server, and the GoToSocial key shape end to end.

The attacker runs its own small server (`Hostile`): it serves whatever documents it likes, may redirect,
may refuse unsigned GETs, and records every request that reaches it (to capture signatures and to count
fetches).
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from fedgroup import actions, store
from fedgroup.net.fetch import FetchError
from fedgroup.protocol.parse import ParseError, key_owner_named, parse_actor
from fedgroup.rules.campaigns import parse_goal, parse_option
from tests.conftest import FIXTURES, MovableClock, eventually, inbox_handled
from tests.peer import ACTIVITY_JSON, FakeActor, FakeGoToSocial, FakeMastodon, cavage_sign, free_socket
from tests.test_coalition import vote
from tests.test_federation import follow

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


class Hostile:
    """An attacker's server: serves chosen documents, redirects, may refuse unsigned GETs; records requests."""

    def __init__(self) -> None:
        self.documents: dict[str, dict[str, Any]] = {}
        self.redirects: dict[str, str] = {}
        self.refuse_unsigned = False
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.base_url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> Hostile:
        sock = free_socket()
        self.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def gets(self, path: str) -> list[dict[str, str]]:
        return [h for m, p, h in self.requests if m == "GET" and p == path]

    async def _handle(self, request: web.Request) -> web.Response:
        self.requests.append((request.method, request.path_qs, dict(request.headers)))
        if request.method != "GET":
            return web.Response(status=202)
        if request.path in self.redirects:
            raise web.HTTPFound(self.redirects[request.path])
        if self.refuse_unsigned and "Signature" not in request.headers:
            return web.Response(status=401, text="signature required")
        doc = self.documents.get(request.path)
        if doc is None:
            return web.Response(status=404)
        return web.Response(body=json.dumps(doc), content_type=ACTIVITY_JSON)


@pytest.fixture
async def hostile():
    server = await Hostile().start()
    yield server
    await server.stop()


async def raw(method: str, url: str, headers: dict[str, str], body: bytes | None = None) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session:
        async with session.request(method, url, data=body, headers=headers, allow_redirects=False) as r:
            return r.status, (await r.text()).strip()


def reply(actor_id: str, campaign_url: str, content: str) -> dict[str, Any]:
    note_id = f"{actor_id}/statuses/{uuid.uuid4()}"
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{note_id}/activity", "type": "Create", "actor": actor_id, "to": [PUBLIC],
        "object": {"id": note_id, "type": "Note", "attributedTo": actor_id, "content": content,
                   "inReplyTo": campaign_url, "to": [PUBLIC]},
    }  # fmt: skip


def impostor_document(victim: FakeActor, public_pem: str) -> dict[str, Any]:
    """The victim's actor as the attacker would have it: the victim's ids, the attacker's key."""
    return {
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": victim.id, "type": "Person", "preferredUsername": "victim", "inbox": f"{victim.id}/inbox",
        "publicKey": {"id": victim.key_id, "owner": victim.id, "publicKeyPem": public_pem},
    }  # fmt: skip


async def signed_post(url: str, doc: dict[str, Any], key_id: str, private_pem: str) -> tuple[int, str]:
    body = json.dumps(doc).encode()
    return await raw("POST", url, cavage_sign("POST", url, body, key_id, private_pem), body)


async def comments(runtime) -> list[tuple[str, str]]:
    return [tuple(r) for r in await runtime.db.fetchall("SELECT author, content FROM comments ORDER BY id")]


# -- 1. key cache poisoning --------------------------------------------------------------------------------


async def test_a_key_document_naming_another_servers_actor_replaces_nothing(
    make_server, peer, hostile, test_keys
):
    """The keyId points at the attacker's server, whose document claims to be the victim (on another server)
    with the attacker's key. The request is refused, and the victim's cached actor must be untouched: else
    the attacker's key, named by the victim's keyId, would be accepted as the victim's."""
    server = await make_server()
    runtime = server.runtime
    inbox = server.url("/groups/water/inbox")
    campaign = server.url(f"/campaigns/{await actions.create_campaign(runtime, 'Crossing', 'Paint it')}")
    victim = peer.add_actor("victim", "peer-1")
    genuine = reply(victim.id, campaign, "<p>genuine</p>")
    assert (await peer.post(victim, inbox, genuine))[0] == 202
    await eventually(lambda: inbox_handled(runtime, genuine["id"]))
    before = await runtime.db.read(store.actors.by_id, victim.id)

    attacker = test_keys["peer-3"]
    hostile.documents["/keys/1"] = impostor_document(victim, attacker["public_key_pem"])
    status, text = await signed_post(
        inbox,
        reply(victim.id, campaign, "<p>1</p>"),
        f"{hostile.base_url}/keys/1",
        attacker["private_key_pem"],
    )
    assert (status, text) == (401, "key-unavailable (key-not-owned)")
    after = await runtime.db.read(store.actors.by_id, victim.id)
    assert after is not None and after.public_key_pem == before.public_key_pem == victim.public_pem
    assert after.document == before.document

    # The attacker now signs as the victim, with its own key: it must not verify.
    forged = reply(victim.id, campaign, "<p>forged as the victim</p>")
    status, text = await signed_post(inbox, forged, victim.key_id, attacker["private_key_pem"])
    assert (status, text) == (401, "bad-signature")
    assert await comments(runtime) == [(victim.id, "<p>genuine</p>")]


async def test_an_actor_fetch_answered_with_another_actors_document_stores_nothing(
    make_server, peer, hostile, test_keys
):
    """The refresh path: an organizer follows a "group" at the attacker's URL; the document there claims to be
    the victim. The follow fails, and the victim's cached actor is untouched."""
    server = await make_server()
    runtime = server.runtime
    victim = peer.add_actor("victim", "peer-1")
    await runtime.actors.refresh(victim.id)
    before = await runtime.db.read(store.actors.by_id, victim.id)
    attacker = test_keys["peer-3"]
    hostile.documents["/groups/evil"] = dict(
        impostor_document(victim, attacker["public_key_pem"]), type="Group"
    )
    with pytest.raises(actions.ActionError) as refused:
        await actions.follow_group_by_handle(runtime, f"{hostile.base_url}/groups/evil")
    # The person reads words; the reason (for the log) is the fetch error behind them.
    assert isinstance(refused.value.__cause__, FetchError) and refused.value.__cause__.reason == "id-mismatch"
    after = await runtime.db.read(store.actors.by_id, victim.id)
    assert after is not None and after.public_key_pem == before.public_key_pem
    assert await runtime.db.read(store.actors.by_id, f"{hostile.base_url}/groups/evil") is None
    campaign = server.url(f"/campaigns/{await actions.create_campaign(runtime, 'Crossing', 'Paint it')}")
    status, _ = await signed_post(
        server.url("/inbox"),
        reply(victim.id, campaign, "<p>forged</p>"),
        victim.key_id,
        attacker["private_key_pem"],
    )
    assert status == 401


async def test_a_key_document_redirected_to_another_host_is_not_trusted(
    make_server, peer, hostile, test_keys
):
    """A document speaks for the URL it finally came from: a keyId on the attacker's host that redirects to a
    document on another host (here the victim's own actor) names no owner for the attacker's keyId."""
    server = await make_server()
    victim = peer.add_actor("victim", "peer-1")
    hostile.redirects["/keys/2"] = victim.id
    status, text = await signed_post(
        server.url("/inbox"), reply(victim.id, server.url("/campaigns/1"), "x"), f"{hostile.base_url}/keys/2",
        victim.private_pem,
    )  # fmt: skip
    assert (status, text) == (401, "key-unavailable (key-on-other-host)")
    assert await server.runtime.db.read(store.actors.by_id, victim.id) is None, "nothing stored"


async def test_a_profile_update_defines_only_its_senders_own_actor(make_server, peer, test_keys):
    server = await make_server()
    runtime = server.runtime
    victim = peer.add_actor("victim", "peer-1")
    await runtime.actors.refresh(victim.id)
    doc = impostor_document(victim, test_keys["peer-3"]["public_key_pem"])
    with pytest.raises(FetchError) as e:
        await runtime.actors.accept_document(doc, "http://127.0.0.1:9/users/mallory")
    assert e.value.reason == "not-own-document"
    cached = await runtime.db.read(store.actors.by_id, victim.id)
    assert cached is not None and cached.public_key_pem == victim.public_pem


async def test_a_key_is_refetched_after_a_failure_at_most_once_a_minute(make_server, peer):
    clock = MovableClock()
    server = await make_server(app_options={"clock": clock})
    runtime = server.runtime
    inbox = server.url("/groups/water/inbox")
    campaign = server.url(f"/campaigns/{await actions.create_campaign(runtime, 'Crossing', 'Paint it')}")

    async def post(actor: FakeActor, content: str) -> tuple[int, str]:
        status, text = await peer.post(actor, inbox, reply(actor.id, campaign, content), now=clock())
        return status, text.strip()

    first = peer.add_actor("alice", "peer-1")
    assert (await post(first, "<p>1</p>"))[0] == 202
    second = peer.add_actor("alice", "peer-2")  # her server rotates her key: refetched at once
    assert (await post(second, "<p>2</p>"))[0] == 202
    assert (await post(first, "<p>3</p>")) == (401, "bad-signature"), "the old key no longer works"
    # Rotated back within the minute: the key was refetched a moment ago, so not again yet.
    peer.add_actor("alice", "peer-1")
    assert (await post(first, "<p>4</p>")) == (401, "bad-signature")
    clock.advance(timedelta(minutes=1, seconds=1))
    assert (await post(first, "<p>5</p>"))[0] == 202
    cached = await runtime.db.read(store.actors.by_id, first.id)
    assert cached is not None and cached.public_key_pem == first.public_pem


async def test_a_day_old_key_is_fetched_again_before_use(make_server, peer):
    clock = MovableClock()
    server = await make_server(app_options={"clock": clock})
    runtime = server.runtime
    inbox = server.url("/groups/water/inbox")
    campaign = server.url(f"/campaigns/{await actions.create_campaign(runtime, 'Crossing', 'Paint it')}")
    alice = peer.add_actor("alice", "peer-1")
    assert (await peer.post(alice, inbox, reply(alice.id, campaign, "<p>1</p>")))[0] == 202
    peer.add_actor("alice", "peer-2")  # rotated: the copy we hold is stale, its old key must stop working
    clock.advance(timedelta(days=1, minutes=1))
    status, text = await peer.post(alice, inbox, reply(alice.id, campaign, "<p>old key</p>"), now=clock())
    assert (status, text.strip()) == (401, "bad-signature")


# -- 2. followers-only objects --------------------------------------------------------------------------------


async def test_followers_only_campaigns_reach_the_follower_and_its_instance_actor_not_its_neighbours(
    make_server, peer
):
    server = await make_server()
    runtime = server.runtime
    alice = peer.add_actor("alice", "peer-1")
    neighbour = peer.add_actor("bob", "peer-2")  # an account on alice's server that does not follow
    bot = peer.add_actor("newsbot", "peer-3", actor_type="Service")
    instance = peer.add_actor("instance", "peer-4", actor_type="Application")
    follow_activity = await follow(peer, alice, server)
    campaign = runtime.ids.campaign(
        await actions.create_campaign(runtime, "Close", "friends", visibility="followers")
    )
    accept = [r.json for r in peer.received if r.json and r.json.get("type") == "Accept"][0]
    assert accept["object"]["id"] == follow_activity["id"]
    verdicts = {}
    for who in (alice, neighbour, instance, bot):
        verdicts[who.username] = ((await peer.get(who, campaign))[0], (await peer.get(who, accept["id"]))[0])
    assert verdicts == {
        "alice": (200, 200),
        "bob": (403, 404),  # was (200, 200): any account on a follower's server could read
        "instance": (200, 200),  # the server that holds it already, through its shared inbox
        "newsbot": (200, 200),  # a Service actor there is taken for a server actor (see SECURITY notes)
    }


# -- 3. Host binding -----------------------------------------------------------------------------------------


async def test_a_signed_get_captured_by_an_attacker_cannot_be_replayed_at_another_server(
    make_server, hostile, test_keys
):
    """B follows A (coalition), so B's instance actor may read A's followers-only campaigns. The attacker
    makes B sign a GET to the attacker's own URL (a POST to B naming that URL as its keyId; the attacker
    refuses unsigned GETs, so B signs), then replays that signed GET at A, for the same path."""
    a = await make_server("a")
    b = await make_server("b", handle="tenants")
    await actions.follow_group(b.runtime, await b.runtime.actors.actor(a.url("/groups/water")))

    async def accepted():
        row = await b.runtime.db.read(store.follows.following_of, a.url("/groups/water"))
        return row is not None and row.state == "accepted"

    await eventually(accepted)
    secret = await actions.create_campaign(a.runtime, "Quiet plan", "only friends", visibility="followers")
    path = f"/campaigns/{secret}"
    hostile.refuse_unsigned = True
    attacker = test_keys["peer-3"]
    await signed_post(b.url("/inbox"), {"id": f"{hostile.base_url}/x", "type": "Like",
                      "actor": f"{hostile.base_url}/u", "object": f"{hostile.base_url}/notes/1"}, hostile.base_url + path,
                      attacker["private_key_pem"])  # fmt: skip
    captured = [h for h in hostile.gets(path) if "Signature" in h]
    assert captured and b.url("/actor#main-key") in captured[0]["Signature"]
    replayed = {k: v for k, v in captured[0].items() if k in ("Host", "Date", "Signature", "Accept")}
    status, text = await raw("GET", a.url(path), replayed)
    assert (status, text) == (401, "host-mismatch"), "the GET was signed for the attacker's host, not A's"
    # B itself still reads it, signing for A.
    doc = await b.runtime.http.get_json(a.url(path), b.runtime.instance_signer)
    assert doc["campaignTitle"] == "Quiet plan"


# -- 4. key fetches: unsigned, budgeted ------------------------------------------------------------------------


async def test_keys_are_fetched_unsigned_and_signed_only_when_refused(make_server, hostile, test_keys):
    server = await make_server()
    attacker = test_keys["peer-3"]
    like = {
        "id": f"{hostile.base_url}/likes/1",
        "type": "Like",
        "actor": f"{hostile.base_url}/u",
        "object": f"{hostile.base_url}/notes/1",
    }
    await signed_post(server.url("/inbox"), like, f"{hostile.base_url}/k1", attacker["private_key_pem"])
    assert [("Signature" in h) for h in hostile.gets("/k1")] == [False], "a key is public: asked for unsigned"
    hostile.refuse_unsigned = True
    await signed_post(server.url("/inbox"), like, f"{hostile.base_url}/k2", attacker["private_key_pem"])
    fetches = hostile.gets("/k2")
    assert [("Signature" in h) for h in fetches] == [False, True], "signed once, after a 401"
    assert server.url("/actor#main-key") in fetches[1]["Signature"]
    # The same unknown keyId again, a moment later: not fetched again.
    status, text = await signed_post(
        server.url("/inbox"), like, f"{hostile.base_url}/k2", attacker["private_key_pem"]
    )
    assert (status, text) == (401, "key-unavailable (key-fetch-failed-recently)")
    assert len(hostile.gets("/k2")) == 2


async def test_first_fetches_of_keys_are_budgeted_per_host_and_overall(make_server, test_keys):
    clock = MovableClock(stands_still=True)  # the budgets refill only when the test moves the clock
    server = await make_server(
        key_fetches_per_minute_per_host=2, key_fetches_per_minute=3, app_options={"clock": clock}
    )
    hosts = [await Hostile().start() for _ in range(3)]
    attacker = test_keys["peer-3"]
    try:

        async def send(host: Hostile, n: int) -> tuple[int, str]:
            like = {
                "id": f"{host.base_url}/likes/{n}",
                "type": "Like",
                "actor": f"{host.base_url}/u",
                "object": f"{host.base_url}/notes/1",
            }
            return await signed_post(
                server.url("/inbox"), like, f"{host.base_url}/k{n}", attacker["private_key_pem"]
            )

        unavailable = (401, "key-unavailable (http-status)")
        limited = (429, "key-fetch-rate-limited")
        assert [await send(hosts[0], n) for n in range(3)] == [unavailable, unavailable, limited]
        assert await send(hosts[1], 3) == unavailable
        assert await send(hosts[2], 4) == limited, "the server-wide budget is spent"
        assert [p for m, p, _ in hosts[0].requests] == ["/k0", "/k1"]
        assert hosts[2].requests == []
        like = {
            "id": f"{hosts[2].base_url}/likes/9",
            "type": "Like",
            "actor": f"{hosts[2].base_url}/u",
            "object": f"{hosts[2].base_url}/notes/1",
        }
        body = json.dumps(like).encode()
        headers = cavage_sign(
            "POST", server.url("/inbox"), body, f"{hosts[2].base_url}/k9", attacker["private_key_pem"]
        )
        async with aiohttp.ClientSession() as session:
            async with session.post(server.url("/inbox"), data=body, headers=headers) as r:
                assert (r.status, r.headers.get("Retry-After")) == (429, "20"), "a token overall every 20 s"
        clock.advance(timedelta(seconds=30))
        assert await send(hosts[0], 5) == unavailable, "refilled: 2 a minute per host, 3 overall"
        assert await server.runtime.db.scalar("SELECT COUNT(*) FROM inbox_activities") == 0
    finally:
        for host in hosts:
            await host.stop()


# -- 6. GoToSocial -----------------------------------------------------------------------------------------


@pytest.fixture
async def gts(test_keys):
    fake = await FakeGoToSocial(keys=test_keys).start()
    yield fake
    await fake.stop()


async def test_a_gotosocial_user_follows_and_votes(make_server, gts):
    """GoToSocial's keyId is `/users/NAME/main-key`, whose document is a stub naming the owner in
    publicKey.owner; the actor itself answers only signed GETs. Follow, Accept, campaign, vote."""
    server = await make_server(totals_update_seconds=0.3)
    runtime = server.runtime
    robin = gts.add_actor("robin", "peer-1")
    group = server.url("/groups/water")
    follow_doc = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{gts.base_url}/users/robin/follow/01HX",
                  "type": "Follow", "actor": robin.id, "object": group}  # fmt: skip
    assert await gts.post(robin, server.url("/groups/water/inbox"), follow_doc) == (202, "")
    accept = (await gts.wait_for(lambda r: r.json and r.json.get("type") == "Accept"))[0]
    assert accept.path == "/users/robin/inbox" and accept.verified is True
    assert gts.actor_gets == [("/users/robin", False, 401), ("/users/robin", True, 200)], (
        "stub first, then the actor: unsigned, refused, then signed by our instance actor"
    )
    cached = await runtime.db.read(store.actors.by_id, robin.id)
    assert cached is not None and cached.key_id == robin.key_id and cached.inbox == f"{robin.id}/inbox"
    assert cached.shared_inbox is None

    campaign_id = await actions.create_campaign(
        runtime,
        "Crossing",
        "Paint it",
        goals=[parse_goal("people:10")],
        options=[parse_option("Come=people:1"), parse_option("Bring two=people:2")],
    )
    question = runtime.ids.campaign(campaign_id)
    await gts.wait_for(lambda r: r.json and r.json.get("type") == "Create" and r.path == "/users/robin/inbox")
    ballot = vote(robin, question, group, "Bring two")
    assert await gts.post(robin, server.url("/groups/water/inbox"), ballot) == (202, "")
    await eventually(lambda: inbox_handled(runtime, ballot["id"]))
    rows = await runtime.db.fetchall(
        "SELECT v.voter, o.label FROM votes v JOIN campaign_options o ON o.id = v.option_id WHERE v.campaign_id = ?",
        (campaign_id,),
    )
    assert [tuple(r) for r in rows] == [(robin.id, "Bring two")]
    update = await gts.wait_for(lambda r: r.json and r.json.get("type") == "Update")
    assert update[0].json["object"]["votersCount"] == 1


# -- 7. a signature we cannot check ------------------------------------------------------------------------------


async def test_a_signature_we_cannot_check_is_answered_as_an_unsigned_request(
    make_server, hostile, test_keys
):
    server = await make_server()
    group = server.url("/groups/water")
    attacker = test_keys["peer-3"]
    headers = {"Accept": ACTIVITY_JSON}
    headers.update(
        cavage_sign("GET", group, None, f"{hostile.base_url}/no-such-key", attacker["private_key_pem"])
    )
    async with aiohttp.ClientSession() as session:
        async with session.get(group, headers=headers) as r:
            assert r.status == 200
            doc = await r.json(content_type=None)
    unsigned = await FakeMastodon(keys=test_keys).get(None, group)
    assert unsigned == (200, doc), "the minimal actor, as an unsigned request gets it"
    followers_only = server.url(
        f"/campaigns/{await actions.create_campaign(server.runtime, 'C', 'c', visibility='followers')}"
    )
    headers = {"Accept": ACTIVITY_JSON}
    headers.update(
        cavage_sign(
            "GET", followers_only, None, f"{hostile.base_url}/no-such-key", attacker["private_key_pem"]
        )
    )
    status, _ = await raw("GET", followers_only, headers)
    assert status == 401, "followers-only still needs a verified follower"


# -- reading key documents (pure) -------------------------------------------------------------------------


def _fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def test_the_owner_named_at_a_keyid_in_each_shape():
    robin = _fixture("actors/gotosocial_person.json")
    stub = _fixture("key_documents/gotosocial_main_key.json")
    key_id = robin["publicKey"]["id"]
    assert "inbox" not in stub and "owner" not in stub
    assert key_owner_named(stub, key_id) == robin["id"], "GoToSocial: publicKey.owner of a stub"
    assert key_owner_named(robin, key_id) == robin["id"], "the actor itself"
    alice = _fixture("actors/mastodon_person.json")
    assert key_owner_named(alice, alice["publicKey"]["id"]) == alice["id"]
    bare = {"id": key_id, "type": "Key", "owner": robin["id"], "publicKeyPem": "..."}
    assert key_owner_named(bare, key_id) == robin["id"], "a bare key document"
    without_owner = dict(stub, publicKey={k: v for k, v in stub["publicKey"].items() if k != "owner"})
    assert key_owner_named(without_owner, key_id) == robin["id"], "no owner: the document's id"
    listed = dict(stub, publicKey=[{"id": f"{key_id}-2", "owner": robin["id"]}, stub["publicKey"]])
    assert key_owner_named(listed, key_id) == robin["id"], "publicKey as an array"
    refusals = {
        "key-not-owned": dict(stub, publicKey=dict(stub["publicKey"], id=f"{key_id}-other")),
        "key-owner-mismatch": dict(
            stub, publicKey=dict(stub["publicKey"], owner="https://gts.example/users/x")
        ),
        "key-id-mismatch": dict(bare, id="https://gts.example/users/robin/other-key"),
        "key-without-owner": {"id": key_id, "publicKeyPem": "..."},
    }
    for reason, doc in refusals.items():
        with pytest.raises(ParseError) as e:
            key_owner_named(doc, key_id)
        assert e.value.reason == reason


def test_an_actor_with_several_keys_is_read_with_the_one_asked_for():
    alice = _fixture("actors/mastodon_person.json")
    main = alice["publicKey"]
    other = {"id": alice["id"] + "#ed25519-key", "owner": alice["id"], "publicKeyPem": "other pem"}
    doc = dict(alice, publicKey=[other, main])
    assert parse_actor(doc).key_id == other["id"], "without a keyId: the first usable key"
    assert parse_actor(doc, main["id"]).public_key_pem == main["publicKeyPem"]
    with pytest.raises(ParseError) as e:
        parse_actor(doc, alice["id"] + "#no-such-key")
    assert e.value.reason == "key-not-owned"
    foreign = dict(main, owner="https://mastodon.example/users/bob")
    with pytest.raises(ParseError) as e:
        parse_actor(dict(alice, publicKey=[foreign]), main["id"])
    assert e.value.reason == "key-not-owned", "a key another actor owns"
