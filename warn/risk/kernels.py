"""Compiled loops (numba): soil-water tanks, storage bucket, rolling and effective rain, the trigger score.

Pure numerical code, no I/O: each kernel fills output arrays that its caller allocates, from
plain arrays and floats; the models' parameters, shapes and checks live in the public
functions that call them (:func:`warn.risk.landslide.soil_water_index`,
:func:`warn.risk.landslide.effective_rainfall`, :func:`warn.risk.waterlogging.bucket_storage`,
:func:`warn.risk.flashflood.rolling_rain`, :func:`warn.risk.landslide.trigger_scores`), whose numpy
implementations stay the reference (``method="numpy"``). Every kernel performs the reference's
floating-point operations in the reference's order on each value (no ``fastmath``, so no
reassociation or fused multiply-add), so the two agree to the last bit on any platform whose
numpy and LLVM round alike; the tests hold them to 1e-9 mm (the trigger score to the bit).

Layout: the cells are taken in blocks of :data:`BLOCK` with the whole time series inside
each block, and the innermost loop runs over the block's cells, so a block's storages stay
in the L1 cache for all its steps and the compiler vectorises across cells (one pass over the
input and the output, no full-size temporaries). Inputs are (time, cells) arrays of any
strides, float32 or float64; the results are float64. ``nogil=True``: threads (Dask) can run
blocks of cells at once; ``cache=True``: compiled once per signature and kept on disk.
"""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np
from numba import njit

#: How a public function computes: ``numba`` (these kernels, the default) or ``numpy`` (the reference).
Method = Literal["numba", "numpy"]
#: Cells per block: the block's storages and rain (5 × 8 B × BLOCK) fit in a 32 KiB L1 cache.
BLOCK = 512
#: Float types the kernels take as they are (others are converted to float64 first).
FLOATS = (np.dtype(np.float64), np.dtype(np.float32))


def checked(method: str) -> Method:
    """Return ``method`` if it is one of :data:`Method`'s names, else raise ``ValueError`` naming them."""
    names: tuple[Method, ...] = get_args(Method)
    for name in names:
        if method == name:
            return name
    raise ValueError(f"method: expected one of {', '.join(names)}, got {method!r}")


def floats(values: np.ndarray) -> np.ndarray:
    """Return ``values`` if the kernels take its float type as it is, else a float64 copy."""
    return values if values.dtype in FLOATS else values.astype(np.float64)


def flat(values: np.ndarray, lead: int = 1) -> np.ndarray:
    """Reshape to the first ``lead`` axes and one axis of all the others (a view where numpy can; 0 sizes allowed)."""
    return values.reshape(*values.shape[:lead], int(np.prod(values.shape[lead:], dtype=np.int64)))


@njit(cache=True, nogil=True)
def tanks(rain: np.ndarray, state: np.ndarray, substeps: int, heights: np.ndarray, rates: np.ndarray,
          swi: np.ndarray, end: np.ndarray) -> None:  # pragma: no cover (compiled; tested through its callers)
    """Run the three-tank series model over ``rain`` (time, cells), filling ``swi`` and ``end``.

    Parameters
    ----------
    rain
        (T, N) rain depth per step, mm; NaN is a dry step whose SWI is NaN.
    state
        (3, N) storages S1, S2, S3 at the start, mm.
    substeps
        m, forward-Euler substeps per step; the step's rain enters evenly over them.
    heights
        (4,) side-outlet heights L1, L2, L3, L4, mm.
    rates
        (7,) outflow fractions per substep α1Δt, α2Δt, β1Δt, α3Δt, β2Δt, α4Δt, β3Δt.
    swi
        (T, N) output: S1 + S2 + S3 at the end of each step, mm (NaN where the rain is).
    end
        (3, N) output: the storages after the last step, mm.

    Raises
    ------
    ValueError
        Negative rain.
    """
    steps, ncell = rain.shape
    # Tuples: values in registers for the loops, which no store to the storages can change.
    h = (heights[0], heights[1], heights[2], heights[3])
    f = (rates[0], rates[1], rates[2], rates[3], rates[4], rates[5], rates[6])
    limit1, limit2, limit3 = f[0] + f[1] + f[2] > 1.0, f[3] + f[4] > 1.0, f[5] + f[6] > 1.0
    s1, s2, s3, r = np.empty(BLOCK), np.empty(BLOCK), np.empty(BLOCK), np.empty(BLOCK)
    for start in range(0, ncell, BLOCK):
        width = min(BLOCK, ncell - start)
        for j in range(width):
            s1[j], s2[j], s3[j] = state[0, start + j], state[1, start + j], state[2, start + j]
        for k in range(steps):
            negative = False
            for j in range(width):
                x = rain[k, start + j]
                negative |= x < 0.0
                r[j] = x if x >= 0.0 else 0.0  # fmax(x, 0): NaN enters as 0
            if negative:
                raise ValueError("rain depths must not be negative")
            if substeps > 1:
                for j in range(width):
                    r[j] /= substeps
            for _ in range(substeps):
                if limit1 or limit2 or limit3:
                    for j in range(width):
                        s1[j], s2[j], s3[j] = _substep(s1[j], s2[j], s3[j], r[j], h, f,
                                                       limit1, limit2, limit3)
                else:  # the literal flags fold the limits away: this loop is vectorised
                    for j in range(width):
                        s1[j], s2[j], s3[j] = _substep(s1[j], s2[j], s3[j], r[j], h, f,
                                                       False, False, False)
            for j in range(width):
                x = rain[k, start + j]
                swi[k, start + j] = s1[j] + s2[j] + s3[j] if x == x else np.nan
        for j in range(width):
            end[0, start + j], end[1, start + j], end[2, start + j] = s1[j], s2[j], s3[j]


