"""Two-factor sign-in: enrolling with an authenticator app (in a real browser), the code step, recovery
codes, the admins' requirement, and resetting a lost factor from the admin page and the command line."""

from __future__ import annotations

import re
import time

import pyotp
import pytest

from fedgroup import actions, store
from fedgroup.rules import passwords
from tests.conftest import VirtualTime, run_cli
from tests.test_browser import CHROMIUM, PASSWORD, browser  # noqa: F401 - the browser fixture
from tests.web_client import WebClient

_SECRET = re.compile(r'id="totp-secret">([A-Z2-7]+)<')
_PENDING = re.compile(r'name="pending" value="([^"]+)"')


def code_for(secret: str, steps_ahead: int = 1) -> str:
    """A code the server accepts (its window allows one step of drift) for a step not used yet: the step
    after the current one, since enrolling used the current one."""
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_ahead)


def wrong_code(secret: str) -> str:
    valid = {pyotp.TOTP(secret).at(time.time() + 30 * k) for k in range(-2, 4)}
    return next(c for c in (f"{n:06d}" for n in range(1000000)) if c not in valid)


async def add(server, name: str, role: str) -> int:
    return await actions.add_member(server.runtime, name, role, None, passwords.hash_password(PASSWORD))


@pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (apt-get install chromium)")
async def test_a_member_enrols_totp_in_the_browser_and_signs_in_with_it(make_server, browser):  # noqa: F811
    server = await make_server()
    await add(server, "Olga", "organizer")
    page = await browser.new_page()
    remote: list[str] = []
    page.on("request", lambda r: remote.append(r.url) if not r.url.startswith(server.base_url) else None)
    await page.goto(server.base_url + "/login")
    await page.get_by_label("Name").fill("Olga")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/home")

    await page.goto(server.url("/account/two-factor"))
    assert await page.locator("figure.qr svg").count() == 1, "the QR code is inline SVG"
    assert await page.locator("script").count() == 0
    secret = await page.locator("#totp-secret").inner_text()
    await page.get_by_label("Code from the app").fill(pyotp.TOTP(secret).now())
    await page.get_by_role("button", name="Turn on two-factor sign-in").click()
    codes = await page.locator(".recovery-codes code").all_inner_texts()
    assert len(codes) == 10 and all(re.fullmatch(r"[a-z2-7]{4}(-[a-z2-7]{4}){3}", c) for c in codes)
    stored = await server.runtime.db.fetchall("SELECT code_hash FROM recovery_codes")
    assert len(stored) == 10 and not {r[0] for r in stored} & set(codes), "only digests are kept"

    await page.get_by_role("button", name="Sign out").click()
    await page.wait_for_url("**/login")
    await page.get_by_label("Name").fill("Olga")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    # The password alone signs nobody in: the code step comes first.
    await page.get_by_label(re.compile("6-digit code")).fill(wrong_code(secret))
    await page.get_by_role("button", name="Sign in").click()
    assert "That code is not right" in await page.locator("main").inner_text()
    assert (await page.goto(server.url("/organize"))).url.startswith(server.url("/login"))
    await page.goto(server.base_url + "/login")
    await page.get_by_label("Name").fill("Olga")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_label(re.compile("6-digit code")).fill(code_for(secret))
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/home")
    assert (await page.goto(server.url("/organize"))).status == 200
    assert remote == [], "no remote assets"


async def sign_in_with_code(client: WebClient, name: str, code: str) -> object:
    step = await client.post("/login", {"name": name, "password": PASSWORD, "next": "/home"})
    assert step.status == 200 and "/login/code" in step.text, step.text
    pending = _PENDING.search(step.text).group(1)
    return await client.post("/login/code", {"pending": pending, "code": code, "next": "/home"}, csrf_from="/login")


async def enrol(client: WebClient) -> tuple[str, list[str]]:
    page = await client.get("/account/two-factor")
    secret = _SECRET.search(page.text).group(1)
    done = await client.post("/account/two-factor", {"secret": secret, "code": pyotp.TOTP(secret).now()})
    assert done.status == 200, done.text
    return secret, re.findall(r"<li><code>([a-z2-7-]+)</code></li>", done.text)


async def test_codes_are_good_once_and_recovery_codes_stand_in(make_server):
    server = await make_server()
    await add(server, "Olga", "organizer")
    client = WebClient(server.base_url)
    try:
        await client.sign_in("Olga", PASSWORD)
        secret, codes = await enrol(client)
        await client.post("/logout", {}, csrf_from="/account")
        code = code_for(secret)
        assert (await sign_in_with_code(client, "Olga", code)).url.endswith("/home")
        await client.post("/logout", {}, csrf_from="/account")
        replay = await sign_in_with_code(client, "Olga", code)
        assert replay.status == 401 and "used already" in replay.text
        assert (await sign_in_with_code(client, "Olga", codes[0].upper().replace("-", " "))).url.endswith("/home")
        await client.post("/logout", {}, csrf_from="/account")
        assert (await sign_in_with_code(client, "Olga", codes[0])).status == 401, "a recovery code works once"
        # A forged or stale pending token signs nobody in.
        forged = await client.post("/login/code", {"pending": "1.99999999999.00", "code": code_for(secret, 2),
                                                   "next": "/home"}, csrf_from="/login")  # fmt: skip
        assert forged.status == 401 and "sign in again" in forged.text
    finally:
        await client.close()


