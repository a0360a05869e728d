"""Benchmark: the observed-rain analysis of a cycle (:func:`warn.cycle.observed.observe`).

For the demo grid (81 × 84 cells, 0.01°, Yubei) with 20 rain gauges and a Chongqing-sized grid
(401 × 491 cells) with 20 and 400 gauges: 3 h of 5-minute gauge reports ingested through QC into a
SQLite store (untimed), 10-minute radar frames (gamma rain, seeded) on the model grid, or on a grid
twice as fine (regridded by the box mean). Timed: the cold cycle (empty store: the whole window,
18 steps, analysed) and the warm one ten minutes later (the last hour's six steps and the new one
analysed again, the rest read back from the store), best of ``--repeat``.

Run: ``python bench/analysis.py [--repeat 3] [--quick]`` (``--quick``: the demo grid only).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import yaml

from warn.config import load_settings
from warn.cycle.observed import observe
from warn.cycle.sensors import open_ingester
from warn.rainarray import make_rain
from warn.sources.readings import Reading

ROOT = Path(__file__).resolve().parent.parent
AT = datetime(2026, 7, 15, 5, 0, tzinfo=UTC)
STEP, REPORT = timedelta(minutes=10), timedelta(minutes=5)
#: (name, lat0, lon0, nlat, nlon, gauges, radar refinement)
CASES = [("demo", 29.45, 106.3, 81, 84, 20, 1), ("demo, radar 2× finer", 29.45, 106.3, 81, 84, 20, 2),
         ("city", 28.1, 105.2, 401, 491, 20, 1), ("city", 28.1, 105.2, 401, 491, 400, 1)]


def deployment(folder: Path, lat: np.ndarray, lon: np.ndarray, gauges: int, rng: np.random.Generator) -> Path:
    """A copy of the committed deployment with ``gauges`` rain gauges scattered over the grid."""
    shutil.copytree(ROOT / "models", folder / "models")
    rows = ["sensor_id,kind,name,lon,lat,interval,point_id"]
    rows += [f"RG-{k:04d},rain_gauge,雨量站{k},{rng.uniform(lon[0], lon[-1]):.4f},{rng.uniform(lat[0], lat[-1]):.4f},PT5M,"
             for k in range(gauges)]
    (folder / "sensors.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    config = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    config["store"]["url"] = f"sqlite:///{folder / 'warn.sqlite'}"
    config["sensors"] = {"catalogue": "sensors.csv", "feeds": {}}
    config["observed"] = {"radar": {"url": "http://127.0.0.1:9/{time:%Y%m%d%H%M}.nc"}}
    config["layers"] = {name: {**spec, "path": str(ROOT / spec["path"])} for name, spec in config["layers"].items()}
    config["sim"]["feed_dir"] = str(ROOT / config["sim"]["feed_dir"])
    config["command"].update(playbooks=str(ROOT / config["command"]["playbooks"]),
                             roster=str(ROOT / config["command"]["roster"]),
                             directory=str(ROOT / config["command"]["directory"]))
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def radar(lat: np.ndarray, lon: np.ndarray, ends: list[datetime], refine: int, rng: np.random.Generator):
    """Radar frames (mm per 10 min) at the step ends, on the grid refined ``refine`` times."""
    d = (lat[1] - lat[0]) / refine
    rlat = lat[0] - (lat[1] - lat[0]) / 2 + d / 2 + d * np.arange(lat.size * refine)
    rlon = lon[0] - (lon[1] - lon[0]) / 2 + d / 2 + d * np.arange(lon.size * refine)
    depth = rng.gamma(0.6, 1.5, (len(ends), rlat.size, rlon.size)).astype(np.float32)
    times = np.array([np.datetime64(t.replace(tzinfo=None), "ns") for t in ends])
    return make_rain(depth, time=times, lat=rlat, lon=rlon, step=STEP, source="bench radar")


def case(lat0: float, lon0: float, nlat: int, nlon: int, gauges: int, refine: int, repeat: int) -> tuple[float, float]:
    """Best cold and warm seconds of ``observe``."""
    lat, lon = lat0 + 0.005 + 0.01 * np.arange(nlat), lon0 + 0.005 + 0.01 * np.arange(nlon)
    cold, warm = [], []
    for attempt in range(repeat):
        rng = np.random.default_rng(attempt)
        with tempfile.TemporaryDirectory() as tmp:
            settings = load_settings(deployment(Path(tmp), lat, lon, gauges, rng))
            ingester = open_ingester(settings)
            start = AT - timedelta(hours=3)
            ingester.ingest([Reading(f"RG-{k:04d}", start + REPORT * i, round(float(rng.gamma(0.6, 0.8)), 1), "mm",
                                     start + REPORT * i) for i in range(1, 38) for k in range(gauges)],
                            now=AT + STEP)
            ends = [AT - STEP * k for k in range(17, -2, -1)]
            frames = radar(lat, lon, ends, refine, rng)
            began = time.perf_counter()
            observe(settings, ingester.store, frames.isel(time=slice(0, 18)), AT, lat, lon)
            cold.append(time.perf_counter() - began)
            began = time.perf_counter()
            observe(settings, ingester.store, frames.isel(time=slice(-6, None)), AT + STEP, lat, lon)
            warm.append(time.perf_counter() - began)
            ingester.store.close()
    return min(cold), min(warm)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print(f"{'grid':<22} {'cells':>9} {'gauges':>6} {'cold (18 steps)':>16} {'warm (7 steps)':>15}")
    for name, lat0, lon0, nlat, nlon, gauges, refine in CASES:
        if args.quick and not name.startswith("demo"):
            continue
        cold, warm = case(lat0, lon0, nlat, nlon, gauges, refine, args.repeat)
        print(f"{name:<22} {nlat * nlon:>9,} {gauges:>6} {cold:>15.3f}s {warm:>14.3f}s")


if __name__ == "__main__":
    main()
