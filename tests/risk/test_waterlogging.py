"""Urban waterlogging model (warn/risk/waterlogging.py): hand-computed cases."""

from __future__ import annotations

from datetime import timedelta
from math import log, log10

import numpy as np
import pytest
import xarray as xr

from tests.conftest import ROOT
from warn import hazards
from warn.risk import waterlogging
from warn.risk.levels import level_of
from warn.risk.rain import design_depth
from warn.risk.series import Readings
from warn.vocab import Level

T0 = np.datetime64("2026-07-15T00:00:00", "s")


@pytest.fixture(scope="module")
def params() -> waterlogging.WaterloggingParams:
    return hazards.load_model("waterlogging", ROOT / "models" / "waterlogging.yaml").params()


def series(values, step: str = "PT1H", points: int | None = None) -> xr.DataArray:
    """Rain (time, point), mm per step; a 1-d list is one point."""
    data = np.asarray(values, dtype=float)
    data = data[:, None] if data.ndim == 1 else data
    minutes = {"PT1H": 60, "PT10M": 10}[step]
    times = T0 + np.arange(1, data.shape[0] + 1) * np.timedelta64(minutes, "m")
    return xr.DataArray(data, dims=("time", "point"), coords={"time": times.astype("datetime64[ns]")},
                        attrs={"units": "mm", "step": step})


def points(params, n=1, **kw) -> waterlogging.WaterloggingPoints:
    return params.points(["yubei"] * n, kw.pop("impervious_fraction", [0.8] * n), **kw)


# --- parameters and ψ -----------------------------------------------------------------------


def test_runoff_coefficient_by_hand(params):
    p = points(params, 3, impervious_fraction=[1.0, 0.0, 0.8])
    assert p.runoff_coefficient(params) == pytest.approx([0.90, 0.15, 0.9 * 0.8 + 0.15 * 0.2])  # 0.75


def test_point_defaults_come_from_the_file(params):
    p = params.points(["yubei", "banan"], [0.7, 0.5], pipe_return_period_yr=[np.nan, 2],
                      ponding_area_fraction=[np.nan, np.nan], kind=["underpass", None])
    assert p.pipe_return_period_yr.tolist() == [3, 2]
    assert p.ponding_area_fraction.tolist() == [0.20, 0.10]
    assert p.depth_thresholds_cm.tolist() == [[5, 15, 30]] * 2
    assert p.known_point.all()
    with pytest.raises(ValueError, match="point 1: impervious_fraction expected 0–1, got 1.5"):
        params.points(["yubei", "yubei"], [0.5, 1.5])
    with pytest.raises(ValueError, match="point kinds among street, steep, sag, underpass, got tunnel"):
        params.points(["yubei"], [0.5], kind=["tunnel"])


def test_capacity_is_the_design_rate_of_the_capacity_duration(params, rainstorm_params):
    # Yubei, P = 3 a, t = 20 min: q = 1111 (1 + 0.945 lg 3) / (20 + 9.713)^0.561 L/(s·ha); mm/min = q / 166.67.
    q = 1111 * (1 + 0.945 * log10(3)) / (20 + 9.713) ** 0.561
    rate = waterlogging.capacity_rate(points(params), rain_params=rainstorm_params, params=params)
    assert rate == pytest.approx([q / (10_000 / 60)])
    assert q == pytest.approx(240.4, abs=0.1)  # 86.6 mm/h


# --- 2. storage bucket ---------------------------------------------------------------------


def test_bucket_steps_by_hand():
    # ψ 0.5, drain 10 mm per step, S0 = 2: 2 + 0.5·20 = 12; 12 − 0.5·10 = 7; 7 − 0.5·5 = 4.5; 4.5 + 0.5·30 = 19.5
    s = waterlogging.bucket_storage([[30.0], [0.0], [5.0], [40.0]], [2.0], runoff_coefficient=0.5, capacity_mm=10.0)
    assert s[:, 0].tolist() == [12.0, 7.0, 4.5, 19.5]


def test_zero_rain_drains_to_empty_and_stays():
    s = waterlogging.bucket_storage(np.zeros((5, 1)), [20.0], runoff_coefficient=0.75, capacity_mm=8.0)
    assert s[:, 0] == pytest.approx([14.0, 8.0, 2.0, 0.0, 0.0])  # − 0.75·8 = 6 mm per step


def test_missing_rain_makes_the_state_unknown():
    s = waterlogging.bucket_storage([[5.0], [np.nan], [0.0]], [1.0], runoff_coefficient=0.5, capacity_mm=1.0)
    assert s[0, 0] == 3.0 and np.isnan(s[1:, 0]).all()


