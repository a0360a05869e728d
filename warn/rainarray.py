"""The rainfall array contract (STYLE.md, "The rainfall array contract").

Every source hands ``risk/`` the same thing, and this module is the one place that
says what it is and checks it:

- a :class:`xarray.DataArray` named ``rain`` with dims ``(time, lat, lon)`` (an
  optional ``member`` dim first: an ensemble, integer member ids as its coordinate and the
  control's id in the attribute ``control_member``), ascending WGS84 coordinates in degrees;
- ``time`` is UTC (timezone-naive ``datetime64``) and labels the **end** of each
  interval: a value is the depth that fell in ``(t - step, t]``;
- at least one time step; values are finite depths in mm per step, ``NaN`` where missing
  (never 0), between 0 and :data:`MAX_RAIN_RATE_MM_PER_H` scaled to the step;
- attributes ``units="mm"``, ``standard_name="lwe_thickness_of_precipitation_amount"``,
  ``cell_methods="time: sum"``, ``step`` (ISO-8601 duration equal to the spacing of
  ``time``), ``source``, ``issued_at`` (ISO-8601 UTC, forecasts), ``crs`` and
  ``history``.

Rates become depths only through :func:`rate_to_depth`, which records the
assumption; re-accumulation to a longer step only through :func:`reaccumulate`,
which updates ``step``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import xarray as xr

from warn.durations import iso_duration, parse_duration
from warn.errors import DataContractError, Problem

STANDARD_NAME = "lwe_thickness_of_precipitation_amount"
CRS = "EPSG:4326"
DIMS = ("time", "lat", "lon")
#: The ensemble dimension of the contract (first when present).
MEMBER = "member"
#: Negative depths down to this (mm) are rounding noise and are clipped to 0.
NEGATIVE_TOLERANCE_MM = 0.01
#: The highest rain rate (mm/h) taken as physical; a depth above it scaled to the step is refused.
#: Source: above the highest rates ever measured at a gauge over an hour or so — the world record
#: of 305 mm in 42 min (Holt, Missouri, 22 June 1947, about 436 mm/h) and mainland China's hourly
#: record of 201.9 mm (Zhengzhou, 20 July 2021); issue 15 ("e.g. 500 mm/h").
MAX_RAIN_RATE_MM_PER_H = 500.0


def step_of(rain: xr.DataArray) -> timedelta:
    """The accumulation step of a contract array, from its ``step`` attribute."""
    return parse_duration(rain.attrs["step"])


def add_history(rain: xr.DataArray, text: str) -> xr.DataArray:
    """Return ``rain`` with ``text`` appended to its ``history`` attribute (one line per step)."""
    out = rain.copy(deep=False)
    out.attrs = {**rain.attrs, "history": history_with(rain.attrs, text)}
    return out


def history_with(attrs: Mapping[str, Any], text: str) -> str:
    """The ``history`` attribute of ``attrs`` with ``text`` appended as its last line."""
    return f"{attrs.get('history', '')}\n{text}".strip()


def make_rain(
    depth_mm: np.ndarray,
    *,
    time: np.ndarray,
    lat: np.ndarray,
    lon: np.ndarray,
    step: timedelta,
    source: str,
    issued_at: np.datetime64 | None = None,
    history: str = "",
    member: np.ndarray | None = None,
    control_member: int | None = None,
) -> xr.DataArray:
    """Build a contract array from depths and coordinates.

    Parameters
    ----------
    depth_mm
        Depth in mm per step, shape (time, lat, lon), or (member, time, lat, lon) with
        ``member``; NaN where missing.
    time
        End of each interval, UTC ``datetime64``, shape (time,).
    lat, lon
        Cell-centre coordinates in degrees (WGS84), ascending.
    step
        Interval length.
    source
        Where the data came from (URL, file or model name).
    issued_at
        Forecast issue (run) time, UTC; ``None`` for observations.
    history
        What was done to the data so far.
    member
        Integer ids of the ensemble members, shape (member,); ``None`` for a single run.
    control_member
        The control's id among ``member`` (default: the first).

    Returns
    -------
    xarray.DataArray
        Named ``rain``, dims (time, lat, lon) (``member`` first for an ensemble), float32, with
        the contract attributes.
    """
    attrs = {
        "units": "mm",
        "standard_name": STANDARD_NAME,
        "long_name": "precipitation depth per step",
        "cell_methods": "time: sum",
        "step": iso_duration(step),
        "source": source,
        "crs": CRS,
        "history": history,
    }
    if issued_at is not None:
        attrs["issued_at"] = str(np.datetime64(issued_at, "s")) + "Z"
    coords = {
        "time": np.asarray(time, dtype="datetime64[ns]"),
        "lat": np.asarray(lat, dtype=np.float64),
        "lon": np.asarray(lon, dtype=np.float64),
    }
    dims: tuple[str, ...] = DIMS
    if member is not None:
        ids = np.asarray(member, dtype=np.int64)
        coords = {MEMBER: ids, **coords}
        dims = (MEMBER, *DIMS)
        attrs["control_member"] = int(ids[0]) if control_member is None else int(control_member)
    return xr.DataArray(np.asarray(depth_mm, dtype=np.float32), dims=dims, coords=coords, name="rain", attrs=attrs)


def rate_to_depth(rate_mm_per_h: xr.DataArray, step: timedelta, *, assumption: str) -> xr.DataArray:
    """Convert a rain rate to a depth per step; the only place that does.

    Parameters
    ----------
    rate_mm_per_h
        Rain rate in mm/h, dims (time, lat, lon); ``time`` labels the end of the interval
        the rate stands for.
    step
        Interval each rate stands for.
    assumption
        How the rate relates to the interval (``"instantaneous rate held for the step"``,
        ``"mean rate over the step"``); recorded in ``history``.

    Returns
    -------
    xarray.DataArray
        Depth in mm per step (``rate × step``), units attribute ``mm``.
    """
    hours = step.total_seconds() / 3600.0
    depth = rate_mm_per_h * hours
    depth.attrs = {**rate_mm_per_h.attrs, "units": "mm", "step": iso_duration(step)}
    return add_history(depth, f"rate_to_depth: mm/h × {hours:g} h; assumption: {assumption}")


def reaccumulate(rain: xr.DataArray, step: timedelta) -> xr.DataArray:
    """Sum a contract array to a longer step; the only place that re-accumulates.

    Parameters
    ----------
    rain
        Contract array whose step divides ``step``.
    step
        The new interval; intervals end on multiples of ``step`` counted from the
        first interval's start, and a partial last interval is dropped.

    Returns
    -------
    xarray.DataArray
        Depth in mm per ``step``; NaN where any part of the interval is missing.
    """
    ratio, rest = divmod(step.total_seconds(), step_of(rain).total_seconds())
    if rest or ratio < 1:
        raise ValueError(f"new step {iso_duration(step)} is not a multiple of {rain.attrs['step']}")
    factor = int(ratio)
    summed = rain.coarsen(time=factor, boundary="trim", coord_func="max").reduce(np.sum)
    summed.attrs = {**rain.attrs, "step": iso_duration(step)}
    summed.name = rain.name
    return add_history(summed, f"reaccumulate: {rain.attrs['step']} → {iso_duration(step)}")


def check_rain(rain: xr.DataArray, *, where: str) -> xr.DataArray:
    """Check that ``rain`` honours the contract; clip rounding negatives to 0.

    Parameters
    ----------
    rain
        The array to check.
    where
        The file or URL it came from, for messages.

    Returns
    -------
    xarray.DataArray
        ``rain`` with negatives down to ``-NEGATIVE_TOLERANCE_MM`` set to 0.

    Raises
    ------
    DataContractError
        Listing every problem found: dims, coordinates, units, step, no time steps,
        times, non-finite depths, negative depths, depths above
        :data:`MAX_RAIN_RATE_MM_PER_H` scaled to the step, all-NaN steps; a value
        problem names the cell (lat, lon) and the time.
    """
    var = str(rain.name)
    problems = [p for p in _structure_problems(rain, where, var)]
    if problems:
        raise DataContractError(*problems)
    problems = list(_value_problems(rain, where, var))
    if problems:
        raise DataContractError(*problems)
    return rain.where(~(rain < 0), 0.0).assign_attrs(rain.attrs).rename(rain.name)


def _structure_problems(rain: xr.DataArray, where: str, var: str):
    if tuple(rain.dims) not in (DIMS, (MEMBER, *DIMS)):
        yield Problem(where, var, f"dims {DIMS} (optionally member first)", str(rain.dims))
        return
    if MEMBER in rain.dims:
        yield from _member_problems(rain, where, var)
    for name in ("lat", "lon"):
        values = rain[name].values
        if values.size > 1 and not np.all(np.diff(values) > 0):
            yield Problem(where, f"{var}.{name}", "strictly ascending coordinates", "unsorted or repeated")
    if rain.attrs.get("units") != "mm":
        yield Problem(where, f"{var}.units", "'mm'", repr(rain.attrs.get("units")))
    if rain.attrs.get("standard_name") != STANDARD_NAME:
        yield Problem(where, f"{var}.standard_name", repr(STANDARD_NAME), repr(rain.attrs.get("standard_name")))
    times = rain["time"].values
    if times.size == 0:
        yield Problem(where, f"{var}.time", "at least one time step", "none")
        return
    if not np.issubdtype(times.dtype, np.datetime64):
        yield Problem(where, f"{var}.time", "UTC datetime64 values", str(times.dtype))
        return
    if times.size > 1 and not np.all(np.diff(times) > np.timedelta64(0)):
        bad = int(np.argmax(np.diff(times) <= np.timedelta64(0))) + 1
        yield Problem(where, f"{var}.time", "strictly increasing times", f"{times[bad - 1]} then {times[bad]}")
        return
    try:
        step = step_of(rain)
    except (KeyError, ValueError) as err:
        yield Problem(where, f"{var}.step", "an ISO-8601 step attribute such as PT1H", str(err))
        return
    if times.size > 1:
        spacing = np.unique(np.diff(times))
        if spacing.size != 1 or spacing[0] != np.timedelta64(step):
            yield Problem(where, f"{var}.time", f"a regular spacing equal to step {rain.attrs['step']}",
                          ", ".join(str(s.astype("timedelta64[m]")) for s in spacing[:3]))


def _member_problems(rain: xr.DataArray, where: str, var: str):
    ids = rain[MEMBER].values
    if not np.issubdtype(ids.dtype, np.integer) or np.unique(ids).size != ids.size:
        yield Problem(where, f"{var}.{MEMBER}", "distinct integer member ids", ", ".join(map(str, ids[:8])))
        return
    control = rain.attrs.get("control_member")
    if control is None or int(control) not in set(ids.tolist()):
        yield Problem(where, f"{var}.control_member", f"one of the member ids {', '.join(map(str, ids[:8]))}",
                      repr(control))


def _value_problems(rain: xr.DataArray, where: str, var: str):
    data = rain.transpose(..., "time", "lat", "lon")
    values = data.values
    infinite = np.isinf(values)
    if infinite.any():
        yield Problem(where, var, "finite depths", _at(data, infinite))
        return
    limit = MAX_RAIN_RATE_MM_PER_H * step_of(rain).total_seconds() / 3600.0
    above = values > limit
    if above.any():
        yield Problem(where, var, f"depths ≤ {limit:.3g} mm per {rain.attrs['step']} ({MAX_RAIN_RATE_MM_PER_H:g} mm/h)",
                      _at(data, above), "not a physical rain depth: check the variable's units and scale factor")
    minimum = float(data.min(skipna=True)) if np.isfinite(data).any() else 0.0
    if minimum < -NEGATIVE_TOLERANCE_MM:
        at = data.where(data == minimum, drop=True)
        yield Problem(where, var, f"depths ≥ {-NEGATIVE_TOLERANCE_MM} mm", f"{minimum:.3f} mm at time {at['time'].values[0]}")
    all_nan = data.isnull().all(dim=[d for d in data.dims if d != "time"])
    if bool(all_nan.any()):
        first = data["time"].values[np.argmax(all_nan.values)]
        yield Problem(where, var, "at least one value per time step", f"{int(all_nan.sum())} all-NaN step(s), first {first}")


def _at(data: xr.DataArray, mask: np.ndarray) -> str:
    """The first value where ``mask`` holds, with its cell and time: ``inf mm at lat …, lon …, time …``.

    Parameters
    ----------
    data
        Contract array, dims (…, time, lat, lon).
    mask
        Boolean, the shape of ``data``; at least one True.
    """
    index = np.unravel_index(int(np.argmax(mask)), mask.shape)
    *_, t, y, x = index
    moment = str(data["time"].values[t].astype("datetime64[s]"))
    count = int(mask.sum())
    more = f" ({count} values in all)" if count > 1 else ""
    return (f"{float(data.values[index]):g} mm at lat {float(data['lat'].values[y]):g}, "
            f"lon {float(data['lon'].values[x]):g}, time {moment}{more}")


def check_coverage(rain: xr.DataArray, bounds: tuple[float, float, float, float], *, where: str) -> xr.DataArray:
    """Check that the grid of ``rain`` covers a lon/lat box (the zones to be scored).

    Parameters
    ----------
    rain
        Contract array, dims (time, lat, lon); cells are taken to extend half a grid
        spacing either side of their centres.
    bounds
        ``(minx, miny, maxx, maxy)`` in degrees WGS84: lon/lat of the box to cover.
    where
        The file or URL the array came from, for messages.

    Returns
    -------
    xarray.DataArray
        ``rain`` unchanged.

    Raises
    ------
    DataContractError
        When any side of the box lies outside the grid, with both extents.
    """
    minx, miny, maxx, maxy = bounds
    extent = []
    for name in ("lon", "lat"):
        values = rain[name].values
        half = abs(float(values[1] - values[0])) / 2 if values.size > 1 else 0.0
        extent.append((float(values.min()) - half, float(values.max()) + half))
    (x0, x1), (y0, y1) = extent
    if x0 <= minx and maxx <= x1 and y0 <= miny and maxy <= y1:
        return rain
    raise DataContractError(
        Problem(
            where,
            f"{rain.name}.lat/lon",
            f"a grid covering the zones, lon {minx:g}–{maxx:g}, lat {miny:g}–{maxy:g}",
            f"a grid spanning lon {x0:g}–{x1:g}, lat {y0:g}–{y1:g}",
            "the feed's domain does not include the district; check the URL or the subset request",
        )
    )


def issued_at(rain: xr.DataArray) -> datetime:
    """The run's issue time (aware UTC): its ``issued_at``, else the start of its first step."""
    issued = rain.attrs.get("issued_at")
    if issued:
        return datetime.fromisoformat(issued.replace("Z", "+00:00")).astimezone(timezone.utc)
    first = rain["time"].values[0] - np.timedelta64(step_of(rain))
    return datetime.fromisoformat(str(first.astype("datetime64[s]"))).replace(tzinfo=timezone.utc)


