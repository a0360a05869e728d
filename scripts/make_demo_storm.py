"""Build the bundled demo forecast: a TRANSPLANTED ANALOGUE of a real US storm over Yubei.

This is not Chongqing rain, observed or forecast. It takes the real convective line
of 2019-06-10 over Alabama/Georgia in the NOAA/NSSL MRMS PrecipRate mosaics (public
domain; five frames 00:00–01:10 UTC), crops it, moves it onto Yubei District,
Chongqing, and advects it across the district from the south-west, so that the
warning chain has a realistic, very intense field to work on.

Method (all numbers are module constants below):

1. Read the five MRMS frames (instantaneous rain rate, mm/h; −3 "no coverage" → 0,
   there is none in the window) and crop the storm window.
2. Storm-relative frame: distances from the window centre in km, so the storm keeps
   its size although it moves 3° south; no rotation.
3. Every 5 minutes of the forecast the window centre is at ``CORE + V·(t − T_CROSS)``
   (a straight SW→NE track at ``SPEED_KMH``), the rate field is the MRMS frames
   interpolated in time, cycling forwards and backwards through the 70 min they span
   (a ping-pong loop), times a life-cycle envelope (growth, mature, decay), times
   ``SCALE``; the rate is sampled bilinearly onto the 0.01° Yubei grid.
4. Hourly depth = the sum of the twelve 5-minute rates × 5/60 h; the 10-minute truth
   (``demo/observed``) = the sum of each two of the same 5-minute depths, so the six
   10-minute depths of an hour add up to its hourly depth (to the files' 0.01 mm packing).
5. ``SCALE`` is stated in the file and in demo/PROVENANCE.md: unscaled, the moving
   storm leaves at most about 57 mm in 3 h at a single cell; the rates are multiplied
   by 2.5 so that the worst cells of several towns exceed 100 mm in 3 h (the CMA red
   rainstorm criterion), as Chongqing's worst urban storms do, while towns off the
   track stay below any signal. The track runs along the line's own axis
   (towards 62°), so cells train over the same places, as in Chongqing's
   south-west-to-north-east rainstorm belts.

Usage::

    python scripts/make_demo_storm.py [DATA_DIR] [OUT_DIR] [TRUTH_DIR]

DATA_DIR defaults to ``../shared/data``; OUT_DIR to ``demo/forecast`` (the hourly storm);
TRUTH_DIR to ``demo/observed`` (the same storm every 10 minutes: what "really" fell, which
the demo world's rain gauges and radar frames report).
"""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

import eccodes
import numpy as np
import xarray as xr
from scipy import ndimage

FRAMES = ("000000", "002000", "004000", "010000", "011000")
FRAME_MINUTES = np.array([0.0, 20.0, 40.0, 60.0, 70.0])
#: Storm window in the MRMS grid (cell centres, degrees; longitudes 0–360): the core of the AL/GA line,
#: about 78 × 65 km, smaller than the district's length so that the storm's edges spare some towns.
WINDOW = {"north": 33.45, "south": 32.75, "west": 273.35, "east": 274.05}
#: Output grid: Yubei District (lon 106.44–106.99, lat 29.57–30.13) plus a margin, 0.01°.
LON = np.round(np.arange(106.30, 107.135, 0.01), 2)
LAT = np.round(np.arange(29.45, 30.255, 0.01), 2)
#: Urban core the window centre crosses (lon, lat) and when (hours after issue).
CORE = (106.60, 29.72)
T_CROSS_H = 6.5
#: Storm motion: speed and direction the storm moves TOWARDS (degrees clockwise from north).
SPEED_KMH = 12.0
HEADING_DEG = 62.0
#: Life cycle (hours after issue): growth from T_START, mature T_MATURE..T_DECAY, gone at T_END.
T_START_H, T_MATURE_H, T_DECAY_H, T_END_H = 2.0, 4.5, 9.0, 11.0
#: Intensity scale applied to the MRMS rates (see the module docstring).
SCALE = 2.5
ISSUED = datetime(2026, 7, 15, 0, tzinfo=timezone.utc)
STEPS = 24
SUBSTEPS = 12
#: 5-minute substeps per step of the 10-minute truth.
TRUTH_SUBSTEPS = 2
KM_PER_DEG_LAT = 110.57


