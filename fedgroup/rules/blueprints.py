"""The rules of blueprints: what a case study holds, what a template may be, and how results from every group
that ran a blueprint add up. Pure: no I/O, no clock.

A blueprint's results are totals per goal (target, pledged, fulfilled) and never name anyone. Results other
groups report are believed only up to each goal's own target (a goal is public on the group's campaign): a
group that lies can add at most its own targets to the combined totals.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from fedgroup.rules.campaigns import (
    MAX_BODY,
    MAX_OPTIONS,
    MAX_TITLE,
    CampaignError,
    Goal,
    PledgeOption,
    clean_block,
    clean_line,
    format_quantity,
)
from fedgroup.rules.languages import N_, Message

MAX_SUMMARY = 500
MAX_TEXT = 5_000
MAX_STEPS = 20
MAX_STEP = 300
# How far a blueprint's lineage is followed (an adoption of an adoption of …): enough for real use, and a
# bound on what one report can make us fetch.
MAX_LINEAGE = 4


@dataclass(frozen=True)
class CaseStudy:
    """What an organizer writes about a finished campaign (plain text)."""

    title: str
    summary: str
    what_worked: str
    steps: tuple[str, ...]
    do_differently: str


@dataclass(frozen=True)
class Template:
    """A campaign to start from: its goals and pledge options, title and text."""

    title: str
    body: str
    goals: tuple[Goal, ...]
    options: tuple[PledgeOption, ...]
    multiple_choice: bool


@dataclass(frozen=True)
class ResultLine:
    """One goal of one campaign that ran a blueprint: totals only."""

    kind: str
    unit: str | None
    target: Decimal
    pledged: Decimal
    fulfilled: Decimal


def check_case_study(
    title: str, summary: str, what_worked: str, steps: str | Sequence[str], do_differently: str
) -> CaseStudy:
    """An organizer's case study, cleaned; CampaignError names the field to correct."""
    title = clean_line(title)
    if not title or len(title) > MAX_TITLE:
        raise CampaignError(
            Message(N_("a blueprint needs a title of 1-%(most)s characters"), most=MAX_TITLE), "title"
        )
    summary = clean_block(summary)
    if not summary or len(summary) > MAX_SUMMARY:
        raise CampaignError(Message(N_("write a summary of 1-%(most)s characters"), most=MAX_SUMMARY), "summary")
    lines = steps.splitlines() if isinstance(steps, str) else list(steps)
    cleaned_steps = tuple(s for s in (clean_line(line) for line in lines) if s)
    if len(cleaned_steps) > MAX_STEPS or any(len(s) > MAX_STEP for s in cleaned_steps):
        raise CampaignError(
            Message(
                N_("at most %(steps)s steps of at most %(most)s characters each"), steps=MAX_STEPS, most=MAX_STEP
            ),
            "steps",
        )
    texts = {"what_worked": clean_block(what_worked), "do_differently": clean_block(do_differently)}
    for name, text in texts.items():
        if len(text) > MAX_TEXT:
            raise CampaignError(Message(N_("at most %(most)s characters"), most=MAX_TEXT), name)
    return CaseStudy(title, summary, texts["what_worked"], cleaned_steps, texts["do_differently"])


def check_template(
    title: str, body: str, goals: Sequence[Goal], options: Sequence[PledgeOption], multiple_choice: bool
) -> Template:
    """A template as a campaign could be made from it: the same limits as our own forms (goals already made
    with make_goal, so their kinds and units are known ones)."""
    title = clean_line(title)
    if not title or len(title) > MAX_TITLE:
        raise CampaignError(N_("the template's title is empty or too long"), "template")
    body = clean_block(body)
    if len(body) > MAX_BODY:
        raise CampaignError(N_("the template's text is too long"), "template")
    if not goals:
        raise CampaignError(N_("the template has no goals"), "template")
    kinds = [g.kind for g in goals]
    if len(set(kinds)) != len(kinds):
        raise CampaignError(N_("the template has a kind of goal twice"), "template")
    if len(options) > MAX_OPTIONS:
        raise CampaignError(
            Message(N_("the template has more than %(most)s pledge options"), most=MAX_OPTIONS), "template"
        )
    labels = [o.label for o in options]
    if len(set(labels)) != len(labels) or any(o.kind not in kinds for o in options):
        raise CampaignError(N_("the template's pledge options do not fit its goals"), "template")
    return Template(title, body, tuple(goals), tuple(options), multiple_choice)


