"""Crop NOAA/NSSL MRMS PrecipRate frames to a small window for the test fixtures.

Reads full CONUS frames (3500 × 7000, 0.01°) and writes, for each, a new GRIB2 file
holding the same message cropped to a window: the message is cloned with eccodes,
its grid set to the sub-window and its values replaced, so the MRMS local-table
parameter (discipline 209, category 6, number 1), the packing and all other
metadata stay as in the original. Each cropped file is then decoded again and
compared with the same window of the original.

Usage::

    python scripts/make_mrms_fixtures.py [DATA_DIR] [OUT_DIR]

DATA_DIR defaults to ``../shared/data`` (the files are under
``rainfall/mrms-2019-06-10``); OUT_DIR to ``tests/data``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import eccodes
import numpy as np

#: name → (frames, (north, south, west, east) cell centres in degrees, longitudes 0–360).
WINDOWS = {
    # the Alabama/Georgia storm core (33.1 N 86.3 W), 29 × 29 cells
    "core": (("000000", "002000"), (33.245, 32.965, 273.555, 273.835)),
    # rain at the edge of radar coverage (50.1 N 66.7 W): −3 "no coverage" beside rain, 21 × 21 cells
    "edge": (("000000",), (50.215, 50.015, 293.155, 293.355)),
    # the same storm with room to move, three frames 20 min apart (the nowcast's tests), 128 × 128 cells
    "wide": (("000000", "002000", "004000"), (33.745, 32.475, 273.065, 274.335)),
}


def read(path: Path) -> tuple[int, np.ndarray]:
    """The first message of ``path`` and its values as (Nj, Ni), north row first."""
    with open(path, "rb") as handle:
        gid = eccodes.codes_grib_new_from_file(handle)
    ni, nj = eccodes.codes_get(gid, "Ni"), eccodes.codes_get(gid, "Nj")
    return gid, eccodes.codes_get_values(gid).reshape(nj, ni)


def window(gid: int, box: tuple[float, float, float, float]) -> tuple[slice, slice]:
    """Row and column slices of ``box`` (north, south, west, east) in the full grid."""
    north, south, west, east = box
    lat0 = eccodes.codes_get(gid, "latitudeOfFirstGridPointInDegrees")
    lon0 = eccodes.codes_get(gid, "longitudeOfFirstGridPointInDegrees")
    d = eccodes.codes_get(gid, "iDirectionIncrementInDegrees")
    r0, r1 = round((lat0 - north) / d), round((lat0 - south) / d) + 1
    c0, c1 = round((west - lon0) / d), round((east - lon0) / d) + 1
    return slice(r0, r1), slice(c0, c1)


def crop(source: Path, target: Path, box: tuple[float, float, float, float]) -> None:
    """Write the message of ``source`` cropped to ``box`` to ``target`` and verify it."""
    north, south, west, east = box
    gid, values = read(source)
    rows, cols = window(gid, box)
    sub = values[rows, cols]
    clone = eccodes.codes_clone(gid)
    eccodes.codes_set(clone, "Ni", sub.shape[1])
    eccodes.codes_set(clone, "Nj", sub.shape[0])
    eccodes.codes_set(clone, "latitudeOfFirstGridPoint", round(north * 1e6))
    eccodes.codes_set(clone, "longitudeOfFirstGridPoint", round(west * 1e6))
    eccodes.codes_set(clone, "latitudeOfLastGridPoint", round(south * 1e6))
    eccodes.codes_set(clone, "longitudeOfLastGridPoint", round(east * 1e6))
    eccodes.codes_set_values(clone, sub.ravel())
    with open(target, "wb") as handle:
        eccodes.codes_write(clone, handle)
    eccodes.codes_release(clone)
    eccodes.codes_release(gid)
    check, got = read(target)
    code = tuple(eccodes.codes_get(check, k) for k in ("discipline", "parameterCategory", "parameterNumber"))
    eccodes.codes_release(check)
    if code != (209, 6, 1) or got.shape != sub.shape or not np.allclose(got, sub, atol=0.05):
        raise SystemExit(f"{target}: cropped message does not decode to the window of {source}")
    print(f"{target}: {sub.shape[0]}×{sub.shape[1]}, max {got.max():.1f} mm/h, {int((got == -3).sum())} cells −3, "
          f"max |diff| {np.abs(got - sub).max():.3g} mm/h, {target.stat().st_size} bytes")


def main(data: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for label, (frames, box) in WINDOWS.items():
        for frame in frames:
            name = f"PrecipRate_00.00_20190610-{frame}.grib2"
            target = out / f"mrms_preciprate_20190610-{frame}_{label}.grib2"
            crop(data / "rainfall" / "mrms-2019-06-10" / name, target, box)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data"), Path(sys.argv[2] if len(sys.argv) > 2 else "tests/data"))
