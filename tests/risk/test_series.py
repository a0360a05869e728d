"""A sensor's series: the robust rate of rise against scipy's Theil–Sen estimator."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from scipy.stats import theilslopes

from warn.risk.series import robust_rate

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
