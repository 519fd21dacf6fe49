"""Languages in a real browser (Debian's chromium through Playwright): a member switches to Spanish, then to
Arabic, on the Account page; pages, money and dates follow, Arabic pages run right to left, and axe-core finds
no serious or critical violation in either. A visitor without an account uses the switch at the foot of the
page. Screenshots go to test-artifacts/ (campaign-arabic.png is the one to look at for the mirrored layout)."""

from __future__ import annotations

from datetime import timedelta

from fedgroup import actions
from fedgroup.rules import passwords
from fedgroup.rules.campaigns import parse_goal, parse_option
from tests.accessibility import assert_accessible
from tests.test_browser import CHROMIUM, PASSWORD, browser, pytestmark, shot, sign_in  # noqa: F401


async def _choose_language(page, server, label: str, name: str) -> None:
    await page.goto(server.url("/account"))
    await page.get_by_label(label).select_option(name)
    await page.locator("#language-choice + button, #language-choice ~ button").first.click()
    await page.wait_for_url("**/account?done=saved")


async def test_a_member_switches_to_spanish_then_arabic(make_server, browser):  # noqa: F811
    server = await make_server(min_disclosed_count=1)
    runtime = server.runtime
    await actions.add_member(runtime, "Mia Member", "member", None, passwords.hash_password(PASSWORD))
    deadline = runtime.now() + timedelta(days=30)
    campaign_id = await actions.create_campaign(
        runtime,
        "Agua para la escuela",
        "Los grifos de la escuela no funcionan.",
        goals=[parse_goal("money:2500:EUR"), parse_goal("hours:40")],
        options=[parse_option("Dar 1234,50 €=money:1234.50"), parse_option("Dos horas=hours:2")],
        visibility="public",
        deadline=deadline,
    )
    page = await browser.new_page()
    await sign_in(page, server.base_url, "Mia Member")

    await _choose_language(page, server, "The language of your pages", "es")
    assert await page.locator("html").get_attribute("lang") == "es"
    assert await page.get_by_role("heading", level=1).inner_text() == "Tu cuenta"
    await assert_accessible(page)

    await page.goto(server.url(f"/campaigns/{campaign_id}"))
    await page.get_by_label("Dar 1234,50 €").check()
    await page.get_by_role("button", name="Comprometerme").click()
    await page.wait_for_url(f"**/campaigns/{campaign_id}?done=pledged")
    main = await page.locator("main").inner_text()
    assert "Gracias: tu compromiso ha quedado registrado." in main
    assert "1234,50\u00a0€ de 2500\u00a0€" in main or "1.234,50\u00a0€ de 2.500\u00a0€" in main
    assert "0 de 40 horas" in main
    local = deadline.astimezone()  # the group's zone is UTC here
    assert f"Abierta hasta el {deadline.day} de " in main and f"{local.year}" in main
    await assert_accessible(page)
    await shot(page, "campaign-spanish")

    await _choose_language(page, server, "El idioma de tus páginas", "ar")
    html = page.locator("html")
    assert (await html.get_attribute("lang"), await html.get_attribute("dir")) == ("ar", "rtl")
    await assert_accessible(page)
    await page.goto(server.url(f"/campaigns/{campaign_id}"))
    main = await page.locator("main").inner_text()
    assert "التقدّم" in main and "تعهداتك هنا" in main
    assert "1,234.50" in main and "€" in main
    # Right to left, mirrored by the stylesheet's logical properties: the main navigation starts at the
    # right edge, the site name sits right of it, and the pledge form's labels align to the right.
    name_box = await page.locator(".site-name").bounding_box()
    nav_box = await page.get_by_role("navigation", name="الرئيسية").bounding_box()
    assert name_box is not None and nav_box is not None
    assert name_box["x"] > nav_box["x"], "the site name comes first, on the right"
    assert await page.locator("main").evaluate("m => getComputedStyle(m).direction") == "rtl"
    await assert_accessible(page)
    await shot(page, "campaign-arabic")
    await page.goto(server.url("/home"))
    await assert_accessible(page)
    await shot(page, "home-arabic")
    await page.set_viewport_size({"width": 320, "height": 800})
    await page.goto(server.url(f"/campaigns/{campaign_id}"))
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 320, f"the Arabic page fits 320 px (scroll width {width})"
    await shot(page, "campaign-arabic-phone")


async def test_a_visitor_switches_language_without_javascript(make_server, browser):  # noqa: F811
    server = await make_server()
    await actions.create_campaign(
        server.runtime,
        "Safe crossing",
        "Four lanes.",
        goals=[parse_goal("money:500:EUR")],
        visibility="public",
    )
    context = await browser.new_context(java_script_enabled=False, locale="en-GB")
    page = await context.new_page()
    await page.goto(server.url("/groups/water"))
    assert await page.locator("html").get_attribute("lang") == "en"
    await page.get_by_label("Language").select_option("हिन्दी")
    await page.get_by_role("button", name="Change").click()
    await page.wait_for_url("**/groups/water")
    assert await page.locator("html").get_attribute("lang") == "hi"
    text = await page.locator("main").inner_text()
    assert "अभियान" in text and "€0" in text, "Hindi words; the campaign's euros stay euros"
    await page.get_by_label("भाषा").select_option("العربية")
    await page.get_by_role("button", name="बदलें").click()
    await page.wait_for_url("**/groups/water")
    assert await page.locator("html").get_attribute("dir") == "rtl"
    await context.close()

    # axe-core needs JavaScript in the page it checks: the same pages, switched the same way, with it on.
    checked = await browser.new_page()
    for code in ("hi", "ar"):
        await checked.goto(server.url(f"/language?language={code}&next=/groups/water"))
        assert await checked.locator("html").get_attribute("lang") == code
        await assert_accessible(checked)
    await shot(checked, "group-arabic")
