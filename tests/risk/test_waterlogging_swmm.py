"""Cross-check of the storage bucket against EPA SWMM 5 (pyswmm) on a rain-only test network.

The network is ``tests/data/swmm_rain_runoff.inp`` (pyswmm's ``model_rain.inp`` edited: no
dry-weather flow, 80 % impervious, conduit C2 resized by the rational method; see
tests/data/PROVENANCE.md): one 40-ha subcatchment → junction J1 → conduit C2 (1.3 m, 400 m,
1.25 %, n 0.010) → storage → outfall, kinematic-wave routing, no ponding (flooded water is
lost). A junction floods when the runoff reaching it exceeds what its outlet conduit carries full.

The bucket sees the same catchment: area 40 ha, f_imp 0.80, and a drainage capacity equal to
C2's full-flow capacity (Manning, from the conduit's geometry) expressed as the P_pipe of the
Yubei formula whose 20-min design rate, times ψ and the area, gives that flow. Its flooded
volume is its peak storage times the area (all of it is excess over the capacity). It runs
twice: with SWMM's own volumetric runoff coefficient for the storm (runoff ÷ rain), which tests
the bucket's storage, capacity and timing; and with the file's ψ (0.90/0.15 by imperviousness),
which tests the whole chain. The storm is a 3-h alternating-block (Chicago-type) design storm
from the Yubei formula at P = 50 a (the waterlogging-prevention design period, P_lz), peak at
0.4 of the duration, 5-min blocks.

Figures (pyswmm 2.2.0, swmm-toolkit 0.17.0): storm 164.8 mm, peak 231 mm/h; C2 7.01 m³/s; SWMM
floods 10,810 m³ from minute 68 (runoff coefficient 0.979); the bucket with SWMM's ψ floods
13,560 m³ (+25 %) from minute 60, with the file's ψ (0.75) 7,285 m³ (−33 %) from minute 65.

Tolerances: a screening bucket against a physically based model — the bucket has no surface
routing (SWMM's nonlinear reservoir flattens the runoff peak: 15 m³/s against 25 m³/s of rain
on the catchment, so the bucket floods more), and a constant capacity where the kinematic-wave
conduit carries up to 7 % above its full flow near the crown. Flooded volume within ±30 % and the
first ponding within ±15 min (three 5-min rain blocks) are what a screen must meet to rank points
and time a warning; tighter would be fitting the bucket to this one network.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from tests.conftest import DATA, ROOT
from warn import hazards
from warn.risk import waterlogging
from warn.risk.rain import design_depth, return_period

pyswmm = pytest.importorskip("pyswmm")

MODEL = DATA / "swmm_rain_runoff.inp"
STEP_MIN = 5
DURATION_MIN = 180
STORM_PERIOD_YR = 50.0
PEAK_AT = 0.4
AREA_HA = 40.0
IMPERVIOUS = 0.80


def alternating_block_storm(period_yr: float, formula) -> np.ndarray:
    """5-min depths (mm) of a design storm: block k holds D(5k) − D(5(k−1)), largest at the peak.

    Every window around the peak holds the design depth of its duration (Keifer & Chu 1957;
    alternating-block form, Chow, Maidment & Mays 1988, §14.4).
    """
    n = DURATION_MIN // STEP_MIN
    cumulative = np.concatenate([[0.0], [design_depth(period_yr, STEP_MIN * k, formula) for k in range(1, n + 1)]])
    blocks = np.sort(np.diff(cumulative))[::-1]
    peak = int(PEAK_AT * n)
    order = sorted(range(n), key=lambda i: (abs(i - peak) if i >= peak else (peak - i) * (1 - PEAK_AT) / PEAK_AT, i))
    storm = np.empty(n)
    storm[order] = blocks
    return storm


def conduit(inp: str, name: str) -> dict[str, float]:
    """Geometry of a conduit of a SWMM input file: length, roughness, diameter, slope."""
    sections = {}
    current = None
    for line in inp.splitlines():
        line = line.split(";")[0].strip()
        if line.startswith("["):
            current = line.strip("[]").upper()
        elif line and current:
            sections.setdefault(current, []).append(line.split())
    link = next(r for r in sections["CONDUITS"] if r[0] == name)
    shape = next(r for r in sections["XSECTIONS"] if r[0] == name)
    elevation = {r[0]: float(r[1]) for key in ("JUNCTIONS", "OUTFALLS", "STORAGE") for r in sections.get(key, [])}
    length = float(link[3])
    return {"length": length, "n": float(link[4]), "diameter": float(shape[2]),
            "slope": (elevation[link[1]] + float(link[5]) - elevation[link[2]] - float(link[6])) / length}


def manning_full_flow(c: dict[str, float]) -> float:
    """Full-pipe flow of a circular conduit, m³/s: Q = (1/n) A R^(2/3) S^(1/2), R = D/4."""
    area = math.pi * c["diameter"] ** 2 / 4
    return area * (c["diameter"] / 4) ** (2 / 3) * math.sqrt(c["slope"]) / c["n"]


def run_swmm(storm_mm: np.ndarray, folder: Path) -> tuple[float, float, float]:
    """Total flooding at J1 (m³), the minute it starts, and S2's runoff (m³), for 5-min depths ``storm_mm``."""
    lines = [f"test_rainfall               {k * STEP_MIN // 60:02d}:{k * STEP_MIN % 60:02d}:00   "
             f"{depth * 60 / STEP_MIN:.4f}" for k, depth in enumerate(storm_mm)]
    lines.append(f"test_rainfall               {DURATION_MIN // 60:02d}:{DURATION_MIN % 60:02d}:00   0.0")
    text = MODEL.read_text(encoding="utf-8")
    head, rest = text.split("[TIMESERIES]")
    tail = rest[rest.index("[REPORT]"):]
    inp = folder / "storm.inp"
    inp.write_text(head + "[TIMESERIES]\n" + "\n".join(lines) + "\n\n" + tail, encoding="utf-8")
    first = math.nan
    with pyswmm.Simulation(str(inp)) as sim:
        j1 = pyswmm.Nodes(sim)["J1"]
        s2 = pyswmm.Subcatchments(sim)["S2"]
        start = sim.start_time
        for _ in sim:
            if math.isnan(first) and j1.flooding > 0:
                first = (sim.current_time - start).total_seconds() / 60
        volume, runoff = j1.statistics["flooding_volume"], s2.statistics["runoff"]
    return volume, first, runoff


