"""Naming the group: an admin changes its name, summary and avatar (on the settings page or with `fedgroup
group set`), the pages and the actor show it, and a Mastodon-shaped follower receives a signed Update of the
Group actor carrying it."""

from __future__ import annotations

import struct
import zlib

import aiohttp

from fedgroup import actions, store
from fedgroup.rules import avatars, passwords
from tests.conftest import database_snapshot, run_cli, writes_settled
from tests.test_federation import follow
from tests.web_client import WebClient

PASSWORD = "correct horse battery"


def png_image() -> bytes:
    """A real 1x1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


def actor_updates(peer) -> list:
    return [
        r
        for r in peer.received
        if r.json and r.json.get("type") == "Update" and (r.json.get("object") or {}).get("type") == "Group"
    ]


async def test_group_set_on_the_command_line_federates_a_signed_update_with_the_new_profile(
    make_server, peer, tmp_path
):
    server = await make_server()
    alice = peer.add_actor("alice", "peer-1")
    await follow(peer, alice, server)
    avatar_file = tmp_path / "logo.png"
    avatar_file.write_bytes(png_image())

    result = await run_cli(
        "group", "set", "--data-dir", str(server.config.data_dir),
        "--name", "Riverside Water Defenders", "--summary", "We keep the river clean.",
        "--avatar", str(avatar_file),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "saved" in result.stdout

    received = await peer.wait_for(lambda r: r in actor_updates(peer))
    update = received[0]
    assert update.verified is True and update.key_id == server.url("/groups/water#main-key")
    assert update.path == "/inbox", "to the follower's shared inbox"
    group = update.json["object"]
    assert update.json["actor"] == group["id"] == server.url("/groups/water")
    assert group["name"] == "Riverside Water Defenders"
    assert group["summary"] == "<p>We keep the river clean.</p>"
    assert group["icon"]["type"] == "Image" and group["icon"]["mediaType"] == "image/png"
    assert group["publicKey"]["publicKeyPem"], "the whole actor, as Mastodon replaces its copy with it"
    assert server.url("/groups/water/followers") in update.json["cc"]

    # The avatar is served from our host, with the type we recognised, and the server shows the new name
    # (the command committed from another process).
    async with aiohttp.ClientSession() as session:
        async with session.get(group["icon"]["url"]) as response:
            assert response.status == 200
            assert response.headers["Content-Type"] == "image/png"
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            assert await response.read() == png_image()
    assert group["icon"]["url"].startswith(server.base_url + "/avatar/")
    status, actor = await peer.get(alice, server.url("/groups/water"))
    assert status == 200 and actor["name"] == "Riverside Water Defenders"
    assert actor["icon"]["url"] == group["icon"]["url"]
    page = await WebClient(server.base_url).get("/groups/water")
    assert "Riverside Water Defenders" in page.text


async def test_group_set_refuses_a_file_that_is_not_really_an_image(make_server, peer, tmp_path):
    server = await make_server()
    await follow(peer, peer.add_actor("alice", "peer-1"), server)
    stored = ("site", "group_avatar", "outbox_activities")
    before = {t: rows for t, rows in (await database_snapshot(server.runtime)).items() if t in stored}
    disguised = tmp_path / "logo.png"
    disguised.write_bytes(b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>")
    too_large = tmp_path / "huge.png"
    too_large.write_bytes(png_image() + b"\x00" * avatars.MAX_AVATAR_BYTES)

    for path, reason in ((disguised, "must be a PNG, JPEG or WebP"), (too_large, "too large")):
        result = await run_cli(
            "group", "set", "--data-dir", str(server.config.data_dir), "--name", "Renamed", "--avatar", str(path)
        )  # fmt: skip
        assert result.returncode == 2 and reason in result.stderr, result.stderr
    await writes_settled(server.runtime)
    after = {t: rows for t, rows in (await database_snapshot(server.runtime)).items() if t in stored}
    assert after == before and len(after) == 3, "nothing half-stored: not even the name"
    assert actor_updates(peer) == []


async def test_an_admin_names_the_group_on_the_settings_page(make_server, peer):
    server = await make_server()
    runtime = server.runtime
    alice = peer.add_actor("alice", "peer-1")
    await follow(peer, alice, server)
    await actions.add_member(runtime, "Ada Admin", "admin", None, passwords.hash_password(PASSWORD))
    await actions.add_member(runtime, "Olu Organizer", "organizer", None, passwords.hash_password(PASSWORD))
    admin, organizer = WebClient(server.base_url), WebClient(server.base_url)
    try:
        await organizer.sign_in("Olu Organizer", PASSWORD)
        assert (await organizer.get("/admin/group")).status == 403
        await admin.sign_in("Ada Admin", PASSWORD)
        page = await admin.get("/admin/group")
        assert page.status == 200 and 'value="Group A"' in page.text
        assert 'href="/admin/group"' in (await admin.get("/home")).text, "admins find it in the menu"

        def upload(name: str, image: bytes, filename: str = "me.png") -> aiohttp.FormData:
            data = aiohttp.FormData()
            data.add_field("csrf", page.csrf)
            data.add_field("name", name)
            data.add_field("summary", "Clean water for all.")
            data.add_field("avatar", image, filename=filename, content_type="image/png")
            return data

        async with admin.session.post(
            server.url("/admin/group"), data=upload("Sham", b"GIF89a not ours", "x.png")
        ) as refused:
            text = await refused.text()
            assert refused.status == 422 and "must be a PNG, JPEG or WebP" in text
            assert 'value="Sham"' in text, "what was typed stays in the form"
        assert (await runtime.db.read(store.site.load)).name == "Group A"

        async with admin.session.post(
            server.url("/admin/group"), data=upload("Water Defenders", png_image())
        ) as saved:
            assert saved.status == 200 and saved.url.path == "/admin/group"
            assert "Saved." in await saved.text()

        received = await peer.wait_for(lambda r: r in actor_updates(peer))
        group = received[0].json["object"]
        assert received[0].verified is True
        assert group["name"] == "Water Defenders" and group["summary"] == "<p>Clean water for all.</p>"
        assert group["icon"]["mediaType"] == "image/png"
        home = await admin.get("/home")
        assert (
            "Water Defenders" in home.text and group["icon"]["url"].removeprefix(server.base_url) in home.text
        )
    finally:
        await admin.close()
        await organizer.close()
