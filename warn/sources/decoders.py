"""Forecast file decoders: one registry, every entry returns the same :class:`Precip`.

A decoder reads one file format and finds the precipitation variable in it; it does
not convert anything. :func:`to_rain` then turns any :class:`Precip` into the rainfall
array contract (``warn.rainarray``): units to mm, accumulations to depth per step,
rates to depths (only through :func:`warn.rainarray.rate_to_depth`), longitudes to
−180…180 and latitudes ascending.

Registered decoders (``DECODERS``):

``netcdf``
    NetCDF-CF through xarray (netCDF4 engine). The variable is found by CF
    ``standard_name``, then GRIB-style short name, then units. Accumulation intervals
    come from the ``time`` bounds; a ``tp`` without bounds is taken as accumulated
    since ``forecast_reference_time`` (the ECMWF convention). A radar mosaic of one time
    (``rainfall_rate`` / ``lwe_precipitation_rate`` in mm/h or kg m-2 s-1, or a depth) may
    be written 2-D with a scalar ``time``; its grid must be lon/lat in degrees.
``grib``
    GRIB 1/2 through cfgrib (``indexpath=""``, every message set via
    ``cfgrib.open_datasets``). Recognises ECMWF ``tp`` (accumulated since the run
    start), NCEP ``prate``/``cpr``/``apcp``, and MRMS ``PrecipRate`` in local tables
    (discipline 209, category 6, number 1; cfgrib calls it ``unknown``; −3 means no
    coverage and becomes NaN).

Both take an ensemble: a NetCDF dimension named ``member``, ``realization``, ``ensemble`` or
``number`` (or whose coordinate has CF ``standard_name`` ``realization``), a GRIB ENS file's
``number`` (ECMWF ENS control 0 and perturbed 1…50, CMA-GEPS alike) become the contract's
``member`` dim first, with integer member ids and the attribute ``control_member``: the id a
``control_member`` attribute of the file names, else the lowest (ECMWF and CMA number their
control 0).

A decoder reads the variable's values through the ``load`` it is given (by default all of them,
here): :func:`warn.sources.forecast.open_forecast` hands one that reads a large file's members or
steps in parts on the service's workers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from warn import rainarray
from warn.config import FilesSpec
from warn.errors import DataContractError, Problem, SourceError
from warn.registry import Registry

#: CF standard names of precipitation depths (per interval or accumulated).
DEPTH_STANDARD_NAMES = frozenset({
    "precipitation_amount",
    "lwe_thickness_of_precipitation_amount",
    "thickness_of_rainfall_amount",
    "rainfall_amount",
})
#: CF standard names of precipitation rates.
RATE_STANDARD_NAMES = frozenset({
    "precipitation_flux",
    "lwe_precipitation_rate",
    "rainfall_flux",
    "rainfall_rate",
})
#: GRIB short names (and common NetCDF variable names) of precipitation.
SHORT_NAMES = frozenset({"tp", "apcp", "acpcp", "prate", "cpr", "cprat", "tprate", "precipitation", "preciprate"})
#: (discipline, parameterCategory, parameterNumber) of MRMS PrecipRate in NSSL's local tables.
MRMS_PRECIP_RATE = (209, 6, 1)
#: MRMS value meaning "no radar coverage".
MRMS_NO_COVERAGE = -3.0
#: Names of an ensemble dimension (CF ``realization``, ECMWF/cfgrib ``number``) → the contract's ``member``.
MEMBER_DIMS = ("member", "realization", "ensemble", "number")
#: Negative differences of an accumulation down to this (mm) are packing noise, clipped to 0.
DEACCUMULATION_TOLERANCE_MM = 0.1
MEMBER = rainarray.MEMBER

# Units spelled without spaces, "**" or "^", lower case → (kind, factor to mm or mm/h).
_UNITS: dict[str, tuple[str, float]] = {
    "mm": ("depth", 1.0),
    "m": ("depth", 1000.0),
    "kgm-2": ("depth", 1.0),
    "kg/m2": ("depth", 1.0),
    "mm/h": ("rate", 1.0),
    "mm/hr": ("rate", 1.0),
    "mmh-1": ("rate", 1.0),
    "mmhr-1": ("rate", 1.0),
    "mm/s": ("rate", 3600.0),
    "mms-1": ("rate", 3600.0),
    "kgm-2s-1": ("rate", 3600.0),
    "kg/m2/s": ("rate", 3600.0),
    "ms-1": ("rate", 3.6e6),
    "m/s": ("rate", 3.6e6),
}


@dataclass(frozen=True)
class Precip:
    """A precipitation variable as decoded from a file, before normalisation.

    Parameters
    ----------
    data
        Values in the file's units, dims (time, lat, lon) — (member, time, lat, lon) for an
        ensemble, integer member ids — coordinates as in the file (longitudes may be 0–360,
        latitudes descending); NaN where missing.
    var
        The variable's name in the file.
    units
        Its units as written in the file.
    ends
        End of each accumulation interval, or the instant of each rate; UTC
        ``datetime64[ns]``, shape (time,).
    starts
        Start of each interval for accumulations and mean rates, shape (time,);
        ``None`` for depths per step (interval = time spacing) and instantaneous rates.
    issued_at
        The run (reference) time found in the file, or ``None``.
    how
        What the decoder recognised, for ``history``.
    control
        The control member's id of an ensemble (``None`` without a member dim).
    """

    data: xr.DataArray
    var: str
    units: str
    ends: np.ndarray
    starts: np.ndarray | None
    issued_at: np.datetime64 | None
    how: str
    control: int | None = None


Decoder = Callable[..., Precip]
#: How a decoder reads its variable's values: the lazy array (member or time first, then lat, lon; as in
#: the file) in, the same array with its values in memory out.
Load = Callable[[xr.DataArray], xr.DataArray]


def load_here(da: xr.DataArray) -> xr.DataArray:
    """Read all of ``da`` in this process (the default :data:`Load`)."""
    return da.load()

DECODERS: Registry[Decoder] = Registry("forecast decoder")
#: Checks of what a file declares, by decoder name: (path, limits, where) → None or raise.
DECLARED: Registry[Callable[[Path, FilesSpec, str], None]] = Registry("forecast size check")


def check_shape(where: str, var: str, dims: Mapping[str, int], limits: FilesSpec, *, itemsize: int = 8,
                grid_dims: int = 2) -> None:
    """Refuse an array declaring more than the limits, before any of it is read.

    The last ``grid_dims`` dimensions are the grid (``files.max_grid_cells``), the others times
    (``files.max_time_steps``; an ensemble dim, :data:`MEMBER_DIMS`, is not a time), and all of it, as
    float64 after decoding, ``files.max_field_bytes``.
    A 1-D array (a coordinate) counts as a grid when it is its only dimension.

    Raises
    ------
    SourceError
        Naming the file, the variable, its declared shape and the limit passed.
    """
    sizes = list(dims.values())
    split = max(len(sizes) - grid_dims, 0)
    times = [size for name, size in list(dims.items())[:split] if name not in MEMBER_DIMS]
    cells, steps = _product(sizes[split:]), _product(times)
    total = _product(sizes) * max(itemsize, 8)
    shape = "(" + ", ".join(f"{name} {size:,}" for name, size in dims.items()) + ")"
    for value, limit, key, what in ((cells, limits.max_grid_cells, "max_grid_cells", "cells (lat × lon) a field"),
                                    (steps, limits.max_time_steps, "max_time_steps", "time steps"),
                                    (total, limits.max_field_bytes, "max_field_bytes", "bytes decoded")):
        if value > limit:
            raise SourceError(Problem(where, var, f"at most {limit:,} {what} (files.{key})",
                                      f"the declared shape {shape}: {value:,}",
                                      "checked before reading: a file may declare far more than it holds"))


def _product(sizes: list[int]) -> int:
    total = 1
    for size in sizes:
        total *= size
    return total


@DECLARED.register("netcdf")
def _netcdf_declared(path: Path, limits: FilesSpec, where: str) -> None:
    import netCDF4

    try:
        with netCDF4.Dataset(path) as ds:
            arrays = [(name, {d.name: len(d) for d in v.get_dims()}, v.dtype)
                      for name, v in ds.variables.items()]
    except OSError as err:
        raise SourceError(Problem(where, "", "a readable NetCDF-CF file", str(err))) from None
    for name, dims, dtype in arrays:
        check_shape(where, name, dims, limits, itemsize=getattr(dtype, "itemsize", 8))


@DECLARED.register("grib")
def _grib_declared(path: Path, limits: FilesSpec, where: str) -> None:
    import eccodes

    records: dict[tuple[str, int], int] = {}  # by variable and ensemble member (0 outside an ensemble)
    with open(path, "rb") as handle:
        while (message := _next_grib(handle, where)) is not None:
            try:
                name = str(eccodes.codes_get(message, "shortName"))
                cells = int(eccodes.codes_get(message, "numberOfPoints"))
                number = int(eccodes.codes_get(message, "number", ktype=int)) if eccodes.codes_is_defined(
                    message, "number") else 0
            finally:
                eccodes.codes_release(message)
            key = (name, number)
            records[key] = records.get(key, 0) + 1
            check_shape(where, name, {"records": records[key], "points": cells}, limits, grid_dims=1)


def _next_grib(handle: Any, where: str) -> Any:
    import eccodes

    try:
        return eccodes.codes_grib_new_from_file(handle, headers_only=True)
    except Exception as err:  # eccodes raises many types for a broken file
        raise SourceError(Problem(where, "", "a readable GRIB file", f"{type(err).__name__}: {err}")) from None


def check_declared(path: Path, name: str, limits: FilesSpec, *, where: str) -> None:
    """Check what the forecast file at ``path`` declares (decoder ``name``) against ``limits`` (see :func:`check_shape`)."""
    DECLARED.get(name, where=where, key="decoder")(path, limits, where)


def sniff(path: Path) -> str:
    """Name of the decoder for ``path`` from its first bytes (``grib`` or ``netcdf``).

    Raises
    ------
    SourceError
        When the file cannot be read or is neither GRIB nor NetCDF.
    """
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except OSError as err:
        raise SourceError(Problem(str(path), "", "a readable forecast file", str(err))) from None
    if head.startswith(b"GRIB"):
        return "grib"
    if head.startswith((b"CDF", b"\x89HDF")):
        return "netcdf"
    raise SourceError(
        Problem(str(path), "", "a GRIB (starts 'GRIB') or NetCDF (starts 'CDF' or HDF5) file",
                f"first bytes {head!r}")
    )


def parse_units(units: str, *, where: str, var: str) -> tuple[str, float]:
    """Classify a units string as a depth or a rate.

    Returns
    -------
    tuple of (str, float)
        ``("depth", factor to mm)`` or ``("rate", factor to mm/h)``.

    Raises
    ------
    DataContractError
        When the units are missing or are neither a precipitation depth nor a rate.
    """
    key = _units_key(units)
    if key not in _UNITS:
        raise DataContractError(
            Problem(where, f"{var}.units", "a precipitation depth (mm, m, kg m-2) or rate (mm/h, kg m-2 s-1, m s-1)",
                    repr(units))
        )
    return _UNITS[key]


@DECODERS.register("netcdf")
def decode_netcdf(
    path: Path, *, var: str | None = None, where: str, filter_by_keys: Mapping[str, Any] | None = None,
    load: Load = load_here
) -> Precip:
    """Decode a NetCDF-CF file (see the module docstring); ``filter_by_keys`` must be empty."""
    if filter_by_keys:
        raise SourceError(Problem(where, "", "no filter_by_keys for a NetCDF file (it selects GRIB messages)",
                                  repr(dict(filter_by_keys))))
    try:
        ds = xr.open_dataset(path, engine="netcdf4", decode_timedelta=True)
    except (OSError, ValueError) as err:
        raise SourceError(Problem(where, "", "a readable NetCDF-CF file", str(err))) from None
    with ds:
        ds = _single_time(ds)
        name = var or _find_variable(ds, where)
        if name not in ds.data_vars:
            raise DataContractError(Problem(where, name, "a variable of that name", f"variables {_listing(ds)}"))
        data = load(_spatial(ds[name], where, name))
        units = str(data.attrs.get("units", ""))
        ends = data["time"].values.astype("datetime64[ns]")
        issued = _reference_time(ds)
        bounds_name = ds["time"].attrs.get("bounds") or ds["time"].encoding.get("bounds")
        starts = None
        how = f"NetCDF-CF variable {name!r} ({units})"
        if bounds_name and bounds_name in ds.variables:
            bounds = ds[bounds_name].values.astype("datetime64[ns]")
            starts, ends = bounds[:, 0], bounds[:, 1]
            how += f", intervals from {bounds_name}"
        elif _short_name(ds[name]) == "tp":
            if issued is None:
                raise DataContractError(Problem(where, name, "a forecast_reference_time for tp accumulated since "
                                                "the run start", "none"))
            starts = np.full(ends.shape, issued)
            how += ", ECMWF tp accumulated since forecast_reference_time"
        data = data.drop_vars([c for c in data.coords if c not in data.dims])
        data, control = _ensemble(data, ds, where, name)
        if control is not None:
            how += f", {data.sizes[MEMBER]} ensemble members (control {control})"
        return Precip(data=data, var=name, units=units, ends=ends, starts=starts, issued_at=issued, how=how,
                      control=control)


@DECODERS.register("grib")
def decode_grib(
    path: Path, *, var: str | None = None, where: str, filter_by_keys: Mapping[str, Any] | None = None,
    load: Load = load_here
) -> Precip:
    """Decode a GRIB 1/2 file with cfgrib (see the module docstring).

    ``filter_by_keys`` selects messages (e.g. ``{"Ni": 72}`` or ``{"stepType": "avg"}``)
    when a file holds the variable on several grids or in several kinds of record.
    """
    import cfgrib

    read_keys = ["centre", "discipline", "parameterCategory", "parameterNumber", "startStep"]
    kwargs: dict[str, Any] = {"indexpath": "", "read_keys": read_keys}
    if filter_by_keys:
        kwargs["filter_by_keys"] = dict(filter_by_keys)
    try:
        datasets = cfgrib.open_datasets(str(path), backend_kwargs=kwargs, decode_timedelta=True)
    except Exception as err:  # cfgrib and eccodes raise many types for a broken file
        raise SourceError(Problem(where, "", "a readable GRIB file", f"{type(err).__name__}: {err}")) from None
    found = [(ds, name) for ds in datasets for name in ds.data_vars if _is_grib_precip(ds[name], name, var)]
    if not found:
        present = sorted({f"{n} ({ds[n].attrs.get('GRIB_name', '?')})" for ds in datasets for n in ds.data_vars})
        expected = (f"the variable {var!r}" if var
                    else "a precipitation variable (tp, apcp, prate, cpr, MRMS PrecipRate)")
        raise DataContractError(Problem(where, var or "", expected, f"variables {', '.join(present) or 'none'}"))
    # A mean or accumulated record says more about an interval than an instantaneous one.
    best = [(ds, n) for ds, n in found if ds[n].attrs.get("GRIB_stepType") != "instant"] or found
    if len(best) > 1:
        described = "; ".join(_describe_grib(ds, n) for ds, n in best)
        raise SourceError(Problem(where, best[0][1], "one precipitation record set", described,
                                  "pass filter_by_keys, e.g. {'Ni': ...} or {'dataDate': ...}"))
    ds, name = best[0]
    return _grib_precip(ds, name, where, load)


def _is_grib_precip(da: xr.DataArray, name: str, var: str | None) -> bool:
    if var is not None:
        return name == var
    code = tuple(da.attrs.get(f"GRIB_{k}") for k in ("discipline", "parameterCategory", "parameterNumber"))
    return code == MRMS_PRECIP_RATE or str(da.attrs.get("GRIB_shortName", name)).lower() in SHORT_NAMES


def _describe_grib(ds: xr.Dataset, name: str) -> str:
    a = ds[name].attrs
    run = np.atleast_1d(ds["time"].values)[0]
    return f"{name} stepType={a.get('GRIB_stepType')} Ni={a.get('GRIB_Nx')} Nj={a.get('GRIB_Ny')} run={str(run)[:16]}"


def _grib_precip(ds: xr.Dataset, name: str, where: str, load: Load) -> Precip:
    da = ds[name]
    attrs = da.attrs
    for dim in ("time", "step"):
        if dim not in da.dims:
            da = da.expand_dims(dim)
    if da.sizes["time"] > 1 and da.sizes["step"] > 1:
        raise SourceError(Problem(where, name, "one run (several steps) or one step of several runs",
                                  f"{da.sizes['time']} runs × {da.sizes['step']} steps",
                                  "pass filter_by_keys={'dataDate': ...}"))
    along = "step" if da.sizes["step"] > 1 else "time"
    other = "time" if along == "step" else "step"
    da = da.isel({other: 0})
    runs = np.broadcast_to(da["time"].values, (da.sizes[along],)).astype("datetime64[ns]")
    steps = np.broadcast_to(da["step"].values, (da.sizes[along],)).astype("timedelta64[ns]")
    ends = runs + steps
    da = da.rename({along: "valid", "latitude": "lat", "longitude": "lon"})
    da = da.drop_vars([c for c in da.coords if c not in ("lat", "lon", "number")])
    da = da.rename({"valid": "time"}).assign_coords(time=ends)
    da = da.drop_vars("number") if "number" in da.coords and "number" not in da.dims else da
    da, control = _ensemble(da, ds, where, name)
    da = load(da if control is not None else da.transpose("time", "lat", "lon"))
    da.attrs = attrs
    units = str(attrs.get("GRIB_units", attrs.get("units", "")))
    short = str(attrs.get("GRIB_shortName", name))
    code = tuple(attrs.get(f"GRIB_{k}") for k in ("discipline", "parameterCategory", "parameterNumber"))
    starts = None
    how = f"GRIB {short} (paramId {attrs.get('GRIB_paramId')}, stepType {attrs.get('GRIB_stepType')}, {units})"
    if code == MRMS_PRECIP_RATE:
        units = "mm/h"
        da = da.where(da != MRMS_NO_COVERAGE)
        how = (f"GRIB MRMS PrecipRate (local table {code}), instantaneous mm/h, "
               f"{MRMS_NO_COVERAGE:g} (no coverage) → NaN")
    elif short == "tp" and attrs.get("GRIB_centre") == "ecmf":
        starts = runs.copy()
        how += ", ECMWF tp accumulated since the run start"
    elif attrs.get("GRIB_stepType") in ("accum", "avg"):
        start_step = attrs.get("GRIB_startStep")
        if start_step is None:
            raise SourceError(Problem(where, name, "records with one start step each (GRIB startStep)",
                                      "start steps that differ between records",
                                      "pass filter_by_keys={'startStep': ...}"))
        unit = {1: "h", 0: "m"}.get(int(attrs.get("GRIB_stepUnits", 1)), "h")
        starts = runs + np.timedelta64(int(start_step), unit).astype("timedelta64[ns]")
        how += f", interval from start step {start_step}{unit}"
    if control is not None:
        how += f", {da.sizes[MEMBER]} ensemble members (control {control})"
    return Precip(data=da, var=name, units=units, ends=ends, starts=starts, issued_at=runs[0], how=how,
                  control=control)


def to_rain(
    precip: Precip,
    *,
    where: str,
    source: str,
    issued_at: np.datetime64 | None = None,
    step: timedelta | None = None,
) -> xr.DataArray:
    """Normalise a decoded variable to the rainfall array contract (not yet checked).

    Parameters
    ----------
    precip
        What a decoder returned.
    where
        File or URL, for messages.
    source
        Source name recorded in the ``source`` attribute.
    issued_at
        Run time, UTC; defaults to the one found in the file.
    step
        Interval an instantaneous rate or a per-step depth stands for when the file
        holds a single time (otherwise the time spacing is used).

    Returns
    -------
    xarray.DataArray
        ``rain``: depth in mm per step, dims (time, lat, lon) (``member`` first for an
        ensemble), time = interval end.
    """
    kind, factor = parse_units(precip.units, where=where, var=precip.var)
    history = [f"decoded {where}: {precip.how}"]
    values = precip.data.astype(np.float64)
    ends = precip.ends
    if kind == "depth":
        values = values * factor
        history.append(f"units {precip.units!r} × {factor:g} → mm")
        if precip.starts is not None:
            values, ends, interval, clipped = _deaccumulate(values, precip.starts, precip.ends,
                                                            where=where, var=precip.var)
            history.append(f"de-accumulated intervals {_span(precip.starts, precip.ends)} to depth per "
                           f"{rainarray.iso_duration(interval)}; {clipped} negative difference(s) ≥ "
                           f"-{DEACCUMULATION_TOLERANCE_MM:g} mm set to 0")
        else:
            interval = _spacing(ends, step, where=where, var=precip.var, what="a depth per step")
        depth = values
    else:
        rate = values * factor
        history.append(f"units {precip.units!r} × {factor:g} → mm/h")
        if precip.starts is not None:
            lengths = np.unique(precip.ends - precip.starts)
            if lengths.size != 1 or lengths[0] <= np.timedelta64(0):
                raise DataContractError(Problem(where, precip.var, "mean rates over intervals of one length",
                                                _span(precip.starts, precip.ends)))
            interval = timedelta(seconds=int(lengths[0] / np.timedelta64(1, "s")))
            assumption = f"mean rate over the {rainarray.iso_duration(interval)} interval"
        else:
            interval = _spacing(ends, step, where=where, var=precip.var, what="an instantaneous rate")
            assumption = "instantaneous rate at the end of the step, held over the step"
        rate = rate.assign_attrs(history="\n".join(history))
        depth = rainarray.rate_to_depth(rate, interval, assumption=assumption)
        history = depth.attrs["history"].splitlines()
    depth = _wgs84(depth, history)
    issued = issued_at if issued_at is not None else precip.issued_at
    return rainarray.make_rain(
        depth.values,
        time=ends,
        lat=depth["lat"].values,
        lon=depth["lon"].values,
        step=interval,
        source=source,
        issued_at=issued,
        history="\n".join(history),
        member=depth[MEMBER].values if MEMBER in depth.dims else None,
        control_member=precip.control,
    )


def _deaccumulate(values: xr.DataArray, starts: np.ndarray, ends: np.ndarray, *, where: str, var: str):
    """Depth per step from accumulations over ``(start, end]`` (run totals, buckets or steps).

    Interval ``k`` is ``(end[k-1], end[k]]`` (the first starts at the earliest start).
    When record ``k`` starts at ``end[k-1]`` its value is the depth; otherwise the
    record over ``(start[k], end[k-1]]`` is subtracted (ECMWF run totals, GFS 6 h
    buckets), and negative differences down to ``DEACCUMULATION_TOLERANCE_MM`` (packing
    noise) are set to 0. Zero-length records (the step-0 field) are dropped.
    """
    if np.any(np.diff(ends) <= np.timedelta64(0)):
        raise DataContractError(Problem(where, f"{var}.time", "strictly increasing interval ends",
                                        _span(starts, ends)))
    keep = ends > starts
    data, starts, ends = values.values[..., keep, :, :], starts[keep], ends[keep]
    origin = starts.min()
    index = {(s, e): k for k, (s, e) in enumerate(zip(starts, ends))}
    depth = np.empty_like(data)
    clipped = 0
    for k in range(len(ends)):
        previous = ends[k - 1] if k else origin
        if starts[k] == previous:
            depth[..., k, :, :] = data[..., k, :, :]
            continue
        j = index.get((starts[k], previous))
        if j is None:
            raise DataContractError(Problem(where, var, "accumulations that start at the run start, at an earlier "
                                            "interval end, or together with an earlier record",
                                            f"an interval {_span(starts[k:k + 1], ends[k:k + 1])}"))
        difference = data[..., k, :, :] - data[..., j, :, :]
        noise = (difference < 0) & (difference >= -DEACCUMULATION_TOLERANCE_MM)
        clipped += int(noise.sum())
        depth[..., k, :, :] = np.where(noise, 0.0, difference)
    points = np.concatenate([[origin], ends])
    lengths = np.unique(np.diff(points))
    if lengths.size != 1:
        raise DataContractError(Problem(where, f"{var}.time", "intervals of one length after de-accumulation",
                                        ", ".join(str(x.astype("timedelta64[m]")) for x in lengths)))
    out = xr.DataArray(depth, dims=values.dims,
                       coords={**{d: values[d].values for d in values.dims if d != "time"}, "time": ends})
    interval = timedelta(seconds=int(lengths[0] / np.timedelta64(1, "s")))
    return out, ends, interval, clipped


def _spacing(ends: np.ndarray, step: timedelta | None, *, where: str, var: str, what: str) -> timedelta:
    if ends.size > 1:
        spacing = np.unique(np.diff(ends))
        if spacing.size != 1 or spacing[0] <= np.timedelta64(0):
            raise DataContractError(Problem(where, f"{var}.time", "strictly increasing, regularly spaced times",
                                            ", ".join(str(t)[:19] for t in ends[:6])))
        return timedelta(seconds=int(spacing[0] / np.timedelta64(1, "s")))
    if step is None:
        raise SourceError(Problem(where, var, f"several times, or step= for {what} at a single time",
                                  f"one time {str(ends[0])[:19]}", "pass step=timedelta(...) to open_forecast"))
    return step


def _wgs84(da: xr.DataArray, history: list[str]) -> xr.DataArray:
    lon = da["lon"].values
    if lon.max() > 180:
        da = da.assign_coords(lon=((lon + 180.0) % 360.0) - 180.0)
        history.append("longitudes 0–360 → −180–180")
    if da["lon"].size > 1 and not np.all(np.diff(da["lon"].values) > 0):
        da = da.sortby("lon")
        _, first = np.unique(da["lon"].values, return_index=True)
        da = da.isel(lon=first)
    if da["lat"].size > 1 and da["lat"].values[0] > da["lat"].values[-1]:
        da = da.sortby("lat")
        history.append("latitudes made ascending")
    return da


def _single_time(ds: xr.Dataset) -> xr.Dataset:
    """A field of one time written 2-D with a scalar ``time`` coordinate (as radar mosaics often are),
    given a ``time`` dimension of length 1 (its bounds, if any, become (time, 2))."""
    if "time" not in ds.coords or ds["time"].ndim != 0:
        return ds
    return ds.expand_dims("time")


def _spatial(da: xr.DataArray, where: str, name: str) -> xr.DataArray:
    names = {"latitude": "lat", "longitude": "lon", "y": "lat", "x": "lon"}
    names |= {d: MEMBER for d in da.dims if _is_member_dim(da, d)}
    for dim in ("x", "y"):
        units = str(da[dim].attrs.get("units", "degrees")) if dim in da.coords else "degrees"
        if dim in da.dims and not units.lower().startswith("degree"):
            raise DataContractError(Problem(where, f"{name}.{dim}", "a regular lon/lat grid in degrees (WGS84)",
                                            f"projected coordinates in {units!r}",
                                            "reproject the mosaic to lon/lat before it is read"))
    da = da.rename({d: names[d] for d in da.dims if d in names})
    if set(da.dims) - {MEMBER} != {"time", "lat", "lon"}:
        raise DataContractError(Problem(where, name, "dims (time, lat, lon), optionally an ensemble dim "
                                        f"({', '.join(MEMBER_DIMS)})", str(da.dims)))
    return da.transpose(*((MEMBER,) if MEMBER in da.dims else ()), "time", "lat", "lon")


def _is_member_dim(da: xr.DataArray, dim: Any) -> bool:
    return dim in MEMBER_DIMS or (dim in da.coords and da[dim].attrs.get("standard_name") == "realization")


def _ensemble(da: xr.DataArray, ds: xr.Dataset, where: str, name: str) -> tuple[xr.DataArray, int | None]:
    """``da`` with its ensemble dim (if any) named ``member``, first, integer ids; and the control's id.

    The control is the id a ``control_member`` attribute (of the member coordinate, the variable or
    the file) names, else the lowest id.
    """
    dim = next((d for d in da.dims if d == MEMBER or _is_member_dim(da, d)), None)
    if dim is None:
        return da, None
    da = da.rename({dim: MEMBER}) if dim != MEMBER else da
    da = da.transpose(MEMBER, "time", "lat", "lon")
    ids = da[MEMBER].values if MEMBER in da.coords else np.arange(da.sizes[MEMBER])
    if not np.issubdtype(np.asarray(ids).dtype, np.number) or np.any(np.asarray(ids) != np.round(ids)):
        raise DataContractError(Problem(where, f"{name}.{dim}", "integer ensemble member ids",
                                        ", ".join(map(str, np.asarray(ids)[:8]))))
    ids = np.asarray(ids).astype(np.int64)
    if np.unique(ids).size != ids.size:
        raise DataContractError(Problem(where, f"{name}.{dim}", "distinct ensemble member ids",
                                        ", ".join(map(str, ids[:8]))))
    named = [a.attrs.get("control_member") for a in (da[MEMBER], da, ds) if "control_member" in a.attrs]
    da = da.assign_coords({MEMBER: ids})
    control = int(named[0]) if named else int(ids.min())
    if control not in set(ids.tolist()):
        raise DataContractError(Problem(where, f"{name}.control_member", "one of the member ids "
                                        + ", ".join(map(str, ids[:8])), str(named[0])))
    return da, control


def _find_variable(ds: xr.Dataset, where: str) -> str:
    candidates = [n for n in ds.data_vars if "time" in ds[n].dims and (len(ds[n].dims) == 3 or (
        len(ds[n].dims) == 4 and any(_is_member_dim(ds[n], d) for d in ds[n].dims)))]
    rules = (
        lambda n: ds[n].attrs.get("standard_name") in DEPTH_STANDARD_NAMES | RATE_STANDARD_NAMES,
        lambda n: _short_name(ds[n]) in SHORT_NAMES,
        lambda n: _units_key(str(ds[n].attrs.get("units", ""))) in _UNITS,
    )
    for rule in rules:
        hits = [n for n in candidates if rule(n)]
        if len(hits) == 1:
            return str(hits[0])
        if len(hits) > 1:
            raise SourceError(Problem(where, "", "one precipitation variable",
                                      f"several: {', '.join(map(str, hits))}", "pass var= to choose"))
    raise DataContractError(Problem(where, "", "a precipitation variable (CF standard_name precipitation_amount, "
                                    "precipitation_flux, …; short name tp/apcp/prate; or units mm, m, mm/h, "
                                    "kg m-2 s-1)", f"variables {_listing(ds)}"))


def _units_key(units: str) -> str:
    """``units`` lower case without spaces, ``**`` or ``^`` (``kg m**-2 s**-1`` → ``kgm-2s-1``)."""
    return (units or "").strip().lower().replace("**", "").replace("^", "").replace(" ", "")


def _short_name(da: xr.DataArray) -> str:
    return str(da.attrs.get("GRIB_shortName", da.name)).lower()


def _reference_time(ds: xr.Dataset) -> np.datetime64 | None:
    for name in ds.variables:
        if ds[name].attrs.get("standard_name") == "forecast_reference_time" and ds[name].size == 1:
            return np.datetime64(ds[name].values.ravel()[0], "ns")
    return None


def _listing(ds: xr.Dataset) -> str:
    return ", ".join(f"{n} ({ds[n].attrs.get('units', 'no units')})" for n in ds.data_vars) or "none"


def _span(starts: np.ndarray, ends: np.ndarray) -> str:
    items = [f"{str(s)[:16]}–{str(e)[:16]}" for s, e in zip(starts[:4], ends[:4])]
    return ", ".join(items) + (", …" if len(ends) > 4 else "")
