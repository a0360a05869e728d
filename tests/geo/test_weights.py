"""Coverage weights and zonal rain (warn/geo/weights.py), against hand cases and exactextract."""

from __future__ import annotations

import dataclasses
import os
from datetime import timedelta

import geopandas as gpd
import numpy as np
import xarray as xr
import pyproj
import pytest
import scipy.sparse as sp
import shapely

from tests.conftest import DATA, ROOT
from tests.helpers import Shipped
from warn.errors import DataContractError
from warn.geo.layers import load_layer
from warn.geo.weights import (CoverageWeights, GridSpec, build_weights, cell_coverage, zonal_max, zonal_mean, zonal_mean_max,
                              zonal_values)
from warn.geo import weights as weights_module
from warn.rainarray import make_rain

D = 0.01  # cell size, degrees
LAT = 29.0 + D * (np.arange(20) + 0.5)
LON = 106.0 + D * (np.arange(30) + 0.5)


def zones(*geoms, ids=None) -> gpd.GeoDataFrame:
    ids = ids or [f"z{i}" for i in range(len(geoms))]
    return gpd.GeoDataFrame({"zone_id": ids}, geometry=list(geoms), crs="EPSG:4326")


def rain(values: np.ndarray, lat=LAT, lon=LON) -> xr.DataArray:
    values = np.asarray(values, dtype=np.float32)
    times = np.datetime64("2026-07-15T01:00") + np.arange(values.shape[0]) * np.timedelta64(1, "h")
    return make_rain(values, time=times, lat=lat, lon=lon, step=timedelta(hours=1), source="test")


def cell_area_m2(row: int, lat=LAT, lon=LON) -> float:
    """Area of one cell of ``row`` in a Lambert azimuthal equal-area projection (densified edges)."""
    south = lat[row] - D / 2
    box = shapely.segmentize(shapely.box(lon[0] - D / 2, south, lon[0] + D / 2, south + D), D / 100)
    laea = pyproj.Transformer.from_crs("EPSG:4326", f"+proj=laea +lat_0={lat[row]} +lon_0={lon[0]} +ellps=WGS84",
                                       always_xy=True)
    return shapely.area(shapely.transform(box, lambda x, y: laea.transform(x, y), interleaved=False))


# ---------------------------------------------------------------- hand-computed cases

def test_square_over_exactly_four_cells_weights_by_cell_area():
    w = build_weights(zones(shapely.box(106.01, 29.01, 106.03, 29.03)), LAT, LON, id_column="zone_id")
    m = w.matrix
    assert sorted(m.indices) == [1 * 30 + 1, 1 * 30 + 2, 2 * 30 + 1, 2 * 30 + 2]
    south, north = cell_area_m2(1), cell_area_m2(2)
    expected = {31: south, 32: south, 61: north, 62: north}
    total = sum(expected.values())
    for cell, weight in zip(m.indices, m.data):
        assert weight == pytest.approx(expected[cell] / total, rel=1e-9)
    assert south > north  # cells shrink northwards: the weights are not a plain 1/4


def test_zone_inside_one_cell_gets_that_cell_with_weight_one():
    w = build_weights(zones(shapely.box(106.012, 29.012, 106.018, 29.017)), LAT, LON, id_column="zone_id")
    assert list(w.matrix.indices) == [31] and list(w.matrix.data) == [1.0]
    values = np.arange(2 * 20 * 30, dtype=float).reshape(2, 20, 30)
    mean, peak = zonal_mean_max(rain(values), w)
    assert mean.values[:, 0].tolist() == peak.values[:, 0].tolist() == [values[0, 1, 1], values[1, 1, 1]]


def test_zone_half_over_two_cells():
    grid = GridSpec.from_coords(LAT, LON)
    fraction, area = cell_coverage(np.array([shapely.box(106.015, 29.011, 106.025, 29.019)]), grid)
    assert fraction.indices.tolist() == [31, 32]
    np.testing.assert_allclose(fraction.data, [0.4, 0.4], rtol=1e-12)
    np.testing.assert_allclose(area.data, [0.4 * cell_area_m2(1)] * 2, rtol=1e-7)


