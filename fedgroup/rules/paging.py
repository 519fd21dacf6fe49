"""Lists that grow are shown a page at a time: which page a request asks for, and what that page holds.

A page number comes from the query string (`?page=2`); anything that is not a page of the list is refused
rather than guessed at, so that a link to a page that no longer exists says so.
"""

from __future__ import annotations

from dataclasses import dataclass

# Items on one page of a listing: enough to scan, few enough that a page costs the same with 10 or 10,000.
PAGE_SIZE = 20
MAX_PAGE_DIGITS = 6


class NoSuchPage(ValueError):
    pass


@dataclass(frozen=True)
class Page:
    """Page `number` (from 1) of a list of `total` items, `size` to a page."""

    number: int
    size: int
    total: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def requested_number(text: str | None) -> int:
    """The page number a query string asks for: 1 when it names none. Raises NoSuchPage for anything else
    than a positive whole number."""
    if text is None or text == "":
        return 1
    if not text.isascii() or not text.isdigit() or len(text) > MAX_PAGE_DIGITS or int(text) < 1:
        raise NoSuchPage(text)
    return int(text)


def page_of(number: int, total: int, size: int = PAGE_SIZE) -> Page:
    """Page `number` of `total` items; raises NoSuchPage past the last page (page 1 always exists)."""
    page = Page(number, size, total)
    if number > page.pages:
        raise NoSuchPage(str(number))
    return page
