"""Mail to members, as use cases: what happened becomes notifications for those who chose them, notifications
become mails when their time comes (at once or in digests), organizers' calls within members' weekly
limits, one-click unsubscribing, and password reset links sent by mail.

Every step is one transaction: an event is recorded as handled with the notifications it made; notifications
are marked dispatched with the mail that carries them. The mail worker (net/mail.py) sends the queue.
Addresses go only into the queue and to the SMTP server: never into a log line, a page other than the
member's own Account, or anything federated.
"""

from __future__ import annotations

import logging
import sqlite3
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from fedgroup import store
from fedgroup.actions.accounts import create_password_reset
from fedgroup.actions.campaigns import group_language, load_campaign
from fedgroup.actions.context import ActionError, Context
from fedgroup.rules import campaigns, formats, languages, notifications
from fedgroup.rules.campaign_state import CampaignState
from fedgroup.rules.languages import N_, Language, message_of
from fedgroup.rules.notifications import CALL, Envelope, Item, Preferences
from fedgroup.store.mail import Notice, StoredPreferences, WaitingItem

log = logging.getLogger(__name__)

# What closed or got an outcome this long ago may still be news (a server that was down for days).
RECENT = timedelta(days=7)
# At most one password reset mail per member per this long, however often the form is sent.
RESET_MAIL_EVERY = timedelta(minutes=10)
AUDIENCE_ROLES = {"all": ("admin", "organizer", "member"), "organizers": ("admin", "organizer"),
                  "admins": ("admin",)}  # fmt: skip


def preferences_of(stored: StoredPreferences | None) -> Preferences:
    if stored is None:
        return notifications.DEFAULT_PREFERENCES
    return Preferences(
        notifications.split(stored.kinds),
        stored.delivery,
        stored.break_until,
        notifications.split(stored.break_keeps),
        stored.asks_per_week,
    )


def _stored(prefs: Preferences) -> StoredPreferences:
    return StoredPreferences(
        notifications.join(prefs.kinds),
        prefs.delivery,
        prefs.break_until,
        notifications.join(prefs.break_keeps),
        prefs.asks_per_week,
    )


async def preferences(runtime: Context, member_id: int) -> Preferences:
    return preferences_of(await runtime.db.read(store.mail.preferences, member_id))


def _apply_preferences(
    conn: sqlite3.Connection, member_id: int, prefs: Preferences, zone: str, now: datetime
) -> None:
    """Store the choices, and put what already waits for the member on the new schedule (a break taken, a
    digest chosen, a kind no longer wanted)."""
    store.mail.save_preferences(conn, member_id, _stored(prefs), now)
    waiting = store.mail.waiting_items(conn, member_id)
    store.mail.drop_waiting(
        conn, member_id, {i.kind for i in waiting if i.kind != CALL and not prefs.wants(i.kind)}
    )
    for item in waiting:
        if item.kind == CALL or not prefs.wants(item.kind):
            continue
        release_at, batch = notifications.schedule(item.kind, item.created_at, prefs, zone)
        store.mail.reschedule_item(conn, item.id, release_at, batch)


async def save_preferences(runtime: Context, member_id: int, email: str, prefs: Preferences) -> None:
    try:
        address = notifications.clean_address(email)
    except notifications.NotificationError as e:
        raise ActionError(message_of(e), e.field) from None
    zone, now = runtime.site.timezone, runtime.now()

    def job(conn: sqlite3.Connection) -> None:
        store.mail.set_email(conn, member_id, address)
        _apply_preferences(conn, member_id, prefs, zone, now)

    await runtime.db.write(job)


def _secret(runtime: Context) -> bytes:
    return notifications.unsubscribe_secret(runtime.site.instance_private_key)


def read_unsubscribe(runtime: Context, token: str) -> tuple[int, str] | None:
    return notifications.read_unsubscribe_token(_secret(runtime), token)


