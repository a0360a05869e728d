"""A sensor's series of readings: its latest value, its rate of rise, why it cannot be read.

Shared by the water-level sensor term of urban waterlogging (:mod:`warn.risk.waterlogging`)
and the river gauges (:mod:`warn.risk.river`). Pure functions on numpy arrays: the caller
passes the QC-passed readings and says whether the sensor is stale or its latest reading
flagged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from numpy.typing import ArrayLike, NDArray

#: Pairwise slopes held at once by :func:`robust_rates` (series × k × k).
PAIRS_PER_BLOCK = 1 << 20
#: The reasons of :func:`unknown_reason` in Chinese, for drivers and notices.
REASON_ZH = {"stale": "数据中断", "latest reading flagged": "最新读数未通过质控", "no readings": "无读数"}


@dataclass(frozen=True)
class RateParams:
    """How a sensor's rate of rise is judged (the ``sensor`` / ``rate`` sections of the model files).

    Attributes
    ----------
    window
        Readings within this span before the latest one give the rate of rise.
    min_readings
        Fewest readings in the window for a rate; fewer leave the rate unknown.
    """

    window: timedelta
    min_readings: int


def robust_rate(times: ArrayLike, values: ArrayLike, *, window: timedelta, min_readings: int) -> float:
    """Theil–Sen slope of the readings within ``window`` before the latest, per hour.

    The median of the pairwise slopes over the pairs of distinct times (Sen 1968; the slope of
    :func:`scipy.stats.theilslopes`, without its confidence interval): one spike among five
    readings does not move it.

    Parameters
    ----------
    times
        Reading times, ``datetime64``, any order.
    values
        Readings (unit U).
    window
        Readings at or after ``latest − window`` count.
    min_readings
        Fewest readings for a slope.

    Returns
    -------
    float
        Slope in U per hour; NaN with fewer than ``min_readings`` readings in the window, or
        all of them at one time.
    """
    return float(robust_rates(Readings.of([times], [values]), window=window, min_readings=min_readings)[0])


@dataclass(frozen=True)
class Readings:
    """The readings of many series, one after the other (series by series, each in any order).

    Attributes
    ----------
    seconds
        Reading times, seconds since 1970 (UTC) (reading,).
    values
        Readings (reading,).
    series
        Which series each reading is of (reading,), 0 … n − 1, non-decreasing.
    counts
        Readings of each series (series,).
    """

    seconds: NDArray[np.int64]
    values: NDArray[np.float64]
    series: NDArray[np.int64]
    counts: NDArray[np.int64]

    @classmethod
    def of(cls, times: Sequence[ArrayLike], values: Sequence[ArrayLike]) -> Readings:
        """Take series ``i`` as its times ``times[i]`` (``datetime64``) and readings ``values[i]``.

        Raises
        ------
        ValueError
            A series without as many times as values.
        """
        t = [np.asarray(x, dtype="datetime64[s]").ravel() for x in times]
        v = [np.asarray(x, dtype=np.float64).ravel() for x in values]
        for i, (a, b) in enumerate(zip(t, v, strict=True)):
            if a.size != b.size:
                raise ValueError(f"readings of series {i}: {a.size} times for {b.size} values")
        counts = np.array([a.size for a in t], dtype=np.int64)
        seconds = np.concatenate(t).astype(np.int64) if t else np.empty(0, np.int64)
        flat = np.concatenate(v) if v else np.empty(0)
        return cls(seconds, flat, np.repeat(np.arange(counts.size), counts), counts)

    def newest(self) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """Return the time (s) and value of each series' newest reading, (series,) each.

        The first reading at the newest time; the smallest int64 and NaN for a series without readings.
        """
        n = self.counts.size
        newest = np.full(n, np.iinfo(np.int64).min)
        value = np.full(n, np.nan)
        held = np.flatnonzero(self.counts)
        if held.size:
            starts = (np.cumsum(self.counts) - self.counts)[held]
            newest[held] = np.maximum.reduceat(self.seconds, starts)
            at_newest = np.flatnonzero(self.seconds == newest[self.series])
            series, first = np.unique(self.series[at_newest], return_index=True)
            value[series] = self.values[at_newest[first]]
        return newest, value


def robust_rates(readings: Readings, *, window: timedelta, min_readings: int) -> NDArray[np.float64]:
    """:func:`robust_rate` of every series of ``readings`` (series,), each equal to its own.

    The series with ``k`` readings in their window are taken together: their pairwise slopes (series, k, k)
    in blocks of about :data:`PAIRS_PER_BLOCK`, the median of each one's slopes over its pairs of distinct
    times as :func:`numpy.median` takes it.
    """
    out = np.full(readings.counts.size, np.nan)
    if not readings.seconds.size:
        return out
    newest = readings.newest()[0][readings.series]
    inside = readings.seconds >= newest - int(window.total_seconds())
    hours = (readings.seconds - newest).astype(np.float64) / 3600.0
    entries = np.flatnonzero(inside)
    counts = np.bincount(readings.series[entries], minlength=readings.counts.size)
    starts = np.cumsum(counts) - counts
    for k in np.unique(counts[(counts >= min_readings) & (counts > 0)]).tolist():
        series = np.flatnonzero(counts == k)
        for block in np.array_split(series, min(series.size, max(1, series.size * k * k // PAIRS_PER_BLOCK))):
            taken = entries[starts[block][:, None] + np.arange(k)]
            out[block] = _median_slopes(readings.values[taken], hours[taken])
    return out


def _median_slopes(values: NDArray[np.float64], hours: NDArray[np.float64]) -> NDArray[np.float64]:
    """Return the median of each row's slopes over its pairs of distinct times (row,).

    As :func:`numpy.median` gives it (the mean of the middle two of an even count); NaN without such a
    pair or with a NaN slope.

    Parameters
    ----------
    values, hours
        The readings of each row and their times (row, k), U and hours.
    """
    rise = values[:, :, None] - values[:, None, :]
    run = hours[:, :, None] - hours[:, None, :]  # every pair, as theilslopes forms them
    later = run > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        slopes = np.where(later, rise / run, np.nan).reshape(len(values), -1)
    pairs = np.count_nonzero(later.reshape(len(values), -1), axis=1)
    bad = np.isnan(slopes).sum(axis=1) > slopes.shape[1] - pairs  # a NaN among the slopes themselves
    ordered = np.sort(slopes, axis=1)  # NaN last
    row = np.arange(len(values))
    low = ordered[row, np.maximum(pairs - 1, 0) // 2]
    high = ordered[row, pairs // 2 - (pairs == 0)]
    median = np.where(pairs % 2 == 1, low, (low + high) / 2)
    return np.where((pairs == 0) | bad, np.nan, median)


def latest(times: ArrayLike, values: ArrayLike) -> tuple[np.ndarray, np.ndarray, float]:
    """Return the readings as ``datetime64[s]`` and float arrays, and the value of the newest (NaN if none).

    Raises
    ------
    ValueError
        Times and values of different lengths.
    """
    t = np.asarray(times, dtype="datetime64[s]")
    v = np.asarray(values, dtype=np.float64)
    if t.shape != v.shape:
        raise ValueError(f"readings: {t.size} times for {v.size} values")
    return t, v, float(v[np.argmax(t)]) if t.size else float("nan")


def unknown_reason(count: int, stale: bool, latest_flagged: bool) -> str:
    """Why a sensor cannot be read (``stale``, ``latest reading flagged``, ``no readings``); empty when it can."""
    if stale:
        return "stale"
    if latest_flagged:
        return "latest reading flagged"
    return "no readings" if count == 0 else ""


def minutes_to(value: ArrayLike, rate_per_h: ArrayLike, thresholds: np.ndarray) -> np.ndarray:
    """Minutes until ``value`` reaches each threshold at ``rate_per_h``: 0 if reached, inf if not rising.

    NaN where the rate is unknown and the threshold not reached. ``value`` and ``rate_per_h`` broadcast with
    ``thresholds`` (one value, or (series, 1) against (series, threshold)).
    """
    value, rate_per_h = np.asarray(value, dtype=np.float64), np.asarray(rate_per_h, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        ahead = np.where(rate_per_h > 0, (thresholds - value) / rate_per_h * 60.0,
                         np.where(np.isnan(rate_per_h), np.nan, np.inf))
    return np.where(value >= thresholds, 0.0, ahead)
