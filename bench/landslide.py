"""Benchmark: Soil Water Index (three-tank model) over a Chongqing-sized 1-km grid.

82,000 land cells (Chongqing's ~82,400 km² at 1 km), 72 hourly forecast steps stepped at
10 min inside (432 substeps), gamma rain (seeded), from a spun-up state. Prints the wall
time for a numpy array and for a Dask-backed xarray DataArray chunked over cells, and the
peak memory (tracemalloc) of the numpy run for 24, 72 and 240 steps beside the size of
its output, to show that memory grows only with the output.

Run: ``python bench/landslide.py [--cells 82000] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import tracemalloc
from pathlib import Path

import numpy as np
import xarray as xr

from backends import best_of
from warn import hazards
from warn.risk.landslide import soil_water_index

MODEL_FILE = Path(__file__).resolve().parents[1] / "models" / "landslide.yaml"


def make_rain(steps: int, cells: int, seed: int = 1) -> np.ndarray:
    """Hourly rain (steps, cells), mm: gamma(0.5, 4), mean 2 mm/h."""
    return np.random.default_rng(seed).gamma(0.5, 4.0, (steps, cells))



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=82_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    tank = hazards.load_model("landslide", MODEL_FILE).params().tank
    cells = args.cells
    _, state = soil_water_index(make_rain(240, cells, seed=0), 1.0, params=tank)  # spin-up
    rain = make_rain(72, cells)
    print(f"SWI, {cells:,} cells, 72 hourly steps at 10-min substeps (432)")

    seconds = best_of(lambda: soil_water_index(rain, 1.0, state, params=tank), args.repeat)
    print(f"  numpy float64 rain        {seconds:6.3f} s")
    rain32 = rain.astype(np.float32)
    seconds = best_of(lambda: soil_water_index(rain32, 1.0, state, params=tank), args.repeat)
    print(f"  numpy float32 rain        {seconds:6.3f} s  (computed in float64)")

    try:
        import dask
    except ImportError:
        print("  dask not installed: xarray/Dask timing skipped")
    else:
        da_state = xr.DataArray(state, dims=("tank", "cell"))
        for chunk in (cells // 2, cells // 8):
            da = xr.DataArray(rain, dims=("time", "cell")).chunk(cell=chunk)
            ds = da_state.chunk(cell=chunk)

            def run(da=da, ds=ds) -> None:
                swi, end = soil_water_index(da, 1.0, ds, params=tank)
                dask.compute(swi, end, scheduler="threads")

            seconds = best_of(run, args.repeat)
            print(f"  xarray+dask, chunks of {chunk:>6,} cells (threads) {seconds:6.3f} s")

    print("peak memory of the numpy run (tracemalloc), beside its output (SWI float64):")
    for steps in (24, 72, 240):
        series = make_rain(steps, cells)
        tracemalloc.start()
        soil_water_index(series, 1.0, state, params=tank)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        output = steps * cells * 8
        print(f"  {steps:4d} steps: peak {peak / 2**20:7.1f} MiB, output {output / 2**20:7.1f} MiB, "
              f"beyond the output {(peak - output) / 2**20:5.1f} MiB")


if __name__ == "__main__":
    main()
