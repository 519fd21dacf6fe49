"""Signature attacks at the inbox of a live server, each with its own status and reason and nothing stored;
and the per-remote-host request limit (429 with Retry-After, charged once a signature holds), as a pure rule
and at the inbox.

Replays: the exact same signed request sent again is answered 202 and not processed again (the activity id
is already stored: de-duplication by id, as Mastodon does); the same id with other content is likewise
ignored. A stale or future Date beyond the window is refused.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from fedgroup import actions
from fedgroup.net.throttle import HostThrottle
from tests.conftest import MovableClock, database_snapshot, eventually
from tests.peer import FakeActor, FakeMastodon, cavage_sign

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


async def raw_post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str, dict[str, str]]:
    async with aiohttp.ClientSession() as session:
        async with session.post(url, data=body, headers=headers) as response:
            return response.status, (await response.text()).strip(), dict(response.headers)


async def processed(runtime, activity_id: str) -> bool:
    state = await runtime.db.scalar("SELECT state FROM inbox_activities WHERE id = ?", (activity_id,))
    return state in ("done", "failed")


@pytest.fixture
async def setup(make_server, peer):
    clock = MovableClock()
    server = await make_server(app_options={"clock": clock})
    alice = peer.add_actor("alice", "peer-1")
    bob = peer.add_actor("bob", "peer-2")
    campaign = await actions.create_campaign(server.runtime, "Crossing", "Paint it", visibility="public")
    return server, peer, alice, bob, server.url(f"/campaigns/{campaign}"), clock


def reply(actor: FakeActor, campaign_url: str, content: str, note_id: str | None = None) -> dict:
    note_id = note_id or f"{actor.id}/statuses/{uuid.uuid4()}"
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{note_id}/activity",
        "type": "Create",
        "actor": actor.id,
        "to": [PUBLIC],
        "object": {"id": note_id, "type": "Note", "attributedTo": actor.id, "content": content,
                   "inReplyTo": campaign_url, "to": [PUBLIC]},
    }  # fmt: skip


async def warm(server, peer, actor, campaign_url):
    """One accepted reply, so the actor's key is cached before the attack (the attack has nothing to cache)."""
    activity = reply(actor, campaign_url, "<p>hello</p>")
    status, _ = await peer.post(actor, server.url("/groups/water/inbox"), activity)
    assert status == 202
    await eventually(lambda: processed(server.runtime, activity["id"]))


async def test_each_signature_attack_is_refused_with_its_reason_and_stores_nothing(setup):
    server, peer, alice, bob, campaign_url, _ = setup
    inbox = server.url("/groups/water/inbox")
    for actor in (alice, bob):
        await warm(server, peer, actor, campaign_url)
    doc = reply(alice, campaign_url, "<p>forged</p>")
    body = json.dumps(doc).encode()
    now = datetime.now(UTC)

    def signed(key_id: str = alice.key_id, pem: str = alice.private_pem, **options) -> dict[str, str]:
        return cavage_sign("POST", inbox, body, key_id, pem, **options)

    no_digest = signed(headers_to_sign=("(request-target)", "host", "date"))
    del no_digest["Digest"]
    hmac = signed()
    hmac["Signature"] = hmac["Signature"].replace('algorithm="rsa-sha256"', 'algorithm="hmac-sha256"')
    bad_base64 = signed()
    bad_base64["Signature"] = bad_base64["Signature"].rsplit('signature="', 1)[0] + 'signature="!!notbase64"'
    # Signed over neither date nor (created), with a fresh-looking created parameter nobody signed.
    unsigned_created = signed(headers_to_sign=("(request-target)", "host", "digest"))
    del unsigned_created["Date"]
    unsigned_created["Signature"] += f",created={int(now.timestamp())}"
    # Signed for another server (its Host), as a request we or a partner sent there would be.
    port = int(inbox.split(":")[2].split("/")[0])
    other_host = cavage_sign("POST", inbox.replace(f":{port}/", f":{port + 1}/"), body, alice.key_id,
                             alice.private_pem)  # fmt: skip
    attacks = [
        # (name, body, headers, status, reason)
        ("unsigned", body, {"Content-Type": "application/activity+json"}, 401, "missing-signature"),
        ("forged: alice's keyId, bob's key", body, signed(pem=bob.private_pem), 401, "bad-signature"),
        ("keyId of another actor (bob signs alice's activity)", body, signed(bob.key_id, bob.private_pem), 403,
         "signer-not-actor"),
        ("keyId that does not exist", body, signed(alice.id + "#other-key"), 401, "key-unavailable (key-not-owned)"),
        ("keyId on a host that does not answer", body, signed("http://127.0.0.1:9/users/alice#main-key"), 401,
         "key-unavailable (unreachable)"),
        ("keyId that is not a URL", body, signed("alice"), 401, "key-unavailable (bad-url)"),
        ("stale Date (13 h old)", body, signed(now=now - timedelta(hours=13)), 401, "date-skew"),
        ("future Date (13 h ahead)", body, signed(now=now + timedelta(hours=13)), 401, "date-skew"),
        ("future Date (2 h ahead: a clock may run ahead by one hour at most)", body,
         signed(now=now + timedelta(hours=2)), 401, "date-skew"),  # fmt: skip
        ("digest mismatch", body.replace(b"forged", b"f0rged"), signed(), 401, "digest-mismatch"),
        ("digest header missing", body, no_digest, 401, "digest-missing"),
        ("digest not signed", body, signed(headers_to_sign=("(request-target)", "host", "date")), 401,
         "digest-not-covered"),
        ("request-target not signed", body, signed(headers_to_sign=("host", "date", "digest")), 401,
         "headers-not-covered"),
        ("signed for another path", body,
         cavage_sign("POST", server.url("/inbox"), body, alice.key_id, alice.private_pem), 401, "bad-signature"),
        ("hmac algorithm", body, hmac, 401, "unsupported-algorithm"),
        ("signature not base64", body, bad_base64, 401, "malformed-signature"),
        ("created parameter not signed", body, unsigned_created, 401, "date-missing"),
        ("signed for another host", body, other_host, 401, "host-mismatch"),
    ]  # fmt: skip
    before = await database_snapshot(server.runtime)
    verdicts = []
    for name, sent_body, headers, status, reason in attacks:
        got = await raw_post(inbox, sent_body, headers)
        verdicts.append((name, got[0], got[1]))
        assert (got[0], got[1]) == (status, reason), f"{name}: {got[0]} {got[1]!r}"
        assert await database_snapshot(server.runtime) == before, f"{name} left something behind"
    assert [c for (c,) in await server.runtime.db.fetchall("SELECT content FROM comments")] == [
        "<p>hello</p>",
        "<p>hello</p>",
    ]


