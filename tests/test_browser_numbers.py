"""What a member does is what is recorded: the numbers of issue "Numbers people can trust", tried in a real
browser (Debian's chromium driven by Playwright) the way a new member would, one test per finding."""

from __future__ import annotations

import orjson
import pytest

from fedgroup import actions, store
from fedgroup.rules import passwords
from fedgroup.rules.campaigns import parse_goal, parse_option
from tests import test_browser
from tests.accessibility import assert_accessible
from tests.conftest import eventually
from tests.test_browser import CHROMIUM, PASSWORD, shot, sign_in

browser = test_browser.browser  # the fixture: Debian's chromium, launched as there

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian chromium is not installed (apt-get install chromium)"
)


async def _member(server, name: str, role: str = "member") -> int:
    return await actions.add_member(server.runtime, name, role, None, passwords.hash_password(PASSWORD))


async def _school_campaign(server, **extra) -> int:
    return await actions.create_campaign(
        server.runtime,
        "A safe crossing at Mill Road school",
        "We ask the council for a zebra crossing.",
        goals=[parse_goal("money:500:EUR")],
        options=[parse_option("Give €10=money:10"), parse_option("Give €20=money:20")],
        visibility="public",
        **extra,
    )


async def test_a_typed_amount_is_never_replaced_by_an_option_and_the_form_shows_the_choice(
    make_server, browser
):
    server = await make_server()
    mia = await _member(server, "Mia Member")
    campaign_id = await _school_campaign(server)
    page = await browser.new_page()
    await sign_in(page, server.base_url, "Mia Member")
    await page.goto(server.url(f"/campaigns/{campaign_id}"))
    await assert_accessible(page)
    money_bar = page.locator(".goal").filter(has_text="of €500").locator("rect.bar-fill")

    assert await page.locator("input[name=option]:checked").count() == 0, "nothing chosen for the member"
    await page.get_by_label("Give €10").check()
    await page.get_by_role("textbox", name="Amount").fill("15")
    await page.get_by_role("button", name="Pledge").click()
    error = page.locator("#amount-error")
    assert "An amount of my own" in await error.inner_text()
    await assert_accessible(page)
    assert await page.get_by_role("textbox", name="Amount").get_attribute("aria-invalid") == "true"
    assert await money_bar.get_attribute("width") == "0", "nothing recorded"
    assert await server.runtime.db.read(store.pledges.pledges_of_member, mia) == []
    await shot(page, "pledge-amount-beside-option")

    await page.get_by_label("An amount of my own").check()
    await page.get_by_role("textbox", name="Amount").fill("15")
    await page.get_by_role("button", name="Pledge").click()
    await page.wait_for_url(f"**/campaigns/{campaign_id}?done=pledged")
    await assert_accessible(page)
    assert "€15 of €500" in await page.locator("main").inner_text()
    assert await page.get_by_label("An amount of my own").is_checked(), "the form shows the member's choice"
    assert await page.get_by_role("textbox", name="Amount").input_value() == "15"

    await page.get_by_label("Give €20").check()
    await page.get_by_role("textbox", name="Amount").fill("")
    await page.get_by_role("button", name="Pledge").click()
    await page.wait_for_url(f"**/campaigns/{campaign_id}?done=pledged")
    await assert_accessible(page)
    assert "€20 of €500" in await page.locator("main").inner_text()
    assert await page.get_by_label("Give €20").is_checked()
    assert not await page.get_by_label("Give €10").is_checked()
    assert await page.get_by_role("textbox", name="Amount").input_value() == ""


