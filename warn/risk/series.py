"""A sensor's series of readings: its latest value, its rate of rise, why it cannot be read.

Shared by the water-level sensor term of urban waterlogging (:mod:`warn.risk.waterlogging`)
and the river gauges (:mod:`warn.risk.river`). Pure functions on numpy arrays: the caller
passes the QC-passed readings and says whether the sensor is stale or its latest reading
flagged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from numpy.typing import ArrayLike

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
    t = np.asarray(times, dtype="datetime64[s]")
    v = np.asarray(values, dtype=np.float64)
    if t.size == 0:
        return float("nan")
    inside = t >= t.max() - np.timedelta64(int(window.total_seconds()), "s")
    if np.count_nonzero(inside) < min_readings:
        return float("nan")
    hours = (t[inside] - t.max()).astype(np.float64) / 3600.0
    rise, run = v[inside][:, None] - v[inside], hours[:, None] - hours  # every pair, as theilslopes forms them
    later = run > 0
    return float(np.median(rise[later] / run[later])) if later.any() else float("nan")


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


def minutes_to(value: float, rate_per_h: float, thresholds: np.ndarray) -> np.ndarray:
    """Minutes until ``value`` reaches each threshold at ``rate_per_h``: 0 if reached, inf if not rising.

    NaN where the rate is unknown and the threshold not reached.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        ahead = np.where(rate_per_h > 0, (thresholds - value) / rate_per_h * 60.0,
                         np.nan if np.isnan(rate_per_h) else np.inf)
    return np.where(value >= thresholds, 0.0, ahead)
