"""No two buttons on one page share a name without context (issue 25): a screen reader's list of buttons, or
a voice command ("click Withdraw"), must tell them apart. Every GET page of the router is read as a visitor, a
member, an organizer and an admin in a group with something on every page (several members, pledges,
invitations), and the accessible names of its buttons (aria-label, else the text) must all differ."""

from __future__ import annotations

from collections import Counter
from html.parser import HTMLParser

from tests.test_browser import PASSWORD
from tests.test_browser_narrow import _paths, _world
from tests.web_client import WebClient


class ButtonNames(HTMLParser):
    """The accessible name of each button of a page: its aria-label, or else its text."""

    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []
        self._text: list[str] | None = None
        self._label: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "button":
            self._text, self._label = [], attributes.get("aria-label")
        elif tag == "input" and attributes.get("type") in ("submit", "button"):
            self.names.append(attributes.get("aria-label") or attributes.get("value") or "")

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "button" and self._text is not None:
            self.names.append(self._label or " ".join("".join(self._text).split()))
            self._text = None


def shared_names(html: str) -> list[str]:
    parser = ButtonNames()
    parser.feed(html)
    return sorted(name for name, count in Counter(parser.names).items() if count > 1)


def test_the_parser_finds_two_buttons_of_one_name():
    page = '<button>Set</button><button aria-label="Set the role of Mia">Set</button><button> Set </button>'
    assert shared_names(page) == ["Set"]
    assert (
        shared_names('<button aria-label="Withdraw 2 hours">Withdraw</button><button>Withdraw</button>') == []
    )


async def test_no_two_buttons_on_a_page_share_a_name(make_server):
    server = await make_server()
    values = await _world(server)
    paths = _paths(server.app, values)
    found: list[str] = []
    for who in (None, "Mia Member", "Olu Organizer", "Ada Admin"):
        client = WebClient(server.base_url)
        try:
            if who:
                await client.sign_in(who, PASSWORD)
            for path in paths:
                page = await client.get(path)
                if page.status == 200 and page.headers.get("Content-Type", "").startswith("text/html"):
                    found += [f"{who or 'visitor'} {path}: {name!r}" for name in shared_names(page.text)]
        finally:
            await client.close()
    assert not found, "\n".join(found)
