"""Moderation across real loopback servers: reports (Flag) in both directions, and blocks from the CLI."""

from __future__ import annotations

import subprocess
import uuid

from fedgroup import actions, store
from tests.conftest import eventually, inbox_handled, run_cli
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
    return await server.runtime.db.read(store.reports.listing, direction)


async def organizer(server, name: str = "olga") -> WebClient:
    from fedgroup.rules import passwords

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
    assert await eventually(lambda: inbox_handled(server.runtime, elsewhere["id"])) == "done"
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
        from fedgroup.rules import passwords

        await actions.add_member(runtime, "mo", "member", None, passwords.hash_password("member pw 12"))
        await member_client.sign_in("mo", "member pw 12")
        assert (await member_client.get("/organize/blocks")).status == 403, "reports are for organizers"
        await member_client.close()
    finally:
        await client.close()


async def test_our_report_is_sent_by_the_instance_actor_and_names_no_member(make_server, peer):
    server = await make_server()
    troll = peer.add_actor("troll", "peer-2")
    client = await organizer(server, name="Canary Organizer Zq7")
    try:
        post = f"{troll.id}/statuses/1"
        bad = await client.post(
            "/organize/reports/send", {"account": troll.id, "comment": "", "posts": ""}, "/organize/blocks"
        )
        assert bad.status == 422 and "Say why you report this account." in bad.text
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
    """Run a CLI command beside the running server, awaited through asyncio: a blocking call here would freeze
    the server's event loop while the command runs."""
    return await run_cli(*args, "--data-dir", str(data_dir))


async def test_a_domain_blocked_from_the_cli_is_refused_unfetched_and_sent_only_rejects(make_server, peer):
    server = await make_server()
    runtime = server.runtime
    alice = peer.add_actor("alice", "peer-1")
    alice_follow = await follow(peer, alice, server)
    peer.inbox_status = 503  # their server is down: a campaign stays queued for it
    await actions.create_campaign(runtime, "Queued", "for alice", visibility="public")
    await eventually(lambda: _queued(server))

    domain = peer.base_url.split("://", 1)[1]
    done = await fedgroup_cli(server.config.data_dir, "block", "add", domain)
    assert done.returncode == 0, done.stderr
    assert (await fedgroup_cli(server.config.data_dir, "block", "list")).stdout.split() == [domain, "domain"]
    # (The server's shared read connection may be a moment behind another process's commit.)
    await eventually(lambda: _no_followers(server))
    # What was queued for them is dropped; the one thing still sent there is the Reject of alice's Follow
    # (so that her server drops the follow), to her own inbox. No Block per account for a domain block.
    assert await _queue(server) == [("Reject", alice.document["inbox"])]
    peer.inbox_status = 202
    # Delivered at its next attempt. While their server was down the Reject was retried with backoff (0.2 s
    # doubling in tests) for as long as the two commands above took, seconds on a loaded machine, so that
    # attempt may be 10-20 s away: wait for the event, with room for it.
    await eventually(lambda: _queue_empty(server), timeout=60)
    rejects = [r for r in peer.received if r.json and r.json.get("type") == "Reject"]
    assert rejects and len({r.json["id"] for r in rejects}) == 1
    for reject in rejects:
        assert reject.verified is True and reject.path == "/users/alice/inbox"
        assert reject.json["object"]["id"] == alice_follow["id"]
    after = peer.received[peer.received.index(rejects[0]) :]
    assert {r.json.get("type") for r in after if r.json} == {"Reject"}, "the queued campaign was dropped"

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
    return await server.runtime.db.read(store.follows.count_followers) == 0


async def _queue(server) -> list[tuple[str, str]]:
    rows = await server.runtime.db.fetchall(
        "SELECT a.type, d.inbox FROM deliveries d JOIN outbox_activities a ON a.id = d.activity_id ORDER BY d.id"
    )
    return [(r[0], r[1]) for r in rows]


async def _queue_empty(server) -> bool:
    return await _queue(server) == []


async def _queued(server) -> bool:
    return await server.runtime.db.read(store.outbox.pending_count) > 0


