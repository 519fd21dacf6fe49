"""An activity whose handler fails is tried again (backoff from the shared retry policy), given up past its
age and kept for the operator, who can put it back; a vote retried after a partial run is counted once.

The injected failures go through a real seam: `InboxProcessor(runtime, handlers=...)` takes the table of
handlers, and these tests register the real vote handler wrapped in one that fails on chosen attempts:
inside the database writer (its transaction rolls back), after the real handler's writes committed (the
"done" mark never written), or by running past the handler timeout.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
from datetime import UTC, datetime, timedelta

from fedgroup import actions, store
from fedgroup.actions.context import Context
from fedgroup.actions.inbox import HANDLERS, Handler, InboxProcessor
from fedgroup.net.retry import RetryPolicy
from fedgroup.protocol.parse import Activity
from fedgroup.rules.campaigns import parse_goal, parse_option
from tests.conftest import EVENT_TIMEOUT, eventually, inbox_handled, run_cli
from tests.test_coalition import vote
from tests.test_web import PASSWORD, web  # noqa: F401, F811 - the fixture

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
QUICK = RetryPolicy(base_delay=timedelta(milliseconds=50), jitter=0)


# -- the policy, pure --------------------------------------------------------------------------------


def test_the_policy_doubles_caps_jitters_down_and_gives_up_at_its_age():
    policy = RetryPolicy(base_delay=timedelta(seconds=10), factor=3, cap=timedelta(minutes=5), jitter=0)
    delays = [policy.next_attempt(n, T0, T0) - T0 for n in (1, 2, 3, 4, 5)]
    assert delays == [timedelta(seconds=s) for s in (10, 30, 90, 270, 300)]
    jittery = RetryPolicy(base_delay=timedelta(seconds=100), jitter=0.2)
    rng = random.Random(7)
    seen = {(jittery.next_attempt(1, T0, T0, rng) - T0).total_seconds() for _ in range(200)}
    assert min(seen) >= 80 and max(seen) <= 100 and len(seen) > 100, "spread below the delay, never above"
    # Past the give-up age: None; just before it, the retry lands on the age, never after.
    assert policy.next_attempt(9, T0, T0 + policy.give_up_after) is None
    almost = T0 + policy.give_up_after - timedelta(seconds=1)
    assert policy.next_attempt(9, T0, almost) == T0 + policy.give_up_after
    # A wait the other side asked for is honoured when longer, up to the cap.
    assert policy.next_attempt(1, T0, T0, at_least=timedelta(minutes=1)) == T0 + timedelta(minutes=1)
    assert policy.next_attempt(1, T0, T0, at_least=timedelta(days=1)) == T0 + policy.cap


# -- the processor, against a live server -------------------------------------------------------------


async def _server_with_a_poll(make_server, peer):
    server = await make_server()
    runtime = server.runtime
    campaign_id = await actions.create_campaign(
        runtime, "Come", "b", goals=[parse_goal("people:9")], options=[parse_option("Come=people:1")]
    )
    bob = peer.add_actor("bob", "peer-2")
    return server, runtime, campaign_id, bob


async def _replace_processor(runtime, handlers: dict[str, Handler], **options) -> None:
    await runtime.inbox.stop()
    runtime.inbox = InboxProcessor(runtime, handlers, **options)
    runtime.inbox.start()


class DownOnce:
    """A Create handler whose first run fails as if a partner's server were down; later runs handle it."""

    def __init__(self, error: str) -> None:
        self.error, self.calls = error, 0

    async def __call__(self, context: Context, activity: Activity) -> None:
        self.calls += 1
        if self.calls == 1:
            raise ConnectionError(self.error)
        await HANDLERS["Create"](context, activity)


async def _give_up_at_first_failure(runtime, error: str) -> DownOnce:
    """A processor whose Create handler fails once, with a policy that gives up at the first failure: the row
    is kept, with its error, for the operator."""
    down = DownOnce(error)
    await _replace_processor(
        runtime, {**HANDLERS, "Create": down}, retry_policy=RetryPolicy(give_up_after=timedelta(0))
    )
    return down


async def _votes(runtime, campaign_id: int) -> int:
    return await runtime.db.scalar("SELECT COUNT(*) FROM votes WHERE campaign_id = ?", (campaign_id,))


async def _row(runtime, activity_id: str):
    return await runtime.db.fetchone(
        "SELECT state, attempts, error FROM inbox_activities WHERE id = ?", (activity_id,)
    )


