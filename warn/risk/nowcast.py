"""The next two hours from the radar frames: motion, extrapolation nowcast, and its blend weight (pure).

Contract
--------
:func:`nowcast` takes the last radar (or analysed) frames as a rainfall contract array
(:mod:`warn.rainarray`: dims (time, lat, lon), depth in mm per step, regular steps) and returns
the rain of the next ``lead`` as a contract array: ``issued_at`` = the last frame's time, times
``last + step`` … ``last + lead`` (each the end of its step), depth in mm per step, dims
(member, time, lat, lon) for an ensemble, else (time, lat, lon). :func:`motion` gives the
motion field it advects with, in grid cells per step (u eastward, v northward), and
:func:`drift` its rain-weighted mean in km/h. :class:`BlendParams` says how the nowcast gives
way to the NWP run (:meth:`BlendParams.weight`). Parameters come from ``models/nowcast.yaml``.

Method (pysteps, Pulkkinen et al. 2019, Geosci. Model Dev. 12, 4185–4219)
-------------------------------------------------------------------------
- Motion: an optical-flow field from the last frames — Proesmans et al. (1994, ECCV) on the
  last two frames (the default: it needs no OpenCV, and tracks the MRMS frames of the tests as
  well as VET at a twentieth of the cost), or VET (Laroche & Zawadzki 1995) on all of them.
  NaN (no coverage) is taken as no rain for the motion only.
- ``extrapolation``: the last frame advected semi-Lagrangian along the motion field
  (Lagrangian persistence; Germann & Zawadzki 2002, Mon. Wea. Rev. 130, 2859–2873). The
  intensities are the observed ones, moved: what a threshold-based warning needs. The default
  for a deterministic nowcast.
- ``sprog``: S-PROG (Seed 2003, J. Appl. Meteor. 42, 381–388) smooths each scale as its
  predictability is lost. It lowers the RMSE of an expected field but flattens the convective
  peaks the rainstorm criteria and the storm-intensity formulas are judged on, so it is
  offered, not the default.
- ``steps``: STEPS (Bowler, Pierce & Seed 2006, Q. J. R. Meteorol. Soc. 132, 2127–2155;
  Seed et al. 2013) adds stochastic perturbations per cascade level to S-PROG and so gives
  an ensemble: it earns its cost (a few seconds per ten members on a 128 × 128 grid) when
  ``members`` > 1, where the members give the probability of each level (issue 19 item 6).
  S-PROG and STEPS run on the dB-transformed depth (values below ``rain_threshold_mm_h``
  taken as no rain) and are transformed back.

Missing data
------------
A cell of the nowcast is known only if every cell its value is drawn from was known in the
last frame: the coverage (1 where the last frame is finite, 0 where NaN, 0 beyond the grid)
is advected like the rain, and wherever it falls below 1 the nowcast is NaN — rain advected
in from outside the grid or from beyond the radar's coverage is unknown, never 0 ("no rain").

The motion and the cascades are estimated on the whole grid in memory (the optical flow and the
cascade's spectra need the whole field): a district's or a city's radar window (a few hundred cells
a side), not a national mosaic. The extrapolation then follows each cell's trajectory back through
the motion field on its own (:func:`advect`: pysteps' semi-Lagrangian scheme, to the bit), so it is
worked over chunks of cells like the time-stepped kernels (``cells``, :mod:`warn.risk.chunks`).
"""

from __future__ import annotations

import contextlib
import io
import math
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from types import ModuleType
from typing import Any

import numpy as np
import xarray as xr
from numpy.typing import NDArray
from scipy.ndimage import map_coordinates

from warn import rainarray
from warn.durations import iso_duration
from warn.errors import DataContractError, Problem
from warn.risk.chunks import CellMap, in_process