def test_bucket_depth_level_and_first_ponding(params, rainstorm_params):
    p = points(params, 2, ponding_area_fraction=[0.10, 0.20])
    cap = design_depth(3, 20, rainstorm_params.formula("yubei")) * 3  # mm per hour
    rain = series(np.array([[0.0, 0.0], [cap + 20, cap + 20], [0.0, 0.0]]))
    out = waterlogging.bucket(rain, [0.0, 0.0], p, rain_params=rainstorm_params, params=params)
    # S = 0.75 · 20 = 15 mm over the catchment → h = 150 mm (a 0.10) or 75 mm (a 0.20)
    assert out["storage_mm"].values[1] == pytest.approx([15.0, 15.0])
    assert out["depth_cm"].values[1] == pytest.approx([15.0, 7.5])
    assert out["x_bucket"].values[1] == pytest.approx([0.5, 0.25])  # h / 300 mm
    assert (out["first_ponding"].values == rain["time"].values[1]).all()
    assert out["state_mm"].values == pytest.approx([0.0, 0.0])  # the third hour drains 0.75·cap > 15 mm


def test_step_consistency_uniform_within_the_hour(params, rainstorm_params):
    """Hourly and 10-min input of rain uniform within each hour end each hour in the same state.

    Exact in arithmetic (S is monotone within a step of constant net inflow), so the tolerance is
    floating-point only: 1e-9 mm on storages of tens of mm.
    """
    hourly = [10.0, 80.0, 95.0, 120.0, 40.0, 0.0, 0.0, 60.0, 5.0]
    p = points(params, 1)
    coarse = waterlogging.bucket(series(hourly), [4.0], p, rain_params=rainstorm_params, params=params)
    fine = waterlogging.bucket(series(np.repeat(hourly, 6) / 6, "PT10M"), [4.0], p, rain_params=rainstorm_params,
                        params=params)
    assert coarse["storage_mm"].values.max() > 20  # the storm does pond
    assert fine["storage_mm"].values[5::6, 0] == pytest.approx(coarse["storage_mm"].values[:, 0], abs=1e-9)
    assert fine["state_mm"].values == pytest.approx(coarse["state_mm"].values, abs=1e-9)


def test_hourly_totals_never_hold_more_than_the_finer_series(params, rainstorm_params):
    # One 10-min burst of 40 mm in an hour of 45 mm: the 10-min series ponds, hourly totals do not.
    fine_rain = np.array([1.0, 1.0, 40.0, 1.0, 1.0, 1.0] * 3)
    p = points(params, 1)
    fine = waterlogging.bucket(series(fine_rain, "PT10M"), [0.0], p, rain_params=rainstorm_params, params=params)
    coarse = waterlogging.bucket(series(fine_rain.reshape(3, 6).sum(axis=1)), [0.0], p, rain_params=rainstorm_params,
                          params=params)
    assert fine["storage_mm"].values.max() > 0 and coarse["storage_mm"].values.max() == 0
    assert (coarse["storage_mm"].values[:, 0] <= fine["storage_mm"].values[5::6, 0] + 1e-12).all()


# --- 1. return-period screen ----------------------------------------------------------------


def test_screen_x_at_the_design_periods(params):
    x = waterlogging.screen_x([1.0, 3.0, 12.0, 50.0, 200.0, np.nan], 3.0, 50.0)
    assert x[[0, 1, 3, 4]].tolist() == [0.0, 0.0, 1.0, 1.0]
    assert x[2] == pytest.approx(log(12 / 3) / log(50 / 3))  # 0.493
    assert np.isnan(x[5])


def test_screen_on_design_rain(params, rainstorm_params):
    yubei = rainstorm_params.formula("yubei")
    depths = [0.0, design_depth(3.0, 60, yubei), 0.0, design_depth(50.0, 60, yubei), 0.0]
    out = waterlogging.rain_screen(series(depths), points(params), rain_params=rainstorm_params, params=params)
    x = out["x_rain"].values[:, 0]
    assert x[1] == pytest.approx(0.0, abs=1e-9) and x[3] == pytest.approx(1.0)
    assert out["return_period_yr"].values[3, 0] == pytest.approx(50.0)
    assert out["duration_min"].values[3, 0] == 60
    assert out["x_rain"].values[0, 0] == 0.0  # dry first hour: the 1-h window is complete


