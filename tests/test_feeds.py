"""The group's feeds: the public Atom feed and calendar (public campaigns and outcomes, nothing of members),
each member's private feeds behind a secret link they can replace or stop, and "Share on Mastodon".

Feeds are read back as feed readers and calendar apps read them: feedparser and icalendar."""

from __future__ import annotations

import html
import logging
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import feedparser
import icalendar
import pytest

from fedgroup import actions, store
from fedgroup.logs import redacted_path
from fedgroup.rules import feeds as feed_rules
from fedgroup.rules import passwords, share
from fedgroup.rules.campaigns import parse_goal, parse_option
from fedgroup.ui import feeds as feed_documents
from tests.conftest import MovableClock, database_snapshot
from tests.web_client import WebClient

PASSWORD = "correct horse battery"
# Unique strings that must never reach anyone who may not see them (searched in the raw documents).
MEMBERS_ONLY = "Canary members-only rent strike plan"
FOLLOWERS_ONLY = "Canary followers-only phone tree"
DRAFT = "Canary draft not yet published"
MIA_EMAIL = "mia.canary@example.net"
MIA_NOTE = "Canary note: I can bring the van"
DEADLINE = datetime(2027, 1, 15, 17, 0, tzinfo=UTC)  # 18:00 in Madrid (winter, UTC+1)


async def _member(server, name: str, role: str = "member", email: str | None = None) -> int:
    return await actions.add_member(server.runtime, name, role, email, passwords.hash_password(PASSWORD))


async def _campaign(server, title: str, visibility: str = "public", **extra) -> int:
    return await actions.create_campaign(
        server.runtime, title, f"What {title} is about.", goals=[parse_goal("hours:40")],
        options=[parse_option("Two hours=hours:2"), parse_option("Five hours=hours:5")], visibility=visibility,
        **extra,
    )  # fmt: skip


async def _draft(server, title: str) -> int:
    now = server.runtime.now()
    return await server.runtime.db.write(
        store.campaigns.insert, title, "b", "public", DEADLINE, False, [("hours", Decimal(4), None)], [], now,
        draft=True,
    )  # fmt: skip


async def _world(server) -> dict[str, int]:
    """A group in Madrid's time: a public campaign with a deadline and an outcome, members' and followers'
    campaigns, a draft, and a member (Mia, with an email) who pledged with a note."""
    ids = {
        "public": await _campaign(server, "Fix the lift at Mill Road", deadline=DEADLINE),
        "members": await _campaign(server, MEMBERS_ONLY, "members", deadline=DEADLINE + timedelta(days=1)),
        "followers": await _campaign(
            server, FOLLOWERS_ONLY, "followers", deadline=DEADLINE + timedelta(days=2)
        ),
        "draft": await _draft(server, DRAFT),
        "mia": await _member(server, "Mia Canary-Member", email=MIA_EMAIL),
    }
    await actions.pledge(server.runtime, ids["mia"], ids["public"], option="Five hours", note=MIA_NOTE)
    await actions.pledge(server.runtime, ids["mia"], ids["members"], option="Two hours")
    await actions.report_outcome(server.runtime, ids["public"], "The council fixed the lift in a week.")
    return ids


async def _get(client: WebClient, path: str, **options):
    async with client.session.get(client.base_url + path, **options) as r:
        return r.status, r.headers, await r.read()


