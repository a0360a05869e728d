"""Landslide scores: hand-computed effective rain, analytic tank-model checks, critical lines, levels, rock."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import ROOT
from warn import hazards
from warn.risk.landslide import (
    RAIN_60MIN,
    TRIGGER_QUANTITIES,
    apply_floor,
    critical_line_level,
    critical_line_score,
    drivers_for,
    effective_rainfall,
    effective_rainfall_at_end,
    plane_failure_k,
    quantity_score,
    rock_fill,
    rock_level,
    soil_water_index,
    trigger_score,
    zone_level,
)
from warn.risk.levels import level_of
from warn.vocab import Level


@pytest.fixture(scope="module")
def params():
    return hazards.load_model("landslide", ROOT / "models" / "landslide.yaml").params()


@pytest.fixture(scope="module")
def tank(params):
    return params.tank


# --- effective rainfall -------------------------------------------------------------------


def test_effective_rainfall_half_life_by_hand():
    # half-life 2 h: at the end of hour 2 the 10 mm of hour 1 weigh 0.5^(1/2) = 0.70711; at the
    # end of hour 3 they weigh 0.5 and the 20 mm of hour 3 count in full: 5 + 0 + 20 = 25
    out = effective_rainfall([10.0, 0.0, 20.0], half_life_h=2.0)
    np.testing.assert_allclose(out, [10.0, 7.0710678, 25.0])
    # half-life 1 h from 8 mm already there: 8·0.5 + 10 = 14, 14·0.5 = 7, 7·0.5 + 20 = 23.5
    np.testing.assert_allclose(effective_rainfall([10.0, 0.0, 20.0], half_life_h=1.0, start=8.0), [14.0, 7.0, 23.5])


def test_effective_rainfall_weighs_each_hour_by_its_age():
    rain = np.array([3.0, 0.0, 7.0, 1.0, 0.0, 4.0])
    ages = np.arange(rain.size)[::-1]  # at the end of the last hour: 5, 4, … 0 hours old
    expected = float(np.sum(rain * 0.5 ** (ages / 12.0)))
    assert effective_rainfall(rain, half_life_h=12.0)[-1] == pytest.approx(expected)


def test_effective_rainfall_is_vectorised_and_missing_is_not_zero():
    rain = np.zeros((4, 2, 3))
    rain[0, 1, 2] = 8.0
    rain[2, 0, 0] = np.nan
    out = effective_rainfall(rain, half_life_h=3.0)
    assert out.shape == (4, 2, 3)
    assert out[3, 1, 2] == pytest.approx(4.0) and out[3, 0, 1] == 0.0
    assert out[1, 0, 0] == 0.0 and np.isnan(out[2:, 0, 0]).all()


@settings(max_examples=80, deadline=None)
@given(hours=st.integers(1, 150), seed=st.integers(0, 2**32 - 1), share=st.sampled_from([0.05, 0.5, 1.0]),
       half_life=st.floats(0.5, 200.0), dtype=st.sampled_from([np.float32, np.float64]))
def test_effective_rainfall_at_the_end_of_a_window_of_given_hours_is_the_whole_series_to_the_bit(
        hours, seed, share, half_life, dtype):
    rng = np.random.default_rng(seed)
    given_at = np.flatnonzero(rng.random(hours) < share)
    if not given_at.size:
        given_at = np.array([hours - 1])
    depths = rng.gamma(0.5, 20.0, (given_at.size, 7)).astype(dtype)
    depths[rng.random(depths.shape) < 0.1] = np.nan  # a NaN reading counts as dry
    series = np.zeros((hours, 7))
    series[given_at] = np.nan_to_num(depths)
    got = effective_rainfall_at_end(list(depths), given_at, hours, half_life_h=half_life)
    np.testing.assert_array_equal(got, effective_rainfall(series, half_life_h=half_life)[-1])
    np.testing.assert_array_equal(got, effective_rainfall(series, half_life_h=half_life, method="numpy")[-1])


@pytest.mark.parametrize(("places", "hours"), [([], 5), ([2, 2], 5), ([3, 1], 5), ([-1], 5), ([5], 5)])
def test_effective_rainfall_at_end_refuses_hours_outside_the_window_or_out_of_order(places, hours):
    with pytest.raises(ValueError, match="increasing places within"):
        effective_rainfall_at_end([np.zeros(2)] * len(places), places, hours, half_life_h=12.0)


def test_effective_rainfall_refuses_a_half_life_that_is_not_positive():
    with pytest.raises(ValueError, match="half_life_h must be positive"):
        effective_rainfall([1.0], half_life_h=0.0)


# --- soil water index: analytic checks ---------------------------------------------------


def test_pure_decay_of_tank_three_matches_the_scheme_and_the_ode(tank):
    s0, hours = 10.0, 48  # below L4 = 15: only the bottom outlet, dS3/dt = −β3 S3
    swi, state = soil_water_index(np.zeros(hours), 1.0, np.array([0.0, 0.0, s0]), params=tank)
    n = np.arange(1, hours + 1) * 6
    x = tank.beta3 / 6  # β3 Δt with Δt = 10 min
    discrete = s0 * (1 - x) ** n
    continuous = s0 * np.exp(-tank.beta3 * n / 6)
    assert np.abs(swi - discrete).max() < 1e-12  # asked: 1e-3 mm
    # forward Euler's error: (1 − x)^n = e^{−nx} · e^{−n x²/2 + …}, so |Δ| ≤ S0 · n x²
    assert np.all(np.abs(swi - continuous) <= s0 * n * x**2)
    assert np.abs(swi - continuous).max() > 1e-4  # the bound is not vacuous: the scheme differs
    assert state[2] == pytest.approx(discrete[-1], abs=1e-12) and state[0] == state[1] == 0.0


def test_steady_state_under_constant_rain(tank):
    # dS/dt = 0 on the piecewise-linear system, solved by hand for each tank:
    #   R = 0.5 mm/h: S1 = R/β1 = 4.1667 (≤ L1); S2 = β1S1/β2 = 10 (≤ L3);
    #                 S3 = (β2S2 + α4L4)/(α4 + β3) = (0.5 + 0.15)/0.02 = 32.5 (> L4)
    #   R = 5 mm/h:   S1 = (R + α1L1)/(α1 + β1) = 6.5/0.22 = 29.5455 (L1 < S1 ≤ L2);
    #                 S2 = (β1S1 + α3L3)/(α3 + β2) = (3.54545 + 0.75)/0.1 = 42.9545;
    #                 S3 = (β2S2 + 0.15)/0.02 = (2.14773 + 0.15)/0.02 = 114.8864
    #   R = 20 mm/h:  S1 = (R + α1L1 + α2L2)/(α1 + α2 + β1) = 30.5/0.37 = 82.4324 (> L2);
    #                 S2 = (9.89189 + 0.75)/0.1 = 106.4189; S3 = (5.32095 + 0.15)/0.02 = 273.5473
    expected = np.array([
        [0.5 / 0.12, 10.0, 32.5],
        [6.5 / 0.22, (0.12 * 6.5 / 0.22 + 0.75) / 0.1, (0.05 * (0.12 * 6.5 / 0.22 + 0.75) / 0.1 + 0.15) / 0.02],
        [30.5 / 0.37, (0.12 * 30.5 / 0.37 + 0.75) / 0.1, (0.05 * (0.12 * 30.5 / 0.37 + 0.75) / 0.1 + 0.15) / 0.02],
    ]).T
    assert expected[:, 1] == pytest.approx([29.5455, 42.9545, 114.8864], abs=1e-4)
    assert expected[:, 2] == pytest.approx([82.4324, 106.4189, 273.5473], abs=1e-4)
    rain = np.tile([0.5, 5.0, 20.0], (1200, 1))
    swi, state = soil_water_index(rain, 1.0, params=tank)
    assert np.abs(state - expected).max() < 1e-3
    assert np.abs(swi[-1] - expected.sum(axis=0)).max() < 1e-3


def test_hourly_rain_equals_the_same_rain_in_ten_minute_steps(tank):
    hourly = np.array([0.0, 12.0, 30.0, 3.0, 0.0, 0.0, 45.0, 7.5] * 3)
    ten_minute = np.repeat(hourly / 6, 6)
    swi_h, state_h = soil_water_index(hourly, 1.0, params=tank)
    swi_10, state_10 = soil_water_index(ten_minute, 1 / 6, params=tank)
    np.testing.assert_array_equal(swi_h, swi_10[5::6])
    np.testing.assert_array_equal(state_h, state_10)


def test_large_rain_stays_finite_and_non_negative(tank):
    rain = np.array([500.0] * 6 + [0.0] * 200)
    swi, state = soil_water_index(rain, 1.0, params=tank)
    assert np.isfinite(swi).all() and (swi >= 0).all() and (state >= 0).all()
    assert swi.max() < rain.sum()  # storage cannot exceed what fell


def test_outflow_limit_keeps_tanks_non_negative_with_huge_coefficients(tank):
    # β1 Δt = 20 · 1/6 > 1: an unlimited Euler step would drive S1 negative and oscillate
    wild = replace(tank, beta1=20.0, alpha1=5.0, beta2=9.0, beta3=7.0)
    swi, state = soil_water_index(np.array([40.0, 0.0, 0.0, 10.0, 0.0]), 1.0, params=wild)
    assert (swi >= 0).all() and (state >= 0).all() and np.isfinite(swi).all()


def test_state_carried_across_calls_equals_one_run(tank):
    rng = np.random.default_rng(3)
    rain = rng.gamma(0.4, 6.0, (48, 5, 4))
    swi, state = soil_water_index(rain, 1.0, params=tank)
    first, mid = soil_water_index(rain[:24], 1.0, params=tank)
    second, end = soil_water_index(rain[24:], 1.0, mid, params=tank)
    assert np.abs(np.concatenate([first, second]) - swi).max() < 1e-9
    assert np.abs(end - state).max() < 1e-9 and state.shape == (3, 5, 4)


def test_missing_rain_gives_unknown_step_and_keeps_draining(tank):
    rain = np.array([[10.0, 10.0], [np.nan, 0.0], [2.0, 2.0]])
    swi, _ = soil_water_index(rain, 1.0, params=tank)
    assert np.isnan(swi[1, 0]) and not np.isnan(swi[1, 1])
    assert swi[2, 0] == swi[2, 1]  # treated as dry for the state


def test_negative_rain_and_bad_state_are_refused(tank):
    with pytest.raises(ValueError, match="negative"):
        soil_water_index(np.array([1.0, -2.0]), 1.0, params=tank)
    with pytest.raises(ValueError, match="state must have shape"):
        soil_water_index(np.zeros((4, 2)), 1.0, np.zeros((3, 3)), params=tank)


def test_dataarray_input_matches_numpy_and_keeps_dims(tank):
    rng = np.random.default_rng(5)
    values = rng.gamma(0.5, 4.0, (6, 3, 24))
    rain = xr.DataArray(values, dims=("lat", "lon", "time"))
    swi, state = soil_water_index(rain, 1.0, params=tank)
    ref_swi, ref_state = soil_water_index(np.moveaxis(values, -1, 0), 1.0, params=tank)
    assert swi.dims == ("lat", "lon", "time") and state.dims == ("tank", "lat", "lon")
    np.testing.assert_allclose(swi.transpose("time", ...).values, ref_swi, rtol=0, atol=1e-12)
    np.testing.assert_allclose(state.values, ref_state, rtol=0, atol=1e-12)


@pytest.mark.slow
def test_dask_chunked_over_cells_matches_numpy(tank):
    pytest.importorskip("dask")
    rng = np.random.default_rng(6)
    values = rng.gamma(0.5, 4.0, (24, 10, 8))
    rain = xr.DataArray(values, dims=("time", "lat", "lon")).chunk(lat=3, lon=4)
    swi, state = soil_water_index(rain, 1.0, params=tank)
    assert swi.chunks is not None
    ref_swi, ref_state = soil_water_index(values, 1.0, params=tank)
    np.testing.assert_allclose(swi.values, ref_swi, atol=1e-12)
    np.testing.assert_allclose(state.values, ref_state, atol=1e-12)
    cont, _ = soil_water_index(rain[12:], 1.0, soil_water_index(rain[:12], 1.0, params=tank)[1], params=tank)
    np.testing.assert_allclose(cont.values, ref_swi[12:], atol=1e-9)


# --- trigger score, levels, matrix, floor -------------------------------------------------


def test_quantity_score_knots_and_beyond_red(params):
    th = params.trigger
    values = [0, 45, 90, 105, 120, 150, 180, 195, 210, 400, -5, np.nan]
    scores = quantity_score(values, thresholds=th.swi_mm, scores=th.scores)
    np.testing.assert_allclose(scores[:11], [0, 12.5, 25, 37.5, 50, 70, 85, 92.5, 100, 100, 0])
    assert np.isnan(scores[11])


def test_critical_line_score_on_both_axes_and_between(params):
    th = params.trigger  # lines (R60 70, SWI 90), (90, 120), (110, 150), (140, 180)
    swi = [0, 90, 120, 150, 180, 0, 0, 0, 75, 60, 105, np.nan]
    rain = [0, 0, 0, 0, 0, 70, 110, 140, 55, 28, 0, 5]
    score = critical_line_score(swi, rain, swi_intercepts=th.swi_mm, rain_intercepts=th.rain_60min_mm,
                                scores=th.scores)
    # the axes: the intercepts score the level boundaries; (55, 75) lies on the orange line:
    # 55/110 + 75/150 = 1; (28, 60): u_blue = 28/70 + 60/90 = 16/15, u_yellow = 28/90 + 60/120
    # = 73/90, so along the ray 1 lies between the knots 15/16 and 90/73: 25 + 25·(1 − 15/16) /
    # (90/73 − 15/16) = 25 + 25·73/345 = 30.29; SWI 105 alone as quantity_score: 25 + 25·15/30 = 37.5
    np.testing.assert_allclose(score[:11], [0, 25, 50, 70, 85, 25, 70, 85, 70, 25 + 25 * 73 / 345, 37.5], rtol=1e-9)
    assert np.isnan(score[11])
    alone = quantity_score([90, 105, 170, 200], thresholds=th.swi_mm, scores=th.scores)
    np.testing.assert_allclose(critical_line_score([90, 105, 170, 200], 0.0, swi_intercepts=th.swi_mm,
                                                   rain_intercepts=th.rain_60min_mm, scores=th.scores), alone)


def test_a_level_entered_in_rain_needs_more_swi_once_dry(params):
    th = params.trigger
    # SWI 100 with 70 mm in the hour: beyond the red line (70/140 + 100/180 = 1.06) …
    assert critical_line_level(100.0, 70.0, th) is Level.RED
    # … and with the same SWI on a dry hour only blue (100 < 120, the yellow intercept)
    assert critical_line_level(100.0, 0.0, th) is Level.BLUE
    assert critical_line_level(180.0, 0.0, th) is Level.RED and critical_line_level(0.0, 0.0, th) is Level.NONE
    assert critical_line_level(np.nan, 0.0, th) is Level.UNKNOWN


def test_trigger_score_takes_the_larger_and_names_it(params):
    score, driver = trigger_score([90.0, 150.0, np.nan, 0.0, 75.0], [0.0, 0.0, 0.0, 0.0, 55.0],
                                  [120.0, 50.0, 10.0, 0.0, 50.0], thresholds=params.trigger)
    np.testing.assert_allclose(score[[0, 1, 3, 4]], [70.0, 70.0, 0.0, 70.0])
    assert np.isnan(score[2])
    assert driver.tolist() == [1, 0, -1, 0, 0] and TRIGGER_QUANTITIES == ("SWI", "有效降雨")


def _trigger_levels(rain_mm, params):
    """Hourly trigger levels of a rain series from empty tanks: SWI, the hour's rain, R_e."""
    rain = np.asarray(rain_mm, dtype=np.float64)
    swi, _ = soil_water_index(rain, 1.0, params=params.tank)
    effective = effective_rainfall(rain, half_life_h=params.half_life_h)
    score, driver = trigger_score(swi, rain, effective, thresholds=params.trigger)
    return level_of(score, params.levels.boundaries), driver


