"""Gatherings: an organizer creates, edits and cancels one (each federates as an `Event`: Create, then
Update); members RSVP in the web UI, fediverse accounts with Join/Leave (or Accept/TentativeAccept/Reject of
the Event); capacity and a first-come waiting list; who comes counts toward the campaign's `people` goal.

What is stored of a remote RSVP is only what answering it needs (its account, its activity's id, its inbox);
not coming is no row at all. Who comes never leaves the server: the Event carries counts only."""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from datetime import datetime

from fedgroup import store
from fedgroup.actions import handling, outbox
from fedgroup.actions.campaigns import existing_campaign, group_language
from fedgroup.actions.context import ActionError, Context
from fedgroup.protocol import gatherings as documents
from fedgroup.protocol import vocab
from fedgroup.protocol.ids import LocalIds
from fedgroup.protocol.parse import Activity
from fedgroup.rules import gatherings, timezones
from fedgroup.rules.gatherings import Counts, Entry, GatheringError
from fedgroup.rules.languages import N_, Message, message_of
from fedgroup.store.gatherings import GatheringFields, GatheringRow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GatheringState:
    row: GatheringRow
    counts: Counts
    campaign_title: str | None = None

    @property
    def id(self) -> int:
        return self.row.id


@dataclass(frozen=True)
class GatheringForm:
    """A gathering as typed in the form or on the command line, before it is checked. Times are wall-clock
    times in `timezone` ("2027-01-15T18:00"), or ISO 8601 with an offset; an empty zone is the group's."""

    title: str
    description: str
    starts: str
    ends: str
    timezone: str = ""
    place: str = ""
    latitude: str = ""
    longitude: str = ""
    online_url: str = ""
    capacity: str = ""
    campaign: str = ""
    visibility: str = "public"


def _moment(text: str, zone_name: str, field: str) -> datetime:
    text = text.strip()
    if not text:
        raise GatheringError(N_("give a date and time"), field)
    try:
        if timezones.is_local_input(text):
            return timezones.from_local(text, zone_name)
        moment = datetime.fromisoformat(text)
    except (timezones.TimeZoneError, ValueError) as e:
        raise GatheringError(
            message_of(e)
            if isinstance(e, timezones.TimeZoneError)
            else Message(N_("%(text)r is not a date and time"), text=text[:30]),
            field,
        ) from e
    if moment.tzinfo is None:
        raise GatheringError(N_("give the time as 2027-01-15T18:00, or with its offset"), field)
    return moment


def checked_fields(conn: sqlite3.Connection, form: GatheringForm, group_zone: str) -> GatheringFields:
    """The form's fields checked, with the campaign (if any) existing; a GatheringError names the field."""
    zone_name = form.timezone.strip() or group_zone
    try:
        timezones.zone(zone_name)
    except timezones.TimeZoneError as e:
        raise GatheringError(message_of(e), "timezone") from e
    starts = _moment(form.starts, zone_name, "starts")
    ends = _moment(form.ends, zone_name, "ends")
    gatherings.check_times(starts, ends)
    place = gatherings.check_place(form.place, form.latitude, form.longitude, form.online_url)
    campaign_id = None
    if form.campaign.strip():
        text = form.campaign.strip()
        if not (text.isascii() and text.isdigit()) or len(text) > 18:
            raise GatheringError(N_("choose one of the campaigns"), "campaign")
        try:
            campaign_id = existing_campaign(conn, int(text)).id
        except ActionError as e:
            raise GatheringError(message_of(e), "campaign") from e
    return GatheringFields(
        gatherings.check_title(form.title), gatherings.check_description(form.description), starts, ends,
        zone_name, place.text, place.latitude, place.longitude, place.online_url,
        gatherings.check_capacity(form.capacity), campaign_id, gatherings.check_visibility(form.visibility),
    )  # fmt: skip


# -- loading --------------------------------------------------------------------------------------------------