def bucket_flood(storm_mm: np.ndarray, params, rain_params, q_full: float) -> tuple[float, float, float]:
    """The bucket's flooded volume (m³: peak storage × area) and first ponding (min), and its P_pipe.

    The capacity is C2's full flow as a rain rate, ``i_cap = Q_full / (ψ A)``, written as the
    P_pipe whose 20-min Yubei design rate it is (:func:`warn.risk.rain.return_period`).
    """
    yubei = rain_params.formula("yubei")
    psi = float(params.points(["yubei"], [IMPERVIOUS]).runoff_coefficient(params)[0])
    t_cap = params.capacity_duration.total_seconds() / 60
    i_cap = q_full / (psi * AREA_HA * 1e4) * 1000 * 60  # mm/min of rain
    p_pipe = float(return_period(i_cap * t_cap, t_cap, yubei))
    point = params.points(["yubei"], [IMPERVIOUS], pipe_return_period_yr=[p_pipe])
    times = (np.datetime64("2026-07-15T00:00") + np.arange(1, storm_mm.size + 1) * np.timedelta64(STEP_MIN, "m"))
    rain = xr.DataArray(storm_mm[:, None], dims=("time", "point"), coords={"time": times.astype("datetime64[ns]")},
                        attrs={"units": "mm", "step": f"PT{STEP_MIN}M"})
    out = waterlogging.bucket(rain, [0.0], point, rain_params=rain_params, params=params)
    volume = float(out["storage_mm"].max()) / 1000 * AREA_HA * 1e4
    start = times[0].astype("datetime64[ns]") - np.timedelta64(STEP_MIN, "m")
    first = (out["first_ponding"].values[0] - start) / np.timedelta64(1, "m")  # end of the first ponding step
    return volume, float(first), p_pipe


