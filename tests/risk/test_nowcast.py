"""The radar nowcast: synthetic fields with a known motion, the real MRMS frames, the blend weight."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from pysteps.extrapolation.semilagrangian import extrapolate

from tests.helpers import cut_at, drop, edit_yaml, messages, set_value
from warn import rainarray
from warn.errors import DataContractError
from warn.modelfiles import load_model_file
from warn.risk.chunks import in_process
from warn.risk.nowcast import BlendParams, NowcastParams, _is_known, advect, drift, motion, nowcast
from warn.sources.forecast import open_forecast

ROOT = Path(__file__).parent.parent.parent
DATA = ROOT / "tests" / "data"
FILE = load_model_file("nowcast", ROOT / "models" / "nowcast.yaml")
PARAMS: NowcastParams = FILE.params()
STEP = timedelta(minutes=10)
START = np.datetime64("2026-07-15T00:00", "ns")
N = 64
#: 2 cells per step toward 30° north of east.
U, V = 2 * math.cos(math.radians(30)), 2 * math.sin(math.radians(30))


def moving(count: int, *, u: float = U, v: float = V, x0: float = 18.0, y0: float = 18.0) -> np.ndarray:
    """A Gaussian cell (peak 5 mm per 10 min, σ 5 cells) at (x0, y0) moving (u, v) cells per step."""
    y, x = np.mgrid[0:N, 0:N]
    return np.stack([5.0 * np.exp(-((x - x0 - u * t) ** 2 + (y - y0 - v * t) ** 2) / (2 * 5.0**2))
                     for t in range(count)])


def frames(depth: np.ndarray, step: timedelta = STEP) -> xr.DataArray:
    """A contract array of ``depth`` (time, lat, lon) on a 0.01° grid at Yubei."""
    times = START + np.arange(1, len(depth) + 1) * np.timedelta64(step)
    return rainarray.make_rain(depth, time=times, lat=29.6 + 0.01 * np.arange(N), lon=106.4 + 0.01 * np.arange(N),
                               step=step, source="synthetic radar")


def centroid(field: np.ndarray) -> tuple[float, float]:
    """(x, y) centre of mass in cells, NaN taken as 0."""
    field = np.nan_to_num(field)
    y, x = np.mgrid[0:field.shape[0], 0:field.shape[1]]
    return float((field * x).sum() / field.sum()), float((field * y).sum() / field.sum())


def test_a_moving_cell_is_where_its_motion_puts_it_and_keeps_its_mass():
    observed = moving(3 + 6)
    out = nowcast(frames(observed[:3]), PARAMS, lead=timedelta(hours=1))
    assert out.dims == ("time", "lat", "lon") and out.sizes["time"] == 6
    for k in range(1, 7):
        fx, fy = centroid(out.values[k - 1])
        ox, oy = centroid(observed[2 + k])
        assert math.hypot(fx - ox, fy - oy) < 1.0, (k, (fx, fy), (ox, oy))
        assert np.nansum(out.values[k - 1]) == pytest.approx(observed[2 + k].sum(), rel=0.05)
    rainarray.check_rain(out, where="nowcast")


def test_the_contract_of_the_output():
    out = nowcast(frames(moving(3)), PARAMS)
    last = START + 3 * np.timedelta64(STEP)
    assert out.attrs["issued_at"] == str(last.astype("datetime64[s]")) + "Z"
    assert out["time"].values[0] == last + np.timedelta64(STEP)
    assert out["time"].values[-1] == last + np.timedelta64(timedelta(hours=2))
    assert out.sizes["time"] == 12 and out.attrs["step"] == "PT10M" and out.attrs["units"] == "mm"
    assert out.attrs["nowcast_method"] == "extrapolation" and out.attrs["motion_method"] == "proesmans"
    assert "3 frames 2026-07-15T00:10…2026-07-15T00:30" in out.attrs["frames_used"]
    assert "nowcast: extrapolation, motion proesmans" in out.attrs["history"]
    assert out.attrs["source"] == "nowcast of synthetic radar"


def test_the_motion_field_and_the_drift_in_km_per_hour():
    data = frames(moving(3))
    u, v = motion(data, PARAMS)
    rain = data.values[-1] > 0.5
    assert float(u.values[rain].mean()) == pytest.approx(U, abs=0.15)
    assert float(v.values[rain].mean()) == pytest.approx(V, abs=0.15)
    assert u.attrs["units"] == "grid cells per step"
    moved = drift(data, u, v)
    dx_km = 0.01 * math.pi * 6371.0088 / 180 * math.cos(math.radians(29.6 + 0.01 * (N - 1) / 2))
    dy_km = 0.01 * math.pi * 6371.0088 / 180
    assert moved.u_kmh == pytest.approx(U * dx_km * 6, rel=0.08)
    assert moved.v_kmh == pytest.approx(V * dy_km * 6, rel=0.08)
    expected = math.degrees(math.atan2(U * dx_km, V * dy_km))
    assert moved.toward_deg == pytest.approx(expected, abs=4)
    assert moved.speed_kmh == pytest.approx(math.hypot(moved.u_kmh, moved.v_kmh))


def test_a_stationary_field_stays():
    still = moving(3, u=0.0, v=0.0, x0=32, y0=32)
    out = nowcast(frames(still), PARAMS, lead=timedelta(minutes=60))
    for k in range(6):
        assert math.hypot(*np.subtract(centroid(out.values[k]), (32, 32))) < 0.3
    assert np.nanmax(np.abs(out.values[-1] - still[-1])) < 0.1
    assert math.isnan(drift(frames(np.zeros((3, N, N))), *motion(frames(np.zeros((3, N, N))), PARAMS)).speed_kmh)


def test_rain_from_outside_the_known_coverage_is_unknown_never_zero():
    depth = moving(3, x0=10.0)
    depth[-1, :, 40:] = np.nan  # the radar's coverage ends at column 40 in the last frame
    data = frames(depth)
    out = nowcast(data, PARAMS, lead=timedelta(minutes=30))
    u, _ = motion(data, PARAMS)
    inflow = u.values[:, 0] > 0.05
    assert inflow[10:30].all()
    for k in range(3):
        # where the motion is eastward the western edge draws from beyond the grid: unknown
        assert np.isnan(out.values[k][inflow, 0]).all()
        # east of the coverage's edge, further than the fastest motion reaches back: unknown
        beyond = 40 + math.ceil((k + 1) * float(u.max())) + 1
        assert np.isnan(out.values[k][:, beyond:]).all()
        # the rain and its surroundings inside the coverage are known
        assert np.isfinite(out.values[k][12:28, 8:36]).all()
    assert (out.values[~np.isnan(out.values)] >= 0).all()


@pytest.mark.parametrize("seed", range(6))
def test_the_plain_extrapolation_is_unknown_exactly_where_the_advected_coverage_is(seed):
    # the deterministic nowcast takes its unknown cells from the NaN the extrapolation carries; the
    # cascades (filled with 0) from the advected coverage: the two agree on any motion and any gaps
    rng = np.random.default_rng(seed)
    last = rng.gamma(0.5, 2.0, (N, N))
    last[rng.random((N, N)) < 0.05] = np.nan  # scattered gaps
    last[:, rng.integers(20, 50):] = np.nan  # and the edge of the coverage
    velocity = np.stack([rng.normal(1.5, 1.0, (N, N)), rng.normal(-0.5, 1.0, (N, N))])
    velocity[:, rng.integers(0, N), :] = np.round(velocity[:, 0, :])  # whole-cell moves on one row
    plain = extrapolate(last, velocity, 12, outval=np.nan, allow_nonfinite_values=True)
    known = _is_known(extrapolate(np.isfinite(last).astype(np.float64), velocity, 12, outval=0.0))
    assert np.array_equal(plain, np.where(known, plain, np.nan), equal_nan=True)
    assert np.isfinite(plain).any() and np.isnan(plain).any()


@pytest.mark.parametrize("seed", range(4))
def test_the_cells_advected_one_by_one_are_pysteps_on_the_whole_grid_to_the_bit_in_any_chunks(seed):
    rng = np.random.default_rng(seed)
    last = rng.gamma(0.5, 2.0, (N, N + 7))
    last[rng.random(last.shape) < 0.05] = np.nan
    last[:, rng.integers(20, 50):] = np.nan
    coverage = np.isfinite(last).astype(np.float64)
    velocity = np.stack([rng.normal(1.5, 2.0, last.shape), rng.normal(-0.5, 2.0, last.shape)])  # paths leave the grid
    plain = extrapolate(last, velocity, 9, outval=np.nan, allow_nonfinite_values=True)
    advected = extrapolate(coverage, velocity, 9, outval=0.0)
    chunked = cut_at(np.unique(np.concatenate([[0, last.size], rng.integers(1, last.size, 5)])))
    for cells in (in_process, chunked):
        got, got_coverage = advect(velocity, 9, (last, np.nan), (coverage, 0.0), cells=cells)
        assert got.tobytes() == plain.tobytes() and got_coverage.tobytes() == advected.tobytes()
    assert np.isnan(plain).any() and np.isfinite(plain).any() and (advected > 0).any() and (advected < 1).any()


def test_a_steps_ensemble_has_members_and_a_seed():
    params = replace(PARAMS, method="steps", members=3, cascade_levels=4)
    data = frames(moving(3, x0=25, y0=25))
    first = nowcast(data, params, lead=timedelta(minutes=30))
    again = nowcast(data, params, lead=timedelta(minutes=30))
    # the control (member 0: the frames advected without perturbation) and the three STEPS members
    assert first.dims == ("member", "time", "lat", "lon") and first.sizes["member"] == 4
    assert first.attrs["control_member"] == 0
    rainarray.check_rain(first, where="steps")
    np.testing.assert_array_equal(first.values, again.values)
    plain = nowcast(data, replace(params, method="extrapolation", members=1), lead=timedelta(minutes=30))
    np.testing.assert_allclose(first.values[0], plain.values)
    assert not np.allclose(np.nan_to_num(first.values[1]), np.nan_to_num(first.values[2]))
    # probability matching keeps each member's intensities those of the last frame (peak 5 mm)
    assert np.nanmax(first.values, axis=(1, 2, 3)) == pytest.approx([5.0] * 4, rel=0.05)
    assert "3 members (seed 24)" in first.attrs["history"]


def test_sprog_moves_the_rain_like_extrapolation():
    params = replace(PARAMS, method="sprog", cascade_levels=4)
    out = nowcast(frames(moving(3, x0=25, y0=25)), params, lead=timedelta(minutes=30))
    assert out.dims == ("time", "lat", "lon")
    assert math.hypot(*np.subtract(centroid(out.values[-1]), centroid(moving(6, x0=25, y0=25)[-1]))) < 1.5


@pytest.mark.parametrize(("change", "message"), [
    ({"method": "kriging"}, "method to be one of extrapolation, sprog, steps"),
    ({"motion": "lucaskanade"}, "motion to be one of proesmans, vet"),
    ({"frames": 2, "method": "steps"}, "frames ≥ 3 for method steps"),
    ({"members": 5}, "members 1, or more with method steps"),
    ({"lead": timedelta(minutes=25)}, "lead a positive multiple of step PT10M"),
])
def test_inconsistent_parameters_are_refused(change, message):
    with pytest.raises(ValueError, match=message):
        replace(PARAMS, **change)


def test_frames_that_do_not_fit_are_refused_saying_what():
    with pytest.raises(DataContractError, match="at least 3 frames"):
        nowcast(frames(moving(2)), PARAMS)
    with pytest.raises(DataContractError, match=r"frames every PT10M \(models/nowcast.yaml step\).*PT20M"):
        nowcast(frames(moving(3), step=timedelta(minutes=20)), PARAMS)
    with pytest.raises(ValueError, match="lead a positive multiple of PT10M"):
        nowcast(frames(moving(3)), PARAMS, lead=timedelta(minutes=15))


def test_the_blend_weight_by_lead():
    blend = FILE.blending()
    assert blend == BlendParams(timedelta(hours=1), timedelta(hours=2))
    assert [blend.weight(timedelta(minutes=m)) for m in (10, 60, 90, 120, 180)] == [1.0, 1.0, 0.5, 0.0, 0.0]
    with pytest.raises(ValueError, match="0 ≤ full_until < none_after"):
        BlendParams(timedelta(hours=2), timedelta(hours=1))


def _mrms(*times: str) -> xr.DataArray:
    """The wide MRMS crops at ``times`` (HHMMSS) as one contract array, 20 min per frame."""
    parts = [open_forecast(DATA / f"mrms_preciprate_20190610-{t}_wide.grib2", source="MRMS",
                           step=timedelta(minutes=20)) for t in times]
    return xr.concat(parts, dim="time", combine_attrs="override")


def _best_shift(a: np.ndarray, b: np.ndarray, reach: int = 5) -> tuple[int, int]:
    """The (dx, dy) in cells that best correlates ``a`` shifted with ``b`` (a direct search)."""
    n = a.shape[0]
    scores = {}
    for dy in range(-reach, reach + 1):
        for dx in range(-reach, reach + 1):
            moved = a[max(0, -dy):n - max(0, dy), max(0, -dx):n - max(0, dx)]
            there = b[max(0, dy):n - max(0, -dy), max(0, dx):n - max(0, -dx)]
            scores[dx, dy] = np.corrcoef(moved.ravel(), there.ravel())[0, 1]
    return max(scores, key=lambda k: scores[k])


def test_the_real_mrms_frames_move_the_way_the_frames_move():
    params = replace(PARAMS, step=timedelta(minutes=20), frames=2, lead=timedelta(minutes=20))
    observed = _mrms("000000", "002000", "004000")
    first, second, third = (np.nan_to_num(observed.values[k]) for k in range(3))
    u, v = motion(observed.isel(time=[0, 1]), params)
    wet = second > 1.0
    shift = _best_shift(first, second)
    assert abs(float(u.values[wet].mean()) - shift[0]) <= 1.0
    assert abs(float(v.values[wet].mean()) - shift[1]) <= 1.0
    moved = drift(observed.isel(time=[0, 1]), u, v)
    assert 3 < moved.speed_kmh < 15 and 90 < moved.toward_deg < 180  # south-east, a few km/h
    out = nowcast(observed.isel(time=[0, 1]), params)
    assert out.attrs["issued_at"] == "2019-06-10T00:20:00Z"
    assert out["time"].values[0] == observed["time"].values[2]
    ahead = out.values[0]
    known = np.isfinite(ahead)
    assert known.mean() > 0.9
    skill = np.corrcoef(ahead[known], third[known])[0, 1]
    persistence = np.corrcoef(second[known], third[known])[0, 1]
    assert skill > persistence + 0.03, (skill, persistence)


MODEL_CASES = {
    "ensemble without steps": (set_value(5, "method", "members"),
                               "expected members 1, or more with method steps (an ensemble), got 5 with method "
                               "extrapolation"),
    "motion needing OpenCV": (set_value("lucaskanade", "method", "motion"),
                              "method.motion: expected 'proesmans' or 'vet', got 'lucaskanade'"),
    "unsourced blend": (drop("blend", "source"), "blend.source: expected this key"),
    "blend ending before it starts": (set_value("PT30M", "blend", "none_after"),
                                      "expected 0 ≤ full_until < none_after, got PT1H and PT30M"),
    "lead off the step": (set_value("PT95M", "horizon", "lead"), "expected lead a positive multiple of step PT10M"),
    "one frame": (set_value(1, "method", "frames"), "method.frames: expected greater than or equal to 2, got 1"),
}


@pytest.mark.parametrize("case", sorted(MODEL_CASES))
def test_warn_check_refuses_a_broken_nowcast_file(deployment, case):
    change, expected = MODEL_CASES[case]
    edit_yaml(deployment, set_value("models/nowcast.yaml", "models", "nowcast"))
    assert messages(deployment) == ""
    edit_yaml(deployment.parent / "models" / "nowcast.yaml", change)
    text = messages(deployment)
    assert "models/nowcast.yaml: " in text
    assert expected in text


def test_dry_frames_give_a_dry_nowcast_not_an_error():
    out = nowcast(frames(np.zeros((3, N, N))), PARAMS, lead=timedelta(minutes=30))
    assert np.nanmax(out.values) == 0.0 and not np.isnan(out.values).any()


@pytest.mark.parametrize("motion_method", ["proesmans", "vet"])
@pytest.mark.parametrize("shape", [(N, N), (81, 84)])
def test_the_optical_flow_of_a_dry_window_is_still(motion_method, shape):
    from warn.risk.nowcast import _velocity

    field = _velocity(np.zeros((3, *shape)), replace(PARAMS, motion=motion_method))
    assert field.shape == (2, *shape) and not field.any()


@pytest.mark.parametrize("method", ["extrapolation", "sprog"])
@pytest.mark.parametrize("gaps", [False, True])
def test_a_dry_window_is_nowcast_without_the_flow_and_equals_the_full_computation(method, gaps):
    from warn.risk.nowcast import _advected

    params = replace(PARAMS, method=method)
    depth = np.zeros((3, N, N))
    if gaps:
        depth[:, :, :5] = np.nan  # beyond the radar's coverage
        depth[2, 30:34, 40:47] = np.nan  # a gap in the last frame only
    dry = frames(depth)
    out = nowcast(dry, params, lead=timedelta(hours=2))
    shortcut = "pysteps not run" if method == "extrapolation" and not gaps else "optical flow not run"
    assert shortcut in out.attrs["history"]
    assert out.attrs["nowcast_skipped"] == ("pysteps" if shortcut == "pysteps not run" else "optical flow")
    used = dry.isel(time=slice(-params.frames, None))
    full = _advected(used.values.astype(np.float64), 12, params, used)  # the flow asked, pysteps throughout
    np.testing.assert_array_equal(out.values, full)  # NaN where NaN, the same depth elsewhere, bit for bit


def test_any_rain_in_the_window_runs_the_nowcast():
    depth = np.zeros((3, N, N))
    depth[0, 20, 20] = 0.01  # a trace in the first frame: the flow is asked
    out = nowcast(frames(depth), PARAMS, lead=timedelta(minutes=30))
    assert "not run" not in out.attrs["history"] and out.attrs["nowcast_skipped"] == ""