async def test_a_change_keeps_the_note_and_a_fulfilled_pledge_stays_until_an_organizer_reopens_it(
    make_server, browser
):
    server = await make_server()
    mia = await _member(server, "Mia Member")
    campaign_id = await _school_campaign(server)
    page = await browser.new_page()
    await sign_in(page, server.base_url, "Mia Member")
    await page.goto(server.url(f"/campaigns/{campaign_id}"))
    await assert_accessible(page)
    await page.get_by_label("Give €20").check()
    await page.get_by_label("Note for the organizers").fill("I can bring it on Friday")
    await page.get_by_role("button", name="Pledge").click()
    await page.wait_for_url("**?done=pledged")
    await assert_accessible(page)

    assert await page.get_by_label("Note for the organizers").input_value() == "I can bring it on Friday"
    await page.get_by_label("Give €10").check()
    await page.get_by_role("button", name="Pledge").click()
    await page.wait_for_url("**?done=pledged")
    await assert_accessible(page)
    [pledge] = await server.runtime.db.read(store.pledges.pledges_of_member, mia)
    assert (pledge.option_label, pledge.note) == ("Give €10", "I can bring it on Friday")

    await actions.set_fulfilled(server.runtime, pledge.id, True)
    await page.goto(server.url(f"/campaigns/{campaign_id}"))
    await assert_accessible(page)
    mine = page.locator("ul.mine")
    assert "fulfilled" in await mine.inner_text()
    assert await mine.get_by_role("button", name="Withdraw").count() == 0
    await page.get_by_label("Give €20").check()
    await page.get_by_role("button", name="Pledge").click()
    assert "fulfilled" in await page.locator(".error").first.inner_text()
    await assert_accessible(page)
    [kept] = await server.runtime.db.read(store.pledges.pledges_of_member, mia)
    assert (kept.option_label, kept.amount, kept.fulfilled) == ("Give €10", 10, True)
    await shot(page, "pledge-fulfilled")

    await actions.set_fulfilled(server.runtime, pledge.id, False)  # the organizer reopens it
    await page.goto(server.url(f"/campaigns/{campaign_id}"))
    await assert_accessible(page)
    await page.get_by_label("Give €20").check()
    await page.get_by_role("button", name="Pledge").click()
    await page.wait_for_url("**?done=pledged")
    await assert_accessible(page)
    [changed] = await server.runtime.db.read(store.pledges.pledges_of_member, mia)
    assert (changed.option_label, changed.fulfilled) == ("Give €20", False)


async def test_a_group_joining_a_coalition_sees_the_partners_current_totals(make_server, browser):
    a = await make_server("a", handle="tenants")
    b = await make_server("b", handle="foodbank", totals_update_seconds=0.1)
    await _member(a, "Mia Member")
    giver = await actions.add_member(b.runtime, "Gil Giver", "member")
    theirs = await _school_campaign(b)
    await actions.pledge(b.runtime, giver, theirs, option="Give €20")

    async def b_published():  # b's Update of the totals went out to nobody: a did not follow yet
        return not await b.runtime.db.read(store.campaigns.totals_to_publish, b.runtime.now())

    await eventually(b_published)
    await actions.follow_group(a.runtime, await a.runtime.actors.actor(b.url("/groups/foodbank")))

    async def imported():
        return await a.runtime.db.read(
            store.campaigns.partner_campaign_by_object, b.url(f"/campaigns/{theirs}")
        )

    await eventually(imported)
    page = await browser.new_page()
    await sign_in(page, a.base_url, "Mia Member")
    assert "€20 of €500" in await page.locator("main").inner_text()
    await shot(page, "partner-campaign-imported")


async def _campaign_updates(server, campaign_id: int) -> list[dict]:
    rows = await server.runtime.db.fetchall(
        "SELECT document FROM outbox_activities WHERE type = 'Update' AND object_id = ? ORDER BY published_at",
        (server.url(f"/campaigns/{campaign_id}"),),
    )
    return [orjson.loads(r[0]) for r in rows]


