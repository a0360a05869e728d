"""Urban waterlogging scores: return-period screen, storage bucket, water-level sensor, level now.

Pure functions on numpy / xarray arrays; parameters are frozen objects built from
``models/waterlogging.yaml`` (:meth:`warn.hazards.waterlogging.model.WaterloggingFile.params`)
and, for the storm-intensity formulas, ``models/rain.yaml``; nothing here reads files or clocks. Rain follows the
contract of :mod:`warn.rainarray` (depth in mm per step, ``time`` labelling the end of each
step). Levels are :class:`warn.vocab.Level`; the raw level of a score comes from
:func:`warn.risk.levels.level_of` and memory is applied by the caller with
:func:`warn.risk.levels.step`.

Equations: MODELS.md, "Urban waterlogging" (numbers 1.–3. below); 4. is sensor-first
(issue 16), where MODELS.md takes the maximum of the model and sensor terms.

1. Return-period screen: ``P* = max_{d ≤ 180 min} P(D_d)`` by the point's storm-intensity
   formula, ``x_rain = clip(ln(P*/P_pipe) / ln(P_lz/P_pipe), 0, 1)``.
2. Storage bucket: ``S ← max(0, S + ψ·R − ψ·i_cap·Δ)``, ``ψ = ψ_imp·f_imp + ψ_perv·(1 − f_imp)``,
   ``h = S / a``, ``x_bucket = clip(h / h_full, 0, 1)`` (see :func:`bucket_storage` for
   ``i_cap`` and what "step-consistent" means).
3. Sensor: the latest QC-passed depth ``h_obs`` and its rate of rise r (Theil–Sen over 30 min),
   the minutes to each depth threshold ``(h_thr − h_obs)/r``; a stale or flagged sensor is
   unknown, never 0.
4. The model score ``min(100, 100·max(x_rain, x_bucket)·(1 + 0.25·known_point))`` at every
   time; now, where the sensor is healthy, the observed depth governs instead
   (:func:`now_score`): the model raises "now" only where the sensor is unknown.

River gauges are their own hazard (:mod:`warn.risk.river`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike, NDArray

from warn.rainarray import step_of
from warn.risk import kernels
from warn.risk.chunks import CellMap, in_process
from warn.risk.drivers import Driver
from warn.risk.kernels import Method
from warn.risk.levels import SCORE_MAX, LevelParams, level_of
from warn.risk.rain import RainstormParams, design_depth, window_sums, worst_period
from warn.risk.series import REASON_ZH, RateParams, Readings, minutes_to, robust_rates, unknown_reason
from warn.vocab import LEVEL_OF, Level

#: Levels of the three depth thresholds of a point (blue, yellow, red), in threshold order.
DEPTH_LEVELS = (Level.BLUE, Level.YELLOW, Level.RED)

# ---------------------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WaterloggingParams:
    """Parameters of the waterlogging model (``models/waterlogging.yaml``).

    Attributes
    ----------
    pipe_return_period_yr
        Default drainage design return period P_pipe, years (a point's own overrides it).
    waterlogging_return_period_yr
        P_lz, the waterlogging-prevention design return period, years: x_rain reaches 1 there.
    screen_max_duration
        Longest rain window of the return-period screen (the formulas' fitted range).
    runoff_impervious, runoff_pervious
        Runoff coefficients ψ of impervious and pervious surfaces.
    capacity_duration
        Duration t_cap of the P_pipe design rain whose mean intensity the network carries
        (:func:`capacity_rate`).
    ponding_area_fraction
        Ponding-area fraction a by point kind (``street``, ``steep``, ``sag``, ``underpass``…).
    default_kind
        The kind of a point that names none.
    full_depth_mm
        Ponding depth at which x_bucket reaches 1, mm.
    depth_thresholds_cm
        Default blue, yellow and red ponding depths, cm.
    known_point_bonus
        Score factor ``1 + bonus`` of a catalogued waterlogging point.
    sensor
        The water-level sensor's rate of rise.
    levels
        Level boundaries and memory (shared ``levels:`` section).
    """

    pipe_return_period_yr: float
    waterlogging_return_period_yr: float
    screen_max_duration: timedelta
    runoff_impervious: float
    runoff_pervious: float
    capacity_duration: timedelta
    ponding_area_fraction: Mapping[str, float]
    default_kind: str
    full_depth_mm: float
    depth_thresholds_cm: tuple[float, float, float]
    known_point_bonus: float
    sensor: RateParams
    levels: LevelParams

    def points(self, formula: Sequence[str], impervious_fraction: ArrayLike, *,
               pipe_return_period_yr: ArrayLike | None = None, ponding_area_fraction: ArrayLike | None = None,
               kind: Sequence[str | None] | None = None, depth_thresholds_cm: ArrayLike | None = None,
               known_point: ArrayLike | None = None) -> WaterloggingPoints:
        """Return the points of a layer, each missing attribute (None, NaN) filled from this file.

        Parameters
        ----------
        formula
            Storm-intensity formula name per point (``yubei``, ``shapingba``, ``banan``).
        impervious_fraction
            f_imp per point, 0–1.
        pipe_return_period_yr
            P_pipe per point, years (attribute ``design_return_period_yr``).
        ponding_area_fraction
            a per point, 0–1 (attribute ``ponding_area_fraction``); a missing one comes
            from the point's ``kind``.
        kind
            Point kind (``street``, ``sag``, ``underpass``, ``steep``), used where ``a`` is missing.
        depth_thresholds_cm
            (N, 3) blue, yellow, red depths, cm (attributes ``depth_*_cm``).
        known_point
            True for a catalogued waterlogging point.

        Raises
        ------
        ValueError
            A value out of range or an unknown kind, naming the point index.
        """
        n = len(formula)
        kinds = [k if k else self.default_kind for k in (kind if kind is not None else [None] * n)]
        unknown = sorted({k for k in kinds if k not in self.ponding_area_fraction})
        if unknown:
            raise ValueError(f"point kinds among {', '.join(self.ponding_area_fraction)}, got {', '.join(unknown)}")
        by_kind = np.array([self.ponding_area_fraction[k] for k in kinds], dtype=np.float64)
        thresholds = _filled(depth_thresholds_cm, np.broadcast_to(self.depth_thresholds_cm, (n, 3)), (n, 3))
        return WaterloggingPoints(
            formula=tuple(str(f) for f in formula),
            impervious_fraction=_filled(impervious_fraction, np.nan, (n,)),
            pipe_return_period_yr=_filled(pipe_return_period_yr, self.pipe_return_period_yr, (n,)),
            ponding_area_fraction=_filled(ponding_area_fraction, by_kind, (n,)),
            depth_thresholds_cm=thresholds,
            known_point=np.broadcast_to(np.asarray(True if known_point is None else known_point, bool), (n,)).copy(),
        )


def _filled(values: ArrayLike | None, default: ArrayLike, shape: tuple[int, ...]) -> NDArray[np.float64]:
    base = np.broadcast_to(np.asarray(default, dtype=np.float64), shape)
    if values is None:
        return base.copy()
    given = np.broadcast_to(np.asarray(values, dtype=np.float64), shape)
    return np.where(np.isnan(given), base, given)


@dataclass(frozen=True)
class WaterloggingPoints:
    """Per-point attributes (arrays of length N; built by :meth:`WaterloggingParams.points`).

    Attributes
    ----------
    formula
        Storm-intensity formula name per point.
    impervious_fraction
        f_imp, 0–1.
    pipe_return_period_yr
        P_pipe, years.
    ponding_area_fraction
        a: share of the catchment where runoff the pipes cannot take ponds, 0–1.
    depth_thresholds_cm
        (N, 3) blue, yellow, red ponding depths, cm.
    known_point
        True for a catalogued waterlogging point.
    """

    formula: tuple[str, ...]
    impervious_fraction: NDArray[np.float64]
    pipe_return_period_yr: NDArray[np.float64]
    ponding_area_fraction: NDArray[np.float64]
    depth_thresholds_cm: NDArray[np.float64]
    known_point: NDArray[np.bool_]

    def __post_init__(self) -> None:
        """Check every attribute of every point (``ValueError`` naming the first bad point)."""
        checks = (
            ("impervious_fraction", self.impervious_fraction, (self.impervious_fraction >= 0)
             & (self.impervious_fraction <= 1), "0–1"),
            ("design_return_period_yr", self.pipe_return_period_yr, self.pipe_return_period_yr > 0, "> 0 years"),
            ("ponding_area_fraction", self.ponding_area_fraction, (self.ponding_area_fraction > 0)
             & (self.ponding_area_fraction <= 1), "in (0, 1]"),
            ("depth thresholds", self.depth_thresholds_cm[:, 0],
             (self.depth_thresholds_cm[:, 0] > 0) & np.all(np.diff(self.depth_thresholds_cm, axis=1) > 0, axis=1),
             "blue < yellow < red, > 0 cm"),
        )
        for name, values, ok, expected in checks:
            bad = np.flatnonzero(~ok)
            if bad.size:
                raise ValueError(f"point {bad[0]}: {name} expected {expected}, got {values[bad[0]]:g}")

    def __len__(self) -> int:
        """Return the number of points."""
        return len(self.formula)

    def runoff_coefficient(self, params: WaterloggingParams) -> NDArray[np.float64]:
        """ψ = ψ_imp·f_imp + ψ_perv·(1 − f_imp), dimensionless, shape (N,)."""
        f = self.impervious_fraction
        return params.runoff_impervious * f + params.runoff_pervious * (1.0 - f)


# ---------------------------------------------------------------------------------------
# 1. Return-period screen
# ---------------------------------------------------------------------------------------


def rain_screen(rain: xr.DataArray, points: WaterloggingPoints, *, rain_params: RainstormParams,
                params: WaterloggingParams) -> xr.Dataset:
    """Compute the return-period screen on the windows ending at each time (MODELS.md 1.).

    ``P*(t) = max_d P(D_d(t))`` over the windows d the step resolves within
    ``screen_max_duration`` and the formula's fitted range, by each point's storm-intensity
    formula (:func:`warn.risk.rain.worst_period` on :func:`warn.risk.rain.window_sums`),
    and ``x_rain = clip(ln(P*/P_pipe) / ln(P_lz/P_pipe), 0, 1)``: 0 up to the drainage design
    return period, 1 at the waterlogging-prevention one (GB 50014).

    Parameters
    ----------
    rain
        Depth in mm per step, dims ``time`` and one point dim (any name), ``step`` attribute;
        the point's rain (its worst covered cell, or the zone mean, as the caller's basis says).
    points
        The points, in the order of the point dim.
    rain_params
        The rain model (storm-intensity formulas by name, windows).
    params
        The waterlogging model.

    Returns
    -------
    xarray.Dataset
        Dims of ``rain``: ``x_rain`` (0–1), ``return_period_yr`` (P*, years) and
        ``duration_min`` (the window that gave P*, min); NaN until the shortest window is
        complete, or where rain is missing. For a forecast, the maximum over ``time``
        is the horizon's screen; each time's value is the screen at that lead.
    """
    point_dim = _point_dim(rain)
    step = step_of(rain)
    windows = [w for w in rain_params.windows_for(step) if w <= params.screen_max_duration]
    depths = window_sums(rain.transpose("time", point_dim).values, windows, step, axis=0)
    shape = (rain.sizes["time"], rain.sizes[point_dim])
    period = np.full(shape, np.nan)
    minutes = np.full(shape, np.nan)
    names = np.asarray(points.formula)
    for name in np.unique(names):
        index = np.flatnonzero(names == name)
        worst, window = worst_period({w: d[:, index] for w, d in depths.items()}, rain_params.formula(str(name)))
        period[:, index] = worst
        minutes[:, index] = np.where(np.isnan(worst), np.nan, window)
    x = screen_x(period, points.pipe_return_period_yr, params.waterlogging_return_period_yr)
    dims = ("time", point_dim)
    coords = {"time": rain["time"], point_dim: rain[point_dim]} if point_dim in rain.coords else {"time": rain["time"]}
    return xr.Dataset({"x_rain": (dims, x), "return_period_yr": (dims, period, {"units": "year"}),
                       "duration_min": (dims, minutes, {"units": "min"})}, coords=coords)


def screen_x(return_period_yr: ArrayLike, pipe_return_period_yr: ArrayLike,
             waterlogging_return_period_yr: float) -> NDArray[np.float64]:
    """``x_rain = clip(ln(P*/P_pipe) / ln(P_lz/P_pipe), 0, 1)``; NaN P* gives NaN.

    Parameters
    ----------
    return_period_yr
        P*, years (any shape).
    pipe_return_period_yr
        P_pipe, years, broadcastable with P*.
    waterlogging_return_period_yr
        P_lz, years, above every P_pipe.
    """
    period = np.asarray(return_period_yr, dtype=np.float64)
    pipe = np.asarray(pipe_return_period_yr, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.log(period / pipe) / np.log(waterlogging_return_period_yr / pipe)
    return np.where(np.isnan(period), np.nan, np.clip(x, 0.0, 1.0))


# ---------------------------------------------------------------------------------------
# 2. Storage bucket
# ---------------------------------------------------------------------------------------


def capacity_rate(points: WaterloggingPoints, *, rain_params: RainstormParams,
                  params: WaterloggingParams) -> NDArray[np.float64]:
    """Rain-equivalent drainage capacity ``i_cap``, mm/min per point.

    ``i_cap = D(P_pipe, t_cap) / t_cap`` with D the design depth of the point's
    storm-intensity formula (:func:`warn.risk.rain.design_depth`) and t_cap
    ``capacity_duration``: the mean intensity of the P_pipe design rain of duration t_cap,
    which a network sized by the rational method (GB 50014, ``Q = ψ q F`` at the time of
    concentration t_cap) carries when full. Runoff is ψ times the rain, and so is the
    capacity: the bucket compares rain with ``i_cap``.
    """
    t_cap = params.capacity_duration.total_seconds() / 60
    names = np.asarray(points.formula)
    rate = np.full(len(points), np.nan)
    for name in np.unique(names):
        index = names == name
        rate[index] = design_depth(points.pipe_return_period_yr[index], t_cap,
                                   rain_params.formula(str(name))) / t_cap
    return rate


def bucket_storage(rain_mm: ArrayLike, state_mm: ArrayLike, *, runoff_coefficient: ArrayLike,
                   capacity_mm: ArrayLike, method: Method = "numba", cells: CellMap = in_process
                   ) -> NDArray[np.float64]:
    """Storage of the bucket after each step: ``S ← max(0, S + ψ·R − ψ·C)``.

    Parameters
    ----------
    rain_mm
        (T, N) rain depth per step, mm; NaN makes the storage unknown (NaN) from that step on.
    state_mm
        (N,) storage before the first step, mm over the catchment (0 = empty).
    runoff_coefficient
        ψ, (N,) or scalar.
    capacity_mm
        C = i_cap·Δ, rain-equivalent depth the network drains per step, mm, (N,) or scalar.
    method
        ``numba``: the compiled loop (:func:`warn.risk.kernels.recursion`); ``numpy``: the
        reference, one array operation per step. Equal to the last bit.
    cells
        Where the compiled loop runs: here (the default) or on chunks of the N cells elsewhere
        (:mod:`warn.risk.chunks`); the same result.

    Returns
    -------
    numpy.ndarray
        (T, N) storage S after each step, mm over the catchment.

    Raises
    ------
    ValueError
        An unknown method, or a state, ψ or C that does not broadcast to a step's shape.
    """
    rain = np.asarray(rain_mm, dtype=np.float64)
    psi = np.asarray(runoff_coefficient, dtype=np.float64)
    if kernels.checked(method) == "numba":
        state, runoff, capacity = (np.broadcast_to(np.asarray(x, dtype=np.float64), rain.shape[1:]).reshape(-1)
                                   for x in (state_mm, psi, capacity_mm))
        return cells(_bucket, kernels.flat(rain), state, runoff, capacity)[0].reshape(rain.shape)
    net = psi * (rain - np.asarray(capacity_mm, dtype=np.float64))
    storage = np.empty_like(rain)
    s = np.asarray(state_mm, dtype=np.float64)
    for k in range(rain.shape[0]):
        s = np.maximum(s + net[k], 0.0)
        storage[k] = s
    return storage


def _bucket(rain: np.ndarray, state: np.ndarray, runoff: np.ndarray, capacity: np.ndarray
            ) -> tuple[NDArray[np.float64]]:
    """Fill the bucket over ``rain`` (T, N) by the compiled recursion (see :func:`bucket_storage`)."""
    storage = np.empty(rain.shape)
    kernels.recursion(rain, state, 1.0, runoff, capacity, True, storage)
    return (storage,)


def bucket(rain: xr.DataArray, state_mm: ArrayLike, points: WaterloggingPoints, *, rain_params: RainstormParams,
           params: WaterloggingParams, cells: CellMap = in_process) -> xr.Dataset:
    """Run the storage bucket over a rain series (MODELS.md 2.), carrying antecedent rain.

    ``S ← max(0, S + ψ·R − ψ·i_cap·Δ)``, ``ψ = 0.90·f_imp + 0.15·(1 − f_imp)``; ponding depth
    ``h = S / a``; ``x_bucket = clip(h / 300 mm, 0, 1)`` (coefficients and 300 mm from the file).

    Step-consistent: ``i_cap`` is a *rate* (:func:`capacity_rate`), the same at every step.
    MODELS.md writes the drain per step as the P_pipe design depth of the step's own duration,
    ``D(P_pipe, Δ)``; taken literally the drain per hour depends on the step (Yubei, P_pipe =
    3 a: six 10-min steps drain 6 × 18.2 = 109 mm, one hourly step 53.6 mm), so three hours of
    80 mm/h rain would store ψ × 79 mm at hourly steps and nothing at 10-min steps. The rate here
    (86.6 mm/h for t_cap = 20 min) equals that rule when Δ = t_cap. What holds exactly (in exact
    arithmetic; floating point adds ~1e-12 relative): rain that is uniform within each coarse step
    gives the same storage at every coarse step end whether it is fed at the coarse step or at any step dividing it —
    within a step the net inflow ``ψ(r − i_cap)`` is constant, so S is monotone there and the
    clip at 0 acts alike. What does not: rain that varies within a coarse step. Hourly totals
    hide a burst; the bucket then holds at most what the finer series gives (S is the maximum
    over start times τ of ``ψ(R(τ, t] − i_cap·(t − τ))``, and a coarse series offers fewer τ),
    never more. The short bursts hourly data hide are the return-period screen's job.

    Parameters
    ----------
    rain
        Depth in mm per step, dims ``time`` and one point dim, ``step`` attribute.
    state_mm
        (N,) storage before the first step, mm over the catchment (0 = empty; the caller
        persists the returned ``state_mm``). NaN stays NaN (unknown).
    points
        The points, in the order of the point dim.
    rain_params, params
        The rain model (storm formulas) and the waterlogging model.
    cells
        Where the bucket's compiled loop runs over the points (:func:`bucket_storage`).

    Returns
    -------
    xarray.Dataset
        ``storage_mm`` (time, point): S after each step, mm over the catchment;
        ``depth_cm`` (time, point): h = S/a, cm; ``x_bucket`` (time, point), 0–1;
        ``first_ponding`` (point): end time of the first step with h > 0 (NaT if none);
        ``state_mm`` (point): S after the last step, to persist.
    """
    point_dim = _point_dim(rain)
    values = rain.transpose("time", point_dim).values
    minutes = step_of(rain).total_seconds() / 60
    capacity = capacity_rate(points, rain_params=rain_params, params=params) * minutes
    storage = bucket_storage(values, state_mm, runoff_coefficient=points.runoff_coefficient(params),
                             capacity_mm=capacity, cells=cells)
    depth_mm = storage / points.ponding_area_fraction
    ponding = depth_mm > 0
    first = np.where(ponding.any(axis=0), rain["time"].values[ponding.argmax(axis=0)], np.datetime64("NaT"))
    dims = ("time", point_dim)
    return xr.Dataset(
        {"storage_mm": (dims, storage, {"units": "mm"}),
         "depth_cm": (dims, depth_mm / 10.0, {"units": "cm"}),
         "x_bucket": (dims, np.clip(depth_mm / params.full_depth_mm, 0.0, 1.0)),
         "first_ponding": (point_dim, first.astype("datetime64[ns]")),
         "state_mm": (point_dim, storage[-1], {"units": "mm"})},
        coords={"time": rain["time"]},
    )


def _point_dim(rain: xr.DataArray) -> str:
    others = [d for d in rain.dims if d != "time"]
    if "time" not in rain.dims or len(others) != 1:
        raise ValueError(f"rain: expected dims (time, <point>), got {rain.dims}")
    return str(others[0])


# ---------------------------------------------------------------------------------------
# 3. Water-level sensor at a point
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SensorState:
    """The water-level sensor of one point (MODELS.md 3.).

    Attributes
    ----------
    known
        False when the sensor is stale, its latest reading flagged, or it has no readings:
        it is then suspect and the model may govern the level now.
    reason
        Why it is unknown (``stale``, ``latest reading flagged``, ``no readings``); empty when known.
    depth_cm
        Latest water depth h_obs, cm (NaN when unknown).
    rate_cm_per_h
        Theil–Sen rate of rise, cm/h; NaN when unknown or with too few readings.
    level
        Level the depth reaches by the point's depth thresholds (``UNKNOWN`` when unknown).
    minutes_to
        Minutes to the blue, yellow and red depths: 0 where reached, ``inf`` where not
        reached and the level is not rising, NaN where the rate is unknown.
    next_level
        The next depth level above the current depth (None at red or when unknown).
    minutes_to_next
        Minutes to ``next_level`` (``inf`` if not rising, NaN if the rate is unknown, None if
        there is no next level).
    """

    known: bool
    reason: str
    depth_cm: float
    rate_cm_per_h: float
    level: Level
    minutes_to: tuple[float, float, float]
    next_level: Level | None
    minutes_to_next: float | None


def sensor_term(times: ArrayLike, depth_m: ArrayLike, *, thresholds_cm: Sequence[float], stale: bool,
                latest_flagged: bool, params: RateParams) -> SensorState:
    """Read the water-level sensor of one waterlogging point (MODELS.md 3.).

    The latest depth, its level by the point's depth thresholds, the Theil–Sen rate of rise r
    and ``TTT_k = (h_k − h_obs) / r`` for a rising level (r > 0); r is unknown with fewer than
    ``min_readings`` readings in the window.

    Parameters
    ----------
    times
        Phenomenon times of the QC-passed readings, ``datetime64`` (UTC).
    depth_m
        Water depth above the road surface, m, one per time.
    thresholds_cm
        Blue, yellow, red depths of the point, cm.
    stale
        The sensor has been silent for k × its interval (the caller's staleness rule).
    latest_flagged
        The sensor's latest reading failed QC (it is not among ``times``).
    params
        Rate window, minimum readings.

    Returns
    -------
    SensorState
        Unknown (level ``UNKNOWN``, never ``NONE``) when stale, flagged or without readings.
    """
    return sensor_terms(Readings.of([times], [depth_m]), thresholds_cm=[thresholds_cm], stale=[stale],
                        latest_flagged=[latest_flagged], params=params)[0]


def sensor_terms(readings: Readings, *, thresholds_cm: ArrayLike, stale: Sequence[bool],
                 latest_flagged: Sequence[bool], params: RateParams) -> list[SensorState]:
    """:func:`sensor_term` of the sensors of many points at once, each equal to its own.

    Parameters
    ----------
    readings
        Each point's QC-passed readings, water depth m (:class:`warn.risk.series.Readings`).
    thresholds_cm
        Blue, yellow, red depths of each point, cm (point, 3).
    stale, latest_flagged
        Per point, as :func:`sensor_term` takes them.
    params
        Rate window, minimum readings.
    """
    thresholds = np.asarray(thresholds_cm, dtype=np.float64).reshape(-1, len(DEPTH_LEVELS))
    depth = readings.newest()[1] * 100.0
    rate = robust_rates(readings, window=params.window, min_readings=params.min_readings) * 100.0
    minutes = minutes_to(depth[:, None], rate[:, None], thresholds).tolist()
    # as numpy.searchsorted(thresholds, depth, side="right"): the thresholds at or below, all of them for NaN
    reached = np.where(np.isnan(depth), thresholds.shape[1], np.count_nonzero(thresholds <= depth[:, None], axis=1))
    nan = float("nan")
    out = []
    for i, (count, reach) in enumerate(zip(readings.counts.tolist(), reached.tolist(), strict=True)):
        reason = unknown_reason(count, bool(stale[i]), bool(latest_flagged[i]))
        if reason:
            out.append(SensorState(False, reason, nan, nan, Level.UNKNOWN, (nan, nan, nan), None, None))
            continue
        to = (minutes[i][0], minutes[i][1], minutes[i][2])
        level = DEPTH_LEVELS[reach - 1] if reach else Level.NONE
        next_level = DEPTH_LEVELS[reach] if reach < len(DEPTH_LEVELS) else None
        out.append(SensorState(True, "", float(depth[i]), float(rate[i]), level, to, next_level,
                               to[reach] if next_level is not None else None))
    return out


# ---------------------------------------------------------------------------------------
# 4. Score, level now, drivers
# ---------------------------------------------------------------------------------------


def model_score(x_rain: ArrayLike, x_bucket: ArrayLike, *, known_point: ArrayLike,
                bonus: float) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """``score = min(100, 100·max(x_rain, x_bucket)·(1 + bonus·known_point))``: the model's score.

    An unknown term does not zero the score: the maximum is over the known terms (a lower
    bound of the full score, flagged incomplete). The raw level is
    ``warn.risk.levels.level_of(score, params.levels.boundaries)``.

    Parameters
    ----------
    x_rain, x_bucket
        Terms 0–1, broadcastable; NaN = unknown.
    known_point
        1/True for a catalogued waterlogging point.
    bonus
        ``known_point_bonus`` (0.25).

    Returns
    -------
    score, complete
        Score 0–100 (NaN when both terms are unknown) and whether both terms were known.
    """
    terms = np.stack(np.broadcast_arrays(np.asarray(x_rain, dtype=np.float64), np.asarray(x_bucket, dtype=np.float64)))
    unknown = np.isnan(terms)
    best = np.max(np.where(unknown, -np.inf, terms), axis=0)
    factor = 1.0 + bonus * np.asarray(known_point, dtype=np.float64)
    score = np.minimum(SCORE_MAX * np.maximum(best, 0.0) * factor, SCORE_MAX)
    return np.where(unknown.all(axis=0), np.nan, score), ~unknown.any(axis=0)


def now_score(model_now: ArrayLike, sensors: Sequence[SensorState], boundaries: Sequence[float]
              ) -> NDArray[np.float64]:
    """Give the score the level now follows: sensor-first.

    Where a point's sensor is healthy (known), its observed depth governs: the score is the
    boundary of the level its depth reaches by the point's thresholds (0 below blue), so
    ``level_of`` gives exactly that level and the model cannot raise it. Where the sensor is
    unknown (stale, flagged, no readings, none), the model's score now governs.

    Parameters
    ----------
    model_now
        The model's score now per point (:func:`model_score` at t0), NaN unknown.
    sensors
        Each point's :class:`SensorState`, in point order.
    boundaries
        Blue, yellow, orange and red boundaries of the level scale.

    Returns
    -------
    numpy.ndarray
        Score now per point, 0–100; NaN where the sensor is unknown and the model too.
    """
    bounds = np.concatenate([[0.0], np.asarray(boundaries, dtype=np.float64)])
    observed = np.array([bounds[int(s.level)] if s.known else np.nan for s in sensors], dtype=np.float64)
    known = np.array([s.known for s in sensors], dtype=bool)
    return np.where(known, observed, np.asarray(model_now, dtype=np.float64))


def now_basis(sensor: SensorState, *, has_sensor: bool, rule: str = "") -> str:
    """Say what governed a point's level now, zh-CN then English.

    ``实测积水 0.20 m（传感器正常）`` where the sensor is healthy, else ``模型估算（传感器失效：数据中断）``
    or ``模型估算（无积水传感器）``.

    Parameters
    ----------
    sensor
        The point's sensor.
    has_sensor
        The point has a water-level sensor at all.
    rule
        The QC rule that flagged the latest reading (``flatline``, ``spike``), if any.
    """
    if sensor.known:
        depth = sensor.depth_cm / 100.0
        return f"实测积水 {depth:.2f} m（传感器正常） / observed ponding {depth:.2f} m (sensor healthy)"
    if not has_sensor:
        return "模型估算（无积水传感器） / model estimate (no water-level sensor)"
    why = f"（{rule}）" if rule else ""
    return (f"模型估算（传感器失效：{REASON_ZH.get(sensor.reason, sensor.reason)}{why}） / model estimate "
            f"(sensor {sensor.reason}{f': {rule}' if rule else ''})")


def model_drivers(*, return_period_yr: float, duration_min: float, pipe_return_period_yr: float,
                  depth_cm: float, depth_thresholds_cm: Sequence[float], known_point: bool, params: WaterloggingParams,
                  lead: timedelta = timedelta(0)) -> list[Driver]:
    """Why the model puts a point at its level, in words a duty officer can read out.

    Parameters
    ----------
    return_period_yr, duration_min
        P* and its window (:func:`rain_screen`); NaN: unknown.
    pipe_return_period_yr
        The point's P_pipe, years.
    depth_cm
        The bucket's ponding depth, cm.
    depth_thresholds_cm
        The point's blue, yellow and red depths, cm.
    known_point
        A catalogued waterlogging point (the score bonus applies to the return-period threshold).
    params
        The waterlogging model (P_lz, bonus, level boundaries).
    lead
        How far ahead of the evaluation time the rain values hold.

    Returns
    -------
    list of Driver
        ``重现期`` (P* against the return period at which the score alone reaches its level;
        the quantity names the window and P_pipe) and ``积水深度 (模型)`` (bucket depth against
        the depth thresholds).
    """
    return model_drivers_of(return_period_yr=np.array([return_period_yr]), duration_min=np.array([duration_min]),
                            pipe_return_period_yr=np.array([pipe_return_period_yr]), depth_cm=np.array([depth_cm]),
                            depth_thresholds_cm=np.array([depth_thresholds_cm]), known_point=np.array([known_point]),
                            params=params, lead_s=np.array([lead.total_seconds()]))[0]


def model_drivers_of(*, return_period_yr: np.ndarray, duration_min: np.ndarray, pipe_return_period_yr: np.ndarray,
                     depth_cm: np.ndarray, depth_thresholds_cm: np.ndarray, known_point: np.ndarray,
                     params: WaterloggingParams, lead_s: np.ndarray) -> list[list[Driver]]:
    """Give :func:`model_drivers` of many points at once, one list of drivers per point.

    The arrays are (point,), the depth thresholds (point, 3), each point's lead in whole seconds.
    """
    factor = 1.0 + params.known_point_bonus * np.asarray(known_point, dtype=np.float64)
    bounds = np.asarray(params.levels.boundaries, dtype=np.float64)
    period = np.asarray(return_period_yr, dtype=np.float64)
    pipe = np.asarray(pipe_return_period_yr, dtype=np.float64)
    score = np.minimum(SCORE_MAX * screen_x(period, pipe, params.waterlogging_return_period_yr) * factor, SCORE_MAX)
    level = level_of(score, bounds)
    # The P* at which the score alone reaches a boundary B: x = B / (100·factor).
    at = bounds[np.maximum(level, 1) - 1] / (SCORE_MAX * factor)
    threshold = pipe * (params.waterlogging_return_period_yr / pipe) ** at
    depth_level, depth_threshold = _depth_levels(np.asarray(depth_cm, dtype=np.float64), depth_thresholds_cm)
    leads = {s: timedelta(seconds=s) for s in np.unique(lead_s).tolist()}
    return [[Driver(f"{f'{d:g} min ' if d == d else ''}重现期 (管网设计 {p:g} a)", v, "a", t, LEVEL_OF[lv], leads[s]),
             Driver("积水深度 (模型)", depth, "cm", dt, LEVEL_OF[dl], leads[s])]
            for v, d, p, t, lv, depth, dt, dl, s in zip(
                period.tolist(), np.asarray(duration_min, dtype=np.float64).tolist(), pipe.tolist(), threshold.tolist(),
                level.tolist(), np.asarray(depth_cm, dtype=np.float64).tolist(), depth_threshold.tolist(),
                depth_level.tolist(), np.asarray(lead_s).tolist(), strict=True)]


def sensor_drivers(sensor: SensorState, depth_thresholds_cm: Sequence[float]) -> list[Driver]:
    """Give the observed depth against the point's thresholds, and when the current rate reaches the next one."""
    drivers = [_depth_driver("积水监测", sensor.depth_cm, depth_thresholds_cm, timedelta(0))]
    if sensor.next_level is not None and sensor.minutes_to_next is not None and np.isfinite(sensor.minutes_to_next):
        depth = float(depth_thresholds_cm[DEPTH_LEVELS.index(sensor.next_level)])
        drivers.append(Driver("积水监测 预计", depth, "cm", depth, sensor.next_level,
                              timedelta(minutes=round(sensor.minutes_to_next))))
    return drivers


def _depth_driver(quantity: str, depth_cm: float, thresholds_cm: Sequence[float], lead: timedelta) -> Driver:
    level, threshold = _depth_levels(np.array([depth_cm], dtype=np.float64),
                                     np.array([thresholds_cm], dtype=np.float64))
    return Driver(quantity, float(depth_cm), "cm", float(threshold[0]), LEVEL_OF[int(level[0])], lead)


def _depth_levels(depth_cm: np.ndarray, thresholds_cm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Give the level each depth reaches and the threshold of that level (the blue one below it).

    Depths (point,) and each point's blue, yellow and red depths (point, 3), cm; NaN: unknown.
    Returns (levels, thresholds), (point,) each.
    """
    thresholds = np.asarray(thresholds_cm, dtype=np.float64)
    reached = np.count_nonzero(thresholds <= depth_cm[:, None], axis=1)
    levels = np.where(np.isnan(depth_cm), int(Level.UNKNOWN),
                      np.array([int(Level.NONE), *map(int, DEPTH_LEVELS)])[reached])
    return levels, thresholds[np.arange(len(depth_cm)), np.maximum(reached, 1) - 1]