@njit(inline="always")
def _substep(s1: float, s2: float, s3: float, r: float, heights: tuple[float, ...], rates: tuple[float, ...],
             limit1: bool, limit2: bool, limit3: bool) -> tuple[float, float, float]:  # pragma: no cover (compiled)
    """One forward-Euler substep of one cell: the storages S1, S2, S3 after it, mm (see :func:`tanks`).

    ``r`` is the substep's rain, mm; ``heights`` and ``rates`` as :func:`tanks` takes them;
    ``limitN``: tank N's outflows may exceed its storage and are then scaled down to it.
    """
    out, q1 = _drain(s1, _side(s1, heights[0], rates[0]) + _side(s1, heights[1], rates[1]), rates[2], limit1)
    s1 = s1 - out + r
    out, q2 = _drain(s2, _side(s2, heights[2], rates[3]), rates[4], limit2)
    s2 = s2 - out + q1
    out, q3 = _drain(s3, _side(s3, heights[3], rates[5]), rates[6], limit3)
    return s1, s2, s3 - out + q2


@njit(inline="always")
def _drain(storage: float, side: float, bottom: float, limit: bool) -> tuple[float, float]:  # pragma: no cover
    """Return a tank's outflow (its ``side`` outflow plus ``bottom`` × storage) and the bottom part, mm per substep.

    With ``limit``, both are scaled down where the outflow would exceed the storage (:func:`_limit`).
    """
    onward = storage * bottom
    out = side + onward
    if limit:
        return _limit(storage, out, onward)
    return out, onward


@njit(inline="always")
def _side(storage: float, height: float, fraction: float) -> float:  # pragma: no cover (compiled)
    """``fraction · (storage − height)⁺``, mm per substep (NaN stays NaN, as ``np.maximum``)."""
    excess = storage - height
    if excess < 0.0:
        excess = 0.0
    return excess * fraction


@njit(inline="always")
def _limit(storage: float, out: float, onward: float) -> tuple[float, float]:  # pragma: no cover (compiled)
    """Scale a tank's outflow ``out`` and its onward part down to the storage where they exceed it."""
    if out > storage:
        return storage, onward * (storage / out)
    if storage != storage:  # np.minimum propagates a NaN storage
        return storage, onward
    return out, onward


@njit(cache=True, nogil=True)
def recursion(rain: np.ndarray, start: np.ndarray, decay: float, gain: np.ndarray, loss: np.ndarray, floor: bool,
              out: np.ndarray) -> None:  # pragma: no cover (compiled; tested through its callers)
    """Fill ``out`` (T, N) with ``S(k) = S(k − 1) · decay + gain · (rain[k] − loss)``, floored at 0 if ``floor``.

    The storage bucket is ``decay = 1`` with the runoff coefficient as ``gain``, the drainage per
    step as ``loss`` and the floor; the effective rainfall is its ``decay`` with ``gain = 1``,
    ``loss = 0`` and no floor (the factors 1 and the 0 change no bit).

    Parameters
    ----------
    rain
        (T, N) rain depth per step, mm; NaN makes ``S`` NaN from that step on.
    start
        (N,) ``S`` before the first step, mm.
    decay
        Share of ``S`` that is left after a step.
    gain, loss
        (N,) factor on the net rain and depth taken from each step's rain, mm.
    floor
        Floor ``S`` at 0 (as ``np.maximum``: NaN stays NaN).
    out
        (T, N) output, mm.
    """
    steps, ncell = rain.shape
    block = np.empty(BLOCK)
    for first in range(0, ncell, BLOCK):
        cells = slice(first, min(first + BLOCK, ncell))
        s, g, c = block[:cells.stop - first], gain[cells], loss[cells]  # 1-d views: the loop streams
        s[:] = start[cells]
        for k in range(steps):
            r, o = rain[k, cells], out[k, cells]
            for j in range(s.shape[0]):
                x = s[j] * decay + g[j] * (r[j] - c[j])
                s[j] = 0.0 if floor and x < 0.0 else x
                o[j] = s[j]


