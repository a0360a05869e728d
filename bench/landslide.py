"""Benchmark: Soil Water Index (three-tank model) over a Chongqing-sized 1-km grid.

82,000 land cells (Chongqing's ~82,400 km² at 1 km), 72 hourly forecast steps stepped at
10 min inside (432 substeps), gamma rain (seeded), from a spun-up state. Prints the wall
time for a numpy array by the compiled kernel (``method="numba"``, the default) and by the
numpy reference, and for a Dask-backed xarray DataArray chunked over cells (compiled), and
the peak memory (tracemalloc) of both numpy-array runs for 24, 72 and 240 steps beside the
size of their output, to show that memory grows only with the output.
(bench/kernels.py compares the two paths on one core at 1 M cells.)

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

METHODS = ("numba", "numpy")
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
    _, state = soil_water_index(make_rain(240, cells, seed=0), 1.0, params=tank)  # spin-up (and compile)
    rain = make_rain(72, cells)
    rain32 = rain.astype(np.float32)
    soil_water_index(rain32[:, :10].copy(), 1.0, state[:, :10].copy(), params=tank)  # compile for float32
    print(f"SWI, {cells:,} cells, 72 hourly steps at 10-min substeps (432)")

    for method in METHODS:
        seconds = best_of(lambda m=method: soil_water_index(rain, 1.0, state, params=tank, method=m), args.repeat)
        print(f"  {method} float64 rain        {seconds:6.3f} s")
        seconds = best_of(lambda m=method: soil_water_index(rain32, 1.0, state, params=tank, method=m), args.repeat)
        print(f"  {method} float32 rain        {seconds:6.3f} s  (computed in float64)")

    try:
        import dask
    except ImportError:
        print("  dask not installed: xarray/Dask timing skipped")
    else:
        da_state = xr.DataArray(state, dims=("tank", "cell"))
        few = xr.DataArray(rain[:, :16], dims=("time", "cell")).chunk(cell=8)
        dask.compute(*soil_water_index(few, 1.0, da_state[:, :16].chunk(cell=8), params=tank))  # compile for chunks
        for chunk in (cells // 2, cells // 8):
            da = xr.DataArray(rain, dims=("time", "cell")).chunk(cell=chunk)
            ds = da_state.chunk(cell=chunk)

            def run(da=da, ds=ds) -> None:
                swi, end = soil_water_index(da, 1.0, ds, params=tank)
                dask.compute(swi, end, scheduler="threads")

            seconds = best_of(run, args.repeat)
            print(f"  xarray+dask, chunks of {chunk:>6,} cells (threads) {seconds:6.3f} s")

    print("peak memory of the numpy-array runs (tracemalloc), beside their output (SWI float64):")
    for method in METHODS:
        for steps in (24, 72, 240):
            series = make_rain(steps, cells)
            tracemalloc.start()
            soil_water_index(series, 1.0, state, params=tank, method=method)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            output = steps * cells * 8
            print(f"  {method} {steps:4d} steps: peak {peak / 2**20:7.1f} MiB, output {output / 2**20:7.1f} MiB, "
                  f"beyond the output {(peak - output) / 2**20:5.1f} MiB")


if __name__ == "__main__":
    main()