def results_of(
    goals: Sequence[Goal], pledged: dict[str, Decimal], fulfilled: dict[str, Decimal]
) -> tuple[ResultLine, ...]:
    return tuple(
        ResultLine(
            g.kind, g.unit, g.target, pledged.get(g.kind, Decimal(0)), fulfilled.get(g.kind, Decimal(0))
        )
        for g in goals
    )


def succeeded(results: Sequence[ResultLine]) -> bool:
    """A campaign succeeded when every goal was pledged in full."""
    return bool(results) and all(line.pledged >= line.target for line in results)


def duration_days(started: datetime, ended: datetime) -> int:
    """Whole days a campaign ran, at least 1."""
    return max(1, (ended - started).days + (1 if (ended - started).seconds else 0))


def check_reported_results(
    reported: Sequence[ResultLine], published: Sequence[ResultLine]
) -> tuple[ResultLine, ...]:
    """Results an adopter reports, checked against its campaign's own document (fetched from its host):
    the same goals, targets and pledged totals, and no more fulfilled than pledged. CampaignError if not."""
    key = {(line.kind, line.unit): line for line in published}
    if len(reported) != len(published) or len(key) != len(published):
        raise CampaignError(N_("the results name other goals than the campaign"), "results")
    for line in reported:
        own = key.get((line.kind, line.unit))
        if own is None or own.target != line.target or own.pledged != line.pledged:
            raise CampaignError(N_("the results differ from the campaign's own totals"), "results")
        if line.fulfilled > line.pledged:
            raise CampaignError(N_("more fulfilled than pledged"), "results")
    return tuple(reported)


def believed(line: ResultLine) -> ResultLine:
    """What another group's result line counts for: pledged and fulfilled up to the goal's target."""
    return ResultLine(
        line.kind, line.unit, line.target, min(line.pledged, line.target), min(line.fulfilled, line.target)
    )


@dataclass(frozen=True)
class CombinedLine:
    kind: str
    unit: str | None
    pledged: Decimal
    fulfilled: Decimal

    @property
    def text(self) -> str:
        return (
            f"{format_quantity(self.kind, self.pledged, self.unit)} pledged, "
            f"{format_quantity(self.kind, self.fulfilled, self.unit)} given"
        )


@dataclass(frozen=True)
class Combined:
    groups: int  # how many groups ran it (the origin and every counted adopter with a campaign)
    finished: int  # of those, how many reported an outcome
    succeeded: int
    lines: tuple[CombinedLine, ...]


def combine(
    own: Sequence[ResultLine],
    own_succeeded: bool,
    adopted: Iterable[tuple[Sequence[ResultLine] | None, bool]],
) -> Combined:
    """The origin's results plus every counted adoption's (None: no outcome yet), summed per kind and unit
    (money in different currencies is never added up). Adopters' lines count as `believed` says."""
    sums: dict[tuple[str, str | None], list[Decimal]] = {}

    def add(lines: Iterable[ResultLine]) -> None:
        for line in lines:
            pair = sums.setdefault((line.kind, line.unit), [Decimal(0), Decimal(0)])
            pair[0] += line.pledged
            pair[1] += line.fulfilled

    add(own)
    groups, finished, wins = 1, 1, int(own_succeeded)
    for results, won in adopted:
        groups += 1
        if results is None:
            continue
        finished += 1
        wins += int(won)
        add(believed(line) for line in results)
    lines = tuple(CombinedLine(kind, unit, p, f) for (kind, unit), (p, f) in sums.items())
    return Combined(groups, finished, wins, lines)
