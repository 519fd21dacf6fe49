"""Accessibility checked by a machine: axe-core (bundled in the axe-playwright-python package, so nothing is
downloaded at test time) runs in the page the browser tests have open and fails the test on every violation
of the impacts asked for, naming each one so it can be fixed without opening a report.

Each page is checked twice: as the test sees it, and the same address read in Arabic (right to left) in
another browser context with the same cookies (so the same member), asked for with Accept-Language
(`also_in`; a member who chose a language keeps it, as the server decides).

axe-core is most of a browser test's time (about three quarters), and the tests open the same page again and
again (a campaign page after each pledge, /home after each step). Its verdict is a function of the document,
the stylesheet and the viewport, so a document already checked at the same viewport for the same impacts is
not checked again: `_fingerprint` is the rendered document with only what is never rendered taken out (the
values of hidden inputs: CSRF tokens, form times) and each text reduced to whether it is empty (axe-core's
rules read whether an element has text, its language, colours and size, not what it says: "€7.50 of €500"
and "€8 of €500" are the same check). Any other difference (an element, a class, an attribute, a text
appearing or emptying) makes another fingerprint and is checked.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

from axe_playwright_python.async_playwright import Axe

AXE = Axe()
FAILING_IMPACTS = ("serious", "critical")
# Every impact axe-core reports: what a page must be free of where nothing may be let pass (the first hour).
ALL_IMPACTS = ("minor", "moderate", "serious", "critical")
SECOND_LANGUAGE: str | None = "ar"  # right to left: the layout mirrors
# How long axe-core may take in the page before the page is read again in a fresh context (not an assertion:
# the check runs all the same, there).
AXE_SECONDS = 30


# What this test process has found clean: fingerprints of documents (see `_fingerprint`) with the impacts
# they were checked for. Only clean ones are kept: a violation fails its test, and is reported each time.
_CLEAN: set[tuple[str, tuple[str, ...]]] = set()

# The document as rendered, without the values of hidden inputs (never rendered, and different in every
# form: the CSRF token), and the viewport it is laid out in.
_DOCUMENT_AS_RENDERED = """() => {
  const root = document.documentElement.cloneNode(true);
  for (const input of root.querySelectorAll('input[type=hidden]')) input.removeAttribute('value');
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.parentElement && ['STYLE', 'SCRIPT'].includes(node.parentElement.tagName)) continue;
    node.nodeValue = node.nodeValue.trim() ? 'x' : '';
  }
  return `${window.innerWidth}x${window.innerHeight}\n${root.outerHTML}`;
}"""


async def _fingerprint(page: Any) -> str:
    document = await page.evaluate(_DOCUMENT_AS_RENDERED)
    return hashlib.sha256(document.encode()).hexdigest()


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
    # axe-core is put in a document once (the package's own run() puts it in again each time: a 0.5 MB
    # script parsed anew for every check of the same document).
    if not await page.evaluate("typeof window.axe === 'object'"):
        await page.evaluate(AXE.axe_script)
    results = await page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [v for v in results["violations"] if v.get("impact") in impacts]


async def _check(page: Any, impacts: tuple[str, ...], where: str) -> None:
    _fail_on(await _violations_unless_seen_clean(page, impacts), impacts, where)


async def _violations_unless_seen_clean(page: Any, impacts: tuple[str, ...]) -> list[dict[str, Any]]:
    """axe-core's violations, or none without running it when this very document, at this viewport, was
    already found clean of these impacts."""
    seen = (await _fingerprint(page), impacts)
    if seen in _CLEAN:
        return []
    found = await violations(page, impacts)
    if not found:
        _CLEAN.add(seen)
    return found


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
            found = await asyncio.wait_for(_violations_unless_seen_clean(page, impacts), AXE_SECONDS)
        except TimeoutError:  # axe-core never finished here: read the page again in a fresh context
            await _check_again(page, impacts, None)
        else:
            _fail_on(found, impacts, page.url)
    else:  # axe-core is a script: a page opened without JavaScript is read again in a context that has it
        await _check_again(page, impacts, None)
    if also_in is None or not page.url.startswith("http"):
        return
    await _check_again(page, impacts, also_in)


# Whether the document has scripting enabled, asked of the HTML parser: with scripting on, <noscript>'s content
# is parsed as text; with it off, as elements. Playwright's evaluate answers in a context made with
# java_script_enabled=False too, but there axe-core's timers never fire (it used to wait AXE_SECONDS for them);
# our pages' CSP (script-src 'none') does not change the parser's answer.
_SCRIPTING_ENABLED = """() => {
  const probe = document.createElement('div');
  probe.innerHTML = '<noscript><p></p></noscript>';
  return probe.querySelector('noscript p') === null;
}"""


async def _runs_scripts(page: Any) -> bool:
    """Whether scripts run in the page (a context made with java_script_enabled=False says no at once)."""
    return bool(await page.evaluate(_SCRIPTING_ENABLED))


async def _check_again(page: Any, impacts: tuple[str, ...], also_in: str | None) -> None:
    """The page's address read again (a GET) in a context of its own with the same cookies, in `also_in`
    if given, and checked there."""
    sibling = await _sibling_page(page.context.browser, also_in)
    await sibling.context.clear_cookies()
    await sibling.context.add_cookies(await page.context.cookies())
    response = await sibling.goto(page.url)
    # A page shown after a form's POST has no GET of its own (405): there is nothing to read again.
    if response is None or "text/html" not in (response.headers.get("content-type") or ""):
        return
    language = await sibling.locator("html").get_attribute("lang")
    await _check(sibling, impacts, f"{sibling.url} (lang={language})")


# One page per browser and language for reading pages again: a browser context costs more to make than the
# check itself, and a context's cookies can be replaced, so one serves every member in turn. It closes with its
# browser (each browser test launches its own).
_SIBLINGS: dict[tuple[int, str | None], Any] = {}


async def _sibling_page(browser: Any, also_in: str | None) -> Any:
    key = (id(browser), also_in)
    sibling = _SIBLINGS.get(key)
    if sibling is None or sibling.is_closed() or sibling.context.browser is not browser:
        for closed in [known for known, page in _SIBLINGS.items() if page.is_closed()]:
            del _SIBLINGS[closed]
        headers = {"Accept-Language": also_in} if also_in else {}
        context = await browser.new_context(extra_http_headers=headers)
        sibling = _SIBLINGS[key] = await context.new_page()
    return sibling
