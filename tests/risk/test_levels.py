"""Levels with memory: hand-made score sequences on a simulated 10-minute clock."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from warn.risk.levels import Crossing, CrossingKind, LevelMemory, LevelParams, level_of, step
from warn.vocab import Level

T0 = datetime(2026, 7, 15, 0, 0, tzinfo=timezone.utc)
STEP = timedelta(minutes=10)
PARAMS = LevelParams()
NAN = float("nan")


def run(scores, params=PARAMS, memory=None):
    """Feed one item's scores at T0, T0 + 10 min, …; the level after each step and all crossings."""
    memory = memory or LevelMemory.empty(1)
    levels, crossings = [], []
    for k, score in enumerate(scores):
        memory, new = step(memory, np.array([score]), T0 + k * STEP, params)
        levels.append(int(memory.level[0]))
        crossings += new
    return levels, crossings, memory


def test_level_of_boundaries_belong_to_the_level_above_and_nan_is_unknown():
    scores = np.array([0, 24.9, 25, 49.99, 50, 70, 84.9, 85, 100, NAN])
    assert level_of(scores, (25, 50, 70, 85)).tolist() == [0, 0, 1, 1, 2, 3, 3, 4, 4, -1]
    assert level_of(np.array([[72.0]]), (25, 50, 70, 85)).dtype == np.int8


def test_first_score_resumes_from_unknown_at_once():
    levels, crossings, _ = run([55])
    assert levels == [2]
    (c,) = crossings
    assert (c.kind, c.rule_id, c.from_level, c.to_level, c.at) == (
        CrossingKind.RESUMED, "LVL-RESUMED", Level.UNKNOWN, Level.YELLOW, T0)
    assert c.label == "未知→黄色 unknown→L2 score 55 ≥ 50"


def test_up_at_once_even_several_levels():
    levels, crossings, _ = run([10, 30, 72, 90])
    assert levels == [0, 1, 3, 4]
    ups = [c for c in crossings if c.kind is CrossingKind.UP]
    assert [(c.from_level, c.to_level) for c in ups] == [(0, 1), (1, 3), (3, 4)]
    assert ups[1].label == "蓝色→橙色 L1→L3 score 72 ≥ 70"
    assert ups[1].at == T0 + 2 * STEP and ups[1].rule_id == "LVL-UP"


def test_no_flapping_around_a_boundary_within_the_margin():
    # Orange at 72, then wobbling 66–71 for three hours: never under 70 − 5, so it stays orange.
    wobble = [72] + [68, 71, 66, 69.9, 65.0, 70.5] * 3
    levels, crossings, _ = run(wobble)
    assert set(levels[1:]) == {3}
    assert [c.kind for c in crossings] == [CrossingKind.RESUMED]


def test_down_only_after_the_hold():
    # Orange, then under 65 from T0+10 min: down at T0+70 min (60 min after the first cycle below).
    levels, crossings, _ = run([72, 60, 60, 60, 60, 60, 60, 60])
    assert levels == [3, 3, 3, 3, 3, 3, 3, 2]
    down = crossings[-1]
    assert (down.kind, down.rule_id, down.from_level, down.to_level, down.at) == (
        CrossingKind.DOWN, "LVL-DOWN-HOLD", Level.ORANGE, Level.YELLOW, T0 + 7 * STEP)
    assert down.label == "橙色→黄色 L3→L2 score 60 < 65 for 1 h"


def test_hold_restarts_when_the_score_goes_back_up():
    # Below for 50 min, one cycle at 66 (≥ 65) restarts the hold, which then needs 60 min more.
    levels, _, _ = run([72] + [60] * 5 + [66] + [60] * 7)
    assert levels[:13] == [3] * 13
    assert levels[13] == 2


def test_a_cycle_without_score_restarts_the_hold():
    levels, crossings, _ = run([72, 60, 60, 60, NAN, 60, 60, 60, 60, 60, 60, 60])
    assert levels[:11] == [3] * 11 and levels[11] == 2
    assert [c.kind for c in crossings] == [CrossingKind.RESUMED, CrossingKind.DOWN]


def test_multi_level_drop_goes_to_the_level_the_score_gives():
    levels, crossings, _ = run([90] + [10] * 7)
    assert levels == [4] * 7 + [0]
    assert (crossings[-1].from_level, crossings[-1].to_level) == (Level.RED, Level.NONE)
    assert crossings[-1].label == "红色→无 L4→L0 score 10 < 80 for 1 h"


def test_expiry_to_unknown_with_an_event_then_resume():
    params = LevelParams(expire=timedelta(minutes=30))
    levels, crossings, _ = run([55, NAN, NAN, NAN, NAN, 30], params)
    # Last evidence at T0; 30 min later (third NaN) the level expires; a score resumes at once.
    assert levels == [2, 2, 2, -1, -1, 1]
    kinds = [(c.kind, c.rule_id, int(c.from_level), int(c.to_level)) for c in crossings]
    assert kinds == [(CrossingKind.RESUMED, "LVL-RESUMED", -1, 2), (CrossingKind.EXPIRED, "LVL-EXPIRED", 2, -1),
                     (CrossingKind.RESUMED, "LVL-RESUMED", -1, 1)]
    expired = crossings[1]
    assert expired.at == T0 + 3 * STEP and np.isnan(expired.score)
    assert expired.label == "黄色→未知 L2→unknown 无评分超过 30 min / no score for 30 min since 2026-07-15T00:00Z"