def test_screen_uses_each_points_formula(params, rainstorm_params):
    banan = rainstorm_params.formula("banan")
    depth = design_depth(10.0, 60, banan)
    p = params.points(["yubei", "banan"], [0.8, 0.8])
    out = waterlogging.rain_screen(series(np.array([[depth, depth]])), p, rain_params=rainstorm_params, params=params)
    assert out["return_period_yr"].values[0, 1] == pytest.approx(10.0)
    assert out["return_period_yr"].values[0, 0] != pytest.approx(10.0, rel=0.05)


def test_screen_by_hand_with_a_missing_hour_a_longer_window_and_the_point_dim_first(params, rainstorm_params):
    yubei = rainstorm_params.formula("yubei")
    third = design_depth(20.0, 180, yubei) / 3  # three even hours: a 20-year 3-h rain
    rain = series([[third, 0.0], [third, np.nan], [third, 0.0], [0.0, 0.0]], points=2)
    p = points(params, 2)
    out = waterlogging.rain_screen(rain.transpose("point", "time"), p, rain_params=rainstorm_params, params=params)
    assert out["return_period_yr"].dims == ("time", "point")
    period, minutes = out["return_period_yr"].values, out["duration_min"].values
    assert params.screen_max_duration >= timedelta(hours=3)
    assert period[2, 0] == pytest.approx(20.0) and minutes[2, 0] == 180
    assert np.isnan(period[1, 1]) and np.isnan(minutes[1, 1]) and np.isnan(out["x_rain"].values[1, 1])
    assert np.isfinite(period[2, 1]) and minutes[2, 1] == 60  # the 1-h window after the gap is whole again
    assert out["x_rain"].values[3, 1] == 0.0


# --- 3. sensors -----------------------------------------------------------------------------

MIN = np.timedelta64(60, "s")


def test_sensor_rising_series_by_hand(params):
    times = T0 + np.array([0, 10, 20, 30]) * MIN
    state = waterlogging.sensor_term(times, [0.10, 0.12, 0.15, 0.17], thresholds_cm=(5, 15, 30), stale=False,
                              latest_flagged=False, params=params.sensor)
    # Pairwise slopes, cm/min: 0.2, 0.25, 0.2333, 0.3, 0.25, 0.2 → median (0.2333 + 0.25)/2 = 0.24167 = 14.5 cm/h
    assert state.known and state.depth_cm == pytest.approx(17.0)
    assert state.rate_cm_per_h == pytest.approx(14.5)
    ttt_red = (30 - 17) / 14.5 * 60  # 53.8 min
    assert state.minutes_to == pytest.approx((0.0, 0.0, ttt_red))
    assert state.level is Level.YELLOW and state.next_level is Level.RED
    assert state.minutes_to_next == pytest.approx(ttt_red)


def test_sensor_fast_rise_gives_the_time_to_red_but_not_red(params):
    times = T0 + np.array([0, 10, 20, 30]) * MIN
    state = waterlogging.sensor_term(times, [0.02, 0.08, 0.14, 0.20], thresholds_cm=(5, 15, 30), stale=False,
                              latest_flagged=False, params=params.sensor)
    assert state.rate_cm_per_h == pytest.approx(36.0)
    assert state.minutes_to[2] == pytest.approx(10 / 36 * 60)  # 16.7 min
    assert state.level is Level.YELLOW  # 20 cm is yellow by the thresholds, however fast it rises


def test_sensor_spike_does_not_move_the_robust_rate(params):
    times = T0 + np.array([0, 5, 10, 15, 20]) * MIN
    state = waterlogging.sensor_term(times, [0.10, 0.10, 0.60, 0.10, 0.10], thresholds_cm=(5, 15, 30), stale=False,
                              latest_flagged=False, params=params.sensor)
    assert state.rate_cm_per_h == 0.0 and state.minutes_to[2] == np.inf
    assert state.level is Level.BLUE


def test_sensor_at_red_and_with_too_few_readings(params):
    red = waterlogging.sensor_term([T0], [0.31], thresholds_cm=(5, 15, 30), stale=False, latest_flagged=False,
                            params=params.sensor)
    assert red.next_level is None and red.level is Level.RED
    times = T0 + np.array([0, 40, 50]) * MIN  # two readings within 30 min of the latest
    few = waterlogging.sensor_term(times, [0.01, 0.04, 0.06], thresholds_cm=(5, 15, 30), stale=False,
                            latest_flagged=False, params=params.sensor)
    assert few.known and np.isnan(few.rate_cm_per_h) and np.isnan(few.minutes_to_next)
    assert few.level is Level.BLUE


@pytest.mark.parametrize(("stale", "flagged", "reason"), [(True, False, "stale"),
                                                          (False, True, "latest reading flagged")])
