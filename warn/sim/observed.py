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

from datetime import datetime, timedelta, timezone
from pathlib import Path

import geopandas as gpd
import netCDF4
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
#: The origin of the frames' times (their units: minutes since it).
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


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


def radar_rate(depth: np.ndarray, lat: np.ndarray, lon: np.ndarray, *, bias: float) -> np.ndarray:
    """The radar's rain rate of one 10-minute step of the truth (see the module notes).

    Parameters
    ----------
    depth
        The truth's depth of the step (lat, lon), mm per 10 minutes.
    lat, lon
        The truth's cell centres (degrees, ascending, evenly spaced).
    bias
        Factor on the true rate (the radar's bias).

    Returns
    -------
    numpy.ndarray
        float32 (:data:`RADAR_LAT`, :data:`RADAR_LON`): the mean rate over the 10 minutes, mm h-1.
    """
    rows = (RADAR_LAT - lat[0]) / (lat[1] - lat[0])
    cols = (RADAR_LON - lon[0]) / (lon[1] - lon[0])
    grid_rows, grid_cols = np.meshgrid(rows, cols, indexing="ij")
    per_hour = timedelta(hours=1) / timedelta(minutes=10)
    rate = ndimage.map_coordinates(np.asarray(depth, np.float64) * per_hour * bias, [grid_rows, grid_cols], order=1,
                                   mode="nearest")
    return rate.astype(np.float32)


def write_frame(rate: np.ndarray, at: datetime, target: Path, *, bias: float) -> None:
    """Write the radar mosaic of the 10 minutes ending at ``at`` atomically: to ``target.part``, then renamed.

    A CF-1.8 NetCDF-4 file: ``rainfall_rate`` (time=1, lat, lon) in mm h-1 (``cell_methods`` "time: mean",
    zlib level 5 with two significant decimals, NaN as fill), ``time`` and ``time_bnds`` in minutes since
    1970-01-01 (int64), ``lat``/``lon`` :data:`RADAR_LAT` × :data:`RADAR_LON`; title and comment say it is
    synthetic. Written with netCDF4 directly (xarray's writer costs several times the file itself).

    Parameters
    ----------
    rate
        :func:`radar_rate`: mm h-1 on :data:`RADAR_LAT` × :data:`RADAR_LON`.
    at
        The frame time (aware UTC).
    target
        The file to write.
    bias
        The radar's bias ``rate`` was made with (said in the file's comment).
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    end = int((at - EPOCH) / timedelta(minutes=1))
    with netCDF4.Dataset(partial, "w", format="NETCDF4") as ds:
        ds.setncatts({"Conventions": "CF-1.8",
                      "title": f"Yubei demo radar QPE {at:%Y-%m-%d %H:%M}Z (SYNTHETIC, TRANSPLANTED ANALOGUE)",
                      "comment": f"the demo world's truth x {bias:g} (radar bias) on a 0.02 degree grid, by "
                                 "warn.sim.observed; for drills only"})
        for name, size in (("time", 1), ("lat", RADAR_LAT.size), ("lon", RADAR_LON.size), ("nv", 2)):
            ds.createDimension(name, size)
        variable = ds.createVariable("rainfall_rate", "f4", ("time", "lat", "lon"), zlib=True, complevel=5,
                                     shuffle=True, least_significant_digit=2, fill_value=np.float32(np.nan))
        variable.setncatts({"standard_name": "rainfall_rate", "units": "mm h-1", "cell_methods": "time: mean",
                            "long_name": "radar rain rate, mean over 10 minutes (SYNTHETIC: demo truth x radar bias)"})
        variable[:] = rate[None]
        ds.createVariable("time_bnds", "i8", ("time", "nv"))[:] = [[end - 10, end]]
        time = ds.createVariable("time", "i8", ("time",))
        time.setncatts({"standard_name": "time", "axis": "T", "bounds": "time_bnds",
                        "units": "minutes since 1970-01-01", "calendar": "proleptic_gregorian"})
        time[:] = [end]
        for name, values, attrs in (("lat", RADAR_LAT, {"standard_name": "latitude", "units": "degrees_north",
                                                        "axis": "Y"}),
                                    ("lon", RADAR_LON, {"standard_name": "longitude", "units": "degrees_east",
                                                        "axis": "X"})):
            coordinate = ds.createVariable(name, "f8", (name,), fill_value=np.nan)
            coordinate.setncatts(attrs)
            coordinate[:] = values
    partial.replace(target)
