"""Invitations as admins manage them: the link shown with the role it grants in a field that can be selected
without JavaScript, the open invitations with their expiry, revoking one, and pages that send newcomers to
the admins (only admins invite)."""

from __future__ import annotations

import re
from datetime import timedelta

from fedgroup import actions
from fedgroup.rules import passwords
from tests.conftest import MovableClock
from tests.web_client import WebClient

PASSWORD = "correct horse battery"


async def test_admins_see_the_role_copy_list_and_revoke_invitations(make_server):
    clock = MovableClock()
    server = await make_server(timezone="Europe/Madrid", app_options={"clock": clock})
    await actions.add_member(server.runtime, "Ada Admin", "admin", None, passwords.hash_password(PASSWORD))
    admin, newcomer = WebClient(server.base_url), WebClient(server.base_url)
    try:
        await admin.sign_in("Ada Admin", PASSWORD)
        assert "None: every link made was used" in (await admin.get("/admin/members")).text
        created = await admin.post("/admin/members/invite", {"role": "organizer"}, csrf_from="/admin/members")
        assert "They join as <strong>organizer</strong>" in created.text
        field = re.search(
            r'<input id="invite-link" class="invite" type="text" readonly value="([^"]+)"', created.text
        )
        assert field, "the link is in a readonly text field: selectable and copyable without JavaScript"
        link = field.group(1).removeprefix(server.base_url)
        assert 'for="invite-link">Invitation link (organizer)' in created.text
        await admin.post("/admin/members/invite", {"role": "member"}, csrf_from="/admin/members")

        listing = await admin.get("/admin/members")
        rows = re.findall(
            r"<tr><td>(admin|organizer|member)</td><td>([^<]+)</td><td>([^<]+)</td>", listing.text
        )
        assert sorted(r[0] for r in rows) == ["member", "organizer"], "each open invitation with its role"
        assert all("(Europe/Madrid)" in r[2] for r in rows), "expiry shown, in the group's time zone"
        assert link.split("/invite/")[1] not in listing.text, "the list never shows a link again"

        invite_ids = re.findall(r'name="invite" value="(\d+)"', listing.text)
        organizer_row = listing.text.index("<tr><td>organizer</td>")
        organizer_id = re.search(r'name="invite" value="(\d+)"', listing.text[organizer_row:]).group(1)
        assert len(invite_ids) == 2
        revoked = await admin.post("/admin/members/invites/revoke", {"invite": organizer_id},
                                   csrf_from="/admin/members")  # fmt: skip
        assert revoked.status == 200 and "Invitation revoked" in revoked.text
        again = await admin.post("/admin/members/invites/revoke", {"invite": organizer_id},
                                 csrf_from="/admin/members")  # fmt: skip
        assert again.status == 422 and "used or revoked already" in again.text

        dead = await newcomer.get(link)
        assert dead.status == 410 and "revoked" in dead.text
        assert "organizer" not in dead.text.lower(), "only admins invite: never 'ask an organizer'"
        assert "admins" in dead.text
        login = await newcomer.get("/login")
        assert "organizer" not in login.text.lower() and "admins can send you an invitation" in login.text

        # Expired invitations leave the list.
        clock.advance(timedelta(hours=actions.INVITE_HOURS, seconds=1))
        assert "None: every link made was used" in (await admin.get("/admin/members")).text
    finally:
        await admin.close()
        await newcomer.close()
