"""Mail to members, read from a real SMTP server on loopback (aiosmtpd): each kind of notification, digests
and breaks on a movable clock, the weekly limit of calls, one-click unsubscribe without signing in, an SMTP
outage (nothing lost, nothing twice), a permanent refusal shown to admins, password reset by mail, and the
addresses kept out of every log line, page and request but the member's own Account."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from fedgroup import actions, store
from fedgroup.rules import notifications, passwords
from fedgroup.rules.campaigns import parse_goal, parse_option
from fedgroup.runtime import close_runtime, open_runtime
from tests.conftest import MovableClock, eventually, run_cli
from tests.smtp_catcher import Arrived, SmtpCatcher
from tests.test_crash_safety import ServerProcess, make_data_dir, query, wait_until
from tests.web_client import WebClient

PASSWORD = "correct horse battery"


@pytest.fixture
def smtp() -> Iterator[SmtpCatcher]:
    catcher = SmtpCatcher().start()
    yield catcher
    catcher.stop()


async def add_member(runtime, name: str, email: str | None, role: str = "member", **prefs) -> int:
    member_id = await actions.add_member(runtime, name, role, email, passwords.hash_password(PASSWORD))
    if prefs:
        values = {"kinds": list(notifications.KINDS), "delivery": "now", "break_until": "", "break_keeps": [],
                  "asks_per_week": "2"} | prefs  # fmt: skip
        chosen = notifications.make_preferences(
            values["kinds"],
            values["delivery"],
            values["break_until"],
            values["break_keeps"],
            values["asks_per_week"],
        )
        await actions.save_mail_preferences(runtime, member_id, email or "", chosen)
    return member_id


async def arrivals(smtp: SmtpCatcher, count: int, to: str | None = None) -> list[Arrived]:
    async def enough():
        found = smtp.messages(to)
        return found if len(found) >= count else None

    return await eventually(enough, timeout=20)


async def create(runtime, title: str, **options) -> int:
    return await actions.create_campaign(runtime, title, "Body of " + title, goals=[parse_goal("people:10")],
                                         options=[parse_option("Come=people:1")], **options)  # fmt: skip


async def test_a_new_campaign_is_mailed_as_text_and_html_with_one_click_unsubscribe(make_server, smtp):
    server = await make_server(**smtp.settings)
    await add_member(server.runtime, "Ana", "ana@mail.test")
    await add_member(server.runtime, "Ben", None)  # no address: nothing for him
    campaign_id = await create(server.runtime, "Fix the heating")

    [mail] = await arrivals(smtp, 1)
    assert mail.recipients == ["ana@mail.test"] and mail.sender == "group@mail.test"
    message = mail.message
    assert "Fix the heating" in mail.subject
    assert server.url(f"/campaigns/{campaign_id}") in mail.text()
    assert server.url(f"/campaigns/{campaign_id}") in mail.html()
    # Nothing loaded from anywhere: no images, no remote styles, no tracking pixels.
    assert "<img" not in mail.html() and "src=" not in mail.html() and "<link" not in mail.html()
    assert re.fullmatch(r"<[0-9a-f]{32}@127\.0\.0\.1>", mail.message_id)
    unsubscribe = str(message["List-Unsubscribe"])
    assert unsubscribe.startswith("<" + server.url("/unsubscribe/")) and unsubscribe.endswith(">")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # The GET page changes nothing and offers the button; the one-click POST needs no session and no token.
    url = unsubscribe[1:-1]
    async with aiohttp.ClientSession() as anonymous:
        async with anonymous.get(url) as page:
            assert page.status == 200 and "Unsubscribe</button>" in await page.text()
        ana = await server.runtime.db.read(store.members.by_name, "Ana")
        assert (await actions.mail_preferences(server.runtime, ana.id)).wants("new_campaign")
        async with anonymous.post(url, data={"List-Unsubscribe": "One-Click"}) as done:
            assert done.status == 200 and "no longer get" in await done.text()
        async with anonymous.post(url[:-3] + "abc", data={"List-Unsubscribe": "One-Click"}) as forged:
            assert forged.status == 404
    prefs = await actions.mail_preferences(server.runtime, ana.id)
    assert not prefs.wants("new_campaign") and prefs.wants("outcome")  # only that kind
    await create(server.runtime, "Second campaign")
    await actions.notice_events(server.runtime)
    await actions.dispatch_due(server.runtime)
    assert len(smtp.messages()) == 1


async def test_smtp_down_then_up_loses_nothing_and_sends_nothing_twice(make_server, smtp):
    server = await make_server(**smtp.settings)
    smtp.stop()  # the relay is down
    for name in ("Ana", "Ben", "Cem"):
        await add_member(server.runtime, name, f"{name.lower()}@mail.test")
    await create(server.runtime, "During the outage")

    async def all_retrying():
        counts = await server.runtime.db.read(store.mail.counts)
        return counts.retrying == 3 and counts.pending == 0

    await eventually(all_retrying, timeout=20)
    status = await run_cli("status", "--data-dir", str(server.config.data_dir))
    assert "mail: pending: 0  retrying: 3  sent: 0" in status.stdout
    smtp.start()  # back, on the same port
    mails = await arrivals(smtp, 3)

    async def all_sent():
        return (await server.runtime.db.read(store.mail.counts)).sent == 3

    await eventually(all_sent)
    assert sorted(m.recipients[0] for m in mails) == ["ana@mail.test", "ben@mail.test", "cem@mail.test"]
    assert len({m.message_id for m in mails}) == 3 == len(smtp.messages())


async def test_a_permanent_refusal_ends_the_row_and_admins_see_it_without_the_address(
    make_server, smtp, caplog
):
    caplog.set_level(logging.DEBUG, logger="fedgroup")
    smtp.refuse.add("gone@mail.test")
    server = await make_server(**smtp.settings)
    await add_member(server.runtime, "Admin", None, role="admin")
    await add_member(server.runtime, "Gone", "gone@mail.test")
    await add_member(server.runtime, "Here", "here@mail.test")
    await create(server.runtime, "Bounce test")
    await arrivals(smtp, 1)

    async def refused():
        return (await server.runtime.db.read(store.mail.counts)).failed == 1

    await eventually(refused)
    admin = WebClient(server.base_url)
    try:
        await admin.sign_in("Admin", PASSWORD)
        page = await admin.get("/admin/queues")
    finally:
        await admin.close()
    assert "Mail refused" in page.text and "Gone" in page.text and "550" in page.text
    assert "gone@mail.test" not in page.text
    status = await run_cli("status", "--data-dir", str(server.config.data_dir))
    assert "refused: 1" in status.stdout and "mail refused: to Gone" in status.stdout
    assert "gone@mail.test" not in status.stdout
    assert "gone@mail.test" not in caplog.text
    # Not tried again.
    row = await server.runtime.db.fetchone("SELECT attempts, state FROM mail_queue WHERE state = 'failed'")
    assert tuple(row) == (1, "failed")


def _utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def _clock_at(moment: datetime) -> MovableClock:
    clock = MovableClock(stands_still=True)
    clock.advance(moment - clock())
    return clock


async def test_daily_and_weekly_digests_in_the_group_time_zone(make_server, smtp):
    # Wednesday 2030-01-02 10:00 UTC; the group is in Berlin (UTC+1 in winter): digests at 07:00 local.
    clock = _clock_at(_utc(2030, 1, 2, 10))
    server = await make_server(app_options={"clock": clock}, **smtp.settings)
    await server.runtime.db.write(lambda conn: store.site.set_timezone(conn, "Europe/Berlin"))
    await server.runtime.reload_site()
    await add_member(server.runtime, "Daily", "daily@mail.test", delivery="daily")
    await add_member(server.runtime, "Weekly", "weekly@mail.test", delivery="weekly")
    await add_member(server.runtime, "Now", "now@mail.test")
    await create(server.runtime, "First")
    await create(server.runtime, "Second")
    await arrivals(smtp, 2, to="now@mail.test")

    async def waiting(name: str) -> int:
        member = await server.runtime.db.read(store.members.by_name, name)
        return len(await server.runtime.db.read(store.mail.waiting_items, member.id))

    await eventually(lambda: _equals(waiting("Daily"), 2))
    await eventually(lambda: _equals(waiting("Weekly"), 2))
    assert smtp.messages("daily@mail.test") == []
    # Thursday 06:00 UTC = 07:00 in Berlin: the daily digest, both campaigns in one mail.
    clock.advance(_utc(2030, 1, 3, 6, 1) - clock())
    [daily] = await arrivals(smtp, 1, to="daily@mail.test")
    assert daily.subject.endswith("2 updates") and "First" in daily.text() and "Second" in daily.text()
    assert await waiting("Weekly") == 2 and smtp.messages("weekly@mail.test") == []
    # Monday 2030-01-07 06:00 UTC: the weekly one.
    clock.advance(_utc(2030, 1, 7, 6, 1) - clock())
    [weekly] = await arrivals(smtp, 1, to="weekly@mail.test")
    assert "First" in weekly.text() and "Second" in weekly.text()
    assert len(smtp.messages("daily@mail.test")) == 1


async def _equals(value, expected) -> bool:
    return (await value) == expected


async def test_a_break_holds_everything_but_what_is_kept_and_delivers_it_after(make_server, smtp):
    clock = _clock_at(_utc(2030, 1, 2, 10))
    server = await make_server(app_options={"clock": clock}, **smtp.settings)
    await add_member(
        server.runtime, "Resting", "rest@mail.test", break_until="2030-01-05", break_keeps=["outcome"]
    )
    await add_member(server.runtime, "Pledger", "p@mail.test")
    resting = await server.runtime.db.read(store.members.by_name, "Resting")
    campaign_id = await create(server.runtime, "Held news")
    await actions.pledge(server.runtime, resting.id, campaign_id, option="Come")
    await arrivals(smtp, 1, to="p@mail.test")
    await actions.close_campaign(server.runtime, campaign_id)
    await actions.report_outcome(server.runtime, campaign_id, "We won the repairs.")
    # The outcome is kept during the break: it arrives now, alone.
    [outcome] = await arrivals(smtp, 1, to="rest@mail.test")
    assert "outcome" in outcome.subject and "We won the repairs." in outcome.text()
    assert len(await server.runtime.db.read(store.mail.waiting_items, resting.id)) == 2  # new + reminder
    # 2030-01-05 00:00 UTC: the break is over, the held news comes as one mail.
    clock.advance(_utc(2030, 1, 5, 0, 1) - clock())
    mails = await arrivals(smtp, 2, to="rest@mail.test")
    back = mails[1]
    assert "While you were away" in back.text() and "Held news" in back.text() and "fulfil" in back.text()


async def test_calls_respect_each_members_weekly_limit_and_say_how_many_were_held_back(make_server, smtp):
    clock = _clock_at(_utc(2030, 1, 2, 10))
    server = await make_server(app_options={"clock": clock}, **smtp.settings)
    organizer = await add_member(server.runtime, "Org", None, role="organizer")
    await add_member(server.runtime, "One", "one@mail.test", asks_per_week="1")
    await add_member(server.runtime, "Three", "three@mail.test", asks_per_week="3")
    await add_member(server.runtime, "Resting", "rest@mail.test", break_until="2030-02-01")
    first = await actions.send_call(server.runtime, organizer, "Saturday", "We need 5 more people.", "all")
    assert (first.reached, first.held_back, first.without_address) == (2, 1, 1)
    second = await actions.send_call(server.runtime, organizer, "Sunday too", "And Sunday.", "all")
    assert (second.reached, second.held_back) == (1, 2)
    await arrivals(smtp, 3)
    assert len(smtp.messages("one@mail.test")) == 1 and len(smtp.messages("three@mail.test")) == 2
    assert smtp.messages("rest@mail.test") == []
    # A week later the limit counts afresh.
    clock.advance(timedelta(days=7, minutes=1))
    third = await actions.send_call(server.runtime, organizer, "Next week", "Again.", "all")
    assert (third.reached, third.held_back) == (2, 1)

    # The organizer's page: counts, never names or who is on a break.
    web = WebClient(server.base_url)
    try:
        await web.sign_in("Org", PASSWORD)
        page = await web.get("/organize/mail")
        assert "3 of 4 members have an email address" in page.text
        assert "Resting" not in page.text and "rest@mail.test" not in page.text
        sent = await web.post("/organize/mail/call", {"subject": "By web", "body": "Hello", "audience": "all"},
                              csrf_from="/organize/mail")  # fmt: skip
        assert sent.status == 200 and "By web" in sent.text
        assert re.search(
            r"<strong>By web</strong> to all: reached <span[^>]*>\d+</span>, held back", sent.text
        )
    finally:
        await web.close()


async def test_reminder_closing_soon_and_partner_campaign_kinds(make_server, smtp, peer):
    clock = _clock_at(datetime.now(UTC).replace(microsecond=0))
    c = await make_server("c", handle="crossing", app_options={"clock": clock}, **smtp.settings)
    a = await make_server("a", handle="tenants", **smtp.settings)
    pledger = await add_member(c.runtime, "Pia", "pia@mail.test", kinds=["closing", "reminder"])
    await add_member(a.runtime, "Ada", "ada@mail.test", kinds=["partner"])
    # A follows C: C's campaigns arrive at A as a partner group's campaigns.
    c_group = c.url("/groups/crossing")
    await actions.follow_group(a.runtime, await a.runtime.actors.actor(c_group))

    async def a_accepted():
        following = await a.runtime.db.read(store.follows.following_of, c_group)
        return following is not None and following.state == "accepted"

    await eventually(a_accepted)
    campaign_id = await create(c.runtime, "Crossing days", deadline=clock() + timedelta(days=5))
    await actions.pledge(c.runtime, pledger, campaign_id, option="Come")
    [partner] = await arrivals(smtp, 1, to="ada@mail.test")
    assert "partner group" in partner.subject and "Crossing days" in partner.subject
    assert a.url("/partners/") in partner.text()
    assert smtp.messages("pia@mail.test") == []  # she did not choose new campaigns
    clock.advance(timedelta(days=4))  # a day before the deadline
    [closing] = await arrivals(smtp, 1, to="pia@mail.test")
    assert (
        "closes" in closing.subject and "short of its goal" in closing.subject and "1 of 10" in closing.text()
    )
    clock.advance(timedelta(days=1, minutes=1))  # past the deadline: closed by the scheduler
    mails = await arrivals(smtp, 2, to="pia@mail.test")
    assert "fulfil your pledge" in mails[1].subject


async def test_forgot_password_mails_a_one_time_link_and_never_says_whether_the_address_exists(
    make_server, smtp
):
    server = await make_server(**smtp.settings)
    await add_member(server.runtime, "Ana", "ana@mail.test")
    browser = WebClient(server.base_url)
    try:
        login = await browser.get("/login")
        assert 'href="/forgot"' in login.text
        known = await browser.post("/forgot", {"who": "ANA@mail.test"})
        unknown = await browser.post("/forgot", {"who": "nobody@mail.test"})
        assert known.status == unknown.status == 200
        assert known.text.replace("ANA@mail.test", "") == unknown.text.replace("nobody@mail.test", "")
        assert "ana@mail.test" not in known.text.lower()
        [mail] = await arrivals(smtp, 1)
        assert "List-Unsubscribe" not in mail.message
        link = re.search(re.escape(server.url("/reset/")) + r"\S+", mail.text()).group()
        path = link.removeprefix(server.base_url)
        chosen = await browser.post(
            path, {"password": "a brand new password", "password_again": "a brand new password"}
        )
        assert chosen.status == 200 and chosen.url.endswith("/home?done=password")
        again = await browser.get(path)
        assert again.status == 410
        # A second ask right away sends nothing more (one per ten minutes).
        await browser.post("/forgot", {"who": "Ana"})
    finally:
        await browser.close()
    assert await actions.sign_in(server.runtime, "Ana", "a brand new password") is not None
    count = await server.runtime.db.scalar("SELECT COUNT(*) FROM mail_queue")
    assert count == 1


async def test_account_page_sets_the_address_and_choices(make_server, smtp):
    server = await make_server(**smtp.settings)
    await add_member(server.runtime, "Ana", None)
    browser = WebClient(server.base_url)
    try:
        await browser.sign_in("Ana", PASSWORD)
        page = await browser.get("/account/mail")
        assert page.status == 200 and 'name="email"' in page.text
        bad = await browser.post("/account/mail", [("email", "not an address"), ("delivery", "now"),
                                                   ("asks_per_week", "2")])  # fmt: skip
        assert bad.status == 422 and "does not look like an email address" in bad.text
        saved = await browser.post(
            "/account/mail",
            [("email", "ana@mail.test"), ("kinds", "outcome"), ("delivery", "weekly"), ("asks_per_week", "0"),
             ("break_until", "2031-01-01"), ("keeps", "call")],
        )  # fmt: skip
        assert saved.status == 200 and saved.url.endswith("/account/mail?done=saved")
        assert 'value="ana@mail.test"' in saved.text
    finally:
        await browser.close()
    ana = await server.runtime.db.read(store.members.by_name, "Ana")
    prefs = await actions.mail_preferences(server.runtime, ana.id)
    assert prefs.kinds == {"outcome"} and prefs.delivery == "weekly" and prefs.asks_per_week == 0
    assert str(prefs.break_until) == "2031-01-01" and prefs.break_keeps == {"call"}


@pytest.fixture
async def servers() -> AsyncIterator[list[ServerProcess]]:
    """Every `fedgroup serve` process a test starts is killed at teardown, whatever the test did."""
    started: list[ServerProcess] = []
    yield started
    for server in started:
        await server.close()


async def test_kill_9_in_the_middle_of_sending_then_restart_loses_nothing(tmp_path, test_keys, servers, smtp):
    """`fedgroup serve` as a real process, killed with SIGKILL while it sends 20 mails one by one (the SMTP
    server takes each recipient slowly), then started again: every mail arrives, each under its own fixed
    Message-ID. SMTP leaves one window open (between the server's 250 and our write marking the row sent), so
    at most the one mail in flight may arrive a second time, under the same Message-ID, which mail systems
    drop as a repeat."""
    smtp.rcpt_delay = 0.05
    config = await make_data_dir(tmp_path / "data", test_keys, **smtp.settings)
    runtime = await open_runtime(config)
    try:
        for n in range(20):
            await actions.add_member(runtime, f"Member {n}", "member", f"m{n}@mail.test")
    finally:
        await close_runtime(runtime)
    server = ServerProcess(config, tmp_path)
    servers.append(server)
    await server.start()
    made = await run_cli("campaign", "create", "--data-dir", str(config.data_dir), "--title", "Flood relief",
                         "--body", "Sandbags at noon", "--goal", "people:20")  # fmt: skip
    assert made.returncode == 0, made.stderr
    await wait_until(lambda: len(smtp.messages()) >= 5, "five mails arrived")
    server.kill()
    await server.wait()
    assert len(smtp.messages()) < 20, "the kill came after everything was sent: the test proved nothing"
    await server.start()
    await wait_until(lambda: len({m.message_id for m in smtp.messages()}) == 20, "every mail arrived")

    async def all_sent():
        return (await query(config, "SELECT COUNT(*) FROM mail_queue WHERE state = 'sent'"))[0][0] == 20

    await wait_until(all_sent, "every row marked sent")
    queued = {row[0] for row in await query(config, "SELECT message_id FROM mail_queue")}
    arrived = [m.message_id for m in smtp.messages()]
    assert set(arrived) == queued and len(queued) == 20
    assert len(arrived) - len(set(arrived)) <= 1
    assert {r for m in smtp.messages() for r in m.recipients} == {f"m{n}@mail.test" for n in range(20)}


async def test_addresses_appear_nowhere_but_the_members_own_account(make_server, smtp, peer, caplog):
    """Canary addresses through every mail flow: none in a log line, a federated request, a public or
    organizer or admin page, or a mail to anyone else."""
    for name in ("fedgroup", "aiohttp"):
        caplog.set_level(logging.DEBUG, logger=name)
    canary, bounced = "canary.q7zt@mail.test", "canary.bounce.w3mx@mail.test"
    smtp.refuse.add(bounced)
    server = await make_server(**smtp.settings)
    follower = peer.add_actor("alice", "peer-1")
    follow = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{follower.id}/follows/1",
              "type": "Follow", "actor": follower.id, "object": server.url("/groups/water")}  # fmt: skip
    assert (await peer.post(follower, server.url("/groups/water/inbox"), follow))[0] == 202
    await peer.wait_for(lambda r: r.json and r.json.get("type") == "Accept")
    await add_member(server.runtime, "Org", None, role="admin")
    canary_id = await add_member(server.runtime, "Quinn", canary)
    await add_member(server.runtime, "Bea", bounced)
    campaign_id = await create(server.runtime, "Canary campaign")
    await actions.pledge(server.runtime, canary_id, campaign_id, option="Come")
    await actions.send_call(server.runtime, 1, "Call", "Come on Saturday", f"campaign:{campaign_id}")
    await arrivals(smtp, 2, to=canary)
    await actions.report_outcome(server.runtime, campaign_id, "Done.")
    await arrivals(smtp, 4, to=canary)  # + reminder and outcome

    async def bounce_recorded():
        return (await server.runtime.db.read(store.mail.counts)).failed >= 1

    await eventually(bounce_recorded)
    organizer, quinn = WebClient(server.base_url), WebClient(server.base_url)
    pages = {}
    try:
        await organizer.sign_in("Org", PASSWORD)
        for path in ("/organize", "/organize/mail", f"/organize/campaigns/{campaign_id}", "/admin/queues",
                     "/admin/members", "/home", f"/campaigns/{campaign_id}", "/groups/water", "/account"):  # fmt: skip
            pages[path] = (await organizer.get(path)).text
        await quinn.sign_in("Quinn", PASSWORD)
        own = await quinn.get("/account/mail")
        assert canary in own.text  # the one place it shows
        for path in ("/home", "/account", f"/campaigns/{campaign_id}"):
            pages["quinn " + path] = (await quinn.get(path)).text
        await quinn.post("/forgot", {"who": canary}, csrf_from="/forgot")
    finally:
        await organizer.close()
        await quinn.close()
    async with aiohttp.ClientSession() as anonymous:
        for path in ("/", f"/campaigns/{campaign_id}", "/groups/water/outbox?page=true"):
            async with anonymous.get(server.url(path), headers={"Accept": "application/activity+json"}) as r:
                pages["json " + path] = await r.text()
    status = await run_cli("status", "--data-dir", str(server.config.data_dir))
    await peer.wait_for(lambda r: r.json and r.json.get("type") == "Create")  # federation did happen
    for address in (canary, bounced):
        for where, text in pages.items():
            assert address not in text, where
        assert address not in caplog.text
        assert address not in status.stdout + status.stderr
        for (document,) in await server.runtime.db.fetchall("SELECT document FROM outbox_activities"):
            assert address not in document
        for request in peer.received:
            assert address.encode() not in (request.body or b"")
        for mail in smtp.messages():
            if address not in mail.recipients:
                assert address.encode() not in mail.raw


async def test_commands_check_the_settings_and_send_a_call(make_server, smtp):
    server = await make_server(**smtp.settings)
    data_dir = str(server.config.data_dir)
    await add_member(server.runtime, "Org", None, role="organizer")
    await add_member(server.runtime, "Ana", "ana@mail.test")
    tested = await run_cli("mail", "test", "--to", "ops@mail.test", "--data-dir", data_dir)
    assert tested.returncode == 0 and "sent through 127.0.0.1" in tested.stdout, tested.stderr
    [check] = await arrivals(smtp, 1, to="ops@mail.test")
    assert "test message" in check.subject
    called = await run_cli("mail", "call", "--by", "Org", "--subject", "Saturday", "--body", "We need you",
                           "--to", "all", "--data-dir", data_dir)  # fmt: skip
    assert (
        called.returncode == 0 and "reached 1, held back by their weekly limit or a break 0" in called.stdout
    )
    [call] = await arrivals(smtp, 1, to="ana@mail.test")  # sent by the running server's worker
    assert "Saturday" in call.subject and "We need you" in call.text()
    refused = await run_cli("mail", "call", "--by", "Ana", "--subject", "x", "--body", "y", "--to", "all",
                            "--data-dir", data_dir)  # fmt: skip
    assert refused.returncode == 2 and "not an organizer" in refused.stderr
    smtp.stop()
    down = await run_cli("mail", "test", "--to", "ops@mail.test", "--data-dir", data_dir)
    assert down.returncode == 1 and "did not take it" in down.stderr
    assert (await run_cli("mail", "failed", "--data-dir", data_dir)).stdout.strip() == "no mail was refused"


def _self_signed(tmp_path) -> tuple[str, str]:
    """A certificate for 127.0.0.1 and its key, as files: what a test SMTP server presents over TLS."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = tmp_path / "smtp.pem", tmp_path / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return str(cert_path), str(key_path)


async def test_starttls_and_implicit_tls_with_a_login(make_server, tmp_path, monkeypatch):
    """A provider's setup: STARTTLS on 587 or TLS on 465, a login required, the certificate checked (here
    against our own test authority, through SSL_CERT_FILE as OpenSSL reads it). A wrong password is the
    settings' fault: the mail waits and is retried, it is not refused for good."""
    import ssl

    from aiosmtpd.smtp import AuthResult, LoginPassword

    cert, key = _self_signed(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", cert)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)

    def authenticator(server, session, envelope, mechanism, data) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"group", b"s3cret pass")
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself

    login = {"authenticator": authenticator, "auth_required": True}
    starttls = SmtpCatcher(options={"tls_context": server_tls, "require_starttls": True, **login}).start()
    # aiosmtpd offers AUTH only after its own STARTTLS; on an implicit TLS socket it has to be told it may.
    implicit = SmtpCatcher(options={"ssl_context": server_tls, "auth_require_tls": False, **login}).start()
    try:
        for catcher, security, name in ((starttls, "starttls", "a"), (implicit, "tls", "b")):
            settings = catcher.settings | {"smtp_security": security, "smtp_username": "group",
                                           "smtp_password": "s3cret pass"}  # fmt: skip
            server = await make_server(name=name, **settings)
            await add_member(server.runtime, "Ana", "ana@mail.test")
            await create(server.runtime, f"Over {security}")
            [mail] = await arrivals(catcher, 1)
            assert f"Over {security}" in mail.subject
        wrong = await make_server(name="c", **(starttls.settings | {"smtp_security": "starttls", "smtp_username": "group",
                                                                          "smtp_password": "wrong"}))  # fmt: skip
        await add_member(wrong.runtime, "Ben", "ben@mail.test")
        await create(wrong.runtime, "Wrong password")

        async def retrying():
            row = await wrong.runtime.db.fetchone("SELECT state, attempts, last_error FROM mail_queue")
            return row if row is not None and row[1] >= 1 else None

        state, _attempts, error = await eventually(retrying)
        assert state == "queued" and "535" in error and "check the smtp_" in error
    finally:
        starttls.stop()
        implicit.stop()


def test_the_smtp_password_comes_from_the_environment_and_bad_settings_say_why(tmp_path):
    from fedgroup import config

    (tmp_path / "config.toml").write_text('base_url = "https://g.example"\nsmtp_host = "smtp.example"\n'
                                          'mail_from = "G <g@g.example>"\nsmtp_password = "in the file"\n')  # fmt: skip
    loaded = config.load(tmp_path, {"FEDGROUP_SMTP_PASSWORD": "from the environment"})
    assert loaded.smtp_password == "from the environment" and loaded.mail_enabled
    assert not config.load(tmp_path, {"FEDGROUP_SMTP_HOST": ""}).mail_enabled
    for env, message in (({"FEDGROUP_SMTP_SECURITY": "ssl"}, "smtp_security must be none, starttls or tls"),
                         ({"FEDGROUP_MAIL_FROM": "nobody"}, "mail_from must be an address"),
                         ({"FEDGROUP_SMTP_PORT": "0"}, "smtp_port must be between 1 and 65535")):  # fmt: skip
        with pytest.raises(config.ConfigError, match=message):
            config.load(tmp_path, env)
