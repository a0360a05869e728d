"""The fractions of an ensemble's levels and the driver line naming them, by hand-computed cases."""

from __future__ import annotations

import math

from warn.hazards.ensemble import exceedance, probability_line
from warn.vocab import Level

B, Y, O, R = Level.BLUE, Level.YELLOW, Level.ORANGE, Level.RED


def test_each_fraction_counts_the_members_at_or_above_the_level():
    levels = [Level.RED, Level.YELLOW, Level.NONE, Level.ORANGE, Level.RED]
    assert exceedance(levels) == {B: 0.8, Y: 0.8, O: 0.6, R: 0.4}


def test_unknown_members_count_in_no_fraction_and_all_unknown_is_nan_never_zero():
    assert exceedance([Level.RED, Level.UNKNOWN, Level.NONE]) == {B: 0.5, Y: 0.5, O: 0.5, R: 0.5}
    assert all(math.isnan(p) for p in exceedance([Level.UNKNOWN, Level.UNKNOWN]).values())


def test_the_line_names_the_highest_level_any_member_reaches():
    assert probability_line({B: 1.0, Y: 0.65, O: 0.35, R: 0.0}) == "橙色概率 35 % / orange probability 35 %"
    assert probability_line({B: 1.0, Y: 1.0, O: 1.0, R: 1.0}) == "红色概率 100 % / red probability 100 %"
    assert probability_line({B: 0.0, Y: 0.0, O: 0.0, R: 0.0}) is None
    assert probability_line(dict.fromkeys((B, Y, O, R), math.nan)) is None
