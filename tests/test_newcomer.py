"""A newcomer's first hour: an invitation opened by someone already signed in, and words that count (plural
forms; people counted as people, pledges as pledges)."""

from __future__ import annotations

import re
from decimal import Decimal

from fedgroup import actions
from fedgroup.rules import passwords
from fedgroup.rules.campaigns import format_quantity, parse_goal, parse_option
from tests.web_client import WebClient

PASSWORD = "correct horse battery"


async def _member(server, name: str, role: str = "member") -> int:
    return await actions.add_member(server.runtime, name, role, None, passwords.hash_password(PASSWORD))


async def test_an_invitation_opened_while_signed_in_says_as_whom(make_server):
    server = await make_server()
    await _member(server, "Mia Member")
    link = await actions.create_invite(server.runtime, "member")
    path = "/invite/" + link.rsplit("/", 1)[1]
    visitor, member = WebClient(server.base_url), WebClient(server.base_url)
    try:
        assert "signed in" not in (await visitor.get(path)).text
        await member.sign_in("Mia Member", PASSWORD)
        page = (await member.get(path)).text
        assert re.search(r"You are signed in as <strong>Mia Member</strong>", page), page
        assert 'action="/logout"' in page
    finally:
        await visitor.close()
        await member.close()


def test_quantities_take_their_plural_form():
    assert format_quantity("items", Decimal(1), "photos") == "1 photo"
    assert format_quantity("items", Decimal(3), "photos") == "3 photos"
    assert format_quantity("items", Decimal(1), "batteries") == "1 battery"
    assert format_quantity("items", Decimal(1), "boxes") == "1 box"
    assert format_quantity("items", Decimal(1), "bags of rice") == "1 bag of rice"
    assert format_quantity("items", Decimal(1), None) == "1 item"
    assert format_quantity("items", Decimal(2), None) == "2 items"
    assert format_quantity("people", Decimal(1), None) == "1 person"
    assert format_quantity("hours", Decimal("1.5"), None) == "1.5 hours"


async def test_pages_count_people_as_people_and_pledges_as_pledges(make_server):
    server = await make_server()
    mia = await _member(server, "Mia Member")
    await _member(server, "Olu Organizer", "organizer")
    campaign = await actions.create_campaign(
        server.runtime, "Fix the lift", "b", goals=[parse_goal("items:25:photos")],
        options=[parse_option("Send a photo=items:1")],
    )  # fmt: skip
    await actions.pledge(server.runtime, mia, campaign, option="Send a photo")
    visitor, organizer = WebClient(server.base_url), WebClient(server.base_url)
    try:
        page = (await visitor.get(f"/campaigns/{campaign}")).text
        assert "1 person pledged" in page and "1 pledge." not in page
        assert '<td dir="auto">Send a photo</td><td>1 photo</td>' in page
        group = (await visitor.get("/groups/water")).text
        assert "1 person pledged" in group
        await organizer.sign_in("Olu Organizer", PASSWORD)
        assert "1 person pledged" in (await organizer.get("/organize")).text
        assert "1 person pledged" in (await organizer.get(f"/organize/campaigns/{campaign}")).text
    finally:
        await visitor.close()
        await organizer.close()
