"""A newcomer's first hour, as they live it: `fedgroup serve` started as its own process in an empty directory,
the admin password read from what it prints, then in chromium: sign in, see the first steps, name the group,
invite an organizer (the link copied from the page), join with it in another browser, create a campaign as
that organizer, pledge on a phone, get an amount wrong, read the error summary, fix it, see the pledge
counted; the admin's first steps are then all done and gone.

The walk runs at 1280×800 and again at 320 px wide, each on a server of its own (a newcomer starts from
nothing). On every page it visits axe-core must find no violation of any impact, minor ones included, and
the page must fit the screen's width.
"""

from __future__ import annotations

import re
import signal
from typing import Any

import pytest

from tests import test_browser
from tests.accessibility import ALL_IMPACTS, assert_accessible
from tests.test_browser import CHROMIUM
from tests.test_cli import free_port, start_serve

browser = test_browser.browser

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian chromium is not installed (apt-get install chromium)"
)

ORGANIZER_PASSWORD = "tenants unite 2026"
PHONE = {"width": 390, "height": 844}


async def look(page: Any, visited: list[str]) -> None:
    """What every page of the walk must be: free of any axe-core violation, and no wider than the screen."""
    await assert_accessible(page, impacts=ALL_IMPACTS)
    width = await page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{page.url} is {width} px wide"
    visited.append(page.url)


