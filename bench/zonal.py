"""Benchmark: zonal mean + max of a 72-step forecast, warn against exactextract and rasterstats.

Grid: Chongqing-sized, 0.01°, 410 × 500 cells (lon 105.2–110.2, lat 28.1–32.2), 72
hourly steps of gamma rain, float32. Zone layers: 1,000 / 10,000 / 100,000 squares and
hexagons at random angles, sides log-uniform 0.25–4 cells (half smaller than a cell),
0.5 % of them 8–25 cells across; deterministic (seeded), in random order.

Run: ``python bench/zonal.py [--sizes 1000,10000,100000] [--quick]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import timedelta

import geopandas as gpd
import numpy as np
import pyproj
import shapely

from backends import best_of
from warn.geo.weights import build_weights, zonal_mean_max
from warn.rainarray import make_rain

LON0, LAT0, DEG, NLON, NLAT, STEPS = 105.2, 28.1, 0.01, 500, 410, 72


def make_zones(n: int, seed: int = 0) -> gpd.GeoDataFrame:
    """``n`` squares and hexagons inside the grid (see the module docstring)."""
    rng = np.random.default_rng(seed)
    big = rng.random(n) < 0.005
    side = DEG * np.exp(np.where(big, rng.uniform(np.log(8), np.log(25), n), rng.uniform(np.log(0.25), np.log(4), n)))
    corners = np.where(rng.random(n) < 0.5, 4, 6)
    radius = side / np.sqrt(2)
    cx = rng.uniform(LON0 + radius, LON0 + NLON * DEG - radius)
    cy = rng.uniform(LAT0 + radius, LAT0 + NLAT * DEG - radius)
    turn = rng.uniform(0, 2 * np.pi, n)
    geoms = np.empty(n, dtype=object)
    for k in (4, 6):
        sel = corners == k
        angle = turn[sel, None] + 2 * np.pi * np.arange(k + 1) / k
        ring = np.stack([cx[sel, None] + radius[sel, None] * np.cos(angle),
                         cy[sel, None] + radius[sel, None] * np.sin(angle)], axis=-1)
        ring[:, -1] = ring[:, 0]
        geoms[sel] = shapely.polygons(ring)
    return gpd.GeoDataFrame({"zone_id": [f"z{i:06d}" for i in range(n)]}, geometry=geoms, crs="EPSG:4326")


def make_rain_forecast(seed: int = 1):
    rng = np.random.default_rng(seed)
    lat = LAT0 + DEG * (np.arange(NLAT) + 0.5)
    lon = LON0 + DEG * (np.arange(NLON) + 0.5)
    values = rng.gamma(0.5, 2.0, (STEPS, NLAT, NLON)).astype(np.float32)
    times = np.datetime64("2026-07-15T01:00") + np.arange(STEPS) * np.timedelta64(1, "h")
    return make_rain(values, time=times, lat=lat, lon=lon, step=timedelta(hours=1), source="bench: gamma(0.5, 2)")



def exactextract_forecast(rain, layer) -> None:
    """Mean and max of every band, as exactextract computes them (coverage-weighted in degrees)."""
    from exactextract import exact_extract
    from exactextract.raster import NumPyRasterSource

    west, east = float(rain.lon[0]) - DEG / 2, float(rain.lon[-1]) + DEG / 2
    south, north = float(rain.lat[0]) - DEG / 2, float(rain.lat[-1]) + DEG / 2
    bands = [NumPyRasterSource(band[::-1], west, south, east, north, nodata=-1.0, srs_wkt=_WGS84, name=f"b{i}")
             for i, band in enumerate(rain.values)]
    exact_extract(bands, layer, ["mean", "max"], output="pandas")


def rasterstats_forecast(rain, layer) -> None:
    from affine import Affine
    from rasterstats import zonal_stats

    transform = Affine(DEG, 0, float(rain.lon[0]) - DEG / 2, 0, -DEG, float(rain.lat[-1]) + DEG / 2)
    for band in rain.values:
        zonal_stats(layer, band[::-1], affine=transform, stats=["mean", "max"], all_touched=True, nodata=-1)


_WGS84 = pyproj.CRS("EPSG:4326").to_wkt()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="zone counts, comma-separated")
    parser.add_argument("--quick", action="store_true", help="one repeat, no exactextract beyond 1,000 zones")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    repeat = 1 if args.quick else 5
    rain = make_rain_forecast()
    floor = best_of(lambda: rain.values.sum(), repeat)
    copy = best_of(lambda: rain.values.copy(), repeat)
    print(f"grid {NLAT} × {NLON} cells × {STEPS} steps float32 ({rain.values.nbytes / 1e6:.0f} MB); "
          f"numpy floor: sum {floor * 1e3:.1f} ms, copy {copy * 1e3:.1f} ms")
    head = ("zones", "cells/zone", "prepare s", "cached s", "warn ms", "×sum", "exactextract ms", "ee/warn",
            "rasterstats ms", "rs/warn")
    rows = []
    for n in sizes:
        layer = make_zones(n)
        with tempfile.TemporaryDirectory() as cache:
            start = time.perf_counter()
            weights = build_weights(layer, rain.lat.values, rain.lon.values, id_column="zone_id", cache_dir=cache)
            prepare = time.perf_counter() - start
            start = time.perf_counter()
            build_weights(layer, rain.lat.values, rain.lon.values, id_column="zone_id", cache_dir=cache)
            cached = time.perf_counter() - start
        zonal_mean_max(rain, weights)  # first call derives the plan once per weights object
        ours = best_of(lambda: zonal_mean_max(rain, weights), repeat)
        ee = rs = None
        if n <= (1000 if args.quick else 10000):
            ee = best_of(lambda: exactextract_forecast(rain, layer), 1)
        if n <= 1000:
            rs = best_of(lambda: rasterstats_forecast(rain, layer), 1)
        rows.append((f"{n:,}", f"{weights.matrix.nnz / n:.1f}", f"{prepare:.2f}", f"{cached:.2f}", f"{ours * 1e3:.1f}",
                     f"{ours / floor:.0f}", "-" if ee is None else f"{ee * 1e3:,.0f}",
                     "-" if ee is None else f"{ee / ours:,.0f}", "-" if rs is None else f"{rs * 1e3:,.0f}",
                     "-" if rs is None else f"{rs / ours:,.0f}"))
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    print("  ".join(h.rjust(w) for h, w in zip(head, widths)))
    for row in rows:
        print("  ".join(c.rjust(w) for c, w in zip(row, widths)))
    print("warn/exactextract/rasterstats: mean and max of all 72 steps per forecast; prepare: weights from "
          "scratch (written to the cache); cached: read back from it.")


if __name__ == "__main__":
    main()