#: Nowcast methods (pysteps names): see the module docstring.
METHODS = ("extrapolation", "sprog", "steps")
#: Optical-flow methods available without OpenCV (pysteps names).
MOTIONS = ("proesmans", "vet")
#: Methods that need ``ar_order + 1`` = 3 frames (the AR(2) model of each cascade level).
CASCADE_METHODS = ("sprog", "steps")
#: Mean Earth radius (km), for cell sizes on the WGS84 grid (IUGG mean radius R1).
EARTH_RADIUS_KM = 6371.0088


@dataclass(frozen=True)
class NowcastParams:
    """What :func:`nowcast` does (``models/nowcast.yaml``; each value's source is there).

    Parameters
    ----------
    method
        One of :data:`METHODS`.
    motion
        One of :data:`MOTIONS`.
    frames
        How many of the last frames are used (≥ 2; ≥ 3 for sprog and steps).
    lead
        How far ahead (a multiple of ``step``).
    step
        The frames' spacing and the nowcast's step.
    members
        1: one deterministic nowcast; more: a STEPS ensemble of that many members.
    seed
        Seed of the STEPS perturbations (a rerun gives the same members).
    rain_threshold_mm_h
        Rain rate (mm/h) below which a cell is taken as dry by S-PROG and STEPS.
    cascade_levels
        Number of scales of the S-PROG / STEPS cascade.
    """

    method: str
    motion: str
    frames: int
    lead: timedelta
    step: timedelta
    members: int
    seed: int
    rain_threshold_mm_h: float
    cascade_levels: int

    def __post_init__(self) -> None:
        """Refuse inconsistent parameters, saying which and what is expected."""
        if self.method not in METHODS:
            raise ValueError(f"method to be one of {', '.join(METHODS)}, got {self.method!r}")
        if self.motion not in MOTIONS:
            raise ValueError(f"motion to be one of {', '.join(MOTIONS)}, got {self.motion!r}")
        least = 3 if self.method in CASCADE_METHODS else 2
        if self.frames < least:
            raise ValueError(f"frames ≥ {least} for method {self.method}, got {self.frames}")
        if self.members < 1 or (self.members > 1 and self.method != "steps"):
            raise ValueError(f"members 1, or more with method steps (an ensemble), got {self.members} "
                             f"with method {self.method}")
        if self.step <= timedelta(0) or self.lead < self.step or self.lead % self.step:
            raise ValueError(f"lead a positive multiple of step {iso_duration(self.step)}, "
                             f"got {iso_duration(self.lead)}")
        if self.rain_threshold_mm_h <= 0 or self.cascade_levels < 1:
            raise ValueError("rain_threshold_mm_h > 0 and cascade_levels ≥ 1")


@dataclass(frozen=True)
class BlendParams:
    """How the nowcast gives way to the NWP run (``models/nowcast.yaml``, ``blend:``).

    Parameters
    ----------
    full_until
        Leads up to this are the nowcast's alone (weight 1).
    none_after
        Leads from this on are the NWP run's alone (weight 0); linear in between.
    """

    full_until: timedelta
    none_after: timedelta

    def __post_init__(self) -> None:
        """Refuse a blend that ends before it starts."""
        if self.full_until < timedelta(0) or self.none_after <= self.full_until:
            raise ValueError(f"0 ≤ full_until < none_after, got {iso_duration(self.full_until)} and "
                             f"{iso_duration(self.none_after)}")

    def weight(self, lead: timedelta) -> float:
        """Return the nowcast's weight (0–1) at ``lead`` after its issue; the NWP run's is 1 − that."""
        if lead <= self.full_until:
            return 1.0
        if lead >= self.none_after:
            return 0.0
        return (self.none_after - lead) / (self.none_after - self.full_until)


@dataclass(frozen=True)
class Drift:
    """The rain-weighted mean motion of the last frame.

    Parameters
    ----------
    u_kmh, v_kmh
        Eastward and northward speed (km/h).
    speed_kmh
        Speed (km/h).
    toward_deg
        Bearing the rain moves toward, degrees clockwise from north (0–360); NaN when still.
    """

    u_kmh: float
    v_kmh: float
    speed_kmh: float
    toward_deg: float


