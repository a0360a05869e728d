"""Ensemble forecasts → the rain contract's ``member`` dim: NetCDF files written here, GRIB ENS files
built with eccodes from the real GFS fixture (tests/data/cfrzr_and_cprat.grib, see PROVENANCE.md).

The GRIB ENS files (no GRIB ENS fixture is bundled): the fixture's 0–5 h average ``cpr`` message
cloned as an individual ensemble forecast over a time interval (GRIB2 product definition template
4.11), or its instantaneous one as an individual ensemble forecast at a time (template 4.1) at two
forecast hours, with perturbation numbers 0 (the control, type of ensemble forecast 1) and 1, 2
(perturbed, type 3) — the way ECMWF ENS and CMA-GEPS number their members — each holding a uniform
rate set here.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import eccodes
import geopandas as gpd
import numpy as np
import shapely
import pytest
import xarray as xr

from tests.sources.conftest import LAT, LON, RUN
from warn import rainarray
from warn.config import FilesSpec
from warn.errors import DataContractError, SourceError
from warn.geo.weights import build_weights, zonal_mean
from warn.sources.forecast import open_forecast

GFS = Path(__file__).parent.parent / "data" / "cfrzr_and_cprat.grib"


def ensemble_file(path: Path, values: np.ndarray, *, dim: str = "member", ids: list[object] | None = None,
                  name: str = "precip", units: str = "mm", member_attrs: dict[str, object] | None = None,
                  attrs: dict[str, object] | None = None) -> Path:
    """Write ``values`` (member, time, lat, lon) as a CF variable with the ensemble dim ``dim``; hourly
    times ending 1, 2, … h after ``RUN``, a forecast_reference_time ``RUN``."""
    ends = RUN + np.arange(1, values.shape[1] + 1) * np.timedelta64(1, "h")
    ds = xr.Dataset({name: ((dim, "time", "lat", "lon"), values, {"units": units, **(attrs or {})})},
                    coords={dim: (dim, np.asarray(ids if ids is not None else range(values.shape[0])),
                                  member_attrs or {}),
                            "time": ("time", ends, {"standard_name": "time"}),
                            "lat": ("lat", LAT, {"units": "degrees_north"}),
                            "lon": ("lon", LON, {"units": "degrees_east"})})
    ds["forecast_reference_time"] = ((), RUN, {"standard_name": "forecast_reference_time"})
    encoding = {v: {"units": "minutes since 2026-07-15 00:00:00"} for v in ("time", "forecast_reference_time")}
    ds.to_netcdf(path, engine="netcdf4", encoding=encoding)
    return path


def uniform(*per_member: list[float]) -> np.ndarray:
    """(member, time, lat, lon): one list of hourly values per member, uniform over the grid."""
    return np.stack([np.stack([np.full((LAT.size, LON.size), v) for v in hourly]) for hourly in per_member])


@pytest.mark.parametrize("dim", ["member", "realization", "ensemble", "number"])
def test_each_named_ensemble_dim_becomes_the_member_dim_first(tmp_path, dim):
    path = ensemble_file(tmp_path / "ens.nc", uniform([1.0, 2.0], [3.0, 4.0], [0.0, 5.0]), dim=dim,
                         attrs={"standard_name": "precipitation_amount"})
    rain = open_forecast(path, source="ens")
    assert rain.dims == ("member", "time", "lat", "lon")
    assert rainarray.members(rain) == [0, 1, 2]
    assert rain.attrs["control_member"] == 0
    np.testing.assert_allclose(rain.values[:, :, 1, 1], [[1.0, 2.0], [3.0, 4.0], [0.0, 5.0]])
    assert rain.attrs["step"] == "PT1H"
    assert "3 ensemble members (control 0)" in rain.attrs["history"]


def test_a_dim_of_another_name_is_an_ensemble_by_its_cf_standard_name_realization(tmp_path):
    path = ensemble_file(tmp_path / "ens.nc", uniform([1.0, 0.0], [2.0, 0.0]), dim="run", ids=[7, 9],
                         member_attrs={"standard_name": "realization"})
    rain = open_forecast(path, source="ens")
    assert rainarray.members(rain) == [7, 9]
    assert rain.attrs["control_member"] == 7  # none named: the lowest id


def test_a_control_member_attribute_names_the_control(tmp_path):
    path = ensemble_file(tmp_path / "ens.nc", uniform([1.0, 0.0], [2.0, 0.0], [6.0, 0.0]), ids=[1, 2, 3],
                         member_attrs={"control_member": 3})
    rain = open_forecast(path, source="ens")
    assert rain.attrs["control_member"] == 3
    control = rainarray.control(rain)
    assert control.dims == ("time", "lat", "lon")
    np.testing.assert_allclose(control.values[0], 6.0)
    assert "control_member" not in control.attrs
    assert control.attrs["history"].endswith("ensemble member 3 (control)")
    rainarray.check_rain(control, where="control")


def test_a_control_member_that_is_not_a_member_is_refused(tmp_path):
    path = ensemble_file(tmp_path / "ens.nc", uniform([1.0, 0.0], [2.0, 0.0]), attrs={"control_member": 5})
    with pytest.raises(DataContractError, match=r"ens\.nc: precip\.control_member: expected one of the member ids "
                                                r"0, 1, got 5"):
        open_forecast(path, source="ens")


def test_member_ids_that_are_not_integers_are_refused(tmp_path):
    path = ensemble_file(tmp_path / "ens.nc", uniform([1.0, 0.0], [2.0, 0.0]), ids=["a", "b"])
    with pytest.raises(DataContractError, match=r"ens\.nc: precip\.member: expected integer ensemble member ids, "
                                                r"got a, b"):
        open_forecast(path, source="ens")


def test_ecmwf_ens_tp_accumulated_from_the_run_start_is_de_accumulated_per_member(tmp_path):
    # totals since the run in metres: member 0 → 1, 1, 4 mm per hour; member 1 → 0, 2, 0 mm per hour
    totals_m = uniform([0.001, 0.002, 0.006], [0.0, 0.002, 0.002])
    path = ensemble_file(tmp_path / "tp.nc", totals_m, dim="number", name="tp", units="m")
    rain = open_forecast(path, source="ecmwf-ens")
    np.testing.assert_allclose(rain.values[:, :, 0, 0], [[1.0, 1.0, 4.0], [0.0, 2.0, 0.0]], atol=1e-5)
    assert "accumulated since forecast_reference_time" in rain.attrs["history"]


def test_an_ensemble_is_reaccumulated_checked_for_coverage_and_averaged_over_zones_per_member(tmp_path):
    path = ensemble_file(tmp_path / "ens.nc", uniform([1.0, 2.0, 3.0, 4.0], [0.0, 0.0, 1.0, 1.0]))
    rain = open_forecast(path, source="ens", bounds=(106.52, 29.62, 106.58, 29.78))
    two_hourly = rainarray.reaccumulate(rain, timedelta(hours=2))
    assert two_hourly.dims == ("member", "time", "lat", "lon") and two_hourly.attrs["control_member"] == 0
    np.testing.assert_allclose(two_hourly.values[:, :, 0, 0], [[3.0, 7.0], [0.0, 2.0]])
    with pytest.raises(DataContractError, match="a grid covering the zones"):
        rainarray.check_coverage(rain, (100.0, 20.0, 101.0, 21.0), where="ens.nc")


def test_zonal_means_keep_the_member_dim(tmp_path):
    path = ensemble_file(tmp_path / "ens.nc", uniform([1.0, 2.0], [5.0, 0.0]))
    rain = open_forecast(path, source="ens")
    zones = gpd.GeoDataFrame({"zone_id": ["z"]}, geometry=[shapely.box(106.52, 29.62, 106.58, 29.78)], crs="EPSG:4326")
    zonal = zonal_mean(rain, build_weights(zones, LAT, LON, id_column="zone_id"))
    assert zonal.dims == ("member", "time", "zone")
    np.testing.assert_allclose(zonal.values[:, :, 0], [[1.0, 2.0], [5.0, 0.0]], rtol=1e-6)


def grib_ensemble(path: Path, step_type: str, template: int, hours: tuple[int, ...] = ()) -> Path:
    """The fixture's ``cpr`` message of ``step_type`` cloned as members 2, 0, 1 (product definition
    ``template``: 11 over an interval, 1 instantaneous), at each forecast hour of ``hours`` (default: the
    message's own), each holding (n + 1) mm/h — times the hour when ``hours`` are given."""
    with open(GFS, "rb") as handle, open(path, "wb") as out:
        while (gid := eccodes.codes_grib_new_from_file(handle)) is not None:
            if (eccodes.codes_get(gid, "shortName"), eccodes.codes_get(gid, "stepType")) == ("cpr", step_type):
                for number in (2, 0, 1):
                    for hour in hours or (None,):
                        member = eccodes.codes_clone(gid)
                        eccodes.codes_set(member, "productDefinitionTemplateNumber", template)
                        eccodes.codes_set(member, "typeOfEnsembleForecast", 1 if number == 0 else 3)
                        eccodes.codes_set(member, "perturbationNumber", number)
                        eccodes.codes_set(member, "numberOfForecastsInEnsemble", 3)
                        if hour is not None:
                            eccodes.codes_set(member, "forecastTime", hour)
                        values = eccodes.codes_get_values(member)
                        rate = (number + 1) * (hour or 1)  # mm/h
                        eccodes.codes_set_values(member, np.full_like(values, rate / 3600.0))  # kg m-2 s-1
                        eccodes.codes_write(member, out)
                        eccodes.codes_release(member)
            eccodes.codes_release(gid)
    return path


def test_a_grib_ens_file_gives_members_with_the_control_first(tmp_path):
    rain = open_forecast(grib_ensemble(tmp_path / "ens.grib2", "avg", 11), source="gfs-ens")
    assert rain.dims == ("member", "time", "lat", "lon")
    assert rainarray.members(rain) == [0, 1, 2] and rain.attrs["control_member"] == 0
    # a 0–5 h mean rate of (n + 1) mm/h → (n + 1) × 5 mm per 5 h
    np.testing.assert_allclose(rain.values[:, 0, 10, 10], [5.0, 10.0, 15.0], rtol=1e-5)
    assert rain.attrs["step"] == "PT5H"


def test_members_are_not_counted_as_time_steps_by_the_declared_size_check(tmp_path):
    path = ensemble_file(tmp_path / "ens.nc", uniform([1.0, 2.0], [3.0, 4.0], [0.0, 5.0]))
    rain = open_forecast(path, source="ens", limits=FilesSpec(max_time_steps=2))
    assert rain.sizes["member"] == 3
    longer = ensemble_file(tmp_path / "longer.nc", uniform([1.0, 2.0, 3.0], [3.0, 4.0, 5.0]))
    with pytest.raises(SourceError, match=r"longer\.nc: precip: expected at most 2 time steps \(files\.max_time_steps\)"):
        open_forecast(longer, source="ens", limits=FilesSpec(max_time_steps=2))


def test_a_grib_ens_file_of_several_steps_gives_each_member_its_own_series(tmp_path):
    path = grib_ensemble(tmp_path / "steps.grib2", "instant", 1, hours=(5, 6))
    rain = open_forecast(path, source="gfs-ens")
    assert rain.dims == ("member", "time", "lat", "lon") and rain.attrs["step"] == "PT1H"
    assert rainarray.members(rain) == [0, 1, 2] and rain.attrs["control_member"] == 0
    # an instantaneous (n + 1) × h mm/h at +h, held over the hour
    np.testing.assert_allclose(rain.values[:, :, 10, 10], [[5.0, 6.0], [10.0, 12.0], [15.0, 18.0]], rtol=1e-5)
