"""The web UI through real HTTP: every page and form, bad input, CSRF, roles, and what the public never sees."""

from __future__ import annotations

import csv
import html
import io
import re

import pytest

from fedgroup import actions, store
from fedgroup.rules import passwords
from fedgroup.rules.campaigns import parse_goal, parse_option
from tests.conftest import VirtualTime, eventually
from tests.test_federation import follow_of
from tests.web_client import WebClient

PASSWORD = "correct horse battery"


@pytest.fixture
async def web(make_server):
    """A server with an admin, an organizer and a member (each with a password), and a client factory. On
    virtual time: the waits after failed sign-ins pass at once."""
    server = await make_server(app_options=VirtualTime().options())
    runtime = server.runtime
    hashed = passwords.hash_password(PASSWORD)
    ids = {}
    for name, role in (("Ada Admin", "admin"), ("Olu Organizer", "organizer"), ("Mia Member", "member")):
        ids[role] = await actions.add_member(runtime, name, role, f"{role}@private.example", hashed)
    clients: list[WebClient] = []

    def client() -> WebClient:
        c = WebClient(server.base_url)
        clients.append(c)
        return c

    yield server, ids, client
    for c in clients:
        await c.close()


async def _campaign(runtime, visibility="public", title="Safe crossing") -> int:
    return await actions.create_campaign(
        runtime,
        title,
        "Paint the crossing.",
        goals=[parse_goal("money:500:EUR"), parse_goal("hours:40")],
        options=[parse_option("Give €20=money:20"), parse_option("Two hours=hours:2")],
        visibility=visibility,
    )


async def test_public_pages_show_totals_and_progress_but_never_who(web):
    server, ids, client = web
    runtime = server.runtime
    public = await _campaign(runtime)
    hidden = await _campaign(runtime, "members", "Internal planning")
    followers_only = await _campaign(runtime, "followers", "Followers news")
    await actions.pledge(runtime, ids["member"], public, option="Give €20", note="secret note k4q")

    anon = client()
    group = await anon.get("/groups/water")
    assert group.status == 200 and "Safe crossing" in group.text
    assert "Internal planning" not in group.text and "Followers news" not in group.text
    assert '<rect class="bar-fill" x="0" y="0" width="4"' in group.text, "€20 of €500 is a 4% bar"
    page = await anon.get(f"/campaigns/{public}")
    assert page.status == 200 and "€20 of €500" in page.text and "1 person pledged" in page.text
    assert "Pledges over time" in page.text and "<polyline" in page.text
    for private in ("Mia Member", "member@private.example", "secret note k4q"):
        assert private not in group.text and private not in page.text
    assert (await anon.get(f"/campaigns/{hidden}")).status == 404
    assert (await anon.get(f"/campaigns/{followers_only}")).status == 404
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'none'" in csp and "default-src 'self'" in csp
    assert not re.search(r'(src|href)="(https?:)?//(?!127\.0\.0\.1)', page.text), "nothing from another host"
    assert "<script" not in page.text

    member = client()
    await member.sign_in("Mia Member", PASSWORD)
    assert "Internal planning" in (await member.get("/home")).text
    assert (await member.get(f"/campaigns/{hidden}")).status == 200


async def test_sign_in_failures_rate_limit_csrf_and_sign_out(web):
    server, _, client = web
    browser = client()
    wrong = await browser.post("/login", {"name": "Mia Member", "password": "not it at all", "next": "/home"})
    assert wrong.status == 401 and "do not match" in wrong.text
    no_csrf = await browser.post_raw("/login", [("name", "Mia Member"), ("password", PASSWORD)])
    assert no_csrf.status == 403
    forged = await browser.post_raw(
        "/login", [("name", "Mia Member"), ("password", PASSWORD), ("csrf", "guess")]
    )
    assert forged.status == 403

    page = await browser.post(
        "/login", {"name": "mia member", "password": PASSWORD, "next": "//evil.example/x"}
    )
    assert page.url.endswith("/home"), "names match case-insensitively; `next` never leaves the site"
    cookie = next(c for c in browser.session.cookie_jar if c.key == "fedgroup_session")
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    await browser.post("/logout", {}, csrf_from="/home")
    assert (await browser.get("/home")).url.endswith("/login?next=/home")

    # Five failures for one name lock that name for a while, whatever the password.
    attacker = client()
    for _ in range(5):
        await attacker.post("/login", {"name": "Ada Admin", "password": "guess guess guess"})
    locked = await attacker.post("/login", {"name": "Ada Admin", "password": PASSWORD})
    assert locked.status == 429 and "Too many" in locked.text


