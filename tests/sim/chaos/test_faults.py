"""The chaos drill's fault schedule: drawn from the seed, every kind asked for, inside the period."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from warn.sim.chaos.faults import SOLO_KINDS, schedule

START = datetime(2026, 7, 15, 3, tzinfo=timezone.utc)
END = START + timedelta(hours=6)
STEP = timedelta(minutes=5)


def test_the_same_seed_draws_the_same_faults_and_another_seed_others() -> None:
    first, again, other = (schedule(seed, START, END, STEP, 20) for seed in (7, 7, 8))
    assert first == again and first != other


def test_every_kind_comes_at_least_once_on_the_step_grid_and_ends_before_the_period_does() -> None:
    faults = schedule(3, START, END, STEP, len(SOLO_KINDS) + 6)
    assert {f.kind for f in faults} == set(SOLO_KINDS) and len(faults) == len(SOLO_KINDS) + 6
    assert all(START < f.at and (f.at - START) % STEP == timedelta(0) for f in faults)
    assert all(f.at + f.steps * STEP <= END for f in faults)
    assert [f.at for f in faults] == sorted(f.at for f in faults)


def test_an_unknown_kind_and_a_period_too_short_are_refused_with_what_was_expected() -> None:
    with pytest.raises(ValueError, match="unknown fault kinds \\['meteor'\\]: expected some of kill"):
        schedule(1, START, END, STEP, 1, ["meteor"])
    with pytest.raises(ValueError, match="at least 4 steps"):
        schedule(1, START, START + 3 * STEP, STEP, 1)
