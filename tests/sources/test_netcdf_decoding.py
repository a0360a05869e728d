"""NetCDF-CF forecasts → the rain contract: each kind of precipitation variable, by hand-computed cases."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from warn.errors import DataContractError, UnknownNameError
from warn.sources.decoders import DECODERS
from warn.sources.forecast import open_forecast


def test_registry_holds_the_decoders():
    assert DECODERS.names() == ["grib", "netcdf"]


def test_unknown_decoder_name_lists_the_registered_ones(cf):
    path = cf.write("a.nc", cf.field(1.0, 2.0))
    with pytest.raises(UnknownNameError, match=r"decoder: expected a forecast decoder among grib, netcdf, got 'netcfd'"):
        open_forecast(path, source="t", decoder="netcfd")


def test_depth_per_step_with_bounds_is_kept(cf):
    path = cf.write("depth.nc", cf.field(1.5, 0.0, 4.25), starts_h=[0, 1, 2])
    rain = open_forecast(path, source="unit")
    assert rain.dims == ("time", "lat", "lon")
    np.testing.assert_allclose(rain.values[:, 0, 0], [1.5, 0.0, 4.25])
    assert list(rain["time"].values) == [cf.RUN + cf.HOUR, cf.RUN + 2 * cf.HOUR, cf.RUN + 3 * cf.HOUR]
    assert rain.attrs["step"] == "PT1H"
    assert rain.attrs["issued_at"] == "2026-07-15T00:00:00Z"
    assert rain.attrs["units"] == "mm" and rain.attrs["source"] == "unit"


def test_depth_per_step_without_bounds_uses_the_time_spacing(cf):
    path = cf.write("depth3h.nc", cf.field(3.0, 6.0), ends_h=[3, 6], units="kg m-2")
    rain = open_forecast(path, source="unit")
    assert rain.attrs["step"] == "PT3H"
    np.testing.assert_allclose(rain.values[:, 1, 1], [3.0, 6.0])


def test_ecmwf_style_tp_in_metres_accumulated_from_the_run_start(cf):
    # totals since the run: 0, 1.2, 1.2 (minus packing noise), 5.0 mm → 1.2, 0, 3.8 mm per hour
    totals_m = cf.field(0.0012, 0.0012 - 1e-7, 0.0050)
    path = cf.write("tp.nc", totals_m, name="tp", units="m", standard_name=None)
    rain = open_forecast(path, source="ecmwf")
    np.testing.assert_allclose(rain.values[:, 2, 1], [1.2, 0.0, 3.8001], atol=1e-5)
    assert rain.attrs["step"] == "PT1H"
    assert "accumulated since forecast_reference_time" in rain.attrs["history"]


def test_accumulations_from_the_run_start_given_by_bounds(cf):
    path = cf.write("acc.nc", cf.field(2.0, 5.0, 5.5, 9.0), starts_h=[0, 0, 0, 0], units="mm")
    rain = open_forecast(path, source="t")
    np.testing.assert_allclose(rain.values[:, 0, 0], [2.0, 3.0, 0.5, 3.5])


def test_gfs_style_buckets_resetting_every_six_hours(cf):
    # APCP 0–3, 0–6, 6–9, 6–12, 12–15 h in kg m-2 → 3 h depths
    path = cf.write("apcp.nc", cf.field(4.0, 10.0, 1.0, 1.0, 7.0), name="apcp", units="kg m**-2",
                    standard_name=None, ends_h=[3, 6, 9, 12, 15], starts_h=[0, 0, 6, 6, 12])
    rain = open_forecast(path, source="gfs")
    np.testing.assert_allclose(rain.values[:, 0, 1], [4.0, 6.0, 1.0, 0.0, 7.0])
    assert rain.attrs["step"] == "PT3H"
    assert list(rain["time"].values) == [cf.RUN + h * cf.HOUR for h in (3, 6, 9, 12, 15)]


def test_rates_in_mm_per_hour_are_held_over_the_step(cf):
    path = cf.write("rate.nc", cf.field(6.0, 12.0, 0.0, 30.0), ends_h=[0.5, 1.0, 1.5, 2.0], units="mm/h",
                    standard_name="lwe_precipitation_rate")
    rain = open_forecast(path, source="radar")
    np.testing.assert_allclose(rain.values[:, 0, 0], [3.0, 6.0, 0.0, 15.0])
    assert rain.attrs["step"] == "PT30M"
    assert "rate_to_depth: mm/h × 0.5 h; assumption: instantaneous rate" in rain.attrs["history"]


def test_flux_in_kg_per_m2_per_s_averaged_over_the_bounds(cf):
    flux = cf.field(1.0 / 3600, 2.5 / 3600)  # kg m-2 s-1 = mm/s → 1 and 2.5 mm/h
    path = cf.write("flux.nc", flux, name="prate", units="kg m-2 s-1", standard_name="precipitation_flux",
                    ends_h=[6, 12], starts_h=[0, 6])
    rain = open_forecast(path, source="nwp")
    np.testing.assert_allclose(rain.values[:, 1, 0], [6.0, 15.0], rtol=1e-6)
    assert rain.attrs["step"] == "PT6H"
    assert "assumption: mean rate over the PT6H interval" in rain.attrs["history"]


def test_longitudes_0_to_360_and_descending_latitudes_are_normalised(cf):
    values = np.arange(2 * 3 * 4, dtype=float).reshape(2, 3, 4)
    lon = np.array([0.0, 90.0, 180.0, 270.0])
    lat = np.array([30.0, 0.0, -30.0])
    path = cf.write("global.nc", values, lat=lat, lon=lon, starts_h=[0, 1])
    rain = open_forecast(path, source="t")
    np.testing.assert_array_equal(rain["lon"].values, [-180.0, -90.0, 0.0, 90.0])
    np.testing.assert_array_equal(rain["lat"].values, [-30.0, 0.0, 30.0])
    # the value at (lat 30, lon 270) is values[t, 0, 3]
    assert float(rain.isel(time=1).sel(lat=30.0, lon=-90.0)) == values[1, 0, 3]


def test_the_variable_can_be_named(cf):
    path = cf.write("named_ok.nc", cf.field(1.0, 2.0), name="rain_a", standard_name=None, units="mm")
    rain = open_forecast(path, source="t", var="rain_a")
    assert rain.name == "rain"


def test_a_single_time_rate_needs_a_step(cf):
    path = cf.write("one.nc", cf.field(12.0), units="mm/h", standard_name=None, name="rr")
    with pytest.raises(Exception, match=r"one\.nc: rr: expected several times, or step= for an instantaneous rate"):
        open_forecast(path, source="t")
    rain = open_forecast(path, source="t", step=timedelta(minutes=10))
    np.testing.assert_allclose(rain.values, 2.0)


# ---- rejections: each names the file and the variable ----

def test_rejects_unreadable_units(cf):
    path = cf.write("units.nc", cf.field(1.0, 2.0), units="furlongs", standard_name="precipitation_amount")
    with pytest.raises(DataContractError, match=r"units\.nc: precip\.units: expected a precipitation depth .* got 'furlongs'"):
        open_forecast(path, source="t")


def test_rejects_negative_depths_beyond_rounding(cf):
    values = cf.field(1.0, 2.0)
    values[1, 0, 0] = -0.5
    path = cf.write("neg.nc", values, starts_h=[0, 1])
    with pytest.raises(DataContractError, match=r"neg\.nc: rain: expected depths ≥ -0\.01 mm, got -0\.500 mm"):
        open_forecast(path, source="t")


def test_clips_rounding_negatives(cf):
    values = cf.field(1.0, 2.0)
    values[1, 0, 0] = -0.004
    rain = open_forecast(cf.write("tiny.nc", values, starts_h=[0, 1]), source="t")
    assert float(rain.min()) == 0.0


def test_rejects_a_decreasing_accumulation(cf):
    path = cf.write("tpdown.nc", cf.field(0.010, 0.004), name="tp", units="m", standard_name=None)
    with pytest.raises(DataContractError, match=r"tpdown\.nc: rain: expected depths ≥ -0\.01 mm, got -6\.000 mm"):
        open_forecast(path, source="t")


def test_rejects_all_nan_steps(cf):
    path = cf.write("nan.nc", cf.field(1.0, np.nan, 2.0), starts_h=[0, 1, 2])
    with pytest.raises(DataContractError, match=r"nan\.nc: rain: expected at least one value per time step, got 1 all-NaN"):
        open_forecast(path, source="t")


def test_rejects_times_that_do_not_increase(cf):
    path = cf.write("back.nc", cf.field(1.0, 2.0, 3.0), ends_h=[1, 3, 2])
    with pytest.raises(DataContractError, match=r"back\.nc: precip\.time: expected strictly increasing, regularly spaced times"):
        open_forecast(path, source="t")


def test_rejects_non_increasing_accumulation_intervals(cf):
    path = cf.write("backacc.nc", cf.field(1.0, 2.0), ends_h=[2, 1], starts_h=[0, 0])
    with pytest.raises(DataContractError, match=r"backacc\.nc: precip\.time: expected strictly increasing interval ends"):
        open_forecast(path, source="t")


def test_rejects_a_file_without_precipitation_listing_the_variables(cf):
    path = cf.write("t2m.nc", cf.field(290.0, 291.0), name="t2m", units="K", standard_name="air_temperature")
    with pytest.raises(DataContractError, match=r"t2m\.nc: expected a precipitation variable .* got variables t2m \(K\)"):
        open_forecast(path, source="t")


def test_rejects_a_named_variable_that_is_absent(cf):
    path = cf.write("named.nc", cf.field(1.0, 2.0))
    with pytest.raises(DataContractError, match=r"named\.nc: tp: expected a variable of that name, got variables precip \(mm\)"):
        open_forecast(path, source="t", var="tp")


def test_rejects_an_unreadable_file(tmp_path):
    path = tmp_path / "html.nc"
    path.write_text("<html>502 Bad Gateway</html>")
    with pytest.raises(Exception, match=r"html\.nc: expected a GRIB .* or NetCDF .* file, got first bytes b'<html>50'"):
        open_forecast(path, source="t")


def test_rejects_a_truncated_netcdf(cf, tmp_path):
    whole = cf.write("whole.nc", cf.field(1.0, 2.0)).read_bytes()
    path = tmp_path / "cut.nc"
    path.write_bytes(whole[: len(whole) // 3])
    with pytest.raises(Exception, match=r"cut\.nc: expected a readable NetCDF-CF file"):
        open_forecast(path, source="t")


def test_rejects_a_grid_that_does_not_cover_the_zones(cf):
    path = cf.write("small.nc", cf.field(1.0, 2.0))  # cells centred 106.5–106.6 E, 29.6–29.8 N
    yubei = (106.44, 29.57, 106.99, 30.13)
    with pytest.raises(DataContractError, match=r"small\.nc: rain\.lat/lon: expected a grid covering the zones, "
                                                 r"lon 106\.44–106\.99, lat 29\.57–30\.13, got a grid spanning lon 106\.45–106\.65"):
        open_forecast(path, source="t", bounds=yubei)
    assert open_forecast(path, source="t", bounds=(106.46, 29.56, 106.64, 29.84)).sizes["lat"] == cf.LAT.size