def read_frames(data: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MRMS rates (frame, lat, lon) in mm/h over ``WINDOW``, latitudes ascending, and the coordinates."""
    frames = []
    for frame in FRAMES:
        path = data / "rainfall" / "mrms-2019-06-10" / f"PrecipRate_00.00_20190610-{frame}.grib2"
        with open(path, "rb") as handle:
            gid = eccodes.codes_grib_new_from_file(handle)
        ni, nj = eccodes.codes_get(gid, "Ni"), eccodes.codes_get(gid, "Nj")
        lat0 = eccodes.codes_get(gid, "latitudeOfFirstGridPointInDegrees")
        lon0 = eccodes.codes_get(gid, "longitudeOfFirstGridPointInDegrees")
        step = eccodes.codes_get(gid, "iDirectionIncrementInDegrees")
        values = eccodes.codes_get_values(gid).reshape(nj, ni)
        eccodes.codes_release(gid)
        r0, r1 = round((lat0 - WINDOW["north"]) / step), round((lat0 - WINDOW["south"]) / step) + 1
        c0, c1 = round((WINDOW["west"] - lon0) / step), round((WINDOW["east"] - lon0) / step) + 1
        frames.append(np.where(values[r0:r1, c0:c1] < 0, 0.0, values[r0:r1, c0:c1])[::-1])
    lat = lat0 - step * np.arange(r0, r1)[::-1]
    lon = lon0 + step * np.arange(c0, c1)
    return np.stack(frames), lat, lon


def rate_at(frames: np.ndarray, minute: float) -> np.ndarray:
    """The MRMS field at storm time ``minute``: ping-pong through the frames, linear in between."""
    span = FRAME_MINUTES[-1]
    tau = minute % (2 * span)
    tau = tau if tau <= span else 2 * span - tau
    k = int(np.clip(np.searchsorted(FRAME_MINUTES, tau, side="right") - 1, 0, len(FRAMES) - 2))
    w = (tau - FRAME_MINUTES[k]) / (FRAME_MINUTES[k + 1] - FRAME_MINUTES[k])
    return (1 - w) * frames[k] + w * frames[k + 1]


def envelope(hours: float) -> float:
    """Life-cycle factor 0–1 at ``hours`` after issue (cosine ramps)."""
    if hours <= T_START_H or hours >= T_END_H:
        return 0.0
    if hours < T_MATURE_H:
        return 0.5 - 0.5 * np.cos(np.pi * (hours - T_START_H) / (T_MATURE_H - T_START_H))
    if hours > T_DECAY_H:
        return 0.5 + 0.5 * np.cos(np.pi * (hours - T_DECAY_H) / (T_END_H - T_DECAY_H))
    return 1.0


def transplant(frames: np.ndarray, src_lat: np.ndarray, src_lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hourly depths and 10-minute depths (time, lat, lon) in mm on the Yubei grid, from the same 5-minute depths."""
    km_lon_dst = 111.32 * np.cos(np.radians(CORE[1]))
    src_clat, src_clon = src_lat.mean(), src_lon.mean()
    km_lon_src = 111.32 * np.cos(np.radians(src_clat))
    heading = np.radians(HEADING_DEG)
    vx, vy = SPEED_KMH * np.sin(heading), SPEED_KMH * np.cos(heading)  # km/h east, north
    lon2d, lat2d = np.meshgrid(LON, LAT)
    depth = np.zeros((STEPS, LAT.size, LON.size))
    truth = np.zeros((STEPS * SUBSTEPS // TRUTH_SUBSTEPS, LAT.size, LON.size))
    for hour in range(STEPS):
        for sub in range(SUBSTEPS):
            minutes = hour * 60 + (sub + 1) * 60 / SUBSTEPS
            hours = minutes / 60
            factor = SCALE * envelope(hours)
            if factor == 0:
                continue
            # window centre position (km from the core), then each output cell in storm-relative km
            cx, cy = vx * (hours - T_CROSS_H), vy * (hours - T_CROSS_H)
            dx = (lon2d - CORE[0]) * km_lon_dst - cx
            dy = (lat2d - CORE[1]) * KM_PER_DEG_LAT - cy
            rows = (src_clat + dy / KM_PER_DEG_LAT - src_lat[0]) / (src_lat[1] - src_lat[0])
            cols = (src_clon + dx / km_lon_src - src_lon[0]) / (src_lon[1] - src_lon[0])
            rate = ndimage.map_coordinates(rate_at(frames, minutes), [rows, cols], order=1, cval=0.0)
            five = factor * rate * (1 / SUBSTEPS)
            depth[hour] += five
            truth[(hour * SUBSTEPS + sub) // TRUTH_SUBSTEPS] += five
    return depth, truth


def to_dataset(depth: np.ndarray, *, step_minutes: int = 60) -> xr.Dataset:
    """The CF-1.8 file's content: the hourly forecast file, or (``step_minutes=10``) the 10-minute truth."""
    issued = np.datetime64(ISSUED.replace(tzinfo=None), "ns")
    step = np.timedelta64(step_minutes, "m")
    ends = issued + np.arange(1, depth.shape[0] + 1) * step
    bounds = np.stack([ends - step, ends], axis=1)
    what = "hourly" if step_minutes == 60 else f"{step_minutes}-minute"
    since = "issued" if step_minutes == 60 else "from"
    role = "forecast" if step_minutes == 60 else f"truth ({what})"
    purpose = ("forecast" if step_minutes == 60 else
               "'truth' (what really fell in the demo world: its synthetic rain gauges and radar frames report it)")
    rain = xr.Variable(("time", "lat", "lon"), depth.astype(np.float32), {
        "standard_name": "lwe_thickness_of_precipitation_amount",
        "long_name": f"{what} rain depth (TRANSPLANTED ANALOGUE of NOAA/NSSL MRMS 2019-06-10, not Chongqing data)",
        "units": "mm",
        "cell_methods": "time: sum",
        "grid_mapping": "crs",
    })
    reference = {"forecast_reference_time": ((), issued, {"standard_name": "forecast_reference_time"})}
    ds = xr.Dataset(
        {
            "rain": rain,
            "time_bnds": (("time", "nv"), bounds),
            **(reference if step_minutes == 60 else {}),
            "crs": ((), np.int32(0), {"grid_mapping_name": "latitude_longitude", "semi_major_axis": 6378137.0,
                                      "inverse_flattening": 298.257223563, "crs_wkt": "EPSG:4326"}),
        },
        coords={
            "time": ("time", ends, {"standard_name": "time", "long_name": f"end of the {what} interval",
                                    "axis": "T", "bounds": "time_bnds"}),
            "lat": ("lat", LAT, {"standard_name": "latitude", "units": "degrees_north", "axis": "Y"}),
            "lon": ("lon", LON, {"standard_name": "longitude", "units": "degrees_east", "axis": "X"}),
        },
    )
    ds.attrs = {
        "Conventions": "CF-1.8",
        "title": f"Yubei demo {role}: TRANSPLANTED ANALOGUE of a US storm (NOAA/NSSL MRMS 2019-06-10), not Chongqing rain",
        "summary": (
            f"Synthetic 24-hour {what} rain {purpose} for the warn demo over Yubei District, Chongqing, {since} "
            f"{ISSUED:%Y-%m-%dT%H:%MZ}. The rain field is the real convective line over Alabama/Georgia in the "
            "NOAA/NSSL MRMS PrecipRate mosaics of 2019-06-10 00:00-01:10 UTC, moved onto Yubei and advected "
            f"from the south-west at {SPEED_KMH:g} km/h towards {HEADING_DEG:g} degrees, with a life-cycle "
            f"envelope and intensities scaled by {SCALE:g}."
        ),
        "source": "NOAA/NSSL Multi-Radar Multi-Sensor (MRMS) PrecipRate, 2019-06-10 00:00, 00:20, 00:40, 01:00, "
                  "01:10 UTC (U.S. Government work, public domain), via pySTEPS/pysteps-data "
                  "eaa59fb8f39205a3b1a0b44724ad8cd4a86d107e",
        "history": f"scripts/make_demo_storm.py (warn): crop lat {WINDOW['south']}-{WINDOW['north']} N, lon "
                   f"{360 - WINDOW['west']:.2f}-{360 - WINDOW['east']:.2f} W; transplant window centre to {CORE}; "
                   f"advect {SPEED_KMH:g} km/h towards {HEADING_DEG:g} deg, crossing at +{T_CROSS_H:g} h; "
                   f"ping-pong time loop over the 5 frames; envelope {T_START_H:g}/{T_MATURE_H:g}/{T_DECAY_H:g}/"
                   f"{T_END_H:g} h; intensity x{SCALE:g}; 5-min rates summed to {what} depths",
        "comment": "TRANSPLANTED ANALOGUE for demonstrations and drills only: a US storm moved onto Chongqing, with "
                   f"intensities multiplied by {SCALE:g}. It is neither an observation nor a forecast of rain in "
                   "Chongqing. See demo/PROVENANCE.md.",
        "institution": "warn project (demo data)",
        "license": "Derived from public-domain NOAA data; the derivation is Apache-2.0 with the warn project",
    }
    return ds


def main(data: Path, out: Path, truth_out: Path) -> tuple[Path, Path]:
    frames, src_lat, src_lon = read_frames(data)
    depth, truth = transplant(frames, src_lat, src_lon)
    written = []
    for folder, name, values, minutes in ((out, f"yubei-demo-analogue_{ISSUED:%Y%m%d%H}.nc", depth, 60),
                                          (truth_out, "yubei-demo-analogue_truth_10min.nc", truth, 10)):
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / name
        units = f"{'hours' if minutes == 60 else 'minutes'} since {ISSUED:%Y-%m-%d %H:%M:%S}"
        encoding = {
            "rain": {"zlib": True, "complevel": 5, "least_significant_digit": 2, "_FillValue": np.float32(np.nan)},
            "time": {"units": units, "calendar": "standard", "dtype": "int32"},
            "time_bnds": {"units": units, "calendar": "standard", "dtype": "int32"},
            "lat": {"_FillValue": None}, "lon": {"_FillValue": None},
        }
        if minutes == 60:
            encoding["forecast_reference_time"] = {"units": units, "dtype": "int32"}
        to_dataset(values, step_minutes=minutes).to_netcdf(target, engine="netcdf4", encoding=encoding)
        print(f"{target}: {target.stat().st_size} bytes, max per step {values.max():.1f} mm")
        written.append(target)
    return written[0], written[1]


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data"),
         Path(sys.argv[2] if len(sys.argv) > 2 else "demo/forecast"),
         Path(sys.argv[3] if len(sys.argv) > 3 else "demo/observed"))
