"""Kept renderings live until what they show changes (store/versions.py, store/kept.py): a commit that
changes nothing on a page leaves its rendering in place, a change to the campaign (here, through actions, or
by a CLI command in another process) replaces it, and a burst of visitors after a change costs one
rendering, not one each."""

from __future__ import annotations

import asyncio
import sqlite3
import threading

from fedgroup import actions, store
from fedgroup.rules.campaigns import parse_goal, parse_option
from fedgroup.store import versions
from fedgroup.ui import renderings
from tests.conftest import MovableClock, run_cli
from tests.web_client import WebClient


async def _campaign(runtime, title: str) -> int:
    return await actions.create_campaign(
        runtime,
        title,
        "Paint the crossing.",
        goals=[parse_goal("money:500:EUR")],
        options=[parse_option("Give €20=money:20")],
        visibility="public",
    )


async def _unrelated_commit(runtime) -> None:
    """A commit of the kind an inbox flood is made of: a new follower and a stored activity."""
    now = store.to_db_time(runtime.now())

    def job(conn: sqlite3.Connection) -> None:
        conn.execute(
            "INSERT INTO followers (actor_id, follow_id, state, inbox, shared_inbox, created_at)"
            " VALUES (?, ?, 'accepted', ?, ?, ?)",
            ("https://far.example/users/x", "https://far.example/follows/1", "https://far.example/users/x/inbox",
             "https://far.example/inbox", now),
        )  # fmt: skip

    before = await runtime.db.scalar("PRAGMA data_version")
    await runtime.db.write(job)
    assert await runtime.db.scalar("PRAGMA data_version") != before, "the commit is seen by the reader"


async def test_a_rendering_survives_an_unrelated_commit_and_is_replaced_after_a_related_one(make_server):
    server = await make_server(app_options={"clock": MovableClock(stands_still=True)})
    runtime = server.runtime
    first, second = await _campaign(runtime, "Safe crossing"), await _campaign(runtime, "Bike lane")
    member = await actions.add_member(runtime, "Mia Member", "member")
    pages = renderings.of(runtime).pages
    anon = WebClient(server.base_url)
    try:
        shown = {c: (await anon.get(f"/campaigns/{c}")).text for c in (first, second)}
        group = (await anon.get("/groups/water")).text
        made = pages.made

        await _unrelated_commit(runtime)
        for c in (first, second):
            assert (await anon.get(f"/campaigns/{c}")).text == shown[c]
        assert (await anon.get("/groups/water")).text == group
        assert pages.made == made, "an unrelated commit renders nothing again"

        await actions.pledge(runtime, member, first, option="Give €20")
        assert "€20 of €500" in (await anon.get(f"/campaigns/{first}")).text
        assert pages.made == made + 1
        assert (await anon.get(f"/campaigns/{second}")).text == shown[second]
        assert pages.made == made + 1, "the other campaign's page is kept"
        assert "1 person pledged" in (await anon.get("/groups/water")).text, "the listing shows every campaign"
        assert pages.made == made + 2
    finally:
        await anon.close()