def load_gatherings(conn: sqlite3.Connection, rows: list[GatheringRow]) -> list[GatheringState]:
    states = store.gatherings.states_of(conn, [r.id for r in rows])
    titles: dict[int, str] = {}
    for campaign_id in {r.campaign_id for r in rows if r.campaign_id is not None}:
        campaign = store.campaigns.get(conn, campaign_id)
        if campaign is not None and campaign.deleted_at is None:
            titles[campaign_id] = campaign.title
    return [
        GatheringState(
            r,
            gatherings.counts(r.capacity, states[r.id]),
            titles.get(r.campaign_id) if r.campaign_id else None,
        )
        for r in rows
    ]


def load_gathering(conn: sqlite3.Connection, gathering_id: int) -> GatheringState | None:
    row = store.gatherings.get(conn, gathering_id)
    return None if row is None else load_gatherings(conn, [row])[0]


def existing_gathering(conn: sqlite3.Connection, gathering_id: int) -> GatheringState:
    found = load_gathering(conn, gathering_id)
    if found is None:
        raise ActionError(Message(N_("there is no gathering %(id)s"), id=gathering_id), "gathering")
    return found


def upcoming(conn: sqlite3.Connection, now: datetime, visibilities: tuple[str, ...]) -> list[GatheringState]:
    return load_gatherings(conn, store.gatherings.listing(conn, now, visibilities))


def event_of(ids: LocalIds, state: GatheringState, minimum: int, language: str) -> dict[str, object]:
    """`minimum`: the group's min_disclosed_count (a smaller number going is not told); `language`: the
    group's (actions.group_language), which the Event's fixed words and dates are in."""
    return documents.event_object(ids, state.row, state.counts, minimum=minimum, language=language)


# -- federating -----------------------------------------------------------------------------------------------


def _audience(conn: sqlite3.Connection, gathering_id: int) -> list[str]:
    """Who hears of a change: followers, and the remote accounts that said they come."""
    inboxes = store.follows.follower_inboxes(conn)
    inboxes += [r.inbox for r in store.gatherings.rsvps(conn, gathering_id) if r.inbox]
    return list(dict.fromkeys(inboxes))


def _send_update(
    conn: sqlite3.Connection, ids: LocalIds, gathering_id: int, now: datetime, minimum: int, language: str
) -> None:
    state = load_gathering(conn, gathering_id)
    if state is None or not state.row.federates:
        return
    activity = vocab.update(ids, outbox.new_activity_id(ids), event_of(ids, state, minimum, language), now)
    outbox.send(conn, activity, state.row.visibility, _audience(conn, gathering_id), now)


def _answer_join(
    conn: sqlite3.Connection, ids: LocalIds, rsvp: store.gatherings.Rsvp, accepted: bool, now: datetime
) -> None:
    """Mobilizon's answer to a Join: Accept when the account has a place, Reject when it can have none."""
    if rsvp.rsvp_type != "Join" or not rsvp.rsvp_activity or not rsvp.inbox or rsvp.actor is None:
        return
    activity = documents.answer_join(
        ids, outbox.new_activity_id(ids), accepted, rsvp.rsvp_activity, rsvp.actor, rsvp.gathering_id
    )
    outbox.send(conn, activity, "direct", [rsvp.inbox], now)


def _promote(conn: sqlite3.Connection, ids: LocalIds, row: GatheringRow, now: datetime) -> list[int]:
    """Free places go to the longest waiting; a remote account that joined is sent its Accept then."""
    listed = store.gatherings.rsvps(conn, row.id)
    chosen = set(gatherings.promotions(row.capacity, [Entry(r.id, r.state) for r in listed]))
    for rsvp in listed:
        if rsvp.id in chosen:
            store.gatherings.set_going(conn, rsvp.id)
            _answer_join(conn, ids, rsvp, True, now)
    return sorted(chosen)


def _attendance_changed(conn: sqlite3.Connection, row: GatheringRow, now: datetime) -> None:
    if row.campaign_id is not None:
        store.campaigns.totals_changed(conn, row.campaign_id, now)


# -- what organizers do ---------------------------------------------------------------------------------------


