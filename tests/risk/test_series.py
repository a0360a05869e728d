"""A sensor's series: the robust rate of rise against scipy's Theil–Sen estimator, one series and many."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from scipy.stats import theilslopes

from warn.risk import series as series_module
from warn.risk.series import Readings, robust_rate, robust_rates

T0 = np.datetime64("2026-07-15T00:00:00", "s")


@pytest.mark.parametrize("seed", range(20))
def test_the_rate_is_the_slope_of_scipys_theil_sen_in_units_per_hour(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 40))
    minutes = np.sort(rng.choice(np.arange(0, 240), size=n, replace=False))
    times = T0 + minutes.astype("timedelta64[m]")
    values = rng.normal(0.3, 0.1, n) + 0.002 * minutes
    values[rng.integers(0, n)] += 2.0  # a spike
    order = rng.permutation(n)  # any order
    got = robust_rate(times[order], values[order], window=timedelta(hours=4), min_readings=2)
    hours = (times - times.max()).astype(np.float64) / 3600.0
    assert got == theilslopes(values, hours).slope


def test_the_window_and_the_fewest_readings_decide_whether_there_is_a_rate():
    times = T0 + np.array([0, 5, 10, 60, 65], dtype="timedelta64[m]")
    values = np.array([9.0, 9.0, 9.0, 1.0, 2.0])
    assert robust_rate(times, values, window=timedelta(minutes=10), min_readings=2) == pytest.approx(12.0)
    assert np.isnan(robust_rate(times, values, window=timedelta(minutes=10), min_readings=3))
    assert np.isnan(robust_rate(times[:0], values[:0], window=timedelta(hours=1), min_readings=1))


@pytest.mark.parametrize("block", [1 << 20, 50])
def test_many_series_at_once_are_each_their_own_theil_sen(monkeypatch, block):
    """robust_rates over 400 series — empty ones, too few in the window, readings at one time, ties, any
    order, in blocks of any size — gives each the slope scipy gives its readings in the window alone."""
    monkeypatch.setattr(series_module, "PAIRS_PER_BLOCK", block)
    rng = np.random.default_rng(7)
    window, fewest = timedelta(minutes=30), 3
    times, values = [], []
    for _ in range(400):
        n = int(rng.integers(0, 12))
        minutes = rng.choice(np.arange(0, 60, 5), size=n)  # repeats: readings at one time
        times.append(T0 + minutes.astype("timedelta64[m]"))
        values.append(rng.normal(0.3, 0.1, n))
    got = robust_rates(Readings.of(times, values), window=window, min_readings=fewest)
    for t, v, rate in zip(times, values, got, strict=True):
        inside = t >= t.max() - np.timedelta64(30, "m") if t.size else np.zeros(0, bool)
        hours = (t[inside] - t.max()).astype(np.float64) / 3600.0 if t.size else t
        if inside.sum() < fewest or np.unique(hours).size < 2:
            assert np.isnan(rate)
        else:
            assert rate == theilslopes(v[inside], hours).slope


def test_a_nan_reading_in_the_window_leaves_the_rate_unknown_and_the_newest_is_the_first_at_its_time():
    times = [T0 + np.array([0, 5, 10], dtype="timedelta64[m]"), T0 + np.array([10, 0, 10], dtype="timedelta64[m]")]
    readings = Readings.of(times, [[1.0, np.nan, 2.0], [3.0, 1.0, 4.0]])
    rates = robust_rates(readings, window=timedelta(hours=1), min_readings=2)
    assert np.isnan(rates[0]) and rates[1] == 15.0  # the median of 12 and 18 per hour
    assert readings.newest()[1].tolist() == [2.0, 3.0]
    with pytest.raises(ValueError, match="readings of series 1: 2 times for 1 values"):
        Readings.of([times[0], times[0][:2]], [[1.0, 2.0, 3.0], [1.0]])