def test_a_storm_goes_red_in_the_rain_and_falls_within_hours_after(params):
    rain = [0.0, 0.0, 30.0, 50.0, 60.0, 40.0] + [0.0] * 24  # a four-hour storm of 180 mm, then dry
    levels, driver = _trigger_levels(rain, params)
    assert levels[4] == Level.RED and driver[4] == 0  # reached in the rain, on the critical line
    last_wet = 5
    red = np.flatnonzero(levels == Level.RED)
    assert red.max() <= last_wet + 1  # below red within an hour of the last wet hour
    assert levels[last_wet + 6] <= Level.YELLOW and levels[-1] <= Level.BLUE  # and on down as it drains
    assert all(a >= b for a, b in zip(levels[last_wet:], levels[last_wet + 1:]))  # only falling


def test_a_long_moderate_rain_keeps_the_level_on_the_swi(params):
    rain = [6.0] * 48 + [0.0] * 24  # two days of 6 mm/h: never near a rain intercept (50 mm/h)
    levels, driver = _trigger_levels(rain, params)
    assert (levels[24:48] >= Level.YELLOW).all() and levels[47] == Level.ORANGE
    assert driver[47] == 0  # the SWI (tanks 2 and 3 full) holds it, not the effective rain
    assert (levels[48:54] >= Level.YELLOW).all()  # and still after the rain: the deep tanks drain slowly
    burst, _ = _trigger_levels([0.0] * 24 + [6.0] * 4 + [0.0] * 6, params)
    assert burst.max() == Level.NONE  # the same rate for four hours on dry soil warns nothing


