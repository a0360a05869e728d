"""Zone layers: the bundled GeoPackage, one rejection test per rule, GCJ-02 on load, areas, hashes."""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import Point, Polygon, box

from warn.errors import ConfigError
from warn.geo.gcj02 import wgs84_geometry_to_gcj02
from warn.geo.layers import area_km2, equal_area_crs, layer_hash, load_circles, load_layer, load_records, point_circles

GPKG = Path(__file__).resolve().parents[2] / "geodata" / "yubei.gpkg"
#: layer → (id field, feature count or None)
BUNDLED = {
    "district": ("zone_id", 1),
    "towns": ("zone_id", 21),
    "grid": ("zone_id", None),
    "hazard_points": ("point_id", 60),
    "waterlogging_points": ("point_id", 25),
}
ID_PREFIX = {
    "district": "500112", "towns": "DEMO-T", "grid": "G-",
    "hazard_points": "DEMO-H", "waterlogging_points": "DEMO-W",
}


@pytest.fixture(scope="module")
def bundled() -> dict[str, gpd.GeoDataFrame]:
    return {name: load_layer(GPKG, name, id_field=field) for name, (field, _) in BUNDLED.items()}


def _towns(**kwargs: object) -> gpd.GeoDataFrame:
    data = {"zone_id": ["T1", "T2"], "name": ["甲", "乙"]}
    geometry = [box(106.5, 29.6, 106.6, 29.7), box(106.6, 29.6, 106.7, 29.7)]
    return gpd.GeoDataFrame(data, geometry=geometry, **kwargs)


def _message(excinfo: pytest.ExceptionInfo[ConfigError]) -> str:
    return str(excinfo.value)


# --- the bundled layers -------------------------------------------------------------


@pytest.mark.parametrize("name", list(BUNDLED))
def test_bundled_layer_loads_with_its_ids(bundled: dict[str, gpd.GeoDataFrame], name: str) -> None:
    field, count = BUNDLED[name]
    gdf = bundled[name]
    assert gdf.crs.to_epsg() == 4326
    if count is not None:
        assert len(gdf) == count
    assert gdf[field].is_unique
    assert gdf[field].str.startswith(ID_PREFIX[name]).all()


def test_district_is_yubei(bundled: dict[str, gpd.GeoDataFrame]) -> None:
    district = bundled["district"].iloc[0]
    assert (district["zone_id"], district["name"]) == ("500112", "渝北区")
    assert 1400 < area_km2(bundled["district"]).iloc[0] < 1500  # Yubei ≈ 1,452 km²


def test_towns_tile_the_district(bundled: dict[str, gpd.GeoDataFrame]) -> None:
    crs = equal_area_crs(bundled["district"])
    district = bundled["district"].to_crs(crs).geometry.iloc[0]
    towns = bundled["towns"].to_crs(crs).geometry.to_numpy()
    assert len(towns) == 21
    union = shapely.union_all(towns)
    assert union.area == pytest.approx(district.area, rel=1e-3)
    assert shapely.symmetric_difference(union, district).area < 1e-3 * district.area
    for a, b in combinations(towns, 2):
        assert shapely.intersection(a, b).area <= 1e-6 * district.area


def test_towns_are_marked_synthetic(bundled: dict[str, gpd.GeoDataFrame]) -> None:
    towns = bundled["towns"]
    assert towns["synthetic"].all()
    assert (towns["storm_formula"] == "yubei").all()
    assert towns["name"].str.startswith("演示镇街").all()


def test_grid_cells_belong_to_towns(bundled: dict[str, gpd.GeoDataFrame]) -> None:
    grid = bundled["grid"]
    assert 1400 < len(grid) < 1800
    assert set(grid["town_code"]) <= set(bundled["towns"]["zone_id"])
    assert area_km2(grid).max() < 1.01


@pytest.mark.parametrize(("name", "low", "high"), [("hazard_points", 50, 70), ("waterlogging_points", 20, 30)])
def test_points_lie_inside_the_district(
    bundled: dict[str, gpd.GeoDataFrame], name: str, low: int, high: int
) -> None:
    points = bundled[name]
    assert low <= len(points) <= high
    assert points.within(bundled["district"].geometry.iloc[0]).all()
    assert points["synthetic"].all()
    assert set(points["town_code"]) <= set(bundled["towns"]["zone_id"])