async def test_a_change_by_the_cli_in_another_process_replaces_only_that_campaigns_page(make_server):
    server = await make_server(
        app_options={"clock": MovableClock(stands_still=True)}
    )  # a slow CLI must not outlast MAX_AGE
    runtime = server.runtime
    first, second = await _campaign(runtime, "Safe crossing"), await _campaign(runtime, "Bike lane")
    pages = renderings.of(runtime).pages
    anon = WebClient(server.base_url)
    try:
        kept_second = (await anon.get(f"/campaigns/{second}")).text
        await anon.get(f"/campaigns/{first}")
        made = pages.made
        result = await run_cli(
            "campaign", "edit", str(first), "--title", "Safe crossing at Mill Road",
            "--data-dir", str(server.config.data_dir),
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert "Safe crossing at Mill Road" in (await anon.get(f"/campaigns/{first}")).text
        assert (await anon.get(f"/campaigns/{second}")).text == kept_second
        assert pages.made == made + 1
    finally:
        await anon.close()


async def test_a_burst_of_visitors_after_a_change_renders_the_page_once(make_server):
    server = await make_server(app_options={"clock": MovableClock(stands_still=True)})
    runtime = server.runtime
    campaign = await _campaign(runtime, "Safe crossing")
    member = await actions.add_member(runtime, "Mia Member", "member")
    pages, views = renderings.of(runtime).pages, renderings.of(runtime).views
    clients = [WebClient(server.base_url) for _ in range(20)]
    try:
        await clients[0].get(f"/campaigns/{campaign}")
        await actions.pledge(runtime, member, campaign, option="Give €20")
        made_pages, made_views = pages.made, views.made
        answers = await asyncio.gather(*(c.get(f"/campaigns/{campaign}") for c in clients))
        assert all(a.status == 200 and "€20 of €500" in a.text for a in answers)
        assert pages.made == made_pages + 1 and views.made == made_views + 1
    finally:
        for c in clients:
            await c.close()


async def test_a_kept_page_is_answered_while_the_reader_thread_is_busy(make_server):
    """Whether anything changed is asked on a connection of its own, on the spot (Database.peek): a kept page
    costs no trip to the reader thread, which an inbox flood keeps busy. Here the reader thread is held by a
    read that waits; the kept pages must still be answered, also after an unrelated commit and after a
    change of another campaign (both move data_version, so the changed scopes are read too)."""
    server = await make_server(app_options={"clock": MovableClock(stands_still=True)})
    runtime = server.runtime
    first, second = await _campaign(runtime, "Safe crossing"), await _campaign(runtime, "Bike lane")
    member = await actions.add_member(runtime, "Mia Member", "member")
    pages = renderings.of(runtime).pages
    anon = WebClient(server.base_url)
    release = threading.Event()
    held = threading.Event()

    def hold(conn: sqlite3.Connection) -> None:
        held.set()
        release.wait(60)

    holding = None
    try:
        kept = (await anon.get(f"/campaigns/{first}")).text
        group = (await anon.get("/groups/water")).text
        await _unrelated_commit(runtime)
        holding = asyncio.ensure_future(runtime.db.read(hold))
        await asyncio.to_thread(held.wait, 60)
        assert held.is_set()
        made = pages.made
        answer = await asyncio.wait_for(anon.get(f"/campaigns/{first}"), 60)
        assert answer.status == 200 and answer.text == kept
        assert (await asyncio.wait_for(anon.get("/groups/water"), 60)).text == group
        await actions.pledge(runtime, member, second, option="Give €20")  # a write: the writer thread
        answer = await asyncio.wait_for(anon.get(f"/campaigns/{first}"), 60)
        assert answer.status == 200 and answer.text == kept, "another campaign's change keeps this page"
        assert pages.made == made, "served from what was kept, nothing rendered while the reader was held"
        assert not holding.done(), "the reader thread was held the whole time"
    finally:
        release.set()
        if holding is not None:
            await holding
        await anon.close()


def test_a_table_added_later_bumps_everything_unless_it_is_never_shown(tmp_path):
    conn = sqlite3.connect(tmp_path / "x.sqlite3", isolation_level=None)
    conn.execute("CREATE TABLE shown_versions (scope TEXT PRIMARY KEY NOT NULL, version INTEGER NOT NULL)")
    conn.execute("INSERT INTO shown_versions VALUES ('', 1)")
    conn.execute("CREATE TABLE campaigns (id INTEGER PRIMARY KEY, title TEXT, totals_published_at TEXT)")
    conn.execute("CREATE TABLE banners (id INTEGER PRIMARY KEY, text TEXT)")
    conn.execute("CREATE TABLE stickers (id INTEGER PRIMARY KEY, campaign_id INTEGER)")
    conn.execute("CREATE TABLE inbox_activities (id INTEGER PRIMARY KEY)")
    versions.install_triggers(conn)
    schema = conn.execute("SELECT group_concat(sql) FROM sqlite_master WHERE type = 'trigger'").fetchone()
    versions.install_triggers(conn)  # again: nothing to change
    assert (
        conn.execute("SELECT group_concat(sql) FROM sqlite_master WHERE type = 'trigger'").fetchone()
        == schema
    )

    conn.execute("INSERT INTO inbox_activities DEFAULT VALUES")
    assert versions.changes_since(conn, 1) == []
    conn.execute("INSERT INTO campaigns (id, title) VALUES (7, 'x')")
    conn.execute("INSERT INTO stickers (campaign_id) VALUES (7)")
    conn.execute("INSERT INTO stickers (campaign_id) VALUES (NULL)")
    conn.execute("UPDATE banners SET text = 'y'")  # no rows: nothing changed
    conn.execute("INSERT INTO banners (text) VALUES ('z')")
    changed = dict(versions.changes_since(conn, 1))
    assert changed == {"": 5, "c:7": 3, "all": 5}
    # An upsert (whose conflict clause a trigger's own statements follow) bumps too, and fails nothing.
    for _ in range(2):
        conn.execute(
            "INSERT INTO stickers (id, campaign_id) VALUES (1, 8) ON CONFLICT (id) DO UPDATE SET campaign_id = 8"
        )
    assert dict(versions.changes_since(conn, 5)) == {"": 7, "c:7": 6, "c:8": 7}
    # The scheduler's bookkeeping is on no page: updating only it bumps nothing; the title does.
    conn.execute("UPDATE campaigns SET totals_published_at = 'now' WHERE id = 7")
    assert versions.changes_since(conn, 7) == []
    conn.execute("UPDATE campaigns SET title = 'y', totals_published_at = 'later' WHERE id = 7")
    assert dict(versions.changes_since(conn, 7)) == {"": 8, "c:7": 8}
