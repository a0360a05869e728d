"""The observed-rain analysis: hand-computed bias, IDW and the fallbacks, cell by cell."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest

from tests.conftest import ROOT
from tests.helpers import cut_at
from warn.modelfiles import load_model_file
from warn.risk.analysis import (
    GAUGES,
    MISSING,
    RADAR,
    RADAR_GAUGES,
    AnalysisParams,
    analyse_step,
    inverse_distance,
    mean_field_bias,
    sample_nearest,
)

PARAMS = AnalysisParams("mean_field_bias", timedelta(minutes=10), min_pairs=3, min_rain_mm=0.5,
                        bias_window=timedelta(hours=1), clip=(0.2, 5.0),
                        idw_power=2.0, idw_radius_km=10.0, lookback=timedelta(hours=3),
                        silent_after=timedelta(minutes=30))
#: A 0.01° grid (about 1.1 km), 40 × 40 cells around Yubei.
LAT = 29.6 + 0.01 * np.arange(40)
LON = 106.5 + 0.01 * np.arange(40)


def gauges_at(cells):
    """Gauges at the centres of the given (row, col) cells."""
    rows, cols = np.array(cells).T
    return LAT[rows], LON[cols]


def test_the_committed_model_file_gives_these_parameters():
    params = load_model_file("analysis", ROOT / "models" / "analysis.yaml").params()
    assert params == PARAMS


def test_mean_field_bias_is_the_ratio_of_sums_over_the_wet_pairs_only():
    bias = mean_field_bias([2.0, 4.0, 1.0, 0.1, np.nan], [1.0, 2.0, 1.0, 0.1, 3.0], params=PARAMS)
    assert (bias.pairs, bias.factor) == (3, pytest.approx(7.0 / 4.0))


def test_the_bias_over_a_window_sums_each_gauge_over_the_steps_both_sides_have():
    gauge = [[1.0, 0.6, np.nan, 0.2], [1.0, 0.8, 0.9, 0.2]]
    radar = [[0.4, 0.3, 0.5, 0.2], [0.6, 0.4, 0.3, 0.2]]
    # sums: (2.0, 1.0), (1.4, 0.7), the third only its second step (0.9, 0.3: too dry), the fourth too dry
    bias = mean_field_bias(gauge, radar, params=replace(PARAMS, min_pairs=2))
    assert bias.pairs == 2 and bias.factor == pytest.approx(3.4 / 1.7)


def test_a_step_takes_its_bias_from_the_window_before_it():
    truth = np.full((40, 40), 0.2)
    cells = [(5, 5), (20, 30), (35, 10)]
    glat, glon = gauges_at(cells)
    alone = analyse_step(truth / 2, glat, glon, [0.2, 0.2, 0.2], lat=LAT, lon=LON, params=PARAMS)
    assert alone.bias is None and "too dry" in alone.reason  # 0.1 mm of radar at each: below 0.5 mm
    past = (np.full((5, 3), 0.4), np.full((5, 3), 0.2))  # the hour before: the radar at half the gauges
    got = analyse_step(truth / 2, glat, glon, [0.2, 0.2, 0.2], lat=LAT, lon=LON, params=PARAMS, history=past)
    assert got.bias == pytest.approx(2.0) and got.pairs == 3
    np.testing.assert_allclose(got.depth, truth, rtol=1e-6)
    np.testing.assert_allclose(got.radar_at_gauges, [0.1, 0.1, 0.1])


def test_mean_field_bias_is_clipped_and_refused_with_too_few_pairs_saying_why():
    assert mean_field_bias([50.0, 60.0, 70.0], [1.0, 1.0, 1.0], params=PARAMS).factor == 5.0
    dry = mean_field_bias([0.0, 0.1, 3.0, 2.0], [0.0, 0.0, 1.0, 1.0], params=PARAMS)
    assert dry.factor is None and dry.pairs == 2 and "too dry" in dry.reason and "3 needed" in dry.reason
    few = mean_field_bias([3.0, 2.0], [1.0, 1.0], params=PARAMS)
    assert few.factor is None and "too few gauges" in few.reason


def test_sampling_takes_the_cell_a_point_stands_in_and_nan_outside_the_grid():
    field = np.arange(40 * 40, dtype=float).reshape(40, 40)
    got = sample_nearest(field, LAT, LON, [LAT[3] + 0.004, LAT[0] - 0.02], [LON[7] - 0.004, LON[5]])
    assert got[0] == field[3, 7] and np.isnan(got[1])


def test_inverse_distance_weights_by_distance_squared_and_is_nan_beyond_the_radius():
    glat, glon = gauges_at([(10, 10), (10, 14)])
    got = inverse_distance(glat, glon, [4.0, 8.0], LAT, LON, power=2.0, radius_km=10.0)
    assert got[10, 10] == 4.0 and got[10, 14] == 8.0  # on a gauge: its depth
    # one cell east of the first gauge: three cells from the second, weights 1/1² and 1/3² (same row)
    assert got[10, 11] == pytest.approx((4.0 / 1 + 8.0 / 9) / (1 + 1 / 9), rel=1e-4)
    assert np.isnan(got[39, 39])  # about 40 km away: nobody observed it
    reach = np.hypot((np.arange(40)[:, None] - 10) * 1.112, (np.arange(40)[None, :] - 10) * 0.967)
    assert np.isfinite(got[reach < 9.5]).all()



@pytest.mark.parametrize("radius_km", [3.0, 10.0, 60.0])
def test_the_compiled_inverse_distance_equals_the_numpy_reference(radius_km):
    rng = np.random.default_rng(20)
    glat, glon = rng.uniform(29.5, 30.1, 25), rng.uniform(106.4, 107.0, 25)
    glat[:2], glon[:2] = LAT[7], LON[9]  # two gauges on one cell centre: their mean
    depth = rng.gamma(1.0, 4.0, 25)
    depth[5] = np.nan  # left out
    numba = inverse_distance(glat, glon, depth, LAT, LON, power=2.0, radius_km=radius_km)
    numpy = inverse_distance(glat, glon, depth, LAT, LON, power=2.0, radius_km=radius_km, method="numpy")
    assert np.array_equal(np.isnan(numba), np.isnan(numpy))
    np.testing.assert_allclose(numba, numpy, rtol=0, atol=1e-9)
    assert numba[7, 9] == pytest.approx((depth[0] + depth[1]) / 2, abs=1e-12)
    inside_rows = cut_at([0, 1, 57, 600, 601, 1333, LAT.size * LON.size])  # chunks starting and ending in rows
    assert inverse_distance(glat, glon, depth, LAT, LON, power=2.0, radius_km=radius_km,
                            cells=inside_rows).tobytes() == numba.tobytes()

def test_radar_biased_by_half_is_adjusted_to_the_gauges():
    truth = np.fromfunction(lambda i, j: 1.0 + 0.1 * i + 0.05 * j, (40, 40))
    cells = [(5, 5), (20, 30), (35, 10), (12, 25)]
    glat, glon = gauges_at(cells)
    gauge_mm = np.array([truth[c] for c in cells])
    got = analyse_step(truth * 0.5, glat, glon, gauge_mm, lat=LAT, lon=LON, params=PARAMS)
    assert got.bias == pytest.approx(2.0) and got.pairs == 4 and got.gauges == 4 and got.reason == ""
    np.testing.assert_allclose(got.depth, truth, rtol=1e-6)
    assert (got.origin == RADAR_GAUGES).all()


def test_radar_missing_gives_the_gauges_alone_and_missing_beyond_their_reach():
    glat, glon = gauges_at([(5, 5), (8, 8)])
    got = analyse_step(None, glat, glon, [3.0, 3.0], lat=LAT, lon=LON, params=PARAMS)
    assert got.bias is None and "no radar" in got.reason
    assert got.depth[6, 6] == pytest.approx(3.0) and got.origin[6, 6] == GAUGES
    assert np.isnan(got.depth[39, 39]) and got.origin[39, 39] == MISSING
    assert ((got.origin == MISSING) == np.isnan(got.depth)).all()


def test_gauges_missing_gives_the_radar_alone_and_its_gaps_stay_missing():
    radar = np.full((40, 40), 1.5)
    radar[:, 30:] = np.nan  # beyond the radar's coverage
    got = analyse_step(radar, [], [], [], lat=LAT, lon=LON, params=PARAMS)
    assert got.bias is None and "no gauges" in got.reason and got.gauges == 0
    assert (got.origin[:, :30] == RADAR).all() and (got.depth[:, :30] == 1.5).all()
    assert (got.origin[:, 30:] == MISSING).all() and np.isnan(got.depth[:, 30:]).all()


def test_too_dry_for_a_bias_keeps_the_radar_and_fills_its_gaps_from_the_gauges():
    radar = np.full((40, 40), 0.0)
    radar[:, 30:] = np.nan
    glat, glon = gauges_at([(5, 5), (20, 20), (10, 10), (30, 35)])
    got = analyse_step(radar, glat, glon, [0.0, 0.0, 0.1, 0.4], lat=LAT, lon=LON, params=PARAMS)
    assert got.bias is None and "too dry" in got.reason  # three gauges under the radar, none wet enough
    two = analyse_step(radar, glat[[0, 1, 3]], glon[[0, 1, 3]], [0.0, 0.0, 0.4], lat=LAT, lon=LON, params=PARAMS)
    assert "too few gauges" in two.reason  # the one beyond the radar's coverage makes no pair
    assert got.origin[5, 5] == RADAR and got.depth[5, 5] == 0.0  # dry radar is observed dry, not missing
    assert got.origin[30, 35] == GAUGES and got.depth[30, 35] == pytest.approx(0.4)
    assert got.origin[0, 39] == MISSING


def test_nothing_observed_is_all_missing_never_zero():
    got = analyse_step(None, [], [], [], lat=LAT, lon=LON, params=PARAMS)
    assert np.isnan(got.depth).all() and (got.origin == MISSING).all()


def test_a_radar_off_the_model_grid_is_refused_naming_both_shapes():
    with pytest.raises(ValueError, match=r"\(40, 40\).*\(3, 3\)"):
        analyse_step(np.zeros((3, 3)), [], [], [], lat=LAT, lon=LON, params=PARAMS)