async def test_invitation_makes_a_member_once(web):
    server, _, client = web
    admin = client()
    await admin.sign_in("Ada Admin", PASSWORD)
    members_page = await admin.post(
        "/admin/members/invite", {"role": "organizer"}, csrf_from="/admin/members"
    )
    link = re.search(r'class="invite" type="text" readonly value="([^"]+)"', members_page.text).group(1)
    path = link.removeprefix(server.base_url)

    newcomer = client()
    assert "as an organizer" in (await newcomer.get(path)).text
    differ = await newcomer.post(
        path, {"name": "Noor", "password": "a long password", "password_again": "another one"}
    )
    assert differ.status == 422 and "differ" in differ.text
    short = await newcomer.post(path, {"name": "Noor", "password": "short", "password_again": "short"})
    assert short.status == 422 and "at least 10" in short.text
    taken = await newcomer.post(
        path, {"name": "mia member", "password": PASSWORD, "password_again": PASSWORD}
    )
    assert taken.status == 422 and "already a member" in taken.text
    joined = await newcomer.post(path, {"name": "Noor", "password": PASSWORD, "password_again": PASSWORD})
    assert joined.url.endswith("/home?done=welcome") and "Welcome" in joined.text
    assert (await server.runtime.db.read(store.members.by_name, "Noor")).role == "organizer"
    assert (await client().get(path)).status == 410, "an invitation works once"


async def test_member_pledges_sees_the_bar_move_changes_and_withdraws(web):
    server, ids, client = web
    campaign_id = await _campaign(server.runtime)
    member = client()
    await member.sign_in("Mia Member", PASSWORD)
    path = f"/campaigns/{campaign_id}"
    before = await member.get(path)
    assert 'width="0"' in before.text

    page = await member.post(f"{path}/pledge", {"option": "Give €20", "note": "cash"}, csrf_from=path)
    assert page.status == 200 and "your pledge is recorded" in page.text and "€20 of €500" in page.text
    own = await member.post(
        f"{path}/pledge", {"option": "own", "kind": "hours", "amount": "5"}, csrf_from=path
    )
    assert "5 of 40 hours" in own.text
    bad = await member.post(
        f"{path}/pledge", {"option": "own", "kind": "hours", "amount": "-3"}, csrf_from=path
    )
    assert bad.status == 422 and 'class="error"' in bad.text and "5 of 40 hours" in bad.text
    wrong_kind = await member.post(
        f"{path}/pledge", {"option": "own", "kind": "items", "amount": "1"}, csrf_from=path
    )
    assert wrong_kind.status == 422
    home = await member.get("/home")
    assert "Give €20 (€20)" in home.text and "cash" in home.text

    [hours, money] = sorted(
        await server.runtime.db.read(store.pledges.pledges_for_campaign, campaign_id), key=lambda p: p.kind
    )
    gone = await member.post(f"{path}/withdraw", {"pledge": str(hours.id)}, csrf_from=path)
    assert "0 of 40 hours" in gone.text, re.findall(r"goal-text\">[^<]*", gone.text)
    # Someone else's pledge cannot be withdrawn by id.
    other = client()
    await other.sign_in("Olu Organizer", PASSWORD)
    refused = await other.post(f"{path}/withdraw", {"pledge": str(money.id)}, csrf_from=path)
    assert refused.status == 422 and "€20 of €500" in refused.text


