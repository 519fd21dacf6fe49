"""Seeding a benchmark's data dir straight through fedgroup's store and actions (set-up only, never timed)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from aiohttp import web

from fedgroup import actions, store
from fedgroup import config as config_module
from fedgroup.app import create_app
from fedgroup.rules.campaigns import parse_goal, parse_option
from fedgroup.runtime import RUNTIME, Runtime
from fedgroup.store import datadir

OPTIONS = ("Come to the meeting=people:1", "Leaflet for 2 hours=hours:2", "Give 20=money:20")
GOALS = ("people:500", "hours:800", "money:5000:EUR")


async def campaign(runtime: Runtime, title: str, **kwargs: Any) -> int:
    """A campaign with three goals and three options, like the demo's."""
    return await actions.create_campaign(
        runtime,
        title,
        "Children cross four lanes of traffic every morning. We are asking the council for a crossing.",
        goals=[parse_goal(g) for g in GOALS],
        options=[parse_option(o) for o in OPTIONS],
        **kwargs,
    )


async def followers(runtime: Runtime, count: int, inboxes: list[str], chunk: int = 1000) -> None:
    """`count` accepted followers, their shared inboxes taken round-robin from `inboxes`."""
    now = runtime.now()
    for start in range(0, count, chunk):

        def job(conn: sqlite3.Connection, start: int = start) -> None:
            rows = []
            for i in range(start, min(count, start + chunk)):
                shared = inboxes[i % len(inboxes)]
                actor = shared.replace("/inbox", f"/users/f{i}")
                rows.append(
                    (actor, f"{actor}#follow", "accepted", f"{actor}/inbox", shared, store.db.to_db_time(now))
                )
            conn.executemany(
                "INSERT INTO followers (actor_id, follow_id, state, inbox, shared_inbox, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (actor_id) DO NOTHING",
                rows,
            )

        await runtime.db.write(job)


async def member_pledges(runtime: Runtime, campaign_id: int, members: int) -> None:
    for i in range(members):
        member_id = await actions.add_member(runtime, f"Member {i}", "member")
        await actions.pledge(runtime, member_id, campaign_id, option=OPTIONS[i % len(OPTIONS)].split("=")[0])


async def group_server(data_dir: Path, **settings: Any) -> tuple[web.AppRunner, Runtime]:
    """A fresh group in `data_dir`, served in this process on a free loopback port (workers running)."""
    from common import free_socket, start

    sock = free_socket()
    port = sock.getsockname()[1]
    await datadir.create(
        data_dir, f"http://127.0.0.1:{port}", "Bench", handle="bench", listen_port=port, **settings
    )
    app = create_app(config_module.load(data_dir))
    runner = await start(app, sock)
    return runner, app[RUNTIME]
