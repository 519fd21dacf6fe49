"""The command line as a user runs it: real processes, real data dirs, one-line errors."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import random
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import aiohttp
import pytest

from fedgroup import actions, cli, logs, store
from fedgroup.rules.campaigns import parse_goal, parse_option
from tests.conftest import eventually
from tests.test_federation import follow
from tests.web_client import WebClient

CLI = [sys.executable, "-m", "fedgroup.cli"]


def run_process(*args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI as a user runs it: a real process (a Python start-up per call, about a second)."""
    return subprocess.run([*CLI, *args], capture_output=True, text=True, input=input, timeout=60)


def run(*args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI in this process — `cli.main(argv)` with its own stdin, stdout and stderr — for parsing,
    validation and one-shot commands. What a fresh process would print on stderr is caught too: the warnings
    a one-shot command logs (its process logs at "warning") go to the same stderr."""
    out, err = io.StringIO(), io.StringIO()
    handler = logging.StreamHandler(err)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter(logs.FORMAT))
    root = logging.getLogger()
    root.addHandler(handler)
    real_stdin = sys.stdin
    sys.stdin = io.StringIO(input or "")
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                status = cli.main(list(args))
            except SystemExit as e:  # argparse's --help and --version
                status = e.code if isinstance(e.code, int) else 1
    finally:
        sys.stdin = real_stdin
        root.removeHandler(handler)
    return subprocess.CompletedProcess(list(args), status, out.getvalue(), err.getvalue())


def assert_one_line_error(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fedgroup: error:"), result.stderr
    assert "Traceback" not in result.stderr


def test_init_creates_and_refuses_to_overwrite(tmp_path):
    data = tmp_path / "water"
    result = run_process(
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
    again = run_process("init", "--data-dir", str(data), "--base-url", "https://water.example", "--name", "Water")
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
    result = run_process("campaign", "create", "--data-dir", str(tmp_path / "none"), "--title", "T", "--body", "B")
    assert_one_line_error(result)
    assert "fedgroup init" in result.stderr
    data = tmp_path / "locked"
    assert (
        run_process("init", "--data-dir", str(data), "--base-url", "https://x.example", "--name", "N").returncode == 0
    )
    (data / "config.toml").write_text("base_url = [")
    result = run_process("serve", "--data-dir", str(data))
    assert_one_line_error(result)
    assert "not valid TOML" in result.stderr


async def start_serve(
    *args: str, cwd: Path, until: str = "fedgroup serving"
) -> tuple[asyncio.subprocess.Process, str]:
    process = await asyncio.create_subprocess_exec(
        *CLI, "serve", *args, cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out = ""
    while until not in out:
        line = await asyncio.wait_for(process.stdout.readline(), 30)
        if not line:
            raise AssertionError(f"serve exited: {out} {(await process.stderr.read()).decode()}")
        out += line.decode()
    return process, out


# Ports for servers started as separate processes, which must be named before they bind. They are drawn
# below the kernel's ephemeral range (32768 and up on Linux), which it hands to every bind(0) and outgoing
# connection of the suite's other tests: a port chosen from it may be taken before the process binds it.
PORTS_BELOW_EPHEMERAL = range(20_000, 32_000)


def _free_run(count: int) -> int:
    """A first port P with P .. P+count-1 free on 127.0.0.1, outside the ephemeral range."""
    for _ in range(200):
        first = random.randrange(PORTS_BELOW_EPHEMERAL.start, PORTS_BELOW_EPHEMERAL.stop - count)
        try:
            for offset in range(count):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", first + offset))
            return first
        except OSError:
            continue
    raise RuntimeError(f"no {count} consecutive free ports")


def free_port() -> int:
    return _free_run(1)


async def test_serve_with_no_data_dir_creates_working_defaults(tmp_path):
    port = free_port()
    process, out = await start_serve("--port", str(port), cwd=tmp_path, until="Sign in at")
    try:
        assert "created a new group" in out and f"http://localhost:{port}" in out
        # The printed admin login works (the README promises a newcomer can sign in with it).
        password = re.search(r"as 'admin' with password (\S+)", out).group(1)
        browser = WebClient(f"http://127.0.0.1:{port}")
        try:
            await browser.sign_in("admin", password)
            assert (await browser.get("/organize/campaigns/new")).status == 200
        finally:
            await browser.close()
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
    assert len(await server.runtime.db.read(store.campaigns.listing, ("public",))) == 4


async def test_a_cli_write_beside_a_server_whose_loop_stalls_is_not_locked_out(make_server):
    """The server's event loop stalls (a callback sleeps, longer than the busy timeout) while one of its write
    jobs is between statements. Its transaction does not wait for the loop, so the CLI command started
    during the stall writes: no 'database is locked'."""
    busy_timeout = 1.0
    server = await make_server(database_busy_timeout_seconds=busy_timeout)
    loop = asyncio.get_running_loop()
    loop_stalled = threading.Event()
    cli: list[subprocess.Popen[str]] = []

    def stall() -> None:
        # Runs on the loop and blocks it until the command is done (or has given up after the busy timeout).
        loop_stalled.set()
        cli.append(subprocess.Popen(
            [*CLI, "campaign", "create", "--data-dir", str(server.config.data_dir), "--title", "Beside a stall",
             "--body", "B"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        ))  # fmt: skip
        started = time.monotonic()
        while cli[0].poll() is None or time.monotonic() - started < busy_timeout:
            time.sleep(0.05)

    def job(conn: sqlite3.Connection) -> str:
        conn.execute("UPDATE site SET summary = summary WHERE id = 1")
        loop.call_soon_threadsafe(stall)
        loop_stalled.wait(60)  # the loop is stalled while this transaction is open
        conn.execute("UPDATE site SET summary = summary WHERE id = 1")
        return "committed"

    assert await server.runtime.db.write(job) == "committed"
    out, err = await asyncio.to_thread(cli[0].communicate, timeout=60)
    assert "locked" not in err, err
    assert cli[0].returncode == 0, err
    assert out.strip().startswith(server.url("/campaigns/"))


def test_an_organizer_runs_a_campaign_from_the_command_line(tmp_path):
    data = str(tmp_path / "d")
    assert run("init", "--data-dir", data, "--base-url", "https://t.example", "--name", "T").returncode == 0

    def ok(*args: str, input: str | None = None) -> str:
        result = run(*args, "--data-dir", data, input=input)
        assert result.returncode == 0, result.stderr
        assert result.stderr == "", "a one-shot command prints its result and nothing else"
        return result.stdout

    ok("member", "add", "Ana", "--role", "organizer", "--email", "ana@t.example", "--password-stdin",
       input="correct horse battery staple\n")  # fmt: skip
    ok("member", "add", "Ben")
    assert ok("member", "list").splitlines() == ["Ana\torganizer\tana@t.example", "Ben\tmember\t"]
    url = ok(
        "campaign", "create", "--title", "Crossing", "--body", "Paint it", "--goal", "money:500:EUR",
        "--goal", "hours:40", "--option", "Give €20=money:20", "--option", "Two hours=hours:2",
        "--deadline", "2099-01-10T18:00Z",
    ).strip()  # fmt: skip
    assert url == "https://t.example/campaigns/1"
    ok("pledge", "add", "--campaign", "1", "--member", "Ana", "--option", "Give €20", "--note", "cash")
    ok("pledge", "add", "--campaign", "1", "--member", "Ben", "--amount", "hours:3")
    assert "progress: €20 of €500 · 3 of 40 hours" in ok("campaign", "show", "1")
    listed = ok("pledge", "list", "--campaign", "1").splitlines()
    assert len(listed) == 2 and "cash" in listed[0]
    ok("pledge", "add", "--campaign", "1", "--member", "Ben", "--amount", "hours:5")
    assert "5 of 40 hours" in ok("campaign", "show", "1"), "a second pledge of a kind replaces the first"
    ok("pledge", "withdraw", "--campaign", "1", "--member", "Ben")
    assert "0 of 40 hours" in ok("campaign", "show", "1")
    ok("campaign", "edit", "1", "--target", "hours:60", "--title", "Paint the crossing")
    shown = ok("campaign", "show", "1")
    assert shown.startswith("Paint the crossing") and "0 of 60 hours" in shown
    assert "marked fulfilled" in ok("pledge", "fulfil", listed[0].split("\t")[0])
    ok("campaign", "close", "1")
    late = run(
        "pledge", "add", "--campaign", "1", "--member", "Ben", "--amount", "hours:1", "--data-dir", data
    )
    assert_one_line_error(late)
    assert "closed" in late.stderr
    assert "€20 pledged, €20 given" in ok("campaign", "outcome", "1", "--report", "Painted!")
    ok("campaign", "delete", "1")
    assert_one_line_error(run("campaign", "show", "1", "--data-dir", data))
    ok("member", "remove", "Ana")
    assert ok("member", "list").splitlines() == ["Ben\tmember\t"]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["campaign", "create", "--title", "T", "--body", "B", "--goal", "money:-5:EUR"], "not an amount"),
        (["campaign", "create", "--title", "T", "--body", "B", "--goal", "gold:5"], "gold"),
        (["campaign", "create", "--title", "T", "--body", "B", "--goal", "money:5:ZZZ"], "currency"),
        (
            [
                "campaign",
                "create",
                "--title",
                "T",
                "--body",
                "B",
                "--goal",
                "hours:5",
                "--option",
                "X=money:1",
            ],
            "goal",
        ),  # fmt: skip
        (["campaign", "create", "--title", "T", "--body", "B", "--deadline", "2001-01-01T00:00Z"], "past"),
        (["campaign", "create", "--title", "T", "--body", "B", "--deadline", "soonish"], "date-time"),
        (["campaign", "create", "--title", "", "--body", "B"], "title"),
        (["member", "add", "Zed", "--role", "king"], "role"),
        (["pledge", "add", "--campaign", "1", "--member", "Nobody", "--amount", "hours:1"], "Nobody"),
        (["member", "add", "Pat", "--password-stdin"], "password"),
    ],
)
def test_bad_campaign_and_member_input_is_one_clear_line(tmp_path, args, words):
    data = str(tmp_path / "d")
    assert run("init", "--data-dir", data, "--base-url", "https://t.example", "--name", "T").returncode == 0
    result = run(*args, "--data-dir", data, input="short\n")
    assert_one_line_error(result)
    assert words.lower() in result.stderr.lower()
    assert run("campaign", "list", "--data-dir", data).stdout.strip() == "no campaigns yet", (
        "nothing half-made"
    )


async def test_a_coalition_from_the_command_line(make_server):
    """`coalition follow @crossing@host` (webfinger), pledge to the partner's campaign, `coalition leave`."""
    a = await make_server("a", handle="tenants")
    c = await make_server("c", handle="crossing")
    data = str(a.config.data_dir)

    async def cli(*args: str, server=a) -> str:
        result = await asyncio.to_thread(run, *args, "--data-dir", str(server.config.data_dir))
        assert result.returncode == 0, result.stderr
        return result.stdout

    handle = f"@crossing@{c.config.domain}"
    assert "follow request sent" in await cli("coalition", "follow", handle)
    c_group = c.url("/groups/crossing")

    async def accepted():
        following = await a.runtime.db.read(store.follows.following_of, c_group)
        return following is not None and following.state == "accepted"

    await eventually(accepted)
    assert (await cli("coalition", "list")).strip() == f"{c_group}\taccepted"
    campaign_id = await actions.create_campaign(
        c.runtime,
        "Crossing",
        "b",
        goals=[parse_goal("hours:40")],
        options=[parse_option("Two hours=hours:2")],
    )

    async def partner_listed():
        return "Two hours=hours:2" in await cli("coalition", "campaigns")

    await eventually(partner_listed)
    partner_id = (await cli("coalition", "campaigns")).split("\t", 1)[0]
    # C's organizers accept A as a partner group, from C's own command line: then A's aggregates count.
    a_group = a.url("/groups/tenants")
    assert (await cli("coalition", "partners", server=c)).split("\t")[:2] == [a_group, "requested"]
    assert "accepted" in await cli("coalition", "accept-partner", a_group, server=c)
    await cli("member", "add", "Amira")
    await cli("pledge", "add", "--partner", partner_id, "--member", "Amira", "--option", "Two hours")

    async def partner_groups() -> int:
        state = await c.runtime.db.read(actions.load_campaign, campaign_id)
        return state.tally.partner_groups

    await eventually(lambda: _equals(partner_groups, 1))
    assert "left" in await cli("coalition", "leave", handle)
    await eventually(lambda: _equals(partner_groups, 0))
    assert "we follow no groups yet" in await cli("coalition", "list")

    not_a_group = await asyncio.to_thread(
        run, "coalition", "follow", "@nobody@127.0.0.1:1", "--data-dir", data
    )
    assert_one_line_error(not_a_group)


async def _equals(probe, expected) -> bool:
    return await probe() == expected


def _three_free_ports() -> int:
    """A first port P with P, P+1 and P+2 free on 127.0.0.1 (the demo's three groups)."""
    return _free_run(3)


async def test_demo_starts_three_federating_groups_and_stops_on_ctrl_c():
    port = _three_free_ports()
    process = await asyncio.create_subprocess_exec(
        *CLI, "demo", "--port", str(port), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        out = b""
        while b"Ctrl-C stops" not in out:
            line = await asyncio.wait_for(process.stdout.readline(), 60)
            assert line, (out + await process.stderr.read()).decode()
            out += line
        text = out.decode()
        for offset in range(3):
            assert f"http://127.0.0.1:{port + offset}/" in text
        crossing = f"http://127.0.0.1:{port + 2}/campaigns/1"

        async def partners_counted() -> bool:
            async with aiohttp.ClientSession() as session:
                async with session.get(crossing) as r:
                    return r.status == 200 and "including 2 partner groups" in await r.text()

        await eventually(partners_counted, timeout=30)
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port + 1}/blueprints/1") as r:
                assert r.status == 200 and "Adopted by 1 group" in await r.text()
            async with session.get(crossing) as r:
                page = await r.text()
        # The money record: €85.50 + €20 + €150 raised, the approved printing spent, the banner still pending.
        assert "€255.50 raised · €64.50 spent · €191 left" in page and "Printing 500 leaflets" in page
        assert "Banner" not in page and "Mill Road Bakery" in page and "Gus" not in page
        # The finished campaign: each group's pledged beside delivered figures, and the outcome.
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port + 2}/campaigns/2") as r:
                page = await r.text()
        assert "tenants@127.0.0.1:" in page and "pledged 3 people, delivered 2 people" in page
        assert "foodbank@127.0.0.1:" in page and "pledged 6 hours, delivered 6 hours" in page
        assert "The park was clean by noon" in page
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
        await asyncio.wait_for(process.wait(), 20)
    assert process.returncode == 0
    assert b"Traceback" not in await process.stderr.read()


