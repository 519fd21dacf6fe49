"""Mail pages in a real browser (Debian's chromium, as tests/test_browser.py drives it), 320 px wide: a member
sets their address and choices by their labels, an organizer sends a call and reads the counts, and the
unsubscribe link from the mail works from a browser with no session."""

from __future__ import annotations

import pytest

from fedgroup import actions, store
from fedgroup.rules import passwords
from tests.conftest import eventually
from tests.smtp_catcher import SmtpCatcher
from tests.test_browser import CHROMIUM, PASSWORD, browser, shot, sign_in  # noqa: F401 (browser: a fixture)

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed")


async def fits(page) -> None:
    assert await page.evaluate("document.documentElement.scrollWidth") <= 320


async def test_mail_choices_a_call_and_unsubscribing_at_320_pixels(make_server, browser):  # noqa: F811
    smtp = SmtpCatcher().start()
    try:
        server = await make_server(**smtp.settings)
        for name, role in (("Mia Member", "member"), ("Olu Organizer", "organizer")):
            await actions.add_member(server.runtime, name, role, None, passwords.hash_password(PASSWORD))
        page = await browser.new_page(viewport={"width": 320, "height": 700})
        await sign_in(page, server.base_url, "Mia Member")
        await page.goto(server.url("/account"))
        await page.get_by_role("link", name="Your email address, what the group mails you").click()
        await page.get_by_label("Your email address").fill("mia@mail.test")
        await page.get_by_label("A daily digest").check()
        await page.get_by_label("At most this many calls").fill("1")
        await fits(page)
        await page.get_by_role("button", name="Save").click()
        await page.wait_for_url("**/account/mail?done=saved")
        assert await page.get_by_label("A daily digest").is_checked()
        await shot(page, "mail-account-320")
        await fits(page)
        await page.close()

        olu = await browser.new_page(viewport={"width": 320, "height": 700})
        await sign_in(olu, server.base_url, "Olu Organizer")
        await olu.goto(server.url("/organize/mail"))
        assert "1 of 2 members have an email address" in await olu.locator("main").inner_text()
        await olu.get_by_label("Subject").fill("Saturday")
        await olu.get_by_label("Message").fill("We need 5 more people.")
        await olu.get_by_label("To").select_option("all")
        await fits(olu)
        await olu.get_by_role("button", name="Send").click()
        await olu.wait_for_url("**/organize/mail?call=*")
        call = await olu.locator("ul.calls li").first.inner_text()
        assert call.startswith("Saturday to all: reached 1, held back 0")
        await shot(olu, "mail-organize-320")
        await fits(olu)

        async def arrived():
            return smtp.messages("mia@mail.test")

        [mail] = await eventually(arrived, timeout=20)
        link = str(mail.message["List-Unsubscribe"])[1:-1]
        stranger = await browser.new_page(viewport={"width": 320, "height": 700})  # no session
        await stranger.goto(link)
        await fits(stranger)
        await stranger.get_by_role("button", name="Unsubscribe").click()
        assert "no longer get calls from organizers" in await stranger.locator("main").inner_text()
        mia = await server.runtime.db.read(store.members.by_name, "Mia Member")
        assert (await actions.mail_preferences(server.runtime, mia.id)).asks_per_week == 0
    finally:
        smtp.stop()
