"""`fedgroup serve --workers 2` (cli/workers.py) as an operator meets it: a real `serve` whose two serving
processes accept on its port; Mastodon-shaped peers on 127.0.0.1 follow the group through both; what they
store is processed by `serve` at once (its queue poll is set far beyond the test's wait, so only their word
can wake it); a serving process killed with SIGKILL is started again; SIGTERM stops them all. Beside it, the
pure rules that share in-memory limits out between the processes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from datetime import UTC, datetime

import aiohttp
import pytest

from fedgroup import config as config_module
from fedgroup.config import ConfigError
from fedgroup.federation.inbox import overloaded
from fedgroup.protocol import signatures
from fedgroup.runtime import Runtime
from fedgroup.ui.sign_ins import SignInRules
from tests.peer import FakeActor, FakeMastodon
from tests.test_crash_safety import CLI, HANDLE, WAIT, ServerProcess, follow_activity, make_data_dir, query
from tests.test_delivery_process import _alive, _children, _until

FOLLOWERS = 60
LATE_MOST = 40


@pytest.fixture
async def serve_processes():  # type: ignore[no-untyped-def]
    started: list[ServerProcess] = []
    yield started
    for server in started:
        await server.close()


def _answered_by(process: int, stderr: str) -> int:
    tag = f"[serving process {process}] aiohttp.access"
    return sum(1 for line in stderr.splitlines() if tag in line and "POST" in line)


def _answered_by_serve(stderr: str) -> int:
    return sum(1 for line in stderr.splitlines() if "INFO aiohttp.access" in line)


async def test_two_serving_processes_share_the_port_and_serve_processes_what_they_store(
    tmp_path, test_keys, serve_processes
):
    # A queue poll far longer than any wait below: what a serving process stores gets processed in time only if
    # it tells serve.
    config = await make_data_dir(tmp_path / "group", test_keys, workers=2, queue_poll_seconds=600)
    peer = await FakeMastodon(keys=test_keys).start()
    try:
        server = ServerProcess(config, tmp_path)
        serve_processes.append(server)
        await server.start()
        first, second = await _until(
            lambda: pids if len(pids := sorted(_children(server.pid, "serve-worker"))) == 2 else None,
            "the two serving processes run",
        )
        await _until(lambda: server.stderr(1).count("serving process up") == 2, "both listen")
        # A second `serve --workers 2` on the same port by mistake is refused, as with one process.
        mistaken = await asyncio.create_subprocess_exec(
            *CLI, "serve", "--data-dir", str(tmp_path / "mistake"), "--port", str(config.listen_port),
            "--workers", "2", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, err = await asyncio.wait_for(mistaken.communicate(), WAIT)
        assert mistaken.returncode != 0
        assert f"port {config.listen_port} on 127.0.0.1 is already in use" in err.decode()
        group = f"{config.base_url}/groups/{HANDLE}"
        inbox = f"{group}/inbox"
        actors = [peer.add_actor(f"user{n}", f"peer-{n % 4 + 1}") for n in range(FOLLOWERS)]
        keys = {pem: signatures.load_private_key(pem) for pem in {a.private_pem for a in actors}}

        async def follow(session: aiohttp.ClientSession, actor: FakeActor, n: int) -> int:
            body = json.dumps(follow_activity(actor, group, n)).encode()
            headers = {"Content-Type": "application/activity+json"}
            headers.update(signatures.sign_request(
                "POST", inbox, body, actor.key_id, keys[actor.private_pem], datetime.now(UTC), headers
            ))  # fmt: skip
            async with session.post(inbox, data=body, headers=headers) as response:
                await response.read()
                return response.status

        # A connection each, many at once: whichever process is free takes the next one.
        connector = aiohttp.TCPConnector(force_close=True, limit=30)
        async with aiohttp.ClientSession(connector=connector) as session:
            statuses = await asyncio.wait_for(
                asyncio.gather(*(follow(session, actor, n) for n, actor in enumerate(actors))), WAIT
            )
        assert statuses == [202] * FOLLOWERS

        async def followers_are(count: int) -> None:
            async def counted() -> bool:
                return (await query(config, "SELECT COUNT(*) FROM followers"))[0][0] == count

            deadline = asyncio.get_running_loop().time() + WAIT
            while not await counted():
                assert asyncio.get_running_loop().time() < deadline, f"not {count} followers within {WAIT} s"
                await asyncio.sleep(0.05)

        await followers_are(FOLLOWERS)

        # Now one at a time, each once `serve` has processed everything and gone idle (its poll is 600 s away):
        # each follow is processed only if the serving process that took it tells `serve`. At least 3, and on
        # until each serving process has taken one (a burst can fall to one process on a busy machine).
        def answered(sent: int) -> tuple[int, int] | None:
            log = server.stderr(1)
            counts = (_answered_by(1, log), _answered_by(2, log))
            return counts if sum(counts) == sent else None  # every access line written

        sent = FOLLOWERS
        late: list[FakeActor] = []
        for n in range(LATE_MOST):
            late.append(actor := peer.add_actor(f"late{n}", "peer-1"))
            keys.setdefault(actor.private_pem, signatures.load_private_key(actor.private_pem))
            await asyncio.sleep(0.3)  # serve's processor settles into its idle wait
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
                assert await follow(session, actor, sent) == 202
            sent += 1
            await followers_are(sent)
            by_one, by_two = await _until(lambda sent=sent: answered(sent), "the access log lines")
            if n >= 2 and by_one and by_two:
                break
        assert by_one > 0 and by_two > 0, "each serving process took connections"
        assert _answered_by_serve(server.stderr(1)) == 0, "serve itself answers nothing"

        # Every Accept went out (from the first process's delivery process), each once.
        await peer.wait_for(
            lambda r: sum(1 for x in peer.received if x.json.get("type") == "Accept") >= sent,
            timeout=WAIT,
        )
        accepted = [r.json["object"]["actor"] for r in peer.received if r.json.get("type") == "Accept"]
        assert sorted(accepted) == sorted(a.id for a in actors + late)

        os.kill(first, signal.SIGKILL)
        await _until(
            lambda: [
                p for p in _children(server.pid, "serve-worker") if p not in (first, second) and _alive(p)
            ],
            "a new serving process",
        )
        assert "exited status=-9; starting it again" in server.stderr(1)
        async with aiohttp.ClientSession() as session, session.get(group) as response:
            assert response.status == 200

        assert server.process is not None
        server.process.send_signal(signal.SIGTERM)
        assert await server.wait() == 0
        await _until(lambda: not _children(server.pid, "serve-worker"), "the serving processes stopped")
    finally:
        await peer.stop()


# -- sharing out what each process keeps in memory --------------------------------------------------------


def test_each_process_gets_its_share_of_a_limit_and_together_they_hold_it(tmp_path):
    for processes in range(1, 9):
        config = config_module.from_mapping(
            tmp_path, {"base_url": "https://example.org", "workers": processes}
        )
        assert config.per_process(0) == 0, "0 is no limit, in every process"
        for limit in (1, 5, 64, 600):
            share = config.per_process(limit)
            assert share >= 1
            assert limit <= processes * share <= limit + processes - 1
        rules = SignInRules().shared_by(processes)
        assert processes * rules.per_name <= SignInRules().per_name + processes - 1
        assert rules.per_name >= 1 and rules.max_pending >= 1
    assert SignInRules().shared_by(1) == SignInRules()


@pytest.mark.parametrize("workers", [0, -1, config_module.MAX_WORKERS + 1])
def test_workers_outside_the_range_is_a_clear_error(tmp_path, workers):
    with pytest.raises(ConfigError, match="workers must be between 1 and"):
        config_module.from_mapping(tmp_path, {"base_url": "https://example.org", "workers": workers})


async def test_a_block_is_told_to_the_other_processes_and_what_is_told_is_not_told_back(make_server):
    runtime: Runtime = (await make_server()).runtime
    told: list[str] = []
    runtime.tell_others = told.append
    runtime.blocks_changed()
    assert told == ["blocks"]
    runtime.told("blocks")  # from another process: acted on here, not sent round again
    assert told == ["blocks"]
    runtime.told("nonsense")  # an unknown word changes nothing
    assert told == ["blocks"]
    # Nothing told is passed on, whether this process runs the worker (inbox, totals, deliveries) or not
    # (mail is off here): a word never goes round between processes.
    for what in ("inbox", "totals", "deliveries", "mail"):
        runtime.told(what)
    assert told == ["blocks"]


async def test_back_pressure_counts_the_queue_in_the_database_where_processes_share_the_inbox(make_server):
    runtime: Runtime = (await make_server()).runtime
    limit = runtime.config.inbox_max_backlog
    runtime.queued = limit - 1
    assert overloaded(runtime) is None
    runtime.queued = limit
    assert overloaded(runtime) == "busy-backlog"
    watching = asyncio.create_task(runtime.watch_queue(every=0.01))
    try:
        await _until(lambda: runtime.queued == 0, "the count read from the database")
    finally:
        watching.cancel()


def test_serve_refuses_workers_outside_the_range_before_it_makes_anything(tmp_path, capsys):
    from fedgroup.cli import main

    assert main(["serve", "--data-dir", str(tmp_path / "new"), "--workers", "0"]) == 2
    assert "--workers must be between 1 and 32" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()
