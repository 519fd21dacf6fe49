"""The rules of proposals: what may be proposed, what a position is, and how positions are counted. Pure: no
I/O, no clock (`now` is passed in).

Four kinds, as Loomio has them:
- consent: each member agrees, abstains, disagrees or blocks; a block needs a reason. It passes when nobody
  blocks (and the quorum, if any, is met).
- choice: one option each; the option with the most votes wins (a tie is reported as a tie).
- ranked: each member ranks some or all options; counted by instant-runoff voting (see `instant_runoff`).
- score: each member gives every option 0 to 5; the highest total wins (a tie is reported as a tie).

The quorum, when set, is the number of members who must take part for the result to stand.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from babel.lists import format_list
from babel.numbers import format_decimal

from fedgroup.rules import timezones
from fedgroup.rules.campaigns import (
    MAX_BODY,
    MAX_TITLE,
    CampaignError,
    clean_block,
    clean_line,
    parse_deadline,
)
from fedgroup.rules.languages import N_, Language, Message

KINDS = ("consent", "choice", "ranked", "score")
KIND_TEXT = {
    "consent": N_("Consent: agree, abstain, disagree or block"),
    "choice": N_("Choice: one option each"),
    "ranked": N_("Ranked: rank the options (counted by instant-runoff)"),
    "score": N_("Score: give each option 0 to 5"),
}
CONSENT_POSITIONS = ("agree", "abstain", "disagree", "block")
# What federates and the CLI's plain tables say; a reader's language has consent_text_in.
CONSENT_TEXT = {
    "agree": "Agree",
    "abstain": "Abstain",
    "disagree": "Disagree",
    "block": "Block",
}
CONSENT_WORDS = {text: word for word, text in CONSENT_TEXT.items()}
MIN_OPTIONS = 2
MAX_OPTIONS = 10
MAX_OPTION = 100
MAX_REASON = 2000
MAX_SCORE = 5
MAX_QUORUM = 100_000


class ProposalError(CampaignError):
    """Proposal input a person must correct; `field` names the form field it belongs to."""


@dataclass(frozen=True)
class ProposalDraft:
    title: str
    body: str
    kind: str
    options: tuple[str, ...]
    closes_at: datetime
    quorum: int | None
    anonymous: bool


@dataclass(frozen=True)
class Position:
    """One member's position. `choice` is the consent word ("agree"), or the chosen option's index (choice),
    or the option indexes in order of preference (ranked), or one score per option (score)."""

    choice: str | int | tuple[int, ...]
    reason: str = ""


# -- what may be proposed ---------------------------------------------------------------------------------


def parse_quorum(text: str) -> int | None:
    raw = text.strip()
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_QUORUM:
        raise ProposalError(N_("the quorum is a number of members, 1 or more (or empty for none)"), "quorum")
    return int(raw)


def parse_closing(text: str, zone_name: str) -> datetime:
    """A closing time as people write it: the group's local time ("2027-01-15T18:00", what a datetime-local
    field sends) or an ISO 8601 date-time with an offset."""
    raw = text.strip()
    if not raw:
        raise ProposalError(N_("choose when the proposal closes"), "closes")
    try:
        if timezones.is_local_input(raw):
            return timezones.from_local(raw, zone_name)
        return parse_deadline(raw)
    except (CampaignError, timezones.TimeZoneError) as e:
        raise ProposalError(str(e).replace("deadline", "closing time"), "closes") from e


def validate_proposal(
    title: str,
    body: str,
    kind: str,
    options: Sequence[str],
    closes_at: datetime,
    quorum: int | None,
    anonymous: bool,
    now: datetime,
) -> ProposalDraft:
    """Title and text cleaned as a campaign's are (plain text, control and bidi characters removed; escaped
    wherever shown); options only for the kinds that have them, each once."""
    title = clean_line(title)
    body = clean_block(body)
    if not title:
        raise ProposalError(N_("a proposal needs a title"), "title")
    if len(title) > MAX_TITLE:
        raise ProposalError(
            Message(N_("the title is longer than %(most)s characters"), most=MAX_TITLE), "title"
        )
    if len(body) > MAX_BODY:
        raise ProposalError(Message(N_("the text is longer than %(most)s characters"), most=MAX_BODY), "body")
    if kind not in KINDS:
        raise ProposalError(Message(N_("the kind is one of %(kinds)s"), kinds=", ".join(KINDS)), "kind")
    cleaned = tuple(label for label in (clean_line(o) for o in options) if label)
    if kind == "consent":
        cleaned = ()
    else:
        if len(cleaned) < MIN_OPTIONS:
            raise ProposalError(
                Message(
                    N_("a %(kind)s proposal needs at least %(least)s options"), kind=kind, least=MIN_OPTIONS
                ),
                "options",
            )
        if len(cleaned) > MAX_OPTIONS:
            raise ProposalError(Message(N_("at most %(most)s options"), most=MAX_OPTIONS), "options")
        if any(len(label) > MAX_OPTION for label in cleaned):
            raise ProposalError(
                Message(N_("an option is at most %(most)s characters"), most=MAX_OPTION), "options"
            )
        if len({label.casefold() for label in cleaned}) != len(cleaned):
            raise ProposalError(N_("two options say the same"), "options")
    if closes_at.tzinfo is None:
        raise ProposalError(N_("the closing time needs a time zone"), "closes")
    if closes_at <= now:
        raise ProposalError(N_("the closing time is in the past"), "closes")
    if quorum is not None and not 1 <= quorum <= MAX_QUORUM:
        raise ProposalError(N_("the quorum is a number of members, 1 or more"), "quorum")
    return ProposalDraft(title, body, kind, cleaned, closes_at, quorum, anonymous)


def is_open(status: str, closes_at: datetime, now: datetime) -> bool:
    return status == "open" and now < closes_at


def check_extension(status: str, closes_at: datetime, new_closes_at: datetime, now: datetime) -> None:
    """The facilitator may move an open proposal's closing time later (never earlier: that is closing it)."""
    if not is_open(status, closes_at, now):
        raise ProposalError(N_("this proposal is closed"), "closes")
    if new_closes_at.tzinfo is None:
        raise ProposalError(N_("the closing time needs a time zone"), "closes")
    if new_closes_at <= closes_at:
        raise ProposalError(N_("an extension closes later than the proposal does now"), "closes")


