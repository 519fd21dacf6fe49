"""`fedgroup demo`: three groups on loopback ports in one process, federating for real.

The crossing campaign (group C) is followed by the tenants (A) and the food bank (B) as coalition partners;
members of A and B pledge to it and C's totals include both groups' aggregates. The food bank (B) publishes a
blueprint of its finished coat drive, and the tenants (A) adopt it. Everything goes over HTTP
between the three servers, exactly as between three hosts."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from aiohttp import web

from fedgroup import actions, store
from fedgroup import config as config_module
from fedgroup.actions import blueprints as blueprint_actions
from fedgroup.app import create_app
from fedgroup.connections import ConnectionLimits, GuardedSite
from fedgroup.logs import AccessLog
from fedgroup.rules import passwords
from fedgroup.rules.campaigns import parse_goal, parse_option
from fedgroup.runtime import RUNTIME, Runtime
from fedgroup.store import datadir


@dataclass(frozen=True)
class DemoGroup:
    key: str
    handle: str
    name: str
    summary: str
    members: tuple[str, ...]


GROUPS = (
    DemoGroup("a", "tenants", "Elm Street Tenants", "The tenants' association of Elm Street 1-40.",
              ("Amira", "Bogdan", "Chen")),
    DemoGroup("b", "foodbank", "Riverside Food Bank", "Mutual aid: food for everyone in Riverside.",
              ("Dara", "Emeka", "Ines")),
    DemoGroup("c", "crossing", "Safe Crossing Now", "Campaigning for a safe crossing at Mill Road school.",
              ("Fatima", "Gus", "Hana")),
)  # fmt: skip
# In each group the first member is an admin, the second an organizer, the others members.
ROLES = ("admin", "organizer")
# Every demo account's password: the demo listens on loopback only and its data is sample data, so one
# known password lets a newcomer try each role at once (and again after a restart with --data-dir).
DEMO_PASSWORD = "demo-password"


def role_of(index: int) -> str:
    return ROLES[index] if index < len(ROLES) else "member"


async def run(data_root: Path | None, first_port: int) -> None:
    """Start (and on first run, seed) the three groups; serve until Ctrl-C."""
    temp = None
    if data_root is None:
        temp = tempfile.TemporaryDirectory(prefix="fedgroup-demo-")
        data_root = Path(temp.name)
    runners: list[web.AppRunner] = []
    try:
        runtimes: dict[str, Runtime] = {}
        fresh = False
        for offset, group in enumerate(GROUPS):
            port = first_port + offset
            data_dir = data_root / group.handle
            if not datadir.exists(data_dir):
                fresh = True
                await datadir.create(
                    data_dir, f"http://127.0.0.1:{port}", group.name, handle=group.handle,
                    summary=group.summary, listen_port=port, totals_update_seconds=2,
                )  # fmt: skip
            config = config_module.load(data_dir)
            app = create_app(config)
            runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=2, access_log_class=AccessLog)
            await runner.setup()
            runners.append(runner)
            try:
                await GuardedSite(
                    runner, ConnectionLimits.of(config), host="127.0.0.1", port=config.listen_port
                ).start()
            except OSError as e:
                raise DemoError(f"port {config.listen_port} is not free ({e.strerror}); try --port") from e
            runtimes[group.key] = app[RUNTIME]
        if fresh:
            await seed(runtimes)
        print_welcome(runtimes, data_root, temporary=temp is not None)
        await wait_for_interrupt()
        print("demo stopping", flush=True)
    finally:
        for runner in runners:
            await runner.cleanup()
        if temp is not None:
            temp.cleanup()


class DemoError(actions.ActionError):
    pass


async def seed(runtimes: dict[str, Runtime]) -> None:
    a, b, c = runtimes["a"], runtimes["b"], runtimes["c"]
    members: dict[str, dict[str, int]] = {}
    password_hash = await asyncio.to_thread(passwords.hash_password, DEMO_PASSWORD)
    for group in GROUPS:
        runtime = runtimes[group.key]
        members[group.key] = {}
        for i, name in enumerate(group.members):
            members[group.key][name] = await actions.add_member(
                runtime, name, role_of(i), None, password_hash
            )

    crossing = await actions.create_campaign(
        c,
        "A safe crossing at Mill Road school",
        "Children cross four lanes of traffic every morning. We are asking the council for a zebra crossing "
        "and need people at the council meeting, hours for leafleting, and money for printing.",
        goals=[parse_goal("people:60"), parse_goal("hours:80"), parse_goal("money:500:EUR")],
        options=[
            parse_option("Come to the meeting=people:1"),
            parse_option("Leaflet for 2 hours=hours:2"),
            parse_option("Give €20=money:20"),
        ],
        deadline=c.now() + timedelta(days=21),
        multiple_choice=True,
    )
    await actions.create_campaign(
        a,
        "Fix the heating before winter",
        "Flats 12-30 have had no heating since October. We are collecting signatures and evidence.",
        goals=[parse_goal("people:40"), parse_goal("items:25:photos")],
        options=[parse_option("Sign the letter=people:1"), parse_option("Send a photo=items:1")],
        deadline=a.now() + timedelta(days=14),
    )
    await actions.create_campaign(
        b,
        "Saturday hot meals",
        "Cooking for 120 people every Saturday; we need cooks and ingredients.",
        goals=[parse_goal("hours:30"), parse_goal("items:100:meals")],
        options=[parse_option("Cook for 3 hours=hours:3"), parse_option("Bring 10 meals=items:10")],
    )
    await actions.pledge(c, members["c"]["Fatima"], crossing, option="Come to the meeting")
    await actions.pledge(c, members["c"]["Gus"], crossing, option="Give €20", note="cash at the meeting")
    await seed_money(c, crossing, members["c"])

    c_group = c.ids.group
    for partner in (a, b):
        assert partner.actors is not None
        await actions.follow_group(partner, await partner.actors.actor(c_group))
    for partner in (a, b):
        await _until(lambda p=partner: _partner_campaign_id(p), "a partner campaign to arrive")
        # Safe Crossing Now's organizers accept both as partner groups: their aggregates count.
        await actions.accept_partner(c, partner.ids.group)
    a_campaign = await _partner_campaign_id(a)
    b_campaign = await _partner_campaign_id(b)
    assert a_campaign is not None and b_campaign is not None
    # Three pledges from each group: partners see no count of fewer than three (min_disclosed_count), and
    # the third change releases the batch (partner_release_changes).
    for name in ("Amira", "Bogdan", "Chen"):
        await actions.pledge_to_partner(a, members["a"][name], a_campaign, option="Come to the meeting")
    for name in ("Dara", "Emeka", "Ines"):
        await actions.pledge_to_partner(b, members["b"][name], b_campaign, option="Leaflet for 2 hours")
    await _finished_campaign(a, b, c, members)
    await seed_blueprint(a, b, members["b"])


async def seed_blueprint(a: Runtime, b: Runtime, b_members: dict[str, int]) -> None:
    """The food bank's finished coat drive becomes a blueprint; the tenants adopt it (a draft they edit and
    publish), and the food bank's blueprint page counts them."""
    coats = await actions.create_campaign(
        b,
        "Winter coats for Riverside",
        "Collecting warm coats before the first frost, and sorting them by size.",
        goals=[parse_goal("items:80:coats"), parse_goal("hours:12")],
        options=[parse_option("Bring a coat=items:1"), parse_option("Sort for 2 hours=hours:2")],
    )
    await actions.pledge(b, b_members["Dara"], coats, kind="items", amount="60")
    await actions.pledge(b, b_members["Emeka"], coats, option="Sort for 2 hours")
    for pledge in await b.db.read(store.pledges.pledges_for_campaign, coats):
        await actions.set_fulfilled(b, pledge.id, True)
    await actions.report_outcome(b, coats, "64 coats handed out at the Saturday meal.")
    number = await blueprint_actions.publish_blueprint(
        b, coats, title="A winter coat drive in three weeks",
        summary="Ask at every meal, collect at one place, sort by size on one afternoon.",
        what_worked="A rail of sorted coats at the Saturday meal: people took what fitted.",
        steps=["Announce at the meals", "Collect at the food bank", "Sort by size", "Hand out at a meal"],
        do_differently="Ask for children's sizes first: they ran out.",
    )  # fmt: skip
    draft = await blueprint_actions.adopt_blueprint(a, f"{b.ids.base_url}/blueprints/{number}")
    await blueprint_actions.edit_draft(
        a, draft, title="Winter coats for Elm Street", body="Coats for the block, collected in the hall.",
        goals=[parse_goal("items:30:coats"), parse_goal("hours:6")],
        options=[parse_option("Bring a coat=items:1"), parse_option("Sort for 2 hours=hours:2")],
        deadline=a.now() + timedelta(days=21),
    )  # fmt: skip
    await blueprint_actions.publish_draft(a, draft)

    async def counted() -> bool:
        return bool(await b.db.read(store.blueprints.adoptions, number))

    await _until(counted, "the food bank to count the tenants' adoption")