async def test_organizer_creates_edits_fulfils_exports_reports_and_deletes(web):
    server, ids, client = web
    organizer = client()
    await organizer.sign_in("Olu Organizer", PASSWORD)
    form = {
        "title": "Winter coats",
        "body": "Coats for the shelter.",
        "goal_items": "40",
        "unit_items": "coats",
        "goal_money": "",
        "option_label_0": "One coat",
        "option_kind_0": "items",
        "option_amount_0": "1",
        "deadline": "2099-01-31T18:00",
        "visibility": "public",
    }
    bad = await organizer.post("/organize/campaigns/new", dict(form, goal_items="-4"))
    assert bad.status == 422 and "not an amount" in bad.text and 'value="Winter coats"' in bad.text
    past = await organizer.post("/organize/campaigns/new", dict(form, deadline="2001-01-01T00:00"))
    assert past.status == 422 and "past" in past.text
    no_goal = await organizer.post("/organize/campaigns/new", dict(form, option_kind_0="hours"))
    assert no_goal.status == 422
    created = await organizer.post("/organize/campaigns/new", form)
    assert created.status == 200 and "The campaign is created" in created.text
    campaign_id = int(re.search(r"/organize/campaigns/(\d+)", created.url).group(1))
    state = await server.runtime.db.read(actions.load_campaign, campaign_id)
    assert [o.label for o in state.options] == ["One coat"] and state.row.deadline.hour == 18

    admin_path = f"/organize/campaigns/{campaign_id}"
    edited = await organizer.post(f"{admin_path}/edit", {"title": "Winter coats now", "body": "B", "target_items": "60",
                                                         "deadline": ""}, csrf_from=admin_path)  # fmt: skip
    assert (
        "0 of 60 coats" in edited.text
        and (await server.runtime.db.read(actions.load_campaign, campaign_id)).row.deadline is None
    )

    await actions.add_member(server.runtime, "=HYPERLINK(1)", "member")
    sneaky = await server.runtime.db.read(store.members.by_name, "=HYPERLINK(1)")
    await actions.pledge(server.runtime, sneaky.id, campaign_id, option="One coat", note="+cmd|' /C calc'!A0")
    await actions.pledge(server.runtime, ids["member"], campaign_id, kind="items", amount="3", note="three")
    page = await organizer.get(admin_path)
    assert "Mia Member" in page.text and "three" in page.text, "organizers see who pledged"
    pledges = await server.runtime.db.read(store.pledges.pledges_for_campaign, campaign_id)
    mia = next(p for p in pledges if p.member_id == ids["member"])
    await organizer.post(f"{admin_path}/fulfilled", [("fulfilled", str(mia.id))], csrf_from=admin_path)
    after = {
        p.id: p.fulfilled
        for p in await server.runtime.db.read(store.pledges.pledges_for_campaign, campaign_id)
    }
    assert after[mia.id] is True and sum(after.values()) == 1

    exported = await organizer.get(f"{admin_path}/pledgers.csv")
    assert exported.headers["Content-Type"].startswith("text/csv")
    assert exported.text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(exported.text.removeprefix("\ufeff"))))
    assert rows[0][:3] == ["name", "email", "kind"]
    assert ["Mia Member", "member@private.example", "items", "3"] == rows[
        [r[0] for r in rows].index("Mia Member")
    ][:4]
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row), "no formulas"

    reported = await organizer.post(
        f"{admin_path}/outcome", {"outcome": "We handed out 61 coats."}, csrf_from=admin_path
    )
    assert "The outcome is published" in reported.text and "Closed" in reported.text
    unconfirmed = await organizer.post(f"{admin_path}/delete", {}, csrf_from=admin_path)
    assert unconfirmed.status == 422 and "confirm" in unconfirmed.text
    deleted = await organizer.post(f"{admin_path}/delete", {"confirm": "yes"}, csrf_from=admin_path)
    assert deleted.url.endswith("/organize?done=deleted")
    assert (await client().get(f"/campaigns/{campaign_id}")).status == 410