def test_zone_area_matches_a_geodesic_area():
    yubei = _chongqing().iloc[[0]]
    grid = GridSpec.from_coords(*_grid_around(yubei))
    _, area = cell_coverage(yubei.geometry.values, grid)
    geodesic, _ = pyproj.Geod(ellps="WGS84").geometry_area_perimeter(yubei.geometry.iloc[0])
    assert area.sum() == pytest.approx(abs(geodesic), rel=1e-6)


def test_hole_is_not_covered():
    ring = shapely.box(106.0, 29.0, 106.05, 29.05).difference(shapely.box(106.01, 29.01, 106.04, 29.04))
    w = build_weights(zones(ring), LAT, LON, id_column="zone_id")
    covered = set(w.matrix.indices)
    assert 2 * 30 + 2 not in covered and 0 in covered and len(covered) == 25 - 9


# ---------------------------------------------------------------- NaN and the maximum

def test_mean_renormalises_over_cells_that_are_not_missing():
    w = build_weights(zones(shapely.box(106.01, 29.01, 106.03, 29.02)), LAT, LON, id_column="zone_id")
    values = np.ones((3, 20, 30))
    values[:, 1, 1], values[:, 1, 2] = 2.0, 4.0
    values[1, 1, 2] = np.nan  # one of two cells missing
    values[2, 1, 1:3] = np.nan  # both missing
    mean = zonal_mean(rain(values), w)
    assert mean.values[0, 0] == pytest.approx(3.0)
    assert mean.values[1, 0] == pytest.approx(2.0)
    assert np.isnan(mean.values[2, 0])


def test_max_is_over_covered_cells_only_and_skips_missing():
    # covers cell (1, 1) fully and a sliver of (1, 2); never touches (1, 3)
    w = build_weights(zones(shapely.box(106.01, 29.01, 106.0201, 29.02)), LAT, LON, id_column="zone_id")
    values = np.zeros((3, 20, 30))
    values[:, 1, 3] = 100.0
    values[0, 1, 2] = 7.0
    values[1, 1, 1], values[1, 1, 2] = 5.0, np.nan
    values[2, 1, 1:3] = np.nan
    peak = zonal_max(rain(values), w)
    assert peak.values[:, 0][:2].tolist() == [7.0, 5.0] and np.isnan(peak.values[2, 0])
    assert peak.attrs["cell_methods"] == "time: sum area: maximum"
    assert peak.attrs["units"] == "mm" and "zonal_max" in peak.attrs["history"]


def test_mean_and_max_agree_with_a_dense_reference_on_many_zones():
    rng = np.random.default_rng(3)
    centres = rng.uniform([106.06, 29.06], [106.24, 29.14], (300, 2))
    sizes = np.exp(rng.uniform(np.log(0.002), np.log(0.05), 300))
    layer = zones(*[shapely.Point(c).buffer(s, quad_segs=3) for c, s in zip(centres, sizes)])
    w = build_weights(layer, LAT, LON, id_column="zone_id")
    values = rng.gamma(0.5, 4.0, (5, 20, 30))
    values[values < 0.3] = np.nan
    mean, peak = zonal_mean_max(rain(values), w)
    flat = values.reshape(5, -1)
    for z in range(300):
        row = w.matrix[z]
        cells, weights = row.indices, row.data
        ok = ~np.isnan(flat[:, cells])
        with np.errstate(invalid="ignore"):
            expected = np.nansum(flat[:, cells] * weights, axis=1) / (ok * weights).sum(axis=1)
        np.testing.assert_allclose(mean.values[:, z], expected.astype(np.float32), rtol=2e-6)
        peak_expected = np.where(ok.any(axis=1), np.where(ok, flat[:, cells], -np.inf).max(axis=1), np.nan)
        np.testing.assert_array_equal(peak.values[:, z], peak_expected.astype(np.float32))


