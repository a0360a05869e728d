"""`warn landslide` on the demo forecast: JSON schema, levels with drivers, errors."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from tests.conftest import ROOT
from warn.cli.main import app

DEMO = ROOT / "demo" / "forecast" / "yubei-demo-analogue_2026071500.nc"
KEYS = ["zone_id", "level_now", "level_2h", "level_24h", "swi_max", "effective_rain", "drivers"]


def test_json_per_zone_and_point(committed_config):
    result = CliRunner().invoke(app, ["landslide", str(DEMO), "--json", "--config", str(committed_config)])
    assert result.exit_code == 0, result.output
    records = json.loads(result.output)
    assert len(records) == 21 + 60
    for record in records:
        assert all(key in record for key in KEYS)
        assert record["level_now"] == -1  # cold start: unknown, never "none"
        assert set(record["drivers"]) == {"now", "2h", "24h"}
    zones = {r["zone_id"]: r for r in records if r["kind"] == "zone"}
    assert zones["DEMO-T11"]["level_24h"] == 4
    [swi, rain] = zones["DEMO-T11"]["drivers"]["24h"]
    assert swi["quantity"] == "SWI" and rain["colour"] == "orange" and "≥ 橙色阈值" in rain["text"]
    assert zones["DEMO-T11"]["swi_max"] > 100 and zones["DEMO-T11"]["effective_rain"] > 120


def test_table_says_cold_start_and_names_levels(committed_config):
    result = CliRunner().invoke(app, ["landslide", str(DEMO), "--no-points", "--config", str(committed_config)],
                                env={"NO_COLOR": "1"})
    assert result.exit_code == 0
    assert "cold start" in result.output and "红色 red" in result.output and "未知" in result.output


def test_missing_forecast_fails_with_its_name(committed_config):
    result = CliRunner().invoke(app, ["landslide", "nowhere.nc", "--config", str(committed_config)])
    assert result.exit_code == 1 and "nowhere.nc" in result.output
