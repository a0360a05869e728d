"""`warn rain` on the bundled demo forecast: the JSON schema, values checked independently, errors."""

from __future__ import annotations

import json

import geopandas as gpd
import pytest
import xarray as xr
from shapely.geometry import box
from typer.testing import CliRunner

from tests.conftest import ROOT
from warn.cli.main import app

DEMO = ROOT / "demo" / "forecast" / "yubei-demo-analogue_2026071500.nc"
KEYS = ["zone_id", "name", "max_1h", "max_3h", "max_6h", "max_12h", "max_24h",
        "signal_level", "signal_colour", "return_period_yr"]


@pytest.fixture(scope="module")
def records():
    result = CliRunner().invoke(app, ["rain", str(DEMO), "--json", "--config", str(ROOT / "config.yaml")])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_json_has_the_documented_keys_for_every_town(records):
    assert len(records) == 21
    for record in records:
        assert list(record)[: len(KEYS)] == KEYS
        assert record["signal_colour"] in {"none", "blue", "yellow", "orange", "red", "unknown"}


def test_demo_storm_spares_some_towns_and_is_red_in_others(records):
    colours = {r["signal_colour"] for r in records}
    assert {"red", "none"} <= colours
    for record in records:
        assert (record["signal_colour"] == "red") == (record["max_3h"] >= 100.0)


def test_worst_cell_three_hours_match_an_independent_computation(records):
    """Max over the cells a town touches of the 3 h sums, from the raw file and shapely."""
    towns = gpd.read_file(ROOT / "geodata" / "yubei.gpkg", layer="towns").set_index("zone_id")
    with xr.open_dataset(DEMO) as ds:
        depth = ds["rain"].load()
    three_hours = depth.rolling(time=3).sum().max("time").values  # (lat, lon)
    lat, lon = depth["lat"].values, depth["lon"].values
    half = 0.005
    for record in records[:: 5]:
        town = towns.loc[record["zone_id"], "geometry"]
        worst = max(
            three_hours[i, j]
            for i in range(lat.size) for j in range(lon.size)
            if town.intersection(box(lon[j] - half, lat[i] - half, lon[j] + half, lat[i] + half)).area > 1e-12
        )
        assert record["max_3h"] == pytest.approx(worst, abs=0.06)


def test_an_ensemble_forecast_is_summed_up_on_its_control_member(records, tmp_path):
    from warn.sources.forecast import open_forecast

    run = open_forecast(DEMO, source="demo")
    members = xr.concat([run * 0.5, run], dim="member").assign_coords(member=[3, 7])  # control 7: the run
    members.attrs = {**run.attrs, "control_member": 7}
    path = tmp_path / "ensemble.nc"
    members.transpose("member", "time", "lat", "lon").rename("rain").to_netcdf(path)
    result = CliRunner().invoke(app, ["rain", str(path), "--json", "--config", str(ROOT / "config.yaml")])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == records


def test_table_names_levels_in_words(tmp_path):
    result = CliRunner().invoke(app, ["rain", str(DEMO), "--config", str(ROOT / "config.yaml")],
                                env={"NO_COLOR": "1"})
    assert result.exit_code == 0
    assert "红色 red" in result.output and "DEMO-T11" in result.output


def test_missing_file_is_a_clear_failure():
    result = CliRunner().invoke(app, ["rain", "nowhere.nc", "--config", str(ROOT / "config.yaml")])
    assert result.exit_code == 1
    assert "nowhere.nc" in result.output


def test_unknown_layer_names_the_choices():
    result = CliRunner().invoke(app, ["rain", str(DEMO), "--layer", "townz", "--config", str(ROOT / "config.yaml")])
    assert result.exit_code == 1
    assert "townz" in result.output and "towns" in result.output


def test_named_variable_that_is_absent(tmp_path):
    result = CliRunner().invoke(app, ["rain", str(DEMO), "--var", "tp", "--config", str(ROOT / "config.yaml")])
    assert result.exit_code == 1
    assert "tp" in result.output and "rain" in result.output
