"""The compiled kernels (numba) against the numpy reference: soil-water tanks, bucket, rolling and effective rain,
the landslide trigger score.

Property tests: random series (zeros, drizzle, storms, huge depths, NaN where the numpy
path takes it), random storages (NaN among them) and coefficients around the model files'
(up to ones so large that the outflow limit binds), every memory layout and both float
types; the compiled result must be the reference's to 1e-9 mm, with NaN and ±inf at the
same places. Shapes run from no cell and no step to several blocks of cells.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ROOT
from warn import hazards
from warn.risk import kernels
from warn.risk.flashflood import rolling_rain
from warn.risk.landslide import TankParams, effective_rainfall, soil_water_index, trigger_scores
from warn.risk.waterlogging import bucket_storage

TOLERANCE_MM = 1e-9
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
#: The tank sections of the model files that run the three-tank model.
TANKS = tuple(hazards.load_model(name, ROOT / "models" / f"{name}.yaml").params().tank
              for name in ("landslide", "flashflood"))
LAYOUTS = ("C", "F", "strided", "float32")
# Infinite rain makes ∞ − ∞ in the numpy reference (NaN storages, as in the compiled path).
pytestmark = pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")


def assert_same(compiled: np.ndarray, reference: np.ndarray) -> None:
    """Same shape, NaN and infinities at the same places, finite values within :data:`TOLERANCE_MM`."""
    assert compiled.shape == reference.shape
    assert compiled.dtype == np.float64
    np.testing.assert_array_equal(np.isnan(compiled), np.isnan(reference))
    np.testing.assert_array_equal(np.isinf(compiled), np.isinf(reference))
    np.testing.assert_array_equal(compiled[np.isinf(compiled)], reference[np.isinf(reference)])
    finite = np.isfinite(reference)
    if finite.any():
        assert np.max(np.abs(compiled[finite] - reference[finite])) <= TOLERANCE_MM


@st.composite
def series(draw: st.DrawFn, *, max_cells: int = 1200, huge: bool = True) -> np.ndarray:
    """Rain (time, cells), mm ≥ 0: dry steps, drizzle, storms, huge depths and NaN, in one of :data:`LAYOUTS`."""
    steps, cells = draw(st.integers(0, 30)), draw(st.integers(0, max_cells))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    rain = rng.gamma(0.5, draw(st.sampled_from([0.1, 4.0, 40.0])), (steps, cells))
    rain[rng.random(rain.shape) < draw(st.sampled_from([0.0, 0.3, 0.9]))] = 0.0
    rain[rng.random(rain.shape) < draw(st.sampled_from([0.0, 0.05, 0.5]))] = np.nan
    if huge:
        rain[rng.random(rain.shape) < draw(st.sampled_from([0.0, 0.01]))] = draw(st.sampled_from([1e6, 1e150, np.inf]))
    return laid_out(rain, draw(st.sampled_from(LAYOUTS)))


def laid_out(values: np.ndarray, layout: str) -> np.ndarray:
    """``values`` C-ordered, Fortran-ordered, as every other column of a wider array, or as float32."""
    if layout == "F":
        return np.asfortranarray(values)
    if layout == "strided":
        wide = np.zeros((values.shape[0], 2 * values.shape[1]))
        wide[:, ::2] = values
        return wide[:, ::2]
    if layout == "float32":
        with np.errstate(over="ignore"):  # huge depths become inf
            return values.astype(np.float32)
    return values


@st.composite
def tank_params(draw: st.DrawFn) -> TankParams:
    """A model file's tank, its heights scaled by 0–3 and its rates by 0.1–30 (the limit binds from about 5)."""
    tank = draw(st.sampled_from(TANKS))
    height = draw(st.floats(0.0, 3.0))
    rate = draw(st.sampled_from([1.0, 0.1, 5.0, 30.0]))
    return replace(tank, L1=tank.L1 * height, L2=tank.L2 * height, L3=tank.L3 * height, L4=tank.L4 * height,
                   alpha1=tank.alpha1 * rate, alpha2=tank.alpha2 * rate, beta1=tank.beta1 * rate,
                   alpha3=tank.alpha3 * rate, beta2=tank.beta2 * rate, alpha4=tank.alpha4 * rate,
                   beta3=tank.beta3 * rate, substep_h=draw(st.sampled_from([tank.substep_h, 1.0, 0.5, 0.05])))


def storages(cells: int, seed: int, nan_share: float) -> np.ndarray:
    """Random storages (3, cells) of 0–300 mm, ``nan_share`` of them NaN."""
    rng = np.random.default_rng(seed)
    state = rng.uniform(0.0, 300.0, (3, cells))
    state[rng.random(state.shape) < nan_share] = np.nan
    return state


@SETTINGS
@given(rain=series(), tank=tank_params(), step=st.sampled_from([1.0, 0.5, 1 / 6, 3.0, 0.1]),
       seed=st.integers(0, 2**32 - 1), nan_share=st.sampled_from([0.0, 0.1]))
