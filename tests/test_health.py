"""Health you can see: a stalled worker fails /healthz (503, with the reason) and `fedgroup status` names the
queue; status and /admin/queues show deliveries per host, the last backup and the disk; /metrics is off by
default and, when on, carries counts only: no member data (canaries)."""

from __future__ import annotations

import aiohttp

from fedgroup import actions, store
from fedgroup import config as config_module
from fedgroup.rules import passwords
from fedgroup.rules.campaigns import parse_goal, parse_option
from tests.conftest import eventually, run_cli
from tests.test_federation import follow
from tests.test_web import PASSWORD, web  # noqa: F401 - the fixture

# A stall time short enough for a test: 0.01 minutes is 0.6 s of overdue work without progress.
QUICK_STALL = 0.01


async def _get(url: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as response:
            return response.status, await response.text(), response.headers.get("Content-Type", "")


async def test_a_stalled_delivery_worker_fails_healthz_and_status_names_the_queue(make_server, peer):
    server = await make_server(stall_minutes=QUICK_STALL)
    runtime = server.runtime
    alice = peer.add_actor("alice", "peer-1")
    await follow(peer, alice, server)
    assert (await _get(server.url("/healthz")))[:2] == (200, "ok\n")

    await runtime.delivery.stop()  # the delivery worker stops working: what is queued now waits
    await actions.create_campaign(runtime, "Stuck", "body", visibility="public")

    async def unhealthy():
        status, text, _ = await _get(server.url("/healthz"))
        return text if status == 503 else None

    reason = await eventually(unhealthy)
    assert reason.startswith("deliveries queue stalled: work due since ")
    assert "inbox" not in reason, "the inbox processor is working: only the delivery queue stalled"
    status = await run_cli("status", "--data-dir", str(server.config.data_dir))
    assert status.returncode == 0, status.stderr
    assert "STALLED: deliveries queue stalled" in status.stdout
    assert "STALLED: inbox" not in status.stdout

    runtime.delivery.start()  # it works again: the queue moves, and the server is healthy
    await peer.wait_for(lambda r: r.json and r.json.get("type") == "Create")

    async def healthy():
        return (await _get(server.url("/healthz")))[0] == 200

    await eventually(healthy)
    status = await run_cli("status", "--data-dir", str(server.config.data_dir))
    assert "workers: no queue has stalled" in status.stdout


async def test_a_stalled_inbox_processor_is_named_too(make_server, peer):
    server = await make_server(stall_minutes=QUICK_STALL)
    runtime = server.runtime
    await runtime.inbox.stop()
    alice = peer.add_actor("alice", "peer-1")
    follow_doc = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{alice.id}/follows/1",
        "type": "Follow",
        "actor": alice.id,
        "object": server.url("/groups/water"),
    }
    assert (await peer.post(alice, server.url("/groups/water/inbox"), follow_doc))[0] == 202

    async def unhealthy():
        status, text, _ = await _get(server.url("/healthz"))
        return text if status == 503 else None

    assert (await eventually(unhealthy)).startswith("inbox queue stalled")


async def test_status_and_the_admin_page_show_hosts_backup_and_disk(web, peer, tmp_path):  # noqa: F811
    server, ids, client = web
    runtime = server.runtime
    alice = peer.add_actor("alice", "peer-1")
    await follow(peer, alice, server)
    data_dir = str(server.config.data_dir)
    status = await run_cli("status", "--data-dir", data_dir)
    assert "last backup: never" in status.stdout and "disk: data dir " in status.stdout

    taken = await run_cli("backup", "--data-dir", data_dir, "--to", str(tmp_path / "group.tar.gz"))
    assert taken.returncode == 0, taken.stderr
    status = await run_cli("status", "--data-dir", data_dir)
    assert "last backup: 20" in status.stdout and " MB)" in status.stdout

    peer.inbox_status = 503
    await actions.create_campaign(runtime, "Waiting", "body", visibility="public")
    host = peer.base_url.removeprefix("http://")

    async def retrying():
        return (await runtime.db.read(store.outbox.counts, runtime.now())).retrying

    await eventually(retrying)
    status = await run_cli("status", "--data-dir", data_dir)
    assert f"host {host}: pending: 0  retrying: 1  given up: 0" in status.stdout

    admin = client()
    await admin.sign_in("Ada Admin", PASSWORD)
    page = await admin.get("/admin/queues")
    assert page.status == 200
    for shown in ("Health", "Last backup", "Disk", "No queue has stalled", host):
        assert shown in page.text, shown


async def test_metrics_are_off_by_default(make_server):
    server = await make_server()
    assert (await _get(server.url("/metrics")))[0] == 404


def test_metrics_and_the_stall_time_are_settings_like_any_other(tmp_path):
    (tmp_path / "config.toml").write_text('base_url = "https://g.example"\n')
    defaults = config_module.load(tmp_path, environ={})
    assert defaults.metrics_enabled is False and defaults.stall_minutes == 10.0
    environ = {"FEDGROUP_METRICS_ENABLED": "true", "FEDGROUP_STALL_MINUTES": "3"}
    configured = config_module.load(tmp_path, environ=environ)
    assert configured.metrics_enabled is True and configured.stall_minutes == 3.0


CANARIES = (
    "Canary Hedda q7zx",
    "canary.q7zx@crossing.example",
    "canary note q7zx: back door",
    "canarypeerq7zx",
)


async def test_metrics_carry_counts_and_nothing_about_members(make_server, peer):
    server = await make_server(metrics_enabled=True)
    runtime = server.runtime
    name, email, note, follower = CANARIES
    member = await actions.add_member(
        runtime, name, "member", email, passwords.hash_password("pw-q7zx-long!")
    )
    campaign_id = await actions.create_campaign(
        runtime, "Come", "b", goals=[parse_goal("people:9")], options=[parse_option("Come=people:1")]
    )
    await actions.pledge(runtime, member, campaign_id, option="Come", note=note)
    remote = peer.add_actor(follower, "peer-1")
    await follow(peer, remote, server)
    peer.inbox_status = 503  # a delivery waits for the follower's host
    await actions.create_campaign(runtime, "Later", "body", visibility="public")

    status, text, content_type = await _get(server.url("/metrics"))
    assert status == 200 and content_type.startswith("text/plain")
    assert (
        'fedgroup_deliveries{state="pending"}' in text
        and 'fedgroup_inbox_activities{state="given_up"} 0.0' in text
    )
    assert 'fedgroup_queue_stalled{queue="deliveries"} 0.0' in text
    for canary in (*CANARIES, remote.id, peer.base_url.removeprefix("http://")):
        assert canary not in text, f"{canary!r} in /metrics"
