"""Hindcast skill on hand-made level series: hits, misses (late), false alarms and lead times exactly."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pytest

from warn.risk.hindcast import LEVELS, first_reaching, score_hindcast
from warn.vocab import Level

T0 = datetime(2026, 7, 15, tzinfo=timezone.utc)


def series(*levels: int) -> list[tuple[datetime, int]]:
    """Levels at T0, T0 + 10 min, … (the cycles)."""
    return [(T0 + k * timedelta(minutes=10), level) for k, level in enumerate(levels)]


def rows_by(rows):
    return {(r.hazard, r.level): r for r in rows}


OBSERVED = {
    ("landslide", "Z1"): series(0, 0, 1, 2, 3, 3, 0),   # blue at +20, yellow +30, orange +40
    ("landslide", "Z2"): series(0, 0, 0, 0, 0, 1, 1),   # blue at +50
    ("landslide", "Z3"): series(0, 0, 0, 0, 0, 0, 0),   # never
    ("landslide", "Z4"): series(-1, -1, 2, 2, -1, 0, 0),  # yellow at +20 (unknown is nothing)
    ("waterlogging", "P1"): series(0, 4, 4, 0, 0, 0, 0),  # red at +10
}
WARNED = {
    ("landslide", "Z1"): series(1, 2, 2, 2, 3, 3, 0),   # blue +0 (lead 20), yellow +10 (lead 20), orange +40 (lead 0)
    ("landslide", "Z2"): series(0, 0, 0, 0, 0, 0, 1),   # blue at +60: late
    ("landslide", "Z3"): series(0, 0, 2, 0, 0, 0, 0),   # blue, yellow: false alarms
    ("landslide", "Z4"): series(-1, -1, -1, -1, -1, -1, -1),  # unknown throughout: misses, not warned
    ("waterlogging", "P1"): series(3, 3, 4, 0, 0, 0, 0),  # orange before, red only after: late
}


def test_first_reaching_ignores_unknown_and_order():
    assert first_reaching(series(-1, 0, 2, 1), 1) == T0 + timedelta(minutes=20)
    assert first_reaching(list(reversed(series(-1, 0, 2, 1))), 1) == T0 + timedelta(minutes=20)
    assert first_reaching(series(-1, -1), 0) is None and first_reaching([], 1) is None


def test_hits_misses_late_false_alarms_and_lead_times():
    rows = rows_by(score_hindcast(OBSERVED, WARNED, configuration="a"))
    assert len(rows) == 2 * len(LEVELS) and all(r.configuration == "a" for r in rows.values())
    blue = rows["landslide", Level.BLUE]
    assert (blue.events, blue.hits, blue.misses, blue.late, blue.false_alarms) == (3, 1, 2, 1, 1)
    assert blue.lead_median_min == 20.0 and blue.lead_min_min == 20.0
    yellow = rows["landslide", Level.YELLOW]
    assert (yellow.events, yellow.hits, yellow.misses, yellow.late, yellow.false_alarms) == (2, 1, 1, 0, 1)
    assert yellow.lead_median_min == 20.0
    orange = rows["landslide", Level.ORANGE]
    assert (orange.events, orange.hits, orange.misses, orange.late, orange.false_alarms) == (1, 1, 0, 0, 0)
    assert orange.lead_median_min == 0.0 and orange.lead_min_min == 0.0
    red = rows["landslide", Level.RED]
    assert (red.events, red.hits, red.misses, red.false_alarms) == (0, 0, 0, 0)
    assert math.isnan(red.lead_median_min) and math.isnan(red.lead_min_min)
    water_red = rows["waterlogging", Level.RED]
    assert (water_red.events, water_red.hits, water_red.misses, water_red.late) == (1, 0, 1, 1)
    water_orange = rows["waterlogging", Level.ORANGE]
    assert (water_orange.events, water_orange.hits, water_orange.lead_median_min) == (1, 1, 10.0)


def test_median_and_minimum_over_several_hits():
    observed = {("flashflood", c): series(*([0] * k + [2])) for c, k in (("C1", 3), ("C2", 4), ("C3", 6))}
    warned = {("flashflood", "C1"): series(2),                    # lead 30
              ("flashflood", "C2"): series(0, 0, 0, 2),           # lead 10
              ("flashflood", "C3"): series(0, 0, 2)}              # lead 40
    row = rows_by(score_hindcast(observed, warned, configuration="b", levels=[Level.YELLOW]))[
        "flashflood", Level.YELLOW]
    assert (row.events, row.hits) == (3, 3)
    assert row.lead_median_min == 30.0 and row.lead_min_min == 10.0


def test_the_reference_against_itself_hits_everything_at_zero_lead():
    rows = score_hindcast(OBSERVED, OBSERVED, configuration="t")
    for row in rows:
        assert row.hits == row.events and row.misses == row.false_alarms == 0
        assert row.lead_min_min == (0.0 if row.hits else pytest.approx(float("nan"), nan_ok=True))
