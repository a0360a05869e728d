"""`warn flood` on the demo forecast: JSON schema, unknown never reported as clear, errors."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from tests.conftest import ROOT
from warn.cli.main import app

DEMO = ROOT / "demo" / "forecast" / "yubei-demo-analogue_2026071500.nc"
KEYS = ["point_id", "level_now", "level_2h", "level_24h", "depth_cm", "minutes_to_next", "drivers"]


def test_json_per_point_and_gauge(committed_config):
    result = CliRunner().invoke(app, ["flood", str(DEMO), "--json", "--config", str(committed_config)])
    assert result.exit_code == 0, result.output
    records = json.loads(result.output)
    assert [r["kind"] for r in records].count("point") == 25 and [r["kind"] for r in records].count("gauge") == 3
    for record in records:
        assert all(key in record for key in KEYS)
        assert record["level_now"] == -1  # no sensor readings, no bucket state: unknown, not "none"
        assert record["complete"] is False
    w25 = next(r for r in records if r["point_id"] == "DEMO-W25")
    assert w25["level_24h"] >= 1
    assert any("重现期" in d["text"] and "≥" in d["text"] for d in w25["drivers"]["24h"])


def test_table_lists_data_quality_notices(committed_config):
    result = CliRunner().invoke(app, ["flood", str(DEMO), "--config", str(committed_config)], env={"NO_COLOR": "1"})
    assert result.exit_code == 0
    assert "数据质量" in result.output and "WL-DEMO-W01" in result.output and "DEMO-R01" in result.output


def test_missing_forecast(committed_config):
    result = CliRunner().invoke(app, ["flood", "nowhere.nc", "--config", str(committed_config)])
    assert result.exit_code == 1 and "nowhere.nc" in result.output