def test_the_command_line_follows_the_members_rules_closed_is_frozen_until_reopened(tmp_path):
    """The CLI's pledge and campaign commands keep the rules the web UI keeps: a change keeps the note, a
    fulfilled pledge stays, a closed campaign's pledges and totals are frozen until `campaign reopen`."""
    data = str(tmp_path / "d")
    assert run("init", "--data-dir", data, "--base-url", "https://t.example", "--name", "T").returncode == 0

    def ok(*args: str) -> str:
        result = run(*args, "--data-dir", data)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def refused(*args: str) -> str:
        result = run(*args, "--data-dir", data)
        assert_one_line_error(result)
        return result.stderr

    ok("member", "add", "Ana")
    ok("member", "add", "Ben")
    ok("campaign", "create", "--title", "Crossing", "--body", "Paint it", "--goal", "money:500:EUR",
       "--option", "Give €20=money:20", "--option", "Give €10=money:10")  # fmt: skip
    ok("pledge", "add", "--campaign", "1", "--member", "Ana", "--option", "Give €20", "--note", "cash")
    ok("pledge", "add", "--campaign", "1", "--member", "Ana", "--option", "Give €10")
    [ana] = ok("pledge", "list", "--member", "Ana").splitlines()
    assert "Give €10" in ana and "cash" in ana, "a change without --note keeps the note"
    ok("pledge", "fulfil", ana.split("\t")[0])
    assert "fulfilled" in refused("pledge", "withdraw", "--campaign", "1", "--member", "Ana")
    again = ("pledge", "add", "--campaign", "1", "--member", "Ana", "--option", "Give €20")
    assert "fulfilled" in refused(*again)

    ok("pledge", "add", "--campaign", "1", "--member", "Ben", "--amount", "money:5")
    ok("campaign", "close", "1")
    assert "closed" in refused("pledge", "withdraw", "--campaign", "1", "--member", "Ben")
    ok("member", "remove", "Ben")
    assert "progress: €15 of €500" in ok("campaign", "show", "1"), "frozen as it closed"
    assert "there is no campaign 7" in refused("campaign", "reopen", "7")
    assert "deadline" in refused("campaign", "reopen", "1", "--deadline", "2001-01-01T00:00Z")
    assert "reopened" in ok("campaign", "reopen", "1")
    assert "progress: €10 of €500" in ok("campaign", "show", "1"), "live again: Ben was erased"
    assert "open" in refused("campaign", "reopen", "1")
