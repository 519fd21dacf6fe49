"""The web UI in a real browser: Debian's chromium driven by Playwright (never a downloaded browser).

Screenshots of the main pages go to test-artifacts/ for people to look at.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from fedgroup import actions, store
from fedgroup.rules import passwords
from fedgroup.rules.campaigns import parse_goal, parse_option
from tests.accessibility import assert_accessible
from tests.conftest import eventually

CHROMIUM = os.environ.get("FEDGROUP_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
PASSWORD = "correct horse battery"

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian chromium is not installed (apt-get install chromium)"
)


@pytest.fixture
async def browser():
    from playwright.async_api import async_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        await launched.close()


async def shot(page, name: str) -> None:
    """A screenshot for people to look at, of a page axe-core finds no serious or critical fault in."""
    await assert_accessible(page)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


async def sign_in(page, base_url: str, name: str) -> None:
    await page.goto(base_url + "/login")
    await assert_accessible(page)
    await page.get_by_label("Name").fill(name)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/home")
    await assert_accessible(page)


async def test_a_member_signs_in_pledges_and_sees_the_bar_move(make_server, browser):
    server = await make_server()
    runtime = server.runtime
    await actions.add_member(runtime, "Mia Member", "member", None, passwords.hash_password(PASSWORD))
    campaign_id = await actions.create_campaign(
        runtime,
        "A safe crossing at Mill Road school",
        "Children cross four lanes every morning.\n\nWe ask the council for a zebra crossing.",
        goals=[parse_goal("money:500:EUR"), parse_goal("hours:40")],
        options=[parse_option("Give €20=money:20"), parse_option("Leaflet for 2 hours=hours:2")],
        visibility="public",
    )
    page = await browser.new_page()
    await page.goto(server.url("/groups/water"))
    await assert_accessible(page)
    assert await page.locator("code.handle").inner_text() == f"@water@{server.config.domain}"
    await shot(page, "group-page")

    await sign_in(page, server.base_url, "Mia Member")
    await page.get_by_role("link", name="A safe crossing at Mill Road school").first.click()
    money_bar = page.locator(".goal").filter(has_text="of €500").locator("rect.bar-fill")
    assert await money_bar.get_attribute("width") == "0"
    await page.get_by_label("Give €20").check()
    await page.get_by_label("Note for the organizers").fill("I can bring it on Friday")
    await page.get_by_role("button", name="Pledge").click()
    await page.wait_for_url(f"**/campaigns/{campaign_id}?done=pledged")
    await assert_accessible(page)
    assert await money_bar.get_attribute("width") == "4", "€20 of €500: the bar moved to 4%"
    assert "€20 of €500" in await page.locator("main").inner_text()
    await shot(page, "campaign-member")

    # Bad input: the error appears beside the field and nothing changes.
    await page.get_by_label("An amount of my own").check()
    await page.locator("select[name=kind]").select_option("hours")
    await page.locator("input[name=amount]").fill("-2")
    await page.get_by_role("button", name="Pledge").click()
    assert "not an amount" in await page.locator(".error").first.inner_text()
    await assert_accessible(page)  # the form again, with its error summary
    assert await money_bar.get_attribute("width") == "4"

    await page.goto(server.url("/home"))
    await assert_accessible(page)
    assert "Give €20 (€20)" in await page.locator("#my-pledges + ul").inner_text()
    await shot(page, "member-home")
    await page.set_viewport_size({"width": 390, "height": 800})
    await page.goto(server.url(f"/campaigns/{campaign_id}"))
    await shot(page, "campaign-phone")


async def test_an_organizer_creates_a_campaign_and_a_partner_server_receives_it(make_server, browser):
    a = await make_server("a", handle="tenants")
    b = await make_server("b", handle="foodbank")
    await actions.add_member(a.runtime, "Olu Organizer", "organizer", None, passwords.hash_password(PASSWORD))
    await actions.add_member(a.runtime, "Ada Admin", "admin", None, passwords.hash_password(PASSWORD))
    a_group = a.url("/groups/tenants")
    await actions.follow_group(b.runtime, await b.runtime.actors.actor(a_group))

    async def b_follows_a():
        following = await b.runtime.db.read(store.follows.following_of, a_group)
        return following is not None and following.state == "accepted"

    await eventually(b_follows_a)

    page = await browser.new_page()
    await sign_in(page, a.base_url, "Olu Organizer")
    await page.get_by_role("link", name="Organize").click()
    await page.wait_for_url("**/organize")
    await assert_accessible(page)
    await page.get_by_role("link", name="New campaign").click()
    await page.get_by_label("Title").fill("Fix the heating before winter")
    await page.get_by_label("What it is about").fill("Flats 12-30 have had no heating since October.")
    await page.locator("input[name=goal_people]").fill("40")
    await page.locator("input[name=option_label_0]").fill("Sign the letter")
    await page.locator("select[name=option_kind_0]").select_option("people")
    await page.locator("input[name=option_amount_0]").fill("1")
    await shot(page, "organizer-new-campaign")
    await page.get_by_role("button", name="Create campaign").click()
    await page.wait_for_url("**/organize/campaigns/*?done=created")
    await shot(page, "organizer-campaign")

    async def b_received():
        partners = await b.runtime.db.read(store.campaigns.partner_campaigns, a_group)
        return partners[0] if partners else None

    received = await eventually(b_received)
    assert received.title == "Fix the heating before winter"
    assert "Sign the letter" in received.options

    await page.goto(a.url("/organize"))
    await shot(page, "organizer-index")
    admin = await browser.new_page()
    await sign_in(admin, a.base_url, "Ada Admin")
    await admin.goto(a.url("/admin/members"))
    await assert_accessible(admin)
    await admin.get_by_role("button", name="Create an invitation link").click()
    assert "/invite/" in await admin.locator("input.invite").input_value()
    await shot(admin, "admin-members")
    await admin.goto(a.url("/login"))  # signed in: the login page sends members home
    await assert_accessible(admin)
    assert admin.url.endswith("/home")
    anonymous = await browser.new_page()
    await anonymous.goto(a.url("/login"))
    await shot(anonymous, "login")


async def test_a_sign_in_link_with_a_hostile_next_keeps_the_browser_on_the_site(make_server, browser):
    """The open redirect as a browser meets it: a link to the sign-in page whose `next` a browser would read as
    another host once it drops the tab, CR or LF, or reads the backslash as a slash."""
    server = await make_server()
    await actions.add_member(server.runtime, "Mia Member", "member", None, passwords.hash_password(PASSWORD))
    page = await browser.new_page()
    for target in ("/%09/evil.example", "/%0D%0A/evil.example", "/%5Cevil.example", "%2F%2Fevil.example"):
        await page.goto(server.url(f"/login?next={target}"))
        await assert_accessible(page)
        await page.get_by_label("Name").fill("Mia Member")
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_load_state()
        assert page.url == server.url("/home"), (target, page.url)
        await page.get_by_role("button", name="Sign out").click()
        await page.wait_for_url("**/login")
        await assert_accessible(page)


async def test_two_organizers_keep_the_money_record_and_the_public_sees_the_line(make_server, browser):
    server = await make_server()
    runtime = server.runtime
    for name in ("Olu Organizer", "Tia Treasurer"):
        await actions.add_member(runtime, name, "organizer", None, passwords.hash_password(PASSWORD))
    campaign_id = await actions.create_campaign(
        runtime, "Paint the crossing", "Paint and posters.", goals=[parse_goal("money:500:EUR")]
    )
    olu = await (await browser.new_context()).new_page()
    await sign_in(olu, server.base_url, "Olu Organizer")
    await olu.goto(server.url(f"/organize/campaigns/{campaign_id}"))
    await assert_accessible(olu)
    await olu.get_by_role("link", name="Money record").click()
    await olu.get_by_label("Source").fill("Cash box at the fair")
    await olu.locator("#amount").fill("120.50")
    await olu.get_by_role("button", name="Record money received").click()
    await olu.wait_for_url("**/money?done=money-received")
    await assert_accessible(olu)
    await olu.get_by_label("From a sponsor who agreed to be named in public").check()
    await olu.get_by_label("Source").fill("Cheque")
    await olu.locator("#amount").fill("200")
    await olu.get_by_label("The sponsor's public name").fill("Mill Road Bakery")
    await olu.get_by_role("button", name="Record money received").click()
    await olu.wait_for_url("**/money?done=money-received")
    await assert_accessible(olu)
    await olu.get_by_label("What it paid for").fill("Printing 500 leaflets")
    await olu.locator("#expense_amount").fill("64.50")
    await olu.get_by_label("Receipt reference").fill("R-014")
    await olu.get_by_role("button", name="Record the expense").click()
    await olu.wait_for_url("**/money?done=expense-recorded")
    await assert_accessible(olu)
    expenses = olu.locator("section").filter(has=olu.get_by_role("heading", name="Expenses"))
    assert await expenses.get_by_role("button", name="Approve").count() == 0, "no Approve for one's own"
    assert "€320.50 raised · €0 spent · €320.50 left" in await olu.locator("main").inner_text()

    tia = await (await browser.new_context()).new_page()
    await sign_in(tia, server.base_url, "Tia Treasurer")
    await tia.goto(server.url(f"/organize/campaigns/{campaign_id}/money"))
    await assert_accessible(tia)
    await tia.get_by_role("button", name="Approve").click()
    await tia.wait_for_url("**/money?done=expense-approved")
    await assert_accessible(tia)
    assert "approved by Tia Treasurer" in await tia.locator("main").inner_text()
    await shot(tia, "money-record-organizer")

    public = await (await browser.new_context()).new_page()
    await public.goto(server.url(f"/campaigns/{campaign_id}"))
    await assert_accessible(public)
    text = await public.locator("main").inner_text()
    assert "€320.50 raised · €64.50 spent · €256 left" in text and "Printing 500 leaflets" in text
    assert "Thank you to our sponsors: Mill Road Bakery." in text
    assert "Cash box" not in text and "Cheque" not in text and "Olu" not in text and "Tia" not in text
    await shot(public, "money-record-public")
