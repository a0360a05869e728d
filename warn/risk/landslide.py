"""Landslide and dangerous-rock scores: effective rainfall, soil water index, rain events, levels.

Pure functions on numpy arrays (and, for the soil water index, xarray/Dask arrays);
parameters are frozen objects built from ``models/landslide.yaml``
(:meth:`warn.modelfiles.LandslideFile.params`); nothing here reads files or clocks.
Rain is depth in mm per step; levels are :class:`warn.vocab.Level` (``UNKNOWN`` where the
evidence is missing, never ``NONE``).

Equations: MODELS.md, "Landslide and dangerous rock".

- Effective rainfall (有效降雨量), ``R_e = Σ_{i=0..n} K^i R_i`` with R_0 today.
- Soil Water Index, the JMA three-tank series model (Ishihara & Kobatake 1979;
  Okada et al. 2001): ``SWI = S1 + S2 + S3``, see :func:`soil_water_index`.
- Rain events as in CTRL-T (Melillo et al. 2015, 2018) and intensity–duration thresholds
  ``I = α D^−β`` (Caine 1980; Guzzetti et al. 2008).
- Trigger score on the common 0–100 scale, zone level from the susceptibility matrix,
  official bulletins as a floor.
- Dangerous rock (危岩): plane-failure stability coefficient
  ``K = [cL + (W cosθ − Q sinθ − U − V sinθ) tanφ] / (W sinθ + Q cosθ + V cosθ)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from math import ceil
from typing import overload

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike, NDArray

from warn.risk.drivers import Driver
from warn.risk.levels import SCORE_MAX, LevelParams
from warn.vocab import Level

#: Unit weight of water, kN/m³.
GAMMA_W = 9.81
#: Names of the trigger quantities, in the order of :func:`trigger_score`'s driver index.
TRIGGER_QUANTITIES = ("SWI", "有效降雨")


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
class Season:
    """CTRL-T separation intervals of one season.

    Attributes
    ----------
    months
        Calendar months (1–12, of the UTC time) in the season.
    split_dry_h
        Dry hours that end a sub-event (CTRL-T P3), h.
    merge_dry_h
        Dry hours that end a rain event; sub-events closer than this merge (CTRL-T P4), h.
    """

    months: frozenset[int]
    split_dry_h: float
    merge_dry_h: float


@dataclass(frozen=True)
class EventParams:
    """Rain-event reconstruction (``models/landslide.yaml`` ``events``).

    Attributes
    ----------
    isolated_max_mm
        An hourly reading of at most this depth with ``isolation_dry_h`` dry hours on
        both sides is dropped as gauge noise (CTRL-T P1), mm.
    isolation_dry_h
        Dry hours on each side that make a reading isolated, h.
    min_subevent_mm
        Sub-events with a total of at most this depth are dropped (CTRL-T P2), mm.
    warm, cold
        Separation intervals of the two seasons; their months partition the year.
    """

    isolated_max_mm: float
    isolation_dry_h: float
    min_subevent_mm: float
    warm: Season
    cold: Season

    def season(self, month: int) -> Season:
        """Return the season a calendar month (1–12) belongs to."""
        return self.warm if month in self.warm.months else self.cold


@dataclass(frozen=True)
class IDThreshold:
    """An intensity–duration threshold ``I = α D^−β`` (I in mm/h, D in h).

    Attributes
    ----------
    name
        Registry name (``"caine1980"``).
    alpha
        Scaling α, mm/h at D = 1 h.
    beta
        Shape β (dimensionless).
    source
        Where the curve comes from.
    min_duration_h, max_duration_h
        Durations the curve was fitted on, h; :meth:`covers` tells whether an event lies
        within them (the curve is not meant to be extrapolated).
    """

    name: str
    alpha: float
    beta: float
    source: str
    min_duration_h: float
    max_duration_h: float

    def intensity(self, duration_h: ArrayLike) -> NDArray[np.float64]:
        """Threshold mean intensity (mm/h) for events of ``duration_h`` hours."""
        return self.alpha * np.asarray(duration_h, dtype=np.float64) ** -self.beta

    def covers(self, duration_h: float) -> bool:
        """Whether ``duration_h`` lies within the durations the curve was fitted on."""
        return self.min_duration_h <= duration_h <= self.max_duration_h

    def exceeds(self, event: RainEvent) -> bool:
        """Whether the event's mean intensity reaches the curve at its duration."""
        return bool(event.mean_intensity_mm_h >= self.intensity(event.duration_h))