def test_hazard_points_attributes(bundled: dict[str, gpd.GeoDataFrame]) -> None:
    points = bundled["hazard_points"]
    assert set(points["type"]) <= {"landslide", "dangerous_rock", "collapse"}
    assert points["susceptibility"].between(1, 5).all()
    assert (points["threatened_people"] > 0).all()


def test_waterlogging_points_in_the_urban_south_west(bundled: dict[str, gpd.GeoDataFrame]) -> None:
    points = bundled["waterlogging_points"]
    assert points.geometry.x.between(106.44, 106.75).all()
    assert points.geometry.y.between(29.56, 29.85).all()
    assert set(points["design_return_period_yr"]) == {2, 3}
    assert points["impervious_fraction"].between(0, 1).all()
    assert set(points["ponding_area_fraction"]) <= {0.1, 0.2}
    assert (points["sensor_id"] == "WL-" + points["point_id"]).all()


# --- rejections: one test per rule, each naming file#layer, key and expectation ----


def test_rejects_a_file_without_crs(tmp_path: Path) -> None:
    path = tmp_path / "zones.gpkg"
    with pytest.warns(UserWarning, match="crs"):
        _towns().to_file(path, layer="towns")
    with pytest.raises(ConfigError) as excinfo:
        load_layer(path, "towns", id_field="zone_id")
    (problem,) = excinfo.value.problems
    assert (problem.where, problem.key, problem.got) == (f"{path}#towns", "crs", "none")
    assert f"{path}#towns: crs: expected a CRS stored in the file" in _message(excinfo)


def test_rejects_a_crs_other_than_the_declared_one(tmp_path: Path) -> None:
    path = tmp_path / "zones.gpkg"
    _towns(crs="EPSG:4326").to_crs("EPSG:32648").to_file(path, layer="towns")
    with pytest.raises(ConfigError) as excinfo:
        load_layer(path, "towns", id_field="zone_id")
    assert "#towns: crs: expected EPSG:4326 as declared" in _message(excinfo)
    assert "EPSG:32648" in _message(excinfo)
    projected = load_layer(path, "towns", crs="EPSG:32648", id_field="zone_id")
    assert projected.crs.to_epsg() == 4326
    assert projected.geometry.iloc[0].bounds == pytest.approx((106.5, 29.6, 106.6, 29.7), abs=1e-9)


def test_rejects_gcj02_declared_on_a_projected_file(tmp_path: Path) -> None:
    path = tmp_path / "zones.gpkg"
    _towns(crs="EPSG:4326").to_crs("EPSG:32648").to_file(path, layer="towns")
    with pytest.raises(ConfigError, match="#towns: crs: expected a geographic lon/lat CRS for GCJ-02"):
        load_layer(path, "towns", crs="gcj02", id_field="zone_id")


def test_rejects_an_unreadable_declared_crs(tmp_path: Path) -> None:
    path = tmp_path / "zones.gpkg"
    _towns(crs="EPSG:4326").to_file(path, layer="towns")
    with pytest.raises(ConfigError, match=r"#towns: crs: expected 'gcj02' or a CRS such as EPSG:4326, got 'EPSG:999999'"):
        load_layer(path, "towns", crs="EPSG:999999", id_field="zone_id")


def test_rejects_an_invalid_geometry_naming_the_feature(tmp_path: Path) -> None:
    path = tmp_path / "zones.gpkg"
    bowtie = Polygon([(106.5, 29.6), (106.6, 29.7), (106.6, 29.6), (106.5, 29.7)])
    gdf = _towns(crs="EPSG:4326")
    gdf.loc[1, "geometry"] = bowtie
    gdf.to_file(path, layer="towns")
    with pytest.raises(ConfigError) as excinfo:
        load_layer(path, "towns", id_field="zone_id")
    text = _message(excinfo)
    assert f"{path}#towns: geometry: expected a non-empty valid geometry" in text
    assert "zone_id='T2'" in text and "Self-intersection" in text
    assert "T1" not in text


def test_rejects_an_empty_geometry(tmp_path: Path) -> None:
    path = tmp_path / "zones.gpkg"
    gdf = _towns(crs="EPSG:4326")
    gdf.loc[0, "geometry"] = Polygon()
    gdf.to_file(path, layer="towns")
    with pytest.raises(ConfigError, match=r"#towns: geometry: expected a non-empty valid geometry, got zone_id='T1'"):
        load_layer(path, "towns", id_field="zone_id")


