"""Benchmark: the store at city scale (issue 20, item 4) — bulk writes, a 370,000-device ingest, the cycle in
service age and the planner at 1,000 open threads.

Functions return rows (dicts) that bench/municipal.py prints beside its own; ``main()`` prints them here.

- :func:`store_writes`: rows written per second into a fresh store, SQLite and PostgreSQL, bulk against one
  transaction per row: readings (:meth:`warn.store.Store.write_readings` in batches of 5,000 — COPY on
  PostgreSQL, and ``unnest`` arrays beside it — against a ``write_readings`` call per reading); item levels
  (:meth:`warn.store.levels.LevelTable.record` of a city cycle's 12,000 items × 4 leads in one transaction, one
  level set per lead, against a cycle of one level each, a transaction per level); outbox rows
  (:meth:`warn.store.outbox.OutboxTable.enqueue_many`, multi-row inserts, against ``enqueue`` per row).
- :func:`catalogue_ingest`: a simulated catalogue of 370,000 devices (Yubei's count in the seed) at their
  reporting rates, through :class:`warn.cycle.Ingester` (QC against each sensor's recent good readings, one
  transaction per batch of 5,000) into PostgreSQL: readings/s achieved against readings/s needed. The mix
  (assumed; the seed gives only the total): 40,000 rain gauges and 30,000 water-level points every 5 min
  (the warning network), 100,000 river/channel stage gauges every 10 min, 200,000 slow devices
  (battery water-level and rain sensors of villages and slopes) every 60 min, each spread over its
  interval by a phase of its own — 456 readings/s on average; all 370,000 every 5 min would be 1,233/s.
- :func:`cycle_age`: bench/history.py's city-sized cycle on day 1 and day 30 (target ratio ≤ 1.10),
  SQLite and PostgreSQL.
- :func:`planner_threads`: bench/planner.py's command step raising 10, 100 and 1,000 threads.

Measured (2026-12-03, 2 shared cores under a load average of 7–10 from other runs, PostgreSQL 15 on the
same machine; ratios hold better than absolute times on this shared box):

- store writes, rows/s, bulk | one transaction per row: SQLite readings 4,225 | 185 (23×), item levels
  5,075 | 307 (17×), outbox 4,365 | 103 (42×); PostgreSQL readings 5,128 (COPY; ``unnest`` 2,838) | 33
  (155×), item levels 44,315 (COPY; the ``executemany`` it replaces 5,898) | 168 (263×), outbox 1,258
  (multi-row ``VALUES``, which psycopg spends seconds parsing) | 62 — since then queued through COPY:
  6,000 rows in 0.28–0.31 s (was 4.8–11.6 s). Item levels since kept as level sets (2026-12-04, beside a CI
  run): SQLite 225,716 | 793 (285×), PostgreSQL 243,336 | 330 (736×) — a city cycle's 48,000 in 0.20–0.21 s.
- 370,000 devices into PostgreSQL with QC: the catalogue upserted in 82 s; 30 simulated minutes,
  820,001 readings, in 451 s: 1,818 readings/s achieved (1,301/s in the first step, history read cold;
  1,619–2,558/s after) against 456/s needed by the mix (4.0×) and 1,233/s if every device reported
  every 5 minutes (1.5×).
- the planner (bench/planner.py), raising N threads at once (plan + execute + publish + save), s:
  SQLite 8.33 | 6.96 | 33.60 at 10 | 100 | 1,000 (1,000/100: 4.8×), PostgreSQL 2.89 | 9.31 | 53.98
  (5.8×; target ≤ 12×); the idle tick after, at 1,000 open threads: 7.41 s reading the state whole,
  0.37 s after (SQLite), 9.11 s and 0.53 s (PostgreSQL).

Run: ``python bench/storescale.py [--pg URL] [--devices 370000] [--minutes 30] [--skip history planner]``
(~25 min with the history and planner parts; ~6 min without).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from backends import DEFAULT_PG, postgresql_store, sqlite_store  # noqa: E402

from warn.sources.readings import FlaggedReading, Reading, Sensor  # noqa: E402
from warn.store import ItemLevel, Store  # noqa: E402
from warn.store.bulk import PostgresBulk  # noqa: E402
from warn.store.outbox import NewMessage  # noqa: E402
from warn.store.partitions import period_of  # noqa: E402
from warn.vocab import CapStatus, QCFlag, SensorKind  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
#: This week's Tuesday: on PostgreSQL the readings go into this week's partition, as live ones do.
T0 = period_of(datetime.now(UTC)).start + timedelta(days=1)
SENSORS, BATCH = 5000, 5000
#: The simulated catalogue: (kind, prefix, devices, reporting interval).
MIX = ((SensorKind.RAIN_GAUGE, "RG", 40_000, timedelta(minutes=5)),
       (SensorKind.WATER_LEVEL, "WL", 30_000, timedelta(minutes=5)),
       (SensorKind.RIVER_STAGE, "RS", 100_000, timedelta(minutes=10)),
       (SensorKind.WATER_LEVEL, "SW", 100_000, timedelta(minutes=60)),
       (SensorKind.RAIN_GAUGE, "SR", 100_000, timedelta(minutes=60)))
UNIT = {SensorKind.RAIN_GAUGE: "mm", SensorKind.WATER_LEVEL: "m", SensorKind.RIVER_STAGE: "m"}
STEP = timedelta(minutes=5)


def _stores(pg_url: str) -> Iterator[tuple[str, Store]]:
    with sqlite_store() as store:
        yield "sqlite", store
    with postgresql_store(pg_url) as store:
        if store is not None:
            yield "postgresql", store


def _rate(backend: str, what: str, method: str, n: int, seconds: float) -> dict:
    return {"backend": backend, "what": what, "method": method, "rows": n, "seconds": seconds, "per_s": n / seconds}


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _readings(step: int, n: int = SENSORS) -> list[FlaggedReading]:
    t = T0 + step * STEP
    return [FlaggedReading(Reading(f"WL-{i:05d}", t, round(0.001 * ((i + step) % 300), 3), "m",
                                   t + timedelta(seconds=30)), QCFlag.GOOD) for i in range(n)]


def _levels(at: datetime, items: int) -> list[ItemLevel]:
    return [ItemLevel("landslide", "zone", f"Z{i:05d}", lead, i % 5, 0.01 * (i % 100), ("swi", "rain_3h"))
            for i in range(items) for lead in ("now", "2h", "24h", "72h")]


def store_writes(pg_url: str = DEFAULT_PG, *, steps: int = 4, per_row: int = 500, items: int = 12_000,
                 messages: int = 6_000) -> list[dict]:
    """Rows per second, bulk against one transaction per row, for readings, item levels and outbox rows."""
    out = []
    for backend, store in _stores(pg_url):
        store.upsert_sensors([Sensor(f"WL-{i:05d}", SensorKind.WATER_LEVEL, f"积水点{i}", 106.5 + i * 1e-5, 29.6, STEP)
                              for i in range(SENSORS)])
        store.prepare_partitions(T0)
        methods = [("bulk COPY" if backend == "postgresql" else "bulk executemany", store)]
        if backend == "postgresql":
            methods.append(("bulk unnest", Store(store.engine, bulk=PostgresBulk(copy=False))))
        for k, (method, writer) in enumerate(methods):
            data = [_readings(steps * k + s) for s in range(steps)]
            seconds = _timed(lambda: [writer.write_readings(batch) for batch in data])
            out.append(_rate(backend, "readings", method, steps * SENSORS, seconds))
        single = _readings(steps * len(methods), per_row)
        out.append(_rate(backend, "readings", "per row", per_row,
                         _timed(lambda: [store.write_readings([r]) for r in single])))
        rows = _levels(T0, items)
        out.append(_rate(backend, "item levels", "bulk level sets", len(rows),
                         _timed(lambda: store.levels.record(T0, rows, {}))))
        few = _levels(T0 + STEP, per_row // 4)
        out.append(_rate(backend, "item levels", "per row", len(few), _timed(  # a cycle, a set and a transaction each
            lambda: [store.levels.record(T0 + STEP + k * timedelta(microseconds=1), [r], {})
                     for k, r in enumerate(few)])))
        queued = [NewMessage(channel="sms", recipient=f"1380000{i:04d}", payload=f"预警 {i}".encode(),
                             content_type="text/plain", idempotency_key=f"bench:{i}", public=False,
                             cap_status=CapStatus.EXERCISE) for i in range(messages + per_row)]
        out.append(_rate(backend, "outbox rows", "bulk COPY" if backend == "postgresql" else "bulk multi-row", messages,
                         _timed(lambda: store.outbox.enqueue_many(queued[:messages]))))
        out.append(_rate(backend, "outbox rows", "per row", per_row,
                         _timed(lambda: [store.outbox.enqueue(m) for m in queued[messages:]])))
    return out


def catalogue(devices: int = 370_000) -> dict[str, Sensor]:
    """The simulated catalogue (:data:`MIX`, scaled to ``devices``)."""
    total = sum(n for *_, n, _ in MIX)
    out = {}
    for kind, prefix, n, interval in MIX:
        for i in range(round(n * devices / total)):
            sid = f"{prefix}-{i:06d}"
            out[sid] = Sensor(sid, kind, f"{prefix}{i}", 105.9 + (i % 1000) * 1e-3, 29.5 + (i // 1000) * 1e-3, interval)
    return out


def reports(sensors: dict[str, Sensor], start: datetime, minutes: int) -> list[tuple[datetime, list[Reading]]]:
    """Every device's readings in ``minutes`` from ``start``, step by 5-minute step: a device reports when its own
    phase of its interval comes round (a slow rise with noise, rain 0–2 mm)."""
    rng = np.random.default_rng(20)
    steps = []
    for k in range(minutes // 5):
        t = start + k * STEP
        due = []
        for j, (sid, sensor) in enumerate(sensors.items()):
            every = int(sensor.interval / STEP)
            if (k + j) % every:
                continue
            value = (round(float(rng.exponential(0.3)), 1) if sensor.kind is SensorKind.RAIN_GAUGE
                     else round(0.2 + 0.002 * k + float(rng.normal(0, 0.002)), 3))
            due.append(Reading(sid, t, value, UNIT[sensor.kind], t + timedelta(seconds=40)))
        steps.append((t, due))
    return steps


def catalogue_ingest(pg_url: str = DEFAULT_PG, *, devices: int = 370_000, minutes: int = 30) -> list[dict]:
    """The catalogue's readings of ``minutes`` ingested with QC into PostgreSQL: achieved against needed rates."""
    from warn.cycle import Ingester
    from warn.modelfiles import load_model_file

    sensors = catalogue(devices)
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=minutes)
    start -= timedelta(minutes=start.minute % 5)
    data = reports(sensors, start, minutes)
    out = []
    with postgresql_store(pg_url) as store:
        if store is None:
            return out
        store.prepare_partitions(start)
        seconds = _timed(lambda: store.upsert_sensors(sensors.values()))
        out.append({"what": "catalogue", "devices": len(sensors), "seconds": seconds})
        ingester = Ingester(store, sensors, load_model_file("sensors", ROOT / "models" / "sensors.yaml").params())
        for k, (t, due) in enumerate(data):
            begin = time.perf_counter()
            for first in range(0, len(due), BATCH):
                ingester.ingest(due[first:first + BATCH], now=t + timedelta(seconds=40))
            elapsed = time.perf_counter() - begin
            out.append({"what": "step", "step": k, "readings": len(due), "seconds": elapsed,
                        "achieved_per_s": len(due) / elapsed, "needed_per_s": len(due) / STEP.total_seconds()})
        out.append({"what": "held", "readings": store.count_readings()})
    return out