@dataclass(frozen=True)
class TriggerThresholds:
    """Trigger thresholds of one zone, each ordered blue, yellow, orange, red.

    Attributes
    ----------
    swi_mm
        Soil water index thresholds, mm.
    effective_rain_mm
        Daily effective rainfall thresholds, mm.
    scores
        Score of each threshold on the 0–100 scale: the level boundaries (25, 50, 70, 85).
    provisional
        The thresholds are placeholders until the district calibrates them.
    """

    swi_mm: tuple[float, float, float, float]
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
    k, n
        Effective-rainfall decay factor K (per day) and number of antecedent days n.
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

    k: float
    n: int
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


def effective_rainfall(daily_mm: ArrayLike, *, k: float, n: int
                       ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Daily effective rainfall (有效降雨量) ``R_e = Σ_{i=0..n} K^i R_i``.

    Parameters
    ----------
    daily_mm
        Daily rain, mm per day, shape (days, ...): axis 0 runs back in time, **today
        first** (R_0 = today's observed + forecast rain, R_1 yesterday, …); any trailing
        dims (cells, zones) are carried through. NaN marks a missing day.
    k
        Decay factor K per day, 0 < K < 1 (MODELS.md default 0.8).
    n
        Number of antecedent days (MODELS.md default 10).

    Returns
    -------
    total, antecedent, same_day
        mm, shape of ``daily_mm[0]``: ``R_e``; its antecedent part ``Σ_{i=1..n} K^i R_i``;
        and ``R_0``. A missing day makes every sum that includes it NaN (missing is not
        0). Given fewer than n + 1 days, the sums run over the days given, so the
        antecedent part is then a lower bound (0 with today alone).
    """
    daily = np.asarray(daily_mm, dtype=np.float64)
    days = min(n + 1, daily.shape[0])
    same_day = daily[0].copy()
    weights = float(k) ** np.arange(1, days)
    antecedent = np.tensordot(weights, daily[1:days], axes=(0, 0)) if days > 1 else np.zeros_like(same_day)
    return same_day + antecedent, np.asarray(antecedent, dtype=np.float64), same_day


# ---------------------------------------------------------------------------------------
# Soil water index (three-tank series model)
# ---------------------------------------------------------------------------------------


@overload
def soil_water_index(rain_mm: xr.DataArray, step_hours: float, state: xr.DataArray | None = None, *,
                     params: TankParams) -> tuple[xr.DataArray, xr.DataArray]: ...
@overload
def soil_water_index(rain_mm: ArrayLike, step_hours: float, state: ArrayLike | None = None, *,
                     params: TankParams) -> tuple[NDArray[np.float64], NDArray[np.float64]]: ...
def soil_water_index(rain_mm: ArrayLike | xr.DataArray, step_hours: float,
                     state: ArrayLike | xr.DataArray | None = None, *,
                     params: TankParams
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
        Negative rain, a step that is not positive, or a state of the wrong shape.
    """
    if step_hours <= 0:
        raise ValueError(f"step_hours must be positive, got {step_hours}")
    if isinstance(rain_mm, xr.DataArray):
        return _swi_dataarray(rain_mm, step_hours, state, params)
    rain = np.asarray(rain_mm)
    if not np.issubdtype(rain.dtype, np.floating):
        rain = rain.astype(np.float64)
    cells = rain.shape[1:]
    start = np.zeros((3, *cells)) if state is None else np.asarray(state, dtype=np.float64)
    if start.shape != (3, *cells):
        raise ValueError(f"state must have shape {(3, *cells)}, got {start.shape}")
    swi, end = _run_tanks(rain.reshape(rain.shape[0], -1), start.reshape(3, -1), step_hours, params)
    return swi.reshape(rain.shape), end.reshape(start.shape)


def _swi_dataarray(rain: xr.DataArray, step_hours: float, state: ArrayLike | xr.DataArray | None,
                   params: TankParams) -> tuple[xr.DataArray, xr.DataArray]:
    cells = [dim for dim in rain.dims if dim != "time"]
    if state is None:
        state = xr.zeros_like(rain.isel(time=0, drop=True), dtype=np.float64).expand_dims(tank=3)

    def core(rain_block: np.ndarray, state_block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        swi, end = soil_water_index(np.moveaxis(rain_block, -1, 0), step_hours,
                                    np.moveaxis(state_block, -1, 0), params=params)
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
    m = max(1, ceil(step_hours / p.substep_h - 1e-9))
    dt = step_hours / m
    a1, a2, b1 = p.alpha1 * dt, p.alpha2 * dt, p.beta1 * dt
    a3, b2, a4, b3 = p.alpha3 * dt, p.beta2 * dt, p.alpha4 * dt, p.beta3 * dt
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
# Rain events and intensity–duration thresholds
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RainEvent:
    """One reconstructed rain event.

    Attributes
    ----------
    start, end
        UTC start of its first wet hour and end of its last (numpy datetime64).
    duration_h
        ``end − start``, h.
    total_mm
        Rain of its retained sub-events, mm.
    mean_intensity_mm_h
        ``total_mm / duration_h``, mm/h.
    missing_h
        Hours with no reading within the event (counted as dry); > 0 makes the totals
        lower bounds.
    """

    start: np.datetime64
    end: np.datetime64
    duration_h: float
    total_mm: float
    mean_intensity_mm_h: float
    missing_h: int


def rain_events(hourly_mm: ArrayLike, times: ArrayLike, *, params: EventParams) -> list[RainEvent]:
    """Rain events from an hourly series, as CTRL-T reconstructs them (Melillo et al. 2015, 2018).

    1. Drop isolated readings: a wet hour of at most ``isolated_max_mm`` with at least
       ``isolation_dry_h`` dry hours on both sides (the series edges count only the dry
       hours observed, so a reading at an edge is kept).
    2. Split into sub-events at ``split_dry_h`` or more dry hours.
    3. Drop sub-events totalling at most ``min_subevent_mm``; their hours become dry.
    4. Merge consecutive sub-events unless ``merge_dry_h`` or more dry hours separate them.

    The season of a dry spell (which ``split_dry_h`` / ``merge_dry_h`` apply) is the
    month, in UTC, of its first dry hour.

    Parameters
    ----------
    hourly_mm
        Rain depth per hour, mm, 1-D; NaN (no reading) is treated as dry and counted in
        :attr:`RainEvent.missing_h`.
    times
        End of each hour, UTC (datetime64 or ISO strings), consecutive hours.
    params
        Reconstruction parameters.

    Returns
    -------
    list of RainEvent
        In time order.

    Raises
    ------
    ValueError
        Lengths differ or the times are not consecutive hours.
    """
    rain = np.asarray(hourly_mm, dtype=np.float64)
    ends = np.asarray(times, dtype="datetime64[s]")
    if rain.ndim != 1 or rain.shape != ends.shape:
        raise ValueError(f"hourly_mm and times must be 1-D of one length, got {rain.shape} and {ends.shape}")
    hour = np.timedelta64(1, "h")
    if np.any(np.diff(ends) != hour):
        raise ValueError("times must be consecutive hours")
    months = ends.astype("datetime64[M]").astype(np.int64) % 12 + 1
    clean = np.where(rain > 0, rain, 0.0)
    wet = np.flatnonzero(clean)
    if wet.size:
        before = np.diff(wet, prepend=-1) - 1
        after = np.diff(wet, append=rain.size) - 1
        isolated = ((clean[wet] <= params.isolated_max_mm) & (before >= params.isolation_dry_h)
                    & (after >= params.isolation_dry_h))
        clean[wet[isolated]] = 0.0
    subevents = [(a, b) for a, b in _runs(clean, months, params, "split_dry_h")
                 if clean[a:b + 1].sum() > params.min_subevent_mm]
    kept = np.zeros_like(clean)
    for a, b in subevents:
        kept[a:b + 1] = clean[a:b + 1]
    events = []
    for a, b in _runs(kept, months, params, "merge_dry_h"):
        total = float(kept[a:b + 1].sum())
        duration = float(b - a + 1)
        events.append(RainEvent(start=ends[a] - hour, end=ends[b], duration_h=duration, total_mm=total,
                                mean_intensity_mm_h=total / duration,
                                missing_h=int(np.isnan(rain[a:b + 1]).sum())))
    return events


def _runs(rain: np.ndarray, months: np.ndarray, params: EventParams, gap: str) -> list[tuple[int, int]]:
    """(first, last) wet-hour indices of the runs of ``rain`` split by dry spells of the season's ``gap`` hours."""
    wet = np.flatnonzero(rain > 0)
    runs: list[tuple[int, int]] = []
    for index in wet:
        if runs:
            first, last = runs[-1]
            dry = index - last - 1
            if dry < getattr(params.season(int(months[last + 1])), gap):
                runs[-1] = (first, int(index))
                continue
        runs.append((int(index), int(index)))
    return runs


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


def trigger_score(swi_mm: ArrayLike, effective_rain_mm: ArrayLike, *, thresholds: TriggerThresholds
                  ) -> tuple[NDArray[np.float64], NDArray[np.int8]]:
    """Rain-trigger score per cell: the larger of the SWI and effective-rainfall scores.

    Parameters
    ----------
    swi_mm
        Soil water index, mm (any shape).
    effective_rain_mm
        Daily effective rainfall, mm (broadcastable with ``swi_mm``).
    thresholds
        The zone's trigger thresholds.

    Returns
    -------
    score, driver
        Score 0–100 (:func:`quantity_score` of each, the maximum); NaN where either
        quantity is NaN (a partial score would pass a lower bound off as the score — call
        :func:`quantity_score` per quantity for that). ``driver``: int8 index into
        :data:`TRIGGER_QUANTITIES` of the quantity that set the score (SWI on a tie),
        −1 where the score is NaN.
    """
    swi = quantity_score(swi_mm, thresholds=thresholds.swi_mm, scores=thresholds.scores)
    rain = quantity_score(effective_rain_mm, thresholds=thresholds.effective_rain_mm, scores=thresholds.scores)
    unknown = np.isnan(swi) | np.isnan(rain)
    score = np.where(unknown, np.nan, np.maximum(swi, rain))
    driver = np.where(unknown, -1, np.where(rain > swi, 1, 0)).astype(np.int8)
    return score, driver


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


def drivers_for(swi_mm: float, effective_rain_mm: float, *, thresholds: TriggerThresholds,
                lead: timedelta = timedelta(0)) -> tuple[Driver, Driver]:
    """Return the SWI and effective-rainfall drivers of one cell or zone.

    Parameters
    ----------
    swi_mm, effective_rain_mm
        The two quantities, mm (NaN: unknown).
    thresholds
        The zone's trigger thresholds.
    lead
        How far ahead of the evaluation time the values hold.

    Returns
    -------
    tuple of Driver
        ``SWI`` and ``有效降雨``, each with the level it alone reaches (``UNKNOWN`` for NaN)
        and the threshold of that level (the blue threshold when none is reached).
    """
    return (_driver(TRIGGER_QUANTITIES[0], swi_mm, thresholds.swi_mm, lead),
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
