"""The accessibility check itself can fail: axe-core, run the way the browser tests run it, names the
violations of a page built to have them, and passes a page built not to."""

from __future__ import annotations

import pytest

from tests import test_browser
from tests.accessibility import assert_accessible, violations
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
