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
    return path, CliRunner().invoke(app, ["qc", str(path), "--at", "2026-07-15T00:31:00Z", "--config", CONFIG, *args],
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


def limited_config(tmp_path, **files) -> str:
    """The committed deployment with ``files:`` limits set."""
    import yaml

    from tests.conftest import committed_data

    data = committed_data(tmp_path) | {"files": files}
    path = tmp_path / "limited.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return str(path)


def series_of(rows: int) -> str:
    """A ``time,value`` CSV of ``rows`` readings 5 min apart from 2026-07-01, rising 1 mm a reading from 0.2 m."""
    return "time,value\n" + "".join(f"2026-07-{1 + k // 288:02d}T{k // 12 % 24:02d}:{k % 12 * 5:02d}:00Z,"
                                    f"{0.2 + k / 1000:.3f}\n" for k in range(rows))


def test_more_rows_than_the_limit_are_refused_naming_the_line_and_the_key(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text(series_of(6), encoding="utf-8")
    result = CliRunner().invoke(app, ["qc", str(path), "--json", "--config", limited_config(tmp_path, max_qc_rows=5)],
                                env={"NO_COLOR": "1"})
    assert result.exit_code == 1, result.output
    said = " ".join(result.output.split())
    assert f"{path}:7: expected at most 5 rows of readings, got more (split the series, or raise " \
           "files.max_qc_rows in config.yaml)" in said


def test_a_file_over_the_size_limit_or_a_pipe_is_refused_before_reading(tmp_path):
    import os

    path = tmp_path / "long.csv"
    path.write_text(series_of(6), encoding="utf-8")
    result = CliRunner().invoke(app, ["qc", str(path), "--config", limited_config(tmp_path, max_qc_bytes=100)],
                                env={"NO_COLOR": "1"})
    assert result.exit_code == 1 and "expected a time,value CSV of at most 100 bytes" in " ".join(result.output.split())
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    result = CliRunner().invoke(app, ["qc", str(fifo), "--config", CONFIG], env={"NO_COLOR": "1"})
    assert result.exit_code == 1 and "got a named pipe (FIFO)" in " ".join(result.output.split())


def test_a_long_series_lists_only_its_flagged_readings_in_the_table(tmp_path):
    from warn.cli.qc import TABLE_ROWS

    text = series_of(TABLE_ROWS + 1).replace(",0.200\n", ",9.500\n", 1)  # the first reading out of range
    _, result = invoke(tmp_path, text, "--at", "2026-07-05T00:00:00Z")
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert f"{TABLE_ROWS + 1:,} readings: only the first 1 not flagged good are listed (--json lists all)" in said
    assert said.count("错误 bad") == 2  # the row and the count under the table


def test_a_file_is_judged_as_of_its_last_reading_by_default(tmp_path):
    """Issue 16: without a time, last summer's file was judged against the wall clock — every reading
    "bad: ancient_time" — and the option was --now where every other command says --at."""
    path = tmp_path / "series.csv"
    path.write_text(SERIES, encoding="utf-8")
    result = CliRunner().invoke(app, ["qc", str(path), "--json", "--config", CONFIG], env={"NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    rules = [r["rule"] for r in json.loads(result.output)]
    judged_then = [r["rule"] for r in json.loads(invoke(tmp_path, SERIES, "--json")[1].output)]
    assert "ancient_time" not in rules and rules == judged_then
    naive = CliRunner().invoke(app, ["qc", str(path), "--at", "2026-07-15T00:31:00", "--config", CONFIG],
                               env={"NO_COLOR": "1"})
    assert naive.exit_code == 2 and "--at" in naive.output
