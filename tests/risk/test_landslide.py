"""Landslide scores: hand-computed effective rain, analytic tank-model checks, events, thresholds, levels, rock."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest
import xarray as xr

from tests.conftest import ROOT
from warn import hazards
from warn.risk.landslide import (
    TRIGGER_QUANTITIES,
    EventParams,
    IDThreshold,
    Season,
    apply_floor,
    drivers_for,
    effective_rainfall,
    plane_failure_k,
    quantity_score,
    rain_events,
    rock_fill,
    rock_level,
    soil_water_index,
    trigger_score,
    zone_level,
)
from warn.risk.levels import level_of
from warn.vocab import Level

#: CTRL-T event reconstruction (Melillo et al. 2015, 2018) and two I–D curves (Caine 1980; Guzzetti
#: et al. 2008 global minimum), the values MODELS.md gives.
EVENTS = EventParams(0.2, 6, 1.0, Season(frozenset({4, 5, 6, 7, 8, 9, 10}), 6, 48),
                     Season(frozenset({11, 12, 1, 2, 3}), 12, 96))
CAINE_1980 = IDThreshold("caine1980", 14.82, 0.39, "Caine 1980", 0.167, 240)
GUZZETTI_2008 = IDThreshold("guzzetti2008_global", 2.20, 0.44, "Guzzetti et al. 2008", 0.1, 1000)


@pytest.fixture(scope="module")
def params():
    return hazards.load_model("landslide", ROOT / "models" / "landslide.yaml").params()


@pytest.fixture(scope="module")
def tank(params):
    return params.tank


# --- effective rainfall -------------------------------------------------------------------


def test_effective_rainfall_by_hand():
    # today 10, yesterday 20, the day before 30: 10 + 0.8·20 + 0.64·30 = 45.2
    total, antecedent, same_day = effective_rainfall([10.0, 20.0, 30.0], k=0.8, n=10)
    assert total == pytest.approx(45.2) and antecedent == pytest.approx(35.2) and same_day == 10.0


def test_effective_rainfall_stops_at_n_days_and_is_vectorised():
    daily = np.zeros((15, 2, 3))
    daily[:, 1, 2] = 1.0
    total, antecedent, _ = effective_rainfall(daily, k=0.5, n=2)
    assert total.shape == (2, 3)
    assert total[1, 2] == pytest.approx(1.75) and antecedent[1, 2] == pytest.approx(0.75)
    assert total[0, 0] == 0.0


def test_effective_rainfall_missing_day_is_missing_not_zero():
    total, antecedent, same_day = effective_rainfall([[5.0, 5.0], [np.nan, 1.0]], k=0.8, n=10)
    assert np.isnan(total[0]) and np.isnan(antecedent[0]) and same_day[0] == 5.0
    assert total[1] == pytest.approx(5.8)


def test_effective_rainfall_today_only():
    total, antecedent, same_day = effective_rainfall([12.0], k=0.8, n=10)
    assert total == 12.0 and antecedent == 0.0 and same_day == 12.0


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


# --- rain events and I–D thresholds -------------------------------------------------------


def _hours(n: int, start: str = "2026-07-01T01:00"):
    return np.datetime64(start) + np.arange(n) * np.timedelta64(1, "h")


def test_events_drop_isolated_readings_and_small_subevents(params):
    rain = np.zeros(60)
    rain[3] = 0.2              # isolated noise: ≥ 6 dry hours both sides → dropped
    rain[20:23] = [5.0, 10.0, 3.0]
    rain[40] = 0.2             # a tip near rain (2 dry hours before the next) is kept ...
    rain[43] = 0.6             # ... but its sub-event totals 0.8 mm ≤ 1 mm → dropped with it
    events = rain_events(rain, _hours(60), params=EVENTS)
    assert len(events) == 1
    (event,) = events
    assert event.total_mm == 18.0 and event.duration_h == 3.0 and event.mean_intensity_mm_h == 6.0
    assert event.start == np.datetime64("2026-07-01T20:00") and event.end == np.datetime64("2026-07-01T23:00")


def test_events_split_at_six_dry_hours_and_merge_within_48(params):
    rain = np.zeros(200)
    rain[10:12] = 4.0          # sub-event A, 8 mm
    rain[30] = 6.0             # sub-event B after 18 dry hours: merged into A (< 48 h)
    rain[130:132] = 3.0        # after 98 dry hours: a new event
    events = rain_events(rain, _hours(200), params=EVENTS)
    assert [(e.total_mm, e.duration_h) for e in events] == [(14.0, 21.0), (6.0, 2.0)]


def test_events_cold_season_waits_longer(params):
    rain = np.zeros(200)
    rain[10:12] = 4.0
    rain[80] = 6.0             # 68 dry hours: two events in July, one in January (< 96 h)
    assert len(rain_events(rain, _hours(200), params=EVENTS)) == 2
    assert len(rain_events(rain, _hours(200, "2026-01-05T01:00"), params=EVENTS)) == 1


def test_events_count_missing_hours_as_dry(params):
    rain = np.array([0.0, 3.0, np.nan, 4.0, 0.0])
    (event,) = rain_events(rain, _hours(5), params=EVENTS)
    assert event.total_mm == 7.0 and event.duration_h == 3.0 and event.missing_h == 1


def test_events_refuse_gappy_times(params):
    times = _hours(4)
    times[3] += np.timedelta64(1, "h")
    with pytest.raises(ValueError, match="consecutive hours"):
        rain_events(np.ones(4), times, params=EVENTS)


def test_id_thresholds_by_hand():
    caine, guzzetti = CAINE_1980, GUZZETTI_2008
    assert float(caine.intensity(1.0)) == pytest.approx(14.82)
    assert float(caine.intensity(10.0)) == pytest.approx(14.82 * 10**-0.39)  # 6.039 mm/h
    assert float(guzzetti.intensity(24.0)) == pytest.approx(2.20 * 24**-0.44)  # 0.545 mm/h
    rain = np.zeros(30)
    rain[5:15] = 7.0           # 10 h at 7 mm/h: above Caine (6.04) and Guzzetti (0.80)
    (event,) = rain_events(rain, _hours(30), params=EVENTS)
    assert caine.exceeds(event) and guzzetti.exceeds(event) and caine.covers(event.duration_h)
    rain[5:15] = 0.5           # 0.5 mm/h for 10 h: below both (Guzzetti 2.20·10^−0.44 = 0.80)
    (event,) = rain_events(rain, _hours(30), params=EVENTS)
    assert not caine.exceeds(event) and not guzzetti.exceeds(event)
    assert not caine.covers(500.0)


# --- trigger score, levels, matrix, floor -------------------------------------------------


def test_quantity_score_knots_and_beyond_red(params):
    th = params.trigger
    values = [0, 45, 90, 105, 120, 150, 180, 195, 210, 400, -5, np.nan]
    scores = quantity_score(values, thresholds=th.swi_mm, scores=th.scores)
    np.testing.assert_allclose(scores[:11], [0, 12.5, 25, 37.5, 50, 70, 85, 92.5, 100, 100, 0])
    assert np.isnan(scores[11])


def test_trigger_score_takes_the_larger_and_names_it(params):
    score, driver = trigger_score([90.0, 150.0, np.nan, 0.0], [120.0, 50.0, 10.0, 0.0], thresholds=params.trigger)
    np.testing.assert_allclose(score[[0, 1, 3]], [70.0, 70.0, 0.0])
    assert np.isnan(score[2])
    assert driver.tolist() == [1, 0, -1, 0] and TRIGGER_QUANTITIES[1] == "有效降雨"


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


def test_drivers_name_the_threshold_reached(params):
    swi, rain = drivers_for(160.0, 20.0, thresholds=params.trigger, lead=timedelta(hours=2))
    # SWI thresholds blue 90, yellow 120, orange 150, red 180: 160 mm reaches orange
    assert (swi.quantity, swi.level, swi.threshold, swi.lead) == ("SWI", Level.ORANGE, 150.0, timedelta(hours=2))
    assert (rain.quantity, rain.level, rain.threshold) == ("有效降雨", Level.NONE, 50.0)
    assert "SWI 160 mm ≥ 橙色阈值 150 mm (+2 h)" in swi.text() and "< 蓝色阈值 50.0 mm" in rain.text()
    unknown, _ = drivers_for(np.nan, 0.0, thresholds=params.trigger)
    assert unknown.level is Level.UNKNOWN


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