# -- positions --------------------------------------------------------------------------------------------


def _index(text: str, count: int, field: str) -> int:
    raw = text.strip()
    if not (raw.isascii() and raw.isdigit()) or int(raw) >= count:
        raise ProposalError(N_("choose one of the options"), field)
    return int(raw)


def validate_position(
    kind: str,
    option_count: int,
    choice: str = "",
    ranks: Sequence[str] = (),
    scores: Sequence[str] = (),
    reason: str = "",
) -> Position:
    """A position from a form: `choice` (the consent word, or an option's index), `ranks` (each option's rank,
    "" for not ranked: 1 is the first preference), `scores` (each option's score, "" for 0)."""
    reason = clean_block(reason)
    if len(reason) > MAX_REASON:
        raise ProposalError(
            Message(N_("the reason is longer than %(most)s characters"), most=MAX_REASON), "reason"
        )
    if kind == "consent":
        word = choice.strip()
        if word not in CONSENT_POSITIONS:
            raise ProposalError(N_("choose agree, abstain, disagree or block"), "position")
        if word == "block" and not reason:
            raise ProposalError(N_("a block needs a reason: say what would have to change"), "reason")
        return Position(word, reason)
    if kind == "choice":
        return Position(_index(choice, option_count, "position"), reason)
    if kind == "ranked":
        ranked: dict[int, int] = {}
        for index, text in enumerate(list(ranks)[:option_count]):
            raw = text.strip()
            if not raw:
                continue
            if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= option_count:
                raise ProposalError(
                    Message(N_("a rank is a number from 1 to %(most)s"), most=option_count), "position"
                )
            if int(raw) in ranked:
                raise ProposalError(N_("give each rank to one option only"), "position")
            ranked[int(raw)] = index
        if not ranked:
            raise ProposalError(N_("rank at least one option"), "position")
        return Position(tuple(ranked[rank] for rank in sorted(ranked)), reason)
    if kind == "score":
        given = list(scores)[:option_count] + [""] * (option_count - len(scores))
        values = []
        for text in given:
            raw = text.strip() or "0"
            if not (raw.isascii() and raw.isdigit()) or int(raw) > MAX_SCORE:
                raise ProposalError(
                    Message(N_("a score is a whole number from 0 to %(most)s"), most=MAX_SCORE), "position"
                )
            values.append(int(raw))
        return Position(tuple(values), reason)
    raise ProposalError(Message(N_("the kind is one of %(kinds)s"), kinds=", ".join(KINDS)), "kind")


