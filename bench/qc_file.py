"""Benchmark: ``warn qc`` on one long ``time,value`` CSV (default a million rows), time and peak memory.

Issue 15 measured ``warn qc`` on a million rows at over 10 min and 5.7 GB. This script writes
a series of ``--rows`` 5-minute water levels (a slow random walk, seeded), then runs, each in
its own process: the reference — Python's :mod:`csv` reading the same file into a list — and
``warn qc FILE --json`` and ``warn qc FILE`` (the table). It prints each one's wall time and
peak resident memory and their ratios to the reference measured in the same run.

Run: ``python bench/qc_file.py [--rows 1000000]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = "import csv, sys\nwith open(sys.argv[1], newline='') as f:\n    rows = list(csv.reader(f))\n"


def write_series(path: Path, rows: int, seed: int = 0) -> None:
    """``rows`` readings every 5 min ending now, water level a random walk between 0 and 3 m."""
    rng = np.random.default_rng(seed)
    levels = np.clip(1.0 + np.cumsum(rng.normal(0, 0.005, rows)), 0.0, 3.0)
    start = datetime.now(timezone.utc).replace(microsecond=0) - rows * timedelta(minutes=5)
    with path.open("w", encoding="utf-8") as out:
        out.write("time,value\n")
        for k, level in enumerate(levels):
            out.write(f"{(start + k * timedelta(minutes=5)).isoformat()},{level:.3f}\n")


def measure(command: list[str]) -> tuple[float, float]:
    """Wall time (s) and peak resident memory (MiB) of ``command``, its output discarded."""
    tic = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - tic
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed: {process.stderr.read().decode() if process.stderr else ''}")
    return elapsed, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the series (default 1,000,000)")
    args = parser.parse_args()
    warn = [sys.executable, "-m", "warn", "qc"]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "series.csv"
        write_series(path, args.rows)
        print(f"{args.rows:,} rows, {path.stat().st_size / 2**20:.1f} MiB")
        runs = {"reference: csv.reader into a list": [sys.executable, "-c", REFERENCE, str(path)],
                "warn qc --json": [*warn, str(path), "--json", "--config", str(ROOT / "config.yaml")],
                "warn qc (table)": [*warn, str(path), "--config", str(ROOT / "config.yaml")]}
        base_time = base_memory = 0.0
        for name, command in runs.items():
            elapsed, memory = measure(command)
            base_time, base_memory = (elapsed, memory) if not base_time else (base_time, base_memory)
            print(f"{name:36s} {elapsed:7.1f} s ({elapsed / base_time:5.1f} × reference)  "
                  f"{memory:7.0f} MiB peak ({memory / base_memory:5.1f} × reference)")


if __name__ == "__main__":
    main()
