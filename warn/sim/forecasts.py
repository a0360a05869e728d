"""Imperfect forecasts for the demo world: its truth displaced, late and scaled, plus perturbed members.

The demo world's truth is the demo storm every 10 minutes (``sim.truth``). A forecast that
knew it perfectly would teach nothing, so the runs it publishes are the truth made wrong the
way a numerical forecast of a convective storm is wrong (``sim.forecast``,
:class:`~warn.config.SimForecastSpec`); the demo deployment's numbers (config.yaml, also in
demo/PROVENANCE.md):

- **displaced** 12 km towards 135° (south-east): every 10-minute field is moved by that
  distance on the grid (linear interpolation between cells; rain moved in from beyond the
  grid's edge is 0 — the storm enters from the south-west, inside the grid);
- **late** by 1 h: the forecast's rain at time *t* is the truth's at *t* − 1 h;
- **scaled** by 0.8: the forecast depths are 80 % of the truth's (models smooth the peaks);
- **members** (``members`` > 0, for ensemble decoders): member 0 is the control above; member
  *m* ≥ 1 is displaced further by a normal draw of 6 km per axis, late by a further whole
  number of 10-minute steps drawn uniformly within ± 30 min, and scaled by exp(N(0, 0.2)),
  all drawn from ``seed`` (19) — the same perturbation for every run of the member.

Hourly depths are the sums of the six 10-minute depths of each hour. All of it is synthetic.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import xarray as xr
from scipy import ndimage

from warn.config import SimForecastSpec

#: The truth's step.
TRUTH_STEP = timedelta(minutes=10)
#: km per degree of latitude, and of longitude at the equator.
KM_PER_DEG_LAT = 110.57
KM_PER_DEG_LON_EQUATOR = 111.32


def imperfect(truth: xr.DataArray, *, shift_km: float, towards_deg: float, delay: timedelta,
              scale: float) -> xr.DataArray:
    """The truth displaced, late and scaled.

    Parameters
    ----------
    truth
        Rainfall contract array (time, lat, lon), 10-minute depth in mm, regular lat/lon grid.
    shift_km
        How far the forecast storm is from the true one (km).
    towards_deg
        In which direction (degrees clockwise from north).
    delay
        How late the forecast storm is: a whole number of the truth's steps (negative: early).
    scale
        Factor on every depth.

    Returns
    -------
    xarray.DataArray
        Same grid, times and attributes as ``truth``, depth in mm per step; 0 where the rain would
        come from beyond the grid or before the truth's first step.
    """
    steps, rest = divmod(delay, TRUTH_STEP)
    if rest:
        raise ValueError(f"delay {delay} is not a whole number of {TRUTH_STEP} steps")
    lat, lon = truth["lat"].values, truth["lon"].values
    heading = np.radians(towards_deg)
    km_lon = KM_PER_DEG_LON_EQUATOR * np.cos(np.radians(lat.mean()))
    rows = shift_km * np.cos(heading) / KM_PER_DEG_LAT / (lat[1] - lat[0])
    cols = shift_km * np.sin(heading) / km_lon / (lon[1] - lon[0])
    values = np.nan_to_num(truth.values.astype(np.float64))
    moved = ndimage.shift(values, (0.0, rows, cols), order=1, mode="constant", cval=0.0)
    late = np.zeros_like(moved)
    if steps >= 0:
        late[steps:] = moved[:moved.shape[0] - steps]
    else:
        late[:steps] = moved[-steps:]
    return truth.copy(data=np.clip(late * scale, 0.0, None))


def members(truth: xr.DataArray, spec: SimForecastSpec) -> xr.DataArray:
    """The control (member 0) and ``spec.members`` perturbed members (see the module notes).

    Returns
    -------
    xarray.DataArray
        Dims (member, time, lat, lon), 10-minute depth in mm; ``member`` 0 … ``spec.members``, attribute
        ``control_member`` 0.
    """
    rng = np.random.default_rng(spec.seed)
    reach = int(spec.member_delay / TRUTH_STEP)
    fields = [imperfect(truth, shift_km=spec.shift_km, towards_deg=spec.towards_deg, delay=spec.delay,
                        scale=spec.scale)]
    heading = np.radians(spec.towards_deg)
    east, north = spec.shift_km * np.sin(heading), spec.shift_km * np.cos(heading)
    for _ in range(spec.members):
        de, dn = rng.normal(0.0, spec.member_shift_km, size=2)
        extra = int(rng.integers(-reach, reach + 1))
        factor = float(np.exp(rng.normal(0.0, spec.member_scale)))
        e, n = east + de, north + dn
        fields.append(imperfect(truth, shift_km=float(np.hypot(e, n)),
                                towards_deg=float(np.degrees(np.arctan2(e, n)) % 360),
                                delay=spec.delay + extra * TRUTH_STEP, scale=spec.scale * factor))
    out = xr.concat(fields, dim="member").assign_coords(member=np.arange(len(fields)))
    out.attrs = {**truth.attrs, "control_member": 0}
    return out


def hourly(depth: xr.DataArray) -> xr.DataArray:
    """Hourly sums of a 10-minute depth array whose first step ends 10 minutes after a whole hour.

    Returns
    -------
    xarray.DataArray
        Depth in mm per hour, ``time`` the end of each hour (the last hour only if complete).
    """
    per_hour = int(timedelta(hours=1) / TRUTH_STEP)
    first = depth["time"].values[0] - np.timedelta64(TRUTH_STEP)
    if first != first.astype("datetime64[h]"):
        raise ValueError(f"the 10-minute steps start at {first}, not at a whole hour")
    hours = depth.sizes["time"] // per_hour
    cut = depth.isel(time=slice(0, hours * per_hour))
    summed = cut.coarsen(time=per_hour).sum()
    summed = summed.assign_coords(time=cut["time"].values[per_hour - 1::per_hour])
    summed.attrs = {**depth.attrs, "step": "PT1H"}
    return summed
