"""The kept renderings of the public group and campaign pages and of campaign views (ui/renderings.py), through real HTTP: fresh
after every write (ours, or a CLI process's), never a member's page for anyone else, public campaigns only,
the headers of a rendered page, and bounded."""

from __future__ import annotations

import asyncio
import re
import sys
from datetime import timedelta

import pytest

from fedgroup import actions, store
from fedgroup.rules import passwords
from fedgroup.rules.campaigns import parse_goal, parse_option
from fedgroup.store.kept import Kept
from fedgroup.ui import renderings
from fedgroup.ui.sessions import FORM_COOKIE, SESSION_COOKIE
from tests.conftest import MovableClock
from tests.web_client import WebClient

PASSWORD = "correct horse battery"


@pytest.fixture
async def site(make_server):
    """A server with a member who has a password, one public campaign, and a client factory."""
    clock = MovableClock()
    server = await make_server(app_options={"clock": clock})
    runtime = server.runtime
    member = await actions.add_member(
        runtime, "Mia Member", "member", "mia@private.example", passwords.hash_password(PASSWORD)
    )
    campaign = await _campaign(runtime, "Safe crossing")
    clients: list[WebClient] = []

    def client() -> WebClient:
        c = WebClient(server.base_url)
        clients.append(c)
        return c

    yield server, member, campaign, client, clock
    for c in clients:
        await c.close()


async def _campaign(runtime, title: str, visibility: str = "public", deadline=None) -> int:
    return await actions.create_campaign(
        runtime,
        title,
        "Paint the crossing.",
        goals=[parse_goal("money:500:EUR")],
        options=[parse_option("Give €20=money:20"), parse_option("Give €50=money:50")],
        visibility=visibility,
        deadline=deadline,
    )


def pledges_shown(text: str) -> str:
    found = re.search(r'<p class="pledgers">(\d+) (?:person|people) pledged', text)
    assert found, "the page shows how many pledged"
    return found.group(1)


async def test_a_stored_page_shows_a_pledge_made_through_the_web_on_the_next_request(site):
    server, _, campaign, client, _ = site
    anon, mia = client(), client()
    first = await anon.get(f"/campaigns/{campaign}")
    again = await anon.get(f"/campaigns/{campaign}")
    assert first.status == again.status == 200 and again.text == first.text
    assert pledges_shown(again.text) == "0"
    assert len(renderings.of(server.runtime).pages) >= 1, "the anonymous page is kept"
    group = await anon.get("/groups/water")
    assert "0 people pledged" in group.text

    await mia.sign_in("Mia Member", PASSWORD)
    pledged = await mia.post(
        f"/campaigns/{campaign}/pledge",
        {"option": "Give €50", "note": ""},
        csrf_from=f"/campaigns/{campaign}",
    )
    assert pledged.status == 200 and "your pledge is recorded" in pledged.text

    after = await anon.get(f"/campaigns/{campaign}")
    assert pledges_shown(after.text) == "1" and "€50 of €500" in after.text
    assert "1 person pledged" in (await anon.get("/groups/water")).text


async def test_a_stored_page_shows_an_edit_made_by_another_process(site):
    server, _, campaign, client, _ = site
    anon = client()
    assert "Safe crossing" in (await anon.get(f"/campaigns/{campaign}")).text
    assert "Safe crossing" in (await anon.get("/groups/water")).text
    data_dir = str(server.config.data_dir)
    cli = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "fedgroup.cli", "campaign", "edit", str(campaign),
        "--title", "Safe crossing at Mill Road", "--data-dir", data_dir,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(cli.communicate(), 60)
    assert cli.returncode == 0, err.decode()
    assert "Safe crossing at Mill Road" in (await anon.get(f"/campaigns/{campaign}")).text
    assert "Safe crossing at Mill Road" in (await anon.get("/groups/water")).text


async def test_a_stored_page_shows_an_edit_through_actions_and_a_new_campaign(site):
    server, _, campaign, client, _ = site
    anon = client()
    await anon.get(f"/campaigns/{campaign}")
    await anon.get("/groups/water")
    await actions.edit_campaign(server.runtime, campaign, "Crossing now", "New text.", None)
    page = await anon.get(f"/campaigns/{campaign}")
    assert "Crossing now" in page.text and "New text." in page.text
    await _campaign(server.runtime, "Second campaign")
    assert "Second campaign" in (await anon.get("/groups/water")).text


