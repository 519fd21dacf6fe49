"""Attacks on the web UI, each against a live server: sign-in storms and guessing, open redirects, CSV
formulas, session fixation, CSRF on every form, security headers."""

from __future__ import annotations

import asyncio
import html
import re
import urllib.parse

import pytest

from fedgroup import actions, passwords
from fedgroup.ui.sign_ins import Refused, SignInGate, SignInRules, delay_before_check
from tests.conftest import VirtualTime, eventually
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