async def create_gathering(runtime: Context, organizer_id: int | None, form: GatheringForm) -> int:
    """A new gathering; unless it is for members only, a Create of its Event goes to followers."""
    now = runtime.now()
    ids = runtime.ids

    def job(conn: sqlite3.Connection) -> int:
        fields = checked_fields(conn, form, runtime.site.timezone)
        gathering_id = store.gatherings.create(conn, fields, organizer_id, now)
        state = existing_gathering(conn, gathering_id)
        if state.row.federates:
            event = event_of(ids, state, runtime.config.min_disclosed_count, group_language(runtime))
            activity = vocab.create(ids, outbox.new_activity_id(ids), event)
            outbox.send_to_followers(conn, activity, state.row.visibility, now)
        return gathering_id

    gathering_id = await runtime.db.write(job)
    runtime.deliveries_queued()
    log.info("gathering created id=%d", gathering_id)
    return gathering_id


async def edit_gathering(runtime: Context, gathering_id: int, form: GatheringForm) -> None:
    """New text, time, place or capacity: an Update to followers and to whoever said they come. A larger
    capacity lets the waiting list in. A gathering's visibility stays what it was published with."""
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> None:
        before = existing_gathering(conn, gathering_id).row
        if before.status == gatherings.CANCELLED:
            raise ActionError(N_("a cancelled gathering cannot be changed"), "title")
        fields = checked_fields(conn, form, runtime.site.timezone)
        if fields.visibility != before.visibility:
            raise GatheringError(N_("the visibility of a published gathering stays as it is"), "visibility")
        store.gatherings.update(conn, gathering_id, fields, now)
        after = existing_gathering(conn, gathering_id).row
        _promote(conn, runtime.ids, after, now)
        _attendance_changed(conn, before, now)
        _attendance_changed(conn, after, now)
        _send_update(
            conn, runtime.ids, gathering_id, now, runtime.config.min_disclosed_count, group_language(runtime)
        )

    await runtime.db.write(job)
    runtime.deliveries_queued()
    runtime.wake_scheduler()


async def cancel_gathering(runtime: Context, gathering_id: int) -> bool:
    """Cancelled for good: the Event says so (status CANCELLED) in an Update; who came no longer counts."""
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> bool:
        row = existing_gathering(conn, gathering_id).row
        if not store.gatherings.cancel(conn, gathering_id, now):
            return False
        _attendance_changed(conn, row, now)
        _send_update(
            conn, runtime.ids, gathering_id, now, runtime.config.min_disclosed_count, group_language(runtime)
        )
        return True

    cancelled = await runtime.db.write(job)
    runtime.deliveries_queued()
    runtime.wake_scheduler()
    if cancelled:
        log.info("gathering cancelled id=%d", gathering_id)
    return cancelled


# -- RSVPs ----------------------------------------------------------------------------------------------------


def _closed_reason(row: GatheringRow, now: datetime) -> str | None:
    if row.status == gatherings.CANCELLED:
        return "this gathering is cancelled"
    if now >= row.ends_at:
        return "this gathering is over"
    return None


async def member_rsvp(runtime: Context, gathering_id: int, member_id: int, going: bool) -> str:
    """A member comes (a place, or the end of the waiting list) or not (their place goes to the longest
    waiting); returns "going", "waiting" or "not-going"."""
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> str:
        state = existing_gathering(conn, gathering_id)
        row = state.row
        reason = _closed_reason(row, now)
        if reason is not None:
            raise ActionError(reason, "rsvp")
        mine = store.gatherings.member_rsvp(conn, gathering_id, member_id)
        if going:
            if mine is not None:
                return mine.state
            admitted = gatherings.admission(row.capacity, state.counts.going)
            store.gatherings.add_rsvp(conn, gathering_id, admitted, now, member_id=member_id)
        else:
            if mine is None:
                return "not-going"
            store.gatherings.remove_rsvp(conn, mine.id)
            _promote(conn, runtime.ids, row, now)
            admitted = "not-going"
        _attendance_changed(conn, row, now)
        return admitted

    answer = await runtime.db.write(job)
    runtime.deliveries_queued()
    runtime.wake_scheduler()
    return answer