def test_zonal_values_are_the_zonal_arrays_on_threads_or_not_with_the_leading_dims_and_coords():
    rng = np.random.default_rng(5)
    lat, lon = 29.0 + D * (np.arange(120) + 0.5), 106.0 + D * (np.arange(150) + 0.5)
    corners = rng.uniform([106.0, 29.0], [106.0 + 1.44, 29.0 + 1.14], (1200, 2))
    layer = zones(*[shapely.box(x, y, x + 0.06, y + 0.06) for x, y in corners])
    w = build_weights(layer, lat, lon, id_column="zone_id")
    assert len(w.plan.shares) == 2 or (os.cpu_count() or 1) == 1  # enough work for two threads
    values = rng.gamma(0.5, 4.0, (2, 3, 120, 150))
    values[values < 0.3] = np.nan
    members = rain(values.reshape(6, 120, 150), lat=lat, lon=lon).isel(time=slice(0, 3))
    members = xr.concat([members.copy(data=values[m]) for m in range(2)], dim="member").assign_coords(member=[0, 1])
    mean, peak = zonal_mean_max(members, w)
    assert mean.dims == ("member", "time", "zone") and mean.dtype == np.float32
    assert mean["zone"].values.tolist() == w.zone_ids.tolist() and mean["member"].values.tolist() == [0, 1]
    assert (mean["time"].values == members["time"].values).all() and "lat" not in mean.coords
    assert mean.attrs["cell_methods"].endswith("area: mean") and peak.attrs["history"].endswith(f"grid {w.grid})")
    inline = CoverageWeights(matrix=w.matrix, zone_ids=w.zone_ids, shape=w.shape, grid=w.grid, layer=w.layer)
    inline.__dict__["plan"] = dataclasses.replace(w.plan, shares=[range(len(w.plan.chunks))])
    for got, expected in zip(zonal_values(values, inline), (mean.values, peak.values)):
        np.testing.assert_array_equal(got, expected)  # one thread gives the same bits as two
    flat = values.reshape(6, -1)
    for z in range(0, 1200, 7):  # against the weights themselves
        row = w.matrix[z]
        with np.errstate(invalid="ignore"):
            expected = np.nansum(flat[:, row.indices] * row.data, axis=1) / (~np.isnan(flat[:, row.indices]) * row.data).sum(axis=1)
        np.testing.assert_allclose(mean.values.reshape(6, -1)[:, z], expected.astype(np.float32), rtol=2e-6)
        np.testing.assert_array_equal(peak.values.reshape(6, -1)[:, z], np.nanmax(flat[:, row.indices], axis=1).astype(np.float32))
    with pytest.raises(DataContractError, match="the grid the weights were built for"):
        zonal_values(values[..., 1:], w)


def test_zones_worked_in_parts_by_workers_equal_the_threads_to_the_bit(monkeypatch):
    rng = np.random.default_rng(6)
    lat, lon = 29.0 + D * (np.arange(120) + 0.5), 106.0 + D * (np.arange(150) + 0.5)
    corners = rng.uniform([106.0, 29.0], [106.0 + 1.2, 29.0 + 0.9], (900, 2))
    sizes = rng.uniform(0.004, 0.25, 900)  # from inside one cell to 25 cells a side
    w = build_weights(zones(*[shapely.box(x, y, x + s, y + s) for (x, y), s in zip(corners, sizes)]), lat, lon,
                      id_column="zone_id")
    values = rng.gamma(0.5, 4.0, (2, 5, 120, 150)).astype(np.float32)
    values[values < 0.3] = np.nan
    values[:, :, 40:60, 50:90] = np.nan  # zones with every covered cell missing
    here = zonal_values(values, w)
    monkeypatch.setattr(weights_module, "_PART_WORK", 2_000)
    workers = Shipped()
    parted = zonal_values(values, w, workers=workers)
    assert len(workers.jobs) >= 10
    for got, expected in zip(parted, here, strict=True):
        assert got.shape == (2, 5, 900) and got.tobytes() == expected.tobytes()
    assert np.isnan(here[0]).any() and np.isfinite(here[0]).any()


# ---------------------------------------------------------------- errors

def test_zones_outside_the_grid_are_named():
    layer = zones(shapely.box(106.01, 29.01, 106.02, 29.02), shapely.box(107.0, 29.0, 107.1, 29.1),
                  shapely.box(106.29, 29.1, 106.31, 29.11), ids=["inside", "far-east", "edge"])
    with pytest.raises(DataContractError, match=r"zone\(s\) reaching outside it: far-east, edge"):
        build_weights(layer, LAT, LON, id_column="zone_id", where="towns.gpkg")