async def test_roles_guard_every_organizer_and_admin_page(web):
    server, ids, client = web
    campaign_id = await _campaign(server.runtime)
    anon, member, organizer = client(), client(), client()
    await member.sign_in("Mia Member", PASSWORD)
    await organizer.sign_in("Olu Organizer", PASSWORD)
    organizer_pages = ["/organize", "/organize/campaigns/new", f"/organize/campaigns/{campaign_id}",
                       f"/organize/campaigns/{campaign_id}/pledgers.csv", "/organize/blocks"]  # fmt: skip
    for path in [*organizer_pages, "/admin/members", "/home", "/account"]:
        page = await anon.get(path, allow_redirects=False)
        assert page.status == 303 and page.headers["Location"].startswith("/login?next="), path
    for path in [*organizer_pages, "/admin/members"]:
        assert (await member.get(path)).status == 403, path
    assert (await organizer.get("/admin/members")).status == 403
    # A member's valid session and token still cannot post to organizer forms.
    token = (await member.get("/home")).csrf
    closed = await member.post_raw(f"/organize/campaigns/{campaign_id}/close", [("csrf", token)])
    assert closed.status == 403
    assert (await server.runtime.db.read(actions.load_campaign, campaign_id)).row.status == "open"


async def test_admin_changes_roles_keeps_one_admin_and_removes_members_with_their_data(web):
    server, ids, client = web
    campaign_id = await _campaign(server.runtime)
    await actions.pledge(server.runtime, ids["member"], campaign_id, option="Two hours")
    admin = client()
    await admin.sign_in("Ada Admin", PASSWORD)
    promoted = await admin.post("/admin/members/role", {"member": str(ids["member"]), "role": "organizer"},
                                csrf_from="/admin/members")  # fmt: skip
    assert promoted.status == 200
    assert (await server.runtime.db.read(store.members.by_id, ids["member"])).role == "organizer"
    last = await admin.post("/admin/members/role", {"member": str(ids["admin"]), "role": "member"},
                            csrf_from="/admin/members")  # fmt: skip
    assert last.status == 422 and "last admin" in last.text
    asked = await admin.post(
        "/admin/members/remove", {"member": str(ids["member"])}, csrf_from="/admin/members"
    )
    assert "Remove Mia Member?" in asked.text, "the first click asks, saying what will be erased"
    assert await server.runtime.db.read(store.members.by_id, ids["member"]) is not None
    removed = await admin.post(
        "/admin/members/remove", {"member": str(ids["member"]), "confirm": "yes"}, csrf_from="/admin/members"
    )
    assert "Removed" in removed.text and "Mia Member" not in removed.text
    assert await server.runtime.db.read(store.pledges.pledges_for_campaign, campaign_id) == []
    bogus = await admin.post("/admin/members/remove", {"member": "abc"}, csrf_from="/admin/members")
    assert bogus.status == 422


async def test_password_change_signs_out_other_sessions(web):
    _, _, client = web
    laptop, phone = client(), client()
    await laptop.sign_in("Mia Member", PASSWORD)
    await phone.sign_in("Mia Member", PASSWORD)
    wrong = await laptop.post(
        "/account", {"current": "nope nope nope", "new": "a new password", "new_again": "a new password"}
    )
    assert wrong.status == 422 and "not your current password" in wrong.text
    changed = await laptop.post(
        "/account", {"current": PASSWORD, "new": "a new password", "new_again": "a new password"}
    )
    assert "password is changed" in changed.text
    assert (await laptop.get("/home")).url.endswith("/home")
    assert "/login" in (await phone.get("/home")).url, "the other session ended"


async def test_a_blocked_actor_is_refused_and_forgotten(web, peer):
    server, _, client = web
    alice = peer.add_actor("alice", "peer-1")
    follow = follow_of(alice, server.url("/groups/water"))
    assert (await peer.post(alice, server.url("/groups/water/inbox"), follow))[0] == 202
    await eventually(lambda: server.runtime.db.read(store.follows.is_accepted_follower, alice.id))
    organizer = client()
    await organizer.sign_in("Olu Organizer", PASSWORD)
    bad = await organizer.post("/organize/blocks", {"target": "not a domain"})
    assert bad.status == 422
    page = await organizer.post("/organize/blocks", {"target": alice.id})
    assert "Blocked" in page.text and alice.id in page.text
    assert not await server.runtime.db.read(store.follows.is_accepted_follower, alice.id)
    again = follow_of(alice, server.url("/groups/water"))
    assert (await peer.post(alice, server.url("/groups/water/inbox"), again))[0] == 403
    campaign_id = await _campaign(server.runtime)
    status, _ = await peer.get(alice, server.url(f"/campaigns/{campaign_id}"))
    assert status == 403
    await organizer.post("/organize/blocks/remove", {"target": alice.id}, csrf_from="/organize/blocks")
    assert (await peer.get(alice, server.url(f"/campaigns/{campaign_id}")))[0] == 200


