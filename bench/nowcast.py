"""Benchmark: the radar nowcast's cost per cycle (models/nowcast.yaml, warn.risk.nowcast).

Frames: the three wide MRMS crops of tests/data (128 × 128 at 0.01°, a real convective storm,
20 min apart) taken as 10-minute frames, and the same tiled to a Chongqing-sized 410 × 500 grid.
For each grid: the motion alone, the deterministic extrapolation to +2 h (12 steps), S-PROG, and a
STEPS ensemble of 10 members; best wall time of ``--repeat`` runs.

Run: ``python bench/nowcast.py [--repeat 3] [--quick]`` (``--quick``: the 128 × 128 grid only).
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import numpy as np

from backends import best_of
from warn import rainarray
from warn.modelfiles import load_model_file
from warn.risk.nowcast import motion, nowcast
from warn.sources.forecast import open_forecast

ROOT = Path(__file__).resolve().parents[1]
STEP = timedelta(minutes=10)


def frames(tiles: tuple[int, int]) -> object:
    """The MRMS frames as 10-minute depths, tiled ``tiles`` (rows, columns) times."""
    parts = [open_forecast(ROOT / "tests" / "data" / f"mrms_preciprate_20190610-{t}_wide.grib2", source="MRMS",
                           step=STEP).values[0] for t in ("000000", "002000", "004000")]
    depth = np.stack([np.tile(p, tiles) for p in parts])
    ny, nx = depth.shape[1:]
    times = np.datetime64("2019-06-10T00:00", "ns") + np.arange(1, 4) * np.timedelta64(STEP)
    return rainarray.make_rain(depth, time=times, lat=30.0 + 0.01 * np.arange(ny), lon=106.0 + 0.01 * np.arange(nx),
                               step=STEP, source="MRMS, tiled")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    params = load_model_file("nowcast", ROOT / "models" / "nowcast.yaml").params()
    grids = [(1, 1)] if args.quick else [(1, 1), (4, 4)]
    print(f"{'grid':>10} {'what':<28} {'seconds':>8}")
    for tiles in grids:
        data = frames(tiles)
        if tiles != (1, 1):
            data = data.isel(lat=slice(0, 410), lon=slice(0, 500))
        grid = f"{data.sizes['lat']}×{data.sizes['lon']}"
        motion(data, params)  # the first call imports pysteps
        runs = {
            f"motion ({params.motion})": lambda: motion(data, params),
            "extrapolation +2 h": lambda: nowcast(data, params),
            "S-PROG +2 h": lambda: nowcast(data, replace(params, method="sprog")),
            "STEPS 10 members +2 h": lambda: nowcast(data, replace(params, method="steps", members=10)),
        }
        for what, run in runs.items():
            print(f"{grid:>10} {what:<28} {best_of(run, args.repeat):8.2f}", flush=True)


if __name__ == "__main__":
    main()