def test_invalid_layers_are_rejected_with_the_zone_ids():
    bowtie = shapely.Polygon([(106.01, 29.01), (106.02, 29.02), (106.02, 29.01), (106.01, 29.02)])
    layer = zones(bowtie, shapely.Point(106.1, 29.1), ids=["a", "a"])
    with pytest.raises(DataContractError) as err:
        build_weights(layer, LAT, LON, id_column="zone_id", where="towns.gpkg")
    text = str(err.value)
    assert "towns.gpkg: zone_id: expected unique zone ids, got repeated: a" in text
    assert "non-empty Polygon or MultiPolygon" in text and "invalid: zone(s) a" in text


def test_wrong_crs_and_wrong_grid_are_rejected():
    with pytest.raises(DataContractError, match="EPSG:4326"):
        build_weights(zones(shapely.box(106.01, 29.01, 106.02, 29.02)).set_crs(3857, allow_override=True),
                      LAT, LON, id_column="zone_id")
    w = build_weights(zones(shapely.box(106.01, 29.01, 106.02, 29.02)), LAT, LON, id_column="zone_id")
    with pytest.raises(DataContractError, match="rebuild the weights for this grid"):
        zonal_mean(rain(np.zeros((1, 20, 31)), lon=106.0 + D * (np.arange(31) + 0.5)), w)


# ---------------------------------------------------------------- cache

def test_cache_hit_miss_and_corruption(tmp_path, caplog):
    layer = zones(shapely.box(106.01, 29.01, 106.03, 29.03), shapely.box(106.1, 29.1, 106.105, 29.12))
    first = build_weights(layer, LAT, LON, id_column="zone_id", cache_dir=tmp_path)
    files = list(tmp_path.glob("weights-*.npz"))
    assert len(files) == 1
    stamp = files[0].stat().st_mtime_ns
    again = build_weights(layer, LAT, LON, id_column="zone_id", cache_dir=tmp_path)
    assert files[0].stat().st_mtime_ns == stamp  # hit: not rewritten
    assert (again.matrix != first.matrix).nnz == 0 and again.zone_ids.tolist() == ["z0", "z1"]
    moved = layer.copy()
    moved.geometry = moved.geometry.translate(0.01, 0.0)
    build_weights(moved, LAT, LON, id_column="zone_id", cache_dir=tmp_path)
    assert len(list(tmp_path.glob("weights-*.npz"))) == 2  # other layer content: miss
    files[0].write_bytes(files[0].read_bytes()[:100])  # truncated
    rebuilt = build_weights(layer, LAT, LON, id_column="zone_id", cache_dir=tmp_path)
    assert "unusable" in caplog.text
    assert (rebuilt.matrix != first.matrix).nnz == 0
    np.savez(files[0], version=1, grid=first.grid, layer=first.layer, zone_ids=first.zone_ids,
             data=first.matrix.data * 2, indices=first.matrix.indices, indptr=first.matrix.indptr)
    assert (build_weights(layer, LAT, LON, id_column="zone_id", cache_dir=tmp_path).matrix != first.matrix).nnz == 0


def test_weights_are_remembered_per_layer_version_grid_and_cache_file(tmp_path):
    path = tmp_path / "zones.geojson"
    zones(shapely.box(106.01, 29.01, 106.03, 29.03), shapely.box(106.1, 29.1, 106.105, 29.12)).to_file(path)
    cache = tmp_path / "weights"
    layer = load_layer(path, id_field="zone_id")
    first = build_weights(layer, LAT, LON, id_column="zone_id", cache_dir=cache)
    assert build_weights(load_layer(path, id_field="zone_id"), LAT, LON, id_column="zone_id", cache_dir=cache) is first
    assert build_weights(layer, LAT[:-1], LON, id_column="zone_id", cache_dir=cache).shape == (19, 30)  # other grid
    renamed = layer.assign(zone_id=["a", "b"])
    assert build_weights(renamed, LAT, LON, id_column="zone_id", cache_dir=cache).zone_ids.tolist() == ["a", "b"]
    cached = next(cache.glob("weights-*.npz"))
    cached.unlink()  # the cache file gone: built (and written) again
    again = build_weights(layer, LAT, LON, id_column="zone_id", cache_dir=cache)
    assert again is not first and cached.exists() and (again.matrix != first.matrix).nnz == 0
    zones(shapely.box(106.01, 29.01, 106.02, 29.03), shapely.box(106.1, 29.1, 106.105, 29.12)).to_file(path)
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))  # a new version of the file
    changed = build_weights(load_layer(path, id_field="zone_id"), LAT, LON, id_column="zone_id", cache_dir=cache)
    assert changed.layer != first.layer and changed.matrix[0].nnz == 2 and first.matrix[0].nnz == 4


