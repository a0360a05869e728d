"""Benchmark: the city-sized cycle on a service's first day and after 30 days of kept rain history.

The landslide hazard keeps the hourly rain of the last 30 days (its spin-up) in the store,
one row per hour (``store.hourly_rain``): each cycle appends the hours its run adds and
reads only the days it needs. This bench shows the cycle does not grow with the history.

Side by side in one run, on the city-sized deployment of bench/cycle.py (bench/citysize.py:
401 × 491 cells, 10,000 zones, 2,000 sensors, 2,000 hazard points), two stores are
prefilled as a service would have left them before the cycle at the first run's issue time
t0 — its last cycle at t0 − 1 h:

- ``day 1``: 1 day of hourly rain rows, ending at t0 + 11 h (the last run's saved hours);
- ``day 30``: 30 days of hourly rain rows (the whole keep window), ending at t0 + 11 h;

and in both the landslide state saved by that last cycle (the tanks at t0 − 1 h and the rain of its
run's first 12 hours, from which the cycle runs its tanks at t0 forward), so the cycle continues its
soil water as a running service does. The rows are written through
``store.hourly_rain.append`` a day at a time, each hour in both stores the last day the
storm of the first run (its 24 hours), the days before it light rain random per cell (30 %
of the cells wet, 0.05 mm mean: random mantissas compress as badly as real fields, and the
levels, so the warnings and messages the cycles send, stay those of day 1). Nothing else a 30-day-old
service holds (30 days of item levels, timeline, outbox) is prefilled: it is not the rain
history and the cycle reads none of it by age — the one read of the item levels, each scored item's
last level before the cycle, goes down the items' index item by item (bench/levels_age.py times it as
a store ages; until 2026-12-04 it grouped every item over all its cycles and grew with age).

Then the same ``--cycles`` hourly runs are replayed on each store exactly as bench/cycle.py
replays them (its ``replay_once``: release the run on the feed server, ``warn.cycle.run``
fetches, scores, plans, executes and publishes), with the zone weights already cached
(built once by a warm-up cycle on a scratch store, not timed). The two stores replay at the
same time, each in its own process (side by side: the shared machine's load weighs on both
alike), and the median cycle time of each store is printed with the ratio day 30 / day 1
(target: ≤ 1.10) and the landslide step's.

Before this, the landslide kept the 30 days inside its ``model_states`` blob and rewrote it
every cycle: on this deployment the cycle grew from ~27 s on day 0 to 89–137 s on day 30
(measured on main before the change; not re-run here).

Measured (2026-12-02, SQLite, 2 shared cores, ``--cycles 3``): cycle median 51.93 s on day 1
(60.68, 51.93, 28.32) and 43.70 s on day 30 (54.07, 43.70, 27.41), ratio 0.84; the busy
cycles' plan and publish steps (16–32 s, the 10,000 zones' crossings and CAP messages) vary
more between runs than the history costs. The landslide step alone: 11.68 s → 13.63 s
(+1.95 s: reading and summing ~11 days of hourly rows for the effective rainfall).

Run: ``python bench/history.py [--days 30] [--cycles 3] [--pg [URL]] [--json]`` (~5 min on
2 cores; the first run generates the deployment, ~1 min).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from backends import DEFAULT_PG  # noqa: E402
from citysize import CityParams, city  # noqa: E402
from cycle import replay_once, store_for  # noqa: E402

TARGET = 1.10


def prefill(store, run_path: Path, days: int) -> dict:
    """Rows and tanks as a service ``days`` days old left them before the cycle at the run's issue time."""
    import xarray as xr

    from warn.geo.weights import GridSpec
    from warn.hazards.landslide.scoring import SAVED_HOURS, SPIN_UP_DAYS, STATE_MODEL
    from warn.sources.forecast import open_forecast

    rain = open_forecast(run_path, source="city")
    with xr.open_dataset(run_path) as ds:
        t0 = np.datetime64(ds["forecast_reference_time"].values, "s")
    fields = rain.values.astype(np.float32)
    grid = GridSpec.from_coords(rain["lat"].values, rain["lon"].values)
    last = t0 - np.timedelta64(1, "h")  # the previous cycle's run
    ends = last + np.arange(-days * 24 + SAVED_HOURS + 1, SAVED_HOURS + 1) * np.timedelta64(1, "h")
    rng = np.random.default_rng(30)
    start = time.perf_counter()
    for day in range(0, ends.size, 24):
        chunk = ends[day:day + 24]
        if day + 24 >= ends.size:  # the last day: the storm, the same in every store
            mm = fields[np.arange(chunk.size) % fields.shape[0]]
        else:  # the days before: light rain, random per cell (compresses as badly as real fields)
            mm = (rng.exponential(0.05, (chunk.size, *fields.shape[1:])) * (rng.random((chunk.size, *fields.shape[1:]))
                                                                         < 0.3)).astype(np.float32)
        issued = _aware(min(chunk[0] - np.timedelta64(1, "h"), last))
        store.hourly_rain.append(STATE_MODEL, grid.signature, chunk, mm, issued_at=issued,
                                 keep=timedelta(days=SPIN_UP_DAYS))
    valid = last + np.arange(SAVED_HOURS + 1) * np.timedelta64(1, "h")
    tanks = np.broadcast_to(np.array([20.0, 10.0, 40.0])[None, :, None, None], (1, 3, *fields.shape[1:])).copy()
    saved = fields[np.arange(SAVED_HOURS) % fields.shape[0]].astype(np.float64)  # the last run's first hours
    store.save_state(STATE_MODEL, grid.signature, valid_at=_aware(valid[-1]),
                     arrays={"valid": valid, "start": valid[:1], "tanks": tanks, "rain": saved},
                     detail=f"run of {_aware(last).isoformat()} (bench prefill, {days} days)", compress=False)
    return {"rows": int(ends.size), "prefill_s": time.perf_counter() - start}