async def test_what_a_blocked_actor_sent_before_the_block_is_not_acted_on(make_server, peer):
    """Accepted (202) a moment before the block, processed after it: the block wins."""
    from fedgroup.actions.inbox import InboxProcessor

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
    assert await eventually(lambda: inbox_handled(server.runtime, follow_doc["id"])) == "done"
    assert await runtime.db.read(store.follows.count_followers) == 0
    assert not [r for r in peer.received if r.json and r.json.get("type") == "Accept"]


async def test_a_blocked_follower_is_told_and_hears_no_more_followers_only_campaigns(make_server, peer):
    """Before: a block told the follower's server nothing. It kept the follow, and showed the group's
    followers-only campaigns (which it still receives for its other followers of the group) to the blocked
    account too."""
    server = await make_server()
    runtime = server.runtime
    group = runtime.ids.group
    alice = peer.add_actor("alice", "peer-1")
    carol = peer.add_actor("carol", "peer-2")  # on the same server, and still following
    alice_follow = await follow(peer, alice, server)
    carol_follow = await follow(peer, carol, server)

    done = await fedgroup_cli(server.config.data_dir, "block", "add", alice.id)
    assert done.returncode == 0, done.stderr

    def to_alice(kind: str):
        return lambda r: r.json and r.json.get("type") == kind and r.path == "/users/alice/inbox"

    # Her server is told twice over, to her own inbox, signed by the group: GoToSocial and Misskey drop the
    # follow on the Block, Takahē on the Reject of her stored Follow (same id), Mastodon on either.
    [reject] = await peer.wait_for(to_alice("Reject"))
    [block] = await peer.wait_for(to_alice("Block"))
    for sent in (reject, block):
        assert sent.verified is True and sent.key_id == group + "#main-key"
        assert sent.json["actor"] == group
    assert reject.json["object"] == {
        "id": alice_follow["id"],
        "type": "Follow",
        "actor": alice.id,
        "object": group,
    }
    assert block.json["object"] == alice.id and block.json["to"] == [alice.id]
    assert await runtime.db.read(store.follows.count_followers) == 1

    # A followers-only campaign now reaches her server for carol (the shared inbox), nothing reaches her own
    # inbox, and she may not fetch it.
    await eventually(lambda: _queue_empty(server))
    mark = len(peer.received)
    campaign_id = await actions.create_campaign(
        runtime, "Friends only", "For followers.", visibility="followers"
    )
    await peer.wait_for(lambda r: r.json and r.json.get("type") == "Create")
    await eventually(lambda: _queue_empty(server))
    assert [r.path for r in peer.received[mark:]] == ["/inbox"]

    async def alice_refused() -> bool:  # the running server applies a CLI block within a second
        return (await peer.get(alice, runtime.ids.campaign(campaign_id)))[0] == 403

    await eventually(alice_refused)
    status, _ = await peer.get(carol, runtime.ids.campaign(campaign_id))
    assert status == 200

    # Unblocking sends the Undo of that same Block, to the same inbox.
    lifted = await fedgroup_cli(server.config.data_dir, "block", "remove", alice.id)
    assert lifted.returncode == 0, lifted.stderr
    [undo] = await peer.wait_for(to_alice("Undo"))
    assert undo.verified is True
    assert undo.json["object"]["id"] == block.json["id"] and undo.json["object"]["type"] == "Block"
    assert undo.json["object"]["object"] == alice.id

    # "Remove follower" (no block): the Reject alone, to carol's own inbox.
    removed = await fedgroup_cli(server.config.data_dir, "followers", "remove", carol.id)
    assert removed.returncode == 0, removed.stderr
    [carol_reject] = await peer.wait_for(
        lambda r: r.json and r.json.get("type") == "Reject" and r.path == "/users/carol/inbox"
    )
    assert carol_reject.verified is True and carol_reject.json["object"]["id"] == carol_follow["id"]
    assert await runtime.db.read(store.follows.count_followers) == 0
    assert not [
        r
        for r in peer.received
        if r.json and r.json.get("type") == "Block" and r.path != "/users/alice/inbox"
    ]
