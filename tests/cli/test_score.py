"""`warn score` (and its aliases `warn landslide`, `warn waterlogging`, `warn flood`) on the demo forecast."""

from __future__ import annotations

import json

import pytest
import xarray as xr
from typer.testing import CliRunner

from tests.conftest import ROOT
from warn.cli.main import app
from warn.sources.forecast import open_forecast

DEMO = ROOT / "demo" / "forecast" / "yubei-demo-analogue_2026071500.nc"
KEYS = {"hazard", "item_id", "name", "kind", "level", "colour", "level_2h", "level_24h", "drivers"}


def score(config, *args: str) -> CliRunner:
    return CliRunner().invoke(app, [*args, "--config", str(config)], env={"NO_COLOR": "1", "COLUMNS": "200"})


def test_landslide_json_per_zone_and_point(committed_config):
    result = score(committed_config, "score", str(DEMO), "--hazard", "landslide", "--json")
    assert result.exit_code == 0, result.output
    records = json.loads(result.output)
    assert len(records) == 21 + 60
    for record in records:
        assert KEYS <= set(record) and record["hazard"] == "landslide"
        assert record["level"] == -1 and record["colour"] == "unknown"  # cold start: unknown, never "none"
        assert "probability" not in record  # no ensemble
        assert all(isinstance(d, str) for d in record["drivers"])
    zones = {r["item_id"]: r for r in records if r["kind"] == "zone"}
    assert zones["DEMO-T11"]["level_24h"] == 4
    swi, hour, rain = zones["DEMO-T11"]["drivers_24h"]  # the critical line (SWI, 60-min rain), effective rain
    assert swi.startswith("SWI") and hour.startswith("60分钟雨量") and "≥ 红色阈值" in hour
    assert rain.startswith("有效降雨")
    assert zones["DEMO-T11"]["values"]["swi_max_mm"] > 100
    assert zones["DEMO-T11"]["values"]["effective_rain_max_mm"] > 120


def test_an_ensemble_forecast_gives_the_control_levels_and_each_levels_probability(committed_config, tmp_path):
    # members: the demo run (0, the control), the run × 0 (1), the run × 1.5 (2)
    run = open_forecast(DEMO, source="demo")
    members = xr.concat([run, run * 0.0, run * 1.5], dim="member").assign_coords(member=[0, 1, 2])
    members.attrs = {**run.attrs, "control_member": 0}
    path = tmp_path / "ensemble.nc"
    members.transpose("member", "time", "lat", "lon").rename("rain").to_netcdf(path)
    result = score(committed_config, "score", str(path), "--hazard", "landslide", "--json")
    assert result.exit_code == 0, result.output
    zones = {r["item_id"]: r for r in json.loads(result.output) if r["kind"] == "zone"}
    t11 = zones["DEMO-T11"]
    assert t11["level_24h"] == 4
    assert t11["probability"]["24h"] == {"blue": 0.67, "yellow": 0.67, "orange": 0.67, "red": 0.67}
    assert t11["probability"]["now"] == dict.fromkeys(("blue", "yellow", "orange", "red"))  # unknown: null
    assert t11["drivers_24h"][-1] == "红色概率 67 % / red probability 67 %"
    assert all(set(r["probability"]) == {"now", "2h", "24h"} for r in zones.values())


def test_without_hazard_every_hazard_that_reads_the_forecast(committed_config):
    result = score(committed_config, "score", str(DEMO), "--json")
    assert result.exit_code == 0, result.output
    assert {r["hazard"] for r in json.loads(result.output)} == {"landslide", "waterlogging", "flashflood"}


def test_waterlogging_json_per_point_without_the_river_gauges(committed_config):
    result = score(committed_config, "waterlogging", str(DEMO), "--json")
    assert result.exit_code == 0, result.output
    records = json.loads(result.output)
    assert [r["kind"] for r in records] == ["point"] * 25  # river gauges are the river hazard's
    for record in records:
        assert record["level"] == -1  # no sensor readings, no bucket state: unknown, not "none"
    w25 = next(r for r in records if r["item_id"] == "DEMO-W25")
    assert w25["level_24h"] >= 1
    assert any("重现期" in d and "≥" in d for d in w25["drivers_24h"])
    assert w25["drivers"][0].startswith("模型估算（传感器失效：数据中断）")  # no sensor readings: the model governs


def test_flood_is_a_deprecated_alias_of_waterlogging(committed_config):
    old = score(committed_config, "flood", str(DEMO), "--json")
    new = score(committed_config, "waterlogging", str(DEMO), "--json")
    assert old.exit_code == 0 and "deprecated" in old.output
    assert old.output.endswith(new.output)


def test_tables_say_cold_start_notices_and_name_levels(committed_config):
    result = score(committed_config, "landslide", str(DEMO))
    assert result.exit_code == 0
    assert "cold start" in result.output and "红色 red" in result.output and "未知" in result.output
    flood = score(committed_config, "score", str(DEMO), "--hazard", "waterlogging")
    assert "数据质量" in flood.output and "WL-DEMO-W01" in flood.output


def test_the_rainstorm_signal_is_not_scored_from_a_forecast(committed_config):
    result = score(committed_config, "score", str(DEMO), "--hazard", "rainstorm")
    assert result.exit_code == 2 and "official bulletins" in " ".join(result.output.split())


@pytest.mark.parametrize("command", [["score"], ["landslide"], ["waterlogging"]])
def test_missing_forecast_fails_with_its_name(committed_config, command):
    result = score(committed_config, *command, "nowhere.nc")
    assert result.exit_code == 1 and "nowhere.nc" in result.output


def test_unknown_hazard_is_a_usage_error(committed_config):
    result = score(committed_config, "score", str(DEMO), "--hazard", "tsunami")
    assert result.exit_code == 2