def check_position(kind: str, option_count: int, position: Position) -> None:
    """A position built elsewhere, checked against the proposal as stored (its kind and options)."""
    value = position.choice
    if len(position.reason) > MAX_REASON:
        raise ProposalError(
            Message(N_("the reason is longer than %(most)s characters"), most=MAX_REASON), "reason"
        )
    if kind == "consent":
        ok = isinstance(value, str) and value in CONSENT_POSITIONS
        if ok and value == "block" and not position.reason.strip():
            raise ProposalError(N_("a block needs a reason: say what would have to change"), "reason")
    elif kind == "choice":
        ok = isinstance(value, int) and 0 <= value < option_count
    elif kind == "ranked":
        ok = (
            isinstance(value, tuple)
            and 0 < len(value) == len(set(value))
            and all(0 <= i < option_count for i in value)
        )
    elif kind == "score":
        ok = (
            isinstance(value, tuple)
            and len(value) == option_count
            and all(0 <= s <= MAX_SCORE for s in value)
        )
    else:
        ok = False
    if not ok:
        raise ProposalError(N_("that is not a position on this proposal"), "position")


def consent_text_in(word: str, lang: Language) -> str:
    """A consent position in `lang`, under its own context: "Block" here is a formal objection that stops the
    proposal (as Loomio uses it), which some languages word apart from blocking an account (Arabic: اعتراض
    مانع, not حظر)."""
    texts = {
        "agree": lang.pgettext("proposal position", "Agree"),
        "abstain": lang.pgettext("proposal position", "Abstain"),
        "disagree": lang.pgettext("proposal position", "Disagree"),
        "block": lang.pgettext("proposal position", "Block"),
    }
    return texts.get(word, word)


def position_text(
    kind: str, options: Sequence[str], choice: str | int | tuple[int, ...], lang: Language | None = None
) -> str:
    """A position as people read it: "Agree", "Library", "1. Library, 2. Park", "Library 5 · Park 0"; a
    consent position in `lang` when given (English otherwise, as federated)."""
    if kind == "consent" and isinstance(choice, str):
        return consent_text_in(choice, lang) if lang is not None else CONSENT_TEXT.get(choice, choice)
    if kind == "choice" and isinstance(choice, int) and 0 <= choice < len(options):
        return options[choice]
    if kind == "ranked" and isinstance(choice, tuple):
        return ", ".join(f"{n}. {options[i]}" for n, i in enumerate(choice, 1) if 0 <= i < len(options))
    if kind == "score" and isinstance(choice, tuple):
        return " · ".join(f"{label} {score}" for label, score in zip(options, choice, strict=False))
    return "?"


def encode_choice(position: Position) -> str:
    """How a position's choice is stored: JSON ("agree", 2, [2, 0, 1])."""
    value = position.choice
    return json.dumps(list(value) if isinstance(value, tuple) else value)


def decode_choice(text: str) -> str | int | tuple[int, ...]:
    value = json.loads(text)
    return tuple(value) if isinstance(value, list) else value


# -- counting ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunoffRound:
    counts: tuple[int | None, ...]  # per option; None once eliminated
    exhausted: int  # ballots that rank no continuing option
    eliminated: int | None  # the option eliminated after this round


