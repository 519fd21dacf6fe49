"""A delivery given up is kept (host, attempts, last error) like a received activity given up: `fedgroup
status` and /admin/queues show it, and `fedgroup delivery retry` or a Retry button puts it back. The peer is
a live Mastodon-shaped server that refuses, then recovers."""

from __future__ import annotations

from datetime import timedelta

from fedgroup import actions, store
from tests.conftest import MovableClock, eventually, run_cli
from tests.test_federation import follow
from tests.test_web import PASSWORD, web  # noqa: F401 - the fixture


def _creates(peer, title: str) -> list:
    return [
        r
        for r in peer.received
        if r.json and r.json.get("type") == "Create" and r.json["object"].get("campaignTitle") == title
    ]


async def _given_up(runtime) -> list[store.outbox.GivenUpDelivery]:
    return await runtime.db.read(store.outbox.given_up)


async def test_a_refused_delivery_is_kept_shown_and_sent_again_when_the_host_is_retried(make_server, peer):
    server = await make_server()
    runtime = server.runtime
    alice = peer.add_actor("alice", "peer-1")
    await follow(peer, alice, server)
    peer.inbox_status = 403  # refused for good: given up at the first answer
    await actions.create_campaign(runtime, "Refused", "body", visibility="public")
    await eventually(lambda: _given_up(runtime))
    [row] = await _given_up(runtime)
    host = peer.base_url.removeprefix("http://")
    assert row.host == host and row.attempts == 1 and row.last_error == "HTTP 403"
    assert row.inbox.startswith(peer.base_url)
    counts = await runtime.db.read(store.outbox.counts, runtime.now())
    assert (counts.pending, counts.retrying, counts.given_up) == (0, 0, 1)
    assert [(h.host, h.given_up) for h in counts.hosts] == [(host, 1)]

    data_dir = str(server.config.data_dir)
    status = await run_cli("status", "--data-dir", data_dir)
    assert status.returncode == 0, status.stderr
    assert (
        "given up: 1" in status.stdout
        and f"host {host}: pending: 0  retrying: 0  given up: 1" in status.stdout
    )
    assert f"{row.id}\t{host}\t{row.inbox}" in status.stdout and "HTTP 403" in status.stdout

    unknown = await run_cli("delivery", "retry", "--host", "nowhere.example", "--data-dir", data_dir)
    assert unknown.returncode == 2 and "no given-up delivery to nowhere.example" in unknown.stderr

    peer.inbox_status = 202  # the host is back
    retried = await run_cli("delivery", "retry", "--host", host, "--data-dir", data_dir)
    assert retried.returncode == 0, retried.stderr
    assert "1 delivery queued again" in retried.stdout
    await peer.wait_for(lambda r: r.status == 202 and r in _creates(peer, "Refused"))
    await eventually(lambda: _queue_empty(runtime))
    assert await _given_up(runtime) == []
    assert [r.status for r in _creates(peer, "Refused")] == [403, 202]


async def _queue_empty(runtime) -> bool:
    return await runtime.db.scalar("SELECT COUNT(*) FROM deliveries") == 0


async def _retrying(runtime) -> bool:
    return (await runtime.db.read(store.outbox.counts, runtime.now())).retrying > 0


async def test_a_host_down_past_the_give_up_age_is_kept_with_its_error_and_retried_by_id(make_server, peer):
    clock = MovableClock()
    server = await make_server(app_options={"clock": clock})
    runtime = server.runtime
    alice = peer.add_actor("alice", "peer-1")
    await follow(peer, alice, server)
    peer.inbox_status = 503
    await actions.create_campaign(runtime, "Down", "body", visibility="public")
    await eventually(lambda: _retrying(runtime))
    clock.advance(timedelta(days=4))  # past the retry policy's age: the next failure gives up
    await eventually(lambda: _given_up(runtime))
    [row] = await _given_up(runtime)
    assert row.last_error == "expired after HTTP 503" and row.attempts >= 2

    peer.inbox_status = 202
    data_dir = str(server.config.data_dir)
    missing = await run_cli("delivery", "retry", str(row.id + 1000), "--data-dir", data_dir)
    assert missing.returncode == 2 and f"no given-up delivery {row.id + 1000}" in missing.stderr
    retried = await run_cli("delivery", "retry", str(row.id), "--data-dir", data_dir)
    assert retried.returncode == 0, retried.stderr
    await peer.wait_for(lambda r: r.status == 202 and r in _creates(peer, "Down"))
    await eventually(lambda: _queue_empty(runtime))


async def test_an_admin_sees_given_up_deliveries_per_host_and_retries_them(web, peer):  # noqa: F811
    server, ids, client = web
    runtime = server.runtime
    alice = peer.add_actor("alice", "peer-1")
    await follow(peer, alice, server)
    peer.inbox_status = 410
    await actions.create_campaign(runtime, "Gone for now", "body", visibility="public")
    await eventually(lambda: _given_up(runtime))
    [row] = await _given_up(runtime)
    host = peer.base_url.removeprefix("http://")

    organizer = client()
    await organizer.sign_in("Olu Organizer", PASSWORD)
    assert (await organizer.get("/admin/queues")).status == 403
    refused = await organizer.post("/admin/queues/retry-delivery", {}, csrf_from="/organize")
    assert refused.status == 403
    admin = client()
    await admin.sign_in("Ada Admin", PASSWORD)
    page = await admin.get("/admin/queues")
    assert page.status == 200
    assert "Deliveries by host" in page.text and host in page.text and "HTTP 410" in page.text
    assert f"Retry delivery {row.id}" in page.text and f"Retry {host}" in page.text

    peer.inbox_status = 202
    retried = await admin.post(
        "/admin/queues/retry-delivery", {"delivery": str(row.id)}, csrf_from="/admin/queues"
    )
    assert retried.status == 200 and retried.url.endswith("/admin/queues?done=retried")
    await peer.wait_for(lambda r: r.status == 202 and r in _creates(peer, "Gone for now"))
    await eventually(lambda: _queue_empty(runtime))
    assert "No delivery was given up." in (await admin.get("/admin/queues")).text
