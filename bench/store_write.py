"""Benchmark: Store.write_readings (and last_readings) on SQLite and PostgreSQL.

The project's ingest shape: 5,000 sensors, each reporting every step, written in
batches of 1,000 readings (one fifth of the sensors at one step). Phases:

- ``new``: every reading is a new (sensor, time): the steady state of a feed;
- ``repeat``: the same batches again, unchanged: a feed re-sending its window;
- ``revise``: the same batches with changed values: every reading a revision;
- ``last_readings``: the last 6 good readings of 1,000 sensors, per call.

SQLite runs in a temporary file; PostgreSQL in a fresh schema of the database at
``--pg`` (skipped with a message when it is unreachable), dropped afterwards.

Run: ``python bench/store_write.py [--steps 20] [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test]``.
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime, timedelta, timezone

from backends import DEFAULT_PG, on_each_backend

from warn.sources.readings import FlaggedReading, Reading, Sensor
from warn.store import Store
from warn.vocab import QCFlag, SensorKind

SENSORS, BATCH = 5000, 1000
T0 = datetime(2026, 7, 15, tzinfo=timezone.utc)
STEP = timedelta(minutes=1)


def catalogue() -> list[Sensor]:
    """5,000 water-level sensors."""
    return [Sensor(f"WL-{i:05d}", SensorKind.WATER_LEVEL, f"积水点{i}", 106.5 + i * 1e-5, 29.6, STEP)
            for i in range(SENSORS)]


def batches(steps: int, offset: float = 0.0) -> list[list[FlaggedReading]]:
    """``steps`` × 5 batches of 1,000 readings; ``offset`` shifts every value (for revisions)."""
    out = []
    for k in range(steps):
        t = T0 + k * STEP
        arrival = t + timedelta(seconds=20)
        for first in range(0, SENSORS, BATCH):
            out.append([FlaggedReading(Reading(f"WL-{i:05d}", t, 0.01 * ((i + k) % 50) + offset, "m", arrival),
                                       QCFlag.GOOD) for i in range(first, first + BATCH)])
    return out


def run(name: str, store: Store, steps: int) -> None:
    """Print readings/s of each phase for one backend."""
    store.upsert_sensors(catalogue())
    for phase, data in (("new", batches(steps)), ("repeat", batches(steps)), ("revise", batches(steps, 0.5))):
        n = sum(map(len, data))
        start = time.perf_counter()
        for batch in data:
            store.write_readings(batch)
        elapsed = time.perf_counter() - start
        print(f"{name:10s} {phase:8s} {n:8,d} readings in {elapsed:6.2f} s: {n / elapsed:9,.0f} readings/s")
    if store.engine.dialect.name == "postgresql":  # what autovacuum does to a live table: plans need statistics
        with store.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    ids = [f"WL-{i:05d}" for i in range(0, SENSORS, SENSORS // BATCH)]
    calls = 20
    start = time.perf_counter()
    for _ in range(calls):
        store.last_readings(ids, n=6)
    elapsed = time.perf_counter() - start
    print(f"{name:10s} last_readings(1,000 sensors, n=6): {1000 * elapsed / calls:6.1f} ms per call "
          f"({store.count_readings():,d} readings held)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20, help="time steps per phase (5 batches each)")
    parser.add_argument("--pg", default=DEFAULT_PG)
    args = parser.parse_args()
    on_each_backend(lambda name, store: run(name, store, args.steps), args.pg)


if __name__ == "__main__":
    main()
