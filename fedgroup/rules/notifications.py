"""Mail to members, as rules: which kinds of news there are, when a notification goes out for a member's
choices (at once, a daily or a weekly digest, after a break), how many asks a week, the signed unsubscribe
token, and the message itself (plain text with an HTML alternative, no images, no tracking). Pure: the time,
the zone and the secrets are passed in."""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from fedgroup.rules import timezones
from fedgroup.rules.languages import N_, Language, Message

# What a member may choose to receive, in the order Account lists them (translated where shown).
KINDS: dict[str, str] = {
    "new_campaign": N_("A new campaign"),
    "closing": N_("A campaign I pledged to is near its deadline or short of its goal"),
    "reminder": N_("A reminder to fulfil my pledge"),
    "outcome": N_("The outcome of a campaign I pledged to"),
    "partner": N_("A partner group's campaign"),
}
# The same kinds as organizers read them about members (Organize → Mail: how many chose each).
KINDS_THEIRS: dict[str, str] = {
    "new_campaign": N_("A new campaign"),
    "closing": N_("A campaign they pledged to is near its deadline or short of its goal"),
    "reminder": N_("A reminder to fulfil their pledge"),
    "outcome": N_("The outcome of a campaign they pledged to"),
    "partner": N_("A partner group's campaign"),
}
# What an unsubscribe link stops, as its page and the confirmation say it.
SCOPES: dict[str, str] = {
    "all": N_("all mail from the group"),
    "call": N_("calls from organizers"),
    "new_campaign": N_("mail about: a new campaign"),
    "closing": N_("mail about: a campaign you pledged to is near its deadline or short of its goal"),
    "reminder": N_("mail about: a reminder to fulfil your pledge"),
    "outcome": N_("mail about: the outcome of a campaign you pledged to"),
    "partner": N_("mail about: a partner group's campaign"),
}
# An organizer's call ("we need 5 more people on Saturday"): paced by the member's asks_per_week, not a kind
# they tick. A password reset is no news: it goes to whoever asked, whatever they chose.
CALL = "call"
RESET = "reset"
DELIVERIES: dict[str, str] = {
    "now": N_("At once"),
    "daily": N_("A daily digest"),
    "weekly": N_("A weekly digest"),
}
# Digests go out at this local hour; the weekly one on Mondays.
DIGEST_HOUR = 7
MAX_ASKS_PER_WEEK = 50
ASK_WINDOW = timedelta(days=7)
# A campaign someone pledged to is "near its deadline" this long before it.
CLOSING_NOTICE = timedelta(hours=48)


class NotificationError(ValueError):
    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Preferences:
    kinds: frozenset[str] = field(default_factory=lambda: frozenset(KINDS))
    delivery: str = "now"
    break_until: date | None = None
    break_keeps: frozenset[str] = frozenset()
    asks_per_week: int = 2

    def wants(self, kind: str) -> bool:
        return kind in self.kinds


DEFAULT_PREFERENCES = Preferences()


def make_preferences(
    kinds: Sequence[str], delivery: str, break_until: str, break_keeps: Sequence[str], asks_per_week: str
) -> Preferences:
    """Preferences from what a form or a command gave, checked."""
    unknown = (set(kinds) | set(break_keeps)) - set(KINDS) - {CALL}
    if unknown:
        raise NotificationError("unknown kind of mail: " + ", ".join(sorted(unknown)), "kinds")
    if delivery not in DELIVERIES:
        raise NotificationError(N_("choose at once, a daily digest or a weekly digest"), "delivery")
    until = None
    if break_until.strip():
        try:
            until = date.fromisoformat(break_until.strip())
        except ValueError:
            raise NotificationError(N_("a date like 2026-08-31"), "break_until") from None
    try:
        asks = int(asks_per_week.strip() or "0")
    except ValueError:
        raise NotificationError(N_("a whole number"), "asks_per_week") from None
    if not 0 <= asks <= MAX_ASKS_PER_WEEK:
        raise NotificationError(Message(N_("between 0 and %(most)s"), most=MAX_ASKS_PER_WEEK), "asks_per_week")
    return Preferences(frozenset(kinds) & set(KINDS), delivery, until, frozenset(break_keeps), asks)


def split(text: str) -> frozenset[str]:
    return frozenset(k for k in text.split(",") if k)


