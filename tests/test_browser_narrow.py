"""Every page fits a 320 px wide screen with no horizontal scroll, for every role: each GET route of the app
(read from its router, so a page added later is visited too) is opened in chromium at 320 px as a visitor, a
member, an organizer and an admin, and the document may be no wider than the screen."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from fedgroup import actions, store
from fedgroup.actions import blueprints as blueprint_actions
from fedgroup.rules import passwords
from fedgroup.rules.campaigns import parse_goal, parse_option
from tests import test_browser
from tests.test_browser import CHROMIUM, PASSWORD, sign_in
from tests.test_role_guards import route_table

browser = test_browser.browser

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian chromium is not installed (apt-get install chromium)"
)

WIDTH = 320
# Not pages: files, feeds and documents for programs (their own tests check them).
NOT_PAGES = re.compile(
    r"\.(csv|json|atom|ics)$|^/(static|avatar|feeds|\.well-known|nodeinfo)|^/inbox$|/inbox$"
)
LONG = "Averyveryverylongwordthatnobodywouldtypebutsomeonewillanyway" * 2


async def _world(server) -> dict[str, str]:
    """A group with something on every page: long words, a campaign with pledges and a money record, an
    outcome, a partner campaign, a blueprint, a draft, open invitations, a reset link."""
    runtime = server.runtime
    hashed = passwords.hash_password(PASSWORD)
    ids = {}
    for name, role in (("Ada Admin", "admin"), ("Olu Organizer", "organizer"), ("Mia Member", "member")):
        ids[role] = await actions.add_member(runtime, name, role, f"{role}.{LONG}@example.org", hashed)
    deadline = datetime.now(UTC) + timedelta(days=10)
    campaign = await actions.create_campaign(
        runtime, f"A safe crossing {LONG}", f"Body {LONG} " * 5,
        goals=[parse_goal("money:500:EUR"), parse_goal("hours:40"), parse_goal("items:25:photos")],
        options=[parse_option(f"Give €20 {LONG[:40]}=money:20"), parse_option("Two hours=hours:2"),
                 parse_option("Send a photo=items:1")],
        deadline=deadline,
    )  # fmt: skip
    await actions.pledge(runtime, ids["member"], campaign, option="Two hours", note=f"Note {LONG}")
    await actions.pledge(runtime, ids["organizer"], campaign, option=f"Give €20 {LONG[:40]}")
    await actions.record_money_received(
        runtime, campaign, ids["organizer"], f"Cash {LONG[:60]}", "120", "2026-11-02"
    )
    finished = await actions.create_campaign(
        runtime, "Finished", "Done.", goals=[parse_goal("hours:4")], options=[parse_option("One=hours:1")]
    )
    await actions.pledge(runtime, ids["member"], finished, option="One")
    await actions.report_outcome(runtime, finished, f"We won. {LONG}")
    blueprint = await blueprint_actions.publish_blueprint(
        runtime, finished, title=f"How we won {LONG}", summary=f"Summary {LONG}", steps=[f"Step {LONG}"]
    )
    now = runtime.now()
    draft = await runtime.db.write(
        store.campaigns.insert, f"Draft {LONG}", "b", "public", None, False, [("hours", Decimal(4), None)], [],
        now, draft=True,
    )  # fmt: skip
    partner = await runtime.db.write(
        store.campaigns.save_partner_campaign, "https://partner.example/campaigns/7",
        f"https://partner.example/groups/{LONG}", f"Partner {LONG}", f"<p>{LONG}</p>", None,
        '[{"kind": "hours", "target": "100", "pledged": "3"}]', '[{"name": "One", "kind": "hours", "amount": "1"}]',
        deadline, False, "public", now, now,
    )  # fmt: skip
    await actions.create_invite(runtime, "organizer")
    reset = await actions.create_password_reset(runtime, ids["member"])
    invite = await actions.create_invite(runtime, "member")
    return {
        "campaign_id": str(campaign),
        "draft_id": str(draft),
        "partner_id": str(partner),
        "blueprint_id": str(blueprint),
        "token": invite.rsplit("/", 1)[1],
        "reset": reset.rsplit("/", 1)[1],
        "handle": "water",
        "activity_id": "00000000-0000-0000-0000-000000000000",
        "pledge_id": "1",
        "proposal_id": "1",
        "gathering_id": "1",
    }


def _paths(app, values: dict[str, str]) -> list[str]:
    paths = []
    for method, pattern in route_table(app):
        if method != "GET" or NOT_PAGES.search(pattern):
            continue
        if pattern.startswith("/organize/drafts/"):
            pattern = pattern.replace("{campaign_id}", values["draft_id"])
        if pattern.startswith("/reset/"):
            pattern = pattern.replace("{token}", values["reset"])
        path = re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "1"), pattern)
        if path not in paths:
            paths.append(path)
    return paths


async def test_every_page_fits_320_px_for_every_role(make_server, browser):
    server = await make_server()
    values = await _world(server)
    paths = _paths(server.app, values)
    assert len(paths) > 20, paths
    too_wide: list[str] = []
    visited = 0
    for who in (None, "Mia Member", "Olu Organizer", "Ada Admin"):
        context = await browser.new_context(viewport={"width": WIDTH, "height": 700})
        page = await context.new_page()
        if who:
            await sign_in(page, server.base_url, who)
        for path in paths:
            response = await page.goto(server.url(path))
            if response is None or not response.headers.get("content-type", "").startswith("text/html"):
                continue
            visited += 1
            width = await page.evaluate("document.scrollingElement.scrollWidth")
            if width > WIDTH:
                too_wide.append(f"{who or 'visitor'} {path} ({response.status}): {width} px")
        await context.close()
    assert visited > 60, visited
    assert not too_wide, "\n".join(too_wide)