def measure(label: str, days: int, args: argparse.Namespace, cache: str) -> dict:
    """One store prefilled with ``days`` days, then the replay; in its own process (its own peak RSS)."""
    import resource

    from warn.config import load_settings
    from warn.sources.catalogue import load_catalogue

    deployment = city(CityParams())
    runs = {h: p for h, p in deployment.runs.items() if h < args.cycles}
    with tempfile.TemporaryDirectory(prefix="warn-bench-history-") as folder:
        work = Path(folder)
        data = dict(deployment.config, cache_dir=cache, store={"url": f"sqlite:///{work / 'warn.sqlite'}"})
        (work / "config.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        settings = load_settings(work / "config.yaml")
        catalogue = load_catalogue(settings.sensors.catalogue)
        with store_for(settings, args) as store:
            store.upsert_sensors(catalogue.values())
            filled = prefill(store, runs[0], days) if days else {"rows": 0, "prefill_s": 0.0}
            cycles = replay_once(settings, store, catalogue, runs, deployment.template, deployment.source, work, None)
    return {"label": label, "days": days, **filled,
            "cycle_s": statistics.median(c["cycle_s"] for c in cycles),
            "landslide_s": statistics.median(c["phases"]["score_landslide"] for c in cycles),
            "cycles": [round(c["cycle_s"], 2) for c in cycles],
            "phases": [{k: round(v, 2) for k, v in c["phases"].items()} for c in cycles],
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def compare(days: int = 30, cycles: int = 3, pg: str | None = None) -> dict:
    """Day 1 and day ``days`` side by side (each in its own process, at the same time), after a warm-up that
    builds the zone weights; ``pg``: on PostgreSQL (fresh schemas) instead of SQLite.

    Returns
    -------
    dict
        ``rows`` (day 1, day ``days``: cycle and landslide-step medians in s, the cycles, their steps, peak
        RSS), ``ratio`` (day ``days`` / day 1 of the median cycle), ``backend``.
    """
    args = argparse.Namespace(days=days, cycles=cycles, pg=pg)
    with tempfile.TemporaryDirectory(prefix="warn-bench-history-cache-") as cache:
        with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
            pool.submit(measure, "warm-up (weights, not timed)", 0, argparse.Namespace(**{**vars(args), "cycles": 1}),
                        cache).result()
        # day 1 and day 30 side by side, each in its own process at the same time: the shared machine's load
        # weighs on both alike, so their ratio holds where absolute times do not
        with ProcessPoolExecutor(max_workers=2, mp_context=get_context("spawn")) as pool:
            futures = [pool.submit(measure, label, n, args, cache) for label, n in (("day 1", 1), (f"day {days}", days))]
            rows = [future.result() for future in futures]
    return {"rows": rows, "ratio": rows[1]["cycle_s"] / rows[0]["cycle_s"], "backend": "postgresql" if pg else "sqlite"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30, help="days of kept history of the older store")
    parser.add_argument("--cycles", type=int, default=3, help="hourly cycles timed on each store (median)")
    parser.add_argument("--pg", nargs="?", const=DEFAULT_PG, default=None, help="PostgreSQL URL instead of SQLite")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not 1 <= args.cycles <= CityParams.hours:
        parser.error(f"--cycles: expected 1 … {CityParams.hours} (the runs bench/citysize.py writes)")
    result = compare(args.days, args.cycles, args.pg)
    if args.json:
        print(json.dumps(result, indent=1))
        return
    first, old = result["rows"]
    ratio = result["ratio"]
    print(f"city-sized deployment, {result['backend']}; median of {args.cycles} hourly cycles")
    print("| store | rain rows kept | prefill s | cycle s (median) | cycles s | landslide step s | peak RSS MiB |")
    print("|---|---|---|---|---|---|---|")
    for r in result["rows"]:
        print(f"| {r['label']} | {r['rows']} | {r['prefill_s']:.1f} | {r['cycle_s']:.2f} | "
              f"{', '.join(f'{c:.2f}' for c in r['cycles'])} | {r['landslide_s']:.2f} | {r['peak_rss_mib']:.0f} |")
    print("\ntime inside cycle.run by step, s, cycle by cycle:")
    for r in result["rows"]:
        for k, phases in enumerate(r["phases"]):
            print(f"  {r['label']} cycle {k + 1}: " + ", ".join(f"{name} {v:.2f}" for name, v in phases.items()))
    print(f"ratio day {args.days} / day 1: {ratio:.3f} (target ≤ {TARGET:.2f}: {'met' if ratio <= TARGET else 'NOT met'}); "
          f"landslide step alone {old['landslide_s'] / first['landslide_s']:.3f}")


def _aware(moment: np.datetime64) -> datetime:
    return np.datetime64(moment, "us").astype(datetime).replace(tzinfo=UTC)


if __name__ == "__main__":
    main()