def members(rain: xr.DataArray) -> list[int]:
    """The member ids of an ensemble contract array; empty for a single run."""
    return [int(m) for m in rain[MEMBER].values] if MEMBER in rain.dims else []


def control(rain: xr.DataArray) -> xr.DataArray:
    """The control run of an ensemble contract array (``rain`` itself for a single run)."""
    if MEMBER not in rain.dims:
        return rain
    return member(rain, int(rain.attrs["control_member"]))


def member(rain: xr.DataArray, ident: int) -> xr.DataArray:
    """Member ``ident`` of an ensemble contract array as a single run (dims time, lat, lon).

    Raises
    ------
    KeyError
        ``rain`` has no member ``ident``.
    """
    if ident not in members(rain):
        raise KeyError(f"no ensemble member {ident} (members: {', '.join(map(str, members(rain)))})")
    one = rain.sel({MEMBER: ident}, drop=True)
    one.attrs = {k: v for k, v in rain.attrs.items() if k != "control_member"}
    return add_history(one, f"ensemble member {ident}"
                       + (" (control)" if ident == rain.attrs.get("control_member") else ""))


def as_hourly(rain: xr.DataArray) -> xr.DataArray:
    """The run in hourly steps (the models of the cycle are driven per hour)."""
    if step_of(rain) == timedelta(hours=1):
        return rain
    return reaccumulate(rain, timedelta(hours=1))
