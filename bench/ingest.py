"""Benchmark: sustained sensor ingest — QC against recent good readings, then the store.

The issue's shape: 5,000 water-level sensors reporting every 5 minutes, arriving in
batches of 1,000 readings (one fifth of the sensors at one time step), through
:class:`warn.cycle.Ingester` (QC with the thresholds of models/sensors.yaml, history
kept in memory and read from the store once per sensor, one transaction per batch)
into SQLite and PostgreSQL. The values are a slow rise with noise, so every QC rule
runs on real neighbours. Printed: the first pass over the sensors (history read from
the store: cold) and the steady state.

Run: ``python bench/ingest.py [--steps 24] [--pg URL]``.
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
from backends import DEFAULT_PG, on_each_backend

from warn.cycle import Ingester
from warn.modelfiles import load_model_file
from warn.sources.readings import Reading, Sensor
from warn.store import Store
from warn.vocab import SensorKind

SENSORS, BATCH = 5000, 1000
STEP = timedelta(minutes=5)
MODELS = Path(__file__).resolve().parents[1] / "models" / "sensors.yaml"


def catalogue() -> dict[str, Sensor]:
    """5,000 water-level sensors reporting every 5 minutes."""
    return {f"WL-{i:05d}": Sensor(f"WL-{i:05d}", SensorKind.WATER_LEVEL, f"积水点{i}", 106.5 + i * 1e-5, 29.6, STEP)
            for i in range(SENSORS)}


def batches(start: datetime, steps: int) -> list[list[Reading]]:
    """``steps`` × 5 batches of 1,000 readings: depths rising 1 cm per step with ±2 mm noise."""
    rng = np.random.default_rng(0)
    out = []
    for k in range(steps):
        t = start + k * STEP
        arrival = t + timedelta(seconds=30)
        noise = rng.normal(0.0, 0.002, SENSORS)
        for first in range(0, SENSORS, BATCH):
            out.append([Reading(f"WL-{i:05d}", t, round(0.01 * k + noise[i], 4), "m", arrival)
                        for i in range(first, first + BATCH)])
    return out


def run(name: str, store: Store, steps: int) -> None:
    """Print readings/s for the cold first step and the steady state after it."""
    sensors = catalogue()
    store.upsert_sensors(sensors.values())
    ingester = Ingester(store, sensors, load_model_file("sensors", MODELS).params())
    start = datetime.now(timezone.utc).replace(microsecond=0) - steps * STEP
    data = batches(start, steps)
    per_step = SENSORS // BATCH
    for label, part in (("cold (1st step)", data[:per_step]), ("steady", data[per_step:])):
        n = sum(map(len, part))
        begin = time.perf_counter()
        for batch in part:
            ingester.ingest(batch, now=batch[0].arrival_time)
        elapsed = time.perf_counter() - begin
        print(f"{name:10s} {label:16s} {n:8,d} readings in {elapsed:6.2f} s: {n / elapsed:9,.0f} readings/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=24, help="5-minute steps (5 batches of 1,000 each)")
    parser.add_argument("--pg", default=DEFAULT_PG)
    args = parser.parse_args()
    on_each_backend(lambda name, store: run(name, store, args.steps), args.pg)


if __name__ == "__main__":
    main()
