"""Benchmark: sensor QC throughput (readings/s) on 1,000-reading batches from 5,000 sensors.

World: 5,000 ponding-depth sensors (water_level, models/sensors.yaml thresholds) reporting
every 5 min, so a batch of 1,000 readings is one minute of the stream. Values: most streets
dry (0 ± 2 mm), a fifth ponding (random walk 0–0.6 m), 1 % isolated spikes, 0.5 % out of
range, 0.5 % missing; deterministic (seeded). Each batch is judged with ``history`` holding
the last ``--depth`` good readings per sensor, kept in memory as the store would return them
(building them from the store is not timed). Only :func:`warn.sources.qc.qc_batch` is timed.

Run: ``python bench/qc.py [--batches 200] [--depths 1,25]``. Depth 25 covers the 2 h
flatline window at 5 min; depth 1 is what spike, jump and rate need.
"""

from __future__ import annotations

import argparse
import time
from collections import deque
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from warn.modelfiles import load_model_file
from warn.sources.qc import qc_batch
from warn.sources.readings import FlaggedReading, Reading, Sensor
from warn.vocab import QCFlag, SensorKind

SENSORS, BATCH, INTERVAL = 5_000, 1_000, timedelta(minutes=5)
START = datetime(2026, 7, 15, tzinfo=timezone.utc)
MODEL = Path(__file__).resolve().parents[1] / "models" / "sensors.yaml"


def make_sensors() -> dict[str, Sensor]:
    """The catalogue: ``SENSORS`` water-level sensors reporting every ``INTERVAL``."""
    return {f"WL-{i:05d}": Sensor(f"WL-{i:05d}", SensorKind.WATER_LEVEL, f"积水点{i}", 106.5, 29.7, INTERVAL)
            for i in range(SENSORS)}


def make_batches(ids: list[str], count: int, seed: int = 0) -> list[list[Reading]]:
    """``count`` batches of ``BATCH`` readings, the stream in time order (see the module docstring)."""
    rng = np.random.default_rng(seed)
    ponding = rng.random(SENSORS) < 0.2
    level = np.zeros(SENSORS)
    per_step = SENSORS // BATCH
    batches = []
    for b in range(count):
        step, part = divmod(b, per_step)
        which = np.arange(part * BATCH, (part + 1) * BATCH)
        level[which] = np.clip(level[which] + np.where(ponding[which], rng.normal(0, 0.01, BATCH), 0), 0, 0.6)
        value = level[which] + rng.normal(0, 0.002, BATCH)
        value = np.where(rng.random(BATCH) < 0.01, value + 0.3, value)
        value = np.where(rng.random(BATCH) < 0.005, 9.0, value)
        missing = rng.random(BATCH) < 0.005
        at = START + step * INTERVAL + timedelta(seconds=int(part * 60))
        batches.append([Reading(ids[i], at, None if gone else round(float(x), 3), "m", at)
                        for i, x, gone in zip(which, value, missing)])
    return batches


def run(batches: list[list[Reading]], sensors: dict[str, Sensor], depth: int) -> tuple[float, dict[str, int]]:
    """Judge the batches in order, feeding good readings back as history; readings/s and flag counts."""
    params = load_model_file("sensors", MODEL).params()
    history: dict[str, deque[FlaggedReading]] = {sid: deque(maxlen=depth) for sid in sensors}
    counts: dict[str, int] = {}
    elapsed = 0.0
    for batch in batches:
        now = batch[0].phenomenon_time + timedelta(seconds=30)
        tic = time.perf_counter()
        flagged = qc_batch(batch, sensors=sensors, history=history, params=params, now=now)
        elapsed += time.perf_counter() - tic
        for fr in flagged:
            counts[fr.qc_rule or "good"] = counts.get(fr.qc_rule or "good", 0) + 1
            if fr.qc_flag is QCFlag.GOOD:
                history[fr.reading.sensor_id].append(fr)
    return sum(map(len, batches)) / elapsed, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=200, help="batches of 1,000 readings (default 200)")
    parser.add_argument("--depths", default="1,25", help="history depths per sensor, comma-separated")
    args = parser.parse_args()
    sensors = make_sensors()
    batches = make_batches(list(sensors), args.batches)
    for depth in (int(d) for d in args.depths.split(",")):
        rate, counts = run(batches, sensors, depth)
        flags = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        print(f"history depth {depth:3d}: {rate:10,.0f} readings/s   ({args.batches} batches × {BATCH}; {flags})")


if __name__ == "__main__":
    main()