def my_rsvps(conn: sqlite3.Connection, member_id: int) -> dict[int, str]:
    return store.gatherings.member_rsvps(conn, member_id)


async def on_remote_rsvp(runtime: Context, activity: Activity) -> bool:
    """A Join, Leave, Accept, TentativeAccept or Reject naming one of our gatherings; False when the activity
    is about something else (the inbox then treats it as it would otherwise). Safe to run twice: one row per
    account and gathering, and a repeated Join is answered again (its Accept may have been lost)."""
    rsvp = documents.remote_rsvp(runtime.ids, activity)
    if rsvp is None:
        return False
    await _apply_remote_rsvp(runtime, activity, rsvp)
    return True


async def on_undone_rsvp(runtime: Context, activity: Activity) -> bool:
    """An Undo of the account's own Join, Accept or TentativeAccept of one of our gatherings: not going (as a
    Leave). False when the Undo is about something else."""
    undone = documents.undone_rsvp(runtime.ids, activity)
    if undone is None:
        return False
    await _apply_remote_rsvp(runtime, activity, undone)
    return True


async def _apply_remote_rsvp(runtime: Context, activity: Activity, rsvp: documents.RemoteRsvp) -> None:
    assert runtime.actors is not None
    account = await runtime.actors.actor(activity.actor)
    now = runtime.now()
    ids = runtime.ids

    def job(conn: sqlite3.Connection) -> str:
        state = load_gathering(conn, rsvp.gathering_id)
        if state is None or not state.row.federates:
            return "unknown-gathering"
        row = state.row
        if row.visibility == "followers" and not store.follows.is_accepted_follower(conn, account.id):
            return "not-a-follower"
        theirs = store.gatherings.actor_rsvp(conn, row.id, account.id)
        if rsvp.answer == documents.GOING:
            if theirs is not None:
                if theirs.state == gatherings.GOING:
                    _answer_join(conn, ids, theirs, True, now)
                return "again"
            if _closed_reason(row, now) is not None:
                if activity.id:
                    _answer_join(
                        conn, ids,
                        store.gatherings.Rsvp(0, row.id, None, account.id, activity.id, rsvp.via, account.inbox, ""),
                        False, now,
                    )  # fmt: skip
                return "closed"
            admitted = gatherings.admission(row.capacity, state.counts.going)
            added = store.gatherings.add_rsvp(
                conn, row.id, admitted, now,
                actor=account.id, rsvp_activity=activity.id, rsvp_type=rsvp.via, inbox=account.inbox,
            )  # fmt: skip
            if admitted == gatherings.GOING:
                _answer_join(conn, ids, added, True, now)
            _attendance_changed(conn, row, now)
            return admitted
        # Not going, or only maybe: a maybe holds no place and is not counted, so it stores nothing.
        if theirs is None:
            return "nothing"
        store.gatherings.remove_rsvp(conn, theirs.id)
        _promote(conn, ids, row, now)
        _attendance_changed(conn, row, now)
        return "left"

    outcome = await runtime.db.write(handling.finishing(job))
    runtime.deliveries_queued()
    runtime.wake_scheduler()
    log.info(
        "gathering rsvp type=%s gathering=%d actor=%s outcome=%s",
        rsvp.via, rsvp.gathering_id, activity.actor, outcome,
    )  # fmt: skip


def forget_actor(conn: sqlite3.Connection, ids: LocalIds, actor_id: str, now: datetime) -> None:
    """A deleted account's RSVPs go; its places go to the waiting list."""
    places_freed(conn, ids, store.gatherings.forget_actor(conn, actor_id), now)


def places_freed(conn: sqlite3.Connection, ids: LocalIds, gathering_ids: list[int], now: datetime) -> None:
    """RSVPs of these gatherings went (an erased member, a deleted account): the waiting move up."""
    for gathering_id in gathering_ids:
        row = store.gatherings.get(conn, gathering_id)
        if row is not None:
            _promote(conn, ids, row, now)
            _attendance_changed(conn, row, now)


def calendar_of(ids: LocalIds, name: str, states: list[GatheringState]) -> bytes:
    return documents.calendar_ics(ids, name, [s.row for s in states])
