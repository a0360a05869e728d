"""Flash-flood science: hand-computed rolling rain, wet-lowered thresholds, the colour mapping, drivers."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from warn.risk.flashflood import (
    FlashFloodParams,
    WetnessParams,
    driver_text,
    dynamic_threshold,
    flash_score,
    rolling_rain,
    threshold_reduction,
)
from warn.risk.landslide import TankParams
from warn.risk.levels import LevelParams, level_of
from warn.vocab import Level

WETNESS = WetnessParams(swi_normal_mm=40.0, swi_wet_mm=120.0, max_reduction=0.3)
PARAMS = FlashFloodParams(
    tank=TankParams(15, 0.10, 60, 0.15, 0.12, 15, 0.05, 0.05, 15, 0.01, 0.01, 1 / 6),
    wetness=WETNESS, durations_h=(1, 3, 6), approach=0.8, orange=0.5, levels=LevelParams(), spin_up=timedelta(days=7),
)


def test_rolling_rain_sums_the_last_hours_and_is_unknown_over_a_gap_or_before_the_start():
    got = rolling_rain([1.0, 2.0, 3.0, np.nan, 5.0, 6.0, 7.0], (1, 3))
    np.testing.assert_array_equal(got[0], [1, 2, 3, np.nan, 5, 6, 7])
    np.testing.assert_array_equal(got[1], [np.nan, np.nan, 6, np.nan, np.nan, np.nan, 18])


def test_rolling_rain_keeps_the_item_axis_and_a_window_longer_than_the_series_is_unknown():
    got = rolling_rain(np.array([[1.0, 10.0], [2.0, 20.0]]), (1, 6))
    assert got.shape == (2, 2, 2)
    np.testing.assert_array_equal(got[0], [[1, 10], [2, 20]])
    assert np.isnan(got[1]).all()


def test_rolling_rain_refuses_a_window_shorter_than_an_hour():
    with pytest.raises(ValueError, match="whole hours ≥ 1"):
        rolling_rain([1.0], (0,))


def test_threshold_is_lowered_linearly_between_normal_and_wet_and_never_raised():
    # r = 0.3 · clip((W − 40) / 80, 0, 1)
    got = threshold_reduction([10.0, 40.0, 80.0, 120.0, 300.0, np.nan], params=WETNESS)
    np.testing.assert_allclose(got, [0.0, 0.0, 0.15, 0.3, 0.3, np.nan])
    # 60 mm at r = 0.15 → 51 mm; unknown wetness keeps the plan's 60 mm
    np.testing.assert_allclose(dynamic_threshold(60.0, got), [60, 60, 51, 42, 42, 60])


def test_wetness_parameters_are_checked():
    with pytest.raises(ValueError, match="swi_normal_mm < swi_wet_mm"):
        WetnessParams(120.0, 40.0, 0.3)
    with pytest.raises(ValueError, match="max_reduction"):
        WetnessParams(40.0, 120.0, 1.0)


def test_colours_follow_the_knots_approach_prepare_halfway_evacuate():
    # 准备转移 40 mm, 立即转移 60 mm → knots 32 (blue), 40 (yellow), 50 (orange), 60 (red)
    rain = np.array([[0.0, 20.0, 32.0, 36.0, 40.0, 50.0, 60.0, 90.0]])
    score, governing = flash_score(rain, 40.0, 60.0, params=PARAMS)
    np.testing.assert_allclose(score, [0, 15.625, 25, 37.5, 50, 70, 85, 100])
    assert level_of(score, PARAMS.levels.boundaries).tolist() == [0, 0, 1, 1, 2, 3, 4, 4]
    assert governing.tolist() == [0] * 8


def test_the_worst_duration_sets_the_score_and_a_missing_window_makes_it_unknown():
    # 1 h: 30 mm of 40/60 (blue); 3 h: 70 mm of 60/80 (orange, 70 = halfway)
    rain = np.array([[30.0, 30.0], [70.0, np.nan]])
    prepare = np.array([[40.0], [60.0]])
    evacuate = np.array([[60.0], [80.0]])
    score, governing = flash_score(rain, prepare, evacuate, params=PARAMS)
    assert score[0] == pytest.approx(70.0) and np.isnan(score[1])
    assert governing.tolist() == [1, -1]


def test_a_wet_catchment_reaches_a_higher_colour_on_the_same_rain():
    rain = np.array([55.0])
    dry, _ = flash_score(rain[None], 50.0, 70.0, params=PARAMS)
    r = threshold_reduction(120.0, params=WETNESS)  # 30 %
    wet, _ = flash_score(rain[None], dynamic_threshold(50.0, r), dynamic_threshold(70.0, r), params=PARAMS)
    assert Level(int(level_of(dry, PARAMS.levels.boundaries)[0])) is Level.YELLOW  # 55 ≥ 50
    assert Level(int(level_of(wet, PARAMS.levels.boundaries)[0])) is Level.RED  # 55 ≥ 49


def test_thresholds_out_of_order_are_refused():
    with pytest.raises(ValueError, match="准备转移 prepare < 立即转移 evacuate"):
        flash_score(np.array([[10.0]]), 60.0, 60.0, params=PARAMS)


@pytest.mark.parametrize(("level", "rain", "reduction", "lead", "text"), [
    (Level.RED, 68.0, 0.25, timedelta(hours=2),
     "3 h 雨量 68 mm ≥ 立即转移临界雨量 60 mm（前期偏湿，阈值下调 25 %） (+2 h)"),
    (Level.ORANGE, 55.0, 0.0, timedelta(0),
     "3 h 雨量 55 mm ≥ 准备转移临界雨量 45 mm，已过至立即转移临界雨量 60 mm 的 50 % (现在 now)"),
    (Level.YELLOW, 46.0, 0.0, timedelta(0), "3 h 雨量 46 mm ≥ 准备转移临界雨量 45 mm (现在 now)"),
    (Level.BLUE, 38.0, np.nan, timedelta(hours=1),
     "3 h 雨量 38 mm ≥ 准备转移临界雨量 45 mm 的 80 %（前期土壤含水未知，按预案临界雨量） (+1 h)"),
    (Level.NONE, 4.5, 0.004, timedelta(0), "3 h 雨量 4.5 mm < 准备转移临界雨量 45 mm 的 80 % (现在 now)"),
    (Level.UNKNOWN, np.nan, 0.0, timedelta(0), "3 h 雨量 未知 unknown (现在 now)"),
])
def test_driver_texts(level, rain, reduction, lead, text):
    assert driver_text(3, rain, 45.0, 60.0, reduction, level, lead, params=PARAMS) == text
