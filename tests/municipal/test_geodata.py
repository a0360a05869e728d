"""geodata/chongqing/chongqing.gpkg: the real outlines of the municipality and its 38 districts and counties,
converted as Yubei's were, and synthetic towns that tile each district and say they are synthetic."""

from __future__ import annotations

import shapely

from tests.conftest import ROOT
from warn.geo.layers import area_km2, load_layer

GPKG = ROOT / "geodata" / "chongqing" / "chongqing.gpkg"


def test_the_districts_are_chongqings_38_and_yubei_is_the_demos_outline() -> None:
    districts = load_layer(GPKG, "districts", id_field="zone_id")
    codes = set(districts["zone_id"])
    assert len(codes) == 38 and {"500101", "500112", "500243"} <= codes and all(c.startswith("500") for c in codes)
    yubei = districts.set_index("zone_id").loc["500112"]
    demo = load_layer(ROOT / "geodata" / "yubei.gpkg", "district", id_field="zone_id").geometry.iloc[0]
    assert yubei["name"] == "渝北区" and shapely.equals_exact(yubei.geometry, demo, tolerance=1e-9)
    city = load_layer(GPKG, "municipality", id_field="zone_id")
    assert list(city["zone_id"]) == ["500000"]
    assert abs(districts["area_km2"].sum() / city["area_km2"].iloc[0] - 1) < 0.01  # the districts fill it


def test_every_districts_towns_are_synthetic_and_tile_it() -> None:
    districts = load_layer(GPKG, "districts", id_field="zone_id").set_index("zone_id")
    towns = load_layer(GPKG, "towns", id_field="zone_id")
    assert towns["synthetic"].all() and towns["name"].str.startswith("演示").all()
    assert (towns["zone_id"].str[:13] == "DEMO-" + towns["district_code"] + "-T").all()
    measured = area_km2(towns).groupby(towns["district_code"]).sum()
    assert set(measured.index) == set(districts.index)
    for code, area in measured.items():
        assert abs(area / districts.loc[code, "area_km2"] - 1) < 1e-3, code
    counts = towns.groupby("district_code").size()
    assert counts.min() >= 5 and counts.max() <= 30
