"""The municipality on one machine and on a dask cluster: figures side by side, in one run.

    .venv/bin/python bench/municipal.py [--members 50] [--fine-members 50] [--pg URL]
        [--sections grid,ensemble,store,ingest,planner,age]

Each section is a function returning rows; every row is timed in this run beside its reference
(this machine is shared and noisy: read the ratios, not the seconds). Sections:

- ``grid``: the gridded part of the municipal cycle on Chongqing's extent at 0.01° (~1 km,
  408 × 495 cells), step by step: decoding the 72-hour run's NetCDF file; the soil-water tanks
  spun up over 30 days of hourly rain then run over the forecast, the effective rainfall, the
  storage bucket and the flash-flood rolling rain of every cell; the zonal means of the 38
  districts (exact coverage weights × rain, :func:`warn.geo.weights.zonal_values`); one step of
  the analysis's gauge field (inverse distance from 2,000 gauges within 20 km); a 2-hour nowcast
  from three radar frames (the motion, which stays whole in the process, and the extrapolation).
  Single process (``compute: none``) against a dask.distributed LocalCluster of 2 worker
  processes (chunks of 50,000 cells; every step distributed, ``min_cells: 0``), the largest
  difference of each step's values, and "the largest deployment that fits a 10-minute cycle on
  this machine": 600 s divided by the measured cost per cell (the steps are linear in cells),
  the faster of the two.
- ``ensemble``: 50 members × 72 h, each member's rain made where it is scored (a member is a
  seeded perturbation of the storm), its tanks run from the same start, bucket and rolling rain,
  reduced to the 38 districts' means; on the ~1 km grid and on a ~250 m grid (0.0025°,
  1,620 × 1,967 = 3.2 M cells). One member at 250 m is 72 × 3.2 M × 8 B = 1.8 GB of rain and as
  much of each output: it is worked in chunks of cells inside the member, so the memory is a
  chunk's per worker, not a member's. Single process (members one after the other) against the
  cluster (members mapped onto the workers).

- ``store``: rows written per second into a fresh store, SQLite and PostgreSQL — readings, item
  levels, outbox rows — in bulk against one transaction per row (bench/storescale.py).
- ``ingest``: a simulated 370,000-device catalogue at its reporting rates, with QC, into
  PostgreSQL: the time its readings took against the time they cover.
- ``planner``: the command step raising 10, 100 and 1,000 warning threads at once, against 100.
- ``age``: the city-sized cycle on a service's day 1 and day 30 (bench/history.py).

The districts are Chongqing's 38 real outlines (geodata/chongqing/chongqing.gpkg); the rain is a
synthetic storm; the tanks and the effective rain's half-life are models/landslide.yaml's.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from math import ceil
from pathlib import Path

import geopandas as gpd
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from backends import DEFAULT_PG  # noqa: E402

from warn.compute import Compute  # noqa: E402
from warn.config import ComputeSpec  # noqa: E402
from warn.geo.weights import CoverageWeights, build_weights, zonal_values  # noqa: E402
from warn.modelfiles import load_model_file  # noqa: E402
from warn.rainarray import make_rain  # noqa: E402
from warn.risk.analysis import inverse_distance  # noqa: E402
from warn.risk.flashflood import rolling_rain  # noqa: E402
from warn import hazards  # noqa: E402
from warn.risk.landslide import effective_rainfall, soil_water_index  # noqa: E402
from warn.risk.nowcast import nowcast  # noqa: E402
from warn.risk.waterlogging import bucket_storage  # noqa: E402
from warn.sources.forecast import open_forecast, write_forecast  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
#: Chongqing's 38 districts and counties (real outlines, geodata/chongqing/PROVENANCE.md).
DISTRICT_LAYER = ROOT / "geodata" / "chongqing" / "chongqing.gpkg"
DISTRICTS = 38
HOURS = 72
SPIN_UP = 30 * 24
#: The landslide model as deployed (models/landslide.yaml): its tanks and its effective-rain half-life.
LANDSLIDE = hazards.load_model("landslide", ROOT / "models" / "landslide.yaml").params()
TANK = LANDSLIDE.tank
HALF_LIFE_H = LANDSLIDE.half_life_h
LOOKBACK = ceil(10 * HALF_LIFE_H)  # hours the effective rainfall looks back: 10 half-lives
DURATIONS = (1, 3, 6, 12, 24)
#: The storage bucket of every cell: a synthetic runoff coefficient and storage (the real ones are per point).
RUNOFF, CAPACITY_MM = 0.7, 20.0
CYCLE_S = 600.0
#: Rain gauges over the municipality (Chongqing runs about 2,000 automatic stations) and their reach, km.
GAUGES, GAUGE_REACH_KM = 2_000, 20.0
#: The nowcast as deployed (models/nowcast.yaml).
NOWCAST = load_model_file("nowcast", ROOT / "models" / "nowcast.yaml").params()
#: The grids: 0.01° (~1 km, the forecasts') and 0.0025° (~250 m).
RES = 0.01
FINE = RES / 4
CHUNK = 50_000


@dataclass(frozen=True)
class Row:
    """One figure: ``seconds`` of ``what``, and its ratio to the section's reference timed in this run."""

    section: str
    what: str
    seconds: float
    reference: float
    note: str = ""


