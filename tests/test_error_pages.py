"""Errors that speak to people: a failed form opens with a summary linking to each field and a title that
says "Error:", amounts read as people write them, and 403/404 pages are pages of the site with a way back
(documents for other servers keep their plain answers)."""

from __future__ import annotations

import re

import aiohttp

from fedgroup import actions, store
from fedgroup.rules import formats, languages, passwords
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
        assert '<a href="#goal_money">That amount is too large (at most 1,000,000,000).</a>' in summary
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


def every_summary_link_has_its_field(page: str) -> list[str]:
    """The fields the error summary links to: each must be an element of the page (else the link leads
    nowhere)."""
    summary = re.search(r'<div class="error-summary" role="alert".*?</div>', page, re.S).group(0)
    targets = re.findall(r'<a href="#([^"]+)">', summary)
    assert targets, summary
    for target in targets:
        assert f'id="{target}"' in page, f"the summary links to #{target}, which the page lacks"
    return targets


async def test_an_options_wrong_amount_is_the_amounts_error_not_the_labels(make_server):
    server = await make_server()
    await actions.add_member(
        server.runtime, "Olu Organizer", "organizer", None, passwords.hash_password(PASSWORD)
    )
    organizer = WebClient(server.base_url)
    try:
        await organizer.sign_in("Olu Organizer", PASSWORD)
        form = dict(FORM, goal_money="500", option_label_0="Give", option_amount_0="twenty")
        page = await organizer.post("/organize/campaigns/new", form)
        assert page.status == 422
        assert every_summary_link_has_its_field(page.text) == ["option_amount_0"]
        amount = re.search(r'<input id="option_amount_0"[^>]*>', page.text).group(0)
        assert 'aria-invalid="true"' in amount and 'value="twenty"' in amount, amount
        label = re.search(r'<input id="option_0"[^>]*>', page.text).group(0)
        assert "aria-invalid" not in label, "the label was right: it is not outlined"
        # An option whose kind has no goal: said at that row's kind, not under the last row.
        page = await organizer.post(
            "/organize/campaigns/new",
            dict(FORM, goal_money="500", option_label_0="Give", option_kind_0="hours", option_amount_0="2"),
        )
        assert every_summary_link_has_its_field(page.text) == ["option_kind_0"]
        kind = re.search(r'<select id="option_kind_0"[^>]*>', page.text).group(0)
        assert 'aria-invalid="true"' in kind, kind
        row_error = page.text.index('id="option_kind_0-error"')
        assert row_error < page.text.index('id="option_1"'), "the error is under its own row"
        # An error about the options as a whole links to them, in one style: a sentence.
        twice = dict(FORM, goal_money="500", option_label_0="Give", option_amount_0="2")
        page = await organizer.post(
            "/organize/campaigns/new",
            dict(twice, option_label_1="Give", option_kind_1="money", option_amount_1="3"),
        )
        assert every_summary_link_has_its_field(page.text) == ["options"]
        assert '<p class="error" id="options-error">Two options are labelled &#39;Give&#39;.</p>' in page.text
    finally:
        await organizer.close()


def test_messages_read_as_sentences():
    en, hi = languages.language("en"), languages.language("hi")
    assert formats.sentence("the deadline is in the past", en) == "The deadline is in the past."
    assert formats.sentence("'seven' is not an amount (7.50)", en) == "'seven' is not an amount (7.50)."
    assert formats.sentence("Is this right?", en) == "Is this right?"
    assert formats.sentence(" done. ", en) == "Done."
    assert formats.sentence("", en) == ""
    assert formats.sentence("अभियान का शीर्षक होना चाहिए", hi) == "अभियान का शीर्षक होना चाहिए।"


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


async def test_an_expired_form_hands_back_what_was_typed_and_nothing_secret(make_server):
    """The session ended while the form was open: the pledge is not taken, and the page hands back the note
    the member typed (never a password-like field), with a way back to the form's page."""
    server = await make_server()
    runtime = server.runtime
    await actions.add_member(runtime, "Mia", "member", None, passwords.hash_password(PASSWORD))
    campaign_id = await actions.create_campaign(runtime, "Fund", "b", goals=[parse_goal("money:100:EUR")])
    member = WebClient(server.base_url)
    try:
        await member.sign_in("Mia", PASSWORD)
        page = f"/campaigns/{campaign_id}"
        fields = [
            ("kind", "money"), ("amount", "12"), ("note", "I can bring the <b>big</b> ladder on Saturday"),
            ("new_password", "canary-secret-typed"), ("csrf", "a-token-from-a-session-that-ended"),
        ]  # fmt: skip
        async with member.session.post(
            server.url(f"{page}/pledge"), data=fields, headers=dict(BROWSER, Referer=server.url(page))
        ) as r:
            status, text = r.status, await r.text()
        assert status == 403 and "<h1>This form has expired</h1>" in text
        assert "I can bring the &lt;b&gt;big&lt;/b&gt; ladder on Saturday</textarea>" in text, "typed, escaped"
        assert "canary-secret-typed" not in text and "a-token-from" not in text, "no secret is shown back"
        assert f'<a href="{page}">Go back to the form</a>' in text
        assert await runtime.db.read(store.pledges.pledges_for_campaign, campaign_id) == [], "nothing taken"

        # Posted from another site: refused as before, and nothing of it is echoed.
        async with member.session.post(
            server.url(f"{page}/pledge"), data=fields, headers=dict(BROWSER, Origin="https://elsewhere.example")
        ) as r:
            status, text = r.status, await r.text()
        assert status == 403 and "ladder" not in text
    finally:
        await member.close()


async def test_a_failure_on_our_side_is_a_page_of_the_site_and_a_logged_traceback(make_server, caplog):
    """The database loses a table under a running server (a real fault, no stand-in): a browser gets a 500
    page in the site's layout with a way back; a server asking for JSON still gets the short answer."""
    server = await make_server()
    runtime = server.runtime
    campaign_id = await actions.create_campaign(runtime, "Fund", "b", goals=[parse_goal("money:100:EUR")])
    await actions.add_member(runtime, "Mia", "member", None, passwords.hash_password(PASSWORD))
    member = WebClient(server.base_url)
    try:
        await member.sign_in("Mia", PASSWORD)
        await runtime.db.write(_drop_pledges)
        page = await member.get(f"/campaigns/{campaign_id}", headers=BROWSER)
        assert page.status == 500 and page.headers["Content-Type"].startswith("text/html")
        assert "<h1>Something went wrong</h1>" in page.text and 'href="/home"' in page.text
        assert "Traceback" not in page.text and "sqlite" not in page.text.lower()
        assert any(r.exc_info for r in caplog.records if "request failed" in r.getMessage()), "logged"
        async with aiohttp.ClientSession() as session, session.get(
            server.url(f"/campaigns/{campaign_id}"), headers={"Accept": "application/activity+json"}
        ) as response:
            assert response.status in (401, 500) and "html" not in response.headers["Content-Type"]
    finally:
        await member.close()


def _drop_pledges(conn) -> None:  # type: ignore[no-untyped-def]
    conn.execute("DROP TABLE pledges")
