"""Proposals: members propose, take positions and change them until the closing time; the facilitator (an
organizer) extends, closes early, writes the outcome and may publish it to followers as a Note (counts only).
Rules in rules/proposals.py; rows in store/proposals.py; the Note in protocol/vocab_proposals.py.

An anonymous proposal stores who took part apart from what they chose (store/proposals.py says how). A member
changes an anonymous position with the change code they were given when they took part: the server keeps only
its SHA-256, beside the position and nowhere near their name, so nobody holding the database can go from a
member to their position, while the member can. Without the code a member cannot change it (and nobody
else can either): that is the price of a position nobody can trace.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import datetime

from fedgroup import store
from fedgroup.actions import outbox
from fedgroup.actions.campaigns import group_language
from fedgroup.actions.context import ActionError, Context
from fedgroup.protocol import vocab, vocab_proposals
from fedgroup.rules import campaigns, languages
from fedgroup.rules import proposals as rules
from fedgroup.rules.languages import N_, Message
from fedgroup.rules.proposals import Position, ProposalError, Tally

log = logging.getLogger(__name__)

PUBLISH_VISIBILITIES = ("public", "followers")


@dataclass(frozen=True)
class ProposalState:
    row: store.proposals.ProposalRow
    tally: Tally  # the count kept at closing once closed; else the count as it stands
    is_open: bool
    named: tuple[store.proposals.NamedPosition, ...]  # empty for an anonymous proposal: nothing to name

    @property
    def id(self) -> int:
        return self.row.id

    @property
    def count_lines(self) -> list[str]:
        return rules.count_lines(self.tally)


def ballot_key(proposal_id: int, change_code: str) -> str:
    """What the database keeps of a change code: its digest, bound to the proposal."""
    return hashlib.sha256(f"{proposal_id}:{change_code}".encode()).hexdigest()


def _positions(conn: sqlite3.Connection, row: store.proposals.ProposalRow) -> list[Position]:
    return [
        Position(rules.decode_choice(b.choice), b.reason)
        for b in store.proposals.ballots(conn, row.id, row.anonymous)
    ]


def current_tally(conn: sqlite3.Connection, row: store.proposals.ProposalRow) -> Tally:
    return rules.tally(row.kind, row.options, _positions(conn, row), row.quorum)


def load_proposal_in(conn: sqlite3.Connection, proposal_id: int, now: datetime) -> ProposalState | None:
    row = store.proposals.proposal(conn, proposal_id)
    if row is None:
        return None
    if row.final_count is not None:
        result = rules.tally_from_json(row.final_count)
    else:
        result = current_tally(conn, row)
    named = () if row.anonymous else tuple(store.proposals.named_positions(conn, proposal_id))
    return ProposalState(row, result, rules.is_open(row.status, row.closes_at, now), named)


async def load_proposal(runtime: Context, proposal_id: int) -> ProposalState:
    found = await runtime.db.read(load_proposal_in, proposal_id, runtime.now())
    if found is None:
        raise ActionError(Message(N_("there is no proposal %(id)s"), id=proposal_id), "proposal")
    return found


async def list_proposals(runtime: Context) -> list[store.proposals.ProposalRow]:
    return await runtime.db.read(store.proposals.all_proposals)


def _member(conn: sqlite3.Connection, member_id: int) -> store.members.Member:
    member = store.members.by_id(conn, member_id)
    if member is None:
        raise ActionError(N_("there is no such member"), "by")
    return member


def _facilitator(conn: sqlite3.Connection, member_id: int) -> store.members.Member:
    member = _member(conn, member_id)
    if not member.is_organizer:
        raise ActionError(N_("only an organizer facilitates a proposal"), "by")
    return member


def _existing(conn: sqlite3.Connection, proposal_id: int) -> store.proposals.ProposalRow:
    row = store.proposals.proposal(conn, proposal_id)
    if row is None:
        raise ActionError(Message(N_("there is no proposal %(id)s"), id=proposal_id), "proposal")
    return row


async def create_proposal(
    runtime: Context,
    proposed_by: int,
    title: str,
    body: str,
    kind: str,
    options: list[str],
    closes_at: datetime,
    quorum: int | None = None,
    anonymous: bool = False,
) -> int:
    """Any member may propose; only an organizer may make a proposal anonymous (it cannot be undone)."""
    draft = rules.validate_proposal(title, body, kind, options, closes_at, quorum, anonymous, runtime.now())

    def job(conn: sqlite3.Connection) -> int:
        member = _member(conn, proposed_by)
        if draft.anonymous and not member.is_organizer:
            raise ActionError(N_("only an organizer may make a proposal anonymous"), "anonymous")
        return store.proposals.add(
            conn, draft.title, draft.body, draft.kind, draft.options, draft.closes_at, draft.quorum,
            draft.anonymous, proposed_by, runtime.now(),
        )  # fmt: skip

    proposal_id = await runtime.db.write(job)
    runtime.wake_scheduler()
    log.info("proposal created id=%d kind=%s anonymous=%s", proposal_id, draft.kind, draft.anonymous)
    return proposal_id


async def take_position(
    runtime: Context, proposal_id: int, member_id: int, position: Position, change_code: str | None = None
) -> str | None:
    """Take or change a position while the proposal is open. For an anonymous proposal, the first position
    returns the member's change code (shown to them, never stored); changing it takes that code back."""
    now = runtime.now()
    new_code = secrets.token_urlsafe(
        12
    )  # made here: a write job may run twice, and must do the same both times

    def job(conn: sqlite3.Connection) -> str | None:
        row = _existing(conn, proposal_id)
        _member(conn, member_id)
        if not rules.is_open(row.status, row.closes_at, now):
            raise ProposalError(N_("this proposal is closed"), "position")
        # Checked against the proposal as stored: its kind and number of options decide what a position is.
        rules.check_position(row.kind, len(row.options), position)
        choice = rules.encode_choice(position)
        if not row.anonymous:
            store.proposals.set_named_position(conn, proposal_id, member_id, choice, position.reason, now)
            return None
        if not store.proposals.has_taken_part(conn, proposal_id, member_id):
            key = ballot_key(proposal_id, new_code)
            store.proposals.add_anonymous_position(conn, proposal_id, member_id, key, choice, position.reason)
            return new_code
        code = (change_code or "").strip()
        if not code or not store.proposals.change_anonymous_position(
            conn, proposal_id, ballot_key(proposal_id, code), choice, position.reason
        ):
            raise ProposalError(
                "you have taken part already: to change your position, give the change code you were shown",
                "change_code",
            )
        return None

    code = await runtime.db.write(job)
    # Never the member with the position: the log of an anonymous proposal must not pair them either.
    log.info("proposal position taken proposal=%d", proposal_id)
    return code