@dataclass(frozen=True)
class Runoff:
    rounds: tuple[RunoffRound, ...]
    winner: int | None
    tied: tuple[int, ...]  # when the last options left have equal votes, and no winner


def instant_runoff(option_count: int, ballots: Sequence[Sequence[int]]) -> Runoff:
    """Instant-runoff voting (the alternative vote). Each round counts every ballot for its highest-ranked
    option still in the count; an option with more than half of the ballots still counting wins. Otherwise
    the option with the fewest votes is eliminated and its ballots pass to their next preference.

    A tie for fewest is broken by looking back: the tied option with fewer votes in the most recent earlier
    round where they differ goes; if they were tied in every round, the one listed last goes (the order the
    proposer wrote, which is the same for everyone and known beforehand). When every option left has the
    same number of votes, none is eliminated: the result is a tie between them."""
    continuing = list(range(option_count))
    rounds: list[RunoffRound] = []
    history: list[dict[int, int]] = []
    while True:
        counts = {option: 0 for option in continuing}
        exhausted = 0
        for ballot in ballots:
            top = next((option for option in ballot if option in counts), None)
            if top is None:
                exhausted += 1
            else:
                counts[top] += 1
        active = sum(counts.values())
        history.append(counts)

        def snapshot(
            eliminated: int | None, counted: dict[int, int] = counts, spent: int = exhausted
        ) -> None:
            rounds.append(RunoffRound(tuple(counted.get(o) for o in range(option_count)), spent, eliminated))

        if active == 0:
            snapshot(None)
            return Runoff(tuple(rounds), None, ())
        best = max(counts.values())
        if best * 2 > active:
            snapshot(None)
            return Runoff(tuple(rounds), next(o for o in continuing if counts[o] == best), ())
        fewest = min(counts.values())
        if fewest == best:
            snapshot(None)
            return Runoff(tuple(rounds), None, tuple(continuing))
        tied = [o for o in continuing if counts[o] == fewest]
        for earlier in reversed(history[:-1]):
            if len(tied) == 1:
                break
            low = min(earlier[o] for o in tied)
            tied = [o for o in tied if earlier[o] == low]
        loser = tied[-1]
        snapshot(loser)
        continuing.remove(loser)


@dataclass(frozen=True)
class TallyLine:
    label: str
    count: int  # votes, or the total score
    detail: str = ""  # "average 3.5"


@dataclass(frozen=True)
class Tally:
    kind: str
    participants: int
    quorum: int | None
    lines: tuple[TallyLine, ...]
    result: str  # one line people read: "Passed: nobody blocks", "Ranked winner: Library (round 2)"
    blocks: tuple[str, ...] = ()  # the reasons given with blocks (consent), without names
    runoff: Runoff | None = None

    @property
    def quorum_met(self) -> bool:
        return self.quorum is None or self.participants >= self.quorum