@dataclass(frozen=True)
class Grid:
    """A grid over Chongqing's extent with the districts' weights: ``coverage`` as the cycle uses them, and
    ``weights`` their matrix (zones × cells, CSR, row-normalised) for a member's chunks of cells."""

    lat: np.ndarray
    lon: np.ndarray
    coverage: CoverageWeights
    weights: object

    @property
    def cells(self) -> int:
        return self.lat.size * self.lon.size


def grid(res: float) -> Grid:
    """The districts' weights on a grid of ``res`` degrees covering the municipality (its bounds, one cell out)."""
    zones = gpd.read_file(DISTRICT_LAYER, layer="districts")
    west, south, east, north = zones.total_bounds
    lat = np.round(res * np.arange(np.floor(south / res) - 1, np.ceil(north / res) + 2), 5)
    lon = np.round(res * np.arange(np.floor(west / res) - 1, np.ceil(east / res) + 2), 5)
    coverage = build_weights(zones, lat, lon, id_column="zone_id")
    weights = coverage.matrix.tocsr()
    totals = np.asarray(weights.sum(axis=1)).ravel()
    return Grid(lat, lon, coverage, (weights.multiply(1 / totals[:, None])).tocsr().astype(np.float64))


def storm(lat: np.ndarray, lon: np.ndarray, hours: int, seed: int, cells: slice = slice(None)) -> np.ndarray:
    """Hourly rain (hours, cells of the flattened grid in ``cells``), mm: three moving blobs over a
    0.5 mm/h background, scaled and shifted by member ``seed``."""
    rng = np.random.default_rng(seed)
    scale, shift = rng.uniform(0.6, 1.4), rng.uniform(-0.2, 0.2, 2)
    index = np.arange(lat.size * lon.size)[cells]
    yy, xx = lat[index // lon.size], lon[index % lon.size]
    out = np.full((hours, yy.size), 0.5)
    for x0, y0, peak, sigma in ((106.0, 28.9, 55.0, 0.30), (107.2, 29.3, 40.0, 0.40), (108.4, 30.2, 35.0, 0.25)):
        for t in range(hours):
            cx, cy = x0 + shift[0] + 0.05 * t, y0 + shift[1] + 0.03 * t
            out[t] += scale * peak * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * sigma ** 2))
    return out


@dataclass(frozen=True)
class Inputs:
    """What the municipal cycle's gridded steps start from: the run's file, 30 days of rain before it, three
    radar frames and the gauges of one analysis step."""

    run: Path
    history: np.ndarray
    frames: object
    gauges: tuple[np.ndarray, np.ndarray, np.ndarray]