async def unsubscribe(runtime: Context, token: str) -> str | None:
    """Apply a one-click unsubscribe; returns its scope (rules.notifications.SCOPES; None: not a valid link)."""
    found = read_unsubscribe(runtime, token)
    if found is None:
        return None
    member_id, scope = found
    zone, now = runtime.site.timezone, runtime.now()

    def job(conn: sqlite3.Connection) -> bool:
        if store.members.by_id(conn, member_id) is None:
            return False
        prefs = preferences_of(store.mail.preferences(conn, member_id))
        _apply_preferences(conn, member_id, notifications.unsubscribed(prefs, scope), zone, now)
        return True

    if not await runtime.db.write(job):
        return None
    log.info("mail unsubscribed member=%d scope=%s", member_id, scope)
    return scope


# -- what happened becomes notifications ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Event:
    key: str
    kind: str
    # The subject and text in a reader's language: each member reads their own (dates in the group's zone,
    # amounts as their language writes them).
    words: Callable[[Language], tuple[str, str]]
    url: str
    member_ids: tuple[int, ...] | None  # None: every member with an address


def language_for(runtime: Context, member_language: str | None) -> Language:
    """The language of what a member is sent: their own choice, else the group's (a mail has no browser)."""
    return languages.language(languages.choose(member_language, None, "", group_language(runtime)))


def _progress(state: CampaignState | None, lang: Language) -> str:
    """ "€340 of €1,000 · 3 of 10 people": how far the goals are, in `lang`."""
    if state is None:
        return ""
    return formats.joined(
        [
            formats.progress(p.goal.kind, p.pledged, p.goal.target, p.goal.unit, lang, state.row.language)
            for p in state.tally.progress
        ]
    )


def _events(conn: sqlite3.Connection, runtime: Context, now: datetime) -> list[_Event]:
    """Everything that is (or may still be) news now, each with a stable key."""
    group, zone, ids = runtime.site.name, runtime.site.timezone, runtime.ids
    events = []
    for c in store.mail.open_campaigns(conn):
        url = ids.campaign(c.id)

        def new_words(lang: Language, c: store.mail.Occasion = c) -> tuple[str, str]:
            body = lang.gettext("%(group)s started a campaign: %(title)s.", group=group, title=c.title)
            if c.deadline is not None:
                body += "\n" + lang.gettext(
                    "Pledges close %(when)s.", when=formats.moment(c.deadline, zone, lang)
                )
            return lang.gettext("%(group)s: new campaign: %(title)s", group=group, title=c.title), body

        events.append(_Event(f"new:{c.id}", "new_campaign", new_words, url, None))
        if c.deadline is not None and now < c.deadline <= now + notifications.CLOSING_NOTICE:
            state = load_campaign(conn, c.id)
            short = state is not None and any(p.pledged < p.goal.target for p in state.tally.progress)
            has_goals = state is not None and bool(state.goals)

            def closing_words(
                lang: Language, c: store.mail.Occasion = c, state: CampaignState | None = state,
                short: bool = short, has_goals: bool = has_goals,
            ) -> tuple[str, str]:  # fmt: skip
                when = formats.moment(c.deadline, zone, lang) if c.deadline is not None else ""
                subject = (
                    lang.gettext("%(group)s: %(title)s closes %(when)s and is short of its goal",
                                 group=group, title=c.title, when=when)
                    if short
                    else lang.gettext("%(group)s: %(title)s closes %(when)s", group=group, title=c.title, when=when)
                )  # fmt: skip
                body = lang.gettext("You pledged to %(title)s. It closes %(when)s.", title=c.title, when=when)
                if has_goals:
                    body += "\n" + lang.gettext("So far: %(progress)s.", progress=_progress(state, lang))
                if short:
                    body += "\n" + lang.gettext(
                        "It is still short of its goal: maybe someone you know would pledge too?"
                    )
                return subject, body

            events.append(_Event(f"closing:{c.id}", "closing", closing_words, url,
                                 tuple(store.mail.pledger_ids(conn, c.id))))  # fmt: skip
    for c in store.mail.recently_closed(conn, now - RECENT):
        url = ids.campaign(c.id)
        if c.closed_at is not None and c.closed_at >= now - RECENT:

            def reminder_words(lang: Language, c: store.mail.Occasion = c) -> tuple[str, str]:
                return (
                    lang.gettext(
                        "%(group)s: please fulfil your pledge to %(title)s", group=group, title=c.title
                    ),
                    lang.gettext(
                        "%(title)s has closed. If you have not done what you pledged yet, now is the time; then"
                        ' say "I did it" on your home page so the organizers can count it.',
                        title=c.title,
                    ),
                )

            events.append(_Event(f"reminder:{c.id}", "reminder", reminder_words, url,
                                 tuple(store.mail.pledger_ids(conn, c.id, unfulfilled_only=True))))  # fmt: skip
        if c.outcome_at is not None and c.outcome_at >= now - RECENT:

            def outcome_words(lang: Language, c: store.mail.Occasion = c) -> tuple[str, str]:
                return (
                    lang.gettext("%(group)s: the outcome of %(title)s", group=group, title=c.title),
                    lang.gettext("The organizers reported the outcome of %(title)s:", title=c.title)
                    + "\n"
                    + (c.outcome or ""),
                )

            events.append(_Event(f"outcome:{c.id}", "outcome", outcome_words, url + "/outcome",
                                 tuple(store.mail.pledger_ids(conn, c.id))))  # fmt: skip
    for partner_id, title, _actor in store.mail.recent_partner_campaigns(conn, now - RECENT):

        def partner_words(lang: Language, title: str = title) -> tuple[str, str]:
            return (
                lang.gettext("%(group)s: a partner group's campaign: %(title)s", group=group, title=title),
                lang.gettext(
                    "A partner group of %(group)s started a campaign: %(title)s. You can pledge to it here.",
                    group=group, title=title,
                ),
            )  # fmt: skip

        events.append(_Event(f"partner:{partner_id}", "partner", partner_words,
                             f"{runtime.config.base_url}/partners/{partner_id}", None))  # fmt: skip
    return events