async def test_members_get_their_own_page_and_visitors_never_see_it(site):
    server, member, campaign, client, _ = site
    anon, mia = client(), client()
    await anon.get(f"/campaigns/{campaign}")  # stored before anyone signs in
    await mia.sign_in("Mia Member", PASSWORD)
    await mia.post(
        f"/campaigns/{campaign}/pledge",
        {"option": "Give €20", "note": "my secret note q7z"},
        csrf_from=f"/campaigns/{campaign}",
    )

    mine = await mia.get(f"/campaigns/{campaign}")
    assert "Your pledge" in mine.text and "Your pledges here" in mine.text and "Withdraw" in mine.text
    assert 'class="pledge-form"' in mine.text and "Sign out" in mine.text
    assert mine.headers["Cache-Control"] == "no-store"
    own_csrf = mine.csrf
    group_mine = await mia.get("/groups/water")
    assert "Sign out" in group_mine.text

    for path in (f"/campaigns/{campaign}", "/groups/water"):
        for _ in range(2):  # rendered, then stored
            page = await anon.get(path)
            assert page.status == 200
            for private in ("Your pledge", "Sign out", "Withdraw", "pledge-form", "Mia Member", own_csrf,
                            "my secret note q7z", 'name="csrf"'):  # fmt: skip
                assert private not in page.text, (path, private)
            assert "Sign in" in page.text
            assert page.headers["Cache-Control"] == "no-cache"
    # And the member still gets their own page after the visitors' one was stored.
    again = await mia.get(f"/campaigns/{campaign}")
    assert "Your pledges here" in again.text and again.csrf == own_csrf


async def test_a_visitor_with_an_unknown_session_cookie_is_a_visitor(site):
    server, _, campaign, _, _ = site
    stranger = WebClient(server.base_url)
    try:
        stranger.session.cookie_jar.update_cookies({SESSION_COOKIE: "not-a-session"})
        page = await stranger.get(f"/campaigns/{campaign}")
        assert page.status == 200 and "Sign in" in page.text and "Sign out" not in page.text
    finally:
        await stranger.close()


async def test_followers_and_members_campaigns_are_never_stored_or_shown_to_visitors(site):
    server, _, _, client, _ = site
    runtime = server.runtime
    hidden = await _campaign(runtime, "Internal planning", "members")
    followers = await _campaign(runtime, "Followers news", "followers")
    anon, mia = client(), client()
    await mia.sign_in("Mia Member", PASSWORD)
    for campaign in (hidden, followers):
        assert (await mia.get(f"/campaigns/{campaign}")).status == 200
    group_mine = await mia.get("/groups/water")
    assert "Internal planning" in group_mine.text and "Followers news" in group_mine.text

    for campaign in (hidden, followers):
        for _ in range(2):
            assert (await anon.get(f"/campaigns/{campaign}")).status == 404
    for _ in range(2):
        group = await anon.get("/groups/water")
        assert "Internal planning" not in group.text and "Followers news" not in group.text
    pages = renderings.of(runtime).pages
    stored = b"".join(pages.values())
    assert b"Internal planning" not in stored and b"Followers news" not in stored
    assert all(key[1] not in (hidden, followers) for key in pages.keys() if key[0] == "campaign")


async def test_a_stored_page_keeps_the_security_headers_and_sets_no_cookie(site):
    server, _, campaign, client, _ = site
    anon = client()
    for path in (f"/campaigns/{campaign}", "/groups/water"):
        rendered, stored = await anon.get(path), await anon.get(path)
        assert stored.text == rendered.text
        for page in (rendered, stored):
            assert page.headers["Content-Type"] == "text/html; charset=utf-8"
            assert "script-src 'none'" in page.headers["Content-Security-Policy"]
            assert page.headers["X-Frame-Options"] == "DENY"
            assert page.headers["X-Content-Type-Options"] == "nosniff"
            assert page.headers["Referrer-Policy"] == "same-origin"
            assert page.headers["Cache-Control"] == "no-cache"
            assert "Set-Cookie" not in page.headers, "nothing of the visitor's own: no form cookie either"
    assert not any(c.key == FORM_COOKIE for c in anon.session.cookie_jar)
    # The sign-in page still hands out its form token.
    assert (await anon.get("/login")).csrf