async def seed_money(runtime: Runtime, campaign_id: int, members: dict[str, int]) -> None:
    """The crossing's money record: cash, a member's own €20, a named sponsor; one expense approved by a
    second organizer, one waiting for approval."""
    fatima, gus = members["Fatima"], members["Gus"]  # the admin and the organizer
    await actions.record_money_received(runtime, campaign_id, fatima, "Cash box at the school fair", "85.50")
    await actions.record_money_received(
        runtime, campaign_id, fatima, "Cash at the meeting", "20", member_name="Gus"
    )
    await actions.record_money_received(
        runtime, campaign_id, fatima, "Cheque", "150", sponsor="Mill Road Bakery"
    )
    printing = await actions.record_expense(
        runtime, campaign_id, fatima, "Printing 500 leaflets", "64.50", receipt="R-014"
    )
    await actions.decide_expense(runtime, campaign_id, printing, gus, approve=True)
    await actions.record_expense(
        runtime, campaign_id, gus, "Banner for the council meeting", "45", receipt="R-015"
    )


async def _finished_campaign(
    a: Runtime, b: Runtime, c: Runtime, members: dict[str, dict[str, int]]
) -> None:
    """A campaign of Safe Crossing Now that is over: pledged beside delivered, per group, on its page."""
    cleanup = await actions.create_campaign(
        c,
        "Spring clean-up of Mill Park",
        "One Saturday morning to clear the park before the children's festival.",
        goals=[parse_goal("people:20"), parse_goal("hours:30")],
        options=[parse_option("Come along=people:1"), parse_option("Bring tools for 2 hours=hours:2")],
    )
    object_id = c.ids.campaign(cleanup)

    async def arrived(runtime: Runtime) -> int | None:
        found = await runtime.db.read(store.campaigns.partner_campaign_by_object, object_id)
        return found.id if found else None

    await _until(lambda: arrived(a), "the clean-up to reach the tenants")
    await _until(lambda: arrived(b), "the clean-up to reach the food bank")
    a_id, b_id = await arrived(a), await arrived(b)
    assert a_id is not None and b_id is not None
    await actions.pledge(c, members["c"]["Hana"], cleanup, option="Come along")
    for name in ("Amira", "Bogdan", "Chen"):
        await actions.pledge_to_partner(a, members["a"][name], a_id, option="Come along")
    for name in ("Dara", "Emeka", "Ines"):
        await actions.pledge_to_partner(b, members["b"][name], b_id, option="Bring tools for 2 hours")
    # The day came: organizers tick who turned up. Two of the tenants came, all three from the food bank.
    for runtime, partner_id, kept in ((a, a_id, 2), (b, b_id, 3)):
        for pledge in (await runtime.db.read(store.pledges.pledges_for_partner_campaign, partner_id))[:kept]:
            await actions.set_fulfilled(runtime, pledge.id, True)
        # The demo cannot wait for the hourly release: it sends what is pending now.
        await actions.release_all_now(runtime)
    hana = (await c.db.read(store.pledges.pledges_for_campaign, cleanup))[0]
    await actions.set_fulfilled(c, hana.id, True)

    async def delivered_arrived() -> bool:
        state = await c.db.read(actions.load_campaign, cleanup)
        assert state is not None
        lines = await c.db.read(actions.contributors, state)
        return sum(1 for line in lines if line.partner and line.delivered) == 2

    await _until(delivered_arrived, "the partners' delivered figures")
    await actions.close_campaign(c, cleanup)
    await actions.report_outcome(c, cleanup, "The park was clean by noon. Thank you, all three groups!")


