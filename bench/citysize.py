"""A synthetic city-sized deployment for the cycle benchmark (bench/cycle.py).

Chongqing's extent (105.3–110.2 E, 28.2–32.2 N) on a 0.01° (~1 km) grid, ``zones`` town-like
zones (a Voronoi tiling of jittered seeds, clipped to the extent), ``hazard`` landslide /
dangerous-rock points, ``sensors`` water-level sensors (one per waterlogging point; one in a
hundred of them are river-stage sensors at river gauges instead), the sensor catalogue, and
hourly forecast runs of a synthetic storm (three rain blobs moving south-west → north-east over
a stratiform background) written as NetCDF with the structure and attributes of the demo run.
Every layer carries the attributes the landslide and flood scorers read (the columns of
geodata/yubei.gpkg, scripts/make_geodata.py). The values are synthetic, not Chongqing's.

Everything is written into one folder with its own config.yaml (models/ and playbooks/ of the
repository by absolute path), cached under the temp dir keyed by the parameters.
"""

from __future__ import annotations

import csv
import json
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import xarray as xr
import yaml

ROOT = Path(__file__).resolve().parents[1]
WGS84 = "EPSG:4326"
WEST, EAST, SOUTH, NORTH = 105.3, 110.2, 28.2, 32.2
RES = 0.01
ISSUED = datetime(2026, 7, 15, tzinfo=UTC)
SOURCE = "city"
PREFIX = "cq-synthetic"
VERSION = 3  # bump when the generator changes: the cache key includes it


@dataclass(frozen=True)
class CityParams:
    zones: int = 10_000
    sensors: int = 2_000
    hazard: int = 2_000
    hours: int = 12  # hourly runs (cycles) to write, each 24 h long
    seed: int = 8

    def key(self) -> str:
        return (f"v{VERSION}-z{self.zones}-s{self.sensors}-h{self.hazard}-r{self.hours}-seed{self.seed}")


@dataclass(frozen=True)
class Deployment:
    folder: Path
    config: dict  # config.yaml as a dict; the store URL and cache_dir are filled in per run
    runs: dict[int, Path]  # hour → staged run file (served once released)
    template: str  # run file name template, {issued:%Y%m%d%H}
    source: str
    generation_s: float
    cached: bool


def run_name(template: str, issued: datetime) -> str:
    return template.format(issued=issued)


def repo_config() -> dict:
    """The committed demo config.yaml with its paths absolute (as tests/conftest.py does)."""
    data = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    for spec in data["layers"].values():
        spec["path"] = str(ROOT / spec["path"])
    data["models"] = {name: str(ROOT / path) for name, path in data["models"].items()}
    for entry in data["hazards"].values():
        if "model" in entry:
            entry["model"] = str(ROOT / entry["model"])
    data["sensors"]["catalogue"] = str(ROOT / data["sensors"]["catalogue"])
    data["sim"]["feed_dir"] = str(ROOT / data["sim"]["feed_dir"])
    data["command"]["playbooks"] = str(ROOT / data["command"]["playbooks"])
    data["command"]["roster"] = str(ROOT / data["command"]["roster"])
    if "directory" in data["command"]:
        data["command"]["directory"] = str(ROOT / data["command"]["directory"])
    return data