async def test_the_notice_after_a_redirect_is_its_own_page(site):
    server, _, campaign, client, _ = site
    anon = client()
    plain = await anon.get(f"/campaigns/{campaign}")
    noticed = await anon.get(f"/campaigns/{campaign}?done=withdrawn")
    assert "Your pledge is withdrawn." in noticed.text and "Your pledge is withdrawn." not in plain.text
    assert "Your pledge is withdrawn." not in (await anon.get(f"/campaigns/{campaign}?utm=x")).text
    assert "&lt;b&gt;" not in (await anon.get(f"/campaigns/{campaign}?done=<b>")).text


async def test_a_stored_page_closes_at_the_deadline_and_follows_the_clock(site):
    server, _, _, client, clock = site
    runtime = server.runtime
    campaign = await _campaign(runtime, "Short one", deadline=runtime.now() + timedelta(hours=2))
    anon = client()
    for _ in range(2):
        assert "Open until" in (await anon.get(f"/campaigns/{campaign}")).text
    clock.advance(timedelta(hours=3))  # no write: the deadline alone closes it
    page = await anon.get(f"/campaigns/{campaign}")
    assert "Open until" not in page.text and "Closed" in page.text
    group = await anon.get("/groups/water")
    card = group.text[group.text.index("Short one") :]
    assert card[: card.index("</article>")].count("Closed") == 1


async def test_a_stored_page_is_rendered_again_after_its_max_age(site):
    server, member, campaign, client, clock = site
    # The chart (which runs up to now) is drawn from the first pledge on.
    await actions.pledge(server.runtime, member, campaign, option="Give €20")
    anon = client()
    day = (await anon.get(f"/campaigns/{campaign}")).text
    assert (await anon.get(f"/campaigns/{campaign}")).text == day
    clock.advance(timedelta(days=40))  # no write: the chart, which runs up to now, has moved on
    later = (await anon.get(f"/campaigns/{campaign}")).text
    end = re.compile(r'<span class="tick">([^<]+)</span></div>\n</div>\n<figcaption>')
    assert end.search(later) and end.search(day) and end.search(later)[1] != end.search(day)[1]


async def test_deleted_campaigns_are_gone_for_visitors_at_once(site):
    server, _, campaign, client, _ = site
    anon = client()
    await anon.get(f"/campaigns/{campaign}")
    await actions.delete_campaign(server.runtime, campaign)
    assert (await anon.get(f"/campaigns/{campaign}")).status == 410
    assert "Safe crossing" not in (await anon.get("/groups/water")).text


async def test_the_stored_pages_stay_bounded(site):
    server, _, first, client, _ = site
    runtime = server.runtime
    pages = renderings.of(runtime).pages
    pages.max_entries = 3
    ids = [first] + [await _campaign(runtime, f"Campaign {i}") for i in range(6)]
    anon = client()
    for _ in range(2):
        for campaign in ids:
            page = await anon.get(f"/campaigns/{campaign}")
            assert page.status == 200 and f"login?next=/campaigns/{campaign}" in page.text
            assert len(pages) <= 3
    assert len(pages) == 3

    views = renderings.of(runtime).views
    assert 0 < len(views) <= views.max_entries

    small = Kept(max_entries=100, max_bytes=1000)
    now = runtime.now()
    for i in range(20):
        small.put(("k", i), 0, b"x" * 300, now + timedelta(seconds=5), 300)
        assert small.size <= 1000 and len(small) <= 3
    small.put("too big", 0, b"x" * 1001, now + timedelta(seconds=5), 1001)
    assert "too big" not in small
    assert small.get(("k", 19), now) == b"x" * 300
    small.shown.bump(["all"])
    assert small.get(("k", 19), now) is None and len(small) == 2, "a change to what it shows drops it"


