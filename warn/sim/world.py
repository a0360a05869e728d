r"""The demo sensor world: water levels at the demo points, generated from the demo storm.

Every waterlogging point's sensor reads the ponding depth of a bucket
(:mod:`warn.sim.levels`) fed by the rain of the grid cell the point stands in; every
river gauge reads a stage that rises with the district-mean rain through a linear
reservoir:

.. math::

    Q_t = Q_{t-1} e^{-\Delta t / k} + g \, \bar P_t, \qquad H_t = H_0 + Q_t

with :math:`\bar P_t` the district-mean rain of step :math:`t` (mm), :math:`g` the stage
gain (m per mm), :math:`k` the recession (h), :math:`H_0` the gauge's normal stage (m).
Hourly rain is spread evenly over 5-minute steps, the sensors' cadence. Faults
(:class:`~warn.sim.levels.Freeze`, :class:`~warn.sim.levels.Spike`) are staged on chosen
sensors. All of it is synthetic: a world for demos, drills and tests, labelled so.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import geopandas as gpd
import numpy as np
import xarray as xr

from warn.geo.cells import cell_series
from warn.sim.levels import Freeze, Spike, simulate_levels
from warn.sim.sensorthings import SensorThingsServer

#: The sensors' reporting step.
SENSOR_STEP = timedelta(minutes=5)
#: The demo world's drainage capacity (mm/h) and pond recession (h) at every point: demo values.
POINT_DRAIN_MM_H = 15.0
POINT_RECESSION_H = 1.0
#: River stage gain, m of stage per mm of district-mean rain, and recession (h): demo values.
STAGE_GAIN_M_PER_MM = 0.15
STAGE_RECESSION_H = 8.0


@dataclass(frozen=True)
class Series:
    """One sensor's readings: times (aware UTC) and values (in ``unit``; ``None`` for a missing one)."""

    sensor_id: str
    kind: str
    times: list[datetime]
    values: list[float | None]
    unit: str = "m"


def sensor_world(rain: xr.DataArray, waterlogging: gpd.GeoDataFrame, gauges: gpd.GeoDataFrame, *,
                 faults: Mapping[str, Freeze | Spike] | None = None) -> list[Series]:
    """The readings every demo sensor would send over the storm.

    Parameters
    ----------
    rain
        Rainfall contract array (time, lat, lon), hourly, mm per step.
    waterlogging
        The waterlogging points (with ``sensor_id`` and the bucket attributes).
    gauges
        The river gauges (with ``sensor_id`` and ``normal_stage_m``).
    faults
        Staged faults by sensor id, in 5-minute steps from the start.

    Returns
    -------
    list of Series
        One per sensor, a reading every 5 minutes from the start of the first rain step.
    """
    per_hour = int(timedelta(hours=1) / SENSOR_STEP)
    start = utc(rain["time"].values[0]) - timedelta(hours=1)
    times = [start + SENSOR_STEP * (k + 1) for k in range(rain.sizes["time"] * per_hour)]
    at_points = np.repeat(cell_series(rain, waterlogging) / per_hour, per_hour, axis=0)
    records = waterlogging.drop(columns="geometry").to_dict("records")
    depths = simulate_levels(records, {r["point_id"]: at_points[:, i] for i, r in enumerate(records)},
                             step=SENSOR_STEP, faults=faults, drain_mm_h=POINT_DRAIN_MM_H,
                             recession_h=POINT_RECESSION_H)
    out = [Series(sid, "water_level", times, [round(float(v), 3) for v in depth]) for sid, depth in depths.items()]
    mean = np.repeat(np.nanmean(rain.values, axis=(1, 2)) / per_hour, per_hour)
    decay = math.exp(-SENSOR_STEP.total_seconds() / 3600 / STAGE_RECESSION_H)
    rise = np.zeros(mean.size)
    for k in range(mean.size):
        rise[k] = (rise[k - 1] if k else 0.0) * decay + STAGE_GAIN_M_PER_MM * mean[k]
    for gauge in gauges.itertuples():
        out.append(Series(gauge.sensor_id, "river_stage", times,
                          [round(float(gauge.normal_stage_m + r), 3) for r in rise]))
    return out


def serve(server: SensorThingsServer, world: list[Series], *, until: datetime,
          since: datetime | None = None) -> int:
    """Put the readings of ``(since, until]`` on the SensorThings server (datastreams made as needed;
    every series' times ascending).

    Returns
    -------
    int
        Observations added.
    """
    added = 0
    for series in world:
        if not server.has_datastream(series.sensor_id):
            server.add_datastream(series.sensor_id, unit=series.unit, kind=series.kind)
        first = 0 if since is None else bisect.bisect_right(series.times, since)
        for k in range(first, bisect.bisect_right(series.times, until)):
            server.add_observation(series.sensor_id, series.times[k], series.values[k])
            added += 1
    return added


def utc(moment: np.datetime64) -> datetime:
    """An aware UTC datetime (whole seconds) from a naive UTC ``datetime64``."""
    return datetime.fromisoformat(str(np.datetime64(moment, "s"))).replace(tzinfo=timezone.utc)