def test_none_expires_too_never_silently_clear():
    _, crossings, memory = run([5] + [NAN] * 18)  # 3 h of no score
    assert memory.level[0] == Level.UNKNOWN
    assert crossings[-1].kind is CrossingKind.EXPIRED and crossings[-1].from_level is Level.NONE


def test_vectorised_over_many_items_equals_item_by_item():
    rng = np.random.default_rng(500112)
    n, cycles = 40, 60
    base = rng.uniform(0, 100, size=(cycles, n)).cumsum(axis=0) % 100  # wanders over all levels
    scores = np.where(rng.random((cycles, n)) < 0.15, NAN, base)
    scores[20:45, :5] = NAN  # a few long outages that expire
    memory = LevelMemory.empty(n)
    together: list[Crossing] = []
    history = []
    for k in range(cycles):
        memory, new = step(memory, scores[k], T0 + k * STEP, PARAMS)
        together += new
        history.append(memory.level.copy())
    for i in range(n):
        levels, alone, _ = run(scores[:, i])
        assert levels == [int(h[i]) for h in history]
        mine = [c for c in together if c.index == i]
        assert [(c.kind, c.from_level, c.to_level, c.at, c.label) for c in mine] == [
            (c.kind, c.from_level, c.to_level, c.at, c.label) for c in alone]
    assert {c.kind for c in together} == set(CrossingKind)


def test_step_leaves_the_old_memory_untouched():
    memory = LevelMemory.empty(2)
    new, _ = step(memory, np.array([80.0, NAN]), T0, PARAMS)
    assert memory.level.tolist() == [-1, -1] and new.level.tolist() == [3, -1]


def test_columns_round_trip_and_the_restored_memory_continues_the_same():
    memory = LevelMemory.empty(3)
    for k, scores in enumerate([[72, 40, 10], [60, NAN, 10]]):
        memory, _ = step(memory, np.array(scores, dtype=float), T0 + k * STEP, PARAMS)
    ids = ["DEMO-T01", "DEMO-T02", "DEMO-T03"]
    assert memory.level[0] == 3 and memory.below_since[0] == memory.last_evidence[0] == np.datetime64((T0 + STEP).replace(tzinfo=None), "s")
    assert np.isnat(memory.below_since[1]) and memory.last_evidence[1] == np.datetime64(T0.replace(tzinfo=None), "s")
    back = LevelMemory.from_columns(ids[::-1], memory.level[::-1], memory.below_since[::-1].astype("datetime64[us]"),
                                    memory.last_evidence[::-1], ids)
    for field in ("level", "below_since", "last_evidence"):
        np.testing.assert_array_equal(getattr(back, field), getattr(memory, field))
    # The restored state continues exactly like the original.
    a = step(memory, np.array([60.0, 40, 10]), T0 + 7 * STEP, PARAMS)
    b = step(back, np.array([60.0, 40, 10]), T0 + 7 * STEP, PARAMS)
    assert a[0].level.tolist() == b[0].level.tolist() == [2, 1, 0] and a[1] == b[1]


def test_from_columns_orders_by_ids_and_starts_new_items_unknown():
    held = (["b", "gone"], np.array([4, 2]), np.array(["NaT", "NaT"], dtype="datetime64[us]"),
            np.array(["2026-07-15T00:00:00", "NaT"], dtype="datetime64[us]"))
    memory = LevelMemory.from_columns(*held, ["a", "b"])
    assert memory.level.tolist() == [-1, 4]
    assert memory.last_evidence[1] == np.datetime64("2026-07-15T00:00:00") and np.isnat(memory.last_evidence[0])
    with pytest.raises(ValueError, match="'b' appears twice"):
        LevelMemory.from_columns(["b", "c", "b"], np.array([1, 1, 1]), *(np.full(3, np.datetime64("NaT", "s")),) * 2,
                                 ["a", "b"])
    with pytest.raises(ValueError, match="'c': expected a level −1…4, got 7"):
        LevelMemory.from_columns(["b", "c"], np.array([1, 7]), *(np.full(2, np.datetime64("NaT", "s")),) * 2, ["a"])


@pytest.mark.parametrize("kwargs, message", [
    ({"boundaries": (25, 50, 50, 85)}, "strictly increasing"),
    ({"margin": -1}, "margin"),
    ({"expire": timedelta(0)}, "expire"),
])
def test_params_are_checked(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LevelParams(**kwargs)


def test_cycles_must_come_in_time_order():
    memory, _ = step(LevelMemory.empty(1), np.array([30.0]), T0, PARAMS)
    with pytest.raises(ValueError, match="before the last evidence"):
        step(memory, np.array([30.0]), T0 - STEP, PARAMS)
    with pytest.raises(ValueError, match="expected 1 scores"):
        step(memory, np.array([30.0, 40.0]), T0 + STEP, PARAMS)