async def bootstrap(runtime: Context) -> None:
    """When mail is first configured, what happened before is not news: it is recorded as handled."""
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> None:
        if store.mail.any_event_handled(conn):
            return
        store.mail.mark_events(conn, ["mail-started", *(e.key for e in _events(conn, runtime, now))], now)

    await runtime.db.write(job)


async def notice_events(runtime: Context) -> int:
    """Turn what happened since the last look into notifications; returns how many were made."""
    now = runtime.now()
    zone = runtime.site.timezone

    def find(conn: sqlite3.Connection) -> list[str]:
        keys = [e.key for e in _events(conn, runtime, now)]
        handled = store.mail.handled_events(conn, keys)
        return [k for k in keys if k not in handled]

    if not await runtime.db.read(find):
        return 0

    def job(conn: sqlite3.Connection) -> int:
        events = _events(conn, runtime, now)
        new = [e for e in events if e.key not in store.mail.handled_events(conn, [e.key for e in events])]
        made = 0
        for event in new:
            worded: dict[str, tuple[str, str]] = {}  # each language's words, made once per event
            for recipient in store.mail.recipients(conn, event.member_ids):
                prefs = preferences_of(recipient.prefs)
                if not prefs.wants(event.kind):
                    continue
                release_at, batch = notifications.schedule(event.kind, now, prefs, zone)
                lang = language_for(runtime, recipient.language)
                if lang.code not in worded:
                    worded[lang.code] = event.words(lang)
                subject, body = worded[lang.code]
                notice = Notice(recipient.member_id, event.key, event.kind, subject, body, event.url)
                made += store.mail.add_item(conn, notice, now, release_at, batch)
        store.mail.mark_events(conn, [e.key for e in new], now)
        return made

    return await runtime.db.write(job)


# -- notifications become mails --------------------------------------------------------------------------------


def _envelope(
    runtime: Context, member_id: int, recipient: str, notification: str, scope: str | None
) -> Envelope:
    base = runtime.config.base_url
    return Envelope(
        group_name=runtime.site.name,
        sender=runtime.config.mail_from,
        recipient=recipient,
        message_id=notifications.message_id(notification, member_id, runtime.ids.domain),
        sent_at=runtime.now(),
        account_url=f"{base}/account/mail",
        unsubscribe_url=None
        if scope is None
        else f"{base}/unsubscribe/{notifications.unsubscribe_token(_secret(runtime), member_id, scope)}",
    )


