"""Member data never leaves the server, whatever happens.

Unique canary strings go into every member field (name, email, pledge note, password, invitation). Two real
fedgroup servers in a coalition and a Mastodon-shaped peer then run every flow: follows, campaigns of each
visibility, member pledges through the web and the API, a partner group's aggregate, poll votes, exports, a
report, deletes and an erasure. Afterwards every request our servers sent, every public and federated URL
(fetched unsigned, signed by a follower and by a stranger, as JSON and as HTML), every page another member
can open, the logs and the database file are searched: no canary appears anywhere but where that member or
an organizer asked for it. The browser connects from 127.0.0.2, an address no log line or row may hold.
"""

from __future__ import annotations

import asyncio
import logging
import re
import signal
import subprocess
import sys

import aiohttp

from fedgroup import actions, store
from fedgroup.config import DATABASE_FILE
from fedgroup.rules import passwords
from fedgroup.rules.campaigns import parse_goal, parse_option
from tests.conftest import eventually
from tests.test_coalition import vote
from tests.test_crash_safety import make_data_dir
from tests.web_client import WebClient

BROWSER_ADDRESS = "127.0.0.2"
# name, email, pledge note, password
OLGA = (
    "Canary Olga v5hd",
    "canary.v5hd@crossing.example",
    "canary note v5hd: door code 4471",
    "canary pw v5hd!",
)
ROSA = ("Canary Rosa n2kc", "canary.n2kc@crossing.example", "canary note n2kc: I drive", "canary pw n2kc!")
ILSE = ("Canary Ilse t9fw", "canary.t9fw@tenants.example", "canary note t9fw: flat 3B", "canary pw t9fw!")
MEMBERS_ONLY_TEXT = "canary members-only plan r6yb"
GIVE = "Give €20"


async def add_canary_member(runtime, person, role: str = "member") -> int:
    name, email, _, password = person
    return await actions.add_member(runtime, name, role, email, passwords.hash_password(password))


async def signed_in(server, person) -> WebClient:
    client = WebClient(server.base_url, source_address=BROWSER_ADDRESS)
    await client.sign_in(person[0], person[3])
    return client