async def test_admins_require_it_and_reset_a_lost_one(make_server):
    server = await make_server()
    await add(server, "Ada", "admin")
    olga_id = await add(server, "Olga", "organizer")
    await add(server, "Mia", "member")
    admin, olga, mia = WebClient(server.base_url), WebClient(server.base_url), WebClient(server.base_url)
    try:
        await admin.sign_in("Ada", PASSWORD)
        await admin.post("/admin/two-factor", {"required": "on"}, csrf_from="/account")
        # The admin without a factor is sent to set one up before any admin page.
        page = await admin.get("/admin/members")
        assert page.url.endswith("/account/two-factor?done=two-factor-required")
        await enrol(admin)
        assert (await admin.get("/admin/members")).status == 200

        landing = await olga.post("/login", {"name": "Olga", "password": PASSWORD, "next": "/organize"})
        assert landing.url.endswith("/account/two-factor?done=two-factor-required")
        assert (await olga.get("/organize")).url.endswith("/account/two-factor?done=two-factor-required")
        assert (await olga.get("/organize/blocks")).url.endswith("/account/two-factor?done=two-factor-required")
        await enrol(olga)
        assert (await olga.get("/organize")).status == 200
        await mia.sign_in("Mia", PASSWORD)  # members are not asked
        assert (await mia.get("/home")).status == 200

        # Olga lost her phone: the admin removes her factor; she signs in with her password and enrols again.
        page = await admin.post("/admin/members/reset-two-factor", {"member": str(olga_id)}, csrf_from="/admin/members")
        assert page.url.endswith("/admin/members?done=two-factor-reset")
        assert not await server.runtime.db.read(store.two_factor.enrolled, olga_id)
        fresh = WebClient(server.base_url)
        try:
            landing = await fresh.post("/login", {"name": "Olga", "password": PASSWORD, "next": "/organize"})
            assert landing.url.endswith("/account/two-factor?done=two-factor-required")
            await enrol(fresh)
        finally:
            await fresh.close()

        # From the command line, beside the running server.
        done = await run_cli("member", "reset-2fa", "Olga", "--data-dir", str(server.config.data_dir))
        assert done.returncode == 0, done.stderr
        assert "removed the second factor of Olga" in done.stdout
        assert not await server.runtime.db.read(store.two_factor.enrolled, olga_id)
        again = await run_cli("member", "reset-2fa", "Olga", "--data-dir", str(server.config.data_dir))
        assert again.returncode == 2 and again.stderr.startswith("fedgroup: error: that member has no second factor")
    finally:
        for client in (admin, olga, mia):
            await client.close()


async def test_wrong_codes_run_out_and_a_right_password_does_not_give_more(make_server):
    """Whoever has the password may not guess codes without end: five wrong codes and the name's code step is
    refused for a while, however often the password is given again (from however many browsers)."""
    clock = VirtualTime()  # the pacing's waits pass at once
    server = await make_server(app_options=clock.options())
    await add(server, "Olga", "organizer")
    owner = WebClient(server.base_url)
    try:
        await owner.sign_in("Olga", PASSWORD)
        page = await owner.get("/account/two-factor")
        secret = _SECRET.search(page.text).group(1)
        now = server.runtime.now().timestamp()
        done = await owner.post("/account/two-factor", {"secret": secret, "code": pyotp.TOTP(secret).at(now)})
        assert done.status == 200
    finally:
        await owner.close()
    valid = {pyotp.TOTP(secret).at(server.runtime.now().timestamp() + 30 * k) for k in range(-2, 60)}
    wrong = [c for c in (f"{n:06d}" for n in range(100)) if c not in valid][:5]
    for code in wrong:
        attacker = WebClient(server.base_url)  # a new browser each time
        try:
            assert (await sign_in_with_code(attacker, "Olga", code)).status == 401
        finally:
            await attacker.close()
    attacker = WebClient(server.base_url)
    try:
        right = pyotp.TOTP(secret).at(server.runtime.now().timestamp() + 30)
        refused = await sign_in_with_code(attacker, "Olga", right)
        assert refused.status == 429 and "Too many failed attempts" in refused.text
        assert "known" not in " ".join(c.key for c in attacker.session.cookie_jar)
    finally:
        await attacker.close()
