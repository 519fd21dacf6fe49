"""A newcomer's first hour: an invitation opened by someone already signed in."""

from __future__ import annotations

import re

from fedgroup import actions
from fedgroup.rules import passwords
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
