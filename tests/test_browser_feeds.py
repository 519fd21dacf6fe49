"""Feeds and sharing in a real browser (Debian's chromium driven by Playwright): the feeds found from the
group page open with their content types, a member makes a private link on Account and it opens, and "Share
on Mastodon" works with scripts off, loading nothing from elsewhere."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import feedparser
import icalendar
import pytest

from fedgroup import actions
from fedgroup.rules import passwords
from fedgroup.rules.campaigns import parse_goal, parse_option
from tests import test_browser
from tests.test_browser import CHROMIUM, PASSWORD, shot, sign_in

browser = test_browser.browser  # the fixture: Debian's chromium, launched as there

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian chromium is not installed (apt-get install chromium)"
)

TITLE = "A safe crossing at Mill Road school"


async def _campaign(server, visibility: str = "public", title: str = TITLE) -> int:
    return await actions.create_campaign(
        server.runtime, title, "We ask the council for a zebra crossing.", goals=[parse_goal("hours:40")],
        options=[parse_option("Two hours=hours:2")], visibility=visibility,
        deadline=datetime(2027, 1, 15, 17, 0, tzinfo=UTC),
    )  # fmt: skip


async def _open_calendar(page, url: str) -> tuple[str, bytes]:
    """A calendar opened in the browser is a download: its content type and its bytes."""
    seen: list[str] = []
    page.on("response", lambda r: seen.append(r.headers.get("content-type", "")) if r.url == url else None)
    async with page.expect_download() as info:
        try:
            await page.goto(url)
        except Exception as e:  # chromium reports a navigation that became a download as aborted
            assert "Download is starting" in str(e) or "ERR_ABORTED" in str(e), e
    download = await info.value
    path = await download.path()
    with open(path, "rb") as f:
        return seen[-1], f.read()


async def test_the_public_feeds_open_from_the_group_page(make_server, browser):
    server = await make_server(timezone="Europe/Madrid")
    await _campaign(server)
    page = await browser.new_page()
    await page.goto(server.url("/groups/water"))
    atom_href = await page.locator('head link[rel=alternate][type="application/atom+xml"]').get_attribute(
        "href"
    )
    ics_href = await page.locator('head link[rel=alternate][type="text/calendar"]').get_attribute("href")
    await shot(page, "group-page-feeds")

    response = await page.goto(server.url(atom_href))
    assert response.status == 200
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    feed = feedparser.parse(await response.body())
    assert not feed.bozo and [e.title for e in feed.entries] == [TITLE]

    page = await browser.new_page(accept_downloads=True)
    content_type, body = await _open_calendar(page, server.url(ics_href))
    assert content_type == "text/calendar; charset=utf-8"
    [event] = icalendar.Calendar.from_ical(body).walk("VEVENT")
    assert event.decoded("dtstart").strftime("%H:%M") == "18:00"


async def test_a_member_makes_a_private_link_on_account_and_it_opens(make_server, browser):
    server = await make_server()
    await actions.add_member(server.runtime, "Mia Member", "member", None, passwords.hash_password(PASSWORD))
    await _campaign(server, "members", "Members only: the rent strike")
    page = await browser.new_page(accept_downloads=True)
    await sign_in(page, server.base_url, "Mia Member")
    await page.goto(server.url("/account"))
    await page.get_by_role("button", name="Make my private link").click()
    atom_url = await page.get_by_label("Campaigns (Atom feed, for a feed reader)").input_value()
    ics_url = await page.get_by_label("Deadlines (iCalendar, for a calendar app)").input_value()
    await shot(page, "account-private-feeds")
    await page.set_viewport_size({"width": 320, "height": 700})
    width = await page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= 320, f"the Account page with its links is {width} px wide"

    response = await page.goto(atom_url)
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    assert [e.title for e in feedparser.parse(await response.body()).entries] == [
        "Members only: the rent strike"
    ]
    content_type, body = await _open_calendar(page, ics_url)
    assert content_type == "text/calendar; charset=utf-8"
    assert [str(e["summary"]) for e in icalendar.Calendar.from_ical(body).walk("VEVENT")] == [
        "Deadline: Members only: the rent strike"
    ]

    await page.goto(server.url("/account"))
    await page.get_by_role("button", name="Make a new link").click()
    assert await page.get_by_label("Campaigns (Atom feed, for a feed reader)").input_value() != atom_url
    response = await page.goto(atom_url)
    assert response.status == 404, "the old link stopped working"


async def test_share_on_mastodon_without_scripts_loading_nothing_from_elsewhere(make_server, browser):
    server = await make_server()
    campaign_id = await _campaign(server)
    context = await browser.new_context(java_script_enabled=False)
    page = await context.new_page()
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    shared: list[str] = []

    async def mastodon(route):  # the visitor's server, answered here: the test leaves this machine never
        shared.append(route.request.url)
        await route.fulfill(
            status=200, content_type="text/html", body="<title>Mastodon</title><p>compose</p>"
        )

    await page.route("https://toot.example/**", mastodon)
    await page.goto(server.url(f"/campaigns/{campaign_id}"))
    assert all(url.startswith(server.base_url) for url in requested), requested

    await page.get_by_label("Your Mastodon server").fill("evil.example/phish")
    await page.get_by_role("button", name="Share on Mastodon").click()
    assert (await page.title()).startswith("Error:")
    assert "like mastodon.social" in await page.locator("#instance-error").inner_text()
    assert shared == []
    await shot(page, "share-error")

    await page.get_by_label("Your Mastodon server").fill("@mia@toot.example")
    await page.get_by_role("button", name="Share on Mastodon").click()
    await page.wait_for_url("https://toot.example/share?**")
    [url] = shared
    assert parse_qs(urlsplit(url).query)["text"] == [f"{TITLE}\n\n{server.url(f'/campaigns/{campaign_id}')}"]
    await context.close()