async def test_no_member_data_leaves_the_server_in_any_flow(make_server, peer, caplog):
    # Our own loggers and aiohttp's at debug level: what an operator sees at the most verbose setting.
    for name in ("fedgroup", "aiohttp"):
        caplog.set_level(logging.DEBUG, logger=name)
    recorded: list = []
    c = await make_server("c", handle="crossing", totals_update_seconds=0.2, recorded=recorded)
    a = await make_server("a", handle="tenants", recorded=recorded)
    c_group = c.url("/groups/crossing")
    alice = peer.add_actor("alice", "peer-1")  # a Mastodon follower
    bob = peer.add_actor("bob", "peer-2")  # votes, follows nobody
    troll = peer.add_actor("troll", "peer-3")
    follow_c = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{alice.id}/follows/1",
                "type": "Follow", "actor": alice.id, "object": c_group}  # fmt: skip
    assert (await peer.post(alice, c.url("/groups/crossing/inbox"), follow_c))[0] == 202
    await peer.wait_for(lambda r: r.json and r.json.get("type") == "Accept")
    await actions.follow_group(a.runtime, await a.runtime.actors.actor(c_group))

    async def a_accepted():
        following = await a.runtime.db.read(store.follows.following_of, c_group)
        return following is not None and following.state == "accepted"

    await eventually(a_accepted)
    await actions.accept_partner(c.runtime, a.url("/groups/tenants"))  # C counts A's aggregates

    # Olga joins C through an invitation link, as an organizer; Rosa and Ilse are members of C and A.
    invite_url = await actions.create_invite(c.runtime, "organizer")
    invite_path = invite_url.removeprefix(c.base_url)
    invite_token = invite_path.rsplit("/", 1)[1]
    olga = WebClient(c.base_url, source_address=BROWSER_ADDRESS)
    joined = await olga.post(invite_path, {"name": OLGA[0], "password": OLGA[3], "password_again": OLGA[3]})
    assert joined.status == 200 and "/home?done=welcome" in joined.url
    olga_id = (await c.runtime.db.read(store.members.by_name, OLGA[0])).id
    await c.runtime.db.write(
        lambda conn: conn.execute("UPDATE members SET email = ? WHERE id = ?", (OLGA[1], olga_id))
    )
    rosa_id = await add_canary_member(c.runtime, ROSA)
    ilse_id = await add_canary_member(a.runtime, ILSE)
    mo_password = "plain member password"
    for server in (c, a):
        await actions.add_member(
            server.runtime, "Mo Plain", "member", None, passwords.hash_password(mo_password)
        )

    # C's campaigns, one of each visibility.
    public = await actions.create_campaign(
        c.runtime, "A safe crossing", "Four lanes.", goals=[parse_goal("hours:40"), parse_goal("money:500:EUR")],
        options=[parse_option("Leaflet for 2 hours=hours:2"), parse_option(f"{GIVE}=money:20")],
    )  # fmt: skip
    followers_only = await actions.create_campaign(
        c.runtime,
        "Friends' fund",
        "For followers.",
        goals=[parse_goal("money:100:EUR")],
        visibility="followers",
    )
    members_only = await actions.create_campaign(
        c.runtime, MEMBERS_ONLY_TEXT, MEMBERS_ONLY_TEXT, goals=[parse_goal("people:10")], visibility="members"
    )

    # Pledges: Rosa through the web form, the others through the same actions the CLI uses.
    rosa = await signed_in(c, ROSA)
    path = f"/campaigns/{public}"
    page = await rosa.post(f"{path}/pledge", {"option": GIVE, "note": ROSA[2]}, csrf_from=path)
    assert page.status == 200 and "your pledge is recorded" in page.text
    await actions.pledge(c.runtime, rosa_id, followers_only, kind="money", amount="15", note=ROSA[2])
    await actions.pledge(c.runtime, rosa_id, members_only, kind="people", amount="1", note=ROSA[2])
    await actions.pledge(c.runtime, olga_id, public, kind="hours", amount="3", note=OLGA[2])

    async def partner(server, campaign_id):
        return await server.runtime.db.read(
            store.campaigns.partner_campaign_by_object, c.url(f"/campaigns/{campaign_id}")
        )

    a_public = await eventually(lambda: partner(a, public))
    a_followers = await eventually(lambda: partner(a, followers_only))
    assert await partner(a, members_only) is None
    await actions.pledge_to_partner(a.runtime, ilse_id, a_public.id, option=GIVE, note=ILSE[2])
    await actions.pledge_to_partner(
        a.runtime, ilse_id, a_followers.id, kind="money", amount="5", note=ILSE[2]
    )
    question_id = c.url(path)
    assert (await peer.post(bob, c.url("/groups/crossing/inbox"), vote(bob, question_id, c_group, GIVE)))[
        0
    ] == 202

    async def counted():
        state = await actions.campaign(c.runtime, public)
        return state.tally.pledgers == 4 and state.tally.partner_groups == 1

    await eventually(counted)
    await peer.wait_for(
        lambda r: r.json and r.json.get("type") == "Update" and r.json["object"].get("votersCount") == 4
    )

    # Exports, by the people allowed to see them.
    olga_csv = await olga.get(f"/organize/campaigns/{public}/pledgers.csv")
    assert olga_csv.status == 200 and ROSA[0] in olga_csv.text and ROSA[2] in olga_csv.text
    mine = await rosa.get("/account/my-data.json")
    assert mine.status == 200 and ROSA[1] in mine.text and OLGA[0] not in mine.text
    reported = await olga.post(
        "/organize/reports/send", {"account": troll.id, "comment": "spam", "posts": ""}, "/organize/blocks"
    )
    assert reported.status == 200
    await peer.wait_for(lambda r: r.json and r.json.get("type") == "Flag")

    # What others see: Mo (a plain member) on both servers, anyone on the web, any server on the fediverse.
    seen: list[tuple[str, str]] = []
    seen_by_c_member: list[tuple[str, str]] = []
    for server, partner_ids in ((c, []), (a, [a_public.id, a_followers.id])):
        mo = WebClient(server.base_url, source_address=BROWSER_ADDRESS)
        await mo.sign_in("Mo Plain", mo_password)
        pages = ["/home", "/account", "/account/my-data.json", f"/groups/{server.runtime.site.handle}"]
        pages += [f"/campaigns/{n}" for n in (public, followers_only, members_only)]
        pages += [f"/partners/{n}" for n in partner_ids]
        pages += [f"/organize/campaigns/{public}/pledgers.csv", "/organize", "/admin/members"]
        for page_path in pages:
            got = await mo.get(page_path)
            where = f"Mo GET {server.base_url}{page_path} -> {got.status}"
            # A members-only campaign is for C's members, Mo among them; nobody else may see it.
            (seen_by_c_member if server is c else seen).append((where, got.text))
        assert (await mo.get(f"/organize/campaigns/{public}/pledgers.csv")).status == 403
        await mo.close()

    # Then the erasures and deletes, which federate too: Ilse's erasure on A takes A's aggregate out of C's totals.
    await actions.remove_member(a.runtime, ilse_id)

    async def aggregate_withdrawn():
        state = await actions.campaign(c.runtime, public)
        return state.tally.partner_groups == 0 and state.tally.pledgers == 3

    await eventually(aggregate_withdrawn)
    await actions.delete_campaign(c.runtime, followers_only)
    await peer.wait_for(lambda r: r.json and r.json.get("type") == "Delete")
    await eventually(lambda: _queues_empty(a, c))
    for client in (olga, rosa):
        await client.close()

    activity_ids = set()
    for text in [r.body.decode("utf-8", "replace") for r in recorded] + [
        r.body.decode() for r in peer.received
    ]:
        activity_ids.update(re.findall(r"http://127\.0\.0\.1:\d+/activities/[0-9a-f-]{36}", text))
    urls = list(activity_ids)
    for server in (c, a):
        handle = server.runtime.site.handle
        group = server.url(f"/groups/{handle}")
        urls += [group, f"{group}/outbox", f"{group}/outbox?page=true", f"{group}/followers", f"{group}/following",
                 server.url("/"), server.url("/actor"), server.url("/nodeinfo/2.1"), server.url("/.well-known/nodeinfo"),
                 server.url("/.well-known/host-meta"), server.url("/login"), server.url(invite_path),
                 server.url(f"/.well-known/webfinger?resource=acct:{handle}@127.0.0.1:{server.port}")]  # fmt: skip
        urls += [server.url(f"/campaigns/{n}") for n in range(1, 5)]
        urls += [server.url(f"/campaigns/{n}/outcome") for n in range(1, 5)]
    assert len(activity_ids) > 10
    for url in dict.fromkeys(urls):
        for who in (None, alice, bob):
            for accept in ("application/activity+json", "text/html"):
                status, body = await peer.get(who, url, accept=accept)
                seen.append((f"GET {url} as {who and who.username} ({accept}) -> {status}", str(body)))
                assert status < 500, (url, status)
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(local_addr=(BROWSER_ADDRESS, 0))
    ) as anonymous:
        for url in dict.fromkeys(urls):
            async with anonymous.get(url) as response:
                seen.append((f"browser GET {url}", await response.text()))

    # Every request a fedgroup server sent (to the other server and to the peer).
    sent = [
        (f"{r.method} {r.url}", r.body.decode("utf-8", "replace") + repr(r.headers))
        for r in recorded
        if r.headers.get("User-Agent", "").startswith("fedgroup/")
    ]
    sent += [
        (f"{r.method} {r.path}", r.body.decode("utf-8", "replace") + repr(r.headers)) for r in peer.received
    ]
    assert len(sent) >= 25, "the traffic was recorded"
    assert any("Safe crossing" in text or "safe crossing" in text for _, text in sent)

    canaries = [*OLGA, *ROSA, *ILSE, MEMBERS_ONLY_TEXT, invite_token]
    logs = caplog.text
    print(f"leak test: {len(canaries)} canaries; searched {len(sent)} requests our servers sent, {len(seen)}"
          f" responses to others, {len(seen_by_c_member)} pages of another member, {len(logs):,} characters of logs")  # fmt: skip
    assert "inbox" in logs and "delivered" in logs, "the logs were captured, at debug level"
    for where, text in [*sent, *seen, ("the logs", logs)]:
        for canary in canaries:
            assert canary not in text, f"member data {canary!r} leaked in {where}"
        assert BROWSER_ADDRESS not in text, f"a client address appears in {where}"
    assert any(MEMBERS_ONLY_TEXT in text for _, text in seen_by_c_member), (
        "members see members-only campaigns"
    )
    for where, text in seen_by_c_member:
        for canary in [*OLGA, *ROSA, *ILSE, invite_token]:
            assert canary not in text, f"member data {canary!r} shown to another member in {where}"

    for server in (c, a):
        raw = b"".join(
            p.read_bytes() for p in server.config.data_dir.iterdir() if p.name.startswith(DATABASE_FILE)
        )
        assert BROWSER_ADDRESS.encode() not in raw, "no IP address is stored"
        for person in (OLGA, ROSA, ILSE):
            assert person[3].encode() not in raw, "passwords are stored only as hashes"
        assert invite_token.encode() not in raw, "invitation tokens are stored only as digests"
    a_raw = b"".join(p.read_bytes() for p in a.config.data_dir.iterdir() if p.name.startswith(DATABASE_FILE))
    assert ILSE[0].encode() not in a_raw and ILSE[2].encode() not in a_raw, (
        "the erased member is gone from disk"
    )