def test_stale_or_flagged_sensor_is_unknown_not_zero(params, stale, flagged, reason):
    times = T0 + np.array([0, 10, 20]) * MIN
    state = waterlogging.sensor_term(times, [0.0, 0.0, 0.0], thresholds_cm=(5, 15, 30), stale=stale,
                              latest_flagged=flagged, params=params.sensor)
    assert not state.known and state.reason == reason
    assert np.isnan(state.depth_cm) and state.level is Level.UNKNOWN


# --- 4. score, level, drivers ---------------------------------------------------------------


def test_model_score_takes_the_max_of_the_known_terms(params):
    score, complete = waterlogging.model_score([0.4, 0.9, np.nan, 0.2, np.nan], [np.nan, 0.1, np.nan, 0.1, 0.6],
                                               known_point=[1, 1, 1, 0, 1], bonus=params.known_point_bonus)
    assert score[0] == pytest.approx(50.0) and not complete[0]   # 100·0.4·1.25, the bucket unknown
    assert score[1] == 100.0 and complete[1]                     # 112.5 capped
    assert np.isnan(score[2]) and not complete[2]
    assert score[3] == pytest.approx(20.0) and complete[3]
    assert score[4] == pytest.approx(75.0) and not complete[4]
    assert level_of(score, params.levels.boundaries).tolist() == [Level.YELLOW, Level.RED, Level.UNKNOWN,
                                                                  Level.NONE, Level.ORANGE]


def sensor(params, depth_m: float | None, *, stale=False, flagged=False) -> waterlogging.SensorState:
    """A sensor with three flat readings at ``depth_m`` (None: no readings)."""
    times = T0 + np.array([0, 10, 20]) * MIN if depth_m is not None else np.array([], "datetime64[s]")
    values = [depth_m] * 3 if depth_m is not None else []
    return waterlogging.sensor_term(times, values, thresholds_cm=(5, 15, 30), stale=stale, latest_flagged=flagged,
                                    params=params.sensor)


def test_a_healthy_sensor_under_red_keeps_the_level_now_whatever_the_model_says(params):
    """DEMO-W25: the model says red (score 100), the healthy sensor reads 0.20 m (red is 0.30 m): yellow."""
    now = waterlogging.now_score([100.0, 100.0, 10.0, 100.0], [sensor(params, 0.20), sensor(params, 0.02),
                                                               sensor(params, 0.31), sensor(params, 0.0)],
                                 params.levels.boundaries)
    assert level_of(now, params.levels.boundaries).tolist() == [Level.YELLOW, Level.NONE, Level.RED, Level.NONE]


@pytest.mark.parametrize("suspect", [dict(stale=True), dict(flagged=True), dict(depth_m=None)])
def test_a_suspect_or_missing_sensor_lets_the_model_raise_now(params, suspect):
    state = sensor(params, suspect.pop("depth_m", 0.0), **suspect)
    assert not state.known
    now = waterlogging.now_score([90.0, np.nan], [state, state], params.levels.boundaries)
    assert now[0] == 90.0 and np.isnan(now[1])  # the model's red; nothing known is unknown, never none


def test_the_basis_says_what_governed(params):
    assert waterlogging.now_basis(sensor(params, 0.20), has_sensor=True).startswith("实测积水 0.20 m（传感器正常）")
    flat = waterlogging.now_basis(sensor(params, 0.0, flagged=True), has_sensor=True, rule="flatline")
    assert flat.startswith("模型估算（传感器失效：最新读数未通过质控（flatline））")
    assert waterlogging.now_basis(sensor(params, 0.0, stale=True), has_sensor=True).startswith("模型估算（传感器失效：数据中断）")
    assert waterlogging.now_basis(sensor(params, None, stale=True), has_sensor=False).startswith("模型估算（无积水传感器）")