async def test_a_vote_failing_twice_mid_handler_is_counted_once_on_the_third_attempt(make_server, peer):
    server, runtime, campaign_id, bob = await _server_with_a_poll(make_server, peer)
    attempts = 0

    async def flaky_create(context: Context, activity: Activity) -> None:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            # The writer's work dies mid-handler: the vote is written, then the job fails in the same
            # transaction (as a locked campaign row would), and the writer rolls it back.
            def vote_then_fail(conn: sqlite3.Connection) -> None:
                option = store.campaigns.options(conn, campaign_id)[0].id
                store.pledges.add_vote(conn, campaign_id, option, activity.actor, "injected", False, T0)
                raise sqlite3.OperationalError("database is locked (injected)")

            await context.db.write(vote_then_fail)
        await HANDLERS["Create"](context, activity)
        if attempts == 2:
            # The real handler's writes committed; the failure comes before the row is marked done.
            raise RuntimeError("injected after the vote was stored")

    await _replace_processor(runtime, {**HANDLERS, "Create": flaky_create}, retry_policy=QUICK)
    doc = vote(bob, server.url(f"/campaigns/{campaign_id}"), runtime.ids.group, "Come")
    assert (await peer.post(bob, server.url("/groups/water/inbox"), doc))[0] == 202

    async def done_on_the_third():
        # Not just "done": the real handler marks the row done in its own write, so between the second
        # attempt's commit and the processor recording that attempt's failure the row reads "done" for a
        # moment (a loaded machine showed it: attempts was 2). The third attempt is the event to wait for.
        row = await _row(runtime, doc["id"])
        return attempts == 3 and row is not None and row[0] == "done"

    await eventually(done_on_the_third)
    assert (await _row(runtime, doc["id"]))[1] == 2, "two failed attempts were recorded"
    assert await _votes(runtime, campaign_id) == 1
    state = await runtime.db.read(actions.load_campaign, campaign_id)
    assert state.tally.option_counts == (("Come", 1),), "the tally counts the vote once"


async def test_an_activity_is_handled_once_its_handler_has_returned_not_once_its_row_reads_done(
    make_server, peer
):
    """A handler commits the row's "done" together with its changes, then may go on (a log line, waking a
    worker). The processor holds the activity until the handler has returned, and tests wait for that
    (`conftest.inbox_handled`): the suite under load once read "done", asserted the handler's log line, and
    failed because the line came a moment later."""
    server, runtime, campaign_id, bob = await _server_with_a_poll(make_server, peer)
    committed, release = asyncio.Event(), asyncio.Event()

    async def create_then_wait(context: Context, activity: Activity) -> None:
        await HANDLERS["Create"](context, activity)  # counts the vote and marks the row done, in one commit
        committed.set()
        await release.wait()

    await _replace_processor(runtime, {**HANDLERS, "Create": create_then_wait})
    doc = vote(bob, server.url(f"/campaigns/{campaign_id}"), runtime.ids.group, "Come")
    assert (await peer.post(bob, server.url("/groups/water/inbox"), doc))[0] == 202
    await asyncio.wait_for(committed.wait(), EVENT_TIMEOUT)
    assert await runtime.db.read(store.inbox.state_of, doc["id"]) == "done"
    assert runtime.inbox.holds(doc["id"])
    assert await inbox_handled(runtime, doc["id"]) is None, "its handler has not returned yet"
    release.set()
    assert await eventually(lambda: inbox_handled(runtime, doc["id"])) == "done"
    assert not runtime.inbox.holds(doc["id"])
    assert await _votes(runtime, campaign_id) == 1


async def test_a_handler_past_its_timeout_is_retried(make_server, peer):
    server, runtime, campaign_id, bob = await _server_with_a_poll(make_server, peer)
    never = asyncio.Event()
    calls = 0

    async def stuck_once(context: Context, activity: Activity) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            await never.wait()  # a remote key fetch that hangs
        await HANDLERS["Create"](context, activity)

    await _replace_processor(
        runtime, {**HANDLERS, "Create": stuck_once}, retry_policy=QUICK, handler_timeout=0.2
    )
    doc = vote(bob, server.url(f"/campaigns/{campaign_id}"), runtime.ids.group, "Come")
    assert (await peer.post(bob, server.url("/groups/water/inbox"), doc))[0] == 202

    async def done():
        row = await _row(runtime, doc["id"])
        return row is not None and row[0] == "done" and row

    assert (await eventually(done))[1] == 1
    assert calls == 2 and await _votes(runtime, campaign_id) == 1


async def test_a_given_up_activity_is_kept_shown_and_can_be_retried(make_server, peer):
    server, runtime, campaign_id, bob = await _server_with_a_poll(make_server, peer)
    # A policy that gives up at the first failure: the row is kept, with its error.
    down = await _give_up_at_first_failure(runtime, "injected: the campaign's partner is down")
    doc = vote(bob, server.url(f"/campaigns/{campaign_id}"), runtime.ids.group, "Come")
    assert (await peer.post(bob, server.url("/groups/water/inbox"), doc))[0] == 202

    async def given_up():
        row = await _row(runtime, doc["id"])
        return row is not None and row[0] == "failed" and row

    state, tried, error = await eventually(given_up)
    assert tried == 1 and "injected" in error
    assert await _votes(runtime, campaign_id) == 0
    data_dir = str(server.config.data_dir)
    status = await run_cli("status", "--data-dir", data_dir)
    assert status.returncode == 0, status.stderr
    assert "inbox" in status.stdout and "given up: 1" in status.stdout, status.stdout
    assert doc["id"] in status.stdout and "ConnectionError" in status.stdout

    again = await run_cli("inbox", "retry", doc["id"], "--data-dir", data_dir)
    assert again.returncode == 0, again.stderr
    runtime.inbox.wake()

    async def done():
        row = await _row(runtime, doc["id"])
        return row is not None and row[0] == "done"

    await eventually(done)
    assert down.calls == 2 and await _votes(runtime, campaign_id) == 1
    status = await run_cli("status", "--data-dir", data_dir)
    assert "given up: 0" in status.stdout, status.stdout


