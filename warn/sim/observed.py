"""What the demo world's observing systems report of its truth: synthetic rain gauges and radar frames.

**Rain gauges.** One synthetic tipping-bucket gauge at each town centre (the town's
representative point; catalogue rows ``RG-DEMO-T01`` … in geodata/sensors.csv, labelled
synthetic), reporting every 5 minutes the rain depth of that 5 minutes (mm per report): half of
the truth's 10-minute depth at the gauge's grid cell. :data:`SILENT_GAUGE` stops reporting at
:data:`SILENT_AFTER` (a logger that died in the storm), so staleness has something to catch.

**Radar frames.** Every 10 minutes a rain-rate mosaic (CF-NetCDF, ``rainfall_rate`` in
``mm h-1``, the mean rate over the 10 minutes ending at the frame time, one time step with its
bounds, 1-D lat/lon): the truth's depth × 6 × ``sim.radar_bias`` (0.7 in the demo: the radar
under-estimates the heavy rain, as a Z–R relation fitted to stratiform rain does), sampled
bilinearly onto :data:`RADAR_LAT` × :data:`RADAR_LON`, a 0.02° grid offset by half a forecast
cell from the 0.01° forecast grid, so that a consumer has to regrid it. All of it is synthetic.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import geopandas as gpd
import numpy as np
import xarray as xr
from scipy import ndimage

from warn.geo.cells import cell_series
from warn.sim.world import Series, utc

#: The gauges' reporting step.
GAUGE_STEP = timedelta(minutes=5)
#: The gauge that stops reporting, and the time after which it is silent.
SILENT_GAUGE = "RG-DEMO-T09"
SILENT_AFTER = datetime.fromisoformat("2026-07-15T06:00:00+00:00")
#: The radar mosaic's grid (cell centres, degrees): 0.02°, offset by 0.005° from the 0.01° forecast grid.
RADAR_LON = np.round(np.arange(106.305, 107.13, 0.02), 3)
RADAR_LAT = np.round(np.arange(29.455, 30.25, 0.02), 3)


def gauge_id(zone_id: str) -> str:
    """The synthetic gauge of a town: ``DEMO-T01`` → ``RG-DEMO-T01``."""
    return f"RG-{zone_id}"


def gauge_world(truth: xr.DataArray, gauges: gpd.GeoDataFrame) -> list[Series]:
    """What every synthetic rain gauge reports over the demo period.

    Parameters
    ----------
    truth
        The truth (time, lat, lon), 10-minute depth in mm.
    gauges
        The gauges' points, with a ``sensor_id`` column.

    Returns
    -------
    list of Series
        One per gauge, kind ``rain_gauge``, unit mm per 5-minute report, a report every 5 minutes
        (:data:`SILENT_GAUGE` none after :data:`SILENT_AFTER`).
    """
    halves = int(timedelta(minutes=10) / GAUGE_STEP)
    ends = truth["time"].values.astype("datetime64[s]")
    times = [utc(end) - GAUGE_STEP * (halves - 1 - k) for end in ends for k in range(halves)]
    at_gauges = np.repeat(cell_series(truth, gauges) / halves, halves, axis=0)
    out = []
    for i, sensor_id in enumerate(gauges["sensor_id"]):
        kept = [(t, round(float(v), 2)) for t, v in zip(times, at_gauges[:, i], strict=True)
                if sensor_id != SILENT_GAUGE or t <= SILENT_AFTER]
        out.append(Series(str(sensor_id), "rain_gauge", [t for t, _ in kept], [v for _, v in kept], unit="mm"))
    return out


def radar_frame(truth: xr.DataArray, at: datetime, *, bias: float) -> xr.Dataset:
    """The radar mosaic of the 10 minutes ending at ``at`` (see the module notes).

    Parameters
    ----------
    truth
        The truth (time, lat, lon), 10-minute depth in mm, ``at`` one of its times.
    at
        The frame time (aware UTC).
    bias
        Factor on the true rate (the radar's bias).

    Returns
    -------
    xarray.Dataset
        CF-1.8: ``rainfall_rate`` (time=1, lat, lon) in mm h-1 with ``time_bnds``.
    """
    stamp = np.datetime64(at.replace(tzinfo=None), "ns")
    depth = truth.sel(time=stamp).values.astype(np.float64)
    lat, lon = truth["lat"].values, truth["lon"].values
    rows = (RADAR_LAT - lat[0]) / (lat[1] - lat[0])
    cols = (RADAR_LON - lon[0]) / (lon[1] - lon[0])
    grid_rows, grid_cols = np.meshgrid(rows, cols, indexing="ij")
    per_hour = timedelta(hours=1) / timedelta(minutes=10)
    rate = ndimage.map_coordinates(depth * per_hour * bias, [grid_rows, grid_cols], order=1, mode="nearest")
    start = stamp - np.timedelta64(10, "m")
    ds = xr.Dataset(
        {
            "rainfall_rate": (("time", "lat", "lon"), rate[None].astype(np.float32), {
                "standard_name": "rainfall_rate", "units": "mm h-1", "cell_methods": "time: mean",
                "long_name": "radar rain rate, mean over 10 minutes (SYNTHETIC: demo truth x radar bias)"}),
            "time_bnds": (("time", "nv"), np.array([[start, stamp]])),
        },
        coords={
            "time": ("time", [stamp], {"standard_name": "time", "axis": "T", "bounds": "time_bnds"}),
            "lat": ("lat", RADAR_LAT, {"standard_name": "latitude", "units": "degrees_north", "axis": "Y"}),
            "lon": ("lon", RADAR_LON, {"standard_name": "longitude", "units": "degrees_east", "axis": "X"}),
        },
    )
    ds.attrs = {"Conventions": "CF-1.8",
                "title": f"Yubei demo radar QPE {at:%Y-%m-%d %H:%M}Z (SYNTHETIC, TRANSPLANTED ANALOGUE)",
                "comment": f"the demo world's truth x {bias:g} (radar bias) on a 0.02 degree grid, by warn.sim.observed; "
                           "for drills only"}
    return ds


def write_frame(frame: xr.Dataset, target: Path) -> None:
    """Write a radar frame (zlib) atomically: to ``target.part``, then renamed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    encoding = {"rainfall_rate": {"zlib": True, "complevel": 5, "least_significant_digit": 2},
                "time": {"units": "minutes since 1970-01-01 00:00:00", "dtype": "int64"},
                "time_bnds": {"units": "minutes since 1970-01-01 00:00:00", "dtype": "int64"}}
    frame.to_netcdf(partial, engine="netcdf4", encoding=encoding)
    partial.replace(target)