def test_drivers_text(params):
    state = waterlogging.sensor_term(T0 + np.array([0, 10, 20, 30]) * MIN, [0.10, 0.12, 0.15, 0.17],
                                     thresholds_cm=(5, 15, 30), stale=False, latest_flagged=False, params=params.sensor)
    drivers = waterlogging.model_drivers(return_period_yr=12.0, duration_min=60, pipe_return_period_yr=3.0,
                                         depth_cm=18.0, depth_thresholds_cm=(5, 15, 30), known_point=True, params=params)
    texts = [d.text() for d in drivers + waterlogging.sensor_drivers(state, (5, 15, 30))]
    # x = ln 4 / ln(50/3) = 0.493 → score 61.6 yellow; yellow from x = 50/125 = 0.4 → 3·(50/3)^0.4 = 9.2 a
    assert texts[0] == "60 min 重现期 (管网设计 3 a) 12.0 a ≥ 黄色阈值 9.2 a (现在 now)"
    assert texts[1] == "积水深度 (模型) 18.0 cm ≥ 黄色阈值 15.0 cm (现在 now)"
    assert texts[2] == "积水监测 17.0 cm ≥ 黄色阈值 15.0 cm (现在 now)"
    assert texts[3] == "积水监测 预计 30.0 cm ≥ 红色阈值 30.0 cm (+0.9 h)"  # 54 min
    quiet = waterlogging.model_drivers(return_period_yr=1.0, duration_min=np.nan, pipe_return_period_yr=3.0,
                                       depth_cm=0.0, depth_thresholds_cm=(5, 15, 30), known_point=True, params=params,
                                       lead=timedelta(hours=2))
    assert [d.level for d in quiet] == [Level.NONE, Level.NONE]
    assert quiet[1].text() == "积水深度 (模型) 0.00 cm < 蓝色阈值 5.0 cm (+2 h)"


@pytest.mark.parametrize("seed", range(5))
def test_the_drivers_of_many_points_are_each_points_own(params, seed):
    """model_drivers_of over a batch gives every point what model_drivers gives it alone: unknown and zero
    return periods, windows and depths, exact thresholds, catalogued and other points, several leads."""
    rng = np.random.default_rng(seed)
    n = 60
    period = rng.choice([np.nan, 0.0, 0.5, 3.0, 9.2, 50.0, 120.0], n) * rng.uniform(0.9, 1.1, n)
    duration = rng.choice([np.nan, 30.0, 60.0, 180.0], n)
    pipe = rng.choice([1.0, 2.0, 3.0, 5.0], n)
    thresholds = np.sort(rng.uniform(1, 40, (n, 3)), axis=1)
    depth = np.where(rng.uniform(size=n) < 0.2, thresholds[np.arange(n), rng.integers(0, 3, n)], rng.uniform(0, 50, n))
    depth[rng.uniform(size=n) < 0.1] = np.nan
    known = rng.uniform(size=n) < 0.5
    lead_s = rng.choice([0, 3600, 7200, 86400], n)
    batch = waterlogging.model_drivers_of(return_period_yr=period, duration_min=duration, pipe_return_period_yr=pipe,
                                          depth_cm=depth, depth_thresholds_cm=thresholds, known_point=known,
                                          params=params, lead_s=lead_s)
    for i in range(n):
        alone = waterlogging.model_drivers(return_period_yr=float(period[i]), duration_min=float(duration[i]),
                                           pipe_return_period_yr=float(pipe[i]), depth_cm=float(depth[i]),
                                           depth_thresholds_cm=tuple(thresholds[i]), known_point=bool(known[i]),
                                           params=params, lead=timedelta(seconds=int(lead_s[i])))
        assert [d.text() for d in batch[i]] == [d.text() for d in alone]
        assert [(d.level, d.lead) for d in batch[i]] == [(d.level, d.lead) for d in alone]


def test_the_sensors_of_many_points_are_each_points_own(params):
    """sensor_terms over 200 points — stale, flagged, without readings, too few for a rate, falling, rising,
    past red, readings in any order — gives every point the state sensor_term gives it alone."""
    rng = np.random.default_rng(3)
    times, depths, thresholds, stale, flagged = [], [], [], [], []
    for _ in range(200):
        n = int(rng.integers(0, 8))
        times.append(T0 + rng.permutation(np.arange(n)) * 5 * MIN)
        depths.append(np.round(rng.uniform(0.0, 0.4, n), 2))
        blue = float(rng.choice([5.0, 10.0]))
        thresholds.append((blue, blue + 10.0, blue + 25.0))
        stale.append(bool(rng.random() < 0.1))
        flagged.append(bool(rng.random() < 0.1))
    batch = waterlogging.sensor_terms(Readings.of(times, depths), thresholds_cm=thresholds, stale=stale,
                                      latest_flagged=flagged, params=params.sensor)
    for i, state in enumerate(batch):
        alone = waterlogging.sensor_term(times[i], depths[i], thresholds_cm=thresholds[i], stale=stale[i],
                                         latest_flagged=flagged[i], params=params.sensor)
        assert repr(state) == repr(alone)  # NaN equal to NaN
    assert {s.reason for s in batch} == {"", "stale", "latest reading flagged", "no readings"}
    assert {s.level for s in batch if s.known} >= {Level.NONE, Level.BLUE, Level.YELLOW, Level.RED}
