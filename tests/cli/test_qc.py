"""`warn qc FILE.csv`: JSON keys and flags, the table, and clear failures."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from tests.conftest import ROOT
from warn.cli.main import app

CONFIG = str(ROOT / "config.yaml")
SERIES = """time,value
2026-07-15T08:00:00+08:00,0.20
2026-07-15T08:05:00+08:00,0.21
2026-07-15T08:10:00+08:00,0.45
2026-07-15T08:15:00+08:00,0.22
2026-07-15T08:20:00+08:00,
2026-07-15T08:25:00+08:00,3.0
2026-07-15T00:30:00,0.23
"""


def invoke(tmp_path, text, *args):
    path = tmp_path / "series.csv"
    path.write_text(text, encoding="utf-8")
    return path, CliRunner().invoke(app, ["qc", str(path), "--now", "2026-07-15T00:31:00", "--config", CONFIG, *args],
                                    env={"NO_COLOR": "1"})


def test_json_lists_every_reading_with_flag_and_rule(tmp_path):
    _, result = invoke(tmp_path, SERIES, "--json")
    assert result.exit_code == 0, result.output
    records = json.loads(result.output)
    assert [list(r) for r in records] == [["time", "value", "flag", "rule"]] * 7
    assert records[0]["time"] == "2026-07-15T00:00:00+00:00"
    assert [(r["flag"], r["rule"]) for r in records] == [
        ("good", ""), ("good", ""), ("doubtful", "spike"), ("good", ""), ("missing", "missing"),
        ("bad", "hard_range"), ("good", ""),
    ]
    assert records[4]["value"] is None


def test_sensor_type_chooses_the_thresholds(tmp_path):
    _, result = invoke(tmp_path, SERIES, "--json", "--sensor-type", "rain_gauge")
    assert result.exit_code == 0, result.output
    assert [r["flag"] for r in json.loads(result.output)] == ["good"] * 4 + ["missing"] + ["good"] * 2


def test_table_writes_flags_in_words(tmp_path):
    _, result = invoke(tmp_path, SERIES)
    assert result.exit_code == 0, result.output
    assert "存疑 doubtful" in result.output and "孤立尖峰 spike" in result.output
    assert "错误 bad" in result.output and "缺测 missing" in result.output


def test_bad_csv_names_file_line_and_expectation(tmp_path):
    path, result = invoke(tmp_path, "time,value\n2026-07-15T08:00:00+08:00,0.2\nyesterday,0.3\n", "--json")
    assert result.exit_code == 1
    assert f"{path}:3: time: expected an ISO-8601 time" in result.output and "'yesterday'" in result.output
    path, result = invoke(tmp_path, "time,value\n2026-07-15T08:00:00+08:00,deep\n")
    assert result.exit_code == 1
    assert f"{path}:2: value: expected a number or nothing" in result.output
    path, result = invoke(tmp_path, "when,depth\n")
    assert result.exit_code == 1
    assert f"{path}:1: expected the header time,value" in result.output


def test_missing_file_and_usage_errors(tmp_path):
    result = CliRunner().invoke(app, ["qc", str(tmp_path / "nowhere.csv"), "--config", CONFIG])
    assert result.exit_code == 1 and "nowhere.csv" in result.output
    _, result = invoke(tmp_path, SERIES, "--sensor-type", "thermometer")
    assert result.exit_code == 2