def test_records_are_the_attributes_read_once_per_version_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / "zones.gpkg"
    _towns(crs="EPSG:4326").to_file(path, layer="towns")
    first = load_records(path, "towns", id_field="zone_id")
    assert first == [{"zone_id": "T1", "name": "甲"}, {"zone_id": "T2", "name": "乙"}]
    first[0]["name"] = "changed by a caller"  # each call its own dicts
    assert load_records(path, "towns", id_field="zone_id")[0]["name"] == "甲"
    _towns(crs="EPSG:4326").assign(name=["丙", "丁"]).to_file(path, layer="towns", mode="w")  # a new version
    assert [r["name"] for r in load_records(path, "towns", id_field="zone_id")] == ["丙", "丁"]
    path.unlink()
    with pytest.raises(ConfigError, match="zones.gpkg"):
        load_records(path, "towns", id_field="zone_id")


def test_a_layers_points_are_buffered_at_once_each_in_its_own_utm_zone() -> None:
    points = [Point(106.55, 29.65), Point(108.7, 30.8), Point(107.2, 29.1)]  # UTM zones 48, 49, 48
    frame = gpd.GeoDataFrame({"id": ["A", "B", "C", "A", "D"]}, crs="EPSG:4326",
                             geometry=[*points, Point(100.0, 20.0), box(106.0, 29.0, 106.1, 29.1)])
    circles = point_circles(frame, "id", 200.0)
    assert set(circles) == {"A", "B", "C"}  # the first feature of an id; polygons are not buffered
    for ident, point, zone in zip("ABC", points, ("EPSG:32648", "EPSG:32649", "EPSG:32648"), strict=True):
        one = gpd.GeoSeries([point], crs="EPSG:4326").to_crs(zone).buffer(200.0).to_crs("EPSG:4326").iloc[0]
        assert circles[ident].equals_exact(one, 0.0)


def test_a_layers_circles_are_made_once_per_version_of_the_file_and_radius(tmp_path: Path) -> None:
    path = tmp_path / "points.gpkg"
    points = gpd.GeoDataFrame({"point_id": ["P1", "P2"]}, crs="EPSG:4326",
                              geometry=[Point(106.55, 29.65), Point(106.6, 29.7)])
    points.to_file(path, layer="points")
    first = load_circles(path, "points", id_field="point_id", radius_m=200.0)
    assert load_circles(path, "points", id_field="point_id", radius_m=200.0) is first  # remembered
    with pytest.raises(TypeError):
        first["P1"] = Point(0.0, 0.0)  # read-only: no caller changes what the next one is given
    wider = load_circles(path, "points", id_field="point_id", radius_m=400.0)
    assert wider["P1"].area > 3.5 * first["P1"].area
    points.assign(geometry=[Point(106.7, 29.8), Point(106.6, 29.7)]).to_file(path, layer="points", mode="w")
    moved = load_circles(path, "points", id_field="point_id", radius_m=200.0)  # a new version of the file
    assert moved["P1"].centroid.distance(Point(106.7, 29.8)) < 1e-4
    assert first["P1"].centroid.distance(Point(106.55, 29.65)) < 1e-4
    path.unlink()
    with pytest.raises(ConfigError, match="points.gpkg"):
        load_circles(path, "points", id_field="point_id", radius_m=200.0)


def test_rejects_duplicate_ids(tmp_path: Path) -> None:
    path = tmp_path / "zones.gpkg"
    gdf = _towns(crs="EPSG:4326").assign(zone_id=["T1", "T1"])
    gdf.to_file(path, layer="towns")
    with pytest.raises(ConfigError) as excinfo:
        load_layer(path, "towns", id_field="zone_id")
    assert f"{path}#towns: zone_id: expected unique ids, got 'T1' in 2 features (#0, #1)" in _message(excinfo)


def test_rejects_empty_ids(tmp_path: Path) -> None:
    path = tmp_path / "zones.gpkg"
    _towns(crs="EPSG:4326").assign(zone_id=["T1", None]).to_file(path, layer="towns")
    with pytest.raises(ConfigError, match=r"#towns: zone_id: expected a non-empty id in every feature, got empty in feature #1"):
        load_layer(path, "towns", id_field="zone_id")


