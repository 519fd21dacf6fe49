"""Attacks on the web UI, each against a live server: sign-in storms and guessing, open redirects, CSV
formulas, session fixation, CSRF on every form, security headers."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import html
import io
import re
import urllib.parse

import aiohttp
import pytest

from fedgroup import actions, store
from fedgroup.rules import passwords
from fedgroup.rules.campaigns import parse_goal
from fedgroup.ui.sign_ins import Refused, SignInGate, SignInRules, delay_before_check
from tests.conftest import VirtualTime, database_snapshot, eventually
from tests.web_client import WebClient

PASSWORD = "correct horse battery"
# Longer than any password can be: refused without an argon2 run, so a test can fail often and cheaply
# (an attacker can too: such failures count like any other).
CHEAP_WRONG = "x" * (passwords.MAX_LENGTH + 1)
RULES = SignInRules()


@pytest.fixture
async def site(make_server):
    """A server on virtual time with a member, an admin and a member without a password; a client factory."""
    time = VirtualTime()
    server = await make_server(app_options=time.options())
    hashed = passwords.hash_password(PASSWORD)
    await actions.add_member(server.runtime, "Mia Member", "member", None, hashed)
    await actions.add_member(server.runtime, "Ada Admin", "admin", None, hashed)
    await actions.add_member(server.runtime, "Pat Nopassword", "member", None, None)
    clients: list[WebClient] = []

    def client() -> WebClient:
        c = WebClient(server.base_url)
        clients.append(c)
        return c

    yield server, time, client
    for c in clients:
        await c.close()


async def attempt(client: WebClient, name: str, password: str, token: str | None = None) -> int:
    """One sign-in attempt; its status (303 when it succeeded)."""
    token = token or (await client.get("/login")).csrf
    fields = [("name", name), ("password", password), ("next", "/home"), ("csrf", token)]
    return (await client.post_raw("/login", fields, follow=False)).status


# -- sign-in: storms, guessing, timing ------------------------------------------------------------------------


async def test_a_storm_of_failures_slows_everyone_down_but_never_refuses_the_right_password(site):
    server, time, client = site
    attacker = client()
    token = (await attacker.get("/login")).csrf
    # 120 failures spread over 30 names (4 each: no name reaches its limit), more than the old overall cap.
    statuses = [await attempt(attacker, f"guess {i % 30}", CHEAP_WRONG, token) for i in range(120)]
    assert statuses == [401] * 120, "a storm refuses nobody"
    assert len(time.waits) == 120 - RULES.storm, "from the storm's threshold on, every attempt waited"
    assert time.waits == sorted(time.waits) and time.waits[-1] == RULES.max_delay, "longer and longer, capped"

    member = client()
    assert await attempt(member, "Mia Member", PASSWORD) == 303, "the right password gets in during a storm"
    assert time.waits[-1] == RULES.max_delay, "...after the same wait as everyone"
    assert (await member.get("/home")).url.endswith("/home")


async def test_the_per_name_limit_holds_for_guesses_and_a_known_browser_still_gets_in(site):
    server, time, client = site
    laptop = client()
    await laptop.sign_in("Mia Member", PASSWORD)  # this browser is now known for Mia
    await laptop.post("/logout", {}, csrf_from="/home")

    attacker = client()
    token = (await attacker.get("/login")).csrf
    spellings = ["Mia Member", "MIA MEMBER", "  mia member ", "mia\tmember"]
    statuses = [await attempt(attacker, spellings[i % 4], CHEAP_WRONG, token) for i in range(30)]
    assert statuses == [401] * RULES.per_name + [429] * (30 - RULES.per_name), "one count for every spelling"
    assert await attempt(attacker, "Mia Member", PASSWORD, token) == 429, (
        "an unknown browser stays locked out"
    )
    page = await attacker.post_raw(
        "/login", [("name", "Mia Member"), ("password", "x"), ("csrf", token)], follow=False
    )
    assert "Too many failed attempts" in page.text and int(page.headers["Retry-After"]) > 0

    assert await attempt(laptop, "Mia Member", PASSWORD) == 303, "the member's own browser is not locked out"
    await laptop.post("/logout", {}, csrf_from="/home")
    # The known browser's failures count apart, under the same limit.
    mine = [await attempt(laptop, "Mia Member", CHEAP_WRONG) for _ in range(RULES.per_name + 1)]
    assert mine == [401] * RULES.per_name + [429]
    # Other names are untouched.
    assert await attempt(client(), "Ada Admin", PASSWORD) == 303


async def test_simultaneous_guesses_cannot_slip_past_the_per_name_limit(site):
    server, time, client = site
    attackers = [client() for _ in range(4)]
    tokens = [(await a.get("/login")).csrf for a in attackers]
    statuses = await asyncio.gather(
        *(attempt(attackers[i % 4], "Ada Admin", f"guess number {i}", tokens[i % 4]) for i in range(16))
    )
    assert sorted(statuses) == [401] * RULES.per_name + [429] * (16 - RULES.per_name), statuses


async def test_every_sign_in_costs_one_argon2_run_whoever_is_named(site):
    server, time, client = site
    browser = client()
    token = (await browser.get("/login")).csrf

    async def runs(name: str, password: str, by: WebClient = browser) -> tuple[int, int]:
        form_token = token if by is browser else (await by.get("/login")).csrf
        before = passwords.RUNS.count
        status = await attempt(by, name, password, form_token)
        return status, passwords.RUNS.count - before

    assert await runs("Nobody Here", "a wrong password") == (401, 1), "an unknown name"
    assert await runs("Someone Else", "a wrong password") == (401, 1), "another unknown name"
    assert await runs("Ada Admin", "a wrong password") == (401, 1), "a known name, wrong password"
    assert await runs("Pat Nopassword", "a wrong password") == (401, 1), "a member without a password"
    assert await runs("Mia Member", PASSWORD, client()) == (303, 1), "the right password"
    for _ in range(RULES.per_name):
        await attempt(client(), "Nobody At All", CHEAP_WRONG)
        await attempt(client(), "Ada Admin", CHEAP_WRONG)
    assert await runs("Nobody At All", "a wrong password") == (429, 0), "a locked unknown name"
    assert await runs("Ada Admin", "a wrong password") == (429, 0), "a locked known name: the same"


async def test_sign_ins_waiting_at_once_are_bounded_but_a_known_browser_is_not_held_up(site):
    server, time, client = site
    laptop = client()
    await laptop.sign_in("Mia Member", PASSWORD)
    await laptop.post("/logout", {}, csrf_from="/home")
    attacker = client()
    token = (await attacker.get("/login")).csrf
    for i in range(RULES.storm):  # a storm: from now on every unknown browser waits
        await attempt(attacker, f"spray {i}", CHEAP_WRONG, token)

    time.hold()
    waiting = [
        asyncio.create_task(attempt(attacker, f"held {i}", CHEAP_WRONG, token))
        for i in range(RULES.max_pending)
    ]
    await eventually(lambda: _is(time.waiting, RULES.max_pending))
    assert await attempt(client(), "Ada Admin", PASSWORD) == 503, "beyond the bound: busy, come back"
    assert await attempt(laptop, "Mia Member", PASSWORD) == 303, "a known browser does not wait in the storm"
    time.release()
    assert await asyncio.gather(*waiting) == [401] * RULES.max_pending
    assert await attempt(client(), "Ada Admin", PASSWORD) == 303, "and once they are through, anyone again"


async def _is(value: int, expected: int) -> bool:
    return value == expected


def test_waits_grow_with_a_names_failures_and_with_a_storm_up_to_a_cap():
    rules = SignInRules()
    by_name = [delay_before_check(rules, n, 0, known_browser=False) for n in range(5)]
    assert by_name == [0, 0.5, 1, 2, 4]
    storm = [delay_before_check(rules, 0, n, known_browser=False) for n in (0, 19, 20, 60, 500)]
    assert storm[:2] == [0, 0] and 0 < storm[2] < storm[3] < storm[4] == rules.max_delay
    assert delay_before_check(rules, 0, 500, known_browser=True) == 0, "known browsers skip the storm"
    assert delay_before_check(rules, 30, 0, known_browser=True) == rules.max_delay


async def test_the_gate_forgets_failures_after_the_window_and_the_overall_count_refuses_nobody():
    now = [0.0]

    async def no_wait(seconds: float) -> None:
        pass

    gate = SignInGate(SignInRules(per_name=2, window=60, storm=3), clock=lambda: now[0], sleep=no_wait)

    async def fail() -> None:
        return None

    await gate.attempt("a", False, fail)
    now[0] = 1
    await gate.attempt("a", False, fail)
    with pytest.raises(Refused) as refused:
        await gate.attempt("a", False, fail)
    assert refused.value.status == 429 and refused.value.retry_after == 59
    for name in "bcdefg":
        await gate.attempt(name, False, fail)  # the overall count passes its storm level: nobody is refused
    now[0] = 60.5
    assert gate.admit("a", False) == 0.5, "a's first failure aged out; the second still slows it"


# -- where the browser goes after signing in ------------------------------------------------------------------

# `next` values (as the query string carries them, still percent-encoded) that must not leave the site.
# Browsers drop tab, CR and LF inside URLs, and leading spaces, and read a backslash as a slash.
OFFSITE = [
    "/%09/evil.example",
    "/%0D/evil.example",
    "/%0A/evil.example",
    "%09//evil.example",
    "%20//evil.example",
    "/%5Cevil.example",
    "%5C%5Cevil.example",
    "/%5C/evil.example",
    "https:evil.example",
    "https://evil.example/",
    "HTTPS://evil.example/",
    "javascript:alert(1)",
    "//evil.example",
    "%2F%2Fevil.example",
    "/%00/evil.example",
    "/%E3%80%80/evil.example",  # ideographic space
    "/%C2%A0/evil.example",  # no-break space
    "/%E2%80%A8/evil.example",  # line separator
    "/%EF%BC%8F%EF%BC%8Fevil.example",  # fullwidth solidus
    "evil.example",
    "",
]
ONSITE = ["/campaigns/1", "/organize/campaigns/2?done=saved", "/home", "/partners/3"]


async def test_the_page_after_sign_in_is_always_on_this_site(site):
    server, time, client = site
    for target in OFFSITE + ONSITE:
        browser = client()  # a link to the sign-in page with `next`, as someone might send it around
        page = await browser.get(f"/login?next={target}")
        carried = html.unescape(re.search(r'name="next" value="([^"]*)"', page.text).group(1))
        fields = [("name", "Mia Member"), ("password", PASSWORD), ("next", carried), ("csrf", page.csrf)]
        answer = await browser.post_raw("/login", fields, follow=False)
        assert answer.status == 303
        expected = target if target in ONSITE else "/home"
        assert answer.headers["Location"] == expected, (target, answer.headers["Location"])
        await browser.close()
    # Posted straight, as a forged form would, the value is checked the same way.
    for target in (
        "/%09/evil.example",
        "/%0D%0A/evil.example",
        "/%5Cevil.example",
        "/%E3%80%80/evil.example",
    ):
        browser = client()
        token = (await browser.get("/login")).csrf
        fields = [("name", "Ada Admin"), ("password", PASSWORD), ("next", urllib.parse.unquote(target))]
        answer = await browser.post_raw("/login", [*fields, ("csrf", token)], follow=False)
        assert answer.headers["Location"] == "/home", (target, answer.headers["Location"])
        await browser.close()


# -- sessions -------------------------------------------------------------------------------------------------


def session_cookie(client: WebClient) -> str:
    return next(c.value for c in client.session.cookie_jar if c.key == "fedgroup_session")


async def signs_in(server, token: str) -> bool:
    """Whether a bare session token is signed in, asked of the server by a browser holding nothing else."""
    stranger = WebClient(server.base_url)
    try:
        stranger.session.cookie_jar.update_cookies({"fedgroup_session": token})
        return (await stranger.get("/account", allow_redirects=False)).status == 200
    finally:
        await stranger.close()


async def test_signing_in_ends_the_session_the_browser_had(site):
    server, time, client = site
    browser = client()
    await browser.sign_in("Mia Member", PASSWORD)
    before = session_cookie(browser)
    token = (await browser.get("/home")).csrf
    fields = [("name", "Ada Admin"), ("password", PASSWORD), ("next", "/home"), ("csrf", token)]
    assert (await browser.post_raw("/login", fields, follow=False)).status == 303
    after = session_cookie(browser)
    assert after != before
    assert not await signs_in(server, before), "the earlier session token no longer signs anyone in"
    assert await signs_in(server, after)


async def test_signing_out_ends_the_session_on_the_server(site):
    server, time, client = site
    browser = client()
    await browser.sign_in("Mia Member", PASSWORD)
    token = session_cookie(browser)
    assert await signs_in(server, token)
    await browser.post("/logout", {}, csrf_from="/home")
    assert not await signs_in(server, token), "a copy of the cookie is worthless after signing out"


async def test_a_password_change_ends_every_session_and_renews_this_one(site):
    server, time, client = site
    laptop, phone = client(), client()
    await laptop.sign_in("Mia Member", PASSWORD)
    await phone.sign_in("Mia Member", PASSWORD)
    laptop_before, phone_token = session_cookie(laptop), session_cookie(phone)
    new = "a brand new password"
    changed = await laptop.post("/account", {"current": PASSWORD, "new": new, "new_again": new})
    assert "password is changed" in changed.text
    assert session_cookie(laptop) != laptop_before and (await laptop.get("/home")).url.endswith("/home")
    assert not await signs_in(server, laptop_before), "the token from before the change is dead"
    assert not await signs_in(server, phone_token)


async def test_a_stolen_session_cannot_guess_the_password_at_will(site):
    """The password form asks for the current password: it is paced like signing in, or a stolen session
    would be an unlimited password oracle."""
    server, time, client = site
    laptop = client()
    await laptop.sign_in("Mia Member", PASSWORD)
    thief = client()
    thief.session.cookie_jar.update_cookies({"fedgroup_session": session_cookie(laptop)})
    token = (await thief.get("/account")).csrf
    answers = []
    for i in range(RULES.per_name + 2):
        fields = [("current", f"guess {i} guess"), ("new", "a brand new password"),
                  ("new_again", "a brand new password"), ("csrf", token)]  # fmt: skip
        answers.append(await thief.post_raw("/account", fields))
    assert [a.status for a in answers] == [422] * RULES.per_name + [429] * 2
    assert "not your current password" in answers[0].text and "Too many" in answers[-1].text
    assert await attempt(client(), "Mia Member", PASSWORD) == 429, "the name is locked for unknown browsers"
    await laptop.post("/logout", {}, csrf_from="/home")
    assert await attempt(laptop, "Mia Member", PASSWORD) == 303, "not for the member's own"


async def test_cookies_on_an_https_site_are_secure_and_host_only(make_server):
    """With an https base URL (the server behind its TLS proxy), cookies carry Secure and the __Host- prefix,
    so a sibling subdomain cannot plant one; an unprefixed cookie is not read."""
    server = await make_server()
    await actions.add_member(server.runtime, "Mia Member", "member", None, passwords.hash_password(PASSWORD))
    await server.stop()
    server.config = dataclasses.replace(server.config, base_url=f"https://127.0.0.1:{server.port}")
    await server.start()
    plain = f"http://127.0.0.1:{server.port}"  # the proxy's side of it
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        async with http.get(plain + "/login") as r:
            form_cookie = r.cookies["__Host-fedgroup_form"]
            token = re.search(r'name="csrf" value="([^"]+)"', await r.text()).group(1)
            assert (
                form_cookie["secure"] and form_cookie["path"] == "/" and form_cookie["samesite"] == "Strict"
            )
            assert r.headers["Strict-Transport-Security"].startswith("max-age=")
        fields = {"name": "Mia Member", "password": PASSWORD, "next": "/home", "csrf": token}
        headers = {"Cookie": f"__Host-fedgroup_form={form_cookie.value}"}
        async with http.post(plain + "/login", data=fields, headers=headers, allow_redirects=False) as r:
            assert r.status == 303
            session, known = r.cookies["__Host-fedgroup_session"], r.cookies["__Host-fedgroup_known"]
        for cookie in (session, known):
            assert cookie["secure"] and cookie["httponly"] and cookie["path"] == "/" and not cookie["domain"]
        assert session["samesite"] == "Lax" and known["samesite"] == "Strict"
        async with http.get(plain + "/account", headers={"Cookie": f"__Host-fedgroup_session={session.value}"},
                            allow_redirects=False) as r:  # fmt: skip
            assert r.status == 200
        async with http.get(plain + "/account", headers={"Cookie": f"fedgroup_session={session.value}"},
                            allow_redirects=False) as r:  # fmt: skip
            assert r.status == 303, "an unprefixed session cookie (settable by a subdomain) is ignored"


# -- forms: CSRF on every one ---------------------------------------------------------------------------------

FEDERATION_POSTS = {"/groups/{handle}/inbox", "/inbox"}  # signed by servers, not posted by browsers
# RFC 8058 one-click unsubscribe: mail clients POST it with no cookie and no form token; the signed token in
# the URL is its only authority (tests/test_mail.py posts a real one; a forged one is refused below).
ONE_CLICK_POSTS = {"/unsubscribe/{token}"}


async def test_every_form_refuses_a_missing_wrong_or_borrowed_token_and_another_origin(site):
    server, time, client = site
    runtime = server.runtime
    campaign_id = await actions.create_campaign(
        runtime, "Safe crossing", "Paint it.", goals=[parse_goal("hours:40")]
    )
    invite = (await actions.create_invite(runtime)).rsplit("/", 1)[1]
    admin, other = client(), client()
    await admin.sign_in("Ada Admin", PASSWORD)
    await other.sign_in("Mia Member", PASSWORD)
    borrowed = (await other.get("/home")).csrf  # valid, but another session's
    values = {"campaign_id": str(campaign_id), "partner_id": "1", "token": invite, "handle": "water",
              "blueprint_id": "1", "pledge_id": "1", "gathering_id": "1", "proposal_id": "1"}  # fmt: skip
    routes = [r for r in server.app.router.routes() if r.method == "POST"]
    paths = {r.resource.canonical for r in routes}
    assert FEDERATION_POSTS <= paths and len(paths) > 20
    before = await database_snapshot(runtime)
    for route in routes:
        canonical = route.resource.canonical
        if canonical in FEDERATION_POSTS:
            continue
        if canonical in ONE_CLICK_POSTS:
            forged = canonical.replace("{token}", "MToxMjM.0123456789abcdef0123456789abcdef")
            assert (await admin.post_raw(forged, [("List-Unsubscribe", "One-Click")], follow=False)).status == 404
            continue
        path = re.sub(r"\{(\w+)(:[^}]*)?\}", lambda m: values[m.group(1)], canonical)
        fields = [
            ("name", "X"),
            ("password", PASSWORD),
            ("confirm", "yes"),
            ("role", "admin"),
            ("member", "2"),
        ]
        for token in (None, "", "guess", borrowed):
            sent = fields + ([("csrf", token)] if token is not None else [])
            assert (await admin.post_raw(path, sent, follow=False)).status == 403, (path, token)
        assert (await client().post_raw(path, [*fields, ("csrf", "guess")], follow=False)).status == 403, path
    assert await database_snapshot(runtime) == before, "nothing was written"

    # A right token posted from a page of another origin is refused too; from this origin it is taken.
    token = (await admin.get("/home")).csrf
    for headers in ({"Origin": "https://evil.example"}, {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"},
                    {"Sec-Fetch-Site": "same-site"}):  # fmt: skip
        async with admin.session.post(server.url(f"/organize/campaigns/{campaign_id}/close"), headers=headers,
                                      data={"csrf": token}, allow_redirects=False) as r:  # fmt: skip
            assert r.status == 403, headers
    assert (await runtime.db.read(actions.load_campaign, campaign_id)).row.status == "open"
    same = {"Origin": server.base_url, "Sec-Fetch-Site": "same-origin"}
    async with admin.session.post(server.url(f"/organize/campaigns/{campaign_id}/close"), headers=same,
                                  data={"csrf": token}, allow_redirects=False) as r:  # fmt: skip
        assert r.status == 303
    assert (await runtime.db.read(actions.load_campaign, campaign_id)).row.status == "closed"


async def test_an_invitation_makes_one_member_even_when_used_twice_at_once(site):
    server, time, client = site
    path = (await actions.create_invite(server.runtime)).removeprefix(server.base_url)
    first, second = client(), client()
    tokens = [(await c.get(path)).csrf for c in (first, second)]
    answers = await asyncio.gather(*(
        c.post_raw(path, [("name", name), ("password", PASSWORD), ("password_again", PASSWORD), ("csrf", t)],
                   follow=False)
        for c, name, t in ((first, "Noor", tokens[0]), (second, "Zed", tokens[1]))
    ))  # fmt: skip
    assert sorted(a.status for a in answers) == [303, 422]
    assert "was used already or has expired" in next(a.text for a in answers if a.status == 422)
    names = {m.name for m in await server.runtime.db.read(store.members.listing)}
    assert len(names & {"Noor", "Zed"}) == 1
    late = client()
    assert (await late.get(path)).status == 410


# -- headers on every answer ----------------------------------------------------------------------------------


async def test_every_kind_of_answer_carries_the_protective_headers(site):
    server, time, client = site
    runtime = server.runtime
    await actions.add_member(runtime, "Olu Organizer", "organizer", None, passwords.hash_password(PASSWORD))
    campaign_id = await actions.create_campaign(
        runtime, "Safe crossing", "Paint it.", goals=[parse_goal("hours:4")]
    )
    organizer, anon = client(), client()
    await organizer.sign_in("Olu Organizer", PASSWORD)
    answers = {
        "public page": await anon.get("/groups/water"),
        "sign-in page": await anon.get("/login"),
        "not found": await anon.get("/campaigns/999"),
        "redirect to sign in": await anon.get("/organize", allow_redirects=False),
        "forbidden form": await anon.post_raw("/logout", []),
        "stylesheet": await anon.get("/static/style.css"),
        "icon": await anon.get("/static/icon.svg"),
        "health": await anon.get("/healthz"),
        "webfinger": await anon.get(f"/.well-known/webfinger?resource=acct:water@{server.config.domain}"),
        "organizer page": await organizer.get(f"/organize/campaigns/{campaign_id}"),
        "csv": await organizer.get(f"/organize/campaigns/{campaign_id}/pledgers.csv"),
        "my data": await organizer.get("/account/my-data.json"),
    }
    for what, page in answers.items():
        headers = page.headers
        assert headers.get("X-Content-Type-Options") == "nosniff", what
        assert headers.get("X-Frame-Options") == "DENY", what
        assert headers.get("Referrer-Policy") == "same-origin", what
        policy = headers.get("Content-Security-Policy", "")
        assert "frame-ancestors 'none'" in policy and "default-src" in policy, what
        if headers.get("Content-Type", "").startswith("text/html"):
            assert "script-src 'none'" in policy, what
        else:
            assert "default-src 'none'" in policy and "sandbox" in policy, what
    assert "Strict-Transport-Security" not in answers["public page"].headers, "only for an https base URL"


# -- the pledgers' CSV ------------------------------------------------------------------------------------------

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


async def test_the_pledgers_csv_has_no_formula_for_any_spreadsheet(site):
    """Spreadsheets run a cell that starts with = + - @ (or tab, CR) as a formula, and many (most of Europe's)
    split cells on ";" rather than ",": a formula may hide behind any separator inside a cell."""
    server, time, client = site
    runtime = server.runtime
    await actions.add_member(runtime, "Olu Organizer", "organizer", None, passwords.hash_password(PASSWORD))
    campaign_id = await actions.create_campaign(
        runtime, "Coats", "Coats.", goals=[parse_goal("items:40:coats")]
    )
    hostile = {
        "a;=1+1": "b|=cmd|' /C calc'!A0",
        "=HYPERLINK(1)": "ok,=2+3",
        "@SUM(A1)": "one\t=4\ttwo",
        "+Plus": "line\n=5",
        "Tab\t-6": "\t=7",
        "Zoë Ünicode": "naïve café ☕",
    }
    for name, note in hostile.items():
        member_id = await actions.add_member(runtime, name, "member", f"{name[:3]}@x.example")
        await actions.pledge(runtime, member_id, campaign_id, kind="items", amount="2", note=note)
    organizer = client()
    await organizer.sign_in("Olu Organizer", PASSWORD)
    async with organizer.session.get(server.url(f"/organize/campaigns/{campaign_id}/pledgers.csv")) as r:
        assert r.headers["Content-Type"] == "text/csv; charset=utf-8"
        raw = await r.read()
    assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 with a byte-order mark, so spreadsheets read it as UTF-8"
    text = raw.decode("utf-8-sig")
    assert re.fullmatch(r'(?:"(?:[^"]|"")*"(?:,|\r\n))+', text), "every cell is quoted"
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0][:3] == ["name", "email", "kind"] and len(rows) == len(hostile) + 1
    for row in rows:
        for cell in row:
            for separator in (",", ";", "\t", "|", "\n", "\r"):
                for piece in cell.split(separator):
                    assert not piece.startswith(FORMULA_START), (cell, separator, piece)
    names = {row[0] for row in rows[1:]}
    assert "Zoë Ünicode" in names and "'=HYPERLINK(1)" in names and "a;'=1+1" in names
    assert any(row[6] == "naïve café ☕" for row in rows), "ordinary text is untouched"
