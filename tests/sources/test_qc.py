"""Sensor QC on hand-made series: each rule fires where it should and nowhere else."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from tests.conftest import ROOT
from warn.errors import DataContractError, UnknownNameError
from warn.modelfiles import load_model_file
from warn.sources.qc import PRECEDENCE, RULES, qc_batch, stale
from warn.sources.readings import UNITS, FlaggedReading, Reading, Sensor
from warn.vocab import QCFlag, SensorKind

T0 = datetime(2026, 7, 15, tzinfo=timezone.utc)
STEP = timedelta(minutes=5)
SENSORS = {
    "WL1": Sensor("WL1", SensorKind.WATER_LEVEL, "积水点1", 106.5, 29.7, STEP),
    "WL2": Sensor("WL2", SensorKind.WATER_LEVEL, "积水点2", 106.5, 29.7, STEP),
    "RS1": Sensor("RS1", SensorKind.RIVER_STAGE, "水位站1", 106.5, 29.7, STEP),
}


@pytest.fixture(scope="module")
def params():
    return load_model_file("sensors", ROOT / "models" / "sensors.yaml").params()


def series(values, *, sensor="WL1", start=T0, step=STEP) -> list[Reading]:
    """Readings of one sensor every ``step`` from ``start``; None is a missing value."""
    unit = UNITS[SENSORS[sensor].kind]
    return [Reading(sensor, start + i * step, v, unit, start + i * step) for i, v in enumerate(values)]


def good(readings) -> list[FlaggedReading]:
    return [FlaggedReading(r, QCFlag.GOOD) for r in readings]


def run(params, readings, *, history=None, now=None, sensors=SENSORS):
    now = now or (max(r.phenomenon_time for r in readings) + timedelta(minutes=1))
    flagged = qc_batch(readings, sensors=sensors, history=history or {}, params=params, now=now)
    assert [f.reading for f in flagged] == list(readings)
    return [(f.qc_flag.value, f.qc_rule) for f in flagged]


GOOD = ("good", "")


def test_every_rule_is_registered_in_precedence_order():
    assert sorted(PRECEDENCE) == RULES.names()
    flags = [RULES.get(name).flag for name in PRECEDENCE]
    severity = {QCFlag.MISSING: 0, QCFlag.BAD: 1, QCFlag.DOUBTFUL: 2}
    assert [severity[f] for f in flags] == sorted(severity[f] for f in flags)


def test_a_quiet_series_is_all_good(params):
    assert run(params, series([0.0, 0.0, 0.01, 0.0, 0.12, 0.14, 0.13, 0.15])) == [GOOD] * 8


def test_hard_and_soft_range(params):
    # water_level: hard [-0.10, 2.00] → bad, soft [-0.02, 1.50] → doubtful; each value judged alone
    flags = run(params, series([0.5, 2.5, 0.6, -0.5, 0.7, 1.6, 0.8], step=timedelta(hours=1)))
    assert flags == [GOOD, ("bad", "hard_range"), GOOD, ("bad", "hard_range"), GOOD,
                     ("doubtful", "soft_range"), GOOD]


def test_spike_between_agreeing_neighbours(params):
    flags = run(params, series([0.20, 0.21, 0.40, 0.22, 0.23]))  # 0.19 m away, threshold 0.10 m
    assert flags == [GOOD, GOOD, ("doubtful", "spike"), GOOD, GOOD]


def test_no_spike_when_neighbours_disagree_or_lie_outside_the_window(params):
    # a step up that stays up is no spike (the jump rule judges the step, 0.15 ≤ 0.20 m passes)
    assert run(params, series([0.20, 0.21, 0.36, 0.37, 0.38])) == [GOOD] * 5
    # the same departure with neighbours 20 min away (window 15 min) is not judged as a spike
    assert run(params, series([0.20, 0.21, 0.36, 0.22], step=timedelta(minutes=20))) == [GOOD] * 4


def test_spike_at_the_end_of_a_batch_is_judged_by_the_jump_rule(params):
    flags = run(params, series([0.20, 0.21, 0.45]))  # no next neighbour; 0.24 m > jump 0.20 m
    assert flags == [GOOD, GOOD, ("doubtful", "jump")]
    assert run(params, series([0.20, 0.21, 0.35])) == [GOOD] * 3  # 0.14 m: neither


def test_spike_at_a_batch_boundary_uses_history(params):
    past = series([0.20, 0.21])
    batch = series([0.40, 0.22], start=T0 + 2 * STEP)
    assert run(params, batch, history={"WL1": good(past)}) == [("doubtful", "spike"), GOOD]
    assert run(params, batch) == [GOOD, GOOD]  # without history there is no previous good value


def test_jump_only_within_its_window(params):
    assert run(params, series([0.0, 0.25])) == [GOOD, ("doubtful", "jump")]
    # 0.25 m after 20 min of silence: the last good value is outside the 15-min window
    assert run(params, series([0.0, 0.25], step=timedelta(minutes=20))) == [GOOD, GOOD]


def test_rate_of_change_is_bad_and_beats_jump(params):
    # 0.6 m in 5 min = 7.2 m/h > 6 m/h: bad (also a jump, the more severe flag wins)
    assert run(params, series([0.0, 0.6])) == [GOOD, ("bad", "rate_of_change")]
    # river stage: 0.2 m in 5 min = 2.4 m/h > 2 m/h
    assert run(params, series([180.0, 180.2], sensor="RS1")) == [GOOD, ("bad", "rate_of_change")]
    assert run(params, series([180.0, 180.1], sensor="RS1")) == [GOOD, GOOD]


def test_most_severe_flag_wins(params):
    # out of the hard range and in the future: both bad, future_time comes first in precedence;
    # missing beats everything
    readings = series([3.0, None])
    now = T0 - timedelta(hours=1)
    assert run(params, readings, now=now) == [("bad", "future_time"), ("missing", "missing")]


def test_a_bad_value_does_not_poison_the_next(params):
    # 1.2 m after 0.1 m is bad (rate); the 0.1 m after it is judged against 0.1 m, not 1.2 m
    flags = run(params, series([0.10, 1.20, 0.11, 0.12]))
    assert flags == [GOOD, ("bad", "rate_of_change"), GOOD, GOOD]
    # across batches the store gives only good history: same result
    flags = run(params, series([0.11, 0.12], start=T0 + 2 * STEP),
                history={"WL1": good(series([0.10]))})
    assert flags == [GOOD, GOOD]


def test_a_level_shift_is_doubtful_until_the_jump_window_has_passed(params):
    flags = run(params, series([0.10, 0.35, 0.36, 0.36, 0.37, 0.37]))
    # 0.35–0.36 are judged against the last good 0.10 (jump); after 15 min that value is too old
    assert flags == [GOOD] + [("doubtful", "jump")] * 3 + [GOOD, GOOD]


def test_flatline_above_its_minimum_only(params):
    # stuck at 0.30 m for > 2 h (window), tolerance 2 mm: doubtful once the window is covered
    stuck = run(params, series([0.30] * 30))
    assert stuck[:24] == [GOOD] * 24 and stuck[24:] == [("doubtful", "flatline")] * 6
    # a dry street reads 0 for days: legitimate
    assert run(params, series([0.0] * 40)) == [GOOD] * 40
    # a live gauge varies by more than 2 mm
    assert run(params, series([0.30, 0.305] * 20)) == [GOOD] * 40


def test_flatline_across_batches(params):
    past = series([0.30] * 25)
    flagged = run(params, series([0.30, 0.30], start=T0 + 25 * STEP), history={"WL1": good(past)})
    assert flagged == [("doubtful", "flatline")] * 2
    # the next batch sees only the good history (flagged ones are not in it) and still flags
    flagged = run(params, series([0.30], start=T0 + 27 * STEP), history={"WL1": good(past)})
    assert flagged == [("doubtful", "flatline")]


def test_missing_value(params):
    assert run(params, series([0.1, None, 0.1])) == [GOOD, ("missing", "missing"), GOOD]


def test_future_and_ancient_times(params):
    now = T0 + timedelta(days=40)
    readings = [
        Reading("WL1", now + timedelta(minutes=10), 0.1, "m", now),  # > 5 min ahead
        Reading("WL1", now + timedelta(minutes=4), 0.1, "m", now),   # within tolerance
        Reading("WL1", now - timedelta(days=31), 0.1, "m", now),     # > 30 days old
        Reading("WL1", now - timedelta(days=29), 0.2, "m", now),
    ]
    assert run(params, readings, now=now) == [("bad", "future_time"), GOOD, ("bad", "ancient_time"), GOOD]


def test_order_is_kept_and_sensors_are_judged_apart(params):
    one, two = series([0.20, 0.21, 0.40, 0.22]), series([0.40, 0.40, 0.40, 0.40], sensor="WL2")
    mixed = [r for pair in zip(reversed(one), two) for r in pair]
    flags = run(params, mixed)
    assert flags[2] == ("doubtful", "spike")  # WL1 at 0.40, third reading in time
    assert flags.count(GOOD) == 7


def test_per_sensor_override(params):
    underpass = replace(params.kinds[SensorKind.WATER_LEVEL], hard_range=(-0.1, 4.0), soft_range=(0.0, 3.5),
                        off=frozenset({"rate_of_change"}))
    custom = replace(params, overrides={"WL2": underpass})
    readings = series([0.0, 0.5, 2.5], sensor="WL2", step=timedelta(minutes=1))
    assert run(params, readings) == [GOOD, ("bad", "rate_of_change"), ("bad", "hard_range")]
    assert run(custom, readings) == [GOOD, ("doubtful", "jump"), ("doubtful", "jump")]


def test_override_of_another_kind_is_refused(params):
    custom = replace(params, overrides={"RS1": params.kinds[SensorKind.WATER_LEVEL]})
    with pytest.raises(DataContractError, match="overrides.RS1.kind"):
        run(custom, series([180.0], sensor="RS1"))


def test_unknown_sensors_are_named(params):
    readings = series([0.1]) + [Reading("NOPE-2", T0, 0.1, "m", T0), Reading("NOPE-1", T0, 0.1, "m", T0)]
    with pytest.raises(UnknownNameError, match="NOPE-1, NOPE-2"):
        run(params, readings)


def test_wrong_unit_and_naive_time_are_refused(params):
    with pytest.raises(DataContractError, match="WL1 \\(cm, expected m\\)"):
        run(params, [Reading("WL1", T0, 10.0, "cm", T0)])
    with pytest.raises(DataContractError, match="timezone-aware"):
        run(params, [Reading("WL1", T0.replace(tzinfo=None), 0.1, "m", T0)], now=T0)


def test_a_revision_replaces_the_history_reading(params):
    past = series([0.20, 0.21, 0.80])  # 0.80 was wrongly good; the batch revises it
    flags = run(params, series([0.22, 0.23], start=T0 + 2 * STEP), history={"WL1": good(past)})
    assert flags == [GOOD, GOOD]


def test_empty_batch(params):
    assert qc_batch([], sensors=SENSORS, history={}, params=params, now=T0) == []


def test_stale():
    now = T0 + timedelta(hours=1)
    seen = {"WL1": now - 3 * STEP, "WL2": now - 3 * STEP - timedelta(seconds=1), "RS1": None}
    assert stale(seen, sensors=SENSORS, now=now, factor=3) == {"WL1": False, "WL2": True, "RS1": True}
    assert stale({}, sensors=SENSORS, now=now, factor=3) == dict.fromkeys(SENSORS, True)
    with pytest.raises(UnknownNameError, match="NOPE"):
        stale({"NOPE": now}, sensors=SENSORS, now=now, factor=3)