def city(params: CityParams, cache_root: Path | None = None) -> Deployment:
    """The deployment of ``params``, generated into the cache unless it is there already."""
    cache_root = cache_root or Path(tempfile.gettempdir()) / "warn-bench-cycle"
    folder = cache_root / params.key()
    done = folder / "DONE.json"
    template = PREFIX + "_{issued:%Y%m%d%H}.nc"
    if done.exists():
        meta = json.loads(done.read_text())
        return Deployment(folder, yaml.safe_load((folder / "config.yaml").read_text(encoding="utf-8")),
                          {int(h): folder / "runs" / p for h, p in meta["runs"].items()}, template, SOURCE,
                          meta["generation_s"], cached=True)
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "runs").mkdir(parents=True)
    start = time.perf_counter()
    rng = np.random.default_rng(params.seed)
    lat = np.round(np.arange(SOUTH, NORTH + RES / 2, RES), 4)
    lon = np.round(np.arange(WEST, EAST + RES / 2, RES), 4)
    layers = make_layers(params, rng)
    gpkg = folder / "city.gpkg"
    for name, layer in layers.items():
        layer.to_file(gpkg, layer=name, driver="GPKG", engine="pyogrio")
    write_catalogue(layers["waterlogging_points"], layers["river_gauges"], folder / "sensors.csv")
    storm = make_storm(lat, lon, params.hours + 24, rng)
    runs = {}
    for hour in range(params.hours):
        issued = ISSUED + timedelta(hours=hour)
        path = folder / "runs" / run_name(template, issued)
        write_run(storm[hour:hour + 24], lat, lon, issued, path)
        runs[hour] = path
    config = city_config(gpkg, folder / "sensors.csv", template)
    (folder / "config.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    seconds = time.perf_counter() - start
    done.write_text(json.dumps({"params": asdict(params), "generation_s": seconds,
                                "runs": {h: p.name for h, p in runs.items()}}))
    return Deployment(folder, config, runs, template, SOURCE, seconds, cached=False)


def city_config(gpkg: Path, catalogue: Path, template: str) -> dict:
    data = repo_config()
    data["deployment"]["name"] = "合成城市规模部署 synthetic city-sized deployment (bench)"
    data["layers"] = {
        "district": {"path": str(gpkg), "layer": "district"},
        "towns": {"path": str(gpkg), "layer": "towns", "town_field": "zone_id"},
        "hazard_points": {"path": str(gpkg), "layer": "hazard_points", "id_field": "point_id",
                          "town_field": "town_code", "people_field": "threatened_people"},
        "waterlogging_points": {"path": str(gpkg), "layer": "waterlogging_points", "id_field": "point_id",
                                "town_field": "town_code"},
        "river_gauges": {"path": str(gpkg), "layer": "river_gauges", "id_field": "point_id", "town_field": "town_code"},
    }
    data["forecasts"] = {SOURCE: {"url": "{feed}/" + template, "format": "auto", "run_every": "PT1H",
                                  "max_age": "PT24H", "timeout_s": 30, "retries": 1}}
    data["sensors"] = {"catalogue": str(catalogue), "feeds": {}}
    data.pop("sim", None)
    # the hazards whose layers the city has (no synthetic catchments: no 山洪 here)
    data["hazards"] = {name: entry for name, entry in data["hazards"].items()
                       if all(layer in data["layers"] for layer in entry.get("layers", {}).values())}
    return data


def make_layers(params: CityParams, rng: np.random.Generator) -> dict[str, gpd.GeoDataFrame]:
    box = shapely.box(WEST, SOUTH, EAST, NORTH)
    width, height = EAST - WEST, NORTH - SOUTH
    nx = int(np.ceil(np.sqrt(params.zones * width / height)))
    ny = int(np.ceil(params.zones / nx))
    dx, dy = width / nx, height / ny
    slots = rng.choice(nx * ny, params.zones, replace=False)
    ix, iy = slots % nx, slots // nx
    seeds_x = WEST + (ix + 0.5 + rng.uniform(-0.35, 0.35, params.zones)) * dx
    seeds_y = SOUTH + (iy + 0.5 + rng.uniform(-0.35, 0.35, params.zones)) * dy
    cells = shapely.voronoi_polygons(shapely.multipoints(np.column_stack([seeds_x, seeds_y])), extend_to=box,
                                     ordered=True)
    polygons = shapely.intersection(np.asarray(shapely.get_parts(cells)), box)
    n = len(polygons)
    numbers = [f"{i:05d}" for i in range(1, n + 1)]
    slope = rng.gamma(2.0, 6.0, n).round(2)
    towns = gpd.GeoDataFrame({
        "zone_id": [f"CQ-Z{k}" for k in numbers],
        "name": [f"合成镇街{k}" for k in numbers],
        "name_en": [f"Synthetic zone {k}" for k in numbers],
        "synthetic": True,
        "storm_formula": rng.choice(["yubei", "shapingba", "banan"], n),
        "area_km2": (shapely.area(polygons) * 111.0 * 96.0).round(3),
        "mean_slope_deg": slope,
        "susceptibility": np.clip(np.digitize(slope, [4, 8, 15, 25]) + 1, 1, 5),
    }, geometry=polygons, crs=WGS84)
    district = gpd.GeoDataFrame({"zone_id": ["500000"], "name": ["合成城市"], "name_en": ["Synthetic city"],
                                 "area_km2": [round(width * height * 111.0 * 96.0, 3)]},
                                geometry=[shapely.MultiPolygon([box])], crs=WGS84)

    def points(count: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
        x = rng.uniform(WEST + 0.005, EAST - 0.005, count)
        y = rng.uniform(SOUTH + 0.005, NORTH - 0.005, count)
        frame = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=WGS84)
        joined = frame.sjoin(towns[["zone_id", "geometry"]], how="left", predicate="within")
        joined = joined[~joined.index.duplicated()]
        return x, y, joined["zone_id"].fillna(towns["zone_id"].iloc[0]).tolist()

    nh = params.hazard
    x, y, town = points(nh)
    kind = rng.choice(["landslide", "dangerous_rock"], nh, p=[0.85, 0.15])
    rock = kind == "dangerous_rock"
    hnum = [f"{i:05d}" for i in range(1, nh + 1)]
    hazard = gpd.GeoDataFrame({
        "point_id": [f"CQ-H{k}" for k in hnum], "name": [f"合成隐患点{k}" for k in hnum],
        "name_en": [f"Synthetic hazard point {k}" for k in hnum], "type": kind,
        "susceptibility": rng.integers(1, 6, nh), "threatened_people": rng.integers(3, 300, nh),
        "slope_deg": rng.uniform(8.0, 45.0, nh).round(1), "elevation_m": rng.integers(200, 2000, nh),
        "town_code": town, "synthetic": True,
    }, geometry=gpd.points_from_xy(x, y), crs=WGS84)
    draws = {"block_weight_kn": 25.0 * rng.uniform(25.0, 110.0, nh), "plane_dip_deg": rng.uniform(30.0, 42.0, nh),
             "plane_length_m": rng.uniform(8.0, 18.0, nh), "cohesion_kpa": rng.uniform(35.0, 65.0, nh),
             "friction_deg": rng.uniform(26.0, 34.0, nh), "crack_depth_m": rng.uniform(3.0, 9.0, nh)}
    for column, values in draws.items():
        hazard[column] = np.where(rock, np.round(values, 1), np.nan)

    ng = max(1, params.sensors // 100)
    nw = params.sensors - ng
    x, y, town = points(nw)
    wnum = [f"{i:05d}" for i in range(1, nw + 1)]
    wkind = rng.choice(["street", "underpass", "sag"], nw, p=[0.5, 0.25, 0.25])
    core = rng.random(nw) < 0.6
    waterlogging = gpd.GeoDataFrame({
        "point_id": [f"CQ-W{k}" for k in wnum], "name": [f"合成积水点{k}" for k in wnum],
        "name_en": [f"Synthetic waterlogging point {k}" for k in wnum], "kind": wkind,
        "design_return_period_yr": np.where(core, 3, 2), "catchment_area_ha": rng.uniform(8.0, 60.0, nw).round(1),
        "impervious_fraction": np.where(core, rng.uniform(0.65, 0.92, nw), rng.uniform(0.40, 0.65, nw)).round(2),
        "ponding_area_fraction": np.where(wkind == "street", 0.10, 0.20),
        "sensor_id": [f"WL-CQ-W{k}" for k in wnum], "depth_blue_cm": 5, "depth_yellow_cm": 15, "depth_red_cm": 30,
        "storm_formula": rng.choice(["yubei", "shapingba", "banan"], nw), "elevation_m": rng.integers(150, 600, nw),
        "town_code": town, "synthetic": True,
    }, geometry=gpd.points_from_xy(x, y), crs=WGS84)
    x, y, town = points(ng)
    gnum = [f"{i:03d}" for i in range(1, ng + 1)]
    warning = np.round(rng.uniform(4.5, 5.5, ng), 1)
    gauges = gpd.GeoDataFrame({
        "point_id": [f"CQ-R{k}" for k in gnum], "name": [f"合成水文站{k}" for k in gnum],
        "name_en": [f"Synthetic river gauge {k}" for k in gnum], "sensor_id": [f"RS-CQ-R{k}" for k in gnum],
        "datum_m": rng.integers(150, 300, ng), "normal_stage_m": 1.5, "warning_stage_m": warning,
        "guaranteed_stage_m": np.round(warning + 1.5, 1), "town_code": town, "synthetic": True,
    }, geometry=gpd.points_from_xy(x, y), crs=WGS84)
    return {"district": district, "towns": towns, "hazard_points": hazard, "waterlogging_points": waterlogging,
            "river_gauges": gauges}


def write_catalogue(points: gpd.GeoDataFrame, gauges: gpd.GeoDataFrame, path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["sensor_id", "kind", "name", "lon", "lat", "interval", "point_id"])
        for kind, label, layer in (("water_level", "水位计", points), ("river_stage", "水位站", gauges)):
            for row in layer.itertuples():
                writer.writerow([row.sensor_id, kind, f"{row.name}{label}", f"{row.geometry.x:.6f}",
                                 f"{row.geometry.y:.6f}", "PT5M", row.point_id])


def make_storm(lat: np.ndarray, lon: np.ndarray, hours: int, rng: np.random.Generator) -> np.ndarray:
    """Hourly depths (hours, lat, lon), mm: 0.5 mm/h background, three Gaussian blobs moving
    south-west → north-east at ~0.12°/h with a rise and decay (peaks 35–55 mm/h, σ 0.25–0.4°)."""
    out = np.full((hours, lat.size, lon.size), 0.5, np.float32)
    yy, xx = np.meshgrid(lat, lon, indexing="ij")
    blobs = [(106.0, 28.9, 55.0, 0.30), (107.2, 29.3, 40.0, 0.40), (108.4, 30.2, 35.0, 0.25)]
    for x0, y0, peak, sigma in blobs:
        for t in range(hours):
            cx, cy = x0 + 0.12 * t, y0 + 0.08 * t
            envelope = np.sin(np.pi * min(t + 1, hours) / (hours + 1)) ** 0.5
            out[t] += (peak * envelope * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * sigma ** 2))).astype(
                np.float32)
    out *= rng.uniform(0.9, 1.1, out.shape[1:]).astype(np.float32)  # some texture, fixed in time
    return out


