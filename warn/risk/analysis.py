"""Observed rain on the model grid for one step: radar adjusted to the rain gauges.

Pure functions on numpy arrays; parameters are :class:`AnalysisParams`, built from
``models/analysis.yaml`` (:meth:`warn.modelfiles.AnalysisFile.params`); nothing here reads
files, clocks or the store. Depths are mm per step (the analysis step, ``PT10M``); a cell
nobody observed is NaN, never 0.

Method: mean-field bias (MFB) adjustment. The radar field of a step is multiplied by one
factor, the ratio of the gauges' total to the radar's total at the same places over the bias
window (the step and the steps before it, ``bias_window``; a gauge's sums take only the steps
where both it and the radar have a depth),

    B = Σ_i G_i / Σ_i R_i   over the pairs i where G_i ≥ r_min and R_i ≥ r_min,

clipped to ``[clip_low, clip_high]`` and used only with at least ``min_pairs`` pairs. A window
longer than the step steadies the factor: ten minutes of rain at a handful of gauges is mostly
sampling noise (Goudenhoofdt & Delobbe estimated theirs over a day).
Why MFB: Goudenhoofdt & Delobbe (2009, HESS 13, 195–203) compared radar–gauge merging
methods over Belgium and found the mean-field bias correction robust and the more local
methods (range-dependent adjustment, kriging with external drift, conditional merging) better
only where gauges are dense (their network: about one gauge per 135 km²); conditional merging
(Sinclair & Pegram 2005, Atmos. Sci. Lett. 6, 19–22) interpolates the gauge–radar
differences between gauges, which with a district's twenty or so sparse gauges (a few per
hundred km²) mostly draws bull's-eyes around them. MFB corrects the dominant radar error of a
mountain district — the calibration and the Z–R relation's bias, beam blockage averaged over
the field — and keeps the radar's pattern, which is what the gauges cannot give. It is the
method of wradlib's ``AdjustMFB`` (Heistermann et al. 2013); the pairs' threshold keeps the
drizzle, whose ratios are noise, out of the factor.

Fallbacks (every cell says which, :data:`ORIGINS`):

- radar and enough pairs → the radar × B (origin 3, ``RADAR_GAUGES``);
- radar, but no gauge, too few pairs or too little rain at them to estimate B → the radar as
  it is (origin 1, ``RADAR``; :attr:`StepAnalysis.reason` says which);
- radar missing (no frame, or outside its coverage) → the gauges alone by inverse-distance
  weighting within ``idw_radius_km`` (origin 2, ``GAUGES``), NaN beyond it (origin 0,
  ``MISSING``): a cell with no observation within reach stays missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from warn.risk import kernels
from warn.risk.chunks import CellMap, in_process
from warn.risk.kernels import Method

#: Cell origins: what an analysed cell's depth came from.
MISSING, RADAR, GAUGES, RADAR_GAUGES = 0, 1, 2, 3
#: The origins by code, for people (zh-CN / English).
ORIGINS = {MISSING: "无观测 / missing", RADAR: "雷达 / radar", GAUGES: "雨量站 / gauges",
           RADAR_GAUGES: "雷达经雨量站订正 / radar adjusted to gauges"}
#: Mean Earth radius, km (the IUGG mean radius R1).
EARTH_RADIUS_KM = 6371.0088


@dataclass(frozen=True)
class AnalysisParams:
    """The observed-rain analysis (``models/analysis.yaml``).

    Attributes
    ----------
    method
        ``"mean_field_bias"`` (the module docstring says why).
    step
        The analysis step (10 min): gauges and radar are summed to it.
    min_pairs
        Fewest gauge–radar pairs a bias factor is estimated from.
    min_rain_mm
        Depth over the bias window (mm) both the gauge and the radar at it must reach for a pair.
    bias_window
        How far back (from the step's end, whole steps) the pairs are summed.
    clip
        (low, high) bounds of the bias factor.
    idw_power
        Exponent of inverse-distance weighting (gauges alone).
    idw_radius_km
        Farthest a gauge reaches when the radar is missing, km.
    lookback
        How far back the analysed frames are kept (the window the cycle advances states through).
    silent_after
        No gauge with a whole step within this long before the latest step: the gauges are silent.
    """

    method: Literal["mean_field_bias"]
    step: timedelta
    min_pairs: int
    min_rain_mm: float
    bias_window: timedelta
    clip: tuple[float, float]
    idw_power: float
    idw_radius_km: float
    lookback: timedelta
    silent_after: timedelta

    def __post_init__(self) -> None:
        """Refuse parameters the method cannot use (the model file's schema says the same)."""
        low, high = self.clip
        if not 0 < low <= 1 <= high:
            raise ValueError(f"bias clip (low, high) with 0 < low ≤ 1 ≤ high, got {self.clip}")
        if self.min_pairs < 1 or self.idw_power <= 0 or self.idw_radius_km <= 0 or self.min_rain_mm < 0:
            raise ValueError("min_pairs ≥ 1, idw_power > 0, idw_radius_km > 0 and min_rain_mm ≥ 0")
        for name, span in (("lookback", self.lookback), ("bias_window", self.bias_window)):
            if span < self.step or span % self.step:
                raise ValueError(f"{name} a whole number of steps ({self.step}), got {span}")

    @property
    def bias_steps(self) -> int:
        """Steps in the bias window, the step itself included."""
        return self.bias_window // self.step


@dataclass(frozen=True)
class Bias:
    """A mean-field bias estimate.

    Attributes
    ----------
    factor
        B (dimensionless, clipped), or ``None`` when it could not be estimated.
    pairs
        How many gauge–radar pairs met the threshold.
    raw
        The ratio before clipping (NaN without enough pairs).
    reason
        Why there is no factor (empty when there is one).
    """

    factor: float | None
    pairs: int
    raw: float
    reason: str = ""


@dataclass(frozen=True)
class StepAnalysis:
    """The analysis of one step.

    Attributes
    ----------
    depth
        mm per step, (lat, lon) float32, NaN where nothing observed.
    origin
        (lat, lon) int8, :data:`ORIGINS`.
    bias
        The bias factor applied to the radar, or ``None``.
    pairs
        Gauge–radar pairs behind it.
    gauges
        Gauges with a depth this step.
    radar_at_gauges
        The radar's depth at each gauge this step (NaN without radar), (n,): the next steps' bias window.
    reason
        Why the radar was used unadjusted or is missing (empty otherwise).
    """

    depth: NDArray[np.float32]
    origin: NDArray[np.int8]
    bias: float | None
    pairs: int
    gauges: int
    radar_at_gauges: NDArray[np.float64]
    reason: str = ""


def nearest_index(axis: NDArray[np.float64], values: NDArray[np.float64]) -> NDArray[np.int64]:
    """Find the cell of a regular, ascending ``axis`` (cell centres) holding each value.

    −1 for a value more than half a cell beyond the first or last centre (outside the grid).
    """
    half = (axis[-1] - axis[0]) / (axis.size - 1) / 2 if axis.size > 1 else np.inf
    index = np.abs(axis[None, :] - values[:, None]).argmin(axis=1)
    outside = (values < axis[0] - half) | (values > axis[-1] + half)
    return np.where(outside, -1, index)


def sample_nearest(field: ArrayLike, lat: ArrayLike, lon: ArrayLike, at_lat: ArrayLike,
                   at_lon: ArrayLike) -> NDArray[np.float64]:
    """Sample the cell each point stands in (nearest cell centre).

    Parameters
    ----------
    field
        (lat, lon) values.
    lat, lon
        Cell-centre coordinates, degrees, ascending and regular.
    at_lat, at_lon
        The points, degrees, shape (n,).

    Returns
    -------
    numpy.ndarray
        (n,) float64; NaN for a point outside the grid.
    """
    grid = np.asarray(field, dtype=np.float64)
    rows = nearest_index(np.asarray(lat, np.float64), np.atleast_1d(np.asarray(at_lat, np.float64)))
    cols = nearest_index(np.asarray(lon, np.float64), np.atleast_1d(np.asarray(at_lon, np.float64)))
    inside = (rows >= 0) & (cols >= 0)
    out = np.full(rows.shape, np.nan)
    out[inside] = grid[rows[inside], cols[inside]]
    return out


def mean_field_bias(gauge_mm: ArrayLike, radar_mm: ArrayLike, *, params: AnalysisParams) -> Bias:
    """Estimate the mean-field bias B = ΣG / ΣR over the pairs where both reach ``min_rain_mm``, clipped.

    Parameters
    ----------
    gauge_mm, radar_mm
        The gauges' depths and the radar's at the same places (mm per step), shape (n,) or
        (steps, n) for a window: each gauge's sums take the steps where both sides have a depth
        (a NaN on either side is no pair for that step).
    params
        ``min_pairs``, ``min_rain_mm`` and ``clip``.

    Returns
    -------
    Bias
        ``factor`` ``None`` with the reason when there are fewer than ``min_pairs`` pairs.
    """
    gauge = np.atleast_2d(np.asarray(gauge_mm, dtype=np.float64))
    radar = np.atleast_2d(np.asarray(radar_mm, dtype=np.float64))
    both = np.isfinite(gauge) & np.isfinite(radar)
    paired = both.any(axis=0)
    gauge = np.where(paired, np.where(both, gauge, 0.0).sum(axis=0), np.nan)
    radar = np.where(paired, np.where(both, radar, 0.0).sum(axis=0), np.nan)
    with np.errstate(invalid="ignore"):
        pair = np.isfinite(gauge) & np.isfinite(radar) & (gauge >= params.min_rain_mm) & (radar >= params.min_rain_mm)
        pair &= radar > 0
    n = int(pair.sum())
    if n < params.min_pairs:
        wet = "雨量不足 / too dry" if np.isfinite(gauge).sum() >= params.min_pairs else "雨量站不足 / too few gauges"
        return Bias(None, n, float("nan"),
                    f"{wet}: {n} pair(s) ≥ {params.min_rain_mm:g} mm, {params.min_pairs} needed for a bias")
    raw = float(gauge[pair].sum() / radar[pair].sum())
    return Bias(float(np.clip(raw, *params.clip)), n, raw)


def inverse_distance(at_lat: ArrayLike, at_lon: ArrayLike, depth_mm: ArrayLike, lat: ArrayLike, lon: ArrayLike,
                     *, power: float, radius_km: float, method: Method = "numba",
                     cells: CellMap = in_process) -> NDArray[np.float64]:
    """Interpolate gauges to the grid by inverse-distance weighting within a radius.

    ``D(c) = Σ w_i G_i / Σ w_i``, ``w_i = d(c, i)^−power`` over the gauges i within
    ``radius_km`` of the cell centre c (great-circle distance); a cell within 1 m of a gauge takes
    that gauge's depth; a cell with no gauge within the radius is NaN.

    Parameters
    ----------
    at_lat, at_lon, depth_mm
        The gauges (degrees, mm), shape (n,); gauges whose depth is NaN are left out.
    lat, lon
        Cell-centre coordinates of the grid, degrees.
    power, radius_km
        Weighting exponent and reach (km).
    method
        ``"numba"`` (the compiled loop of :func:`warn.risk.kernels.inverse_distance`, the default) or
        ``"numpy"`` (the reference, row by row); they agree to 1e-9 mm.
    cells
        Where the compiled loop runs over the grid's cells (each cell on its own, so chunks of them on a
        cluster give the same depths to the last bit); this process by default.

    Returns
    -------
    numpy.ndarray
        (lat, lon) float64, mm.
    """
    depth = np.asarray(depth_mm, dtype=np.float64)
    keep = np.isfinite(depth)
    glat = np.radians(np.asarray(at_lat, np.float64)[keep])
    glon = np.radians(np.asarray(at_lon, np.float64)[keep])
    depth = depth[keep]
    clat = np.radians(np.asarray(lat, np.float64))
    clon = np.radians(np.asarray(lon, np.float64))
    out = np.full((clat.size, clon.size), np.nan)
    if depth.size == 0:
        return out
    if kernels.checked(method) == "numba":
        rows, cols = np.divmod(np.arange(out.size), clon.size)
        gauges = partial(_gauges_at, clat=clat, clon=clon, glat=glat, glon=glon, depth=depth, power=float(power),
                         radius_km=float(radius_km))
        return cells(gauges, rows, cols)[0].reshape(out.shape)
    for row, phi in enumerate(clat):  # one row of cells at a time: memory grows with columns × gauges
        # haversine distance (km), cells of the row × gauges
        a = (np.sin((glat[None, :] - phi) / 2) ** 2
             + np.cos(phi) * np.cos(glat)[None, :] * np.sin((glon[None, :] - clon[:, None]) / 2) ** 2)
        d = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
        near = d <= radius_km
        on = d < 1e-3
        with np.errstate(divide="ignore"):
            w = np.where(near, np.where(on, 0.0, d) ** -power, 0.0)
        w = np.where(on.any(axis=1)[:, None], on.astype(np.float64), w)
        total = w.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[row] = np.where(total > 0, (w * depth[None, :]).sum(axis=1) / total, np.nan)
    return out


def analyse_step(radar_mm: ArrayLike | None, gauge_lat: ArrayLike, gauge_lon: ArrayLike, gauge_mm: ArrayLike, *,
                 lat: ArrayLike, lon: ArrayLike, params: AnalysisParams,
                 history: tuple[ArrayLike, ArrayLike] | None = None, cells: CellMap = in_process) -> StepAnalysis:
    """Analyse the observed rain of one step on the model grid (module docstring: method and fallbacks).

    Parameters
    ----------
    radar_mm
        Radar depth (mm per step) on the model grid, (lat, lon), NaN outside its coverage; ``None``
        when there is no radar frame for the step.
    gauge_lat, gauge_lon, gauge_mm
        The QC-passed gauges that reported the whole step: degrees and depth (mm per step), (n,);
        a NaN depth is a gauge without a depth this step.
    lat, lon
        The model grid's cell centres, degrees, ascending.
    params
        :class:`AnalysisParams`.
    history
        The gauges' depths and the radar's at them (:attr:`StepAnalysis.radar_at_gauges`) in the steps
        before this one within the bias window, each (k, n) in the gauges' order, NaN where missing;
        ``None``: this step alone.
    cells
        Where the gauges' inverse-distance field is worked over the grid's cells (:func:`inverse_distance`).

    Returns
    -------
    StepAnalysis
        Depth and origin per cell, the bias used and the reason for a fallback.
    """
    lat = np.asarray(lat, np.float64)
    lon = np.asarray(lon, np.float64)
    glat = np.atleast_1d(np.asarray(gauge_lat, np.float64))
    glon = np.atleast_1d(np.asarray(gauge_lon, np.float64))
    gmm = np.atleast_1d(np.asarray(gauge_mm, np.float64))
    if not glat.shape == glon.shape == gmm.shape:
        raise ValueError(f"gauge lat, lon and depth of one shape, got {glat.shape}, {glon.shape}, {gmm.shape}")
    shape = (lat.size, lon.size)
    reporting = int(np.isfinite(gmm).sum())
    depth = np.full(shape, np.nan)
    origin = np.zeros(shape, np.int8)
    factor, pairs, reason = None, 0, ""
    at_gauges = np.full(gmm.shape, np.nan)
    if radar_mm is not None:
        radar = np.asarray(radar_mm, np.float64)
        if radar.shape != shape:
            raise ValueError(f"radar on the model grid {shape}, got {radar.shape}")
        seen = np.isfinite(radar)
        at_gauges = sample_nearest(radar, lat, lon, glat, glon) if gmm.size else at_gauges
        past_g, past_r = (np.empty((0, gmm.size)), np.empty((0, gmm.size))) if history is None else history
        bias = mean_field_bias(np.vstack([_rows(past_g, gmm.size), gmm]),
                               np.vstack([_rows(past_r, gmm.size), at_gauges]), params=params)
        factor, pairs = bias.factor, bias.pairs
        if factor is None:
            reason = "无雨量站 / no gauges" if reporting == 0 else bias.reason
            depth[seen], origin[seen] = radar[seen], RADAR
        else:
            depth[seen], origin[seen] = radar[seen] * factor, RADAR_GAUGES
        gap = ~seen
    else:
        reason = "无雷达 / no radar"
        gap = np.ones(shape, bool)
    if gap.any() and reporting:
        filled = inverse_distance(glat, glon, gmm, lat, lon, power=params.idw_power, radius_km=params.idw_radius_km,
                                  cells=cells)
        use = gap & np.isfinite(filled)
        depth[use], origin[use] = filled[use], GAUGES
    return StepAnalysis(depth.astype(np.float32), origin, factor, pairs, reporting, at_gauges, reason)


def _gauges_at(rows: NDArray[np.int64], cols: NDArray[np.int64], *, clat: NDArray[np.float64],
               clon: NDArray[np.float64], glat: NDArray[np.float64], glon: NDArray[np.float64],
               depth: NDArray[np.float64], power: float, radius_km: float) -> tuple[NDArray[np.float64]]:
    """Run :func:`inverse_distance`'s compiled loop over the cells (``rows``, ``cols``): (cells,) → ((cells,) mm,)."""
    out = np.empty(rows.shape)
    kernels.inverse_distance(rows, cols, clat, clon, glat, glon, depth, power, radius_km, EARTH_RADIUS_KM, out)
    return (out,)


def _rows(values: ArrayLike, n: int) -> NDArray[np.float64]:
    """``values`` as (steps, n); an empty history is (0, n)."""
    array = np.asarray(values, np.float64)
    return array.reshape(array.shape[0] if array.ndim == 2 else 0, n)
