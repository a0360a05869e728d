"""The synthetic catchment layer (geodata/yubei.gpkg, layer catchments) carries what 山洪 scoring and its playbook read."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

GPKG = Path(__file__).resolve().parents[3] / "geodata" / "yubei.gpkg"


@pytest.fixture(scope="module")
def catchments() -> gpd.GeoDataFrame:
    return gpd.read_file(GPKG, layer="catchments")


def test_ten_to_twenty_five_small_catchments_numbered_with_demo_ids(catchments):
    assert 10 <= len(catchments) <= 25
    n = len(catchments)
    assert catchments["catchment_id"].tolist() == [f"DEMO-C{i:02d}" for i in range(1, n + 1)]
    assert catchments["name"].tolist() == [f"演示小流域{i:02d}" for i in range(1, n + 1)]
    assert catchments["village"].str.startswith("演示村").all()
    assert catchments["synthetic"].astype(bool).all()


def test_areas_are_small_catchment_sizes_and_polygons_tile_without_overlap(catchments):
    assert catchments["area_km2"].between(5, 80).all()
    assert catchments.is_valid.all()
    assert catchments.crs.to_epsg() == 4326
    parts = catchments.geometry.to_numpy()
    assert shapely.area(shapely.union_all(parts)) == pytest.approx(shapely.area(parts).sum(), rel=1e-9)


def test_each_catchment_lies_in_the_district_with_its_outlet_in_a_demo_town(catchments):
    district = gpd.read_file(GPKG, layer="district").geometry.iloc[0]
    towns = gpd.read_file(GPKG, layer="towns")
    assert catchments.geometry.within(district.buffer(1e-9)).all()
    assert set(catchments["town_code"]) <= set(towns["zone_id"])
    outlets = gpd.points_from_xy(catchments["outlet_lon"], catchments["outlet_lat"])
    holder = {row.zone_id: row.geometry for row in towns.itertuples()}
    assert all(holder[code].buffer(1e-9).contains(point) for code, point in zip(catchments["town_code"], outlets))


def test_threatened_people_and_critical_rainfall(catchments):
    assert (catchments["threatened_people"] >= 20).all() and (catchments["threatened_people"] <= 800).all()
    for stage, (low, high) in {"prepare": (30, 95), "evacuate": (40, 125)}.items():
        table = np.stack([catchments[f"{stage}_{h}h_mm"].to_numpy() for h in (1, 3, 6)])
        assert ((table >= low) & (table <= high)).all()
        assert (np.diff(table, axis=0) > 0).all()  # more rain is needed over a longer duration
    for h in (1, 3, 6):
        assert (catchments[f"evacuate_{h}h_mm"] > catchments[f"prepare_{h}h_mm"]).all()