# ---------------------------------------------------------------- exactextract, real polygons

def _chongqing() -> gpd.GeoDataFrame:
    """Yubei and four neighbouring districts (GCJ-02 lon/lat, used here as plain polygons)."""
    layer = gpd.read_file(DATA / "chongqing_districts_gcj02.geojson")
    return layer.set_crs("EPSG:4326", allow_override=True)


def _grid_around(layer: gpd.GeoDataFrame, step: float = 0.01):
    west, south, east, north = layer.total_bounds
    lon0, lat0 = np.floor(west / step) * step - step, np.floor(south / step) * step - step
    nlon, nlat = int(np.ceil((east - lon0) / step)) + 1, int(np.ceil((north - lat0) / step)) + 1
    return lat0 + step * (np.arange(nlat) + 0.5), lon0 + step * (np.arange(nlon) + 0.5)


def _exactextract_coverage(layer, lat, lon):
    from exactextract import exact_extract
    from exactextract.raster import NumPyRasterSource

    ids = np.arange(lat.size * lon.size, dtype=np.float64).reshape(lat.size, lon.size)[::-1]
    raster = NumPyRasterSource(ids, lon[0] - D / 2, lat[0] - D / 2, lon[-1] + D / 2, lat[-1] + D / 2,
                               nodata=-1.0, srs_wkt=pyproj.CRS("EPSG:4326").to_wkt())
    out = exact_extract(raster, layer, ["values", "coverage"], output="pandas")
    return [(np.asarray(v, dtype=np.int64), np.asarray(c)) for v, c in zip(out["values"], out["coverage"])]


@pytest.mark.parametrize("source", ["committed districts", "geodata towns"])
def test_coverage_and_weighted_mean_agree_with_exactextract(source):
    if source == "geodata towns":
        layer = gpd.read_file(ROOT / "geodata" / "yubei.gpkg", layer="towns")[["zone_id", "geometry"]]
    else:
        layer = _chongqing().rename(columns={"adcode": "zone_id"})
    lat, lon = _grid_around(layer)
    grid = GridSpec.from_coords(lat, lon)
    fraction, area = cell_coverage(layer.geometry.values, grid)
    w = build_weights(layer, lat, lon, id_column="zone_id")
    values = np.random.default_rng(7).gamma(0.5, 8.0, (1, lat.size, lon.size))
    # equal-area size of a whole cell per row, to weight exactextract's planar fractions
    row_area = np.array([cell_area_m2(i, lat, lon) for i in range(lat.size)])
    like = fraction.multiply(np.repeat(row_area, lon.size)[None, :]).tocsr()
    like = sp.diags(1 / np.asarray(like.sum(axis=1)).ravel()) @ like
    like_for_like = CoverageWeights(matrix=like.tocsr(), zone_ids=w.zone_ids, shape=w.shape, grid=w.grid, layer=w.layer)
    ours_like = zonal_mean(rain(values, lat, lon), like_for_like).values[0]
    ours = zonal_mean(rain(values, lat, lon), w).values[0]
    flat = values.reshape(-1)
    for z, (cells, cover) in enumerate(_exactextract_coverage(layer, lat, lon)):
        keep = cover > 0
        cells, cover = cells[keep], cover[keep]
        order = np.argsort(cells)
        row = fraction[z]
        assert row.indices.tolist() == cells[order].tolist()
        np.testing.assert_allclose(row.data, cover[order], rtol=1e-6, atol=1e-12)
        weights = cover * row_area[cells // lon.size]
        reference = np.sum(weights * flat[cells]) / weights.sum()
        assert ours_like[z] == pytest.approx(reference, rel=1e-6)
        # our weights use each piece's own area, which differs from (fraction × whole
        # cell) only through the latitude variation of the area element inside a
        # cell: |Δ| ≤ tan φ · Δφ / 2 (7e-5 here) per cell, less for the mean
        bound = np.tan(np.radians(lat.max())) * np.radians(D) / 2
        np.testing.assert_allclose(area[z].data, cover[order] * row_area[cells[order] // lon.size], rtol=bound)
        assert ours[z] == pytest.approx(reference, rel=bound / 10)