async def test_coalition_from_the_organize_page_and_a_member_pledges_to_the_partner(make_server):
    a = await make_server("a", handle="tenants")
    c = await make_server("c", handle="crossing")
    hashed = passwords.hash_password(PASSWORD)
    await actions.add_member(a.runtime, "Olu Organizer", "organizer", None, hashed)
    await actions.add_member(a.runtime, "Mia Member", "member", None, hashed)
    organizer, member = WebClient(a.base_url), WebClient(a.base_url)
    try:
        await organizer.sign_in("Olu Organizer", PASSWORD)
        unknown = await organizer.post("/organize/coalition/follow", {"handle": "@nobody@127.0.0.1:1"},
                                       csrf_from="/organize")  # fmt: skip
        assert unknown.status == 422 and "We could not reach 127.0.0.1:1. Check the address" in unknown.text
        assert "Error" not in unknown.text.split("<main", 1)[-1].replace("Error:", ""), "no exception names"
        for handle, words in [
            (f"@nobody@{c.config.domain}", "We could not find that group. Check the handle: it looks like @name@example.org."),
            ("crossing", "That is not a handle we can look up. A group's handle looks like @name@example.org."),
        ]:  # fmt: skip
            refused = await organizer.post("/organize/coalition/follow", {"handle": handle}, csrf_from="/organize")
            assert refused.status == 422 and html.escape(words).replace("&#x27;", "&#39;") in refused.text, refused.text
        sent = await organizer.post("/organize/coalition/follow", {"handle": f"@crossing@{c.config.domain}"},
                                    csrf_from="/organize")  # fmt: skip
        assert "Follow request sent" in sent.text
        c_group = c.url("/groups/crossing")

        async def accepted():
            following = await a.runtime.db.read(store.follows.following_of, c_group)
            return following is not None and following.state == "accepted"

        await eventually(accepted)
        await actions.accept_partner(c.runtime, a.url("/groups/tenants"))  # C counts A's aggregates
        campaign_id = await _campaign(c.runtime)
        partner = await eventually(lambda: a.runtime.db.read(store.campaigns.partner_campaign_by_object, c.url(f"/campaigns/{campaign_id}")))  # fmt: skip

        await member.sign_in("Mia Member", PASSWORD)
        assert "Safe crossing" in (await member.get("/home")).text
        path = f"/partners/{partner.id}"
        page = await member.post(
            f"{path}/pledge", {"option": "Two hours", "note": "private k9z"}, csrf_from=path
        )
        assert page.status == 200 and "your pledge is recorded" in page.text
        bad = await member.post(f"{path}/pledge", {"option": "No such option"}, csrf_from=path)
        assert bad.status == 422

        async def partner_groups() -> int:
            return (await c.runtime.db.read(actions.load_campaign, campaign_id)).tally.partner_groups

        await eventually(partner_groups)
        [mine] = await a.runtime.db.read(store.pledges.pledges_of_member, (await a.runtime.db.read(store.members.by_name, "Mia Member")).id)  # fmt: skip
        await member.post(f"{path}/withdraw", {"pledge": str(mine.id)}, csrf_from=path)
        await eventually(lambda: _is_zero(partner_groups))

        asked = await organizer.post("/organize/coalition/leave", {"group": c_group}, csrf_from="/organize")
        assert "Leave the coalition with" in asked.text, "the first click asks, saying what is withdrawn"
        assert await a.runtime.db.read(store.follows.following_of, c_group) is not None
        left = await organizer.post(
            "/organize/coalition/leave", {"group": c_group, "confirm": "yes"}, csrf_from="/organize"
        )
        assert "You left the coalition" in left.text
        assert await a.runtime.db.read(store.follows.following_of, c_group) is None
    finally:
        await organizer.close()
        await member.close()


async def _is_zero(probe) -> bool:
    return await probe() == 0