def write_run(depth: np.ndarray, lat: np.ndarray, lon: np.ndarray, issued: datetime, path: Path) -> None:
    """One run as NetCDF-CF, with the variables and attributes of demo/forecast/*.nc."""
    naive = np.datetime64(issued.replace(tzinfo=None), "ns")
    ends = naive + np.arange(1, depth.shape[0] + 1).astype("timedelta64[h]")
    bounds = np.stack([ends - np.timedelta64(1, "h"), ends], axis=1)
    rain = xr.DataArray(depth.astype(np.float32), dims=("time", "lat", "lon"), attrs={
        "standard_name": "lwe_thickness_of_precipitation_amount", "long_name": "hourly rain depth (SYNTHETIC bench storm)",
        "units": "mm", "cell_methods": "time: sum", "grid_mapping": "crs"})
    ds = xr.Dataset(
        {"rain": rain, "time_bnds": (("time", "nv"), bounds),
         "forecast_reference_time": ((), naive, {"standard_name": "forecast_reference_time"}),
         "crs": ((), np.int32(0), {"grid_mapping_name": "latitude_longitude", "semi_major_axis": 6378137.0,
                                   "inverse_flattening": 298.257223563, "crs_wkt": "EPSG:4326"})},
        coords={"time": ("time", ends, {"standard_name": "time", "long_name": "end of the hourly interval",
                                        "axis": "T", "bounds": "time_bnds"}),
                "lat": ("lat", lat, {"standard_name": "latitude", "units": "degrees_north", "axis": "Y"}),
                "lon": ("lon", lon, {"standard_name": "longitude", "units": "degrees_east", "axis": "X"})})
    ds.attrs = {"Conventions": "CF-1.8", "title": "SYNTHETIC city-sized bench forecast (not a forecast)",
                "summary": "Three Gaussian rain blobs moving SW→NE over Chongqing's extent, for bench/cycle.py",
                "source": "bench/citysize.py (synthetic)", "history": "bench/citysize.py", "institution": "warn bench",
                "comment": "SYNTHETIC: neither an observation nor a forecast.", "license": "Apache-2.0"}
    units = f"hours since {issued:%Y-%m-%d %H:%M:%S}"
    encoding = {"rain": {"zlib": True, "complevel": 5, "least_significant_digit": 2, "_FillValue": np.float32(np.nan)},
                "time": {"units": units, "calendar": "standard", "dtype": "int32"},
                "time_bnds": {"units": units, "calendar": "standard", "dtype": "int32"},
                "forecast_reference_time": {"units": units, "dtype": "int32"},
                "lat": {"_FillValue": None}, "lon": {"_FillValue": None}}
    ds.to_netcdf(path, engine="netcdf4", encoding=encoding)


def demo_runs(folder: Path, hours: int) -> tuple[dict[int, Path], str]:
    """The demo storm's hourly runs (as tests/cycle/test_warning_cycle.py slices them) written as files."""
    template = "yubei-demo-analogue_{issued:%Y%m%d%H}.nc"
    source = ROOT / "demo" / "forecast" / "yubei-demo-analogue_2026071500.nc"
    with xr.open_dataset(source) as ds:
        depth = ds["rain"].values
        lat, lon = ds["lat"].values, ds["lon"].values
        first = pd.Timestamp(ds["time"].values[0]).to_pydatetime().replace(tzinfo=UTC)
    runs = {}
    for hour in range(min(hours, depth.shape[0])):
        issued = first + timedelta(hours=hour - 1)
        path = folder / run_name(template, issued)
        write_run(depth[hour:hour + 24], lat, lon, issued, path)
        runs[hour] = path
    return runs, template
