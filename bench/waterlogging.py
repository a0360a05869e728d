"""Benchmark: urban-waterlogging score over many points (return-period screen + bucket + score).

Points × 72 hourly forecast steps, gamma rain (seeded, mean 2 mm/h with a storm block of
30–60 mm/h in hours 30–35 so the screen and the bucket do real work), all on the Yubei
formula. Times the return-period screen (:func:`warn.risk.waterlogging.rain_screen`: rolling 1/2/3-h
windows and the return period at each window end), the bucket (:func:`warn.risk.waterlogging.bucket`)
and the model's score (:func:`warn.risk.waterlogging.model_score` + :func:`warn.risk.levels.level_of`; no sensors), and
prints point-steps per second.

Run: ``python bench/waterlogging.py [--points 10000 100000] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import xarray as xr

from backends import best_of
from warn import hazards
from warn.modelfiles import load_model_file
from warn.risk import waterlogging
from warn.risk.levels import level_of

ROOT = Path(__file__).resolve().parents[1]
STEPS = 72


def make_rain(points: int, seed: int = 1) -> xr.DataArray:
    """Hourly rain (time, point), mm, contract attributes."""
    rng = np.random.default_rng(seed)
    rain = rng.gamma(0.5, 4.0, (STEPS, points))
    rain[30:36] += rng.uniform(30, 60, (6, points))
    times = np.datetime64("2026-07-15T00:00", "ns") + np.arange(1, STEPS + 1) * np.timedelta64(1, "h")
    return xr.DataArray(rain, dims=("time", "point"), coords={"time": times}, attrs={"units": "mm", "step": "PT1H"})



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    params = hazards.load_model("waterlogging", ROOT / "models" / "waterlogging.yaml").params()
    rain_params = load_model_file("rain", ROOT / "models" / "rain.yaml").params()

    print(f"flood score, {STEPS} hourly steps, best of {args.repeat}")
    print(f"{'points':>9} {'screen s':>9} {'bucket s':>9} {'score s':>8} {'total s':>8} {'point-steps/s':>14}")
    for n in args.points:
        rain = make_rain(n)
        rng = np.random.default_rng(2)
        points = params.points(["yubei"] * n, rng.uniform(0.4, 0.92, n))
        state = np.zeros(n)
        screen = waterlogging.rain_screen(rain, points, rain_params=rain_params, params=params)
        storage = waterlogging.bucket(rain, state, points, rain_params=rain_params, params=params)

        def score():
            s, _ = waterlogging.model_score(screen["x_rain"].values, storage["x_bucket"].values,
                                            known_point=points.known_point, bonus=params.known_point_bonus)
            return level_of(s, params.levels.boundaries)

        t_screen = best_of(lambda: waterlogging.rain_screen(rain, points, rain_params=rain_params, params=params),
                           args.repeat)
        t_bucket = best_of(lambda: waterlogging.bucket(rain, state, points, rain_params=rain_params, params=params),
                           args.repeat)
        t_score = best_of(score, args.repeat)
        total = t_screen + t_bucket + t_score
        print(f"{n:>9,} {t_screen:>9.3f} {t_bucket:>9.3f} {t_score:>8.3f} {total:>8.3f} {n * STEPS / total:>14,.0f}")


if __name__ == "__main__":
    main()
