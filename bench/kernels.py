"""Benchmark: the compiled kernels (numba) against the numpy reference, side by side, on one core.

1,000,000 cells × 72 hourly steps by default (``--cells``), gamma rain (seeded, mean 2 mm/h,
NaN in 0.1 % of the values), storages drawn uniformly (S1 0–80, S2 0–60, S3 0–150 mm; the
timing does not depend on a spin-up). For each kernel — the soil-water tanks
(:func:`warn.risk.landslide.soil_water_index`, 432 substeps of 10 min), the waterlogging
bucket (:func:`warn.risk.waterlogging.bucket_storage`), the flash-flood rolling rain over
1/3/6 h (:func:`warn.risk.flashflood.rolling_rain`), the effective rainfall
(:func:`warn.risk.landslide.effective_rainfall`) and the landslide trigger score against the
model file's thresholds (:func:`warn.risk.landslide.trigger_score`; SWI 25× and effective rain
12× the hour's rain) — it times the public function with
``method="numpy"`` (today's path, whole arrays, not chunked) and ``method="numba"``,
alternating the two so load on the shared machine falls on both, and prints the median of
``--repeat`` runs of each, their ratio, and the largest difference of the results (mm).

Beside them, timed in the same loop, the memory floor: reading the kernel's (time, cells) inputs
once and writing its results once into fresh memory (``numpy.empty(...).fill``), the least any
implementation that returns new arrays can take; ``numpy / floor`` is then the largest ratio that
memory allows. A kernel with little arithmetic per value (the bucket, the effective rainfall)
is bound by it, whatever the compiler.

One thread: the BLAS/OpenMP pools and numba's are set to 1 before numpy and numba are
imported. The first compiled call of each kernel (compiling, or loading from numba's disk
cache) is made on a small slice before the timing and printed as ``first call``.

Run: ``python bench/kernels.py [--cells 1000000] [--steps 72] [--repeat 3] [--kernel tanks ...]``
(``--kernel``: tanks, bucket, rolling, effective, trigger; all by default).
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_name] = "1"

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from warn import hazards  # noqa: E402
from warn.risk.flashflood import rolling_rain  # noqa: E402
from warn.risk.landslide import effective_rainfall, soil_water_index, trigger_score  # noqa: E402
from warn.risk.waterlogging import bucket_storage  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
#: The kernels by their ``--kernel`` name, as the output names them.
LABELS = {"tanks": "soil-water tanks", "bucket": "waterlogging bucket", "rolling": "flash-flood rolling rain",
          "effective": "effective rainfall", "trigger": "landslide trigger score"}


def make_inputs(steps: int, cells: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Hourly rain (steps, cells), mm, and tank storages (3, cells), mm."""
    rng = np.random.default_rng(seed)
    rain = rng.gamma(0.5, 4.0, (steps, cells))
    rain[rng.random((steps, cells)) < 0.001] = np.nan
    state = rng.uniform(0.0, 1.0, (3, cells)) * np.array([[80.0], [60.0], [150.0]])
    return rain, state


def seconds(fn: Callable[[], object]) -> float:
    """Wall time of one call, s."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def memory_traffic(inputs: list[np.ndarray], results: object) -> None:
    """Read every input once and write arrays of the results' shapes and types into fresh memory once."""
    for x in inputs:
        np.add.reduce(x, axis=None)
    for y in results if isinstance(results, tuple) else (results,):
        np.empty(y.shape, y.dtype).fill(0)


def largest_difference(a: object, b: object) -> float:
    """Largest |a − b| over the finite values of the (tuples of) arrays, mm; inf if NaN differ in place."""
    pairs = zip(a, b, strict=True) if isinstance(a, tuple) else [(a, b)]
    worst = 0.0
    for x, y in pairs:
        if not np.array_equal(np.isnan(x), np.isnan(y)):
            return float("inf")
        finite = np.isfinite(x)
        worst = max(worst, float(np.max(np.abs(x[finite] - y[finite]), initial=0.0)))
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=1_000_000)
    parser.add_argument("--steps", type=int, default=72)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--kernel", action="append", choices=list(LABELS), help="kernels to time (default: all)")
    args = parser.parse_args()
    landslide = hazards.load_model("landslide", ROOT / "models" / "landslide.yaml").params()
    tank = landslide.tank
    rain, state = make_inputs(args.steps, args.cells)
    runoff = np.random.default_rng(2).uniform(0.15, 0.9, args.cells)
    capacity = np.full(args.cells, 86.6)
    cases: dict[str, Callable[[str, list[np.ndarray]], object]] = {
        "tanks": lambda m, a: soil_water_index(a[0], 1.0, a[1], params=tank, method=m),
        "bucket": lambda m, a: bucket_storage(a[0], 0.0, runoff_coefficient=a[2], capacity_mm=a[3], method=m),
        "rolling": lambda m, a: rolling_rain(a[0], (1, 3, 6), method=m),
        "effective": lambda m, a: effective_rainfall(a[0], half_life_h=12.0, method=m),
        "trigger": lambda m, a: trigger_score(a[4], a[0], a[5], thresholds=landslide.trigger, method=m),
    }
    # SWI and effective rainfall of the scale of the thresholds (the trigger score's inputs besides the hour's rain)
    everything = [rain, state, runoff, capacity, rain * 25.0, rain * 12.0]
    series = {"tanks": (0,), "bucket": (0,), "rolling": (0,), "effective": (0,), "trigger": (4, 0, 5)}  # (time, cells)
    few = [np.ascontiguousarray(x[..., :10]) for x in everything]  # same layouts: the same compiled code
    print(f"kernels, {args.cells:,} cells × {args.steps} hourly steps, one thread, median of {args.repeat} "
          f"(numpy = today's path, whole arrays)")
    print(f"{'kernel':<26} {'first call s':>12} {'numpy s':>9} {'numba s':>9} {'ratio':>7} {'max |Δ| mm':>11} "
          f"{'floor s':>8} {'numpy / floor':>13}")
    for name in args.kernel or LABELS:
        run = cases[name]
        first = seconds(lambda run=run: run("numba", few))
        results = run("numba", everything)
        inputs = [everything[i] for i in series[name]]
        timings: dict[str, list[float]] = {"numpy": [], "numba": [], "floor": []}
        for _ in range(args.repeat):
            for method in ("numpy", "numba"):
                timings[method].append(seconds(lambda run=run, method=method: run(method, everything)))
            timings["floor"].append(seconds(lambda inputs=inputs, results=results: memory_traffic(inputs, results)))
        difference = largest_difference(results, run("numpy", everything))
        numpy_s, numba_s, floor_s = (statistics.median(timings[m]) for m in ("numpy", "numba", "floor"))
        print(f"{LABELS[name]:<26} {first:>12.3f} {numpy_s:>9.3f} {numba_s:>9.3f} {numpy_s / numba_s:>6.1f}× "
              f"{difference:>11.1e} {floor_s:>8.3f} {numpy_s / floor_s:>12.1f}×")


if __name__ == "__main__":
    main()
