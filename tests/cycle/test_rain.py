"""The rain step of the cycle: zone aggregation and scoring on a hand-made grid."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from warn.config import load_settings
from warn.cycle import score_rain
from warn.errors import DataContractError
from warn.rainarray import make_rain
from warn.vocab import Level

# 0.05° cells: town T1 (106.5–106.6 E, 29.6–29.7 N) covers the 2 × 2 cells centred on
# 106.525/106.575 E and 29.625/29.675 N, town T2 the next two columns.
LAT = np.array([29.575, 29.625, 29.675, 29.725])
LON = np.array([106.475, 106.525, 106.575, 106.625, 106.675, 106.725])


def grid_rain(depth):
    hours = depth.shape[0]
    times = np.datetime64("2026-07-15T01:00", "ns") + np.arange(hours) * np.timedelta64(1, "h")
    return make_rain(depth, time=times, lat=LAT, lon=LON, step=timedelta(hours=1), source="hand-made",
                     issued_at=np.datetime64("2026-07-15T00:00"))


def test_worst_cell_is_the_maximum_of_sums_not_the_sum_of_maxima(deployment):
    depth = np.zeros((6, LAT.size, LON.size))
    depth[1, 1, 1] = 40.0  # a cell burst moving across T1: one cell per hour
    depth[2, 1, 2] = 40.0
    depth[3, 2, 2] = 40.0
    summary = score_rain(load_settings(deployment), grid_rain(depth), "towns")
    t1 = summary.sel(zone="T1")
    assert float(t1["max_1h"]) == 40.0
    assert float(t1["max_3h"]) == 40.0  # no cell had more than 40 mm in any 3 h
    assert Level(int(t1["signal_level"])) is Level.UNKNOWN  # no rung met; 12 h never judged in 6 steps
    assert float(t1["mean_max_3h"]) == pytest.approx(30.0, rel=1e-3)  # 120 mm over 4 cells of near-equal area
    assert str(t1["name"].values) == "甲"


def test_zone_with_a_missing_cell_is_incomplete_and_not_clear(deployment):
    depth = np.ones((13, LAT.size, LON.size))
    depth[5, 1, 3] = np.nan  # a T2 cell
    summary = score_rain(load_settings(deployment), grid_rain(depth), "towns")
    assert bool(summary["complete"].sel(zone="T1")) and not bool(summary["complete"].sel(zone="T2"))
    assert Level(int(summary["signal_level"].sel(zone="T1"))) is Level.NONE
    assert Level(int(summary["signal_level"].sel(zone="T2"))) is Level.UNKNOWN


def test_red_over_one_town_only(deployment):
    depth = np.zeros((12, LAT.size, LON.size))
    depth[4:7, 2, 1] = 35.0  # 105 mm in 3 h in one T1 cell
    summary = score_rain(load_settings(deployment), grid_rain(depth), "towns")
    assert Level(int(summary["signal_level"].sel(zone="T1"))) is Level.RED
    assert Level(int(summary["signal_level"].sel(zone="T2"))) is Level.NONE
    assert str(summary["peak_3h_end"].sel(zone="T1").values)[:16] == "2026-07-15T07:00"


def test_grid_that_does_not_cover_the_zones_is_rejected(deployment):
    rain = grid_rain(np.ones((3, LAT.size, LON.size))).isel(lon=slice(0, 3))
    with pytest.raises(DataContractError, match="hand-made"):
        score_rain(load_settings(deployment), rain, "towns")