async def dispatch_due(runtime: Context) -> int:
    """Queue a mail for each notification (or digest) whose time has come; returns how many mails."""
    now = runtime.now()
    due = await runtime.db.read(store.mail.due_items, now)
    if not due:
        return 0
    groups: dict[tuple[int, str], list[WaitingItem]] = defaultdict(list)
    for item in due:
        groups[(item.member_id, item.batch or f"item:{item.id}")].append(item)
    queued = 0
    for (member_id, batch), items in groups.items():
        queued += await runtime.db.write(_queue_group, runtime, member_id, batch, items, now)
    if queued:
        runtime.mail_queued()
    return queued


def _queue_group(
    conn: sqlite3.Connection,
    runtime: Context,
    member_id: int,
    batch: str,
    items: list[WaitingItem],
    now: datetime,
) -> int:
    # Another dispatch (a call's, the scheduler's) may have taken some of these since they were read.
    items = [i for i in items if store.mail.still_waiting(conn, i.id)]
    if not items:
        return 0
    member = store.members.by_id(conn, member_id)
    if member is None or not member.email:
        store.mail.dispatched(conn, [i.id for i in items], None, now)
        return 0
    shown = [Item(i.subject, i.body, i.url) for i in items]
    group = runtime.site.name
    lang = language_for(runtime, member.language)
    if len(items) == 1 and items[0].batch is None:
        kind = items[0].kind
        notification = f"item:{items[0].id}"
        subject, intro = items[0].subject, ""
        reason = (
            lang.gettext(
                "An organizer of %(group)s sent this call. You chose to get at most a few calls a week; change it"
                " on your account page.",
                group=group,
            )
            if kind == CALL
            else lang.gettext("You get this because you chose to hear of this on %(group)s.", group=group)
        )
    else:
        kind = "all"
        # The batch and its first notification: a digest of the same time made later (a notification put
        # back on a schedule whose digest went out already) is a mail of its own, not a repeat.
        notification = f"digest:{batch}:{items[0].id}"
        subject = notifications.digest_subject(group, shown, lang)
        intro = (
            lang.gettext("While you were away:")
            if batch.startswith("back:")
            else lang.gettext("News from %(group)s:", group=group)
        )
        reason = lang.gettext("You get this digest because you chose it on %(group)s.", group=group)
    envelope = _envelope(runtime, member_id, member.email, notification, kind)
    message = notifications.compose(envelope, subject, intro, shown, reason, lang)
    mail_id = store.mail.add_mail(
        conn, member_id, notification, envelope.message_id, member.email, message, now
    )
    store.mail.dispatched(conn, [i.id for i in items], mail_id, now)
    return 1 if mail_id is not None else 0


async def run(runtime: Context) -> None:
    """The scheduler's mail work: notice what happened, queue what is due."""
    await notice_events(runtime)
    await dispatch_due(runtime)


# -- organizers' calls -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallResult:
    call_id: int
    reached: int
    held_back: int  # by the member's own weekly limit or a break: never said which, nor who
    without_address: int


def _audience_ids(conn: sqlite3.Connection, audience: str) -> list[int]:
    if audience in AUDIENCE_ROLES:
        return store.mail.member_ids_with_role(conn, AUDIENCE_ROLES[audience])
    if audience.startswith("campaign:") and audience[9:].isdigit():
        campaign_id = int(audience[9:])
        if store.campaigns.get(conn, campaign_id) is None:
            raise ActionError(N_("there is no such campaign"), "audience")
        return store.mail.pledger_ids(conn, campaign_id)
    raise ActionError(N_("choose who the call is for"), "audience")