def motion(frames: xr.DataArray, params: NowcastParams) -> tuple[xr.DataArray, xr.DataArray]:
    """Estimate the motion field of the last ``params.frames`` frames.

    Parameters
    ----------
    frames
        Contract array (time, lat, lon), depth in mm per ``params.step``.
    params
        The nowcast parameters (``motion``, ``frames``, ``step``).

    Returns
    -------
    (u, v) : tuple of xarray.DataArray
        Eastward and northward motion in grid cells per step, dims (lat, lon).

    Raises
    ------
    DataContractError
        Not a contract array, frames not ``params.step`` apart, fewer frames than ``params.frames``.
    """
    used = _used(frames, params)
    field = _velocity(np.nan_to_num(used.values.astype(np.float64), nan=0.0), params)
    attrs = {"units": "grid cells per step", "step": iso_duration(params.step), "motion_method": params.motion}
    coords = {"lat": used["lat"].values, "lon": used["lon"].values}
    return (xr.DataArray(field[0], dims=("lat", "lon"), coords=coords, name="u", attrs=attrs),
            xr.DataArray(field[1], dims=("lat", "lon"), coords=coords, name="v", attrs=attrs))


def drift(frames: xr.DataArray, u: xr.DataArray, v: xr.DataArray) -> Drift:
    """Average a motion field weighted by the last frame's rain, in km/h.

    Parameters
    ----------
    frames
        Contract array (time, lat, lon): its step and last frame.
    u, v
        From :func:`motion`: grid cells per step, dims (lat, lon).

    Returns
    -------
    Drift
        NaN throughout when the last frame has no rain.
    """
    rain = np.nan_to_num(frames.isel(time=-1).values.astype(np.float64), nan=0.0)
    total = rain.sum()
    if total <= 0:
        return Drift(math.nan, math.nan, math.nan, math.nan)
    dx_km, dy_km = _cell_km(frames)
    hours = rainarray.step_of(frames).total_seconds() / 3600.0
    east = float((u.values * rain).sum() / total) * dx_km / hours
    north = float((v.values * rain).sum() / total) * dy_km / hours
    speed = math.hypot(east, north)
    toward = math.degrees(math.atan2(east, north)) % 360.0 if speed > 0 else math.nan
    return Drift(east, north, speed, toward)


