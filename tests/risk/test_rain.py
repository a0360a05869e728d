"""Rain scores: hand-computed accumulations, signal rungs, storm-formula round trips."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
import xarray as xr

from tests.factories import rain_series
from warn.risk.rain import (
    daily_totals,
    design_depth,
    rainstorm_signal,
    return_period,
    rolling_depth,
    rolling_sum,
    window_depths,
    worst_period,
    worst_return_period,
    zone_rain_summary,
)
from warn.vocab import Level


def test_rolling_depth_sums_whole_windows_only():
    rain = rain_series([1, 2, 3, 4])
    depth = rolling_depth(rain, timedelta(hours=3)).sel(zone="z0").values
    assert np.isnan(depth[:2]).all()
    assert depth[2:].tolist() == [6.0, 9.0]


def test_rolling_depth_is_missing_where_a_step_is_missing():
    rain = rain_series([1, np.nan, 3, 4, 5])
    depth = rolling_depth(rain, timedelta(hours=2)).sel(zone="z0").values
    assert np.isnan(depth[1]) and np.isnan(depth[2])
    assert depth[3:].tolist() == [7.0, 9.0]


def test_rolling_depth_at_ten_minutes():
    rain = rain_series([1] * 12, step="PT10M")
    assert float(rolling_depth(rain, timedelta(minutes=30)).max()) == 3.0
    with pytest.raises(ValueError, match="not a whole multiple"):
        rolling_depth(rain, timedelta(minutes=25))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rolling_sum_is_xarrays_rolling_sum_bit_for_bit(dtype):
    rng = np.random.default_rng(1)
    values = (rng.gamma(0.3, 5.0, (40, 6, 3)) * 1.37).astype(dtype)
    values[rng.random(values.shape) < 0.05] = np.nan
    for axis in range(3):
        dims = ["a", "b", "c"]
        dims[axis] = "time"
        for count in (1, 2, 3, 5, 8, 12, 24):
            if count <= values.shape[axis]:
                # the previous implementation: xarray's rolling sum of whole windows
                expected = xr.DataArray(values, dims=dims).rolling(time=count, min_periods=count).sum().values
                got = rolling_sum(values, count, axis=axis)
                assert got.dtype == expected.dtype
                np.testing.assert_array_equal(got, expected)


def test_worst_period_on_arrays_is_the_worst_return_period(rainstorm_params):
    formula = rainstorm_params.formula("yubei")
    rain = rain_series([0, design_depth(10, 60, formula), 0, np.nan, 0, 0, design_depth(3, 180, formula), 0, 0, 0])
    depths = window_depths(rain, rainstorm_params.windows_for(timedelta(hours=1)))
    period, minutes = worst_period({w: d.values for w, d in depths.items()}, formula)  # (time, zone)
    assert period[1, 0] == pytest.approx(10, rel=1e-6) and minutes[1, 0] == 60
    assert np.isnan(period[3, 0]) and minutes[3, 0] == minutes.min()  # every window holds the missing hour
    for t in range(rain.sizes["time"]):  # each end as its own one-step series
        worst = worst_return_period({w: d.isel(time=[t]) for w, d in depths.items()}, formula)
        np.testing.assert_array_equal(period[t], worst.values)
        assert worst.dims == ("zone",) and worst.name == "return_period_yr" and worst.attrs["units"] == "year"
        np.testing.assert_array_equal(minutes[t], worst["duration_min"].values)
    with pytest.raises(ValueError, match="no window within the fitted range"):
        worst_period({timedelta(days=30): period}, formula)


def signal_of(rain, params):
    return rainstorm_signal(window_depths(rain, params.windows_for(timedelta(hours=1))), params.signal)


def test_a_rung_whose_window_the_step_cannot_resolve_is_not_judged(rainstorm_params):
    six_hourly = rain_series([20, 20], step="PT6H")
    depths = window_depths(six_hourly, rainstorm_params.windows_for(timedelta(hours=6)))
    assert timedelta(hours=3) not in depths
    assert Level(int(rainstorm_signal(depths, rainstorm_params.signal).max())) is Level.UNKNOWN


def test_windows_for_a_step(rainstorm_params):
    hours = [w.total_seconds() / 3600 for w in rainstorm_params.windows_for(timedelta(hours=1))]
    assert hours == [1, 2, 3, 6, 12, 24, 72]  # 2 h for the return period, 10/30 min unresolvable


@pytest.mark.parametrize(
    ("hourly", "level"),
    [
        ([0] * 6 + [34, 34, 34] + [0] * 3, Level.RED),  # 102 mm in 3 h
        ([0] * 6 + [20, 20, 20] + [0] * 3, Level.ORANGE),  # 60 mm in 3 h
        ([0] * 3 + [10] * 6 + [0] * 3, Level.YELLOW),  # 60 mm in 6 h, ≤ 30 in any 3 h
        ([5] * 12, Level.BLUE),  # 60 mm in 12 h, 30 in 6 h
        ([1] * 12, Level.NONE),
    ],
)
def test_signal_rungs(rainstorm_params, hourly, level):
    signal = signal_of(rain_series(hourly), rainstorm_params)
    assert Level(int(signal.max())) is level


def test_signal_is_unknown_not_none_when_a_rung_cannot_be_judged(rainstorm_params):
    signal = signal_of(rain_series([0] * 12), rainstorm_params).sel(zone="z0").values
    assert (signal[:11] == Level.UNKNOWN).all()  # the 12 h rung needs 12 steps
    assert signal[11] == Level.NONE


def test_signal_met_rung_counts_even_when_another_is_unknown(rainstorm_params):
    signal = signal_of(rain_series([40, 40, 40]), rainstorm_params).sel(zone="z0").values
    assert signal[2] == Level.RED


def test_design_depth_and_return_period_are_inverse(rainstorm_params):
    for name in ("yubei", "shapingba", "banan"):
        formula = rainstorm_params.formula(name)
        for period in (1.0, 3.0, 50.0):
            for minutes in (10.0, 60.0, 180.0):
                depth = design_depth(period, minutes, formula)
                assert return_period(depth, minutes, formula) == pytest.approx(period, rel=1e-9)


def test_yubei_formula_by_hand(rainstorm_params):
    # q = 1111 (1 + 0.945 lg 3) / (60 + 9.713)^0.561 L/(s·ha); depth = q · 60 / 166.67
    q = 1111 * (1 + 0.945 * np.log10(3)) / (60 + 9.713) ** 0.561
    assert design_depth(3, 60, rainstorm_params.formula("yubei")) == pytest.approx(q * 60 / (10000 / 60))
    assert q * 0.36 == pytest.approx(53.6, abs=0.1)  # mm/h


def test_formula_is_not_extrapolated(rainstorm_params):
    with pytest.raises(ValueError, match="fitted for 5–180 min, not 360 min"):
        return_period(100.0, 360, rainstorm_params.formula("yubei"))


def test_unknown_formula_names_the_choices(rainstorm_params):
    with pytest.raises(KeyError, match="banan, shapingba, yubei"):
        rainstorm_params.formula("yubie")


def test_worst_return_period_picks_the_worst_window(rainstorm_params):
    formula = rainstorm_params.formula("yubei")
    burst = design_depth(10, 60, formula)
    rain = rain_series([0, burst, 0, 0])
    worst = worst_return_period(window_depths(rain, rainstorm_params.windows_for(timedelta(hours=1))), formula)
    assert float(worst.sel(zone="z0")) == pytest.approx(10, rel=1e-6)
    assert float(worst["duration_min"].sel(zone="z0")) == 60


def test_daily_totals_on_the_20_to_20_day():
    # hourly steps ending 12:00 UTC day 1 … 12:00 UTC day 3: 48 steps → days ending 12:00 UTC
    rain = rain_series([1] * 48, start="2026-07-14T13:00")
    totals = daily_totals(rain).sel(zone="z0")
    assert totals.values.tolist() == [24.0, 24.0]
    assert str(totals["time"].values[0])[:16] == "2026-07-15T12:00"


def test_daily_totals_partial_day_is_missing():
    totals = daily_totals(rain_series([1] * 30, start="2026-07-14T13:00")).sel(zone="z0").values
    assert totals[0] == 24.0 and np.isnan(totals[1])


def test_zone_summary(rainstorm_params):
    hourly = np.zeros((24, 3))
    hourly[5:8, 0] = 40.0  # 120 mm in 3 h: red
    hourly[5:11, 1] = 9.0  # 54 mm in 6 h: yellow
    hourly[3, 2] = np.nan  # dry but with a missing step: unknown, not none
    rain = rain_series(hourly)
    depths = window_depths(rain, rainstorm_params.windows_for(timedelta(hours=1)))
    summary = zone_rain_summary(depths, rain.notnull().all("time"), rainstorm_params, ["yubei", "yubei", "banan"])
    assert summary["max_3h"].values[:2].tolist() == [120.0, 27.0]
    assert summary["max_6h"].values[1] == 54.0
    assert [Level(int(v)) for v in summary["signal_level"].values] == [Level.RED, Level.YELLOW, Level.UNKNOWN]
    assert str(summary["peak_3h_end"].values[0])[:16] == "2026-07-15T08:00"
    assert summary["complete"].values.tolist() == [True, True, False]
    expected = return_period(120.0, 180, rainstorm_params.formula("yubei"))
    assert float(summary["return_period_yr"].values[0]) == pytest.approx(expected)
    assert "max_72h" in summary and np.isnan(summary["max_72h"].values).all()