def _events(body: bytes) -> list[icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(body)
    return list(calendar.walk("VEVENT"))


async def test_public_feeds_hold_public_campaigns_and_outcomes_and_nothing_of_members(make_server, caplog):
    caplog.set_level(logging.DEBUG)
    server = await make_server(timezone="Europe/Madrid")
    ids = await _world(server)
    url = server.url(f"/campaigns/{ids['public']}")
    visitor = WebClient(server.base_url)
    try:
        status, headers, atom = await _get(visitor, "/feed.atom")
        assert status == 200 and headers["Content-Type"] == "application/atom+xml; charset=utf-8"
        feed = feedparser.parse(atom)
        assert not feed.bozo, feed.bozo_exception
        assert feed.version == "atom10"
        assert feed.feed.title == "Group A: campaigns"
        assert feed.feed.id == server.url("/groups/water") + "#feed"
        assert [e.id for e in feed.entries] == [f"{url}/outcome", url], "the outcome is news of its own"
        outcome, campaign = feed.entries
        assert outcome.title == "Outcome: Fix the lift at Mill Road"
        assert "The council fixed the lift in a week." in outcome.content[0].value
        assert campaign.link == url
        assert "Deadline: 15 January 2027, 18:00 (Europe/Madrid)" in campaign.content[0].value
        assert outcome.updated_parsed >= campaign.published_parsed

        status, headers, ics = await _get(visitor, "/calendar.ics")
        assert status == 200 and headers["Content-Type"] == "text/calendar; charset=utf-8"
        calendar = icalendar.Calendar.from_ical(ics)
        [event] = calendar.walk("VEVENT")
        assert str(event["summary"]) == "Deadline: Fix the lift at Mill Road"
        start = event.decoded("dtstart")
        assert event["dtstart"].params["TZID"] == "Europe/Madrid"
        assert (start.hour, start.minute) == (18, 0) and start == DEADLINE, (
            "the group's wall clock, same moment"
        )
        assert [tz["tzid"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/Madrid"]
        assert str(event["uid"]) == f"campaign-{ids['public']}-deadline@{server.config.domain}"
        assert str(event["url"]) == url
        assert str(event["status"]) == "CANCELLED", "its outcome is reported: closed before its deadline"
        assert str(event["description"]).startswith("Closed before its deadline.")

        group_page = (await visitor.get("/groups/water")).text
        campaign_page = (await visitor.get(f"/campaigns/{ids['public']}")).text
        for page in (group_page, campaign_page):
            assert '<link rel="alternate" type="application/atom+xml"' in page and 'href="/feed.atom"' in page
            assert 'type="text/calendar"' in page and 'href="/calendar.ics"' in page

        everything = atom.decode() + ics.decode() + caplog.text
        for canary in (MEMBERS_ONLY, FOLLOWERS_ONLY, DRAFT, MIA_EMAIL, MIA_NOTE, "Mia", "Canary"):
            assert canary not in everything, canary
    finally:
        await visitor.close()


async def test_entry_ids_stay_while_updated_times_follow_changes_and_an_unchanged_feed_is_not_sent_again(
    make_server,
):
    clock = MovableClock()
    server = await make_server(app_options={"clock": clock})
    campaign_id = await _campaign(server, "Fix the lift", deadline=DEADLINE)
    visitor = WebClient(server.base_url)
    try:
        _, headers, first = await _get(visitor, "/feed.atom")
        status, _, _ = await _get(visitor, "/feed.atom", headers={"If-None-Match": headers["ETag"]})
        assert status == 304, "a feed reader polling an unchanged feed gets no body"
        _, calendar_headers, first_ics = await _get(visitor, "/calendar.ics")
        assert (await _get(visitor, "/calendar.ics"))[2] == first_ics, "byte-stable while nothing changes"

        clock.advance(timedelta(hours=2))
        await actions.edit_campaign(server.runtime, campaign_id, "Fix the lift now", "New text.", DEADLINE)
        status, _, second = await _get(visitor, "/feed.atom", headers={"If-None-Match": headers["ETag"]})
        assert status == 200
        [before], [after] = feedparser.parse(first).entries, feedparser.parse(second).entries
        assert before.id == after.id == server.url(f"/campaigns/{campaign_id}")
        assert after.title == "Fix the lift now"
        assert after.updated_parsed > before.updated_parsed and after.published == before.published
        [event_before], [event_after] = _events(first_ics), _events((await _get(visitor, "/calendar.ics"))[2])
        assert event_before["uid"] == event_after["uid"]
        assert event_after.decoded("dtstamp") > event_before.decoded("dtstamp")
    finally:
        await visitor.close()


async def _make_link(client: WebClient) -> tuple[str, str]:
    page = await client.post("/account/feeds", {}, csrf_from="/account")
    assert page.status == 200
    atom = re.search(r'id="feed-atom"[^>]*value="([^"]+)"', page.text)
    ics = re.search(r'id="feed-calendar"[^>]*value="([^"]+)"', page.text)
    assert atom and ics, page.text
    return atom.group(1), ics.group(1)


async def test_a_members_private_feeds_show_what_they_may_see_and_their_own_pledges(make_server, caplog):
    caplog.set_level(logging.INFO)
    server = await make_server(timezone="Europe/Madrid")
    ids = await _world(server)
    olu = await _member(server, "Olu Other", email="olu.canary@example.net")
    await actions.pledge(server.runtime, olu, ids["members"], option="Five hours", note="Olu's canary note")
    await actions.delete_campaign(server.runtime, await _campaign(server, "Canary deleted campaign"))
    mia, other = WebClient(server.base_url), WebClient(server.base_url)
    try:
        await mia.sign_in("Mia Canary-Member", PASSWORD)
        await other.sign_in("Olu Other", PASSWORD)
        atom_url, ics_url = await _make_link(mia)
        secret = urlsplit(atom_url).path.split("/")[2]
        assert atom_url == server.url(f"/feeds/{secret}/feed.atom") and len(secret) >= 43

        async with mia.session.get(atom_url) as r:
            assert r.status == 200 and r.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
            assert (
                r.headers["Cache-Control"] == "private, no-cache" and r.headers["X-Robots-Tag"] == "noindex"
            )
            atom = await r.read()
        feed = feedparser.parse(atom)
        assert not feed.bozo and feed.feed.id == server.url("/groups/water") + "#members-feed"
        titles = {e.title: e for e in feed.entries}
        assert set(titles) == {"Fix the lift at Mill Road", "Outcome: Fix the lift at Mill Road", MEMBERS_ONLY,
                               FOLLOWERS_ONLY}, "every campaign members see; never a draft or a deleted one"  # fmt: skip
        assert titles[MEMBERS_ONLY].tags[0].term == "members"

        async with mia.session.get(ics_url) as r:
            assert r.status == 200 and r.headers["Content-Type"] == "text/calendar; charset=utf-8"
            ics = await r.read()
        events = {str(e["summary"]): e for e in _events(ics)}
        assert set(events) == {
            f"Deadline: {t}" for t in ("Fix the lift at Mill Road", MEMBERS_ONLY, FOLLOWERS_ONLY)
        }
        assert "You pledged: 5 hours." in str(events["Deadline: Fix the lift at Mill Road"]["description"])
        assert "You pledged: 2 hours." in str(events[f"Deadline: {MEMBERS_ONLY}"]["description"])
        assert "pledged" not in str(events[f"Deadline: {FOLLOWERS_ONLY}"]["description"])
        for text in (atom.decode(), ics.decode()):
            for canary in ("Olu", "olu.canary", DRAFT, "Canary deleted", MIA_EMAIL, MIA_NOTE):
                assert canary not in text, canary
        assert "Mia" not in atom.decode() + ics.decode(), "not even the reader's own name: links get shared"

        # Olu's own feed: his pledge, not Mia's.
        _, olu_ics = await _make_link(other)
        async with other.session.get(olu_ics) as r:
            olu_events = {str(e["summary"]): e for e in _events(await r.read())}
        assert "You pledged: 5 hours." in str(olu_events[f"Deadline: {MEMBERS_ONLY}"]["description"])
        assert "pledged" not in str(olu_events["Deadline: Fix the lift at Mill Road"]["description"])

        # Only the secret's digest is stored; the account page no longer shows it.
        snapshot = repr(await database_snapshot(server.runtime))
        assert secret not in snapshot and store.sessions.digest(secret) in snapshot
        account = await mia.get("/account")
        assert secret not in account.text and "You made your private link on" in account.text
        assert secret not in caplog.text
    finally:
        await mia.close()
        await other.close()


async def test_a_new_link_revokes_the_old_one_and_a_stopped_or_wrong_one_is_not_found(make_server, caplog):
    caplog.set_level(logging.INFO)
    server = await make_server()
    mia_id = await _member(server, "Mia Member")
    mia, stranger = WebClient(server.base_url), WebClient(server.base_url)
    try:
        await mia.sign_in("Mia Member", PASSWORD)
        old_atom, old_ics = await _make_link(mia)
        assert (await _get(stranger, urlsplit(old_atom).path))[0] == 200, "the link alone opens it"
        new_atom, new_ics = await _make_link(mia)
        assert new_atom != old_atom
        for path in (old_atom, old_ics):
            caplog.clear()
            status, _, body = await _get(stranger, urlsplit(path).path)
            assert status == 404, path
            assert b"Mia" not in body
            assert caplog.text.count("private feed refused reason=unknown-secret") == 1, caplog.text
            assert urlsplit(path).path.split("/")[2] not in caplog.text, "a secret is never logged"
        assert (await _get(stranger, urlsplit(new_ics).path))[0] == 200

        wrong = "/feeds/" + "A" * 43 + "/feed.atom"
        assert (await _get(stranger, wrong))[0] == 404
        assert (await _get(stranger, "/feeds/x/calendar.ics"))[0] == 404

        stopped = await mia.post("/account/feeds/stop", {}, csrf_from="/account")
        assert stopped.url.endswith("/account?done=feed-stopped") and "no longer works" in stopped.text
        assert (await _get(stranger, urlsplit(new_atom).path))[0] == 404
        again = await mia.post("/account/feeds/stop", {}, csrf_from="/account")
        assert again.status == 422 and "no private feed link" in again.text

        # A removed member's link goes with them.
        last_atom, _ = await _make_link(mia)
        await actions.remove_member(server.runtime, mia_id)
        assert (await _get(stranger, urlsplit(last_atom).path))[0] == 404
    finally:
        await mia.close()
        await stranger.close()


async def test_a_partner_campaign_the_member_pledged_to_is_in_their_calendar_only(make_server):
    server = await make_server()
    mia = await _member(server, "Mia Member")
    now = server.runtime.now()
    partner_id = await server.runtime.db.write(
        store.campaigns.save_partner_campaign, "https://partner.example/campaigns/7", "https://partner.example/g",
        "Partner food drive", "<p>Food</p>", None, '[{"kind": "hours", "target": "100"}]', "[]", DEADLINE, False,
        "public", now, now,
    )  # fmt: skip
    await server.runtime.db.write(
        store.pledges.upsert_member_pledge, mia, None, partner_id, "hours", Decimal(3), None, "", now
    )
    client = WebClient(server.base_url)
    try:
        await client.sign_in("Mia Member", PASSWORD)
        _, ics_url = await _make_link(client)
        async with client.session.get(ics_url) as r:
            [event] = _events(await r.read())
        assert str(event["summary"]) == "Deadline: Partner food drive"
        assert str(event["description"]) == "You pledged: 3 hours."
        assert str(event["url"]) == server.url(f"/partners/{partner_id}")
        assert _events((await _get(client, "/calendar.ics"))[2]) == [], "never in the public calendar"
    finally:
        await client.close()


async def test_a_campaign_closed_before_its_deadline_is_cancelled_in_calendars(make_server):
    server = await make_server()
    campaign_id = await _campaign(server, "Fix the lift", deadline=DEADLINE)
    await actions.close_campaign(server.runtime, campaign_id)
    visitor = WebClient(server.base_url)
    try:
        [event] = _events((await _get(visitor, "/calendar.ics"))[2])
        assert str(event["status"]) == "CANCELLED"
    finally:
        await visitor.close()


def test_secret_links_are_redacted_in_the_access_log():
    assert redacted_path("/feeds/s3cret/feed.atom") == "/feeds/[redacted]/feed.atom"
    assert redacted_path("/reset/s3cret") == "/reset/[redacted]"
    assert redacted_path("/invite/s3cret") == "/invite/[redacted]"
    assert redacted_path("/feed.atom") == "/feed.atom"


def test_hostile_text_cannot_break_the_feed_and_comes_back_as_written():
    title = 'Rent </title><script>alert(1)</script> & "more" ]]> \x01\x0b\ufffe end'
    entry = feed_rules.FeedEntry(
        id="https://g.example/campaigns/1", title=title, link="https://g.example/campaigns/1?a=1&b=<2>",
        published=DEADLINE, updated=DEADLINE, text="Body with <b>tags</b> & \x00 nulls", category="members",
    )  # fmt: skip
    head = feed_documents.FeedHead(
        "https://g.example/groups/g#feed",
        "G <&>",
        "https://g.example/feed.atom",
        "https://g.example/groups/g",
        "G",
    )
    body = feed_documents.atom_document(head, [entry], DEADLINE)
    assert b"<script>" not in body and b"\x01" not in body
    feed = feedparser.parse(body)
    assert not feed.bozo, feed.bozo_exception
    [parsed] = feed.entries
    assert parsed.title == 'Rent </title><script>alert(1)</script> & "more" ]]>  end'
    assert (
        parsed.content[0].value == "Body with <b>tags</b> &  nulls" and parsed.content[0].type == "text/plain"
    )
    assert parsed.link == "https://g.example/campaigns/1?a=1&b=<2>"
    item = feed_rules.CalendarItem(
        "u@g.example", "Meet; then, \\ march\nnow", DEADLINE, "https://g.example/x", "a,b;c", DEADLINE
    )
    [event] = _events(feed_documents.calendar_document("G", "UTC", [item]))
    assert str(event["summary"]) == "Meet; then, \\ march\nnow" and str(event["description"]) == "a,b;c"
    assert event.decoded("dtstart") == DEADLINE and "TZID" not in event["dtstart"].params


async def test_share_on_mastodon_sends_the_visitor_to_their_servers_share_page(make_server, caplog):
    caplog.set_level(logging.INFO)
    server = await make_server()
    public = await _campaign(server, "Fix the lift & the stairs")
    members_only = await _campaign(server, MEMBERS_ONLY, "members")
    visitor = WebClient(server.base_url)
    try:
        page = (await visitor.get(f"/campaigns/{public}")).text
        assert f'<form method="get" action="/campaigns/{public}/share"' in page
        assert "<script" not in page and "Share on Mastodon" in page
        member_page = WebClient(server.base_url)
        await _member(server, "Mia Member")
        await member_page.sign_in("Mia Member", PASSWORD)
        assert "/share" not in (await member_page.get(f"/campaigns/{members_only}")).text
        await member_page.close()

        for typed, host in (("mastodon.social", "mastodon.social"), (" https://Social.Example/ ", "social.example"),
                            ("@mia@toot.example", "toot.example"), ("bücher.example", "xn--bcher-kva.example")):  # fmt: skip
            async with visitor.session.get(
                server.url(f"/campaigns/{public}/share"), params={"instance": typed}, allow_redirects=False
            ) as r:
                assert r.status == 200, typed
                page = await r.text()
            # The page moves on at once (a meta refresh), with a link for browsers that do not.
            refresh = re.search(r'<meta http-equiv="refresh" content="0; url=([^"]+)">', page)
            assert refresh, page
            link = html.unescape(refresh.group(1))
            assert f'href="{refresh.group(1)}"' in page
            target = urlsplit(link)
            assert (target.scheme, target.netloc, target.path) == ("https", host, "/share")
            [text] = parse_qs(target.query)["text"]
            assert text == f"Fix the lift & the stairs\n\n{server.url(f'/campaigns/{public}')}"

        for typed in ("javascript:alert(1)", "evil.example/path", "//evil.example", "evil.example:8443",
                      "http://evil.example", "evil.example?x=1", "127.0.0.1", "a b.example", "", "x" * 400,
                      "evil.example\\@good.example", "evil.example#frag"):  # fmt: skip
            caplog.clear()
            async with visitor.session.get(
                server.url(f"/campaigns/{public}/share"), params={"instance": typed}, allow_redirects=False
            ) as r:
                body = await r.text()
                assert r.status == 422, typed
            assert "<title>Error: Share" in body and 'aria-invalid="true"' in body
            assert "like mastodon.social" in body and 'href="#instance"' in body
            assert caplog.text.count("share refused reason=bad-instance") == 1

        async with visitor.session.get(
            server.url(f"/campaigns/{members_only}/share"), params={"instance": "mastodon.social"},
            allow_redirects=False,
        ) as r:  # fmt: skip
            assert r.status == 404, "only public campaigns are shared"
    finally:
        await visitor.close()


@pytest.mark.parametrize(
    ("typed", "host"),
    [("Mastodon.Social", "mastodon.social"), ("https://m.example/", "m.example"), ("you@m.example", "m.example"),
     ("@you@m.example", "m.example"), ("xn--bcher-kva.example", "xn--bcher-kva.example")],
)  # fmt: skip
def test_instance_names_people_type_give_the_host(typed, host):
    assert share.instance_host(typed) == host


@pytest.mark.parametrize(
    "typed",
    ["", "localhost", "m.example/share", "https://m.example/x", "ftp://m.example", "m.example:80", "1.2.3.4",
     "[::1]", "-m.example", "m-.example", "m..example", "a@b@m.example", "@@m.example",
     "m.example.", "m_example.org", "https://", "https://@m.example", "m.example%2f", "\u202em.example"],
)  # fmt: skip
def test_anything_but_a_host_name_is_refused(typed):
    with pytest.raises(share.ShareError):
        share.instance_host(typed)


def test_the_share_url_keeps_the_text_inside_its_query():
    url = share.share_url("m.example", "A & B #1 ?x=/y\n\nhttps://g.example/campaigns/1")
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path, parts.fragment) == ("https", "m.example", "/share", "")
    assert parse_qs(parts.query) == {"text": ["A & B #1 ?x=/y\n\nhttps://g.example/campaigns/1"]}