def join(kinds: frozenset[str]) -> str:
    return ",".join(sorted(kinds))


# -- when ---------------------------------------------------------------------------------------------------


def break_end(prefs: Preferences, zone_name: str) -> datetime | None:
    """The moment a break ends: the start of its date in the group's time zone."""
    if prefs.break_until is None:
        return None
    return datetime.combine(prefs.break_until, time(0), timezones.zone(zone_name))


def on_break(prefs: Preferences, zone_name: str, now: datetime) -> bool:
    end = break_end(prefs, zone_name)
    return end is not None and now < end


def next_digest(delivery: str, after: datetime, zone_name: str) -> datetime:
    """The first digest time strictly after `after`: DIGEST_HOUR local time, every day or on Mondays."""
    zone = timezones.zone(zone_name)
    local = after.astimezone(zone)
    day = local.date()
    while True:
        candidate = datetime.combine(day, time(DIGEST_HOUR), zone)
        if candidate > after and (delivery == "daily" or day.weekday() == 0):
            return candidate
        day += timedelta(days=1)


def schedule(
    kind: str, created_at: datetime, prefs: Preferences, zone_name: str
) -> tuple[datetime, str | None]:
    """When a notification goes out and with which others (its batch; None: a mail of its own).

    A break holds what was made before it ends, except the kinds kept; held news comes back as one digest
    when the break ends (or with the next digest, for digest readers). Calls are not scheduled here: an ask
    that cannot go at once is held back, not kept for later."""
    start, held = created_at, False
    end = break_end(prefs, zone_name)
    if end is not None and created_at < end and kind not in prefs.break_keeps:
        start, held = end, True
    if prefs.delivery == "now":
        return (start, f"back:{start.isoformat()}") if held else (start, None)
    at = next_digest(prefs.delivery, start, zone_name)
    return at, f"{prefs.delivery}:{at.isoformat()}"


def may_ask(prefs: Preferences, asks_this_week: int, zone_name: str, now: datetime) -> bool:
    """Whether a call may reach a member now: under their weekly maximum, and not on a break (unless they
    keep calls during it)."""
    if asks_this_week >= prefs.asks_per_week:
        return False
    return not on_break(prefs, zone_name, now) or CALL in prefs.break_keeps


# -- unsubscribing without signing in --------------------------------------------------------------------------


def unsubscribe_secret(private_key_pem: str) -> bytes:
    """The MAC key of unsubscribe links, derived from a key the server keeps secret already."""
    return hashlib.sha256(b"fedgroup unsubscribe\0" + private_key_pem.encode()).digest()


def unsubscribe_token(secret: bytes, member_id: int, scope: str) -> str:
    """`scope` is a kind, CALL, or "all". The token names the member and the scope, and a MAC over both."""
    payload = base64.urlsafe_b64encode(f"{member_id}:{scope}".encode()).decode().rstrip("=")
    return f"{payload}.{_mac(secret, payload)}"


def read_unsubscribe_token(secret: bytes, token: str) -> tuple[int, str] | None:
    if len(token) > 200 or token.count(".") != 1:
        return None
    payload, mac = token.split(".")
    if not hmac.compare_digest(mac, _mac(secret, payload)):
        return None
    try:
        member, scope = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode().split(":", 1)
        member_id = int(member)
    except ValueError:
        return None
    if scope not in (*KINDS, CALL, "all"):
        return None
    return member_id, scope


def _mac(secret: bytes, payload: str) -> str:
    return hmac.new(secret, payload.encode(), hashlib.sha256).hexdigest()[:32]


def unsubscribed(prefs: Preferences, scope: str) -> Preferences:
    """The preferences after a one-click unsubscribe from `scope`."""
    if scope == "all":
        return Preferences(frozenset(), prefs.delivery, prefs.break_until, prefs.break_keeps, 0)
    if scope == CALL:
        return Preferences(prefs.kinds, prefs.delivery, prefs.break_until, prefs.break_keeps, 0)
    return Preferences(
        prefs.kinds - {scope}, prefs.delivery, prefs.break_until, prefs.break_keeps, prefs.asks_per_week
    )


def scope_text(scope: str, lang: Language) -> str:
    """What an unsubscribe link of `scope` stops, in the reader's language."""
    return lang.gettext(SCOPES[scope])


