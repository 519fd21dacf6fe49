"""An admin imports a Mastodon domain-block CSV from the web UI: the upload shows what would be blocked,
already blocked and skipped (and why), changes nothing until confirmed, and the confirmation blocks those
domains on the live server (followers there are dropped, their requests refused). Admins only, with CSRF."""

from __future__ import annotations

import html

import aiohttp

from fedgroup import store
from tests.conftest import eventually
from tests.test_blocklists import blocklist
from tests.test_federation import follow
from tests.test_web import PASSWORD, web  # noqa: F401 - the fixture


async def _upload(client, csv_text: str, csrf_from: str = "/admin/blocklist", token: str | None = None):
    token = token if token is not None else (await client.get(csrf_from)).csrf
    data = aiohttp.FormData()
    data.add_field("csrf", token)
    data.add_field("file", csv_text.encode(), filename="blocklist.csv", content_type="text/csv")
    async with client.session.post(client.base_url + "/admin/blocklist/preview", data=data) as r:
        return r.status, await r.text()


async def test_an_admin_previews_a_blocklist_then_confirms_it(web, peer):  # noqa: F811
    server, ids, client = web
    runtime = server.runtime
    alice = peer.add_actor("alice", "peer-1")
    await follow(peer, alice, server)
    peer_domain = peer.base_url.split("://", 1)[1]
    csv_text = blocklist(peer_domain, server.config.domain)

    admin = client()
    await admin.sign_in("Ada Admin", PASSWORD)
    status, page = await _upload(admin, csv_text)
    assert status == 200
    assert "Would block (1)" in page and f"<li>{peer_domain}</li>" in page
    assert "Skipped (5)" in page
    for why in (
        "line 3: silence: fedgroup only blocks (suspend)",
        "line 5: obfuscated",
        "line 6: not a domain",
        "line 7: our own domain",
    ):
        assert why in page, why
    assert "Block 1 domain</button>" in page
    assert not (await runtime.db.read(store.blocks.load_set)).domains, "a preview changes nothing"

    # The confirmation form carries the file's text back, as a browser would post it.
    token = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    carried = html.unescape(page.split('name="csv" value="', 1)[1].split('">', 1)[0])
    assert carried == csv_text
    confirmed = await admin.post_raw("/admin/blocklist/import", [("csrf", token), ("csv", carried)])
    assert confirmed.status == 200 and confirmed.url.endswith("/organize/blocks?done=imported")
    assert peer_domain in (await runtime.db.read(store.blocks.load_set)).domains

    async def no_followers():
        return await runtime.db.scalar("SELECT COUNT(*) FROM followers") == 0

    await eventually(no_followers)
    hello = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{alice.id}/follows/2",
             "type": "Follow", "actor": alice.id, "object": runtime.ids.group}  # fmt: skip
    assert (await peer.post(alice, server.url("/groups/water/inbox"), hello))[0] == 403

    # The same file again: nothing new to block, no confirm button.
    status, page = await _upload(admin, csv_text)
    assert status == 200 and "Already blocked (1)" in page and "Nothing new to block." in page
    assert "/admin/blocklist/import" not in page


async def test_a_bad_file_is_an_error_at_the_field_and_only_admins_may_import(web):  # noqa: F811
    server, ids, client = web
    admin = client()
    await admin.sign_in("Ada Admin", PASSWORD)
    status, page = await _upload(admin, "host\nx.example\n")
    assert status == 422 and 'id="file-error"' in page and "names no #domain column" in page
    assert "There is a problem" in page

    organizer = client()
    await organizer.sign_in("Olu Organizer", PASSWORD)
    assert (await organizer.get("/admin/blocklist")).status == 403
    token = (await organizer.get("/organize/blocks")).csrf
    status, _ = await _upload(organizer, "#domain,#severity\nx.example,suspend\n", token=token)
    assert status == 403
    assert not (await server.runtime.db.read(store.blocks.load_set)).domains

    # Without the CSRF token: refused.
    status, _ = await _upload(admin, "#domain,#severity\nx.example,suspend\n", token="forged")
    assert status in (400, 403)
    assert not (await server.runtime.db.read(store.blocks.load_set)).domains