async def _partner_campaign_id(runtime: Runtime) -> int | None:
    partners = await runtime.db.read(store.campaigns.partner_campaigns)
    return partners[0].id if partners else None


async def _until(check, what: str, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        if loop.time() > deadline:
            raise DemoError(f"the demo timed out waiting for {what}")
        await asyncio.sleep(0.1)


def print_welcome(runtimes: dict[str, Runtime], data_root: Path, temporary: bool) -> None:
    print("fedgroup demo: three groups federating on this machine", flush=True)
    for group in GROUPS:
        runtime = runtimes[group.key]
        print(f"  {group.name:<22} {runtime.config.base_url}/   @{group.handle}@{runtime.config.domain}")
    print(
        "The tenants and the food bank follow Safe Crossing Now as coalition partners and pledge to its"
        " campaign; its page shows their totals and its money record (raised · spent · left and the approved"
        " spending; a second expense waits for approval). The food bank's coat drive is a blueprint the tenants"
        f" adopted: {runtimes['b'].config.base_url}/blueprints/1"
    )
    print(
        f"A finished campaign, pledged beside delivered per group: {runtimes['c'].config.base_url}/campaigns/2"
    )
    print(f"Sign in as any of these (every demo account's password is {DEMO_PASSWORD}):")
    for group in GROUPS:
        accounts = ", ".join(f"{role_of(i)} {name}" for i, name in enumerate(group.members[:3]))
        print(f"  {runtimes[group.key].config.base_url}/login   {accounts}")
    where = "a temporary directory, removed on exit" if temporary else str(data_root)
    print(f"Data: {where}. Ctrl-C stops.", flush=True)


async def wait_for_interrupt() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