def test_a_short_intense_burst_on_wet_soil_reaches_a_level_the_swi_alone_does_not(params):
    rain = np.array([3.0] * 24 + [60.0] + [0.0] * 3)  # a wet day, then one hour of 60 mm
    levels, driver = _trigger_levels(rain, params)
    assert levels[23] <= Level.BLUE and levels[24] == Level.RED and driver[24] == 0
    swi, _ = soil_water_index(rain, 1.0, params=params.tank)
    assert critical_line_level(float(swi[24]), 0.0, params.trigger) is Level.BLUE  # the SWI alone: blue
    assert levels[25] <= Level.YELLOW  # the burst has passed


def test_level_of_a_trigger_score(params):
    levels = level_of([0, 24.9, 25, 50, 69.9, 70, 85, 100, np.nan], params.levels.boundaries)
    assert levels.tolist() == [0, 0, 1, 2, 2, 3, 4, 4, -1]
    assert Level(int(level_of(72.0, params.levels.boundaries))) is Level.ORANGE


def test_matrix_rules_and_vectorised_lookup(params):
    m = params.matrix
    for cls in (1, 2):
        assert all(zone_level(cls, t, matrix=m) <= Level.BLUE for t in range(5))
    assert zone_level(5, Level.RED, matrix=m) is Level.RED
    assert all(zone_level(c, Level.NONE, matrix=m) is Level.NONE for c in range(1, 6))
    assert zone_level(3, Level.UNKNOWN, matrix=m) is Level.UNKNOWN
    out = zone_level(np.array([1, 3, 4, 5]), np.array([4, 3, -1, 3]), matrix=m)
    assert out.tolist() == [Level.BLUE, Level.YELLOW, Level.UNKNOWN, Level.RED]
    with pytest.raises(ValueError, match="classes are integers 1–5"):
        zone_level(6, 1, matrix=m)
    with pytest.raises(ValueError, match="trigger levels"):
        zone_level(3, 5, matrix=m)