def nowcast(frames: xr.DataArray, params: NowcastParams, *, lead: timedelta | None = None,
            cells: CellMap = in_process) -> xr.DataArray:
    """Extrapolate the last frames to ``lead`` (see the module docstring).

    Parameters
    ----------
    frames
        Contract array (time, lat, lon), depth in mm per ``params.step``, at least
        ``params.frames`` regularly spaced frames; NaN where there is no coverage.
    params
        From ``models/nowcast.yaml``.
    lead
        How far ahead (a multiple of the step); ``params.lead`` when ``None``.
    cells
        Where the extrapolation is worked over the grid's cells (:func:`advect`); this process by default.

    Returns
    -------
    xarray.DataArray
        Contract array ``rain``, depth in mm per step, times ``last + step`` … ``last + lead``,
        ``issued_at`` the last frame's time, dims (member, time, lat, lon) when
        ``params.members`` > 1 (member 0 the control — the last frame advected without perturbation —
        and the ``params.members`` STEPS members 1 …) else (time, lat, lon); NaN where the rain would come from
        outside the known coverage. ``history`` and the attributes ``nowcast_method``,
        ``motion_method``, ``frames_used`` and ``nowcast_skipped`` say how it was made (``"optical flow"``:
        dry frames have no motion; ``"pysteps"``: dry frames observed everywhere give a dry nowcast; the
        same result either way, without the cost).

    Raises
    ------
    DataContractError
        As :func:`motion`.
    ValueError
        ``lead`` not a positive multiple of the step.
    """
    lead = params.lead if lead is None else lead
    if lead < params.step or lead % params.step:
        raise ValueError(f"lead a positive multiple of {iso_duration(params.step)}, got {iso_duration(lead)}")
    steps = lead // params.step
    used = _used(frames, params)
    values = used.values.astype(np.float64)
    still = _still(values)
    dry = still and params.method == "extrapolation" and params.members == 1 and bool(np.isfinite(values[-1]).all())
    depth = (np.zeros((steps, *values.shape[1:])) if dry
             else _advected(values, steps, params, used, still=still, cells=cells))
    last = used["time"].values[-1]
    times = last + np.arange(1, steps + 1) * np.timedelta64(params.step)
    first, final = (str(t.astype("datetime64[m]")) for t in used["time"].values[[0, -1]])
    how = (f"nowcast: {params.method}, motion {params.motion}, {len(used['time'])} frames {first}…{final}, "
           f"{steps} steps of {iso_duration(params.step)} to +{iso_duration(lead)}"
           + (f", {params.members} members (seed {params.seed})" if params.members > 1 else "")
           + "; NaN where the rain would come from outside the known coverage"
           + ("; dry frames, every cell observed: dry throughout (pysteps not run, the same result)" if dry else
              "; dry frames: no motion (the optical flow not run, the same result)" if still else ""))
    history = f"{frames.attrs.get('history', '')}\n{how}".strip()
    source = f"nowcast of {frames.attrs.get('source', 'frames')}"
    lat, lon = used["lat"].values, used["lon"].values

    members, control = None, None
    if params.members > 1:  # member 0 the control, then the members
        members, control = np.arange(len(depth)), 0
    rain = rainarray.make_rain(depth, time=times, lat=lat, lon=lon, step=params.step, source=source, issued_at=last,
                               history=history, member=members, control_member=control)
    rain.attrs.update(nowcast_method=params.method, motion_method=params.motion,
                      frames_used=f"{len(used['time'])} frames {first}…{final}",
                      nowcast_skipped="pysteps" if dry else "optical flow" if still else "")
    return rain


def _advected(values: np.ndarray, steps: int, params: NowcastParams, used: xr.DataArray, *,
              still: bool = False, cells: CellMap = in_process) -> np.ndarray:
    """Nowcast the frames by pysteps; NaN outside the known coverage.

    Returns (steps, lat, lon) depth, or (1 + members, steps, lat, lon) for an ensemble (the control — the last
    frame advected without perturbation — first).

    ``values`` are the used frames (time, lat, lon), mm per step, NaN where not observed; ``still``: they have no
    rain at all (:func:`_still`), so the motion field is 0 without asking the optical flow. The extrapolation
    (and the coverage the cascades need) runs on ``cells``.
    """
    filled = np.nan_to_num(values, nan=0.0)
    velocity = np.zeros((2, *values.shape[1:])) if still else _velocity(filled, params)
    if params.method == "extrapolation" and params.members == 1:
        return advect(velocity, steps, (values[-1], np.nan), cells=cells)[0]  # NaN wherever unknown (_is_known)
    control = ((values[-1], np.nan),) if params.members > 1 else ()  # an ensemble's control: the last frame advected
    *plain, coverage = advect(velocity, steps, *control, (np.isfinite(values[-1]).astype(np.float64), 0.0),
                              cells=cells)
    known = _is_known(coverage)
    depth = np.where(known, _cascade(filled, velocity, steps, params, used), np.nan)
    if plain:
        depth = np.concatenate([np.where(known, plain[0], np.nan)[None], depth])
    return depth


