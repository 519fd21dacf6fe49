"""Accessibility checked by a machine: axe-core (bundled in the axe-playwright-python package, so nothing is
downloaded at test time) runs in the page the browser tests have open and fails the test on every violation
of the impacts asked for, naming each one so it can be fixed without opening a report.

Each page is checked twice: as the test sees it, and the same address read in Arabic (right to left) in
another browser context with the same cookies (so the same member), asked for with Accept-Language
(`also_in`; a member who chose a language keeps it, as the server decides).
"""

from __future__ import annotations

import asyncio
from typing import Any

from axe_playwright_python.async_playwright import Axe

AXE = Axe()
FAILING_IMPACTS = ("serious", "critical")
# Every impact axe-core reports: what a page must be free of where nothing may be let pass (the first hour).
ALL_IMPACTS = ("minor", "moderate", "serious", "critical")
SECOND_LANGUAGE: str | None = "ar"  # right to left: the layout mirrors
# How long a page may take to answer a trivial script before it is taken as one without JavaScript. Not an
# assertion: a slow page is only checked in a second context instead, which checks it all the same.
SCRIPT_PROBE_SECONDS = 10
# How long axe-core may take in the page before the page is read again in a fresh context (not an assertion:
# the check runs all the same, there).
AXE_SECONDS = 30


def describe(violations: list[dict[str, Any]]) -> str:
    """One line per element: the rule's id, its impact, the element (axe's CSS target) and the rule's help."""
    lines = []
    for violation in violations:
        for node in violation["nodes"]:
            target = " ".join(str(part) for part in node["target"])
            lines.append(f"{violation['id']} ({violation['impact']}) at {target}: {violation['help']}")
    return "\n".join(lines)


async def violations(page: Any, impacts: tuple[str, ...] = FAILING_IMPACTS) -> list[dict[str, Any]]:
    """axe-core's violations of the page as it is now, keeping those of the given impacts."""
    results = await AXE.run(page)
    return [v for v in results.response["violations"] if v.get("impact") in impacts]


async def _check(page: Any, impacts: tuple[str, ...], where: str) -> None:
    _fail_on(await violations(page, impacts), impacts, where)


def _fail_on(found: list[dict[str, Any]], impacts: tuple[str, ...], where: str) -> None:
    if found:
        report = describe(found)
        print(f"axe-core on {where}:\n{report}")
        raise AssertionError(
            f"axe-core found {len(found)} {'/'.join(impacts)} violation(s) on {where}:\n{report}"
        )


async def assert_accessible(
    page: Any, impacts: tuple[str, ...] = FAILING_IMPACTS, also_in: str | None = SECOND_LANGUAGE
) -> None:
    """Fail when axe-core finds a violation of these impacts on the page (serious and critical by default),
    then, if `also_in` names a language, on the same address read in that language."""
    if await _runs_scripts(page):
        try:
            found = await asyncio.wait_for(violations(page, impacts), AXE_SECONDS)
        except TimeoutError:  # axe-core's script never ran here (a context without JavaScript can still
            await _check_again(page, impacts, None)  # answer a probe): read the page again where it runs
        else:
            _fail_on(found, impacts, page.url)
    else:  # axe-core is a script: a page opened without JavaScript is read again in a context that has it
        await _check_again(page, impacts, None)
    if also_in is None or not page.url.startswith("http"):
        return
    await _check_again(page, impacts, also_in)


async def _runs_scripts(page: Any) -> bool:
    """Whether scripts run in the page (a context made with java_script_enabled=False never answers)."""
    try:
        return bool(await asyncio.wait_for(page.evaluate("true"), SCRIPT_PROBE_SECONDS))
    except TimeoutError:
        return False


async def _check_again(page: Any, impacts: tuple[str, ...], also_in: str | None) -> None:
    """The page's address read again (a GET) in a context of its own with the same cookies, in `also_in`
    if given, and checked there."""
    # A context of its own (a page opened with browser.new_page() owns its context) with the same cookies.
    headers = {"Accept-Language": also_in} if also_in else {}
    context = await page.context.browser.new_context(extra_http_headers=headers)
    await context.add_cookies(await page.context.cookies())
    sibling = await context.new_page()
    try:
        response = await sibling.goto(page.url)
        # A page shown after a form's POST has no GET of its own (405): there is nothing to read again.
        if response is None or "text/html" not in (response.headers.get("content-type") or ""):
            return
        language = await sibling.locator("html").get_attribute("lang")
        await _check(sibling, impacts, f"{sibling.url} (lang={language})")
    finally:
        await context.close()
