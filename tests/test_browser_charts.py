"""The pledges-over-time chart on a phone: its axis text is at least 12 px as drawn (not only as declared: an
SVG scaled down to a phone's width shrinks its text with it), and a campaign without pledges says so instead of
drawing an empty chart."""

from __future__ import annotations

import pytest

from fedgroup import actions
from fedgroup.rules import passwords
from fedgroup.rules.campaigns import parse_goal, parse_option
from tests import test_browser
from tests.test_browser import CHROMIUM, PASSWORD, shot

browser = test_browser.browser

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian chromium is not installed (apt-get install chromium)"
)


async def _campaign(server) -> int:
    return await actions.create_campaign(
        server.runtime, "A safe crossing", "We ask the council for a zebra crossing.",
        goals=[parse_goal("hours:40")], options=[parse_option("Two hours=hours:2")],
    )  # fmt: skip


async def test_axis_text_is_at_least_12_px_on_a_phone(make_server, browser):
    server = await make_server()
    campaign = await _campaign(server)
    mia = await actions.add_member(
        server.runtime, "Mia Member", "member", None, passwords.hash_password(PASSWORD)
    )
    await actions.pledge(server.runtime, mia, campaign, option="Two hours")
    for width in (320, 390):
        page = await browser.new_page(viewport={"width": width, "height": 800})
        await page.goto(server.url(f"/campaigns/{campaign}"))
        ticks = page.locator(".chart .tick")
        assert await ticks.count() >= 4, "0, the peak, the first and the last day"
        for i in range(await ticks.count()):
            tick = ticks.nth(i)
            drawn = await tick.evaluate(
                "e => { const r = e.getBoundingClientRect(); const s = getComputedStyle(e);"
                " const scale = e.ownerSVGElement ? e.ownerSVGElement.getScreenCTM().a : 1;"
                " return [parseFloat(s.fontSize) * scale, r.height]; }"
            )
            size, height = drawn
            assert size >= 12 and height >= 12, (
                f"{await tick.text_content()!r} drawn at {size:.1f} px at {width} px"
            )
        await shot(page, f"chart-phone-{width}")
        await page.close()


async def test_no_pledges_yet_instead_of_an_empty_chart(make_server, browser):
    server = await make_server()
    campaign = await _campaign(server)
    page = await browser.new_page(viewport={"width": 390, "height": 800})
    await page.goto(server.url(f"/campaigns/{campaign}"))
    assert await page.locator(".chart").count() == 0
    assert "No pledges yet." in await page.locator("main").inner_text()


async def test_an_arabic_chart_runs_left_to_right_with_its_labels_where_they_belong(make_server, browser):
    """Right to left, the chart is still drawn left to right as a whole (style.css says why): the values'
    labels sit left of the drawing, by its vertical axis, and the first day is under its left end."""
    server = await make_server()
    campaign = await _campaign(server)
    mia = await actions.add_member(
        server.runtime, "Mia Member", "member", None, passwords.hash_password(PASSWORD)
    )
    await actions.pledge(server.runtime, mia, campaign, option="Two hours")
    page = await browser.new_page(viewport={"width": 390, "height": 800})
    await page.goto(server.url(f"/language?language=ar&next=/campaigns/{campaign}"))
    assert await page.locator("html").get_attribute("dir") == "rtl"
    drawing = await page.locator(".chart svg").bounding_box()
    peak = await page.locator(".chart-y .tick").first.bounding_box()
    first_day, last_day = [await t.bounding_box() for t in await page.locator(".chart-x .tick").all()]
    assert drawing and peak and first_day and last_day
    assert peak["x"] + peak["width"] <= drawing["x"] + 1, "the values' labels are left of the drawing"
    assert first_day["x"] < last_day["x"], "the first day is at the left, where the line starts"
    assert abs(first_day["x"] - drawing["x"]) < abs(last_day["x"] - drawing["x"])
    await shot(page, "chart-arabic")
    await page.close()
