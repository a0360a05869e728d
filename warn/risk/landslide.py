"""Landslide and dangerous-rock scores: effective rainfall, soil water index, critical lines, levels.

Pure functions on numpy arrays (and, for the soil water index, xarray/Dask arrays);
parameters are frozen objects built from ``models/landslide.yaml``
(:meth:`warn.modelfiles.LandslideFile.params`); nothing here reads files or clocks.
Rain is depth in mm per step; levels are :class:`warn.vocab.Level` (``UNKNOWN`` where the
evidence is missing, never ``NONE``).

Equations: MODELS.md, "Landslide and dangerous rock".

- Effective rainfall (有效降雨量) with a half-life T: ``R_e(t) = Σ_h R_h · 0.5^(age_h / T)``
  over the hourly rain R_h, age the hours from the end of hour h to t.
- Soil Water Index, the JMA three-tank series model (Ishihara & Kobatake 1979;
  Okada et al. 2001): ``SWI = S1 + S2 + S3``, see :func:`soil_water_index`.
- Critical lines (CL) in the plane of 60-minute rain and SWI, as JMA's sediment-disaster
  warnings (土砂災害警戒情報, 土砂キキクル) judge them: a level is reached where
  ``R60 / a + SWI / b ≥ 1`` for its line's intercepts a (mm/h) and b (mm).
- Trigger score on the common 0–100 scale (the larger of the critical-line and the
  effective-rainfall scores), zone level from the susceptibility matrix, official
  bulletins as a floor.
- Dangerous rock (危岩): plane-failure stability coefficient
  ``K = [cL + (W cosθ − Q sinθ − U − V sinθ) tanφ] / (W sinθ + Q cosθ + V cosθ)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from math import ceil
from typing import overload

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike, NDArray

from warn.risk import kernels
from warn.risk.chunks import CellMap, in_process
from warn.risk.drivers import Driver
from warn.risk.kernels import Method
from warn.risk.levels import SCORE_MAX, LevelParams
from warn.vocab import Level

#: Unit weight of water, kN/m³.
GAMMA_W = 9.81
#: Names of the trigger quantities, in the order of :func:`trigger_score`'s driver index: the
#: critical line (SWI against 60-minute rain) and the effective rainfall.
TRIGGER_QUANTITIES = ("SWI", "有效降雨")
#: Name of the 60-minute rain in the drivers.
RAIN_60MIN = "60分钟雨量"


# ---------------------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TankParams:
    """The three-tank series model (``models/landslide.yaml`` ``tank``).

    Attributes
    ----------
    L1, L2
        Heights of tank 1's side outlets, mm (L1 < L2).
    alpha1, alpha2
        Their outflow coefficients, 1/h.
    beta1
        Tank 1's bottom (infiltration) coefficient, 1/h.
    L3, alpha3, beta2
        Tank 2's side outlet (mm, 1/h) and bottom coefficient (1/h).
    L4, alpha4, beta3
        Tank 3's side outlet (mm, 1/h) and bottom coefficient (1/h; water leaves the model).
    substep_h
        Longest internal time step, h (10 min = 1/6 h).
    """

    L1: float
    alpha1: float
    L2: float
    alpha2: float
    beta1: float
    L3: float
    alpha3: float
    beta2: float
    L4: float
    alpha4: float
    beta3: float
    substep_h: float


@dataclass(frozen=True)
class TriggerThresholds:
    """Trigger thresholds of one zone, each ordered blue, yellow, orange, red.

    Level i's critical line joins ``(rain_60min_mm[i], 0)`` and ``(0, swi_mm[i])`` in the
    plane of 60-minute rain (x) and SWI (y).

    Attributes
    ----------
    swi_mm
        The critical lines' SWI intercepts: the SWI that reaches the level without rain, mm.
    rain_60min_mm
        The critical lines' 60-minute-rain intercepts: the hour's rain that reaches the
        level on dry soil, mm.
    effective_rain_mm
        Effective rainfall thresholds, mm.
    scores
        Score of each threshold on the 0–100 scale: the level boundaries (25, 50, 70, 85).
    provisional
        The thresholds are placeholders until the district calibrates them.
    """

    swi_mm: tuple[float, float, float, float]
    rain_60min_mm: tuple[float, float, float, float]
    effective_rain_mm: tuple[float, float, float, float]
    scores: tuple[float, float, float, float]
    provisional: bool


@dataclass(frozen=True)
class RockParams:
    """Dangerous-rock (危岩) parameters (``models/landslide.yaml`` ``dangerous_rock``).

    Attributes
    ----------
    normal_fill, rainstorm_fill
        Crack water column as a fraction of crack depth, normally and in a rainstorm.
    rainstorm_rain_24h_mm
        24-h rain (mm) from which the rainstorm case applies.
    rainstorm_swi_level
        SWI trigger level from which the rainstorm case applies.
    stability
        ``(below, level)`` rungs: K below ``below`` puts the object at ``level`` at least.
    """

    normal_fill: float
    rainstorm_fill: float
    rainstorm_rain_24h_mm: float
    rainstorm_swi_level: Level
    stability: tuple[tuple[float, Level], ...]


@dataclass(frozen=True)
class LandslideParams:
    """Parameters of the landslide model (``models/landslide.yaml``).

    Attributes
    ----------
    half_life_h
        Half-life of the effective rainfall's weights, h.
    tank
        Three-tank model.
    trigger
        Default trigger thresholds.
    zone_trigger
        Trigger thresholds of zones that override the default, by zone id.
    levels
        Level boundaries and memory (shared with the flood model).
    matrix
        Zone level by susceptibility class (rows, 1–5) and trigger level (columns, 0–4).
    rock
        Dangerous-rock parameters.
    """

    half_life_h: float
    tank: TankParams
    trigger: TriggerThresholds
    zone_trigger: Mapping[str, TriggerThresholds]
    levels: LevelParams
    matrix: tuple[tuple[Level, ...], ...]
    rock: RockParams

    def thresholds_for(self, zone_id: str) -> TriggerThresholds:
        """Return the trigger thresholds of ``zone_id``: its override, else the default."""
        return self.zone_trigger.get(zone_id, self.trigger)


# ---------------------------------------------------------------------------------------
# Effective rainfall
# ---------------------------------------------------------------------------------------


def effective_rainfall(hourly_mm: ArrayLike, *, half_life_h: float, start: ArrayLike = 0.0,
                       method: Method = "numba", cells: CellMap = in_process) -> NDArray[np.float64]:
    """Effective rainfall (有效降雨量) ``R_e(t) = Σ_h R_h · 0.5^(age_h / T)`` at the end of each hour.

    The rain of an hour counts in full at its end and half as much every ``half_life_h``
    after (age_h: hours from the end of hour h to t), computed by the recursion
    ``R_e(k) = R_e(k − 1) · 0.5^(1 / T) + R_k``.

    Parameters
    ----------
    hourly_mm
        Rain depth per hour, mm, shape (time, ...): consecutive hours, oldest first; any
        trailing dims (cells, zones) are carried through. NaN marks a missing hour.
    half_life_h
        Half-life T of the weights, h (> 0).
    start
        Effective rainfall at the start of the first hour, mm (broadcastable with one
        hour's shape); 0 counts the hours before as dry, which makes the result a lower
        bound.
    method
        ``numba``: the compiled loop (:func:`warn.risk.kernels.recursion`); ``numpy``: the
        reference, one array operation per hour. Equal to the last bit.
    cells
        Where the compiled loop runs: here (the default) or on chunks of cells elsewhere
        (:mod:`warn.risk.chunks`); the same result.

    Returns
    -------
    numpy.ndarray
        R_e at the end of each hour, mm, shape of ``hourly_mm``. A missing hour makes it
        and every later value NaN (missing is not 0).

    Raises
    ------
    ValueError
        A half-life that is not positive, or an unknown method.
    """
    rain = np.asarray(hourly_mm, dtype=np.float64)
    decay = _decay(half_life_h)
    current = np.broadcast_to(np.asarray(start, dtype=np.float64), rain.shape[1:])
    if kernels.checked(method) == "numba":
        return cells(partial(_decayed, decay=decay), kernels.flat(rain), current.reshape(-1))[0].reshape(rain.shape)
    out = np.empty_like(rain)
    for k in range(rain.shape[0]):
        current = out[k] = current * decay + rain[k]
    return out


def effective_rainfall_at_end(rain_mm: Sequence[ArrayLike], hour: ArrayLike, hours: int, *,
                              half_life_h: float) -> NDArray[np.float64]:
    """Effective rainfall at the end of ``hours`` consecutive hours of which only some are given, the rest dry.

    The value :func:`effective_rainfall` gives at the end of the series (from 0 before it) with
    the given hours in their places and zeros elsewhere, to the last bit, without the series:
    the recursion runs over the given hours, and a dry hour's step ``R_e · 0.5^(1/T) + 0`` is its
    decay alone (adding 0 changes no bit). The work is one array operation per hour of the
    window, on one hour's values.

    Parameters
    ----------
    rain_mm
        The given hours' rain depths, mm, each of one hour's shape (cells, zones, …), in hour
        order; NaN counts as dry.
    hour
        Each given hour's place in the window (given,), 0 … ``hours`` − 1, strictly increasing.
    hours
        The window's length, h.
    half_life_h
        Half-life T of the weights, h (> 0).

    Returns
    -------
    numpy.ndarray
        R_e at the end of the last hour of the window, mm, one hour's shape (float64).

    Raises
    ------
    ValueError
        No hour given, places outside the window or out of order, or a half-life that is not positive.
    """
    places = np.asarray(hour, dtype=np.int64)
    if not len(rain_mm) or places.shape != (len(rain_mm),) or np.any(np.diff(places) <= 0) \
            or places[0] < 0 or places[-1] >= hours:
        raise ValueError(f"hour: expected {len(rain_mm)} increasing places within 0…{hours - 1}, "
                         f"got {places.tolist()}")
    decay = _decay(half_life_h)
    out = np.zeros(np.shape(rain_mm[0]))
    last = -1
    for place, depth in zip(places.tolist(), rain_mm, strict=True):
        for _ in range(place - last):
            out *= decay
        out += np.nan_to_num(depth)
        last = place
    for _ in range(hours - 1 - last):
        out *= decay
    return out


def _decay(half_life_h: float) -> float:
    """Return the share of the effective rainfall left after an hour, ``0.5^(1/T)``."""
    if not half_life_h > 0:
        raise ValueError(f"half_life_h must be positive, got {half_life_h}")
    return 0.5 ** (1.0 / half_life_h)


def _decayed(rain: np.ndarray, start: np.ndarray, decay: float) -> tuple[NDArray[np.float64]]:
    """Weigh ``rain`` (time, cells) into the effective rainfall from ``start`` (cells,) by the compiled recursion."""
    out = np.empty(rain.shape)
    kernels.recursion(rain, start, decay, np.ones(start.size), np.zeros(start.size), False, out)
    return (out,)


# ---------------------------------------------------------------------------------------
# Soil water index (three-tank series model)
# ---------------------------------------------------------------------------------------


@overload
def soil_water_index(rain_mm: xr.DataArray, step_hours: float, state: xr.DataArray | None = None, *,
                     params: TankParams, method: Method = "numba", cells: CellMap = in_process
                     ) -> tuple[xr.DataArray, xr.DataArray]: ...
@overload
def soil_water_index(rain_mm: ArrayLike, step_hours: float, state: ArrayLike | None = None, *,
                     params: TankParams, method: Method = "numba", cells: CellMap = in_process
                     ) -> tuple[NDArray[np.float64], NDArray[np.float64]]: ...
def soil_water_index(rain_mm: ArrayLike | xr.DataArray, step_hours: float,
                     state: ArrayLike | xr.DataArray | None = None, *,
                     params: TankParams, method: Method = "numba", cells: CellMap = in_process
                     ) -> tuple[xr.DataArray | NDArray[np.float64], xr.DataArray | NDArray[np.float64]]:
    """Soil Water Index by the JMA three-tank series model.

    Storages S1, S2, S3 (mm), rates per hour (MODELS.md table; Ishihara & Kobatake 1979;
    Okada et al. 2001)::

        dS1/dt = R − α1 (S1 − L1)⁺ − α2 (S1 − L2)⁺ − β1 S1
        dS2/dt = β1 S1 − α3 (S2 − L3)⁺ − β2 S2
        dS3/dt = β2 S2 − α4 (S3 − L4)⁺ − β3 S3
        SWI = S1 + S2 + S3

    Scheme: each input step is split into ``m = ceil(step / substep)`` equal substeps of
    Δt = step / m ≤ ``params.substep_h`` (10 min), the step's rain spread evenly over
    them. Each substep is forward Euler: every outflow is its rate per hour at the
    storage at the start of the substep × Δt, the rain of the substep enters tank 1,
    the bottom outflow of tank j enters tank j + 1. Outflows are limited to the storage
    at the start of the substep (scaled down together when they would exceed it), so a
    tank never goes negative; with the national coefficients Δt·(α1 + α2 + β1) = 0.062
    and the limit never binds. The fixed point of the scheme is the continuous steady
    state, and its error in a pure decay is ``(1 − βΔt)^n`` against ``exp(−βnΔt)``.

    Missing rain (NaN): the tanks go on draining as if the step were dry, and the SWI of
    that step is NaN. Later steps are valid numbers but, for a while, lower bounds (the
    missed rain decays with tank 3's e-folding time, 1/(α4 + β3) = 50 h); whether the
    window was complete is the caller's judgement from the rain it passed. Carrying NaN
    into the state instead would blank the cell for ever, since the state is never
    reset. A NaN in ``state`` (unknown storages) stays NaN.

    Parameters
    ----------
    rain_mm
        Rain depth per step, mm, ≥ 0: a 1-D series (time,), a numpy array
        (time, ...cells), or an xarray DataArray with dim ``time`` (any dim order; numpy or
        Dask-backed, chunked over the other dims only — ``time`` must be one chunk).
    step_hours
        Length of one input step, h.
    state
        Storages (S1, S2, S3) at the start, mm: shape (3, ...cells), or a DataArray with
        dim ``tank`` and the non-time dims of ``rain_mm``; ``None`` starts empty (a cold
        start needs weeks of spin-up).
    params
        Tank coefficients.
    method
        ``numba``: the compiled loop (:func:`warn.risk.kernels.tanks`), one pass over blocks of
        cells; ``numpy``: the reference, array operations over all cells per substep. The
        same operations in the same order: equal to the last bit.
    cells
        Where the numpy arrays' cells are stepped: here (the default) or in chunks of cells
        elsewhere (:mod:`warn.risk.chunks`); the same result. (A Dask-backed DataArray runs
        on its own chunks.)

    Returns
    -------
    swi, state
        SWI in mm at the END of each step, same shape (and dims) as ``rain_mm``; the
        storages after the last step, mm, shape (3, ...cells) (DataArray dims
        (``tank``, ...cells)), to pass as ``state`` to the next call — a run split in two
        with the state carried equals one run.

    Raises
    ------
    ValueError
        Negative rain, a step that is not positive, a state of the wrong shape, or an
        unknown method.
    """
    if step_hours <= 0:
        raise ValueError(f"step_hours must be positive, got {step_hours}")
    run = _run_tanks if kernels.checked(method) == "numpy" else _run_tanks_compiled
    if isinstance(rain_mm, xr.DataArray):
        return _swi_dataarray(rain_mm, step_hours, state, params, method)
    rain = np.asarray(rain_mm)
    if not np.issubdtype(rain.dtype, np.floating):
        rain = rain.astype(np.float64)
    shape = rain.shape[1:]
    start = np.zeros((3, *shape)) if state is None else np.asarray(state, dtype=np.float64)
    if start.shape != (3, *shape):
        raise ValueError(f"state must have shape {(3, *shape)}, got {start.shape}")
    swi, end = cells(partial(run, step_hours=step_hours, p=params), kernels.flat(rain), kernels.flat(start))
    return swi.reshape(rain.shape), end.reshape(start.shape)


def _swi_dataarray(rain: xr.DataArray, step_hours: float, state: ArrayLike | xr.DataArray | None,
                   params: TankParams, method: Method) -> tuple[xr.DataArray, xr.DataArray]:
    cells = [dim for dim in rain.dims if dim != "time"]
    if state is None:
        state = xr.zeros_like(rain.isel(time=0, drop=True), dtype=np.float64).expand_dims(tank=3)

    def core(rain_block: np.ndarray, state_block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        swi, end = soil_water_index(np.moveaxis(rain_block, -1, 0), step_hours,
                                    np.moveaxis(state_block, -1, 0), params=params, method=method)
        return np.moveaxis(swi, 0, -1), np.moveaxis(end, 0, -1)

    swi, end = xr.apply_ufunc(
        core, rain, state,
        input_core_dims=[["time"], ["tank"]], output_core_dims=[["time"], ["tank"]],
        dask="parallelized", output_dtypes=[np.float64, np.float64],
    )
    swi = swi.transpose(*rain.dims).rename("swi").assign_attrs(units="mm", long_name="soil water index")
    end = end.transpose("tank", *cells).rename("tank_storage").assign_attrs(units="mm")
    return swi, end


def _run_tanks(rain: np.ndarray, state: np.ndarray, step_hours: float, p: TankParams
               ) -> tuple[np.ndarray, np.ndarray]:
    """Step the tanks over ``rain`` (time, cells) from ``state`` (3, cells); see :func:`soil_water_index`.

    Works step by step on preallocated buffers (float64 whatever the rain's float type), so
    its memory beyond the output is a few arrays of one step's cells.
    """
    steps, ncell = rain.shape
    m, _, rates = _scheme(step_hours, p)
    a1, a2, b1, a3, b2, a4, b3 = (float(rate) for rate in rates)
    limit1, limit2, limit3 = a1 + a2 + b1 > 1.0, a3 + b2 > 1.0, a4 + b3 > 1.0
    s1, s2, s3 = (np.array(state[i], dtype=np.float64) for i in range(3))
    out, side, q1, q2, r = (np.empty(ncell) for _ in range(5))
    ratio, over, missing = np.empty(ncell), np.empty(ncell, dtype=bool), np.empty(ncell, dtype=bool)
    swi = np.empty((steps, ncell))
    for k in range(steps):
        if np.less(rain[k], 0.0, out=over).any():
            raise ValueError("rain depths must not be negative")
        np.isnan(rain[k], out=missing)
        np.fmax(rain[k], 0.0, out=r)
        if m > 1:
            r /= m
        for _ in range(m):
            _side_outflow(s1, p.L1, a1, out)
            _side_outflow(s1, p.L2, a2, side)
            out += side
            np.multiply(s1, b1, out=q1)
            out += q1
            if limit1:
                _limit(s1, out, q1, ratio, over)
            s1 -= out
            s1 += r
            _side_outflow(s2, p.L3, a3, out)
            np.multiply(s2, b2, out=q2)
            out += q2
            if limit2:
                _limit(s2, out, q2, ratio, over)
            s2 -= out
            s2 += q1
            _side_outflow(s3, p.L4, a4, out)
            np.multiply(s3, b3, out=side)
            out += side
            if limit3:
                _limit(s3, out, side, ratio, over)
            s3 -= out
            s3 += q2
        row = swi[k]
        np.add(s1, s2, out=row)
        row += s3
        np.copyto(row, np.nan, where=missing)
    return swi, np.stack([s1, s2, s3])


def _run_tanks_compiled(rain: np.ndarray, state: np.ndarray, step_hours: float, p: TankParams
                        ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_run_tanks` by the compiled loop :func:`warn.risk.kernels.tanks` (float64 results)."""
    m, heights, rates = _scheme(step_hours, p)
    swi, end = np.empty(rain.shape), np.empty(state.shape)
    kernels.tanks(kernels.floats(rain), state, m, heights, rates, swi, end)
    return swi, end


def _scheme(step_hours: float, p: TankParams) -> tuple[int, NDArray[np.float64], NDArray[np.float64]]:
    """Substeps m per step, the side-outlet heights (L1, L2, L3, L4, mm) and the outflow fractions per substep.

    The fractions are the rates (1/h) times Δt = step / m (h): α1Δt, α2Δt, β1Δt, α3Δt, β2Δt, α4Δt, β3Δt.
    """
    m = max(1, ceil(step_hours / p.substep_h - 1e-9))
    dt = step_hours / m
    rates = np.array([p.alpha1, p.alpha2, p.beta1, p.alpha3, p.beta2, p.alpha4, p.beta3]) * dt
    return m, np.array([p.L1, p.L2, p.L3, p.L4], dtype=np.float64), rates


def _side_outflow(storage: np.ndarray, height: float, coefficient: float, out: np.ndarray) -> None:
    """``out = coefficient · (storage − height)⁺`` in place (mm per substep)."""
    np.subtract(storage, height, out=out)
    np.maximum(out, 0.0, out=out)
    out *= coefficient


def _limit(storage: np.ndarray, out: np.ndarray, onward: np.ndarray, ratio: np.ndarray, over: np.ndarray) -> None:
    """Scale a tank's outflows down where they exceed its storage (``onward`` is the part feeding the next tank)."""
    np.greater(out, storage, out=over)
    ratio.fill(1.0)
    np.divide(storage, out, out=ratio, where=over)
    onward *= ratio
    np.minimum(out, storage, out=out)


# ---------------------------------------------------------------------------------------
# Trigger score and levels
# ---------------------------------------------------------------------------------------


def quantity_score(value: ArrayLike, *, thresholds: ArrayLike, scores: Sequence[float]) -> NDArray[np.float64]:
    """One quantity on the 0–100 level scale, piecewise linear between its thresholds.

    ``0 → 0``, ``T_blue → s_blue`` (25), ``T_yellow → 50``, ``T_orange → 70``,
    ``T_red → 85``, and beyond red ``s_red + (100 − s_red)·(x − T_red)/(T_red − T_orange)``
    capped at 100; values below 0 score 0.

    Parameters
    ----------
    value
        The quantity (any shape), in the unit of ``thresholds``; NaN scores NaN.
    thresholds
        Blue, yellow, orange, red thresholds, strictly increasing, > 0: four numbers, or
        an array (4, …) broadcastable with ``value`` (per-cell climatological thresholds).
    scores
        Their scores (the level boundaries), strictly increasing, < 100.

    Returns
    -------
    numpy.ndarray
        Score 0–100, the broadcast shape of ``value`` and the thresholds' trailing dims.
    """
    x = np.asarray(value, dtype=np.float64)
    knots = np.asarray(thresholds, dtype=np.float64)
    marks = np.asarray(scores, dtype=np.float64)
    previous_knot, previous_mark = np.zeros_like(knots[0]), 0.0
    score = np.zeros(np.broadcast_shapes(x.shape, knots.shape[1:]))
    for knot, mark in zip(knots, marks, strict=True):
        inside = (x > previous_knot) & (x <= knot)
        score = np.where(inside, previous_mark + (mark - previous_mark) * (x - previous_knot) / (knot - previous_knot),
                         score)
        previous_knot, previous_mark = knot, mark
    beyond = marks[-1] + (SCORE_MAX - marks[-1]) * (x - knots[-1]) / (knots[-1] - knots[-2])
    score = np.where(x > knots[-1], np.minimum(beyond, SCORE_MAX), score)
    return np.where(np.isnan(x) | np.isnan(knots[0]), np.nan, score)


def critical_line_score(swi_mm: ArrayLike, rain_60min_mm: ArrayLike, *, swi_intercepts: ArrayLike,
                        rain_intercepts: ArrayLike, scores: Sequence[float]) -> NDArray[np.float64]:
    """Score the point (60-minute rain, SWI) on the 0–100 level scale against four critical lines.

    Level i's line joins ``(a_i, 0)`` and ``(0, b_i)``; the point ``(r, s)`` lies on or beyond
    it when ``u_i = r / a_i + s / b_i ≥ 1``. Along the ray from the origin through the point,
    line i is met at ``1 / u_i`` times the point, so the score is :func:`quantity_score` of the
    point (1) against the knots ``1 / u_i``: the level boundary ``scores[i]`` on line i, linear
    along the ray between the lines, 0 at the origin. With no rain (r = 0) this is exactly
    :func:`quantity_score` of the SWI against the SWI intercepts, with dry soil (s = 0) of the
    60-minute rain against the rain intercepts.

    Parameters
    ----------
    swi_mm
        Soil water index, mm, ≥ 0 (any shape).
    rain_60min_mm
        Rain of the last 60 minutes at the same times and places, mm, ≥ 0.
    swi_intercepts, rain_intercepts
        The lines' intercepts b (mm) and a (mm), blue … red, both strictly increasing: four
        numbers, or arrays (4, …) broadcastable with the values (per-cell lines).
    scores
        The level boundaries, strictly increasing, < 100.

    Returns
    -------
    numpy.ndarray
        Score 0–100; NaN where either value is NaN.
    """
    swi = np.asarray(swi_mm, dtype=np.float64)
    rain = np.asarray(rain_60min_mm, dtype=np.float64)
    values = np.broadcast_shapes(swi.shape, rain.shape)
    a, b = (_line_up(np.asarray(x, dtype=np.float64), len(values)) for x in (rain_intercepts, swi_intercepts))
    with np.errstate(divide="ignore", invalid="ignore"):
        knots = 1.0 / (rain / a + swi / b)  # inf at the origin: no line is met
        return quantity_score(np.ones(values), thresholds=knots, scores=scores)


def critical_line_level(swi_mm: float, rain_60min_mm: float, thresholds: TriggerThresholds) -> Level:
    """Return the highest level whose critical line the point (60-minute rain, SWI) reaches (``UNKNOWN`` for NaN)."""
    if np.isnan(swi_mm) or np.isnan(rain_60min_mm):
        return Level.UNKNOWN
    reach = (rain_60min_mm / np.asarray(thresholds.rain_60min_mm)
             + swi_mm / np.asarray(thresholds.swi_mm))
    return Level(int(np.count_nonzero(reach >= 1.0)))


def trigger_score(swi_mm: ArrayLike, rain_60min_mm: ArrayLike, effective_rain_mm: ArrayLike, *,
                  thresholds: TriggerThresholds, method: Method = "numba"
                  ) -> tuple[NDArray[np.float64], NDArray[np.int8]]:
    """Rain-trigger score per cell against one set of thresholds (:func:`trigger_scores`).

    Parameters
    ----------
    swi_mm
        Soil water index, mm (any shape).
    rain_60min_mm
        Rain of the last 60 minutes, mm (broadcastable with ``swi_mm``).
    effective_rain_mm
        Effective rainfall, mm (broadcastable with ``swi_mm``).
    thresholds
        The zone's trigger thresholds.
    method
        ``numba`` (the compiled loop) or ``numpy`` (the reference); equal to the last bit.

    Returns
    -------
    score, driver
        As :func:`trigger_scores` gives them.
    """
    return trigger_scores(swi_mm, rain_60min_mm, effective_rain_mm, swi_intercepts=thresholds.swi_mm,
                          rain_intercepts=thresholds.rain_60min_mm, effective_thresholds=thresholds.effective_rain_mm,
                          scores=thresholds.scores, method=method)


def trigger_scores(swi_mm: ArrayLike, rain_60min_mm: ArrayLike, effective_rain_mm: ArrayLike, *,
                   swi_intercepts: ArrayLike, rain_intercepts: ArrayLike, effective_thresholds: ArrayLike,
                   scores: Sequence[float], method: Method = "numba"
                   ) -> tuple[NDArray[np.float64], NDArray[np.int8]]:
    """Rain-trigger score: the larger of the critical-line and effective-rainfall scores.

    Parameters
    ----------
    swi_mm
        Soil water index, mm, shape (time, …) or any.
    rain_60min_mm
        Rain of the last 60 minutes, mm (broadcastable with ``swi_mm``).
    effective_rain_mm
        Effective rainfall, mm (broadcastable with ``swi_mm``).
    swi_intercepts, rain_intercepts
        The critical lines' intercepts, mm, blue … red: four numbers, or arrays (4, …) whose
        trailing dims line up with the values' leading ones, as :func:`critical_line_score`
        takes them (``(4, 1, item)`` for values (time, item): one line per item).
    effective_thresholds
        Effective-rainfall thresholds, mm, blue … red: four numbers or an array (4, …)
        broadcastable with the values, as :func:`quantity_score` takes them.
    scores
        The level boundaries, strictly increasing, < 100.
    method
        ``numba``: the compiled loop (:func:`warn.risk.kernels.trigger`); ``numpy``: the
        reference (:func:`critical_line_score`, :func:`quantity_score`). Equal to the last bit.

    Returns
    -------
    score, driver
        Score 0–100 (the maximum of the two); NaN where any quantity is NaN (a partial score
        would pass a lower bound off as the score). ``driver``: int8 index into
        :data:`TRIGGER_QUANTITIES` of the quantity that set the score (the critical line on a
        tie), −1 where the score is NaN. Both of the broadcast shape of values and thresholds.
    """
    if kernels.checked(method) == "numpy":
        line = critical_line_score(swi_mm, rain_60min_mm, swi_intercepts=swi_intercepts,
                                   rain_intercepts=rain_intercepts, scores=scores)
        rain = quantity_score(effective_rain_mm, thresholds=effective_thresholds, scores=scores)
        unknown = np.isnan(line) | np.isnan(rain)
        score = np.where(unknown, np.nan, np.maximum(line, rain))
        driver = np.where(unknown, -1, np.where(rain > line, 1, 0)).astype(np.int8)
        return score, driver
    values = [np.asarray(x, dtype=np.float64) for x in (swi_mm, rain_60min_mm, effective_rain_mm)]
    ndim = len(np.broadcast_shapes(values[0].shape, values[1].shape))  # the lines' values, as critical_line_score
    b, a = (_line_up(np.asarray(x, dtype=np.float64), ndim) for x in (swi_intercepts, rain_intercepts))
    knots = np.asarray(effective_thresholds, dtype=np.float64)
    shape = np.broadcast_shapes(*(x.shape for x in values), *(x.shape[1:] for x in (b, a, knots)))
    grid = (shape[0] if shape else 1, int(np.prod(shape[1:], dtype=np.int64)))
    score, driver = np.empty(grid), np.empty(grid, dtype=np.int8)
    swi, rain, effective = (np.broadcast_to(x, shape).reshape(grid) for x in values)
    swi_b, rain_a, rain_knots = _per_value((b, a, knots), shape, grid)
    kernels.trigger(swi, rain, effective, swi_b, rain_a, rain_knots, np.asarray(scores, dtype=np.float64), SCORE_MAX,
                    score, driver)
    return score.reshape(shape), driver.reshape(shape)


def _per_value(thresholds: Sequence[np.ndarray], shape: tuple[int, ...], grid: tuple[int, int]) -> list[np.ndarray]:
    """Threshold arrays (4, …) as the compiled kernel takes them.

    Their trailing axes lie on the values' (``shape``) trailing ones. They come out all of one shape
    (4, steps or 1, values or 1) for the values flattened to ``grid`` (steps, values), with an axis of
    length 1 where all are the same along it, and contiguous.
    """
    flat = [np.broadcast_to(x.reshape(4, *(1,) * (len(shape) - x.ndim + 1), *x.shape[1:]), (4, *shape))
            .reshape(4, *grid) for x in thresholds]  # views when numpy can make them (always when one over cells)
    same = tuple(slice(0, 1) if all(x.strides[axis] == 0 for x in flat) else slice(None) for axis in (1, 2))
    return [np.ascontiguousarray(x[(slice(None), *same)]) for x in flat]


def _line_up(thresholds: np.ndarray, ndim: int) -> np.ndarray:
    """Thresholds (4, …) given trailing axes of length 1 up to ``ndim`` value axes.

    Their axes then line up with the values' leading ones (as :func:`critical_line_score`
    broadcasts its intercepts).
    """
    return thresholds.reshape(thresholds.shape + (1,) * (ndim - (thresholds.ndim - 1)))


def zone_level(susceptibility_class: ArrayLike, trigger_level: ArrayLike, *,
               matrix: Sequence[Sequence[Level]]) -> Level | NDArray[np.int8]:
    """Zone level from the susceptibility matrix (MODELS.md "Landslide" 5.).

    Parameters
    ----------
    susceptibility_class
        Landslide susceptibility class 1 (very low) … 5 (very high), integer(s).
    trigger_level
        Rain-trigger level(s) 0–4, or ``Level.UNKNOWN``; broadcastable with the class.
    matrix
        ``matrix[class − 1][trigger level]`` (``LandslideParams.matrix``).

    Returns
    -------
    Level or numpy.ndarray of int8
        The zone level; ``UNKNOWN`` where the trigger is unknown.

    Raises
    ------
    ValueError
        A class outside 1–5 or a trigger level outside −1–4.
    """
    cls = np.asarray(susceptibility_class)
    trig = np.asarray(trigger_level)
    if np.any((cls < 1) | (cls > 5)) or not np.all(np.equal(np.mod(cls, 1), 0)):
        raise ValueError(f"susceptibility classes are integers 1–5, got {np.unique(cls).tolist()}")
    if np.any((trig < Level.UNKNOWN) | (trig > Level.RED)):
        raise ValueError(f"trigger levels are −1 (unknown) to 4, got {np.unique(trig).tolist()}")
    table = np.asarray(matrix, dtype=np.int8)
    cls, trig = np.broadcast_arrays(cls.astype(np.int64), trig.astype(np.int64))
    level = table[cls - 1, np.maximum(trig, 0)]
    return _levels(np.where(trig == Level.UNKNOWN, Level.UNKNOWN, level))


def apply_floor(level: ArrayLike, official_level: ArrayLike) -> Level | NDArray[np.int8]:
    """Apply an official bulletin level as a floor: never warn below it.

    Parameters
    ----------
    level
        Model level(s), ``UNKNOWN`` allowed.
    official_level
        Level(s) of the official bulletin for the same unit; ``NONE`` or ``UNKNOWN``
        (no bulletin) sets no floor.

    Returns
    -------
    Level or numpy.ndarray of int8
        ``max(level, official)`` where a bulletin is in force (an unknown model level
        becomes the official one), else ``level``.
    """
    model = np.asarray(level)
    official = np.asarray(official_level)
    return _levels(np.where(official > Level.NONE, np.maximum(model, official), model))


def drivers_for(swi_mm: float, rain_60min_mm: float, effective_rain_mm: float, *,
                thresholds: TriggerThresholds, lead: timedelta = timedelta(0)) -> tuple[Driver, Driver, Driver]:
    """Return the SWI, 60-minute-rain and effective-rainfall drivers of one cell or zone.

    The first two state the critical line the point reached (:func:`critical_line_level`;
    the blue line when none is reached), each against the line's value at the other's
    value: SWI against ``b (1 − R60 / a)``, the 60-minute rain against ``a (1 − SWI / b)``
    (0 where the other alone reaches the line).

    Parameters
    ----------
    swi_mm, rain_60min_mm, effective_rain_mm
        The three quantities, mm (NaN: unknown).
    thresholds
        The zone's trigger thresholds.
    lead
        How far ahead of the evaluation time the values hold.

    Returns
    -------
    tuple of Driver
        ``SWI`` and ``60分钟雨量`` with the critical line's level (``UNKNOWN`` when either is
        NaN), and ``有效降雨`` with the level it alone reaches.
    """
    swi, rain = float(swi_mm), float(rain_60min_mm)
    level = critical_line_level(swi, rain, thresholds)
    line = max(int(level), 1) - 1
    a, b = thresholds.rain_60min_mm[line], thresholds.swi_mm[line]
    on_line_swi = b * max(0.0, 1.0 - rain / a) if rain == rain else b
    on_line_rain = a * max(0.0, 1.0 - swi / b) if swi == swi else a
    return (Driver(TRIGGER_QUANTITIES[0], swi, "mm", on_line_swi, level, lead),
            Driver(RAIN_60MIN, rain, "mm", on_line_rain, level, lead),
            _driver(TRIGGER_QUANTITIES[1], effective_rain_mm, thresholds.effective_rain_mm, lead))


def _driver(quantity: str, value: float, thresholds: Sequence[float], lead: timedelta) -> Driver:
    value = float(value)
    if np.isnan(value):
        return Driver(quantity, value, "mm", float(thresholds[0]), Level.UNKNOWN, lead)
    reached = int(np.searchsorted(np.asarray(thresholds, dtype=np.float64), value, side="right"))
    return Driver(quantity, value, "mm", float(thresholds[max(reached, 1) - 1]), Level(reached), lead)


def _levels(values: np.ndarray) -> Level | NDArray[np.int8]:
    array = np.asarray(values).astype(np.int8)
    return Level(int(array)) if array.ndim == 0 else array


# ---------------------------------------------------------------------------------------
# Dangerous rock
# ---------------------------------------------------------------------------------------


def plane_failure_k(weight_kn: ArrayLike, slope_deg: ArrayLike, length_m: ArrayLike, cohesion_kpa: ArrayLike,
                    friction_deg: ArrayLike, crack_depth_m: ArrayLike, water_fill: ArrayLike,
                    k_h: ArrayLike = 0.0, *, gamma_w: float = GAMMA_W) -> NDArray[np.float64]:
    """Plane-failure stability coefficient of a rock block with a water-filled tension crack.

    ``K = [cL + (W cosθ − Q sinθ − U − V sinθ) tanφ] / (W sinθ + Q cosθ + V cosθ)``
    (MODELS.md "Dangerous rock"; the sliding-type 危岩 formula of the Chinese geohazard
    codes, after Hoek & Bray's plane failure), per metre run of slope, with the cleft
    water thrust ``V = ½ γ_w h_w²`` on the vertical crack, the uplift on the sliding plane
    ``U = ½ γ_w h_w L``, the pseudo-static seismic force ``Q = k_h W`` and the crack water
    column ``h_w = water_fill × crack depth``. The effective normal force in brackets is
    floored at 0: uplift can float a block but not make friction negative.

    Parameters
    ----------
    weight_kn
        Block weight W per metre run, kN/m.
    slope_deg
        Dip θ of the sliding plane, degrees.
    length_m
        Length L of the sliding plane, m.
    cohesion_kpa
        Cohesion c on the plane, kPa.
    friction_deg
        Friction angle φ on the plane, degrees.
    crack_depth_m
        Depth of the (vertical) tension crack, m.
    water_fill
        Crack water column as a fraction of crack depth, 0–1 (:func:`rock_fill`).
    k_h
        Horizontal seismic coefficient (0 without earthquake).
    gamma_w
        Unit weight of water, kN/m³.

    Returns
    -------
    numpy.ndarray
        K (dimensionless), broadcast shape of the inputs; < 1 fails.
    """
    w = np.asarray(weight_kn, dtype=np.float64)
    theta, phi = np.radians(slope_deg), np.radians(friction_deg)
    h_w = np.asarray(water_fill, dtype=np.float64) * np.asarray(crack_depth_m, dtype=np.float64)
    length = np.asarray(length_m, dtype=np.float64)
    v = 0.5 * gamma_w * h_w ** 2
    u = 0.5 * gamma_w * h_w * length
    q = np.asarray(k_h, dtype=np.float64) * w
    normal = np.maximum(w * np.cos(theta) - q * np.sin(theta) - u - v * np.sin(theta), 0.0)
    resisting = np.asarray(cohesion_kpa, dtype=np.float64) * length + normal * np.tan(phi)
    driving = w * np.sin(theta) + q * np.cos(theta) + v * np.cos(theta)
    return resisting / driving


def rock_fill(rain_24h_mm: ArrayLike, swi_level: ArrayLike, *, params: RockParams) -> NDArray[np.float64]:
    """Crack water fill of dangerous-rock objects: normal, or rainstorm.

    The rainstorm fill applies when the 24-h rain reaches ``rainstorm_rain_24h_mm`` or the
    SWI trigger level reaches ``rainstorm_swi_level`` (MODELS.md: 24 h ≥ 50 mm or SWI at
    level III (yellow) or higher), and also when one of the two is unknown and the other
    does not rule it in (missing evidence is not a dry day).

    Parameters
    ----------
    rain_24h_mm
        Rain of the last (or forecast) 24 h, mm; NaN unknown.
    swi_level
        SWI trigger level(s), ``UNKNOWN`` allowed.
    params
        Dangerous-rock parameters.

    Returns
    -------
    numpy.ndarray
        Fraction of the crack depth under water (normal 1/3, rainstorm 2/3 by default).
    """
    rain = np.asarray(rain_24h_mm, dtype=np.float64)
    level = np.asarray(swi_level)
    storm = (rain >= params.rainstorm_rain_24h_mm) | (level >= params.rainstorm_swi_level)
    unknown = np.isnan(rain) | (level == Level.UNKNOWN)
    return np.where(storm | unknown, params.rainstorm_fill, params.normal_fill)


def rock_level(k_rainstorm: ArrayLike, *, params: RockParams,
               monitoring_alarm: ArrayLike = Level.NONE) -> Level | NDArray[np.int8]:
    """Level of a dangerous-rock object from its rainstorm stability coefficient.

    K below a rung's ``below`` puts the object at that rung's level (defaults: K < 1.00
    red — 不稳定 unstable; K < 1.05 orange — 欠稳定 marginally stable); a monitoring alarm
    (crack meter, tilt, GNSS) overrides upward.

    Parameters
    ----------
    k_rainstorm
        :func:`plane_failure_k` with the fill of :func:`rock_fill`; NaN unknown.
    params
        Dangerous-rock parameters.
    monitoring_alarm
        Level(s) of the object's monitoring alarm (``NONE`` without one).

    Returns
    -------
    Level or numpy.ndarray of int8
        The object's level; ``UNKNOWN`` for NaN K without an alarm.
    """
    k = np.asarray(k_rainstorm, dtype=np.float64)
    level = np.full(k.shape, Level.NONE, dtype=np.int8)
    for below, rung in params.stability:
        level = np.where(k < below, np.maximum(level, rung), level)
    level = np.where(np.isnan(k), Level.UNKNOWN, level)
    alarm = np.asarray(monitoring_alarm)
    return _levels(np.where(alarm > Level.NONE, np.maximum(level, alarm), level))