async def test_members_pages_show_every_write_at_once(site):
    """Members' pages are rendered for them from kept campaign views: those follow each write too."""
    server, _, campaign, client, _ = site
    runtime = server.runtime
    other = await actions.add_member(runtime, "Oli Other", "member")
    mia = client()
    await mia.sign_in("Mia Member", PASSWORD)
    assert pledges_shown((await mia.get(f"/campaigns/{campaign}")).text) == "0"
    assert "0 people pledged" in (await mia.get("/groups/water")).text
    assert "0 people pledged" in (await mia.get("/home")).text
    await actions.pledge(runtime, other, campaign, option="Give €20")
    assert pledges_shown((await mia.get(f"/campaigns/{campaign}")).text) == "1"
    assert "1 person pledged" in (await mia.get("/groups/water")).text
    assert "1 person pledged" in (await mia.get("/home")).text
    hidden = await _campaign(runtime, "Internal planning", "members")
    assert "Internal planning" in (await mia.get("/groups/water")).text
    assert (await mia.get(f"/campaigns/{hidden}")).status == 200
    await actions.delete_campaign(runtime, hidden)
    assert "Internal planning" not in (await mia.get("/groups/water")).text
    assert (await mia.get(f"/campaigns/{hidden}")).status == 410


async def test_visitors_without_cookies_are_answered_by_the_fast_lane_as_the_page_handler_answers(site):
    """app.kept_pages_middleware answers a visitor without cookies from the kept page, before the middlewares
    and the handler; it must answer exactly what they would, and step aside whenever they would answer
    something else."""
    server, member, campaign, client, _ = site
    runtime = server.runtime
    lane = server.app[renderings.KEPT_ADDRESSES]
    anon = client()
    for path in (f"/campaigns/{campaign}", "/groups/water"):
        rendered = await anon.get(path)
        before = lane.answered
        fast = await anon.get(path)
        assert lane.answered == before + 1, "the second visit is the fast lane's"
        assert fast.text == rendered.text and fast.status == 200
        for name in ("Content-Type", "Content-Security-Policy", "X-Frame-Options", "Cache-Control", "Vary"):
            assert fast.headers[name] == rendered.headers[name], name
        head = await anon.session.head(server.base_url + path)
        assert head.status == 200 and head.headers["Content-Type"] == "text/html; charset=utf-8"

    # A server asking for ActivityStreams at the same address is the federation side's (which wants its
    # fetch signed, here), never given the kept page.
    before = lane.answered
    document = await anon.get(f"/campaigns/{campaign}", headers={"Accept": "application/activity+json"})
    assert document.status == 401 and not document.headers["Content-Type"].startswith("text/html")
    assert lane.answered == before

    # Each language its own page: a Spanish browser is not served the English one kept at the same address.
    english = (await anon.get(f"/campaigns/{campaign}")).text
    spanish = await anon.get(f"/campaigns/{campaign}", headers={"Accept-Language": "es"})
    assert spanish.text != english and 'lang="es"' in spanish.text
    assert (await anon.get(f"/campaigns/{campaign}")).text == english

    # The group's language changed by a write: visitors whose browsers say nothing get the new one at once.
    await runtime.db.write(store.site.set_language, "es")
    assert 'lang="es"' in (await anon.get(f"/campaigns/{campaign}")).text
    await runtime.db.write(store.site.set_language, None)

    # Signed in, a member's own page, never the kept one.
    mia = client()
    await mia.sign_in("Mia Member", PASSWORD)
    before = lane.answered
    own = await mia.get(f"/campaigns/{campaign}")
    assert own.text != english and "Sign out" in own.text and lane.answered == before

    # A group that has moved sends visitors on, though the page is still kept at the old address.
    await anon.get(f"/campaigns/{campaign}")
    await runtime.db.write(store.site.set_moved, None, "https://new.example/groups/water")
    moved = await anon.session.get(server.base_url + f"/campaigns/{campaign}", allow_redirects=False)
    assert moved.status == 301 and moved.headers["Location"] == f"https://new.example/campaigns/{campaign}"