def _is_known(coverage: np.ndarray) -> np.ndarray:
    """Where each step's advected field draws only on cells the last frame observed (steps, lat, lon).

    ``coverage`` is the last frame's coverage (1 observed, 0 not or outside the grid) advected as the rain
    is: a cell is known where it stays 1, i.e. where no unobserved cell has weight in its bilinear
    interpolation. The plain extrapolation of the last frame (NaN where unobserved, NaN outside) is NaN at
    exactly those cells, which is why :func:`_advected` needs this only for the cascades, whose input is
    filled with 0.
    """
    return coverage >= 1.0 - 1e-6


def advect(velocity: NDArray[np.float64], steps: int, *fields: tuple[NDArray[np.float64], float],
           cells: CellMap = in_process) -> tuple[NDArray[np.float64], ...]:
    """Advect fields along a motion field, semi-Lagrangian, each cell on its own.

    The backward scheme of pysteps' ``extrapolation.semilagrangian.extrapolate`` with its defaults
    (one midpoint iteration, bilinear interpolation; Germann & Zawadzki 2002): every step, each cell's
    displacement moves back by the motion interpolated half a step back along it, then the motion is
    taken at the new point and each field is interpolated there. The same operations in the same order
    as pysteps on the whole grid, so the same values to the last bit (tested), but per cell: chunks of
    cells on ``cells`` give the same result.

    Parameters
    ----------
    velocity
        (2, lat, lon) motion in grid cells per step, [0] along lon, [1] along lat; beyond the grid the
        nearest cell's motion.
    steps
        How many steps ahead.
    fields
        Each a (lat, lon) field and the value taken beyond the grid (NaN for the rain, 0 for a coverage).
    cells
        Where the cells' trajectories are worked; this process by default.

    Returns
    -------
    tuple of numpy.ndarray
        One per field, (steps, lat, lon).
    """
    shape = velocity.shape[1:]
    rows, cols = np.divmod(np.arange(shape[0] * shape[1]), shape[1])
    trajectories = partial(_along_trajectories, velocity=velocity, steps=steps, fields=fields)
    return tuple(out.reshape(steps, *shape) for out in cells(trajectories, rows, cols))


def _along_trajectories(rows: NDArray[np.int64], cols: NDArray[np.int64], *, velocity: NDArray[np.float64],
                        steps: int, fields: tuple[tuple[NDArray[np.float64], float], ...]
                        ) -> tuple[NDArray[np.float64], ...]:
    """Follow the cells (``rows``, ``cols``: (cells,)) back along the motion: per field (steps, cells)."""
    x, y = cols.astype(np.float64), rows.astype(np.float64)
    shift_x, shift_y = np.zeros(x.shape), np.zeros(y.shape)
    move_x, move_y = velocity[0][rows, cols], velocity[1][rows, cols]
    out = [np.empty((steps, x.size)) for _ in fields]
    for k in range(steps):
        move_x, move_y = _motion_at(velocity, x + (shift_x - move_x / 2.0), y + (shift_y - move_y / 2.0))
        shift_x -= move_x
        shift_y -= move_y
        move_x, move_y = _motion_at(velocity, x + shift_x, y + shift_y)
        for advected, (field, beyond) in zip(out, fields, strict=True):
            advected[k] = map_coordinates(field, [y + shift_y, x + shift_x], mode="constant", cval=beyond, order=1,
                                          prefilter=False)
    return tuple(out)


