"""Blueprints in a real browser (Debian's chromium through Playwright): an organizer of A writes a blueprint of
a finished campaign; an organizer of B previews it, adopts it, edits the draft (target, currency) and
publishes it; A's blueprint page then counts B's campaign. Screenshots go to test-artifacts/."""

from __future__ import annotations

from fedgroup import actions
from fedgroup.rules import passwords
from fedgroup.rules.campaigns import parse_goal, parse_option
from tests.accessibility import assert_accessible
from tests.conftest import eventually
from tests.test_browser import CHROMIUM, PASSWORD, browser, pytestmark, shot, sign_in  # noqa: F401

ORGANIZER = "Olu Organizer"


async def test_publish_preview_adopt_edit_and_publish_in_the_browser(make_server, browser):  # noqa: F811
    a = await make_server("a", handle="crossing")
    b = await make_server("b", handle="tenants")
    for server in (a, b):
        await actions.add_member(
            server.runtime, ORGANIZER, "organizer", None, passwords.hash_password(PASSWORD)
        )
    campaign = await actions.create_campaign(
        a.runtime, "A safe crossing", "Four lanes.", goals=[parse_goal("money:500:EUR")],
        options=[parse_option("Give €20=money:20"), parse_option("Give €50=money:50")],
    )  # fmt: skip
    await actions.report_outcome(a.runtime, campaign, "The council painted it.")

    page_a = await browser.new_page()
    await sign_in(page_a, a.base_url, ORGANIZER)
    await page_a.goto(a.url(f"/organize/campaigns/{campaign}"))
    await assert_accessible(page_a)
    await page_a.get_by_role("link", name="Write a blueprint").click()
    await page_a.get_by_label("Title").fill("How we won a crossing")
    await page_a.get_by_label("Summary").fill("A petition, then a visit to the council.")
    await page_a.get_by_label("What worked").fill("Leafleting at the school gate.")
    await page_a.get_by_label("The steps, in order").fill("Leaflet\nPetition\nVisit the council")
    await page_a.get_by_role("button", name="Publish the blueprint").click()
    await page_a.wait_for_url("**/blueprints/1?done=blueprint")
    await assert_accessible(page_a)
    text = await page_a.locator("main").inner_text()
    assert "Adopted by 0 groups" in text and "Visit the council" in text
    await shot(page_a, "blueprint-page")
    blueprint_url = a.url("/blueprints/1")

    page_b = await browser.new_page()
    await sign_in(page_b, b.base_url, ORGANIZER)
    await page_b.goto(b.url("/organize/blueprints"))
    await assert_accessible(page_b)
    await page_b.get_by_label("The blueprint's address").fill(blueprint_url)
    await page_b.get_by_role("button", name="Preview").first.click()
    await page_b.wait_for_selector("text=Preview: How we won a crossing")
    assert "Leafleting at the school gate." in await page_b.locator("main").inner_text()
    await shot(page_b, "blueprint-preview")
    await page_b.get_by_role("button", name="Adopt: make a draft campaign").click()
    await page_b.wait_for_url("**/organize/drafts/*?done=adopted")
    await assert_accessible(page_b)
    draft_path = page_b.url.split(b.base_url, 1)[1].split("?", 1)[0]

    # A bad target shows beside the field and changes nothing; then a good one, in pounds.
    await page_b.get_by_label("money: target").fill("-5")
    await page_b.get_by_role("button", name="Save the draft").click()
    assert "is not an amount" in await page_b.locator("main").inner_text()
    await assert_accessible(page_b)
    await page_b.get_by_label("Title").fill("A safe crossing on Elm Street")
    await page_b.get_by_label("money: target").fill("300")
    await page_b.get_by_label("Currency").fill("GBP")
    await page_b.get_by_role("button", name="Save the draft").click()
    await page_b.wait_for_url(f"**{draft_path}?done=saved")
    await shot(page_b, "blueprint-draft")
    # Until it is published, nobody outside the organizers sees it.
    visitor = await browser.new_page()
    response = await visitor.goto(b.url(draft_path.replace("/organize/drafts/", "/campaigns/")))
    await assert_accessible(visitor)
    assert response is not None and response.status == 404
    await page_b.get_by_role("button", name="Publish the campaign").click()
    await page_b.wait_for_url("**/campaigns/*?done=published")
    await assert_accessible(page_b)
    assert "£0 of £300" in await page_b.locator("main").inner_text()
    await shot(page_b, "blueprint-adopted-campaign")

    async def counted() -> bool:
        await page_a.goto(blueprint_url)
        await assert_accessible(page_a)
        return "Adopted by 1 group" in await page_a.locator("main").inner_text()

    await eventually(counted)
    assert "A safe crossing on Elm Street" in await page_a.locator("main").inner_text()

    # A's organizer hides that adopter (moderation): it is neither listed nor counted.
    await page_a.get_by_role("button", name="Hide").click()
    await page_a.wait_for_url("**/blueprints/1?done=saved")
    await assert_accessible(page_a)
    text = await page_a.locator("main").inner_text()
    assert "Adopted by 0 groups" in text and "hidden" in text  # organizers still see it, marked
    visitor_page = await visitor.goto(blueprint_url)
    await assert_accessible(visitor)
    assert visitor_page is not None and "Elm Street" not in await visitor.locator("main").inner_text()
