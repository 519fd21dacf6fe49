"""Moderation across real loopback servers: reports (Flag) in both directions, and blocks from the CLI."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid

from fedgroup import actions, store
from tests.conftest import eventually
from tests.test_federation import follow
from tests.web_client import WebClient

AS = "https://www.w3.org/ns/activitystreams"


def flag_of(actor, objects: list[str], content: str) -> dict:
    return {
        "@context": AS,
        "id": f"{actor.id.rsplit('/users/', 1)[0]}/{uuid.uuid4()}",
        "type": "Flag",
        "actor": actor.id,
        "object": objects,
        "content": content,
    }


async def _reports(server, direction: str = "received") -> list:
    return await store.reports.listing(server.runtime.db.reader, direction)


async def organizer(server, name: str = "olga") -> WebClient:
    from fedgroup import passwords

    await actions.add_member(
        server.runtime, name, "organizer", None, passwords.hash_password("organizer pw 1")
    )
    client = WebClient(server.base_url)
    await client.sign_in(name, "organizer pw 1")
    return client


async def test_reports_about_the_group_reach_organizers_as_plain_text(make_server, peer):
    server = await make_server()
    runtime = server.runtime
    campaign_id = await actions.create_campaign(runtime, "Safe crossing", "We need one.", visibility="public")
    mastodon = peer.add_actor("actor", "peer-1", actor_type="Application")  # Mastodon's instance actor
    inbox = server.url("/inbox")

    about_us = flag_of(
        mastodon,
        [runtime.ids.group, runtime.ids.campaign(campaign_id)],
        '<p>spam <script>alert(1)</script><a href="javascript:x()">link</a></p>',
    )
    assert (await peer.post(mastodon, inbox, about_us))[0] == 202
    reports = await eventually(lambda: _reports(server))
    assert len(reports) == 1
    report = reports[0]
    assert report.remote_actor == mastodon.id
    assert report.objects == (runtime.ids.group, runtime.ids.campaign(campaign_id))
    assert report.comment == "spam link", "kept as readable text: no markup, no script"

    # The same report again (a retry) is one report; one about someone else is not ours to hold.
    assert (await peer.post(mastodon, inbox, about_us))[0] == 202
    elsewhere = flag_of(mastodon, [f"{peer.base_url}/users/someone"], "not about you")
    assert (await peer.post(mastodon, inbox, elsewhere))[0] == 202
    await eventually(lambda: _processed(server, elsewhere["id"]))
    assert len(await _reports(server)) == 1

    client = await organizer(server)
    try:
        page = await client.get("/organize/blocks")
        assert page.status == 200 and mastodon.id in page.text and "spam link" in page.text
        assert "alert(1)" not in page.text and "javascript:" not in page.text
        resolved = await client.post(
            "/organize/reports/resolve", {"report": str(report.id)}, "/organize/blocks"
        )
        assert resolved.status == 200
        assert (await _reports(server))[0].resolved_at is not None
        member_client = WebClient(server.base_url)
        from fedgroup import passwords

        await actions.add_member(runtime, "mo", "member", None, passwords.hash_password("member pw 12"))
        await member_client.sign_in("mo", "member pw 12")
        assert (await member_client.get("/organize/blocks")).status == 403, "reports are for organizers"
        await member_client.close()
    finally:
        await client.close()


async def _processed(server, activity_id: str) -> bool:
    return await store.inbox.state_of(server.runtime.db.reader, activity_id) == "done"


async def test_our_report_is_sent_by_the_instance_actor_and_names_no_member(make_server, peer):
    server = await make_server()
    troll = peer.add_actor("troll", "peer-2")
    client = await organizer(server, name="Canary Organizer Zq7")
    try:
        post = f"{troll.id}/statuses/1"
        bad = await client.post(
            "/organize/reports/send", {"account": troll.id, "comment": "", "posts": ""}, "/organize/blocks"
        )
        assert bad.status == 422 and "say why" in bad.text
        page = await client.post(
            "/organize/reports/send",
            {"account": troll.id, "comment": "Harassing our members", "posts": post},
            "/organize/blocks",
        )
        assert page.status == 200 and "sent in the group" in page.text
    finally:
        await client.close()
    flags = await peer.wait_for(lambda r: r.json and r.json.get("type") == "Flag")
    flag = flags[0]
    instance = server.runtime.ids.instance_actor
    assert flag.verified is True and flag.key_id == instance + "#main-key"
    assert flag.json["actor"] == instance
    assert flag.json["object"] == [troll.id, post]
    assert flag.json["content"] == "Harassing our members"
    assert "Canary" not in flag.body.decode() and "Zq7" not in str(flag.headers)
    assert flag.path == "/inbox" and "to" not in flag.json, "to the server, addressed to nobody"
    status, _ = await peer.get(troll, flag.json["id"])
    assert status == 404, "the reported account cannot fetch the report"
    sent = await _reports(server, "sent")
    assert [(r.remote_actor, r.comment) for r in sent] == [(troll.id, "Harassing our members")]


async def fedgroup_cli(data_dir, *args: str) -> subprocess.CompletedProcess[str]:
    """Run a CLI command beside the running server. In a thread: a blocking call here would freeze the
    server's event loop, possibly between its BEGIN and COMMIT, and the command would then wait out its
    30-second busy timeout for a lock nobody can release ("database is locked")."""
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "fedgroup.cli", *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_a_domain_blocked_from_the_cli_is_refused_unfetched_and_sent_nothing(make_server, peer):
    server = await make_server()
    runtime = server.runtime
    alice = peer.add_actor("alice", "peer-1")
    await follow(peer, alice, server)
    peer.inbox_status = 503  # their server is down: a campaign stays queued for it
    await actions.create_campaign(runtime, "Queued", "for alice", visibility="public")
    await eventually(lambda: _queued(server))

    domain = peer.base_url.split("://", 1)[1]
    done = await fedgroup_cli(server.config.data_dir, "block", "add", domain)
    assert done.returncode == 0, done.stderr
    assert (await fedgroup_cli(server.config.data_dir, "block", "list")).stdout.split() == [domain, "domain"]
    # (The server's shared read connection may be a moment behind another process's commit.)
    await eventually(lambda: _no_followers(server))
    assert not await _queued(server), "what was queued for them is dropped"

    # After a restart nothing of alice is cached: a new POST must be refused before any fetch of her key.
    await server.stop()
    await server.start()
    runtime = server.runtime
    sent_to_them = len(peer.received)
    hello = {"@context": AS, "id": f"{alice.id}/follows/2", "type": "Follow", "actor": alice.id,
             "object": runtime.ids.group}  # fmt: skip
    status, text = await peer.post(alice, server.url("/groups/water/inbox"), hello)
    assert (status, text.strip()) == (403, "blocked")
    status, _ = await peer.get(alice, runtime.ids.followers)
    assert status == 403
    assert len(peer.received) == sent_to_them
    assert await server.runtime.db.scalar("SELECT COUNT(*) FROM remote_actors WHERE id = ?", (alice.id,)) == 0

    assert (await fedgroup_cli(server.config.data_dir, "block", "remove", domain)).returncode == 0
    refused = await fedgroup_cli(server.config.data_dir, "block", "remove", domain)
    assert refused.returncode == 2 and refused.stderr.startswith("fedgroup: error:")


async def _no_followers(server) -> bool:
    return await store.follows.count_followers(server.runtime.db.reader) == 0


async def _queued(server) -> bool:
    return await store.outbox.pending_count(server.runtime.db.reader) > 0


async def test_what_a_blocked_actor_sent_before_the_block_is_not_acted_on(make_server, peer):
    """Accepted (202) a moment before the block, processed after it: the block wins."""
    from fedgroup.activitypub.inbox import InboxProcessor

    server = await make_server()
    runtime = server.runtime
    alice = peer.add_actor("alice", "peer-1")
    await runtime.inbox.stop()  # hold processing, so that the block falls between arrival and handling
    follow_doc = {"@context": AS, "id": f"{alice.id}/follows/9", "type": "Follow", "actor": alice.id,
                  "object": runtime.ids.group}  # fmt: skip
    assert (await peer.post(alice, server.url("/groups/water/inbox"), follow_doc))[0] == 202
    await actions.block(runtime, alice.id)
    runtime.inbox = InboxProcessor(runtime)
    runtime.inbox.start()
    await eventually(lambda: _processed(server, follow_doc["id"]))
    assert await store.follows.count_followers(runtime.db.reader) == 0
    assert not [r for r in peer.received if r.json and r.json.get("type") == "Accept"]
