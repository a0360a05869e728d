"""The clocks of replays and drills: the simulated one, and the wall clock started at another instant."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from warn.sim.clock import SimClock, StartedClock

T0 = datetime(2026, 7, 15, 10, 5, tzinfo=timezone.utc)
WALL = datetime(2030, 1, 2, 13, 0, 7, tzinfo=timezone.utc)


def test_started_clock_reads_its_start_then_runs_at_the_wall_clocks_speed() -> None:
    wall = [WALL]
    clock = StartedClock(T0, wall=lambda: wall[0])
    assert clock() == T0 and clock.offset == T0 - WALL
    wall[0] += timedelta(minutes=3, seconds=2)
    assert clock() == T0 + timedelta(minutes=3, seconds=2)


def test_started_clock_keeps_the_zone_it_was_given_as_utc() -> None:
    beijing = timezone(timedelta(hours=8))
    clock = StartedClock(T0.astimezone(beijing), wall=lambda: WALL)
    assert clock() == T0 and clock().utcoffset() == timedelta(0)


def test_started_clock_needs_an_aware_start() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        StartedClock(T0.replace(tzinfo=None), wall=lambda: WALL)


def test_started_clock_runs_on_the_system_clock_by_default() -> None:
    before = datetime.now(timezone.utc)
    clock = StartedClock(T0)
    elapsed = datetime.now(timezone.utc) - before
    assert T0 <= clock() <= T0 + elapsed + timedelta(seconds=5)


def test_sim_clock_never_goes_back() -> None:
    clock = SimClock(T0)
    clock.set(T0 + timedelta(minutes=1))
    with pytest.raises(ValueError, match="cannot go back"):
        clock.set(T0)
    assert clock() == T0 + timedelta(minutes=1)


def test_file_clock_reads_what_the_drill_wrote_and_never_goes_back(tmp_path) -> None:
    from warn.sim.clock import FileClock, write_clock

    path = tmp_path / "clock"
    write_clock(path, T0)
    clock = FileClock(path)
    assert clock() == T0
    write_clock(path, T0 + timedelta(minutes=5))
    assert clock() == T0 + timedelta(minutes=5)
    write_clock(path, T0)  # a drill that went back is ignored: the clock holds
    assert clock() == T0 + timedelta(minutes=5)


def test_file_clock_refuses_a_missing_or_unreadable_file_with_a_sentence(tmp_path) -> None:
    from warn.errors import ConfigError
    from warn.sim.clock import FileClock

    with pytest.raises(ConfigError, match="clock"):
        FileClock(tmp_path / "absent")
    (tmp_path / "bad").write_text("noon", encoding="utf-8")
    with pytest.raises(ConfigError, match="ISO 8601"):
        FileClock(tmp_path / "bad")
