"""Every signed-in route, every method, taken from the app's router: a handler added later that forgets its
guard fails here. Anonymous visitors are sent to the login page (or refused), members are refused organizer
and admin routes, organizers are refused admin routes — each with a valid session and CSRF token, so the
guard itself is what refuses."""

from __future__ import annotations

import re

from aiohttp import web

from fedgroup import actions
from fedgroup.rules import passwords
from fedgroup.rules.campaigns import parse_goal, parse_option
from tests.web_client import WebClient

PASSWORD = "correct horse battery"
RANKS = {"public": 0, "member": 1, "organizer": 2, "admin": 3}

# Which role a path needs, by the start of its route pattern; the first match wins.
SIGNED_IN_AREAS = [
    (re.compile(r"^/admin(/|$)"), "admin"),
    (re.compile(r"^/organize(/|$)"), "organizer"),
    (re.compile(r"^/(home|account)(/|$)"), "member"),
    (re.compile(r"^/partners(/|$)"), "member"),
    (re.compile(r"^/campaigns/\{campaign_id\}/(pledge|withdraw)$"), "member"),
    (re.compile(r"^/pledges/\{pledge_id\}/done$"), "member"),
    (re.compile(r"^/gatherings/\{gathering_id\}/rsvp$"), "member"),
    (re.compile(r"^/proposals(/|$)"), "member"),
]
# Routes anyone may reach, listed one by one: a new route outside the areas above must be added here on
# purpose (or to an area), so that nothing becomes public by omission.
PUBLIC = {
    "/", "/login", "/login/code", "/logout", "/invite/{token}", "/reset/{token}", "/healthz", "/metrics", "/static",
    "/.well-known/webfinger", "/.well-known/host-meta", "/.well-known/nodeinfo", "/nodeinfo/{version}",
    "/actor", "/inbox", "/groups/{handle}", "/groups/{handle}/inbox", "/groups/{handle}/outbox",
    "/groups/{handle}/followers", "/groups/{handle}/following", "/activities/{activity_id}",
    "/campaigns/{campaign_id}", "/campaigns/{campaign_id}/outcome", "/avatar/{digest}",
    "/blueprints/{blueprint_id}", "/gatherings", "/gatherings/{gathering_id}",
    "/gatherings/{gathering_id}/calendar.ics",
    # Feeds: the public ones, and members' private ones, opened by the secret in their link (not a session).
    "/feed.atom", "/calendar.ics", "/feeds/{secret}/feed.atom", "/feeds/{secret}/calendar.ics",
    "/campaigns/{campaign_id}/share", "/decisions/{proposal_id}", "/forgot", "/unsubscribe/{token}",
    "/language",
}  # fmt: skip


def required_role(pattern: str) -> str:
    for area, role in SIGNED_IN_AREAS:
        if area.search(pattern):
            return role
    assert pattern in PUBLIC, f"route {pattern} is in no signed-in area and not listed as public"
    return "public"


def route_table(app: web.Application) -> list[tuple[str, str]]:
    """(method, pattern) for every route of the app, patterns as {name} without their regexes."""
    table = []
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        pattern = info.get("formatter") or info.get("path") or info.get("prefix")
        assert pattern, f"a route whose path cannot be read: {route}"
        pattern = re.sub(r"\{(\w+)(:[^}]*)?\}", r"{\1}", pattern)  # drop the regex part of {name:regex}
        table.append((route.method, pattern))
    return table


