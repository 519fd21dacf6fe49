"""Sharing a campaign on Mastodon: the visitor names their server, we send them to its share page with the
text filled in. The server's name is remote input typed into a form: only a bare host name passes (letters,
digits, hyphens and dots; an internationalised name in its ASCII form), so that the address we send the
browser to is always `https://HOST/share?text=...` and nothing typed can change its scheme, host or path.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlencode

MAX_INPUT = 300
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_USER = re.compile(r"[A-Za-z0-9_.-]{1,100}")


class ShareError(ValueError):
    field = "instance"


_HOW = "Type your server's name, like mastodon.social (or your handle, like @you@mastodon.social)."


def instance_host(typed: str) -> str:
    """The host name of the server the visitor typed, in lower case and ASCII. People type it in the ways
    they know it: "mastodon.social", "https://mastodon.social/", "@you@mastodon.social"; each gives the host.
    Anything else (another scheme, a port, a path, a query, spaces, an IP address) is refused."""
    text = typed.strip()
    if not text or len(text) > MAX_INPUT:
        raise ShareError(_HOW)
    if text[:8].lower() == "https://":
        text = text[8:]
        if text.endswith("/"):
            text = text[:-1]
    if "@" in text:
        parts = text.split("@")
        if parts[0] == "":
            parts = parts[1:]
        if len(parts) != 2 or not _USER.fullmatch(parts[0]):
            raise ShareError(_HOW)
        text = parts[1]
    try:
        host = text.encode("idna").decode("ascii").lower()
    except UnicodeError as e:
        raise ShareError(_HOW) from e
    labels = host.split(".")
    if (
        len(host) > 253
        or len(labels) < 2
        or not all(_LABEL.fullmatch(label) for label in labels)
        or labels[-1].isdigit()  # an IPv4 address: servers have names
    ):
        raise ShareError(_HOW)
    return host


def share_text(title: str, url: str) -> str:
    return f"{title}\n\n{url}"


def share_url(host: str, text: str) -> str:
    """The server's share page with `text` filled in (Mastodon's /share?text=, which Misskey also reads)."""
    return f"https://{host}/share?{urlencode({'text': text}, quote_via=quote)}"