def test_official_bulletin_is_a_floor():
    assert apply_floor(Level.BLUE, Level.ORANGE) is Level.ORANGE
    assert apply_floor(Level.RED, Level.YELLOW) is Level.RED
    assert apply_floor(Level.UNKNOWN, Level.YELLOW) is Level.YELLOW
    assert apply_floor(Level.UNKNOWN, Level.NONE) is Level.UNKNOWN
    assert apply_floor(Level.BLUE, Level.UNKNOWN) is Level.BLUE
    assert apply_floor(np.array([0, 4, -1]), np.array([2, 1, -1])).tolist() == [2, 4, -1]


def test_drivers_name_the_critical_line_reached(params):
    swi, hour, rain = drivers_for(160.0, 0.0, 20.0, thresholds=params.trigger, lead=timedelta(hours=2))
    # dry hour: SWI intercepts blue 90, yellow 120, orange 150, red 180: 160 mm reaches orange
    assert (swi.quantity, swi.level, swi.threshold, swi.lead) == ("SWI", Level.ORANGE, 150.0, timedelta(hours=2))
    assert (rain.quantity, rain.level, rain.threshold) == ("有效降雨", Level.NONE, 50.0)
    assert "SWI 160 mm ≥ 橙色阈值 150 mm (+2 h)" in swi.text() and "< 蓝色阈值 50.0 mm" in rain.text()
    # SWI 100 with 70 mm in the hour: the red line (140, 180) asks SWI 180·(1 − 70/140) = 90 at
    # that rain and 140·(1 − 100/180) = 62.2 mm of rain at that SWI
    swi, hour, _ = drivers_for(100.0, 70.0, 0.0, thresholds=params.trigger)
    assert (swi.level, swi.threshold) == (Level.RED, 90.0)
    assert (hour.quantity, hour.level, hour.threshold) == (RAIN_60MIN, Level.RED, pytest.approx(62.222, rel=1e-4))
    assert "60分钟雨量 70.0 mm ≥ 红色阈值 62.2 mm" in hour.text()
    unknown, hour, _ = drivers_for(np.nan, 0.0, 0.0, thresholds=params.trigger)
    assert unknown.level is Level.UNKNOWN and hour.level is Level.UNKNOWN


