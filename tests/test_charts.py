"""The pledges-over-time chart's geometry (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fedgroup.ui.charts import pledges_over_time

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def points(timeline) -> list[tuple[float, float]]:
    return [tuple(map(float, p.split(","))) for p in timeline.points.split()]


def test_a_step_line_from_zero_to_the_total():
    events = [(T0 + timedelta(days=1), 1), (T0 + timedelta(days=3), 3)]
    line = pledges_over_time(events, T0, T0 + timedelta(days=4), width=400, height=100)
    assert line.total == 4 and line.peak == 4
    assert points(line) == [(0, 100), (100, 100), (100, 75), (300, 75), (300, 0), (400, 0)]
    assert "4 people pledged between 1 Nov 2026 and 5 Nov 2026" == line.summary


def test_no_pledges_is_a_flat_line_and_odd_input_stays_in_the_box():
    flat = pledges_over_time([], T0, T0 + timedelta(hours=1), width=100, height=50)
    assert points(flat) == [(0, 50), (100, 50)] and flat.total == 0
    odd = pledges_over_time(
        [(T0 - timedelta(days=9), 2), (T0 + timedelta(days=99), 1), (T0, -5)], T0, T0, width=100, height=50
    )
    assert all(0 <= x <= 100 and 0 <= y <= 50 for x, y in points(odd)), "clamped; negative counts ignored"
    assert odd.total == 3