@pytest.fixture(scope="module")
def comparison(tmp_path_factory, rainstorm_params):
    params = hazards.load_model("waterlogging", ROOT / "models" / "waterlogging.yaml").params()
    storm = alternating_block_storm(STORM_PERIOD_YR, rainstorm_params.formula("yubei"))
    swmm_volume, swmm_first, swmm_runoff = run_swmm(storm, tmp_path_factory.mktemp("swmm"))
    q_full = manning_full_flow(conduit(MODEL.read_text(encoding="utf-8"), "C2"))
    rain_volume = storm.sum() / 1000 * AREA_HA * 1e4
    psi_swmm = swmm_runoff / rain_volume  # SWMM's volumetric runoff coefficient for this storm
    as_swmm = replace(params, runoff_impervious=psi_swmm, runoff_pervious=psi_swmm)
    figures = {"storm_mm": storm.sum(), "peak_mm_per_h": storm.max() * 60 / STEP_MIN, "q_full": q_full,
               "psi": float(params.points(["yubei"], [IMPERVIOUS]).runoff_coefficient(params)[0]),
               "psi_swmm": psi_swmm, "swmm_m3": swmm_volume, "swmm_first_min": swmm_first}
    for key, p in (("file", params), ("swmm_psi", as_swmm)):
        figures[f"{key}_m3"], figures[f"{key}_first_min"], figures[f"{key}_p_pipe"] = \
            bucket_flood(storm, p, rainstorm_params, q_full)
    print(f"\nstorm {figures['storm_mm']:.1f} mm in {DURATION_MIN} min, peak {figures['peak_mm_per_h']:.0f} mm/h; "
          f"C2 full flow {q_full:.2f} m³/s; SWMM runoff coefficient {psi_swmm:.3f}, file ψ {figures['psi']:.3f}\n"
          f"SWMM: flooded {swmm_volume:.0f} m³, first flooding at {swmm_first:.0f} min")
    for key, label in (("swmm_psi", "bucket, SWMM's ψ"), ("file", "bucket, file's ψ")):
        print(f"{label}: P_pipe {figures[key + '_p_pipe']:.2f} a, flooded {figures[key + '_m3']:.0f} m³ "
              f"({figures[key + '_m3'] / swmm_volume - 1:+.1%}), "
              f"first ponding at {figures[key + '_first_min']:.0f} min")
    return figures


def test_bucket_storage_against_swmm_within_30_percent_and_15_minutes(comparison):
    """The bucket's own mechanics (capacity, storage, timing), fed SWMM's runoff coefficient."""
    c = comparison
    assert c["swmm_m3"] > 0
    assert c["swmm_psi_m3"] == pytest.approx(c["swmm_m3"], rel=0.30)
    assert abs(c["swmm_psi_first_min"] - c["swmm_first_min"]) <= 15


def test_file_runoff_coefficient_underestimates_this_tight_soil(comparison):
    """The whole chain with the file's ψ: timing holds, the volume is low — a documented bias.

    The network's pervious fifth (Green–Ampt, Ksat 0.5 mm/h) sheds nearly all of a 165-mm storm,
    where the file's ψ (GB 50014's 0.15 for green space) assumes 15 %: the bucket runs off 0.75 of
    the rain against SWMM's 0.98, and the flooded volume falls short by about a third. The test
    fails if that bias grows past 40 % or changes sign (it would then hide another error).
    """
    c = comparison
    assert c["psi"] < c["psi_swmm"]
    assert -0.40 <= c["file_m3"] / c["swmm_m3"] - 1 < 0
    assert abs(c["file_first_min"] - c["swmm_first_min"]) <= 15
def test_storm_holds_the_design_depth_of_every_window_around_its_peak(rainstorm_params):
    yubei = rainstorm_params.formula("yubei")
    storm = alternating_block_storm(STORM_PERIOD_YR, yubei)
    assert storm.sum() == pytest.approx(design_depth(STORM_PERIOD_YR, DURATION_MIN, yubei))
    assert storm.max() == pytest.approx(design_depth(STORM_PERIOD_YR, STEP_MIN, yubei))
    hour = np.convolve(storm, np.ones(12), "valid").max()
    assert hour == pytest.approx(design_depth(STORM_PERIOD_YR, 60, yubei), rel=0.01)