# --- dangerous rock -----------------------------------------------------------------------

# A block computed on paper, per metre run: W = 2000 kN/m, θ = 35°, L = 12 m, c = 40 kPa,
# φ = 28°, crack depth 6 m (cos35 = 0.819152, sin35 = 0.573576, tan28 = 0.531709).
BLOCK = {"weight_kn": 2000.0, "slope_deg": 35.0, "length_m": 12.0, "cohesion_kpa": 40.0,
         "friction_deg": 28.0, "crack_depth_m": 6.0}


def test_plane_failure_by_hand():
    # normal, h_w = 2 m: V = ½·9.81·2² = 19.62, U = ½·9.81·2·12 = 117.72
    #   N' = 1638.304 − 117.72 − 19.62·0.573576 = 1509.331; resisting = 480 + 802.525 = 1282.525
    #   driving = 1147.152 + 19.62·0.819152 = 1163.225 → K = 1.1026
    assert float(plane_failure_k(**BLOCK, water_fill=1 / 3)) == pytest.approx(1.1026, abs=1e-4)
    # rainstorm, h_w = 4 m: V = 78.48, U = 235.44; N' = 1357.850; resisting = 1201.982;
    #   driving = 1147.152 + 64.287 = 1211.440 → K = 0.9922
    assert float(plane_failure_k(**BLOCK, water_fill=2 / 3)) == pytest.approx(0.9922, abs=1e-4)
    # normal with k_h = 0.1: Q = 200; N' = 1509.331 − 114.715 = 1394.615; resisting = 1221.530;
    #   driving = 1163.225 + 163.830 = 1327.055 → K = 0.9205
    assert float(plane_failure_k(**BLOCK, water_fill=1 / 3, k_h=0.1)) == pytest.approx(0.9205, abs=1e-4)
    dry = plane_failure_k(**BLOCK, water_fill=np.array([1e-9, 1 / 3, 2 / 3]))
    assert dry.shape == (3,) and dry[0] > dry[1] > dry[2]


def test_rock_fill_and_level(params):
    rock = params.rock
    fill = rock_fill([10.0, 55.0, 10.0, np.nan, 10.0], [Level.BLUE, Level.NONE, Level.YELLOW, Level.NONE,
                                                         Level.UNKNOWN], params=rock)
    np.testing.assert_allclose(fill, [1 / 3, 2 / 3, 2 / 3, 2 / 3, 2 / 3])
    k_storm = float(plane_failure_k(**BLOCK, water_fill=fill[1]))
    assert rock_level(k_storm, params=rock) is Level.RED
    assert rock_level(1.02, params=rock) is Level.ORANGE
    assert rock_level(1.10, params=rock) is Level.NONE
    assert rock_level(1.10, params=rock, monitoring_alarm=Level.ORANGE) is Level.ORANGE
    assert rock_level(0.95, params=rock, monitoring_alarm=Level.YELLOW) is Level.RED
    assert rock_level(np.nan, params=rock) is Level.UNKNOWN
    assert rock_level([0.9, 1.04, 2.0], params=rock).tolist() == [4, 3, 0]
