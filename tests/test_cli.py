"""The command line as a user runs it: real processes, real data dirs, one-line errors."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from fedgroup import store
from tests.test_federation import follow

CLI = [sys.executable, "-m", "fedgroup.cli"]


def run(*args: str, input: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, input=input, cwd=cwd, timeout=60)


def assert_one_line_error(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fedgroup: error:"), result.stderr
    assert "Traceback" not in result.stderr


def test_init_creates_and_refuses_to_overwrite(tmp_path):
    data = tmp_path / "water"
    result = run(
        "init",
        "--data-dir",
        str(data),
        "--base-url",
        "https://water.example",
        "--name",
        "Water",
        "--handle",
        "water",
    )
    assert result.returncode == 0, result.stderr
    assert "@water@water.example" in result.stdout
    assert (data / "config.toml").stat().st_mode & 0o077 == 0, "config is private to the owner"
    again = run("init", "--data-dir", str(data), "--base-url", "https://water.example", "--name", "Water")
    assert_one_line_error(again)
    assert "refusing to overwrite" in again.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["init", "--base-url", "ftp://x", "--name", "N"],
        ["init", "--base-url", "https://x.example/path", "--name", "N"],
        ["init", "--base-url", "https://x.example", "--name", "N", "--handle", "Bad Handle!"],
        ["init", "--base-url", "https://x.example"],
        ["serve", "--port", "notaport"],
        ["serve", "--port", "70000"],
        ["frobnicate"],
        ["campaign", "create", "--title", "T"],
    ],
)
def test_bad_input_is_one_line_and_nonzero(tmp_path, args):
    result = run(*args, "--data-dir", str(tmp_path / "d")) if args[0] != "frobnicate" else run(*args)
    assert_one_line_error(result)


def test_commands_on_a_missing_or_unreadable_data_dir(tmp_path):
    result = run("campaign", "create", "--data-dir", str(tmp_path / "none"), "--title", "T", "--body", "B")
    assert_one_line_error(result)
    assert "fedgroup init" in result.stderr
    data = tmp_path / "locked"
    assert (
        run("init", "--data-dir", str(data), "--base-url", "https://x.example", "--name", "N").returncode == 0
    )
    (data / "config.toml").write_text("base_url = [")
    result = run("serve", "--data-dir", str(data))
    assert_one_line_error(result)
    assert "not valid TOML" in result.stderr


async def start_serve(*args: str, cwd: Path) -> tuple[asyncio.subprocess.Process, str]:
    process = await asyncio.create_subprocess_exec(
        *CLI, "serve", *args, cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out = ""
    while "fedgroup serving" not in out:
        line = await asyncio.wait_for(process.stdout.readline(), 30)
        if not line:
            raise AssertionError(f"serve exited: {out} {(await process.stderr.read()).decode()}")
        out += line.decode()
    return process, out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_serve_with_no_data_dir_creates_working_defaults(tmp_path):
    port = free_port()
    process, out = await start_serve("--port", str(port), cwd=tmp_path)
    try:
        assert "created a new group" in out and f"http://localhost:{port}" in out
        assert (tmp_path / "fedgroup-data" / "config.toml").exists()
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/healthz") as r:
                assert r.status == 200
            url = f"http://127.0.0.1:{port}/.well-known/webfinger?resource=acct:group@localhost:{port}"
            async with session.get(url) as r:
                assert r.status == 200
                assert (await r.json(content_type=None))["subject"] == f"acct:group@localhost:{port}"
        # A port already in use: one line, non-zero.
        second = await asyncio.create_subprocess_exec(
            *CLI,
            "serve",
            "--port",
            str(port),
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await asyncio.wait_for(second.communicate(), 30)
        assert second.returncode == 1
        assert err.decode().strip().splitlines()[-1].startswith("fedgroup: error: port")
        assert "already in use" in err.decode()
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 20)
    assert process.returncode == 0


async def test_cli_campaign_reaches_followers_through_the_running_server(make_server, peer):
    server = await make_server()
    alice = peer.add_actor("alice", "peer-1")
    await follow(peer, alice, server)
    result = await asyncio.to_thread(
        run,
        "campaign",
        "create",
        "--data-dir",
        str(server.config.data_dir),
        "--title",
        "From the CLI",
        "--body",
        "Printed and federated",
        "--visibility",
        "public",
    )
    assert result.returncode == 0, result.stderr
    url = result.stdout.strip()
    assert url.startswith(server.url("/campaigns/"))
    creates = await peer.wait_for(lambda r: r.json and r.json.get("type") == "Create")
    assert creates[0].json["object"]["id"] == url
    assert creates[0].verified


async def test_cli_writes_while_the_server_writes(make_server):
    """The CLI and the server share the SQLite file: no 'database is locked' reaches the user."""
    server = await make_server()
    stop = asyncio.Event()

    async def server_writes() -> int:
        n = 0
        while not stop.is_set():
            await server.runtime.db.write(
                lambda conn: conn.execute("UPDATE site SET summary = summary WHERE id = 1")
            )
            n += 1
            await asyncio.sleep(0)
        return n

    writer = asyncio.create_task(server_writes())
    try:
        results = await asyncio.gather(
            *[
                asyncio.to_thread(
                    run,
                    "campaign",
                    "create",
                    "--data-dir",
                    str(server.config.data_dir),
                    "--title",
                    f"T{i}",
                    "--body",
                    "B",
                )
                for i in range(4)
            ]
        )
    finally:
        stop.set()
        writes = await writer
    assert writes > 0
    for result in results:
        assert result.returncode == 0, result.stderr
        assert "locked" not in result.stderr
    assert len(await store.campaigns.listing(server.runtime.db.reader, ("public",))) == 4
