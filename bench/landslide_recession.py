"""Benchmark: how long the demo storm keeps towns red, and how long after the rain stopped.

The demo storm (demo/forecast, about six hours of rain over Yubei) is padded with dry hours
before and after, as the demo world does (:mod:`warn.sim.demo`), and cut into hourly runs of
24 hours, each issued one hour before its first hour — a perfect forecast. Every run goes
through the landslide scoring of the deployment (towns only, no official floor) in order,
with one store carrying the soil-water state and the remembered levels from cycle to cycle,
as the service does. The first cycle starts cold (its level now is unknown).

Printed per town that reached red: the hours its level *now* was red, and of those the
hours after the last hour with at least ``--wet`` mm/h of district-mean rain (the mean over
the district layer's exact cell coverage); then the largest of each. Counts of hourly cycles,
so comparable between model versions; no timings.

Run: ``python bench/landslide_recession.py [--after 96] [--wet 0.5] [--json]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
from pathlib import Path

import numpy as np
import xarray as xr

from warn import hazards
from warn.config import load_settings
from warn.geo.layers import zone_layer
from warn.geo.weights import build_weights, zonal_mean
from warn.hazards.landslide.scoring import score_landslide
from warn.rainarray import issued_at
from warn.sources.forecast import open_forecast
from warn.store import Store
from warn.vocab import Level

ROOT = Path(__file__).resolve().parents[1]
HOUR = np.timedelta64(1, "h")
#: Length of every run, as the demo world cuts them.
RUN_HOURS = 24


def padded_storm(settings, before_h: int, after_h: int) -> xr.DataArray:
    """The demo storm's hourly rain (time, lat, lon), mm, with dry hours before and after."""
    sim = settings.sim
    name = settings.forecasts[sim.source].url.rsplit("/", 1)[-1].format(issued=sim.issued_at)
    storm = open_forecast(sim.feed_dir / name, source=sim.source, limits=settings.files)
    first, last = storm["time"].values[0], storm["time"].values[-1]
    times = np.concatenate([first - np.arange(before_h, 0, -1) * HOUR, storm["time"].values,
                            last + np.arange(1, after_h + 1) * HOUR])
    return storm.reindex(time=times, fill_value=0.0).assign_attrs(storm.attrs)


def district_mean(settings, rain: xr.DataArray) -> np.ndarray:
    """District-mean rain of every hour (time,), mm, over the exact cell coverage of the district layer."""
    spec, district = zone_layer(settings, "district")
    weights = build_weights(district, rain["lat"].values, rain["lon"].values, id_column=spec.id_field,
                            cache_dir=settings.cache_dir / "weights", where=f"{spec.path}#{spec.layer}")
    return zonal_mean(rain, weights).values.reshape(rain.sizes["time"], -1).mean(axis=1)


def run_issued(rain: xr.DataArray, hour: int) -> xr.DataArray:
    """The run issued one hour before hour ``hour`` of ``rain``: its next :data:`RUN_HOURS` hours."""
    issued = rain["time"].values[hour] - HOUR
    return rain.isel(time=slice(hour, hour + RUN_HOURS)).assign_attrs(
        issued_at=str(issued.astype("datetime64[s]")) + "Z")


def levels_now(settings, rain: xr.DataArray, store: Store) -> tuple[np.ndarray, dict[str, list[Level]]]:
    """The cycle times (issue times of the runs) and every town's level now at each."""
    deployed = hazards.deployed(settings, only="landslide")[0]
    layers = {role: layer for role, layer in deployed.section.layers.items() if role != "points"}
    deployed = dataclasses.replace(deployed, section=deployed.section.model_copy(update={"layers": layers}))
    cycles = rain.sizes["time"] - RUN_HOURS + 1
    towns: dict[str, list[Level]] = {}
    for hour in range(cycles):
        run = run_issued(rain, hour)
        ctx = hazards.context(settings, deployed, run, issued_at(run), store=store, persist=True)
        for item in score_landslide(ctx).items:
            towns.setdefault(item.item_id, []).append(item.levels["now"])
    return rain["time"].values[:cycles] - HOUR, towns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=int, default=3, help="dry hours before the storm (the demo's 3)")
    parser.add_argument("--after", type=int, default=96, help="dry hours after the storm")
    parser.add_argument("--wet", type=float, default=0.5, help="district-mean rain (mm/h) of a wet hour")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    settings = load_settings(ROOT / "config.yaml")
    rain = padded_storm(settings, args.before, args.after)
    wet = np.flatnonzero(district_mean(settings, rain) >= args.wet)
    if not wet.size:
        raise SystemExit(f"no hour of the storm reaches {args.wet} mm/h of district-mean rain")
    rain_end = rain["time"].values[wet[-1]]  # end of the last wet hour
    with tempfile.TemporaryDirectory() as folder:
        store = Store.connect(f"sqlite:///{Path(folder) / 'warn.sqlite'}")
        store.upgrade()
        times, towns = levels_now(settings, rain, store)
        store.close()
    red = {town: np.array([level is Level.RED for level in levels]) for town, levels in towns.items()}
    rows = {town: {"red_h": int(flags.sum()), "red_after_rain_h": int((flags & (times >= rain_end)).sum())}
            for town, flags in sorted(red.items()) if flags.any()}
    largest = {key: max((row[key] for row in rows.values()), default=0) for key in ("red_h", "red_after_rain_h")}
    if args.json:
        print(json.dumps({"rain_end": str(rain_end.astype("datetime64[s]")) + "Z", "towns": rows, "max": largest}))
        return
    print(f"landslide levels now, hourly cycles {str(times[0].astype('datetime64[s]'))}Z → "
          f"{str(times[-1].astype('datetime64[s]'))}Z; last hour with ≥ {args.wet} mm/h district-mean rain "
          f"ended {str(rain_end.astype('datetime64[s]'))}Z")
    print(f"{'town':<10} {'hours red':>9} {'red after rain':>15}")
    for town, row in rows.items():
        print(f"{town:<10} {row['red_h']:>9} {row['red_after_rain_h']:>15}")
    print(f"{'largest':<10} {largest['red_h']:>9} {largest['red_after_rain_h']:>15}"
          + ("" if rows else "   (no town reached red)"))


if __name__ == "__main__":
    main()