def test_rejects_a_missing_id_field(tmp_path: Path) -> None:
    path = tmp_path / "zones.gpkg"
    _towns(crs="EPSG:4326").to_file(path, layer="towns")
    with pytest.raises(ConfigError) as excinfo:
        load_layer(path, "towns", id_field="town_code")
    assert f"{path}#towns: town_code: expected an id field named 'town_code', got fields zone_id, name" in _message(
        excinfo
    )


def test_reports_every_problem_at_once(tmp_path: Path) -> None:
    path = tmp_path / "zones.gpkg"
    bowtie = Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
    gdf = gpd.GeoDataFrame({"zone_id": ["T1", "T1"]}, geometry=[bowtie, box(0, 0, 1, 1)])
    with pytest.warns(UserWarning, match="crs"):
        gdf.to_file(path, layer="towns")
    with pytest.raises(ConfigError) as excinfo:
        load_layer(path, "towns", id_field="zone_id")
    assert [p.key for p in excinfo.value.problems] == ["crs", "zone_id", "geometry"]


def test_rejects_a_missing_file_and_an_unknown_layer(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="nowhere.gpkg: expected an existing GeoPackage or GeoJSON file"):
        load_layer(tmp_path / "nowhere.gpkg", "towns", id_field="zone_id")
    path = tmp_path / "zones.gpkg"
    _towns(crs="EPSG:4326").to_file(path, layer="towns")
    _towns(crs="EPSG:4326").to_file(path, layer="grid")
    with pytest.raises(ConfigError, match=r"zones.gpkg: layer: expected one of towns, grid, got 'town'"):
        load_layer(path, "town", id_field="zone_id")
    with pytest.raises(ConfigError, match=r"zones.gpkg: layer: expected a layer name, one of towns, grid"):
        load_layer(path, None, id_field="zone_id")


def test_rejects_a_file_gdal_cannot_read(tmp_path: Path) -> None:
    path = tmp_path / "zones.gpkg"
    path.write_text("not a geopackage", encoding="utf-8")
    with pytest.raises(ConfigError, match="zones.gpkg: expected a GeoPackage or GeoJSON file that GDAL can read"):
        load_layer(path, "towns", id_field="zone_id")


# --- GCJ-02 on load, areas, cache keys ---------------------------------------------


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson"])
def test_gcj02_layer_is_converted_on_load(tmp_path: Path, suffix: str) -> None:
    truth = _towns(crs="EPSG:4326")
    shifted = truth.set_geometry(gpd.GeoSeries(wgs84_geometry_to_gcj02(truth.geometry.to_numpy()), crs="EPSG:4326"))
    path = tmp_path / f"zones{suffix}"
    shifted.to_file(path)
    as_is = load_layer(path, id_field="zone_id")
    loaded = load_layer(path, crs="gcj02", id_field="zone_id")
    assert loaded.crs.to_epsg() == 4326
    for got, want, raw in zip(loaded.geometry, truth.geometry, as_is.geometry, strict=True):
        np.testing.assert_allclose(shapely.get_coordinates(got), shapely.get_coordinates(want), rtol=0, atol=1e-9)
        assert shapely.hausdorff_distance(raw, want) > 0.003  # unconverted, it is ~500 m off


def test_equal_area_crs_measures_a_known_square() -> None:
    square = gpd.GeoDataFrame(geometry=[box(500_000, 3_300_000, 501_000, 3_301_000)], crs="EPSG:32648")
    crs = equal_area_crs(square)
    assert crs.is_projected
    # a 1 km UTM square is 1 km² up to the UTM scale factor (0.9996 at the central meridian)
    assert area_km2(square).iloc[0] == pytest.approx(1 / 0.9996**2, rel=1e-4)
    assert equal_area_crs(square) == crs


def test_layer_hash_changes_with_bytes_and_layer(tmp_path: Path) -> None:
    path = tmp_path / "zones.gpkg"
    _towns(crs="EPSG:4326").to_file(path, layer="towns")
    first = layer_hash(path, "towns")
    assert first == layer_hash(path, "towns") and len(first) == 64
    assert layer_hash(path, "grid") != first
    other = tmp_path / "other.geojson"
    _towns(crs="EPSG:4326").to_file(other)
    before = layer_hash(other, None)
    assert before != layer_hash(other, "x")
    other.write_bytes(other.read_bytes() + b" ")
    assert layer_hash(other, None) != before