@njit(cache=True, nogil=True)
def window_sums(rain: np.ndarray, hours: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover (compiled)
    """Fill ``out`` (D, T, N) with the rain of the last ``hours[i]`` steps ending at each step.

    The window's sum is the difference of running totals (the rain before the window taken
    from the rain up to its end, as ``numpy.cumsum`` forms them); NaN where the window holds a
    NaN step or begins before the series. ``rain`` is (T, N), mm; ``hours`` (D,) ≥ 1.
    """
    steps, ncell = rain.shape
    total, gaps = np.empty((steps + 1, BLOCK)), np.empty((steps + 1, BLOCK), dtype=np.int64)
    for start in range(0, ncell, BLOCK):
        width = min(BLOCK, ncell - start)
        for j in range(width):
            total[0, j], gaps[0, j] = 0.0, 0
        for k in range(steps):
            for j in range(width):
                x = rain[k, start + j]
                missing = x != x
                total[k + 1, j] = total[k, j] + (0.0 if missing else x)
                gaps[k + 1, j] = gaps[k, j] + missing
        for i in range(hours.shape[0]):
            d = hours[i]
            for k in range(steps):
                for j in range(width):
                    if k + 1 < d or gaps[k + 1, j] - gaps[k + 1 - d, j] > 0:
                        out[i, k, start + j] = np.nan
                    else:
                        out[i, k, start + j] = total[k + 1, j] - total[k + 1 - d, j]


@njit(cache=True, nogil=True)
def inverse_distance(rows: np.ndarray, cols: np.ndarray, clat: np.ndarray, clon: np.ndarray, glat: np.ndarray,
                     glon: np.ndarray, depth: np.ndarray, power: float, radius_km: float, earth_km: float,
                     out: np.ndarray) -> None:  # pragma: no cover (compiled; tested through its caller)
    """Fill ``out`` (cells,) with the inverse-distance mean of the gauges' ``depth`` within ``radius_km``.

    The cells are given by their row and column (``rows``, ``cols``: (cells,), any subset of the
    grid, fastest along a row) into the cell centres ``clat`` (lat,) and ``clon`` (lon,). The
    reference's haversine distance and weights (:func:`warn.risk.analysis.inverse_distance`) per
    cell, gauge by gauge: a cell within 1 m of gauges takes their mean, a cell with no gauge within
    the radius is NaN. Coordinates in radians; ``depth`` finite, mm.
    """
    ngauge = glat.shape[0]
    cos_gauge = np.cos(glat)
    across = np.empty((clon.shape[0], ngauge))  # sin²(Δλ/2), the haversine's longitude term
    for j in range(clon.shape[0]):
        for k in range(ngauge):
            across[j, k] = np.sin((glon[k] - clon[j]) / 2) ** 2
    along = np.empty(ngauge)
    reach = np.empty(ngauge, dtype=np.bool_)
    row, cos_phi = -1, 0.0
    for c in range(rows.shape[0]):
        if rows[c] != row:  # the latitude terms once per run of cells along a row
            row = rows[c]
            phi = clat[row]
            cos_phi = np.cos(phi)
            for k in range(ngauge):
                along[k] = np.sin((glat[k] - phi) / 2) ** 2
                reach[k] = earth_km * abs(glat[k] - phi) <= radius_km  # d ≥ R|Δφ|: beyond it, out of reach
        j = cols[c]
        weighted, total, on_depth, on = 0.0, 0.0, 0.0, 0
        for k in range(ngauge):
            if not reach[k]:
                continue
            a = along[k] + cos_phi * cos_gauge[k] * across[j, k]
            d = 2 * earth_km * np.arcsin(np.sqrt(min(max(a, 0.0), 1.0)))
            if d < 1e-3:
                on_depth += depth[k]
                on += 1
            elif d <= radius_km:
                w = d ** -power
                weighted += w * depth[k]
                total += w
        if on > 0:
            out[c] = on_depth / on
        elif total > 0:
            out[c] = weighted / total
        else:
            out[c] = np.nan


@njit(cache=True, nogil=True, error_model="numpy")
def trigger(swi: np.ndarray, rain: np.ndarray, effective: np.ndarray, swi_b: np.ndarray, rain_a: np.ndarray,
            knots: np.ndarray, marks: np.ndarray, top: float, score: np.ndarray,
            driver: np.ndarray) -> None:  # pragma: no cover (compiled; tested through its caller)
    """Fill ``score`` and ``driver`` (T, N) with the landslide trigger score of each value.

    The reference's operations (:func:`warn.risk.landslide.trigger_scores` with ``method="numpy"``)
    per value: the critical-line score is the piecewise-linear score of 1 against the knots
    ``1 / (r / a_i + s / b_i)``, the effective-rainfall score that of the effective rainfall against
    its thresholds, and the trigger score the larger, NaN where either is (``error_model="numpy"``:
    the knot at the origin is ∞, as numpy divides).

    Parameters
    ----------
    swi, rain, effective
        (T, N) soil water index, 60-minute rain and effective rainfall, mm.
    swi_b, rain_a, knots
        The critical lines' SWI and rain intercepts and the effective-rainfall thresholds, blue … red,
        mm, all three of one shape (4, T or 1, N or 1): a length-1 axis holds for every step or value
        (one set of thresholds is (4, 1, 1), one per item (4, 1, N)), so the loop reads them from a
        few cache lines.
    marks
        (4,) the level boundaries on the 0–100 scale.
    top
        The score's cap (100).
    score
        (T, N) output: the trigger score.
    driver
        (T, N) output: 0 the critical line set it (or a tie), 1 the effective rainfall, −1 unknown.
    """
    steps, ncell = swi.shape
    per_step, per_value = int(swi_b.shape[1] > 1), int(swi_b.shape[2] > 1)
    m0, m1, m2, m3 = marks[0], marks[1], marks[2], marks[3]
    for k in range(steps):
        t = k * per_step
        for j in range(ncell):
            n, s, r = j * per_value, swi[k, j], rain[k, j]
            line = _piecewise(1.0, 1.0 / (r / rain_a[0, t, n] + s / swi_b[0, t, n]),
                              1.0 / (r / rain_a[1, t, n] + s / swi_b[1, t, n]),
                              1.0 / (r / rain_a[2, t, n] + s / swi_b[2, t, n]),
                              1.0 / (r / rain_a[3, t, n] + s / swi_b[3, t, n]), m0, m1, m2, m3, top)
            by_rain = _piecewise(effective[k, j], knots[0, t, n], knots[1, t, n], knots[2, t, n], knots[3, t, n],
                                 m0, m1, m2, m3, top)
            if line != line or by_rain != by_rain:
                score[k, j], driver[k, j] = np.nan, -1
            elif by_rain > line:
                score[k, j], driver[k, j] = by_rain, 1
            else:
                score[k, j], driver[k, j] = line, 0


@njit(inline="always")
def _piecewise(x: float, k0: float, k1: float, k2: float, k3: float, m0: float, m1: float, m2: float, m3: float,
               top: float) -> float:  # pragma: no cover (compiled)
    """Score one value against the knots ``k0 … k3`` and marks ``m0 … m3`` with the reference's operations.

    As :func:`warn.risk.landslide.quantity_score` does it: the last interval ``(below, knot]`` that
    holds it (the first starts at 0 with mark 0; 0 at or below 0), beyond the last knot the red slope
    capped at ``top``; NaN for a NaN value or first knot. The intervals are tried last first, so the
    first that holds it is the reference's.
    """
    if x != x or k0 != k0:
        return np.nan
    if x > k3:
        beyond = m3 + (top - m3) * (x - k3) / (k3 - k2)
        return beyond if beyond != beyond or beyond < top else top
    if x > k2 and x <= k3:
        return m2 + (m3 - m2) * (x - k2) / (k3 - k2)
    if x > k1 and x <= k2:
        return m1 + (m2 - m1) * (x - k1) / (k2 - k1)
    if x > k0 and x <= k1:
        return m0 + (m1 - m0) * (x - k0) / (k1 - k0)
    if x > 0.0 and x <= k0:
        return 0.0 + (m0 - 0.0) * (x - 0.0) / (k0 - 0.0)
    return 0.0