async def test_a_replayed_request_is_answered_but_processed_once(setup):
    server, peer, alice, _, campaign_url, _ = setup
    inbox = server.url("/groups/water/inbox")
    activity = reply(alice, campaign_url, "<p>once</p>")
    body = json.dumps(activity).encode()
    headers = cavage_sign("POST", inbox, body, alice.key_id, alice.private_pem)
    assert (await raw_post(inbox, body, headers))[0] == 202
    await eventually(lambda: processed(server.runtime, activity["id"]))
    received = await server.runtime.db.fetchone(
        "SELECT received_at, state FROM inbox_activities WHERE id = ?", (activity["id"],)
    )
    before = await database_snapshot(server.runtime)
    for _ in range(3):  # byte for byte the same request, its signature still fresh
        status, text, _ = await raw_post(inbox, body, headers)
        assert (status, text) == (202, "")
    # Same activity id, other content, freshly signed: also not processed again.
    changed = json.dumps(dict(activity, object=dict(activity["object"], content="<p>changed</p>"))).encode()
    status, _, _ = await raw_post(
        inbox, changed, cavage_sign("POST", inbox, changed, alice.key_id, alice.private_pem)
    )
    assert status == 202
    assert await database_snapshot(server.runtime) == before
    assert (
        await server.runtime.db.fetchone(
            "SELECT received_at, state FROM inbox_activities WHERE id = ?", (activity["id"],)
        )
        == received
    )
    assert [c for (c,) in await server.runtime.db.fetchall("SELECT content FROM comments")] == ["<p>once</p>"]


async def test_a_date_within_the_window_is_accepted(setup):
    server, peer, alice, _, campaign_url, _ = setup
    for hours in (-11, 0.5):
        activity = reply(alice, campaign_url, "<p>in time</p>")
        sent_at = datetime.now(UTC) + timedelta(hours=hours)
        status, text = await peer.post(alice, server.url("/groups/water/inbox"), activity, now=sent_at)
        assert status == 202, (hours, text)


# -- the per-host limit -------------------------------------------------------------------------------------


def test_throttle_allows_a_burst_then_the_rate():
    throttle = HostThrottle(per_minute=60, burst=5)
    assert [throttle.take("a.example", 100.0) for _ in range(5)] == [None] * 5
    assert throttle.take("a.example", 100.0) == 1  # one token a second
    assert throttle.take("b.example", 100.0) is None, "hosts are counted apart"
    assert throttle.take("a.example", 100.5) == 1
    assert throttle.take("a.example", 101.0) is None
    assert throttle.take("a.example", 101.0) == 1
    assert throttle.take("a.example", 200.0) is None  # refilled, to the burst and no further
    assert [throttle.take("a.example", 200.0) for _ in range(5)] == [None] * 4 + [1]


