"""The keyboard focus outline is seen on every background it is drawn over: its colour has at least 3:1
contrast (WCAG 2.2, non-text contrast and focus appearance) with each background the stylesheet gives a page,
a panel or a box, computed here from the stylesheet's own colours."""

from __future__ import annotations

import re
from pathlib import Path

import fedgroup

STYLESHEET = Path(fedgroup.__file__).parent / "web" / "static" / "style.css"
_RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")
_HEX = re.compile(r"#[0-9a-fA-F]{6}\b|#[0-9a-fA-F]{3}\b")


def _rules(css: str) -> list[tuple[str, dict[str, str]]]:
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    css = re.sub(r"@media[^{]*\{((?:[^{}]*\{[^{}]*\})*)[^{}]*\}", r"\1", css)  # rules inside @media count too
    found = []
    for selector, body in _RULE.findall(css):
        declarations = {}
        for part in body.split(";"):
            if ":" in part:
                name, value = part.split(":", 1)
                declarations[name.strip()] = value.strip()
        found.append((selector.strip(), declarations))
    return found


def _variables(rules: list[tuple[str, dict[str, str]]]) -> dict[str, str]:
    return {k: v for selector, d in rules if selector == ":root" for k, v in d.items() if k.startswith("--")}


def _colour(value: str, variables: dict[str, str]) -> str | None:
    value = re.sub(r"var\((--[\w-]+)\)", lambda m: variables[m.group(1)], value)
    found = _HEX.search(value)
    if found is None:
        return "#ffffff" if re.search(r"\b(white|#fff)\b", value) else None
    text = found.group(0).lstrip("#")
    return "#" + ("".join(c * 2 for c in text) if len(text) == 3 else text).lower()


def luminance(hex_colour: str) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_the_contrast_formula_matches_known_values():
    assert round(contrast("#000000", "#ffffff"), 2) == 21.0
    assert round(contrast("#767676", "#ffffff"), 2) == 4.54  # the well-known lightest AA grey on white


def test_the_focus_outline_has_3_to_1_contrast_with_every_background_it_sits_on():
    rules = _rules(STYLESHEET.read_text())
    variables = _variables(rules)
    outlines = {
        _colour(d["outline"], variables)
        for selector, d in rules
        if ":focus" in selector and "outline" in d and d["outline"] != "none"
    }
    assert outlines and None not in outlines, "every focus rule draws an outline of a known colour"
    # What a focused element's outline is drawn over (2px outside it): the page, cards, panels, notices, boxes.
    # A button's own fill is inside the outline, so buttons' backgrounds are not among them.
    backgrounds = {
        _colour(d.get("background", d.get("background-color", "")), variables)
        for selector, d in rules
        if ("background" in d or "background-color" in d) and "button" not in selector
    } - {None}
    assert {"#fdfcf8", "#ffffff"} <= backgrounds, backgrounds
    for outline in outlines:
        for background in backgrounds:
            ratio = contrast(outline, background)
            assert ratio >= 3, f"focus outline {outline} on {background}: {ratio:.2f}:1, below 3:1"
