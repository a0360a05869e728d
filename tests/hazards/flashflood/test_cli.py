"""`warn score <demo forecast> --hazard flashflood --json` on the committed deployment."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from tests.conftest import ROOT
from warn.cli.main import app

DEMO = ROOT / "demo" / "forecast" / "yubei-demo-analogue_2026071500.nc"
KEYS = {"hazard", "item_id", "name", "kind", "level", "colour", "level_2h", "level_24h", "drivers"}


def test_score_flashflood_json_raises_a_catchment_of_the_demo_storm(committed_config):
    result = CliRunner().invoke(app, ["score", str(DEMO), "--hazard", "flashflood", "--json",
                                      "--config", str(committed_config)], env={"NO_COLOR": "1", "COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    records = json.loads(result.output)
    assert 10 <= len(records) <= 25
    for record in records:
        assert KEYS <= set(record) and record["hazard"] == "flashflood" and record["kind"] == "catchment"
        assert record["level"] == -1 and record["colour"] == "unknown"  # cold start: unknown, never "none"
    raised = [r for r in records if r["level_24h"] >= 2]
    assert raised, "the demo storm raises no catchment to yellow or above within 24 h"
    assert any("临界雨量" in text for r in raised for text in r["drivers_24h"])


def test_check_names_a_missing_catchments_role(committed_config):
    import yaml

    data = yaml.safe_load(committed_config.read_text(encoding="utf-8"))
    del data["hazards"]["flashflood"]["layers"]["catchments"]
    committed_config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = CliRunner().invoke(app, ["check", "--config", str(committed_config)], env={"NO_COLOR": "1",
                                                                                     "COLUMNS": "200"})
    assert result.exit_code == 2
    assert "hazards.flashflood.layers.catchments" in result.output


def test_check_names_a_catchment_whose_critical_rainfall_is_out_of_order(committed_config, tmp_path):
    import geopandas as gpd
    import yaml

    layer = gpd.read_file(ROOT / "geodata" / "yubei.gpkg", layer="catchments")
    layer.loc[1, "prepare_1h_mm"] = layer.loc[1, "evacuate_1h_mm"] + 5
    path = tmp_path / "catchments.gpkg"
    layer.to_file(path, layer="catchments", driver="GPKG")
    data = yaml.safe_load(committed_config.read_text(encoding="utf-8"))
    data["layers"]["catchments"]["path"] = str(path)
    committed_config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = CliRunner().invoke(app, ["check", "--config", str(committed_config)], env={"NO_COLOR": "1",
                                                                                     "COLUMNS": "250"})
    assert result.exit_code == 2
    text = " ".join(result.output.split())  # the console wraps long lines
    assert "catchments.gpkg#catchments: DEMO-C02: expected critical rainfall 0 < 准备转移" in text
    assert "got 1 h 59/54 mm" in text