def inputs(g: Grid, folder: Path) -> Inputs:
    """The run (72 h of the storm, written as a NetCDF run file), the spin-up rain, the radar frames (three
    10-minute steps of the storm) and the gauges (uniform over the grid, their depth the storm's)."""
    issued = np.datetime64("2026-07-15T00:00", "ns")
    forecast = storm(g.lat, g.lon, HOURS, 1).reshape(HOURS, g.lat.size, g.lon.size)
    run = make_rain(forecast, time=issued + np.arange(1, HOURS + 1) * np.timedelta64(1, "h"), lat=g.lat, lon=g.lon,
                    step=timedelta(hours=1), source="bench", issued_at=issued)
    frames = make_rain(storm(g.lat, g.lon, 3, 2).reshape(3, g.lat.size, g.lon.size) / 6.0,
                       time=issued + np.arange(1, 4) * np.timedelta64(10, "m"), lat=g.lat, lon=g.lon,
                       step=NOWCAST.step, source="bench radar")
    rng = np.random.default_rng(3)
    at = rng.integers(0, g.cells, GAUGES)
    gauges = (g.lat[at // g.lon.size], g.lon[at % g.lon.size], storm(g.lat, g.lon, 1, 2)[0, at] / 6.0)
    return Inputs(write_forecast(run, folder / "run.nc", title="bench"), storm(g.lat, g.lon, SPIN_UP, 0) * 0.2,
                  frames, gauges)


def grid_steps(g: Grid, given: Inputs, compute: Compute) -> dict[str, Callable[[], np.ndarray]]:
    """The municipal cycle's gridded steps, by name, each a call on ``compute`` giving its values."""
    forecast = open_forecast(given.run, source="bench").values.reshape(HOURS, -1)

    def kernels() -> np.ndarray:
        _, start = soil_water_index(given.history, 1.0, params=TANK, cells=compute)
        swi, _ = soil_water_index(forecast, 1.0, start, params=TANK, cells=compute)
        effective = effective_rainfall(np.concatenate([given.history[-LOOKBACK:], forecast]),
                                       half_life_h=HALF_LIFE_H, cells=compute)[LOOKBACK:]
        storage = bucket_storage(forecast, 0.0, runoff_coefficient=RUNOFF, capacity_mm=CAPACITY_MM, cells=compute)
        return np.stack([swi, effective, storage, rolling_rain(forecast, DURATIONS, cells=compute)[-1]])

    fields = np.stack([forecast] * 5).reshape(5 * HOURS, g.lat.size, g.lon.size)  # the cycle's five: SWI, … rain
    lat, lon, depth = given.gauges
    return {
        "decode the 72-h run file": lambda: open_forecast(given.run, source="bench", workers=compute).values,
        "tanks, effective rain, bucket, rolling rain": kernels,
        f"zonal means of the {DISTRICTS} districts, 5 fields × {HOURS} h":
            lambda: zonal_values(fields, g.coverage, ("mean",), workers=compute)[0],
        f"the gauges' field, {GAUGES:,} gauges within {GAUGE_REACH_KM:g} km":
            lambda: inverse_distance(lat, lon, depth, g.lat, g.lon, power=2.0, radius_km=GAUGE_REACH_KM, cells=compute),
        "2-h nowcast (the motion whole here, the extrapolation)":
            lambda: nowcast(given.frames, NOWCAST, cells=compute).values,
    }


def member(g: Grid, seed: int) -> np.ndarray:
    """One member scored: its rain made here, the kernels over chunks of cells, the districts' mean SWI,
    bucket storage and 6-hour rain (3, district, hour)."""
    out = np.zeros((3, DISTRICTS, HOURS))
    for lo in range(0, g.cells, CHUNK):
        cells = slice(lo, min(lo + CHUNK, g.cells))
        rain = storm(g.lat, g.lon, HOURS, seed, cells)
        swi, _ = soil_water_index(rain, 1.0, np.full((3, rain.shape[1]), 20.0), params=TANK)
        storage = bucket_storage(rain, 0.0, runoff_coefficient=RUNOFF, capacity_mm=CAPACITY_MM)
        six = rolling_rain(rain, (6,))[0]
        w = g.weights[:, cells]
        out += np.stack([w @ swi.T, w @ storage.T, w @ np.nan_to_num(six).T])
    return out


def timed(call: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = call()
    return time.perf_counter() - start, result


def grid_section(args: argparse.Namespace, cluster: Compute) -> list[Row]:
    g = grid(RES)
    rows, total = [], {"here": 0.0, "cluster": 0.0}
    with tempfile.TemporaryDirectory() as folder:
        given = inputs(g, Path(folder))
        here, spread = grid_steps(g, given, Compute.here()), grid_steps(g, given, cluster)
        for name in here:
            here[name](), spread[name]()  # compile the kernels, here and in the workers
            single, alone = timed(here[name])
            distributed, together = timed(spread[name])
            total["here"] += single
            total["cluster"] += distributed
            same = np.array_equal(alone, together, equal_nan=True)
            rows += [Row("grid", f"  {name}: single process", single, single),
                     Row("grid", "    the same on LocalCluster(2 workers)", distributed, single,
                         "equal to the bit" if same else
                         f"largest |difference| {float(np.nanmax(np.abs(alone - together))):.1e}")]
    best = min(total.values()) / g.cells
    return [Row("grid", f"municipal grid part, {g.lat.size}×{g.lon.size} cells, {DISTRICTS} districts, "
                f"30 d spin-up + {HOURS} h: single process", total["here"], total["here"]),
            Row("grid", "  the same on LocalCluster(2 workers)", total["cluster"], total["here"]), *rows,
            Row("grid", f"  largest grid within a {CYCLE_S:.0f}-s cycle (linear in cells, "
                f"{best * 1e6:.2f} µs/cell)", CYCLE_S, total["here"], f"≈ {CYCLE_S / best / 1e6:.1f} M cells")]


def ensemble_section(args: argparse.Namespace, cluster: Compute) -> list[Row]:
    rows = []
    for label, res, members in (("~1 km", RES, args.members), ("~250 m", FINE, args.fine_members)):
        g = grid(res)
        seeds = list(range(1, members + 1))
        single, alone = timed(lambda g=g: [member(g, s) for s in seeds])
        spread, together = timed(lambda g=g: cluster.map(partial(member, g), seeds, size=members * g.cells))
        worst = max(float(np.max(np.abs(a - b))) for a, b in zip(alone, together, strict=True))
        chunk_mb = CHUNK * HOURS * 8 * 6 / 1e6
        rows += [Row("ensemble", f"{members} members × {HOURS} h, {label} ({g.lat.size}×{g.lon.size} = "
                     f"{g.cells / 1e6:.2f} M cells): single process", single, single,
                     f"{single / members:.1f} s a member"),
                 Row("ensemble", "  the same, members on LocalCluster(2 workers)", spread, single,
                     f"|difference| ≤ {worst:.1e}; ~{chunk_mb:.0f} MB of arrays per chunk in a worker")]
    return rows


def store_section(args: argparse.Namespace, cluster: Compute) -> list[Row]:
    """Rows written per second, bulk against one transaction per row (bench/storescale.py), per backend and table."""
    import storescale

    rows = storescale.store_writes(args.pg)
    out = []
    for (backend, what), pair in _by(rows, ("backend", "what")).items():
        per_row = next(r for r in pair if r["method"] == "per row")
        for r in pair:
            # seconds per 1,000 rows, against one transaction per row
            out.append(Row("store", f"{backend} {what}: {r['method']} ({r['per_s']:,.0f} rows/s)",
                           1000 / r["per_s"], 1000 / per_row["per_s"], "s per 1,000 rows"))
    return out


def ingest_section(args: argparse.Namespace, cluster: Compute) -> list[Row]:
    """The 370,000-device catalogue ingested with QC into PostgreSQL: its steps against the time they cover."""
    import storescale

    rows = storescale.catalogue_ingest(args.pg, devices=args.devices, minutes=args.minutes)
    steps = [r for r in rows if r["what"] == "step"]
    if not steps:
        return [Row("ingest", "PostgreSQL not reachable: not measured", 0.0, 1.0)]
    covered = len(steps) * storescale.STEP.total_seconds()
    total = sum(r["readings"] for r in steps)
    wall = sum(r["seconds"] for r in steps)
    return [Row("ingest", f"{rows[0]['devices']:,} devices, {args.minutes} simulated min, {total:,} readings with QC "
                f"into PostgreSQL ({total / wall:,.0f}/s achieved)", wall, covered,
                f"{total / covered:,.0f}/s needed by the mix; all every 5 min: "
                f"{args.devices / 300:,.0f}/s ({total / wall / (args.devices / 300):.1f}× headroom)")]


def planner_section(args: argparse.Namespace, cluster: Compute) -> list[Row]:
    """The command step raising 10, 100 and 1,000 threads at once (bench/planner.py), against 100."""
    import storescale

    rows = storescale.planner_threads(args.pg)
    out = []
    for backend, runs in _by(rows, ("backend",)).items():
        raised = {r["threads"]: sum(r[p] for p in ("plan", "execute", "publish", "save")) for r in runs}
        for r in runs:
            out.append(Row("planner", f"{backend[0]}: raise {r['threads']:,} threads (then an idle tick "
                           f"{r['tick']:.2f} s)", raised[r["threads"]], raised.get(100, raised[r["threads"]]),
                           "× the time of 100 threads (target at 1,000: ≤ 12×)"))
    return out


def age_section(args: argparse.Namespace, cluster: Compute) -> list[Row]:
    """The city-sized cycle on day 1 and day 30 of service (bench/history.py), SQLite and PostgreSQL."""
    import storescale

    out = []
    for result in storescale.cycle_age(args.pg, cycles=args.cycles):
        first, old = result["rows"]
        out += [Row("age", f"{result['backend']}: city cycle on day 1 (median of {len(first['cycles'])})",
                    first["cycle_s"], first["cycle_s"]),
                Row("age", f"{result['backend']}: the same on day 30", old["cycle_s"], first["cycle_s"],
                    "target ≤ 1.10")]
    return out


def _by(rows: list[dict], keys: tuple[str, ...]) -> dict[tuple, list[dict]]:
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault(tuple(r[k] for k in keys), []).append(r)
    return groups


#: The sections, in order: name → function(args, cluster) → rows.
SECTIONS: dict[str, Callable[[argparse.Namespace, Compute], list[Row]]] = {
    "grid": grid_section,
    "ensemble": ensemble_section,
    "store": store_section,
    "ingest": ingest_section,
    "planner": planner_section,
    "age": age_section,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", default=",".join(SECTIONS))
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--fine-members", type=int, default=50)
    parser.add_argument("--pg", default=DEFAULT_PG, help="PostgreSQL URL of the store sections")
    parser.add_argument("--devices", type=int, default=370_000, help="devices of the ingest section's catalogue")
    parser.add_argument("--minutes", type=int, default=30, help="simulated minutes of the ingest section")
    parser.add_argument("--cycles", type=int, default=3, help="cycles timed per store in the age section")
    args = parser.parse_args()
    spec = ComputeSpec(scheduler="local", workers=2, threads_per_worker=1, chunk_cells=CHUNK, min_cells=0,
                       timeout="PT60S")
    rows: list[Row] = []
    with Compute(spec) as cluster:
        started, _ = timed(cluster.client)
        rows.append(Row("setup", "LocalCluster(2 workers) start", started, started))
        for name in args.sections.split(","):
            rows += SECTIONS[name](args, cluster)
            print_rows(rows)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    print(f"peak memory of this process {peak:.2f} GB (workers not counted)")


def print_rows(rows: list[Row]) -> None:
    print(f"\n{'section':9} {'what':100} {'seconds':>9} {'× ref':>7}  note")
    for row in rows:
        print(f"{row.section:9} {row.what:100} {row.seconds:9.2f} {row.seconds / row.reference:7.2f}  {row.note}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
