"""The accessibility check itself can fail: axe-core, run the way the browser tests run it, names the
violations of a page built to have them, and passes a page built not to."""

from __future__ import annotations

import pytest

from tests import test_browser
from tests.accessibility import ALL_IMPACTS, assert_accessible, violations
from tests.test_browser import CHROMIUM

browser = test_browser.browser  # the fixture: Debian's chromium, launched as there

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian chromium is not installed (apt-get install chromium)"
)

FAULTY = """<!doctype html><html lang="en"><head><title>Faulty</title></head><body><main>
<h1>Faulty</h1><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="><form><input name="amount"></form>
</main></body></html>"""

FINE = """<!doctype html><html lang="en"><head><title>Fine</title></head><body><main>
<h1>Fine</h1><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt="A dot">
<form><label for="amount">Amount</label><input id="amount" name="amount"></form>
</main></body></html>"""


async def test_axe_names_a_missing_alt_text_and_a_missing_label(browser):
    page = await browser.new_page()
    await page.set_content(FAULTY)
    found = {v["id"] for v in await violations(page)}
    assert {"image-alt", "label"} <= found, found
    with pytest.raises(AssertionError, match=r"image-alt \(critical\) at img"):
        await assert_accessible(page)


async def test_axe_passes_a_page_without_faults(browser):
    page = await browser.new_page()
    await page.set_content(FINE)
    await assert_accessible(page)


SKIPS_A_LEVEL = """<!doctype html><html lang="en"><head><title>Skips</title></head><body><main>
<h1>Campaigns</h1><h3>Fix the lift</h3><p>A heading two levels below the page's.</p>
</main></body></html>"""


async def test_all_impacts_fail_on_a_moderate_violation_the_default_lets_pass(browser):
    page = await browser.new_page()
    await page.set_content(SKIPS_A_LEVEL)
    await assert_accessible(page)  # heading-order is "moderate": not failed by default
    with pytest.raises(AssertionError, match=r"heading-order \(moderate\) at h3"):
        await assert_accessible(page, impacts=ALL_IMPACTS)


async def test_a_document_checked_clean_is_not_checked_again_but_any_other_is(browser, monkeypatch):
    """The browser tests skip axe-core on a document already found clean (same elements, attributes, viewport;
    texts only told apart by being empty or not). A changed text is the same check; a removed alt text is
    another document, checked, and failed."""
    from tests import accessibility

    runs: list[str] = []
    real_violations = accessibility.violations

    async def counted(page, impacts=accessibility.FAILING_IMPACTS):
        runs.append(page.url)
        return await real_violations(page, impacts)

    monkeypatch.setattr(accessibility, "violations", counted)
    # An attribute no other test's document has: this test's first check cannot have been made before.
    fine = FINE.replace("<main>", '<main data-case="checked-once">')
    page = await browser.new_page()
    await page.set_content(fine.replace("<h1>Fine</h1>", "<h1>Fine 0f2c1d</h1>"))
    await assert_accessible(page)
    assert len(runs) == 1
    await page.set_content(fine.replace("<h1>Fine</h1>", "<h1>Still fine 9b7e44</h1>"))
    await assert_accessible(page)
    assert len(runs) == 1, "the same document with another heading text was checked again"
    await page.set_content(fine.replace(' alt="A dot"', "").replace("<h1>Fine</h1>", "<h1>Fine 0f2c1d</h1>"))
    with pytest.raises(AssertionError, match=r"image-alt \(critical\) at img"):
        await assert_accessible(page)
    assert len(runs) == 2