def cycle_age(pg_url: str | None = DEFAULT_PG, *, cycles: int = 3) -> list[dict]:
    """bench/history.py's day 1 / day 30 comparison on SQLite and (``pg_url``) PostgreSQL."""
    import history

    return [history.compare(30, cycles, pg) for pg in (None, *([pg_url] if pg_url else []))]


def planner_threads(pg_url: str = DEFAULT_PG, sizes: tuple[int, ...] = (10, 100, 1000)) -> list[dict]:
    """bench/planner.py's phases raising ``sizes`` threads at once, SQLite and PostgreSQL (s per phase)."""
    import planner

    from warn import hazards
    from warn.command.loading import load_setup
    from warn.config import load_settings
    from warn.vocab import OrgLevel

    settings = load_settings(ROOT / "config.yaml")
    setup = load_setup(settings.command, settings.deployment.district_code, hazards.names_zh())
    towns = sorted({u.code for u in setup.org.parents if u.level is OrgLevel.TOWN}) or ["DEMO-T05"]
    out = []
    for backend, opener in (("sqlite", sqlite_store), ("postgresql", lambda: postgresql_store(pg_url))):
        for n in sizes:
            with opener() as store:
                if store is None:
                    break
                out.append({"backend": backend, "threads": n,
                            **planner.raise_threads(store, settings, setup, n, towns, None)})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default=DEFAULT_PG)
    parser.add_argument("--devices", type=int, default=370_000)
    parser.add_argument("--minutes", type=int, default=30, help="simulated minutes of the catalogue's readings")
    parser.add_argument("--skip", nargs="*", default=[], choices=["writes", "ingest", "history", "planner"])
    args = parser.parse_args()
    if "writes" not in args.skip:
        print("store writes per second (fresh store)\n| backend | rows | method | n | s | rows/s |\n|---|---|---|---|---|---|")
        rows = store_writes(args.pg)
        for r in rows:
            print(f"| {r['backend']} | {r['what']} | {r['method']} | {r['rows']:,} | {r['seconds']:.2f} | "
                  f"{r['per_s']:,.0f} |", flush=True)
        for backend in ("sqlite", "postgresql"):
            for what in ("readings", "item levels", "outbox rows"):
                pair = [r["per_s"] for r in rows if r["backend"] == backend and r["what"] == what]
                if pair:
                    print(f"{backend} {what}: bulk {max(pair) / min(pair):.0f}× per row")
    if "ingest" not in args.skip:
        rows = catalogue_ingest(args.pg, devices=args.devices, minutes=args.minutes)
        steps = [r for r in rows if r["what"] == "step"]
        if steps:
            print(f"\n{rows[0]['devices']:,}-device catalogue into PostgreSQL with QC (catalogue upserted in "
                  f"{rows[0]['seconds']:.1f} s)\n| step | readings | s | achieved/s | needed/s | headroom |\n|---|---|---|---|---|---|")
            for r in steps:
                print(f"| {r['step']} | {r['readings']:,} | {r['seconds']:.1f} | {r['achieved_per_s']:,.0f} | "
                      f"{r['needed_per_s']:,.0f} | {r['achieved_per_s'] / r['needed_per_s']:.1f}× |", flush=True)
            total = sum(r["readings"] for r in steps)
            wall = sum(r["seconds"] for r in steps)
            needed = total / (len(steps) * STEP.total_seconds())
            print(f"all steps: {total:,} readings in {wall:.1f} s: {total / wall:,.0f}/s achieved, {needed:,.0f}/s "
                  f"needed ({total / wall / needed:.1f}×); every device every 5 min needs "
                  f"{args.devices / STEP.total_seconds():,.0f}/s ({total / wall / (args.devices / 300):.1f}×)")
    if "planner" not in args.skip:
        rows = planner_threads(args.pg)
        print("\nplanner: raising N threads at once, s (plan + execute + publish + save) and the idle tick after")
        for r in rows:
            raised = sum(r[p] for p in ("plan", "execute", "publish", "save"))
            print(f"  {r['backend']:10s} n={r['threads']:5d}: raise {raised:.2f} s, tick {r['tick']:.2f} s, "
                  f"tick2 {r['tick2']:.2f} s")
        for backend in ("sqlite", "postgresql"):
            by = {r["threads"]: sum(r[p] for p in ("plan", "execute", "publish", "save"))
                  for r in rows if r["backend"] == backend}
            if 100 in by and 1000 in by:
                print(f"  {backend}: raise 1000/100 = {by[1000] / by[100]:.1f}× (target ≤ 12×)")
    if "history" not in args.skip:
        for result in cycle_age(args.pg):
            first, old = result["rows"]
            print(f"\ncycle in service age, {result['backend']}: day 1 {first['cycle_s']:.1f} s "
                  f"({', '.join(f'{c:.1f}' for c in first['cycles'])}), day 30 {old['cycle_s']:.1f} s "
                  f"({', '.join(f'{c:.1f}' for c in old['cycles'])}): ratio {result['ratio']:.3f} (target ≤ 1.10)",
                  flush=True)


if __name__ == "__main__":
    main()