def _winners(labels: Sequence[str], values: Sequence[int]) -> list[str]:
    if not values or max(values) == 0:
        return []
    best = max(values)
    return [label for label, value in zip(labels, values, strict=True) if value == best]


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def tally(kind: str, options: Sequence[str], positions: Sequence[Position], quorum: int | None) -> Tally:
    """Count the positions (one per member who took part). The result line says whether the quorum is met
    first: a result without its quorum does not stand."""
    participants = len(positions)
    lines: list[TallyLine]
    blocks: tuple[str, ...] = ()
    runoff = None
    if kind == "consent":
        counts = {word: 0 for word in CONSENT_POSITIONS}
        for p in positions:
            if isinstance(p.choice, str) and p.choice in counts:
                counts[p.choice] += 1
        lines = [TallyLine(CONSENT_TEXT[word], counts[word]) for word in CONSENT_POSITIONS]
        blocks = tuple(p.reason for p in positions if p.choice == "block")
        if counts["block"]:
            result = f"Blocked: {_plural(counts['block'], 'block')}"
        elif participants:
            result = "Passed: nobody blocks"
        else:
            result = "Nobody took part"
    elif kind == "choice":
        votes = [0] * len(options)
        for p in positions:
            if isinstance(p.choice, int) and 0 <= p.choice < len(options):
                votes[p.choice] += 1
        lines = [TallyLine(label, votes[i]) for i, label in enumerate(options)]
        result = _result_of(_winners(options, votes), "Chosen")
    elif kind == "ranked":
        ballots = [p.choice for p in positions if isinstance(p.choice, tuple)]
        runoff = instant_runoff(len(options), ballots)
        last = runoff.rounds[-1].counts
        lines = [
            TallyLine(label, count or 0, "eliminated" if count is None else "in the last round")
            for label, count in zip(options, last, strict=True)
        ]
        if runoff.winner is not None:
            rounds = len(runoff.rounds)
            result = f"Ranked winner: {options[runoff.winner]} (instant-runoff, {_plural(rounds, 'round')})"
        elif runoff.tied:
            result = "Tie between " + " and ".join(options[i] for i in runoff.tied)
        else:
            result = "Nobody took part"
    elif kind == "score":
        totals = [0] * len(options)
        for p in positions:
            if isinstance(p.choice, tuple) and len(p.choice) == len(options):
                totals = [t + s for t, s in zip(totals, p.choice, strict=True)]
        lines = [
            TallyLine(label, totals[i], f"average {totals[i] / participants:.1f}" if participants else "")
            for i, label in enumerate(options)
        ]
        result = _result_of(_winners(options, totals), "Highest score")
    else:
        raise ProposalError(Message(N_("the kind is one of %(kinds)s"), kinds=", ".join(KINDS)), "kind")
    if quorum is not None and participants < quorum:
        result = f"Quorum not met: {participants} of {quorum} needed took part ({result.lower()})"
    return Tally(kind, participants, quorum, tuple(lines), result, blocks, runoff)


def _result_of(winners: Sequence[str], word: str) -> str:
    if not winners:
        return "Nobody took part"
    if len(winners) == 1:
        return f"{word}: {winners[0]}"
    return "Tie between " + " and ".join(winners)


def count_lines(result: Tally) -> list[str]:
    """The count as lines of text, names never included: the page, the CLI and the published Note share it."""
    quorum = f" (quorum {result.quorum})" if result.quorum is not None else ""
    lines = [result.result, f"{_plural(result.participants, 'member')} took part{quorum}"]
    for line in result.lines:
        if result.kind == "ranked":
            counted = _plural(line.count, "vote") + " in the last round"
            lines.append(f"{line.label}: {'eliminated' if line.detail == 'eliminated' else counted}")
        elif result.kind == "score":
            lines.append(
                f"{line.label}: {_plural(line.count, 'point')}" + (f", {line.detail}" if line.detail else "")
            )
        else:
            lines.append(f"{line.label}: {_plural(line.count, 'vote')}")
    return lines


def tally_json(result: Tally) -> str:
    """The count as kept when a proposal closes (no names: the Tally holds none)."""
    runoff = None
    if result.runoff is not None:
        runoff = {
            "rounds": [[list(r.counts), r.exhausted, r.eliminated] for r in result.runoff.rounds],
            "winner": result.runoff.winner,
            "tied": list(result.runoff.tied),
        }
    return json.dumps({
        "kind": result.kind, "participants": result.participants, "quorum": result.quorum,
        "lines": [[line.label, line.count, line.detail] for line in result.lines], "result": result.result,
        "blocks": list(result.blocks), "runoff": runoff,
    })  # fmt: skip


def tally_from_json(text: str) -> Tally:
    data = json.loads(text)
    runoff = None
    if data.get("runoff"):
        found = data["runoff"]
        rounds = tuple(RunoffRound(tuple(c), e, x) for c, e, x in found["rounds"])
        runoff = Runoff(rounds, found["winner"], tuple(found["tied"]))
    return Tally(
        data["kind"], data["participants"], data["quorum"],
        tuple(TallyLine(label, count, detail) for label, count, detail in data["lines"]), data["result"],
        tuple(data["blocks"]), runoff,
    )  # fmt: skip