async def test_a_closed_campaign_is_frozen_until_an_organizer_reopens_it(make_server, browser):
    server = await make_server(totals_update_seconds=0.1)
    await _member(server, "Mia Member")
    ben = await _member(server, "Ben Member")
    await _member(server, "Olu Organizer", "organizer")
    campaign_id = await _school_campaign(server)
    await actions.pledge(server.runtime, ben, campaign_id, option="Give €10")

    member = await browser.new_page()
    await sign_in(member, server.base_url, "Mia Member")
    await member.goto(server.url(f"/campaigns/{campaign_id}"))
    await member.get_by_label("Give €20").check()
    await member.get_by_role("button", name="Pledge").click()
    await member.wait_for_url("**?done=pledged")
    assert "€30 of €500" in await member.locator("main").inner_text()

    organizer = await browser.new_page()
    await sign_in(organizer, server.base_url, "Olu Organizer")
    await organizer.goto(server.url(f"/organize/campaigns/{campaign_id}"))
    await organizer.get_by_label("What the campaign achieved").fill("The council agreed to a crossing.")
    await organizer.get_by_role("button", name="Publish the outcome").click()
    await organizer.wait_for_url("**?done=reported")

    # The member's tab was opened before the close: its Withdraw button is refused, nothing moves.
    await member.get_by_role("button", name="Withdraw").click()
    assert "closed" in await member.locator(".error").first.inner_text()
    await member.goto(server.url(f"/campaigns/{campaign_id}"))
    assert "€30 of €500" in await member.locator("main").inner_text()
    assert await member.get_by_role("button", name="Withdraw").count() == 0

    # Removing a member who pledged erases them, and the closed campaign's figures stay as published.
    await actions.remove_member(server.runtime, ben)  # the page that asks first is tested below
    await member.goto(server.url(f"/campaigns/{campaign_id}"))
    assert "€30 of €500" in await member.locator("main").inner_text()
    assert "2 people pledged" in await member.locator("main").inner_text()
    closed_updates = [
        u for u in await _campaign_updates(server, campaign_id) if u["object"]["campaignStatus"] == "closed"
    ]
    assert closed_updates and all(u["object"]["goals"][0]["pledged"] == "30" for u in closed_updates)

    # The organizer reopens it: pledges move again, and the outcome says it was reopened.
    await organizer.goto(server.url(f"/organize/campaigns/{campaign_id}"))
    await organizer.get_by_role("button", name="Reopen to pledges").click()
    await organizer.wait_for_url("**?done=reopened")
    await member.goto(server.url(f"/campaigns/{campaign_id}"))
    text = await member.locator("main").inner_text()
    assert "€20 of €500" in text, "live figures again: Ben's erased pledge no longer counts"
    assert "reopened" in text.lower()
    await member.get_by_role("button", name="Withdraw").click()
    await member.wait_for_url("**?done=withdrawn")
    assert "€0 of €500" in await member.locator("main").inner_text()
    outcome_updates = await server.runtime.db.fetchall(
        "SELECT document FROM outbox_activities WHERE type = 'Update' AND object_id = ?",
        (server.url(f"/campaigns/{campaign_id}/outcome"),),
    )
    assert outcome_updates, "the restated outcome federates as an Update of the outcome"
    assert "reopened" in orjson.loads(outcome_updates[0][0])["object"]["content"].lower()
    await shot(member, "campaign-reopened")