async def test_every_signed_in_route_refuses_everyone_below_its_role(make_server):
    server = await make_server()
    runtime = server.runtime
    hashed = passwords.hash_password(PASSWORD)
    for name, role in (("Mia Member", "member"), ("Olu Organizer", "organizer")):
        await actions.add_member(runtime, name, role, None, hashed)
    campaign_id = await actions.create_campaign(
        runtime, "Crossing", "b", goals=[parse_goal("hours:4")], options=[parse_option("One=hours:1")]
    )
    values = {"campaign_id": str(campaign_id), "partner_id": "1", "handle": "water", "token": "x",
              "activity_id": "1", "blueprint_id": "1", "pledge_id": "1", "gathering_id": "1", "proposal_id": "1"}  # fmt: skip

    anonymous, member, organizer = (
        WebClient(server.base_url),
        WebClient(server.base_url),
        WebClient(server.base_url),
    )
    try:
        await member.sign_in("Mia Member", PASSWORD)
        await organizer.sign_in("Olu Organizer", PASSWORD)
        tokens = {
            "member": (await member.get("/home")).csrf,
            "organizer": (await organizer.get("/home")).csrf,
        }
        checked = {"member": 0, "organizer": 0, "admin": 0}
        for method, pattern in route_table(server.app):
            role = required_role(pattern)
            if role == "public":
                continue
            path = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], pattern)
            checked[role] += 1
            # Anonymous: to the login page; a POST without a session may be refused by the CSRF check first.
            async with anonymous.session.request(method, server.url(path), allow_redirects=False) as r:
                if method == "POST":
                    assert r.status in (303, 403), (method, path, r.status)
                else:
                    assert r.status == 303, (method, path, r.status)
                if r.status == 303:
                    assert r.headers["Location"].startswith("/login?next="), (method, path)
            for who, client in (("member", member), ("organizer", organizer)):
                if RANKS[who] >= RANKS[role]:
                    continue
                data = {"csrf": tokens[who]} if method == "POST" else None
                async with client.session.request(method, server.url(path), data=data,
                                                  allow_redirects=False) as r:  # fmt: skip
                    assert r.status == 403, f"{who} reached {method} {path}: {r.status}"
        # The router was read: every area has routes (a renamed area would otherwise pass silently).
        assert all(checked.values()), checked
    finally:
        for client in (anonymous, member, organizer):
            await client.close()


# A number no row can have (SQLite's integers end at 2**63 - 1, 19 digits), and digits int() reads but no
# route or form means: each is "no such thing", never a 500.
NO_ROW_IDS = ("99999999999999999999", "9223372036854775808", "١", "²", "1_0", " 1")


async def test_an_id_no_row_can_have_is_not_found_on_every_route_and_form(make_server):
    """Found by fuzzing every route as an admin: a 20-digit id in any path overflowed SQLite's integer and
    answered 500 (37 routes), and so did the same in a form's or a query's id (pledge, expense, entry, held
    aggregate, delivery)."""
    server = await make_server()
    runtime = server.runtime
    await actions.add_member(runtime, "Ada Admin", "admin", None, passwords.hash_password(PASSWORD))
    campaign_id = await actions.create_campaign(
        runtime, "Crossing", "b", goals=[parse_goal("money:40:EUR")], options=[parse_option("Ten=money:10")]
    )
    admin = WebClient(server.base_url)
    try:
        await admin.sign_in("Ada Admin", PASSWORD)
        csrf = (await admin.get("/home")).csrf
        checked = 0
        for method, pattern in route_table(server.app):
            if "_id}" not in pattern or method == "HEAD":
                continue
            for odd in NO_ROW_IDS:
                path = re.sub(r"\{\w+_id\}", odd, pattern).replace("{handle}", "water")
                data = {"csrf": csrf} if method == "POST" else None
                async with admin.session.request(method, server.url(path), data=data,
                                                 allow_redirects=False) as r:  # fmt: skip
                    assert r.status == 404, f"{method} {path}: {r.status}"
                checked += 1
        assert checked > 100, checked

        organize = f"/organize/campaigns/{campaign_id}"
        for odd in NO_ROW_IDS:
            forms = (
                (f"/campaigns/{campaign_id}/withdraw", {"pledge": odd}, f"/campaigns/{campaign_id}"),
                (
                    f"{organize}/money/expenses/decide",
                    {"expense": odd, "answer": "approve"},
                    f"{organize}/money",
                ),
                ("/organize/partners/held", {"held": odd, "answer": "approve"}, "/organize"),
                ("/admin/queues/retry-delivery", {"delivery": odd}, "/admin/queues"),
            )
            for path, fields, csrf_from in forms:
                answer = await admin.post(path, fields, csrf_from=csrf_from, follow=False)
                assert answer.status in (400, 422), f"{path} {fields}: {answer.status}"
            page = await admin.get(f"{organize}/money/correct?entry=expense&id={odd}")
            assert page.status == 404, (odd, page.status)
    finally:
        await admin.close()
