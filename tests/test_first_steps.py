"""The admin's first steps on /home (name the group, invite an organizer, create the first campaign): each
shown done or with a link to where it is done, read from what the group holds, gone once all are done or an
admin hides them (for good: a later session does not bring them back). Members and organizers never see them."""

from __future__ import annotations

import re

from fedgroup import actions
from fedgroup.rules import passwords
from fedgroup.rules.campaigns import parse_goal
from fedgroup.rules.first_steps import DEFAULT_GROUP_NAME, first_steps
from tests.web_client import WebClient

PASSWORD = "correct horse battery"
STEP_LINKS = (
    'href="/admin/group"',
    'href="/admin/members?role=organizer#invite"',
    'href="/organize/campaigns/new"',
)


def steps_of(page: str) -> str:
    """The first steps' section of a /home page ("" when there is none)."""
    found = re.search(r'<section class="first-steps".*?</section>', page, re.S)
    return found.group(0) if found else ""


def test_each_step_is_read_from_the_group_as_it_stands():
    assert first_steps(DEFAULT_GROUP_NAME, 1, 0, 0) == first_steps(" My group ", 1, 0, 0)
    assert not first_steps(DEFAULT_GROUP_NAME, 1, 0, 0).group_named
    assert first_steps("Mill Road tenants", 1, 0, 0).group_named
    assert not first_steps("x", 1, 0, 0).organizer_invited  # the first admin alone
    assert first_steps("x", 2, 0, 0).organizer_invited
    assert first_steps("x", 1, 1, 0).organizer_invited
    assert first_steps("x", 2, 0, 1).complete and not first_steps("x", 2, 0, 0).complete


async def test_the_admin_sees_each_step_until_it_is_done_and_nobody_else_sees_them(make_server):
    server = await make_server(display_name=DEFAULT_GROUP_NAME)
    hashed = passwords.hash_password(PASSWORD)
    await actions.add_member(server.runtime, "Ada Admin", "admin", None, hashed)
    await actions.add_member(server.runtime, "Mia Member", "member", None, hashed)
    admin, member, organizer = (WebClient(server.base_url) for _ in range(3))
    try:
        await admin.sign_in("Ada Admin", PASSWORD)
        await member.sign_in("Mia Member", PASSWORD)
        steps = steps_of((await admin.get("/home")).text)
        assert "Your first steps" in steps
        assert all(link in steps for link in STEP_LINKS), steps
        assert "Done" not in steps
        assert steps_of((await member.get("/home")).text) == ""
        # The invitation form the second link opens starts on "organizer".
        members_page = (await admin.get("/admin/members?role=organizer")).text
        assert re.search(r'<option value="organizer" selected>organizer</option>', members_page), members_page

        renamed = await admin.post(
            "/admin/group", {"name": "Mill Road tenants", "summary": "", "timezone": "UTC"}
        )
        assert renamed.status == 200, renamed.text
        steps = steps_of((await admin.get("/home")).text)
        assert "<strong>Done:</strong> the group is named Mill Road tenants." in steps
        assert STEP_LINKS[0] not in steps and STEP_LINKS[1] in steps

        # A member's invitation is not an organizer's; an organizer's counts while it can be used.
        await admin.post("/admin/members/invite", {"role": "member"}, csrf_from="/admin/members")
        assert STEP_LINKS[1] in steps_of((await admin.get("/home")).text)
        await admin.post("/admin/members/invite", {"role": "organizer"}, csrf_from="/admin/members")
        steps = steps_of((await admin.get("/home")).text)
        assert "<strong>Done:</strong> an organizer is invited." in steps and STEP_LINKS[1] not in steps
        open_ids = re.findall(r'name="invite" value="(\d+)"', (await admin.get("/admin/members")).text)
        for invite_id in open_ids:
            await admin.post(
                "/admin/members/invites/revoke", {"invite": invite_id}, csrf_from="/admin/members"
            )
        assert STEP_LINKS[1] in steps_of((await admin.get("/home")).text), (
            "a revoked invitation invites nobody"
        )
        await actions.add_member(server.runtime, "Olu Organizer", "organizer", None, hashed)
        assert STEP_LINKS[1] not in steps_of((await admin.get("/home")).text)
        await organizer.sign_in("Olu Organizer", PASSWORD)
        assert steps_of((await organizer.get("/home")).text) == ""

        await actions.create_campaign(server.runtime, "Fix the lift", "b", goals=[parse_goal("people:10")])
        home = (await admin.get("/home")).text
        assert steps_of(home) == "" and "Your first steps" not in home, "all three done: the steps are gone"
    finally:
        for client in (admin, member, organizer):
            await client.close()


async def test_an_admin_hides_the_first_steps_for_every_later_session(make_server):
    server = await make_server(display_name=DEFAULT_GROUP_NAME)
    hashed = passwords.hash_password(PASSWORD)
    await actions.add_member(server.runtime, "Ada Admin", "admin", None, hashed)
    await actions.add_member(server.runtime, "Ben Admin", "admin", None, hashed)
    first, later, other = (WebClient(server.base_url) for _ in range(3))
    try:
        await first.sign_in("Ada Admin", PASSWORD)
        assert steps_of((await first.get("/home")).text)
        hidden = await first.post("/admin/first-steps/dismiss", {}, csrf_from="/home", follow=False)
        assert hidden.status == 303 and hidden.headers["Location"] == "/home?done=first-steps-hidden"
        home = (await first.get("/home?done=first-steps-hidden")).text
        assert steps_of(home) == "" and "The first steps are hidden." in home
        await later.sign_in("Ada Admin", PASSWORD)
        assert steps_of((await later.get("/home")).text) == ""
        await other.sign_in("Ben Admin", PASSWORD)
        assert steps_of((await other.get("/home")).text) == "", "the group's steps, hidden for its admins"
    finally:
        for client in (first, later, other):
            await client.close()