async def my_position(
    runtime: Context, proposal_id: int, member_id: int, change_code: str | None = None
) -> tuple[bool, Position | None]:
    """(whether the member took part, their position if it can be found): for an anonymous proposal only
    with their change code."""

    def read(conn: sqlite3.Connection) -> tuple[bool, Position | None]:
        row = _existing(conn, proposal_id)
        if row.anonymous:
            took_part = store.proposals.has_taken_part(conn, proposal_id, member_id)
            found = (
                store.proposals.anonymous_position(conn, proposal_id, ballot_key(proposal_id, change_code))
                if took_part and change_code
                else None
            )
        else:
            found = store.proposals.named_position(conn, proposal_id, member_id)
            took_part = found is not None
        if found is None:
            return took_part, None
        return took_part, Position(rules.decode_choice(found.choice), found.reason)

    return await runtime.db.read(read)


async def extend_proposal(runtime: Context, proposal_id: int, by: int, closes_at: datetime) -> None:
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> None:
        _facilitator(conn, by)
        row = _existing(conn, proposal_id)
        rules.check_extension(row.status, row.closes_at, closes_at, now)
        store.proposals.extend(conn, proposal_id, closes_at)

    await runtime.db.write(job)
    runtime.wake_scheduler()
    log.info("proposal extended id=%d", proposal_id)


def _close(conn: sqlite3.Connection, row: store.proposals.ProposalRow, when: datetime) -> bool:
    return store.proposals.close(conn, row.id, rules.tally_json(current_tally(conn, row)), when)


async def close_proposal(runtime: Context, proposal_id: int, by: int) -> Tally:
    """Close early (the facilitator): positions stop, the count as it stands is kept."""
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> None:
        _facilitator(conn, by)
        row = _existing(conn, proposal_id)
        if row.status != "open":
            raise ProposalError(N_("this proposal is closed already"), "proposal")
        _close(conn, row, min(now, row.closes_at))

    await runtime.db.write(job)
    log.info("proposal closed id=%d", proposal_id)
    return (await load_proposal(runtime, proposal_id)).tally