async def test_an_admin_sees_the_queues_and_retries_a_given_up_activity(web, peer):  # noqa: F811
    server, ids, client = web
    runtime = server.runtime
    campaign_id = await actions.create_campaign(
        runtime, "Come", "b", goals=[parse_goal("people:9")], options=[parse_option("Come=people:1")]
    )
    bob = peer.add_actor("bob", "peer-2")
    down = await _give_up_at_first_failure(runtime, "injected: down")
    doc = vote(bob, server.url(f"/campaigns/{campaign_id}"), runtime.ids.group, "Come")
    assert (await peer.post(bob, server.url("/groups/water/inbox"), doc))[0] == 202

    async def state_is(wanted: str):
        row = await _row(runtime, doc["id"])
        return row is not None and row[0] == wanted

    await eventually(lambda: state_is("failed"))
    organizer = client()
    await organizer.sign_in("Olu Organizer", PASSWORD)
    assert (await organizer.get("/admin/queues")).status == 403
    admin = client()
    await admin.sign_in("Ada Admin", PASSWORD)
    page = await admin.get("/admin/queues")
    assert page.status == 200 and doc["id"] in page.text and "ConnectionError: injected: down" in page.text
    retried = await admin.post("/admin/queues/retry", {"activity": doc["id"]}, csrf_from="/admin/queues")
    assert retried.status == 200 and retried.url.endswith("/admin/queues?done=retried")
    await eventually(lambda: state_is("done"))
    assert down.calls == 2 and await _votes(runtime, campaign_id) == 1
    assert "Nothing was given up." in (await admin.get("/admin/queues")).text


async def test_a_stale_copy_of_an_activity_given_up_does_not_run_it_again(make_server, peer):
    """The inbox hands what it stored to the processor, and the processor also reads the queue: both may hold
    the same row. Once the row is recorded as given up (or to be retried later), the other copy must not run it
    again at once: the row stays given up, for the operator, and its handler ran once."""
    server, runtime, campaign_id, bob = await _server_with_a_poll(make_server, peer)
    down = await _give_up_at_first_failure(runtime, "injected: down")
    doc = vote(bob, server.url(f"/campaigns/{campaign_id}"), runtime.ids.group, "Come")
    assert (await peer.post(bob, server.url("/groups/water/inbox"), doc))[0] == 202
    assert await eventually(lambda: inbox_handled(runtime, doc["id"])) == "failed"
    # The other copy, as it was when the row arrived (no failed attempt yet), reaches the processor now.
    row = await runtime.db.fetchone(
        "SELECT id, actor, type, document, received_at FROM inbox_activities WHERE id = ?", (doc["id"],)
    )
    runtime.inbox.take([store.inbox.StoredActivity(*row, attempts=0)])

    async def looked_at() -> bool:
        return runtime.inbox.waiting_parsed[0] == 0

    await eventually(looked_at)  # the processor has taken it from the hand-over
    assert await eventually(lambda: inbox_handled(runtime, doc["id"])) == "failed"
    assert down.calls == 1 and await _votes(runtime, campaign_id) == 0


async def test_a_vote_and_its_done_mark_commit_in_one_transaction(make_server, peer):
    """Once the vote's write commits, its activity is already done: a crash before the processor records
    its batch cannot make it run again. Observed from inside the handler, between its write and its return."""
    server, runtime, campaign_id, bob = await _server_with_a_poll(make_server, peer)
    seen: list[str | None] = []

    async def observed_create(context: Context, activity: Activity) -> None:
        seen.append(await context.db.read(store.inbox.state_of, activity.id))
        await HANDLERS["Create"](context, activity)
        seen.append(await context.db.read(store.inbox.state_of, activity.id))

    await _replace_processor(runtime, {**HANDLERS, "Create": observed_create}, retry_policy=QUICK)
    doc = vote(bob, server.url(f"/campaigns/{campaign_id}"), runtime.ids.group, "Come")
    assert (await peer.post(bob, server.url("/groups/water/inbox"), doc))[0] == 202

    async def done():
        row = await _row(runtime, doc["id"])
        return row is not None and row[0] == "done" and len(seen) == 2

    await eventually(done)
    assert seen == ["pending", "done"]
    assert await _votes(runtime, campaign_id) == 1
