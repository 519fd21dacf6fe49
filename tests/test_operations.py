"""Running a group for real: backup and restore while serving, a member's data export, the health check."""

from __future__ import annotations

import asyncio
import io
import json
import os
import stat
import subprocess
import sys
import tarfile

import aiohttp

from fedgroup import actions, store
from fedgroup.config import CONFIG_FILE, DATABASE_FILE
from fedgroup.rules import passwords
from fedgroup.rules.campaigns import parse_goal
from tests.conftest import RunningServer
from tests.web_client import WebClient


def fedgroup_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fedgroup.cli", *args], input=stdin, capture_output=True, text=True, timeout=60
    )


async def run_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI in a thread, so the server in this test's event loop goes on serving meanwhile."""
    return await asyncio.to_thread(fedgroup_cli, *args, stdin=stdin)


async def test_backup_while_serving_and_writing_restores_the_whole_group(make_server, tmp_path):
    server = await make_server()
    runtime = server.runtime
    campaign_id = await actions.create_campaign(runtime, "Before backup", "kept", visibility="public")
    await actions.add_member(runtime, "Rosa Canary", "member", "rosa@example.org")
    stop = asyncio.Event()

    async def keep_writing() -> int:
        written = 0
        while not stop.is_set() and written < 500:
            await actions.add_member(runtime, f"writer {written}", "member")
            written += 1
            await asyncio.sleep(0)
        return written

    writer = asyncio.create_task(keep_writing())
    backup_file = tmp_path / "group.tar.gz"
    done = await run_cli("backup", "--data-dir", str(server.config.data_dir), "--to", str(backup_file))
    stop.set()
    written = await writer
    assert done.returncode == 0, done.stderr
    assert "keep it private" in done.stderr, "the operator is warned that the file holds keys and member data"
    assert written > 0, "the server kept writing during the backup"
    assert stat.S_IMODE(backup_file.stat().st_mode) == 0o600
    with tarfile.open(backup_file) as archive:
        assert sorted(archive.getnames()) == sorted([CONFIG_FILE, DATABASE_FILE])

    again = await run_cli("backup", "--data-dir", str(server.config.data_dir), "--to", str(backup_file))
    assert again.returncode == 1 and "refusing to overwrite" in again.stderr

    restored_dir = tmp_path / "restored"
    done = await run_cli("restore", "--from", str(backup_file), "--data-dir", str(restored_dir))
    assert done.returncode == 0, done.stderr
    await server.stop()  # the restored copy takes the same base URL and port: it *is* the group
    restored = RunningServer(config=server.config.__class__(**{**server.config.__dict__, "data_dir": restored_dir}),
                             port=server.port)  # fmt: skip
    await restored.start()
    try:
        copy = restored.runtime
        assert copy.site.group_private_key == runtime.site.group_private_key, "keys are in the backup"
        assert (await copy.db.read(store.campaigns.get, campaign_id)).title == "Before backup"
        names = {m.name for m in await copy.db.read(store.members.listing)}
        assert "Rosa Canary" in names
        # A consistent snapshot: some prefix of the writer's members, with no gaps.
        writers = sorted(int(n.split()[1]) for n in names if n.startswith("writer "))
        assert writers == list(range(len(writers)))
        async with aiohttp.ClientSession() as http:
            async with http.get(restored.url("/healthz")) as response:
                assert response.status == 200 and await response.text() == "ok\n"
    finally:
        await restored.stop()


def _tar(members: dict[str, bytes], evil_name: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in members.items():
            info = tarfile.TarInfo(evil_name if evil_name and name == DATABASE_FILE else name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def test_restore_refuses_bad_archives_and_leaves_nothing(tmp_path):
    config = b'base_url = "https://water.example"\n'
    cases = {
        "not-gzip": b"hello",
        "no-database": _tar({CONFIG_FILE: config}),
        "path-escape": _tar({CONFIG_FILE: config, DATABASE_FILE: b"x"}, evil_name="../escaped.sqlite3"),
        "not-a-database": _tar({CONFIG_FILE: config, DATABASE_FILE: b"definitely not sqlite" * 100}),
        "bad-config": _tar({CONFIG_FILE: b"base_url = 12\n", DATABASE_FILE: b"x"}),
    }
    for name, content in cases.items():
        archive = tmp_path / f"{name}.tar.gz"
        archive.write_bytes(content)
        target = tmp_path / f"into-{name}"
        done = fedgroup_cli("restore", "--from", str(archive), "--data-dir", str(target))
        assert done.returncode == 1, (name, done.stdout, done.stderr)
        assert done.stderr.startswith("fedgroup: error:") and done.stderr.count("\n") == 1, (
            name,
            done.stderr,
        )
        assert not target.exists(), name
    assert not (tmp_path / "escaped.sqlite3").exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".fedgroup-restore")) == []


