"""The demo world's imperfect forecasts: the truth displaced, late and scaled, and seeded members."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
import xarray as xr

from warn.config import SimForecastSpec
from warn.sim.forecasts import KM_PER_DEG_LAT, KM_PER_DEG_LON_EQUATOR, hourly, imperfect, members

LAT = np.round(np.arange(29.45, 30.255, 0.01), 2)
LON = np.round(np.arange(106.30, 107.135, 0.01), 2)


def blob_truth(steps: int = 36, wet: tuple[int, ...] = (12,)) -> xr.DataArray:
    """A Gaussian rain blob (σ 3 km) centred on 106.70 E, 29.85 N, 10 mm in its wettest cell at the ``wet`` steps."""
    lon2d, lat2d = np.meshgrid(LON, LAT)
    km_lon = KM_PER_DEG_LON_EQUATOR * np.cos(np.radians(LAT.mean()))
    r2 = ((lon2d - 106.70) * km_lon) ** 2 + ((lat2d - 29.85) * KM_PER_DEG_LAT) ** 2
    field = 10.0 * np.exp(-r2 / (2 * 3.0**2))
    values = np.zeros((steps, LAT.size, LON.size))
    for k in wet:
        values[k] = field
    times = np.datetime64("2026-07-15T00:10") + np.arange(steps) * np.timedelta64(10, "m")
    return xr.DataArray(values, dims=("time", "lat", "lon"),
                        coords={"time": times.astype("datetime64[ns]"), "lat": LAT, "lon": LON},
                        attrs={"step": "PT10M", "source": "test"})


def centroid_km(field: np.ndarray) -> tuple[float, float]:
    """Rain-weighted centre (km east, km north of 106.70 E, 29.85 N)."""
    lon2d, lat2d = np.meshgrid(LON, LAT)
    km_lon = KM_PER_DEG_LON_EQUATOR * np.cos(np.radians(LAT.mean()))
    total = field.sum()
    return (float(((lon2d - 106.70) * km_lon * field).sum() / total),
            float(((lat2d - 29.85) * KM_PER_DEG_LAT * field).sum() / total))


def test_the_storm_is_moved_the_stated_distance_and_direction_late_and_scaled():
    truth = blob_truth()
    wrong = imperfect(truth, shift_km=12.0, towards_deg=135.0, delay=timedelta(hours=1), scale=0.8)
    assert wrong.dims == truth.dims and wrong.attrs == truth.attrs
    wet = np.flatnonzero(wrong.sum(("lat", "lon")).values > 0)
    assert wet.tolist() == [18]  # step 12 + 6 ten-minute steps
    east, north = centroid_km(wrong.values[18])
    expected = 12.0 * np.sin(np.radians(135.0))
    assert east == pytest.approx(expected, abs=0.05) and north == pytest.approx(-expected, abs=0.05)
    assert float(wrong.sum()) == pytest.approx(0.8 * float(truth.sum()), rel=1e-3)


def test_an_early_storm_and_a_north_shift():
    truth = blob_truth()
    wrong = imperfect(truth, shift_km=5.0, towards_deg=0.0, delay=timedelta(minutes=-20), scale=1.0)
    assert np.flatnonzero(wrong.sum(("lat", "lon")).values > 0).tolist() == [10]
    east, north = centroid_km(wrong.values[10])
    assert east == pytest.approx(0.0, abs=0.05) and north == pytest.approx(5.0, abs=0.05)


def test_rain_late_beyond_the_period_is_gone_and_a_delay_off_the_step_is_refused():
    truth = blob_truth(steps=15, wet=(12,))
    assert float(imperfect(truth, shift_km=0.0, towards_deg=0.0, delay=timedelta(hours=1), scale=1.0).sum()) == 0.0
    with pytest.raises(ValueError, match="whole number"):
        imperfect(truth, shift_km=0.0, towards_deg=0.0, delay=timedelta(minutes=15), scale=1.0)


def test_members_are_the_control_and_seeded_perturbations():
    truth = blob_truth()
    spec = SimForecastSpec(shift_km=12.0, towards_deg=135.0, delay=timedelta(hours=1), scale=0.8, members=4,
                           member_shift_km=6.0, member_delay=timedelta(minutes=30), member_scale=0.2, seed=19)
    ensemble = members(truth, spec)
    assert ensemble.dims == ("member", "time", "lat", "lon") and ensemble["member"].values.tolist() == [0, 1, 2, 3, 4]
    assert ensemble.attrs["control_member"] == 0
    control = imperfect(truth, shift_km=12.0, towards_deg=135.0, delay=timedelta(hours=1), scale=0.8)
    np.testing.assert_array_equal(ensemble.sel(member=0).values, control.values)
    np.testing.assert_array_equal(members(truth, spec).values, ensemble.values)  # seeded: the same again
    assert not np.array_equal(members(truth, spec.model_copy(update={"seed": 20})).values, ensemble.values)
    for m in range(1, 5):
        wet = np.flatnonzero(ensemble.sel(member=m).sum(("lat", "lon")).values > 0)
        assert wet.size == 1 and 15 <= wet[0] <= 21  # 1 h late ± 30 min
        assert not np.array_equal(ensemble.sel(member=m).values, control.values)


def test_hourly_sums_six_ten_minute_steps():
    truth = blob_truth(steps=36, wet=(0, 5, 6, 35))
    hours = hourly(truth)
    assert hours.sizes["time"] == 6 and hours.attrs["step"] == "PT1H"
    assert str(hours["time"].values[0])[:16] == "2026-07-15T01:00"
    np.testing.assert_allclose(hours.values[0], truth.values[0] + truth.values[5])
    np.testing.assert_allclose(hours.values[1], truth.values[6])
    np.testing.assert_allclose(hours.values[5], truth.values[35])
    with pytest.raises(ValueError, match="whole hour"):
        hourly(truth.isel(time=slice(1, None)))


def test_the_forecast_section_is_validated():
    with pytest.raises(ValueError, match="multiple of PT10M"):
        SimForecastSpec(shift_km=12.0, towards_deg=135.0, delay="PT15M")
    with pytest.raises(ValueError):
        SimForecastSpec(shift_km=-1.0, towards_deg=135.0, delay="PT1H")
    with pytest.raises(ValueError):
        SimForecastSpec(shift_km=1.0, towards_deg=360.0, delay="PT1H")
    assert SimForecastSpec(shift_km=1.0, towards_deg=0.0, delay="PT1H").delay == timedelta(hours=1)
