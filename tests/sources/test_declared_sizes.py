"""Forecast files declaring more than the limits are refused before any data is read (warn/sources/decoders.py)."""

from __future__ import annotations

import time
from datetime import timedelta

import netCDF4
import numpy as np
import pytest

from tests.conftest import DATA
from warn.config import FilesSpec
from warn.errors import SourceError
from warn.sources.forecast import open_forecast

#: The issue's attack: 72 hourly steps of an 8,000 × 8,000 grid, 36.9 GB as float64, in a file of a few KB.
HUGE = {"time": 72, "lat": 8000, "lon": 8000}


def declare(path, sizes):
    """A NetCDF-4 file declaring ``precipitation_amount`` of ``sizes`` (time, lat, lon) without writing its data."""
    with netCDF4.Dataset(path, "w", format="NETCDF4") as ds:
        for name, size in sizes.items():
            ds.createDimension(name, size)
        times = ds.createVariable("time", "f8", ("time",))
        times.setncatts({"units": "hours since 2026-07-15 00:00", "standard_name": "time"})
        times[:] = np.arange(1, sizes["time"] + 1)
        ds.createVariable("lat", "f4", ("lat",)).setncatts({"units": "degrees_north", "standard_name": "latitude"})
        ds.createVariable("lon", "f4", ("lon",)).setncatts({"units": "degrees_east", "standard_name": "longitude"})
        rain = ds.createVariable("precipitation_amount", "f4", ("time", "lat", "lon"),
                                    chunksizes=(1, min(500, sizes["lat"]), min(500, sizes["lon"])))
        rain.setncatts({"units": "mm", "standard_name": "precipitation_amount"})
    return path


def test_a_small_file_declaring_a_36_gb_grid_is_refused_at_once_naming_shape_and_limit(tmp_path):
    path = declare(tmp_path / "huge.nc", HUGE)
    assert path.stat().st_size < 1_000_000
    tic = time.perf_counter()
    with pytest.raises(SourceError) as caught:
        open_forecast(path, source="attack")
    assert time.perf_counter() - tic < 5
    assert str(caught.value) == (
        f"{path}: precipitation_amount: expected at most 1,000,000 cells (lat × lon) a field (files.max_grid_cells), "
        "got the declared shape (time 72, lat 8,000, lon 8,000): 64,000,000 "
        "(checked before reading: a file may declare far more than it holds)")


def test_time_steps_and_bytes_have_their_own_limits(tmp_path):
    path = declare(tmp_path / "long.nc", {"time": 2000, "lat": 4, "lon": 4})
    with pytest.raises(SourceError, match=r"precipitation_amount: expected at most 1,000 time steps "
                                          r"\(files.max_time_steps\), got the declared shape \(time 2,000, lat 4, "
                                          r"lon 4\): 2,000"):
        open_forecast(path, source="attack")
    path = declare(tmp_path / "wide.nc", {"time": 10, "lat": 100, "lon": 100})
    with pytest.raises(SourceError, match=r"precipitation_amount: expected at most 100,000 bytes decoded "
                                          r"\(files.max_field_bytes\), got the declared shape \(time 10, lat 100, "
                                          r"lon 100\): 800,000"):
        open_forecast(path, source="attack", limits=FilesSpec(max_field_bytes=100_000))


def test_a_forecast_file_over_its_size_limit_is_refused(tmp_path):
    path = declare(tmp_path / "small.nc", {"time": 1, "lat": 2, "lon": 2})
    with pytest.raises(SourceError, match=r"small.nc: expected a forecast file \(NetCDF or GRIB\) of at most 100 bytes"):
        open_forecast(path, source="attack", limits=FilesSpec(max_forecast_bytes=100))


def test_grib_records_are_checked_by_their_declared_points():
    path = DATA / "mrms_preciprate_20190610-000000_core.grib2"
    with pytest.raises(SourceError, match=r"core.grib2: unknown: expected at most 10 cells \(lat × lon\) a field "
                                          r"\(files.max_grid_cells\), got the declared shape \(records 1, points "):
        open_forecast(path, source="mrms", step=timedelta(minutes=2), limits=FilesSpec(max_grid_cells=10))
    assert np.isfinite(open_forecast(path, source="mrms", step=timedelta(minutes=2)).values).any()