# -- the count in a reader's language (pages): what federates and the CLI keep count_lines' English -----------


def _winners_of(result: Tally) -> list[str]:
    return _winners([line.label for line in result.lines], [line.count for line in result.lines])


def result_in(result: Tally, lang: Language) -> str:
    """The result line of `count_lines`, in `lang`: "Passed: nobody blocks", "Chosen: Library"…"""
    nobody = lang.gettext("Nobody took part")
    text = nobody
    if result.kind == "consent":
        blocked = next((line.count for line in result.lines if line.label == CONSENT_TEXT["block"]), 0)
        if blocked:
            text = lang.ngettext("Blocked: %(num)s block", "Blocked: %(num)s blocks", blocked)
        elif result.participants:
            text = lang.gettext("Passed: nobody blocks")
    elif result.kind == "ranked" and result.runoff is not None:
        labels = [line.label for line in result.lines]
        if result.runoff.winner is not None:
            text = lang.ngettext(
                "Ranked winner: %(option)s (instant-runoff, %(num)s round)",
                "Ranked winner: %(option)s (instant-runoff, %(num)s rounds)",
                len(result.runoff.rounds),
                option=labels[result.runoff.winner],
            )
        elif result.runoff.tied:
            text = lang.gettext(
                "Tie between %(options)s", options=listed([labels[i] for i in result.runoff.tied], lang)
            )
    elif result.kind in ("choice", "score"):
        winners = _winners_of(result)
        if len(winners) == 1:
            text = (
                lang.gettext("Chosen: %(option)s", option=winners[0])
                if result.kind == "choice"
                else lang.gettext("Highest score: %(option)s", option=winners[0])
            )
        elif winners:
            text = lang.gettext("Tie between %(options)s", options=listed(winners, lang))
    if not result.quorum_met and result.quorum is not None:
        return lang.gettext(
            "Quorum not met: %(count)s of %(quorum)s needed took part (%(result)s)",
            count=result.participants, quorum=result.quorum, result=text[:1].lower() + text[1:],
        )  # fmt: skip
    return text


def listed(items: Sequence[str], lang: Language) -> str:
    """ "Library and Park", "Biblioteca y Parque": a list as the language writes one."""
    return str(format_list(list(items), locale=lang.locale))


def count_lines_in(result: Tally, lang: Language) -> list[str]:
    """`count_lines` in `lang`, for the pages (names never included)."""
    took_part = (
        lang.ngettext(
            "%(num)s member took part (quorum %(quorum)s)",
            "%(num)s members took part (quorum %(quorum)s)",
            result.participants,
            quorum=result.quorum,
        )
        if result.quorum is not None
        else lang.ngettext("%(num)s member took part", "%(num)s members took part", result.participants)
    )
    lines = [result_in(result, lang), took_part]
    for line in result.lines:
        label = (
            consent_text_in(CONSENT_WORDS.get(line.label, line.label), lang)
            if result.kind == "consent"
            else line.label
        )
        if result.kind == "ranked":
            lines.append(
                lang.gettext("%(option)s: eliminated", option=label)
                if line.detail == "eliminated"
                else lang.ngettext(
                    "%(option)s: %(num)s vote in the last round",
                    "%(option)s: %(num)s votes in the last round",
                    line.count,
                    option=label,
                )
            )
        elif result.kind == "score" and line.detail:
            average = line.count / result.participants if result.participants else 0
            lines.append(
                lang.ngettext(
                    "%(option)s: %(num)s point, average %(average)s",
                    "%(option)s: %(num)s points, average %(average)s",
                    line.count,
                    option=label,
                    average=format_decimal(round(average, 1), format="0.0", locale=lang.locale),
                )
            )
        elif result.kind == "score":
            lines.append(
                lang.ngettext(
                    "%(option)s: %(num)s point", "%(option)s: %(num)s points", line.count, option=label
                )
            )
        else:
            lines.append(
                lang.ngettext(
                    "%(option)s: %(num)s vote", "%(option)s: %(num)s votes", line.count, option=label
                )
            )
    return lines
