"""Benchmark: the warning cycle end to end — a new forecast run on the feed server to its
first CAP message in the outbox — for the demo and for a city-sized synthetic deployment.

For each deployment the hourly runs are replayed in order (as tests/cycle/test_warning_cycle.py drives
the demo storm): before each cycle one good reading per sensor is written at the run time
(untimed: ingest is another process), the run's file is *released* into the folder a
:class:`warn.sim.feedserver.FeedServer` serves (atomic rename; the clock starts), and
:func:`warn.cycle.run` pulls it (fetch over HTTP and decode: its ``pull`` step), scores,
plans, executes and publishes. Timed separately: fetch + decode, the cycle, and inside it the
landslide and flood scorers, the planner, the executor and publishing; the first outbox row is
stamped when the store has committed it (``OutboxTable.enqueue`` wrapped here, nothing
changed in ``warn``). Latency = release → first outbox row, in the first cycle that queues
CAP messages (the busy cycle). The cold cycle is the first one: empty store and caches
(zone weights built, cold start). Each deployment runs in its own process so peak RSS
(``ru_maxrss``) is its own.

City-sized (default): Chongqing's extent on a 0.01° grid (401 × 491 cells), 10,000 zones,
2,000 sensors (1,980 waterlogging points + 20 river gauges), 2,000 hazard points — generated
by bench/citysize.py and cached in the temp dir keyed by the parameters.

Targets (issue 8): demo latency and cycle under 2 s; city-sized under 30 s. Issue 20's target is a
ratio measured in the same process and run: the steady cycle at most 10× the reference, today's
numpy soil-water kernel (``warn.risk.landslide.soil_water_index``) on the deployment's cells × the
hours of its run (:func:`kernel_reference`, timed before the replay, after each cycle and after it), printed as
``city cycle / soil-water kernel = N.Nx``.

The replay starts from an empty store, so the landslide keeps at most ``--hours`` hours of
rain history; a service that has run for 30 days keeps 720 rows of it (``store.hourly_rain``):
bench/history.py times the cycle on both, side by side.

Run: ``python bench/cycle.py [--zones 10000] [--sensors 2000] [--hazard 2000] [--hours 12]
[--demo-hours 16] [--repeat 1] [--pg [URL]] [--only demo|city] [--profile] [--per-cycle] [--json]``
(the first city run generates its deployment, ~5 s; later runs reuse it).
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import io
import json
import os
import pstats
import resource
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from multiprocessing import get_context
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from backends import DEFAULT_PG, postgresql_store  # noqa: E402
from citysize import CityParams, city, demo_runs, repo_config  # noqa: E402

TARGETS = {"demo": 2.0, "city": 30.0}
SENDER = "warn-bench@example.invalid"
#: (module, name) of the steps timed inside cycle.run; the ones a version of warn lacks are skipped.
STEPS = (("warn.cycle.warning_cycle", "pull"), ("warn.hazards.landslide.scoring", "score_landslide"),
         ("warn.hazards.waterlogging.scoring", "score_waterlogging"), ("warn.cycle.warning_cycle", "places"),
         ("warn.cycle.command", "plan"), ("warn.cycle.warning_cycle", "plan"),
         ("warn.cycle.command", "execute"), ("warn.cycle.warning_cycle", "execute"),
         ("warn.cycle.command", "publish"), ("warn.cycle.warning_cycle", "publish"),
         ("warn.cycle.warning_cycle", "_notices"))
PHASES = ("pull", "score_landslide", "score_waterlogging", "places", "plan", "execute", "publish", "_notices")


class Clock:
    """Wall time per phase of warn.cycle.warning_cycle (its module names wrapped) and the
    moment the first new outbox row is committed."""

    def __init__(self) -> None:
        self.phase: dict[str, float] = {}
        self.first_row: float | None = None

    def reset(self) -> None:
        self.phase = {name: 0.0 for name in PHASES}
        self.first_row = None

    @contextmanager
    def installed(self):
        import importlib

        from warn.store.outbox import OutboxTable

        saved = {(m, name): getattr(importlib.import_module(m), name) for m, name in STEPS
                 if hasattr(importlib.import_module(m), name)}
        enqueue = OutboxTable.enqueue

        def timed(name, fn):
            def wrapper(*args, **kwargs):
                start = time.perf_counter()
                try:
                    return fn(*args, **kwargs)
                finally:
                    self.phase[name] += time.perf_counter() - start
            return wrapper

        def stamped(table, message):
            out = enqueue(table, message)
            if out[1] and self.first_row is None:
                self.first_row = time.perf_counter()
            return out

        for (module, name), fn in saved.items():
            setattr(importlib.import_module(module), name, timed(name, fn))
        OutboxTable.enqueue = stamped
        try:
            yield self
        finally:
            for (module, name), fn in saved.items():
                setattr(importlib.import_module(module), name, fn)
            OutboxTable.enqueue = enqueue


def write_readings(store, catalogue, at: datetime) -> None:
    """One good reading per sensor at ``at`` (water level dry, river stage normal)."""
    from warn.sources.readings import FlaggedReading, Reading
    from warn.vocab import QCFlag

    rows = [FlaggedReading(Reading(s.sensor_id, at - timedelta(minutes=m), 0.0 if s.kind.value == "water_level"
                                   else 1.5, s.unit, at), QCFlag.GOOD)
            for s in catalogue.values() for m in (10, 5, 0)]
    store.write_readings(rows)


def replay(name: str, args: argparse.Namespace) -> dict:
    """Generate (or load) the deployment, then replay its runs hour by hour ``repeat`` times."""
    if name == "demo":
        start = time.perf_counter()
        staging = Path(tempfile.mkdtemp(prefix="warn-bench-demo-"))
        runs, template = demo_runs(staging, args.demo_hours)
        config, source, generation, cached = repo_config(), "demo", time.perf_counter() - start, False
        config["forecasts"]["demo"]["run_every"] = "PT1H"  # a new run every hour, as the replay releases them
        config["sensors"] = {"catalogue": config["sensors"]["catalogue"]}  # no live feeds to poll
    else:
        params = CityParams(args.zones, args.sensors, args.hazard, args.hours)
        deployment = city(params)
        runs, template, config = deployment.runs, deployment.template, deployment.config
        source, generation, cached = deployment.source, deployment.generation_s, deployment.cached
        staging = None
    profile = cProfile.Profile() if args.profile and name == "city" else None
    try:
        info = describe(config, runs)
        reference = functools.partial(kernel_reference, config, runs, source)
        kernel = [reference()]
        results = [replay_repeat(name, config, runs, template, source, args, profile, reference)
                   for _ in range(args.repeat)]
        kernel += [c["kernel_s"] for r in results for c in r] + [reference()]
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
    out = summarise(name, results)
    out.update(info, generation_s=generation, generation_cached=cached, kernel_s=statistics.median(kernel),
               kernel_range_s=(min(kernel), max(kernel)), kernel_n=len(kernel),
               peak_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
               backend="postgresql" if args.pg else "sqlite")
    if profile is not None:
        text = io.StringIO()
        stats = pstats.Stats(profile, stream=text)
        stats.sort_stats("cumulative").print_stats(40)
        stats.sort_stats("tottime").print_stats(25)
        out["profile"] = text.getvalue()
    return out


def kernel_reference(config: dict, runs: dict, source: str) -> float:
    """Seconds of the reference: today's numpy soil-water kernel (``warn.risk.landslide.soil_water_index``)
    on the deployment's cells × the hours of its first run, from empty tanks, in this process (timed
    before the replay, after each of its cycles and after it; the ratio uses their median, so that both
    see the same shared machine)."""
    import inspect

    import numpy as np

    from warn import hazards
    from warn.rainarray import as_hourly
    from warn.risk.landslide import soil_water_index
    from warn.sources.forecast import open_forecast

    tank = hazards.load_model("landslide", Path(config["hazards"]["landslide"]["model"])).params().tank
    rain = as_hourly(open_forecast(runs[min(runs)], source=source)).values.astype(np.float64)
    # the numpy path, also once the compiled kernels add their ``method`` keyword
    numpy_path = {"method": "numpy"} if "method" in inspect.signature(soil_water_index).parameters else {}
    start = time.perf_counter()
    soil_water_index(rain, 1.0, np.zeros((3, *rain.shape[1:])), params=tank, **numpy_path)
    return time.perf_counter() - start


def describe(config: dict, runs: dict) -> dict:
    """Grid, zones, hazard points and sensors of the deployment, read from its files."""
    import pyogrio
    import xarray as xr

    def count(name: str) -> int:
        spec = config["layers"][name]
        return int(pyogrio.read_info(spec["path"], layer=spec.get("layer"))["features"])

    with xr.open_dataset(next(iter(runs.values()))) as ds:
        grid = f"{ds.sizes['lat']} × {ds.sizes['lon']}"
    with open(config["sensors"]["catalogue"], encoding="utf-8") as handle:
        sensors = sum(1 for _ in handle) - 1
    return {"grid": grid, "zones": count("towns"), "hazard": count("hazard_points"), "sensors": sensors}


def replay_repeat(name, config, runs, template, source, args, profile, reference) -> list[dict]:
    """One replay in a fresh temp dir: new store, empty caches; ``reference()`` timed after each cycle."""
    from warn.config import load_settings
    from warn.sources.catalogue import load_catalogue

    with tempfile.TemporaryDirectory(prefix=f"warn-bench-{name}-") as work:
        work = Path(work)
        data = dict(config, cache_dir=str(work / "cache"),
                    store={"url": f"sqlite:///{work / 'warn.sqlite'}"})
        (work / "config.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        settings = load_settings(work / "config.yaml")
        catalogue = load_catalogue(settings.sensors.catalogue)
        with store_for(settings, args) as store:
            store.upsert_sensors(catalogue.values())
            return replay_once(settings, store, catalogue, runs, template, source, work, profile, reference)


@contextmanager
def store_for(settings, args):
    from warn.store import Store

    if args.pg:
        with postgresql_store(args.pg) as store:
            if store is None:
                raise SystemExit("--pg: PostgreSQL not reachable")
            yield store
        return
    with Store.connect(settings.store.url) as store:
        store.upgrade()
        yield store


def replay_once(settings, store, catalogue, runs, template, source, work, profile, reference=None) -> list[dict]:
    """One replay: the cycle fetches the due run itself; fetch + decode is its ``pull`` step. The reference
    (``reference()``, seconds), when given, is timed after each cycle, outside it."""
    from warn import allocator, collector
    from warn.vocab import CapStatus as Status
    from warn.cycle import open_sources, run
    from warn.sim.feedserver import FeedServer

    served = work / "feed"
    served.mkdir()
    clock = Clock()
    cycles = []
    with FeedServer(served) as server, clock.installed():
        # once per service, as the live service does (open_service): not counted in a cycle
        collector.tune()
        allocator.keep()
        sources = open_sources(settings, store, forecast=source, urls={"feed": server.url},
                               now=lambda: datetime.now(UTC))
        sources.feeds.clear()  # readings are written by the bench; no live feed to poll
        for hour in sorted(runs):
            staged = runs[hour]
            issued = _issued(staged.name)
            write_readings(store, catalogue, issued)
            clock.reset()
            released = time.perf_counter()
            shutil.copyfile(staged, served / (staged.name + ".part"))
            os.replace(served / (staged.name + ".part"), served / staged.name)
            if profile is not None:
                profile.enable()
            report = run(settings, store, issued, sources=sources, status=Status.EXERCISE, sender=SENDER)
            allocator.settle()  # after each cycle, as the service does (Service.cycle)
            if profile is not None:
                profile.disable()
            done = time.perf_counter()
            first = clock.first_row
            fetch = clock.phase.get("pull", 0.0)
            cycles.append({
                "hour": hour, "fetch_s": fetch, "cycle_s": done - released - fetch, "total_s": done - released,
                "latency_s": (first - released) if first is not None else None,
                "items": report.items, "crossings": len(report.crossings), "messages": len(report.messages),
                "outbox": len(store.outbox.rows()) if report.messages else None,
                "phases": dict(clock.phase), "kernel_s": reference() if reference else None})
    return cycles


def _issued(filename: str) -> datetime:
    stamp = filename.rsplit("_", 1)[1].split(".")[0]
    return datetime.strptime(stamp, "%Y%m%d%H").replace(tzinfo=UTC)


def summarise(name: str, results: list[list[dict]]) -> dict:
    """Best of the repeats for each figure."""
    def best(pick):
        values = [v for r in results if (v := pick(r)) is not None]
        return min(values) if values else None

    def busy(r):
        return next((c for c in r if c["messages"]), None)

    first = results[0]
    b = busy(first)
    return {
        "deployment": name, "cycles": len(first), "items": first[0]["items"],
        "fetch_s": best(lambda r: statistics.median(c["fetch_s"] for c in r)),
        "fetch_max_s": best(lambda r: max(c["fetch_s"] for c in r)),
        "cold_s": best(lambda r: r[0]["cycle_s"]),
        "steady_s": best(lambda r: statistics.median(c["cycle_s"] for c in r[1:]) if len(r) > 1 else None),
        "busy_hour": b["hour"] if b else None,
        "busy_s": best(lambda r: busy(r)["cycle_s"] if busy(r) else None),
        "busy_total_s": best(lambda r: busy(r)["total_s"] if busy(r) else None),
        "latency_s": best(lambda r: busy(r)["latency_s"] if busy(r) else None),
        "latency_max_s": best(lambda r: max((c["latency_s"] for c in r if c["latency_s"] is not None), default=None)),
        "max_cycle_s": best(lambda r: max(c["cycle_s"] for c in r)),
        "busy_crossings": b["crossings"] if b else 0, "busy_messages": b["messages"] if b else 0,
        "messages": sum(c["messages"] for c in first),
        "busy_phases": b["phases"] if b else {}, "cold_phases": first[0]["phases"],
        "per_cycle": first,
    }


def fmt(value, unit="s") -> str:
    if value is None:
        return "—"
    return f"{value:.2f}" if unit == "s" else f"{value:.0f}"


def table(rows: list[dict]) -> str:
    lines = ["| deployment | grid | zones | hazard pts | sensors | items | generate s | fetch+decode s (median / max) "
             "| cold cycle s | steady cycle s (median) | busy cycle s (hour; crossings; msgs) "
             "| latency release → first CAP s (busy / worst) | busy fetch+cycle s | peak RSS MiB | target | met |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        target = TARGETS[r["deployment"]]
        worst = max(v for v in (r["latency_max_s"], r["busy_total_s"], r["cold_s"], r["max_cycle_s"]) if v is not None)
        gen = fmt(r["generation_s"]) + (" (cached)" if r["generation_cached"] else "")
        lines.append(
            f"| {r['deployment']} ({r['backend']}) | {r['grid']} | {r['zones']:,} | {r['hazard']:,} | {r['sensors']:,} "
            f"| {r['items']:,} | {gen} | {fmt(r['fetch_s'])} / {fmt(r['fetch_max_s'])} | {fmt(r['cold_s'])} "
            f"| {fmt(r['steady_s'])} | {fmt(r['busy_s'])} (h{r['busy_hour']}; {r['busy_crossings']}; "
            f"{r['busy_messages']}) | {fmt(r['latency_s'])} / {fmt(r['latency_max_s'])} | {fmt(r['busy_total_s'])} "
            f"| {fmt(r['peak_rss_mib'], 'MiB')} | < {target:g} s | {'yes' if worst < target else 'NO'} |")
    return "\n".join(lines)


def phase_table(rows: list[dict]) -> str:
    lines = ["| deployment | cycle | " + " | ".join(PHASES) + " | rest |", "|---|---|" + "---|" * (len(PHASES) + 1)]
    for r in rows:
        for label, key, total in (("cold", "cold_phases", r["cold_s"]), ("busy", "busy_phases", r["busy_s"])):
            phases = r[key]
            if not phases:
                continue
            rest = (total or 0) - sum(v for k, v in phases.items() if k != "pull")  # pull is fetch+decode
            lines.append(f"| {r['deployment']} | {label} | " + " | ".join(f"{phases[p]:.2f}" for p in PHASES)
                         + f" | {rest:.2f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zones", type=int, default=10_000)
    parser.add_argument("--sensors", type=int, default=2_000)
    parser.add_argument("--hazard", type=int, default=2_000, help="hazard points of the city-sized deployment")
    parser.add_argument("--hours", type=int, default=12, help="hourly runs (cycles) of the city-sized replay")
    parser.add_argument("--demo-hours", type=int, default=16, help="hourly runs (cycles) of the demo replay")
    parser.add_argument("--repeat", type=int, default=1, help="replays per deployment (best of)")
    parser.add_argument("--pg", nargs="?", const=DEFAULT_PG, default=None, help="PostgreSQL URL instead of SQLite")
    parser.add_argument("--only", choices=("demo", "city"))
    parser.add_argument("--profile", action="store_true", help="cProfile the city-sized cycles")
    parser.add_argument("--per-cycle", action="store_true", help="print every cycle's figures")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = []
    for name in ([args.only] if args.only else ["demo", "city"]):
        with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
            rows.append(pool.submit(replay, name, args).result())
    if args.json:
        print(json.dumps(rows, indent=1, default=str))
        return
    print(table(rows))
    print()
    for r in rows:
        steady = r["steady_s"] if r["steady_s"] is not None else r["cold_s"]
        print(f"{r['deployment']} cycle / soil-water kernel = {steady / r['kernel_s']:.1f}x "
              f"(steady median {steady:.2f} s, busy {fmt(r['busy_s'])} s = {(r['busy_s'] or 0) / r['kernel_s']:.1f}x; "
              f"kernel: numpy soil_water_index on the {r['grid']} cells x the run's hours, median {r['kernel_s']:.2f} s "
              f"of {r['kernel_n']} timed between the cycles, {r['kernel_range_s'][0]:.2f}–{r['kernel_range_s'][1]:.2f} s)")
    print()
    print("time inside cycle.run by step, s (pull = fetch + decode; rest = crossings, levels, state, cycle record):")
    print(phase_table(rows))
    for r in rows:
        if args.per_cycle:
            print(f"\n{r['deployment']}: per cycle")
            for c in r["per_cycle"]:
                phases = " ".join(f"{k}={v:.2f}" for k, v in c["phases"].items())
                print("  " + ", ".join(f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}" for k, v in c.items()
                                       if k != "phases") + f"  [{phases}]")
        if "profile" in r:
            print(f"\n{r['deployment']}: cProfile of cycle.run (all cycles)\n{r['profile']}")


if __name__ == "__main__":
    main()