def test_throttle_retry_after_is_whole_seconds_until_one_token():
    throttle = HostThrottle(per_minute=3)  # burst 3, then one request every 20 s
    assert [throttle.take("h", 0.0) for _ in range(3)] == [None, None, None]
    assert throttle.take("h", 0.0) == 20
    assert throttle.take("h", 15.5) == 5
    assert throttle.take("h", 20.0) is None
    assert throttle.take("h", 20.0) == 20


def test_throttle_refused_requests_do_not_dig_a_deeper_hole_and_a_clock_step_back_refills_nothing():
    throttle = HostThrottle(per_minute=60, burst=1)
    assert throttle.take("h", 10.0) is None
    for _ in range(100):
        assert throttle.take("h", 10.0) == 1
    assert throttle.take("h", 11.0) is None, "refusals cost nothing"
    assert throttle.take("h", 5.0) == 1, "time going backwards adds no tokens"
    assert throttle.take("h", 12.0) is None


def test_throttle_zero_means_no_limit_and_memory_is_bounded():
    off = HostThrottle(per_minute=0)
    assert not off.enabled and all(off.take("h", 0.0) is None for _ in range(1000)) and len(off) == 0
    throttle = HostThrottle(per_minute=60, burst=2, max_hosts=100)
    for n in range(1000):
        throttle.take(f"h{n}.example", float(n) / 1000)
        assert len(throttle) <= 100
    # A host that spent its burst a moment ago is still limited while the table churns.
    throttle.take("busy.example", 1.0)
    throttle.take("busy.example", 1.0)
    assert throttle.take("busy.example", 1.0) == 1
    with pytest.raises(ValueError):
        HostThrottle(per_minute=-1)


async def test_a_host_sending_too_many_requests_gets_429_with_retry_after(make_server, peer, test_keys):
    # The budget refills with the clock: one that moves only when the test moves it, so a slow machine's
    # seconds between two requests cannot refill it (19 s on it plus a real second made this 202).
    clock = MovableClock(stands_still=True)
    server = await make_server(inbox_requests_per_minute_per_host=3, app_options={"clock": clock})
    alice = peer.add_actor("alice", "peer-1")
    bob = peer.add_actor("bob", "peer-2")  # same host as alice: shares her budget
    other = await FakeMastodon(keys=test_keys).start()
    carol = other.add_actor("carol", "peer-3")
    inbox = server.url("/groups/water/inbox")

    def like(actor: FakeActor) -> dict:
        return {"id": f"{actor.id}#likes/{uuid.uuid4()}", "type": "Like", "actor": actor.id,
                "object": f"{actor.id}/statuses/1"}  # fmt: skip

    try:
        # A forger naming alice's key (signing with carol's) spends nothing of alice's host's budget.
        forged_body = json.dumps(like(alice)).encode()
        for _ in range(5):
            forged = cavage_sign("POST", inbox, forged_body, alice.key_id, carol.private_pem)
            assert (await raw_post(inbox, forged_body, forged))[0] == 401
        for actor in (alice, bob, alice):
            assert (await peer.post(actor, inbox, like(actor)))[0] == 202
        stored = await server.runtime.db.scalar("SELECT COUNT(*) FROM inbox_activities")
        body = json.dumps(like(bob)).encode()
        status, text, headers = await raw_post(
            inbox, body, cavage_sign("POST", inbox, body, bob.key_id, bob.private_pem)
        )
        assert (status, text, headers.get("Retry-After")) == (429, "rate-limited", "20")
        assert await server.runtime.db.scalar("SELECT COUNT(*) FROM inbox_activities") == stored

        assert (await other.post(carol, inbox, like(carol)))[0] == 202, "another host has its own budget"
        unsigned = await raw_post(inbox, body, {"Content-Type": "application/activity+json"})
        assert unsigned[0] == 401, "unsigned requests are refused as such (no host to count them against)"

        clock.advance(timedelta(seconds=19))
        assert (await peer.post(bob, inbox, like(bob)))[0] == 429
        clock.advance(timedelta(seconds=1))
        assert (await peer.post(bob, inbox, like(bob)))[0] == 202, "one more after 20 s"
        assert (await peer.post(bob, inbox, like(bob)))[0] == 429
    finally:
        await other.stop()