def _motion_at(velocity: NDArray[np.float64], x: NDArray[np.float64], y: NDArray[np.float64]
               ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Interpolate the motion (bilinear) at the points (``x``, ``y``); beyond the grid, the nearest cell's."""
    points = [y, x]
    return (map_coordinates(velocity[0], points, mode="nearest", order=1, prefilter=False),
            map_coordinates(velocity[1], points, mode="nearest", order=1, prefilter=False))


def _still(values: np.ndarray) -> bool:
    """Whether the frames (time, lat, lon) have no rain at all: every observed cell 0 mm.

    The optical flow then has nothing to track — both methods give a motion field of exactly 0 (tested) — and
    the extrapolation of a dry frame observed everywhere is dry everywhere, so :func:`nowcast` gives that without
    pysteps; where cells are unobserved, pysteps still advects the coverage (with the motion 0).
    """
    return not bool((np.nan_to_num(values, nan=0.0) != 0.0).any())


def _used(frames: xr.DataArray, params: NowcastParams) -> xr.DataArray:
    """Check the frames and return the last ``params.frames`` of them."""
    where = str(frames.attrs.get("source", "frames"))
    if "member" in frames.dims:
        raise DataContractError(Problem(where, "rain", "frames with dims (time, lat, lon)", str(frames.dims)))
    frames = rainarray.check_rain(frames, where=where)
    step = rainarray.step_of(frames)
    if step != params.step:
        raise DataContractError(Problem(where, "rain.step", f"frames every {iso_duration(params.step)} "
                                        "(models/nowcast.yaml step)", iso_duration(step)))
    if frames.sizes["time"] < params.frames:
        raise DataContractError(Problem(where, "rain.time", f"at least {params.frames} frames "
                                        f"(models/nowcast.yaml frames, method {params.method})",
                                        f"{frames.sizes['time']}"))
    return frames.isel(time=slice(-params.frames, None))


def _velocity(filled: np.ndarray, params: NowcastParams) -> np.ndarray:
    """Estimate the (2, lat, lon) motion field in cells per step: [0] along lon (east), [1] along lat (north)."""
    oflow = _pysteps().motion.get_method(params.motion)
    images = filled[-2:] if params.motion == "proesmans" else filled
    with contextlib.redirect_stdout(io.StringIO()):
        return np.asarray(oflow(images, verbose=False), dtype=np.float64)


def _cascade(filled: np.ndarray, velocity: np.ndarray, steps: int, params: NowcastParams,
             used: xr.DataArray) -> np.ndarray:
    """S-PROG or STEPS on the dB-transformed depth, transformed back (below the threshold: 0)."""
    pysteps = _pysteps()
    transform = pysteps.utils.transformation.dB_transform
    threshold = params.rain_threshold_mm_h * params.step.total_seconds() / 3600.0
    db, meta = transform(filled, threshold=threshold)
    kwargs: dict[str, Any] = {"precip_thr": meta["threshold"], "n_cascade_levels": params.cascade_levels}
    if params.method == "steps":
        dx_km, dy_km = _cell_km(used)
        kwargs.update(n_ens_members=params.members, seed=params.seed, kmperpixel=(dx_km + dy_km) / 2,
                      timestep=params.step.total_seconds() / 60.0)
    with contextlib.redirect_stdout(io.StringIO()):
        out = pysteps.nowcasts.get_method(params.method)(db, velocity, steps, **kwargs)
    depth, _ = transform(np.asarray(out, dtype=np.float64), meta, inverse=True)
    return np.asarray(depth)


def _cell_km(frames: xr.DataArray) -> tuple[float, float]:
    """East–west and north–south size of a grid cell (km) at the grid's middle latitude."""
    lat, lon = frames["lat"].values, frames["lon"].values
    per_degree = math.pi * EARTH_RADIUS_KM / 180.0
    dlat = float(np.diff(lat).mean()) if lat.size > 1 else math.nan
    dlon = float(np.diff(lon).mean()) if lon.size > 1 else math.nan
    return dlon * per_degree * math.cos(math.radians(float(lat.mean()))), dlat * per_degree


def _pysteps() -> ModuleType:
    """Import pysteps and the submodules used here, quietly.

    Its import prints its configuration file's path to stdout (unless its pystepsrc says
    ``silent_import``), which would corrupt a command's output.
    """
    with contextlib.redirect_stdout(io.StringIO()):
        import pysteps
        import pysteps.motion
        import pysteps.nowcasts
        import pysteps.utils.transformation
    return pysteps