async def test_removing_a_member_and_leaving_a_coalition_ask_first_and_say_what_goes(make_server, browser):
    a = await make_server("a", handle="tenants")
    b = await make_server("b", handle="foodbank")
    await _member(a, "Ada Admin", "admin")
    mia = await _member(a, "Mia Member")
    await _member(a, "Olu Organizer", "organizer")
    ours = await _school_campaign(a)
    await actions.pledge(a.runtime, mia, ours, option="Give €20")
    b_group = b.url("/groups/foodbank")
    theirs = await actions.create_campaign(
        b.runtime, "Winter meals", "Hot meals for the winter.", goals=[parse_goal("items:100:meals")],
        options=[parse_option("Ten meals=items:10")],
    )  # fmt: skip
    await actions.follow_group(a.runtime, await a.runtime.actors.actor(b_group))

    async def partner():
        return await a.runtime.db.read(
            store.campaigns.partner_campaign_by_object, b.url(f"/campaigns/{theirs}")
        )

    found = await eventually(partner)
    await actions.pledge_to_partner(a.runtime, mia, found.id, option="Ten meals")

    organizer = await browser.new_page()
    await sign_in(organizer, a.base_url, "Olu Organizer")
    await organizer.goto(a.url("/organize"))
    await organizer.get_by_role("button", name="Leave").click()
    text = await organizer.locator("main").inner_text()
    assert "Winter meals" in text and "1 member" in text, "the confirmation says whose pledges are withdrawn"
    assert await a.runtime.db.read(store.follows.following_of, b_group) is not None, "nothing done yet"
    await shot(organizer, "coalition-leave-confirm")
    await organizer.get_by_role("button", name="Leave and withdraw").click()
    await organizer.wait_for_url("**/organize?done=left")
    assert await a.runtime.db.read(store.follows.following_of, b_group) is None

    member = await browser.new_page()
    await sign_in(member, a.base_url, "Mia Member")
    mine = await member.locator("#my-pledges ~ ul, #my-pledges ~ p").all_inner_texts()
    assert any("Winter meals" in t and "left the coalition" in t for t in mine), mine
    await member.get_by_role("button", name="Dismiss these notices").click()
    await member.wait_for_url("**/home")
    assert "left the coalition" not in await member.locator("main").inner_text()

    admin = await browser.new_page()
    await sign_in(admin, a.base_url, "Ada Admin")
    await admin.goto(a.url("/admin/members"))
    await admin.get_by_role("button", name="Remove Mia Member and erase their data").click()
    text = await admin.locator("main").inner_text()
    assert "A safe crossing at Mill Road school" in text and "Give €20" in text
    assert await a.runtime.db.read(store.members.by_id, mia) is not None, "nothing erased before confirming"
    await shot(admin, "member-remove-confirm")
    await admin.get_by_role("button", name="Remove Mia Member").click()
    await admin.wait_for_url("**/admin/members?done=removed")
    assert await a.runtime.db.read(store.members.by_id, mia) is None


async def test_a_treasurer_corrects_an_approved_expense_on_a_phone_and_a_second_organizer_approves_it(
    make_server, browser
):
    server = await make_server()
    olu = await _member(server, "Olu Organizer", "organizer")
    tia = await _member(server, "Tia Treasurer", "organizer")
    campaign_id = await _school_campaign(server)
    await actions.record_money_received(server.runtime, campaign_id, olu, "Cash box", "200")
    printing = await actions.record_expense(server.runtime, campaign_id, olu, "Printing", "64.50")
    await actions.decide_expense(server.runtime, campaign_id, printing, tia, approve=True)

    phone = await (await browser.new_context(viewport={"width": 320, "height": 700})).new_page()
    await sign_in(phone, server.base_url, "Olu Organizer")
    await phone.goto(server.url(f"/organize/campaigns/{campaign_id}/money"))
    assert await phone.evaluate("document.documentElement.scrollWidth") <= 320, "the page fits 320 px"
    await phone.get_by_role("link", name=f"Correct or void entry #{printing}").first.click()
    assert await phone.get_by_label("Amount (EUR)").input_value() == "64.50", "the form starts from the entry"
    await phone.get_by_label("Amount (EUR)").fill("46.40")
    reason = phone.get_by_label("Why it is corrected")
    assert await reason.get_attribute("required") is not None, "the browser asks for a reason (the server too)"
    await reason.fill("the receipt says 46.40")
    await phone.get_by_role("button", name="Save the correction").click()
    await phone.wait_for_url("**/money?done=expense-corrected")
    text = await phone.locator("main").inner_text()
    assert "€200 raised · €0 spent · €200 left" in text, "the corrected expense waits for approval"
    assert "the receipt says 46.40" in text and f"corrects #{printing}" in text
    assert await phone.evaluate("document.documentElement.scrollWidth") <= 320
    await shot(phone, "money-correction")

    second = await browser.new_page()
    await sign_in(second, server.base_url, "Tia Treasurer")
    await second.goto(server.url(f"/organize/campaigns/{campaign_id}/money"))
    await second.get_by_role("button", name="Approve").click()
    await second.wait_for_url("**/money?done=expense-approved")
    await second.goto(server.url(f"/campaigns/{campaign_id}"))
    public = await second.locator("main").inner_text()
    assert "€200 raised · €46.40 spent · €153.60 left" in public and "€64.50" not in public