async def _queues_empty(*servers) -> bool:
    for server in servers:
        if await server.runtime.db.read(store.outbox.pending_count):
            return False
        if await server.runtime.db.scalar("SELECT COUNT(*) FROM inbox_activities WHERE state = 'pending'"):
            return False
    return True


async def test_the_server_process_logs_no_member_data_secrets_or_addresses(tmp_path, test_keys):
    """`fedgroup serve --log-level debug`, as an operator runs it: every line it writes is searched."""
    config = await make_data_dir(tmp_path / "group", test_keys)
    data_dir = str(config.data_dir)
    cli = [sys.executable, "-m", "fedgroup.cli"]
    name, email, note, password = ROSA
    added = await asyncio.to_thread(
        subprocess.run, [*cli, "member", "add", name, "--email", email, "--password-stdin", "--data-dir", data_dir],
        input=password + "\n", capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    out_path, err_path = tmp_path / "serve.out", tmp_path / "serve.err"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        process = await asyncio.create_subprocess_exec(
            *cli, "serve", "--log-level", "debug", "--data-dir", data_dir, stdout=out, stderr=err
        )
    try:
        await eventually(lambda: _contains(out_path, "fedgroup serving"), timeout=30)
        made = await asyncio.to_thread(
            subprocess.run,
            [*cli, "campaign", "create", "--title", "Hot meals", "--body", "Cooks", "--goal", "hours:10",
             "--data-dir", data_dir],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
        invite = await asyncio.to_thread(
            subprocess.run, [*cli, "member", "invite", "--data-dir", data_dir], capture_output=True, text=True,
            timeout=60,
        )  # fmt: skip
        invite_path = invite.stdout.split()[0].removeprefix(config.base_url)
        browser = WebClient(config.base_url, source_address=BROWSER_ADDRESS)
        try:
            assert (await browser.get(invite_path)).status == 200
            await browser.sign_in(name, password)
            page = await browser.post("/campaigns/1/pledge", {"option": "own", "kind": "hours", "amount": "2",
                                                              "note": note}, csrf_from="/campaigns/1")  # fmt: skip
            assert page.status == 200 and "your pledge is recorded" in page.text
            assert email in (await browser.get("/account/my-data.json")).text
            failed = await browser.post("/login", {"name": name, "password": "wrong " + password})
            assert failed.status in (200, 401)
        finally:
            await browser.close()
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 20) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    logs = err_path.read_text() + out_path.read_text()
    assert " DEBUG " in logs and " INFO " in logs, "levels are on every line"
    assert "access method=POST path=/campaigns/1/pledge status=303" in logs
    assert "path=/invite/[redacted]" in logs
    invite_token = invite_path.rsplit("/", 1)[1]
    for secret in (*ROSA, invite_token, BROWSER_ADDRESS, "SELECT ", "csrf", "Cookie"):
        assert secret not in logs, f"{secret!r} is in the server's log"


def _contains(path, text: str):
    async def check() -> bool:
        return text in path.read_text()

    return check()


async def test_authorized_fetch_matrix(make_server, peer):
    """Who gets what: unsigned requests get only the minimal actor and WebFinger; strangers get public
    things; followers-only things reach accepted followers; members-only things never leave."""
    server = await make_server()
    runtime = server.runtime
    follower = peer.add_actor("alice", "peer-1")
    stranger_host = type(peer)(keys=peer.keys)
    await stranger_host.start()
    try:
        stranger = stranger_host.add_actor("carol", "peer-3")
        follow_doc = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{follower.id}/follows/1",
                      "type": "Follow", "actor": follower.id, "object": runtime.ids.group}  # fmt: skip
        assert (await peer.post(follower, runtime.ids.inbox, follow_doc))[0] == 202
        await peer.wait_for(lambda r: r.json and r.json.get("type") == "Accept")
        ids = {}
        for visibility in ("public", "followers", "members"):
            ids[visibility] = await actions.create_campaign(
                runtime, f"{visibility} c", "text", visibility=visibility
            )
        creates = await peer.wait_for(
            lambda r: r.json and r.json.get("type") == "Create" and "followers c" in str(r.json)
        )
        followers_create = creates[0].json["id"]
        public_create = (await peer.wait_for(lambda r: r.json and r.json.get("type") == "Create" and "public c" in str(r.json)))[0].json["id"]  # fmt: skip
        group = runtime.ids.group
        expected = {
            # url: (unsigned, stranger, follower)
            group: (200, 200, 200),
            f"{group}/outbox": (401, 200, 200),
            f"{group}/followers": (401, 200, 200),
            f"{group}/following": (401, 200, 200),
            runtime.ids.campaign(ids["public"]): (401, 200, 200),
            runtime.ids.campaign(ids["followers"]): (401, 403, 200),
            runtime.ids.campaign(ids["members"]): (404, 404, 404),
            public_create: (401, 200, 200),
            followers_create: (401, 403, 200),
        }
        for url, statuses in expected.items():
            got = (
                (await peer.get(None, url))[0],
                (await stranger_host.get(stranger, url))[0],
                (await peer.get(follower, url))[0],
            )
            assert got == statuses, url
        _, minimal = await peer.get(None, group)
        assert set(minimal) <= {"@context", "id", "type", "preferredUsername", "inbox", "outbox", "followers",
                                "following", "endpoints", "publicKey", "url", "manuallyApprovesFollowers",
                                "discoverable", "indexable"}, minimal  # fmt: skip
        _, followers = await stranger_host.get(stranger, f"{group}/followers")
        assert followers["totalItems"] == 1 and set(followers) <= {"@context", "id", "type", "totalItems"}
        assert follower.id not in str(followers), "the followers list is never enumerable"
        _, outbox = await stranger_host.get(stranger, f"{group}/outbox?page=true")
        assert "followers c" not in str(outbox) and "members c" not in str(outbox)
    finally:
        await stranger_host.stop()
