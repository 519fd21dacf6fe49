"""Accessibility checked by a machine: axe-core (bundled in the axe-playwright-python package, so nothing is
downloaded at test time) runs in the page the browser tests have open and fails the test on every violation
of the impacts asked for, naming each one so it can be fixed without opening a report."""

from __future__ import annotations

from typing import Any

from axe_playwright_python.async_playwright import Axe

AXE = Axe()
FAILING_IMPACTS = ("serious", "critical")


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


async def assert_accessible(page: Any, impacts: tuple[str, ...] = FAILING_IMPACTS) -> None:
    """Fail when axe-core finds a violation of these impacts on the page (serious and critical by default)."""
    found = await violations(page, impacts)
    if found:
        report = describe(found)
        print(f"axe-core on {page.url}:\n{report}")
        raise AssertionError(
            f"axe-core found {len(found)} {'/'.join(impacts)} violation(s) on {page.url}:\n{report}"
        )