async def close_due_proposals(runtime: Context) -> int:
    """The scheduler's part: close every proposal whose closing time has come, at that time."""
    due = await runtime.db.read(store.proposals.due_to_close, runtime.now())

    def job(conn: sqlite3.Connection, proposal_id: int) -> bool:
        row = store.proposals.proposal(conn, proposal_id)
        return row is not None and row.status == "open" and _close(conn, row, row.closes_at)

    closed = 0
    for proposal_id in due:
        if await runtime.db.write(job, proposal_id):
            closed += 1
            log.info("proposal closed at its closing time id=%d", proposal_id)
    return closed


async def write_outcome(runtime: Context, proposal_id: int, by: int, outcome: str) -> None:
    """The facilitator's words on what was decided, kept with the count; only once the proposal is closed."""
    text = campaigns.clean_block(outcome)
    if not text:
        raise ProposalError(N_("write what was decided"), "outcome")
    if len(text) > campaigns.MAX_BODY:
        raise ProposalError(N_("the outcome is too long"), "outcome")
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> None:
        _facilitator(conn, by)
        row = _existing(conn, proposal_id)
        if row.status != "closed":
            raise ProposalError(N_("close the proposal before writing its outcome"), "outcome")
        if row.published_at is not None:
            raise ProposalError(N_("the outcome is published already: it stays as it was sent"), "outcome")
        store.proposals.set_outcome(conn, proposal_id, text, now)

    await runtime.db.write(job)
    log.info("proposal outcome written id=%d", proposal_id)


async def publish_outcome(runtime: Context, proposal_id: int, by: int, visibility: str) -> str:
    """Send the outcome and its count to followers as a Note (public, or followers only); returns its id.
    Once: a second publication would be a second post in everyone's timeline."""
    if visibility not in PUBLISH_VISIBILITIES:
        raise ProposalError(N_("publish to the public or to followers only"), "visibility")
    now = runtime.now()

    def job(conn: sqlite3.Connection) -> str:
        _facilitator(conn, by)
        row = _existing(conn, proposal_id)
        if row.status != "closed" or not row.outcome or row.final_count is None:
            raise ProposalError(N_("write the outcome before publishing it"), "visibility")
        if row.published_at is not None:
            raise ProposalError(N_("the outcome is published already"), "visibility")
        language = group_language(runtime)
        lines = _count_lines_in(rules.tally_from_json(row.final_count), language)
        note = vocab_proposals.decision_note(
            runtime.ids, row.id, row.title, row.outcome, lines, visibility, now, language
        )
        outbox.send_to_followers(conn, vocab.create(runtime.ids, outbox.new_activity_id(runtime.ids), note),
                                 visibility, now)  # fmt: skip
        store.proposals.set_published(conn, proposal_id, visibility, now)
        return str(note["id"])

    note_id = await runtime.db.write(job)
    runtime.deliveries_queued()
    log.info("proposal outcome published id=%d visibility=%s", proposal_id, visibility)
    return note_id


def _count_lines_in(tally: Tally, language: str) -> list[str]:
    """The count as the decision Note says it, in the group's language; English as it always was."""
    if language == languages.SOURCE_LANGUAGE or language not in languages.LANGUAGES:
        return rules.count_lines(tally)
    return rules.count_lines_in(tally, languages.language(language))


async def published_decision(runtime: Context, proposal_id: int) -> tuple[dict[str, object], str] | None:
    """The published Note as it was sent (for fetches of its id) and its visibility; None if unpublished."""

    def read(conn: sqlite3.Connection) -> tuple[dict[str, object], str] | None:
        row = store.proposals.proposal(conn, proposal_id)
        if row is None or row.published_at is None or row.published_visibility is None:
            return None
        if row.outcome is None or row.final_count is None:
            return None
        language = group_language(runtime)
        lines = _count_lines_in(rules.tally_from_json(row.final_count), language)
        note = vocab_proposals.decision_note(
            runtime.ids, row.id, row.title, row.outcome, lines, row.published_visibility, row.published_at,
            language,
        )  # fmt: skip
        return note, row.published_visibility

    return await runtime.db.read(read)
