"""Errors that speak to people: a failed form opens with a summary linking to each field and a title that
says "Error:", amounts read as people write them, and 403/404 pages are pages of the site with a way back
(documents for other servers keep their plain answers)."""

from __future__ import annotations

import re

import aiohttp

from fedgroup import actions, store
from fedgroup.rules import passwords
from fedgroup.rules.campaigns import parse_goal
from tests.web_client import WebClient

PASSWORD = "correct horse battery"
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
FORM = {
    "title": "Winter coats", "body": "Coats for the shelter.", "goal_items": "", "unit_items": "",
    "goal_money": "", "unit_money": "EUR", "option_label_0": "", "option_kind_0": "money",
    "option_amount_0": "", "deadline": "", "visibility": "public",
}  # fmt: skip


async def test_a_failed_form_has_a_summary_and_amounts_read_as_people_write_them(make_server):
    server = await make_server()
    runtime = server.runtime
    await actions.add_member(runtime, "Olu Organizer", "organizer", None, passwords.hash_password(PASSWORD))
    organizer = WebClient(server.base_url)
    try:
        await organizer.sign_in("Olu Organizer", PASSWORD)
        page = await organizer.post("/organize/campaigns/new", dict(FORM, goal_money="12345678901"))
        assert page.status == 422
        assert re.search(r"<title>Error: ", page.text), "the title says there was an error"
        summary = re.search(r'<div class="error-summary" role="alert".*?</div>', page.text, re.S).group(0)
        assert '<a href="#goal_money">that amount is too large (at most 1,000,000,000)</a>' in summary
        assert 'id="goal_money"' in page.text, "the link leads to the field"
        assert "not an amount" not in page.text, "too large is its own message"

        created = await organizer.post("/organize/campaigns/new", dict(FORM, goal_money="7,50"))
        assert created.status == 200 and "The campaign is created" in created.text, created.text
        assert "<title>Error:" not in created.text and "error-summary" not in created.text
        campaign_id = int(re.search(r"/organize/campaigns/(\d+)", created.url).group(1))
        state = await runtime.db.read(actions.load_campaign, campaign_id)
        assert str(state.goals[0].target) == "7.50"
    finally:
        await organizer.close()


async def test_pledges_take_a_decimal_comma(make_server):
    server = await make_server()
    runtime = server.runtime
    member_id = await actions.add_member(runtime, "Mia", "member", None, passwords.hash_password(PASSWORD))
    campaign_id = await actions.create_campaign(runtime, "Fund", "b", goals=[parse_goal("money:100:EUR")])
    await actions.pledge(runtime, member_id, campaign_id, kind="money", amount="7,50")
    other_id = await actions.add_member(runtime, "Ola", "member", None, None)
    await actions.pledge(runtime, other_id, campaign_id, kind="money", amount="2.50")
    pledges = await runtime.db.read(store.pledges.pledges_for_campaign, campaign_id)
    assert sorted(str(p.amount) for p in pledges) == ["2.50", "7.50"]


async def test_403_and_404_are_pages_of_the_site_with_a_way_back(make_server):
    server = await make_server()
    await actions.add_member(server.runtime, "Mia", "member", None, passwords.hash_password(PASSWORD))
    member, visitor = WebClient(server.base_url), WebClient(server.base_url)
    try:
        await member.sign_in("Mia", PASSWORD)
        refused = await member.get("/organize", headers=BROWSER)
        assert refused.status == 403 and refused.headers["Content-Type"].startswith("text/html")
        assert 'class="site-header"' in refused.text and "Only organizers can do this." in refused.text
        assert '<a href="/home">Back to your campaigns</a>' in refused.text
        missing = await visitor.get("/campaigns/999", headers=BROWSER)
        assert missing.status == 404 and 'class="site-header"' in missing.text
        assert '<a href="/">Back to Group A</a>' in missing.text
        nowhere = await visitor.get("/no/such/page", headers=BROWSER)
        assert nowhere.status == 404 and "There is nothing here" in nowhere.text
    finally:
        await member.close()
        await visitor.close()
    # Servers asking for documents get the short answer, as before.
    async with aiohttp.ClientSession() as session:
        async with session.get(
            server.url("/campaigns/999"), headers={"Accept": "application/activity+json"}
        ) as response:
            assert response.status == 404 and not response.headers["Content-Type"].startswith("text/html")
