"""`fedgroup serve` sends deliveries from a second process of its own (cli/delivery_process.py), as an
operator meets it: a real `serve` process, a Mastodon-shaped peer on 127.0.0.1 that follows the group and
gets the group's Accept from the delivery process; a delivery process killed with SIGKILL is started again
and the next Accept still arrives; `serve` killed with SIGKILL takes the delivery process with it."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from fedgroup.cli.delivery_process import NICENESS
from tests.peer import FakeMastodon
from tests.test_crash_safety import HANDLE, WAIT, ServerProcess, make_data_dir


@pytest.fixture
async def serve_processes() -> AsyncIterator[list[ServerProcess]]:
    """Every ServerProcess a test appends here is killed at teardown, whatever the test did."""
    started: list[ServerProcess] = []
    yield started
    for server in started:
        await server.close()


def _children(pid: int, word: str) -> list[int]:
    """The processes whose parent is `pid` and whose command line holds `word` (Linux's /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == pid and word in cmdline:
            found.append(int(entry))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie is dead, only not yet reaped


async def _until(check, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + WAIT
    while not (value := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {WAIT} s: {what}")
        await asyncio.sleep(0.05)
    return value


async def test_serve_delivers_from_a_process_of_its_own_restarts_it_and_takes_it_down(
    tmp_path, test_keys, serve_processes
):
    config = await make_data_dir(tmp_path / "group", test_keys)
    assert config.delivery_process, "the default"
    peer = await FakeMastodon(keys=test_keys).start()
    try:
        server = ServerProcess(config, tmp_path)
        serve_processes.append(server)
        await server.start()
        [delivery] = await _until(lambda: _children(server.pid, "deliver"), "the delivery process runs")
        group = f"{config.base_url}/groups/{HANDLE}"

        async def follow(name: str) -> None:
            actor = peer.add_actor(name, "peer-1")
            activity = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{actor.id}/follow",
                        "type": "Follow", "actor": actor.id, "object": group}  # fmt: skip
            assert (await peer.post(actor, f"{group}/inbox", activity))[0] == 202
            await peer.wait_for(
                lambda r: r.json.get("type") == "Accept" and r.json["object"]["actor"] == actor.id,
                timeout=WAIT,
            )

        await follow("alice")
        accept = next(r for r in peer.received if r.json.get("type") == "Accept")
        assert accept.verified, "signed with the group's key by the delivery process"
        # It yields the cores to serve when both want them (pages and the inbox first).
        assert os.getpriority(os.PRIO_PROCESS, delivery) == min(
            19, os.getpriority(os.PRIO_PROCESS, server.pid) + NICENESS
        )

        os.kill(delivery, signal.SIGKILL)
        [again] = await _until(
            lambda: [p for p in _children(server.pid, "deliver") if p != delivery and _alive(p)],
            "a new delivery process",
        )
        assert _alive(server.pid)
        await follow("bob")  # delivered by the new one

        server.kill()
        await server.wait()
        await _until(lambda: not _alive(again), "the delivery process dies with serve")
        err = server.stderr(1)
        assert "delivery process exited status=-9; starting it again" in err
    finally:
        await peer.stop()