async def test_member_export_holds_everything_about_them_and_nothing_about_others(make_server, tmp_path):
    server = await make_server()
    runtime = server.runtime
    campaign_id = await actions.create_campaign(
        runtime, "Crossing", "Help", goals=[parse_goal("hours:40")], visibility="public"
    )
    password = passwords.hash_password("rosa's password 1")
    rosa = await actions.add_member(runtime, "Rosa Canary", "member", "rosa@canary.example", password)
    other = await actions.add_member(runtime, "Other Canary", "member", "other@canary.example")
    await actions.pledge(runtime, rosa, campaign_id, kind="hours", amount="3", note="rosa's canary note")
    await actions.pledge(runtime, other, campaign_id, kind="hours", amount="2", note="other's canary note")
    browser = WebClient(server.base_url)
    await browser.sign_in("Rosa Canary", "rosa's password 1")
    page = await browser.get("/account/my-data.json")
    await browser.close()
    assert page.status == 200 and page.headers["Cache-Control"] == "no-store"
    assert json.loads(page.text)["pledges"][0]["note"] == "rosa's canary note" and "Other" not in page.text
    data_dir = str(server.config.data_dir)
    done = await run_cli("member", "export", "Rosa Canary", "--data-dir", data_dir)
    assert done.returncode == 0, done.stderr
    exported = json.loads(done.stdout)
    text = done.stdout
    assert (
        exported["member"]["name"] == "Rosa Canary" and exported["member"]["email"] == "rosa@canary.example"
    )
    assert [p["note"] for p in exported["pledges"]] == ["rosa's canary note"]
    assert len(exported["sessions"]) == 1 and "token" not in json.dumps(exported["sessions"])
    assert "$argon2" not in text, "the password hash is not exported"
    assert "Other Canary" not in text and "other's canary note" not in text

    # Every table with a member_id column is in the export: a new table cannot be forgotten silently.
    tables = [r[0] for r in await runtime.db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")]
    holding = set()
    for table in tables:
        columns = [r[1] for r in await runtime.db.fetchall(f"PRAGMA table_info({table})")]
        if "member_id" in columns:
            holding.add(table)
    assert holding <= set(store.members.EXPORTED_TABLES), holding - set(store.members.EXPORTED_TABLES)

    to_file = tmp_path / "rosa.json"
    done = await run_cli("member", "export", "Rosa Canary", "--to", str(to_file), "--data-dir", data_dir)
    assert done.returncode == 0 and stat.S_IMODE(os.stat(to_file).st_mode) == 0o600
    assert json.loads(to_file.read_text())["member"]["id"] == rosa
    unknown = await run_cli("member", "export", "Nobody", "--data-dir", data_dir)
    assert unknown.returncode == 2 and "no member called Nobody" in unknown.stderr

    # Erasure: removing Rosa leaves no row that mentions her, and Other untouched.
    done = await run_cli("member", "remove", "Rosa Canary", "--data-dir", data_dir)
    assert done.returncode == 0, done.stderr
    assert await runtime.db.read(store.members.export, rosa) is None
    rows = []
    for table in tables:
        rows += [str(tuple(r)) for r in await runtime.db.fetchall(f"SELECT * FROM {table}")]
    dump = "\n".join(rows)
    assert (
        "Rosa Canary" not in dump and "rosa@canary.example" not in dump and "rosa's canary note" not in dump
    )
    assert "Other Canary" in dump and "other's canary note" in dump
    # Nor do the bytes on disk keep her: deleted rows are overwritten and the write-ahead log is emptied.
    raw = b"".join(
        p.read_bytes() for p in server.config.data_dir.iterdir() if p.name.startswith(DATABASE_FILE)
    )
    for canary in (b"Rosa Canary", b"rosa@canary.example", b"rosa's canary note"):
        assert canary not in raw, canary
    assert b"Other Canary" in raw


async def test_forwarded_headers_are_not_trusted(make_server, peer):
    """Behind a proxy fedgroup takes scheme and host from base_url only: a forged X-Forwarded-* changes no id,
    no signature check and no cookie."""
    server = await make_server()
    alice = peer.add_actor("alice", "peer-1")
    forged = {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9",
              "Forwarded": "for=203.0.113.9;host=evil.example;proto=https"}  # fmt: skip
    async with aiohttp.ClientSession() as http:
        async with http.get(
            server.url("/groups/water"), headers={"Accept": "application/activity+json", **forged}
        ) as r:
            actor = await r.json(content_type=None)
        async with http.get(server.url(f"/.well-known/webfinger?resource=acct:water@127.0.0.1:{server.port}"),
                            headers=forged) as r:  # fmt: skip
            finger = await r.text()
        async with http.get(server.url("/login"), headers=forged) as r:
            cookies = r.headers.getall("Set-Cookie", [])
    assert actor["id"] == server.url("/groups/water") and "evil.example" not in str(actor)
    assert "evil.example" not in finger
    assert cookies and not any("Secure" in c for c in cookies), (
        "http base URL: no Secure cookie, whatever the proxy says"
    )
    # A signed GET whose signature covers our real host verifies; forged headers around it do not matter.
    status, _ = await peer.get(alice, server.url("/groups/water/outbox"))
    assert status == 200
