"""Factories for small NetCDF-CF forecast files, written to ``tmp_path`` per test."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

RUN = np.datetime64("2026-07-15T00:00", "ns")
LAT = np.array([29.6, 29.7, 29.8])
LON = np.array([106.5, 106.6])
HOUR = np.timedelta64(1, "h")


def cf_file(
    path: Path,
    values: np.ndarray,
    *,
    name: str = "precip",
    units: str | None = "mm",
    standard_name: str | None = "precipitation_amount",
    ends_h: list[float] | None = None,
    starts_h: list[float] | None = None,
    lat: np.ndarray = LAT,
    lon: np.ndarray = LON,
    reference_time: bool = True,
    extra: dict[str, object] | None = None,
) -> Path:
    """Write ``values`` (time, lat, lon) as a CF variable; times in hours after ``RUN``.

    ``starts_h`` writes ``time_bnds`` (interval starts); without it the file has no bounds.
    """
    values = np.asarray(values, dtype=np.float64)
    ends = RUN + np.array([round(h * 60) for h in (ends_h or range(1, values.shape[0] + 1))], dtype="timedelta64[m]")
    attrs = {k: v for k, v in {"units": units, "standard_name": standard_name, **(extra or {})}.items() if v is not None}
    ds = xr.Dataset({name: (("time", "lat", "lon"), values, attrs)},
                    coords={"time": ("time", ends, {"standard_name": "time"}),
                            "lat": ("lat", lat, {"units": "degrees_north"}),
                            "lon": ("lon", lon, {"units": "degrees_east"})})
    encoding = {"time": {"units": "minutes since 2026-07-15 00:00:00"}}
    if starts_h is not None:
        starts = RUN + np.array([round(h * 60) for h in starts_h], dtype="timedelta64[m]")
        ds["time_bnds"] = (("time", "nv"), np.stack([starts, ends], axis=1))
        ds["time"].attrs["bounds"] = "time_bnds"
        encoding["time_bnds"] = {"units": "minutes since 2026-07-15 00:00:00"}
    if reference_time:
        ds["forecast_reference_time"] = ((), RUN, {"standard_name": "forecast_reference_time"})
        encoding["forecast_reference_time"] = {"units": "minutes since 2026-07-15 00:00:00"}
    ds.to_netcdf(path, engine="netcdf4", encoding=encoding)
    return path


def field(*hourly: float, shape: tuple[int, int] = (LAT.size, LON.size)) -> np.ndarray:
    """A (time, lat, lon) array with one uniform value per time."""
    return np.stack([np.full(shape, v, dtype=np.float64) for v in hourly])


class CF:
    """The NetCDF-CF factory handed to tests: constants, :func:`field` and :meth:`write`."""

    RUN = RUN
    HOUR = HOUR
    LAT = LAT
    LON = LON
    field = staticmethod(field)

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def write(self, filename: str, values: np.ndarray, **options: object) -> Path:
        """Write a NetCDF-CF file in the test's directory (options as for :func:`cf_file`)."""
        return cf_file(self.directory / filename, values, **options)


@pytest.fixture
def cf(tmp_path: Path) -> CF:
    """A NetCDF-CF factory writing into ``tmp_path``."""
    return CF(tmp_path)