def test_compiled_tanks_equal_the_numpy_reference(rain, tank, step, seed, nan_share):
    state = storages(rain.shape[1], seed, nan_share)
    swi, end = soil_water_index(rain, step, state, params=tank)
    swi_ref, end_ref = soil_water_index(rain, step, state, params=tank, method="numpy")
    assert_same(swi, swi_ref)
    assert_same(end, end_ref)


@SETTINGS
@given(rain=series(max_cells=50), tank=tank_params())
def test_compiled_tanks_from_empty_on_a_grid_keep_the_shape(rain, tank):
    grid = rain.reshape(rain.shape[0], rain.shape[1] // 2, 2) if rain.shape[1] % 2 == 0 else rain[:, :, None]
    swi, end = soil_water_index(grid, 1.0, params=tank)
    swi_ref, end_ref = soil_water_index(grid, 1.0, params=tank, method="numpy")
    assert swi.shape == grid.shape and end.shape == (3, *grid.shape[1:])
    assert_same(swi, swi_ref)
    assert_same(end, end_ref)


def test_the_outflow_limit_binds_in_the_tests_and_the_results_still_agree():
    tank = replace(TANKS[0], alpha1=6.0, alpha2=6.0, beta1=6.0, alpha3=7.0, beta2=7.0, alpha4=8.0, beta3=8.0)
    rain = np.random.default_rng(3).gamma(0.5, 20.0, (24, 700))
    swi, end = soil_water_index(rain, 1.0, params=tank)
    swi_ref, end_ref = soil_water_index(rain, 1.0, params=tank, method="numpy")
    dt = tank.substep_h  # hourly steps, whole substeps
    assert (tank.alpha1 + tank.alpha2 + tank.beta1) * dt > 1.0 and (tank.alpha4 + tank.beta3) * dt > 1.0
    assert (end >= 0).all()
    assert_same(swi, swi_ref)
    assert_same(end, end_ref)


@pytest.mark.parametrize("method", ["numba", "numpy"])
def test_negative_rain_is_refused_by_both_paths(method):
    rain = np.zeros((5, 600))
    rain[3, 555] = -0.1
    with pytest.raises(ValueError, match="must not be negative"):
        soil_water_index(rain, 1.0, params=TANKS[0], method=method)


def test_an_unknown_method_is_refused_naming_the_methods():
    with pytest.raises(ValueError, match="numba, numpy"):
        soil_water_index(np.zeros((2, 3)), 1.0, params=TANKS[0], method="fortran")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="numba, numpy"):
        rolling_rain(np.zeros((2, 3)), (1,), method="cuda")  # type: ignore[arg-type]


def test_dask_chunked_dataarray_runs_the_compiled_kernel_per_chunk_and_equals_the_reference():
    rng = np.random.default_rng(5)
    rain = xr.DataArray(rng.gamma(0.5, 4.0, (24, 30, 40)), dims=("time", "y", "x")).chunk(y=7)
    state = xr.DataArray(storages(1200, 6, 0.05).reshape(3, 30, 40), dims=("tank", "y", "x")).chunk(y=7)
    swi, end = soil_water_index(rain, 1.0, state, params=TANKS[0])
    swi_ref, end_ref = soil_water_index(rain, 1.0, state, params=TANKS[0], method="numpy")
    assert swi.dims == ("time", "y", "x") and end.dims == ("tank", "y", "x")
    assert_same(swi.values, swi_ref.values)
    assert_same(end.values, end_ref.values)


@SETTINGS
@given(rain=series(), seed=st.integers(0, 2**32 - 1), scalar=st.booleans())
def test_compiled_bucket_equals_the_numpy_reference(rain, seed, scalar):
    rng = np.random.default_rng(seed)
    cells = rain.shape[1]
    state = rng.uniform(0.0, 50.0, cells)
    state[rng.random(cells) < 0.1] = np.nan
    runoff = 0.6 if scalar else rng.uniform(0.15, 0.9, cells)
    capacity = rng.uniform(0.0, 30.0, cells)
    got = bucket_storage(rain, state, runoff_coefficient=runoff, capacity_mm=capacity)
    want = bucket_storage(rain, state, runoff_coefficient=runoff, capacity_mm=capacity, method="numpy")
    assert_same(got, want)


def test_compiled_bucket_broadcasts_a_scalar_state_and_capacity_like_the_reference():
    rain = np.array([[0.0, 40.0], [50.0, np.nan], [0.0, 1.0]])
    got = bucket_storage(rain, 0.0, runoff_coefficient=[0.5, 0.9], capacity_mm=10.0)
    assert_same(got, bucket_storage(rain, 0.0, runoff_coefficient=[0.5, 0.9], capacity_mm=10.0, method="numpy"))
    np.testing.assert_array_equal(got[:, 0], [0.0, 20.0, 15.0])


