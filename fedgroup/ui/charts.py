"""Charts as numbers for server-rendered SVG: pure functions, no I/O, no HTML (the templates draw them); their
texts in the page's language (rules/formats.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from fedgroup.rules import formats, languages, timezones
from fedgroup.rules.languages import Language


@dataclass(frozen=True)
class Timeline:
    """A step line of the number of people pledged over time, in a width × height box (y grows downwards)."""

    width: int
    height: int
    points: str  # SVG polyline points: "x,y x,y …"
    total: int
    peak: int
    start: datetime
    end: datetime

    @property
    def summary(self) -> str:
        return self.summary_in(languages.language(languages.SOURCE_LANGUAGE), "UTC")

    def summary_in(self, lang: Language, zone_name: str) -> str:
        """ "3 people pledged between 1 March 2027 and 9 March 2027", in `lang`, dates in the group's zone."""
        zone = timezones.zone(zone_name)
        return lang.ngettext(
            "%(num)s person pledged between %(start)s and %(end)s",
            "%(num)s people pledged between %(start)s and %(end)s",
            self.total,
            num=formats.number(self.total, lang),
            start=formats.day(self.start.astimezone(zone).date(), lang, "medium"),
            end=formats.day(self.end.astimezone(zone).date(), lang, "medium"),
        )

    def axis_start(self, lang: Language, zone_name: str) -> str:
        return formats.short_day(self.start, zone_name, lang)

    def axis_end(self, lang: Language, zone_name: str) -> str:
        return formats.short_day(self.end, zone_name, lang)


def pledges_over_time(
    events: Sequence[tuple[datetime, int]],
    start: datetime,
    end: datetime,
    width: int = 600,
    height: int = 160,
) -> Timeline:
    """Cumulative people over [start, end]; events outside the range are clamped to its edges."""
    span = max((end - start).total_seconds(), 1.0)
    total = sum(max(people, 0) for _, people in events)
    peak = max(total, 1)

    def x(moment: datetime) -> float:
        offset = min(max((moment - start).total_seconds(), 0.0), span)
        return round(offset / span * width, 1)

    def y(count: int) -> float:
        return round(height - count / peak * height, 1)

    points = [(0.0, float(height))]
    running = 0
    for moment, people in sorted(events, key=lambda e: e[0]):
        running += max(people, 0)
        at = x(moment)
        points.append((at, points[-1][1]))
        points.append((at, y(running)))
    points.append((float(width), y(running)))
    return Timeline(width, height, " ".join(f"{px:g},{py:g}" for px, py in points), total, peak, start, end)