@pytest.mark.parametrize(
    "screen", [{"width": 1280, "height": 800}, {"width": 320, "height": 640}], ids=["1280px", "320px"]
)
async def test_the_first_hour_from_serve_to_a_counted_pledge(tmp_path, browser, screen):
    port = free_port()
    # As the README says: run `fedgroup serve` and sign in with what it prints.
    process, out = await start_serve("--port", str(port), cwd=tmp_path, until="Sign in at")
    try:
        printed = re.search(r"Sign in at (\S+) as 'admin' with password (\S+) ", out)
        assert printed, out
        login_url, admin_password = printed.groups()
        base = login_url.removesuffix("/login")
        phone = PHONE if screen["width"] > PHONE["width"] else screen
        visited: list[str] = []

        admin = await (await browser.new_context(viewport=screen)).new_page()
        await admin.goto(login_url)
        await look(admin, visited)
        await admin.get_by_label("Name").fill("admin")
        await admin.get_by_label("Password").fill(admin_password)
        await admin.get_by_role("button", name="Sign in").click()
        await admin.wait_for_url("**/home*")
        await look(admin, visited)
        steps = admin.locator("section.first-steps")
        assert await steps.get_by_role("heading").inner_text() == "Your first steps"
        assert await steps.get_by_role("link").count() == 3

        # 1. Name the group.
        await steps.get_by_role("link", name="Name the group").click()
        await admin.wait_for_url("**/admin/group")
        await look(admin, visited)
        await admin.get_by_label("Name").fill("Mill Road tenants")
        await admin.get_by_label("Summary").fill("Tenants of Mill Road, acting together.")
        await admin.get_by_role("button", name="Save").click()
        await admin.wait_for_url("**/admin/group?done=saved")
        await look(admin, visited)
        await admin.get_by_role("navigation", name="Main").get_by_role("link", name="Campaigns").click()
        await admin.wait_for_url("**/home")
        await look(admin, visited)
        assert "Done: the group is named Mill Road tenants." in await steps.inner_text()

        # 2. Invite an organizer, and copy the link from the page.
        await steps.get_by_role("link", name="Invite an organizer").click()
        await admin.wait_for_url("**/admin/members?role=organizer#invite")
        await look(admin, visited)
        assert await admin.get_by_label("They join as").input_value() == "organizer"
        await admin.get_by_role("button", name="Create an invitation link").click()
        await admin.wait_for_load_state()
        await look(admin, visited)
        link = await admin.get_by_label("Invitation link (organizer)").input_value()
        assert link.startswith(base + "/invite/"), link

        # The organizer opens it in a browser of their own and joins.
        organizer = await (await browser.new_context(viewport=screen)).new_page()
        await organizer.goto(link)
        await look(organizer, visited)
        assert "You are invited as an organizer" in await organizer.locator("main").inner_text()
        await organizer.get_by_label("Your name").fill("Olu Organizer")
        await organizer.get_by_label("Password", exact=False).first.fill(ORGANIZER_PASSWORD)
        await organizer.get_by_label("The same password again").fill(ORGANIZER_PASSWORD)
        await organizer.get_by_role("button", name="Join").click()
        await organizer.wait_for_url("**/home*")
        await look(organizer, visited)
        assert await organizer.locator("section.first-steps").count() == 0, "the first steps are the admin's"

        # 3. The organizer creates the first campaign.
        await organizer.get_by_role("link", name="Create the first one").click()
        await organizer.wait_for_url("**/organize/campaigns/new")
        await look(organizer, visited)
        await organizer.get_by_label("Title").fill("Fix the lift")
        await organizer.get_by_label("What it is about").fill(
            "The lift at number 12 has been broken since May."
        )
        await organizer.locator("#goal_money").fill("500")
        await organizer.locator("#option_0").fill("Give €20")
        await organizer.locator("select[name=option_kind_0]").select_option("money")
        await organizer.locator("input[name=option_amount_0]").fill("20")
        await organizer.get_by_role("button", name="Create campaign").click()
        await organizer.wait_for_url("**/organize/campaigns/*?done=created")
        await look(organizer, visited)
        campaign_path = "/campaigns/" + organizer.url.split("/organize/campaigns/")[1].split("?")[0]

        # On a phone, the organizer pledges: first a wrong amount, then the right one.
        mobile = await (await browser.new_context(viewport=phone, is_mobile=True, has_touch=True)).new_page()
        await mobile.goto(base + "/login")
        await look(mobile, visited)
        await mobile.get_by_label("Name").fill("Olu Organizer")
        await mobile.get_by_label("Password").fill(ORGANIZER_PASSWORD)
        await mobile.get_by_role("button", name="Sign in").click()
        await mobile.wait_for_url("**/home")
        await look(mobile, visited)
        await mobile.get_by_role("link", name="Fix the lift").first.click()
        await mobile.wait_for_url(f"**{campaign_path}")
        await look(mobile, visited)
        assert "No pledges yet." in await mobile.locator("main").inner_text()
        await mobile.get_by_label("An amount of my own").check()
        await mobile.get_by_label("Amount", exact=True).fill("seven")
        await mobile.get_by_role("button", name="Pledge").click()
        await mobile.wait_for_load_state()
        summary = mobile.locator(".error-summary")
        assert (await mobile.title()).startswith("Error: ")
        assert await summary.evaluate("element => element === document.activeElement"), "focus on the summary"
        await look(mobile, visited)
        amount = mobile.get_by_label("Amount", exact=True)
        assert await amount.get_attribute("aria-invalid") == "true"
        await summary.get_by_role("link").click()  # the summary's link goes to the field to fix
        assert await amount.evaluate("element => element === document.activeElement"), "the link leads to it"
        assert await amount.input_value() == "seven", "what was typed is kept"
        await amount.fill("7,50")
        await mobile.get_by_role("button", name="Pledge").click()
        await mobile.wait_for_url(f"**{campaign_path}?done=pledged")
        await look(mobile, visited)
        main = await mobile.locator("main").inner_text()
        # Counted in the total; the head count of a new group's campaign stays vague ("fewer than 3").
        assert "€7.50 of €500" in main and "Fewer than 3 people pledged" in main, main
        assert (
            "€7.50"
            in await mobile.get_by_role("heading", name="Your pledges here").locator("+ ul").inner_text()
        )

        # The admin's first steps are all done, so they are gone.
        await admin.goto(base + "/home")
        await look(admin, visited)
        assert await admin.locator("section.first-steps").count() == 0
        assert len(visited) == 17, visited  # every page of the walk was looked at
    finally:
        process.send_signal(signal.SIGTERM)
        await process.wait()
    assert process.returncode == 0