@SETTINGS
@given(rain=series(), durations=st.lists(st.integers(1, 40), min_size=1, max_size=5))
def test_compiled_rolling_rain_equals_the_numpy_reference(rain, durations):
    assert_same(rolling_rain(rain, durations), rolling_rain(rain, durations, method="numpy"))


@SETTINGS
@given(rain=series(), half_life=st.floats(0.5, 500.0), seed=st.integers(0, 2**32 - 1), scalar=st.booleans())
def test_compiled_effective_rainfall_equals_the_numpy_reference(rain, half_life, seed, scalar):
    start = 5.0 if scalar else np.random.default_rng(seed).uniform(0.0, 200.0, rain.shape[1])
    got = effective_rainfall(rain, half_life_h=half_life, start=start)
    assert_same(got, effective_rainfall(rain, half_life_h=half_life, start=start, method="numpy"))


@st.composite
def trigger_case(draw: st.DrawFn) -> tuple[tuple[np.ndarray, ...], dict[str, np.ndarray]]:
    """SWI, 60-minute rain and effective rain (time, cells) — zeros, storms, huge values, NaN — in one of
    :data:`LAYOUTS`, and thresholds as the scorers give them: one set (4,), one set per cell (4, 1, cells)
    or the lines' rain intercepts one set with the rest per cell; NaN thresholds among them."""
    values = tuple(draw(series(max_cells=300)) for _ in range(3))
    steps, cells = min(v.shape[0] for v in values), min(v.shape[1] for v in values)
    values = tuple(v[:steps, :cells] for v in values)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    per_cell = draw(st.sampled_from(["one set", "per cell", "lines' rain one set"]))

    def rungs(low: float) -> np.ndarray:
        shape = (4,) if per_cell == "one set" else (4, 1, cells)
        knots = np.cumsum(rng.uniform(low / 4, low, shape), axis=0)
        knots[rng.random(shape) < draw(st.sampled_from([0.0, 0.05]))] = np.nan
        return knots

    swi_b, knots = rungs(60.0), rungs(40.0)
    rain_a = np.cumsum(rng.uniform(5.0, 20.0, 4)) if per_cell != "per cell" else rungs(20.0)
    return values, {"swi_intercepts": swi_b, "rain_intercepts": rain_a, "effective_thresholds": knots}


@SETTINGS
@given(case=trigger_case(), scores=st.sampled_from([(25.0, 50.0, 70.0, 85.0), (10.0, 20.0, 30.0, 99.0)]))
def test_compiled_trigger_scores_equal_the_numpy_reference_bit_for_bit(case, scores):
    values, thresholds = case
    with np.errstate(all="ignore"):
        expected = trigger_scores(*values, **thresholds, scores=scores, method="numpy")
    got = trigger_scores(*values, **thresholds, scores=scores)
    for g, e in zip(got, expected, strict=True):
        assert g.shape == e.shape and g.dtype == e.dtype
        np.testing.assert_array_equal(g, e)  # NaN where NaN, every other value to the last bit


def test_compiled_trigger_scores_keep_the_shape_of_one_value_and_of_a_grid():
    thresholds = {"swi_intercepts": [60.0, 80.0, 100.0, 130.0], "rain_intercepts": [20.0, 30.0, 45.0, 60.0],
                  "effective_thresholds": [50.0, 80.0, 120.0, 160.0], "scores": (25.0, 50.0, 70.0, 85.0)}
    one = trigger_scores(90.0, 10.0, 70.0, **thresholds)
    assert one[0].shape == () and one[1].shape == ()
    grid = np.random.default_rng(1).gamma(2.0, 30.0, (3, 5, 6, 7))
    for got, expected in zip(trigger_scores(*grid, **thresholds), trigger_scores(*grid, **thresholds, method="numpy"),
                             strict=True):
        assert got.shape == (5, 6, 7)
        np.testing.assert_array_equal(got, expected)


def test_one_series_without_a_cell_axis_keeps_its_shape_in_every_kernel():
    rain = np.array([0.0, 3.0, np.nan, 12.0, 1.0])
    assert_same(effective_rainfall(rain, half_life_h=12.0), effective_rainfall(rain, half_life_h=12.0, method="numpy"))
    swi, end = soil_water_index(rain, 1.0, params=TANKS[0])
    assert swi.shape == (5,) and end.shape == (3,)
    assert_same(swi, soil_water_index(rain, 1.0, params=TANKS[0], method="numpy")[0])
    assert rolling_rain(rain, (1, 3)).shape == (2, 5)
    assert_same(rolling_rain(rain, (1, 3)), rolling_rain(rain, (1, 3), method="numpy"))


def test_the_kernels_release_the_gil_for_threads():
    for kernel in (kernels.tanks, kernels.recursion, kernels.window_sums, kernels.trigger):
        assert kernel.targetoptions["nogil"] is True
