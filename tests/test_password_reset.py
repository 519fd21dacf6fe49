"""A newcomer who lost the admin password gets back in: `serve` says how, `fedgroup member reset-password`
prints a one-time link, and the link works once, in the live web UI, and signs the member out elsewhere."""

from __future__ import annotations

import asyncio
import re
import signal
from datetime import timedelta

from fedgroup import actions, store
from fedgroup.rules import passwords
from tests.conftest import MovableClock, run_cli
from tests.test_cli import free_port, start_serve
from tests.web_client import WebClient

NEW_PASSWORD = "a much better passphrase"


async def stop(process: asyncio.subprocess.Process) -> None:
    process.send_signal(signal.SIGTERM)
    await asyncio.wait_for(process.wait(), 20)


async def test_serve_says_how_to_get_back_in_and_the_reset_link_works_once(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process, out = await start_serve("--port", str(port), cwd=tmp_path, until="Sign in at")
    first_password = re.search(r"as 'admin' with password (\S+)", out).group(1)
    elsewhere = WebClient(base)  # the admin, signed in on some other computer
    try:
        await elsewhere.sign_in("admin", first_password)
    finally:
        await stop(process)

    # The password is lost. Starting again, serve says what to do.
    process, out = await start_serve("--port", str(port), cwd=tmp_path, until="Forgot the admin password?")
    browser = WebClient(base)
    try:
        assert "fedgroup member reset-password admin" in out
        assert "Sign in at" not in out, "no new password is printed for a server that has members"
        data_dir = str(tmp_path / "fedgroup-data")
        result = await run_cli("member", "reset-password", "admin", "--data-dir", data_dir)
        assert result.returncode == 0, result.stderr
        link = re.search(r"http://localhost:\d+(/reset/\S+)", result.stdout).group(1)
        assert (await elsewhere.get("/home")).url.endswith("/home"), "still signed in there before the reset"

        page = await browser.get(link)
        assert page.status == 200 and "Choose a new password" in page.text and "admin" in page.text
        differing = await browser.post(link, {"password": NEW_PASSWORD, "password_again": "something else"})
        assert differing.status == 422 and "The two passwords differ" in differing.text
        done = await browser.post(link, {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD})
        assert done.status == 200 and done.url.endswith("/home?done=password"), done.text
        assert "Your password is changed." in done.text

        # The other session ended; the old password no longer works, the new one does.
        assert "/login" in (await elsewhere.get("/home")).url
        refused = await elsewhere.post(
            "/login", {"name": "admin", "password": first_password, "next": "/home"}
        )
        assert refused.status == 401
        await elsewhere.sign_in("admin", NEW_PASSWORD)

        # Single use: the same link is refused afterwards, on the page and on a replayed form.
        used = await WebClient(base).get(link)
        assert used.status == 410 and "used already or has expired" in used.text
        assert "ask an organizer" not in used.text.lower()
        replay = await browser.post_raw(link, [("password", "x" * 12), ("password_again", "x" * 12),
                                               ("csrf", (await browser.get("/account")).csrf)])  # fmt: skip
        assert replay.status == 422 and "used or has expired" in replay.text
    finally:
        await browser.close()
        await elsewhere.close()
        await stop(process)


async def test_a_reset_link_expires_and_only_digests_are_stored(make_server):
    clock = MovableClock()
    server = await make_server(app_options={"clock": clock})
    runtime = server.runtime
    member_id = await actions.add_member(
        runtime, "Mia", "member", None, passwords.hash_password("old password 1")
    )
    link = await actions.create_password_reset(runtime, member_id, hours=1)
    token = link.rsplit("/", 1)[1]
    rows = await runtime.db.read(
        lambda conn: conn.execute("SELECT token_hash FROM password_resets").fetchall()
    )
    assert [tuple(r) for r in rows] == [(store.sessions.digest(token),)], "the token itself is never stored"

    clock.advance(timedelta(hours=1, seconds=1))
    browser = WebClient(server.base_url)
    try:
        page = await browser.get(link.removeprefix(server.base_url))
        assert page.status == 410
    finally:
        await browser.close()
    try:
        await actions.reset_password(runtime, token, NEW_PASSWORD)
    except actions.ActionError as e:
        assert "expired" in str(e)
    else:
        raise AssertionError("an expired link must not set a password")