# -- addresses ------------------------------------------------------------------------------------------------

_ADDRESS = re.compile(r"[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+")


def clean_address(text: str) -> str | None:
    """A member's address as typed, checked (one plain address, no display name); "" means none."""
    text = text.strip()
    if not text:
        return None
    if len(text) > 254 or not _ADDRESS.fullmatch(text):
        raise NotificationError(N_("that does not look like an email address"), "email")
    return text


# -- the message ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """One notification as a mail shows it."""

    subject: str
    body: str
    url: str


@dataclass(frozen=True)
class Envelope:
    group_name: str
    sender: str  # the configured From
    recipient: str
    message_id: str
    sent_at: datetime
    account_url: str
    unsubscribe_url: str | None  # None: a mail one does not unsubscribe from (a password reset)


def message_id(notification: str, member_id: int, domain: str) -> str:
    """Fixed for a (member, notification): a retry or a second queueing carries the same Message-ID."""
    digest = hashlib.sha256(f"{member_id}\0{notification}".encode()).hexdigest()[:32]
    host = domain.split(":")[0] or "localhost"
    return f"<{digest}@{host}>"


def digest_subject(group_name: str, items: Sequence[Item], lang: Language) -> str:
    return lang.ngettext(
        "%(group)s: %(num)s update", "%(group)s: %(num)s updates", len(items), group=group_name
    )


def compose(
    envelope: Envelope, subject: str, intro: str, items: Sequence[Item], reason: str, lang: Language
) -> bytes:
    """A plain text mail with an HTML alternative: the same words, links as text, nothing loaded from anywhere;
    in the member's language (`lang`), which its HTML names."""
    message = EmailMessage()
    name, address = parseaddr(envelope.sender)
    message["From"] = str(Address(display_name=name or envelope.group_name, addr_spec=address))
    message["To"] = envelope.recipient
    message["Subject"] = subject
    message["Date"] = format_datetime(envelope.sent_at)
    message["Message-ID"] = envelope.message_id
    message["Auto-Submitted"] = "auto-generated"
    if envelope.unsubscribe_url is not None:
        # RFC 8058: a mail client may POST "List-Unsubscribe=One-Click" to the URL, without signing in.
        message["List-Unsubscribe"] = f"<{envelope.unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    text_parts = [intro, ""] if intro else []
    html_parts = [f"<p>{_html_text(intro)}</p>"] if intro else []
    for item in items:
        if len(items) > 1:
            text_parts.append(f"* {item.subject}")
            html_parts.append(f"<h2>{html.escape(item.subject)}</h2>")
        text_parts += [item.body, item.url, ""]
        html_parts.append(f"<p>{_html_text(item.body)}</p>")
        html_parts.append(f'<p><a href="{html.escape(item.url)}">{html.escape(item.url)}</a></p>')
    footer = [
        f"-- \n{reason}",
        lang.gettext("What you receive, and how often: %(url)s", url=envelope.account_url),
    ]
    if envelope.unsubscribe_url is not None:
        footer.append(lang.gettext("Unsubscribe: %(url)s", url=envelope.unsubscribe_url))
    text = "\n".join(text_parts + footer) + "\n"
    footer_html = "<br>".join(_html_text(line) for line in footer[1:])
    page = (
        f'<!DOCTYPE html><html lang="{lang.code}" dir="{lang.direction}"><head><meta charset="utf-8">'
        f"<title>{html.escape(subject)}</title></head><body>"
        + "".join(html_parts)
        + f"<hr><p><small>{_html_text(reason)}<br>{footer_html}</small></p></body></html>"
    )
    message.set_content(text)
    message.add_alternative(page, subtype="html")
    message["Content-Language"] = lang.code  # after the parts: setting content clears Content-* headers
    return bytes(message)


_URL = re.compile(r"https?://[^\s<>\"]+")


def _html_text(text: str) -> str:
    """Plain text as HTML: escaped, lines kept, our own links clickable."""
    out, last = [], 0
    for found in _URL.finditer(text):
        out.append(html.escape(text[last : found.start()]))
        url = html.escape(found.group())
        out.append(f'<a href="{url}">{url}</a>')
        last = found.end()
    out.append(html.escape(text[last:]))
    return "".join(out).replace("\n", "<br>")