async def send_call(runtime: Context, sender_id: int, subject: str, body: str, audience: str) -> CallResult:
    """An organizer's call, to members by role or to those who pledged to a campaign: each member gets it
    only within their weekly maximum of asks (and not during a break, unless they keep calls)."""
    if not runtime.config.mail_enabled:
        raise ActionError(N_("mail is not set up on this server (see README: Mail)"), "subject")
    subject, body = campaigns.clean_line(subject), campaigns.clean_block(body)
    if not subject or len(subject) > 200:
        raise ActionError(N_("a subject of 1 to 200 characters"), "subject")
    if not body or len(body) > 5000:
        raise ActionError(N_("a message of 1 to 5,000 characters"), "body")
    now, zone = runtime.now(), runtime.site.timezone
    url = f"{runtime.config.base_url}/home"

    def job(conn: sqlite3.Connection) -> CallResult:
        member_ids = _audience_ids(conn, audience)
        with_address = store.mail.recipients(conn, member_ids)
        reached = held = 0
        call_id = store.mail.add_call(conn, sender_id, subject, audience, 0, 0, now)
        for recipient in with_address:
            prefs = preferences_of(recipient.prefs)
            asked = store.mail.asks_since(conn, recipient.member_id, now - notifications.ASK_WINDOW)
            if not notifications.may_ask(prefs, asked, zone, now):
                held += 1
                continue
            notice = Notice(
                recipient.member_id, f"call:{call_id}", CALL, f"{runtime.site.name}: {subject}", body, url
            )
            reached += store.mail.add_item(conn, notice, now, now, None)
        conn.execute(
            "UPDATE mail_calls SET reached = ?, held_back = ? WHERE id = ?", (reached, held, call_id)
        )
        return CallResult(call_id, reached, held, len(member_ids) - len(with_address))

    result = await runtime.db.write(job)
    log.info("mail call id=%d reached=%d held_back=%d", result.call_id, result.reached, result.held_back)
    await dispatch_due(runtime)
    return result


@dataclass(frozen=True)
class Reach:
    """How many members each kind of mail would reach (numbers only: never who, never who is on a break)."""

    with_address: int
    members: int
    by_kind: dict[str, int]
    calls: int


async def reach(runtime: Context) -> Reach:
    def read(conn: sqlite3.Connection) -> Reach:
        recipients = store.mail.recipients(conn)
        prefs = [preferences_of(r.prefs) for r in recipients]
        by_kind = {kind: sum(p.wants(kind) for p in prefs) for kind in notifications.KINDS}
        return Reach(
            len(recipients), store.members.count(conn), by_kind, sum(p.asks_per_week > 0 for p in prefs)
        )

    return await runtime.db.read(read)


# -- password reset by mail --------------------------------------------------------------------------------------


async def mail_password_reset(runtime: Context, name_or_address: str) -> None:
    """Send a one-time reset link to the member with this address (or name), if there is one with an address.
    Says nothing either way: the page answers the same whether or not anyone matched."""
    if not runtime.config.mail_enabled:
        raise ActionError(N_("mail is not set up on this server: ask an admin for a reset link"), "who")
    wanted = name_or_address.strip()
    if not wanted or len(wanted) > 254:
        return
    now = runtime.now()

    def find(conn: sqlite3.Connection) -> tuple[int, str, str | None] | None:
        row = conn.execute(
            "SELECT id, email, language FROM members WHERE email IS NOT NULL AND email != '' AND"
            " (lower(email) = lower(?) OR name = ?) ORDER BY id LIMIT 1",
            (wanted, campaigns.clean_line(wanted)),
        ).fetchone()
        if row is None:
            return None
        recent = conn.execute(
            "SELECT 1 FROM password_resets WHERE member_id = ? AND created_at > ?",
            (row[0], store.to_db_time(now - RESET_MAIL_EVERY)),
        ).fetchone()
        return None if recent else (int(row[0]), str(row[1]), row[2])

    found = await runtime.db.read(find)
    if found is None:
        log.info("password reset by mail: nothing sent")
        return
    member_id, address, member_language = found
    lang = language_for(runtime, member_language)
    link = await create_password_reset(runtime, member_id, hours=2)
    notification = f"reset:{store.to_db_time(now)}"
    envelope = _envelope(runtime, member_id, address, notification, None)
    item = Item(
        lang.gettext("%(group)s: choose a new password", group=runtime.site.name),
        lang.gettext("Someone (we hope you) asked for a new password. This link works once, for two hours:"),
        link,
    )
    reason = lang.gettext("If it was not you, ignore this mail: your password stays as it is.")
    message = notifications.compose(envelope, item.subject, "", [item], reason, lang)
    await runtime.db.write(
        store.mail.add_mail, member_id, notification, envelope.message_id, address, message, now
    )
    log.info("password reset by mail: queued member=%d", member_id)
    runtime.mail_queued()
