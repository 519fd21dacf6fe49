"""A gathering end to end in a real browser (Debian's chromium through Playwright): an organizer creates one
(a mistake first, shown beside its field), two members answer "going" past its capacity of one (the second
lands on the waiting list), the first withdraws and the second gets the place, the page fits 320 px, and the
organizer cancels it. Screenshots go to test-artifacts/."""

from __future__ import annotations

from fedgroup import actions
from fedgroup.rules import passwords
from tests.accessibility import assert_accessible
from tests.test_browser import CHROMIUM, PASSWORD, browser, pytestmark, shot, sign_in  # noqa: F401
from tests.test_gatherings import ZONE, local


async def _answer(page, url: str, answer: str) -> str:
    await page.goto(url)
    await assert_accessible(page)
    await page.get_by_label(answer, exact=True).check()
    await page.get_by_role("button", name="Send my answer").click()
    await page.wait_for_url("**?done=rsvp-*")
    await assert_accessible(page)
    return await page.locator("main").inner_text()


async def test_create_rsvp_past_capacity_and_cancel_in_the_browser(make_server, browser):  # noqa: F811
    server = await make_server()
    hashed = passwords.hash_password(PASSWORD)
    for name, role in (("Olu Organizer", "organizer"), ("Mia Member", "member"), ("Noa Member", "member")):
        await actions.add_member(server.runtime, name, role, None, hashed)

    olu = await browser.new_page()
    await sign_in(olu, server.base_url, "Olu Organizer")
    await olu.goto(server.url("/organize"))
    await assert_accessible(olu)
    await olu.get_by_role("link", name="Gatherings").last.click()
    await olu.get_by_role("link", name="New gathering").click()
    await olu.get_by_label("Title").fill("Community hall meeting")
    await olu.get_by_label("What it is").fill("Plan the next month.")
    await olu.get_by_label("Starts").fill(local(7, 19))
    await olu.get_by_label("Ends").fill(local(7, 18))  # before it starts: refused at its field
    await olu.get_by_label("Time zone of these times").fill(ZONE)
    await olu.get_by_label("Place", exact=True).fill("Community hall, 3 Main Street")
    await olu.get_by_label("Capacity").fill("1")
    await olu.get_by_role("button", name="Create gathering").click()
    summary = olu.get_by_role("alert")
    assert "It must end after it starts." in await summary.inner_text()
    assert await olu.get_by_label("Title").input_value() == "Community hall meeting"
    await shot(olu, "gathering-form-error")
    await olu.get_by_label("Ends").fill(local(7, 21))
    await olu.get_by_role("button", name="Create gathering").click()
    await olu.wait_for_url("**/gatherings/*?done=gathering-created")
    await assert_accessible(olu)
    url = olu.url.split("?")[0]
    text = await olu.locator("main").inner_text()
    assert "Community hall meeting" in text and "0 of 1 places taken" in text and "(Europe/Madrid)" in text

    mia = await browser.new_page()
    await sign_in(mia, server.base_url, "Mia Member")
    assert "You are going" in await _answer(mia, url, "Going")
    noa = await browser.new_page()
    await noa.set_viewport_size({"width": 320, "height": 800})
    await sign_in(noa, server.base_url, "Noa Member")
    text = await _answer(noa, url, "Going (it is full: you join the waiting list)")
    assert "You are on the waiting list" in text and "1 on the waiting list" in text
    assert await noa.evaluate("document.documentElement.scrollWidth") <= 320, "the page fits 320 px"
    await shot(noa, "gathering-waiting-320px")

    assert "You are not going" in await _answer(mia, url, "Not going")
    await noa.goto(url)
    await assert_accessible(noa)
    assert "You are going." in await noa.locator("main").inner_text()

    await olu.goto(url)
    await assert_accessible(olu)
    await olu.get_by_role("link", name="Organize this gathering").click()
    assert "Noa Member" in await olu.locator("main").inner_text()
    await olu.get_by_role("button", name="Cancel this gathering").click()
    await olu.wait_for_url("**?done=gathering-cancelled")
    await assert_accessible(olu)
    text = await olu.locator("main").inner_text()
    assert "Cancelled. This gathering will not take place." in text
    await shot(olu, "gathering-cancelled")
    await noa.goto(server.url("/gatherings"))
    await assert_accessible(noa)
    assert "Cancelled" in await noa.locator("main").inner_text()
