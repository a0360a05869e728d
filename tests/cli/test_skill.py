"""`warn skill`: the NASA GLC China subset against a hand-made warning history on 1° cells
over Chongqing (the case of tests/risk/test_skill.py), JSON keys and numbers, the table,
and failures that name the file, line and column."""

from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box
from typer.testing import CliRunner

from tests.conftest import DATA, ROOT
from warn.cli.main import app
from warn.risk.skill import COLUMNS

CONFIG = str(ROOT / "config.yaml")
GLC = DATA / "nasa_glc_china_subset.csv"
# Cells holding GLC events 2096 (108.70 E 31.91 N), 4360 (108.65 E 29.51 N), 2595 (109.04 E 31.06 N).
WARNINGS = """issued_at,zone_id,level,lead,valid_from,valid_to
2010-07-18T17:00:00+08:00,C108-31,orange,24h,2010-07-18T20:00:00+08:00,2010-07-19T20:00:00+08:00
2012-05-15T06:00:00+08:00,C108-29,2,24h,2012-05-15T08:00:00+08:00,2012-05-15T20:00:00+08:00
2010-10-14T17:00:00+08:00,C109-31,蓝色,24h,2010-10-14T20:00:00+08:00,2010-10-15T20:00:00+08:00
2011-06-01T17:00:00+08:00,C105-28,red,24h,2011-06-01T20:00:00+08:00,2011-06-02T20:00:00+08:00
"""
PERIOD = ["--start", "2007-01-01T20:00:00+08:00", "--end", "2013-01-01T20:00:00+08:00"]


@pytest.fixture
def cells(tmp_path):
    """1° cells 105–110 E × 28–33 N as GeoJSON, ids C<lon>-<lat>."""
    path = tmp_path / "cells.geojson"
    zones = [(f"C{x}-{y}", box(x, y, x + 1, y + 1)) for x in range(105, 110) for y in range(28, 33)]
    gpd.GeoDataFrame({"cell": [z for z, _ in zones]}, geometry=[g for _, g in zones], crs="EPSG:4326").to_file(path)
    return path


@pytest.fixture
def chongqing(tmp_path):
    """The GLC header and the 7 rows whose admin_division_name contains Chongqing, copied verbatim."""
    lines = GLC.read_text(encoding="utf-8").splitlines(keepends=True)
    path = tmp_path / "glc_chongqing.csv"
    path.write_text(lines[0] + "".join(line for line in lines[1:] if ",Chongqing Shi," in line), encoding="utf-8")
    return path


def flat(text):
    """Output with rich's line wrapping undone."""
    return " ".join(text.split())


def invoke(tmp_path, cells, *args, warnings=WARNINGS, events=GLC):
    path = tmp_path / "warnings.csv"
    path.write_text(warnings, encoding="utf-8")
    return CliRunner().invoke(app, ["skill", str(events), "--warnings", str(path), "--layer", str(cells),
                                    "--id-field", "cell", "--config", CONFIG, *args], env={"NO_COLOR": "1"})


def test_json_scores_the_chongqing_events(tmp_path, cells, chongqing):
    result = invoke(tmp_path, cells, "--json", *PERIOD, events=chongqing)
    assert result.exit_code == 0, result.output
    records = json.loads(result.output)
    assert [list(r) for r in records] == [list(COLUMNS)] * 12
    assert [(r["lead"], r["level"]) for r in records] == [(lead, level) for lead in ("now", "2h", "24h")
                                                           for level in (1, 2, 3, 4)]
    day = {r["level"]: r for r in records if r["lead"] == "24h"}
    units = 25 * 2192
    for level, (a, b, c) in {1: (2, 2, 5), 2: (2, 1, 5), 3: (1, 1, 6), 4: (0, 1, 7)}.items():
        r = day[level]
        assert (r["hits"], r["false_alarms"], r["misses"], r["correct_negatives"]) == (a, b, c, units - a - b - c)
        assert r["pod"] == r["hit_rate"] == round(a / (a + c), 4)
        assert r["far"] == r["false_alarm_ratio"] == round(b / (a + b), 4)
        assert r["csi"] == round(a / (a + b + c), 4) and r["miss_rate"] == round(c / (a + c), 4)
        assert r["events"] == 7
    assert day[1]["tss"] == round(2 / 7 - 2 / (units - 7), 4)
    now = records[0]
    assert (now["hits"], now["misses"], now["pod"], now["far"], now["csi"]) == (0, 7, 0.0, None, 0.0)


def test_default_period_follows_the_warnings(tmp_path, cells, chongqing):
    result = invoke(tmp_path, cells, "--json", events=chongqing)
    assert result.exit_code == 0, result.output
    blue = next(r for r in json.loads(result.output) if r["lead"] == "24h" and r["level"] == 1)
    assert (blue["events"], blue["hits"], blue["misses"]) == (4, 2, 2)


def test_plain_time_lon_lat_file_and_accuracy_filter(tmp_path, cells, chongqing):
    events = tmp_path / "events.csv"
    events.write_text("time,lon,lat\n2010-07-19T08:00:00,108.6989,31.9111\n"
                      "2012-04-14T09:00:00+08:00,106.5361,29.5177\n", encoding="utf-8")
    result = invoke(tmp_path, cells, "--json", events=events)
    assert result.exit_code == 0, result.output
    blue = next(r for r in json.loads(result.output) if r["lead"] == "24h" and r["level"] == 1)
    assert (blue["hits"], blue["misses"], blue["events"]) == (1, 1, 2)
    # Located within 25 km: 4322, 53 (5km), 4360 (1km, warned yellow: a hit), 405 (25km).
    result = invoke(tmp_path, cells, "--json", "--max-location-km", "25", *PERIOD, events=chongqing)
    assert result.exit_code == 0, result.output
    blue = next(r for r in json.loads(result.output) if r["lead"] == "24h" and r["level"] == 1)
    assert (blue["events"], blue["hits"], blue["misses"]) == (4, 1, 3)


def test_table_has_chinese_headers_first(tmp_path, cells, chongqing):
    result = invoke(tmp_path, cells, *PERIOD, events=chongqing)
    assert result.exit_code == 0, result.output
    text = flat(result.output)
    for words in ("预警检验 / warning skill", "命中率", "POD", "空报率", "FAR", "漏报率", "橙色 orange",
                  "25 区 zones × 2192 时段 windows", "区外 outside zones 0", "参与 used 7"):
        assert words in text


def test_whole_catalogue_counts_events_outside_the_cells(tmp_path, cells):
    frame = pd.read_csv(GLC)
    inside = frame["longitude"].between(105, 110) & frame["latitude"].between(28, 33)
    result = invoke(tmp_path, cells, *PERIOD)
    assert result.exit_code == 0, result.output
    assert f"区外 outside zones {int((~inside).sum())}" in flat(result.output)
    assert int(inside.sum()) > 7  # the box holds more than the 7 events tagged Chongqing Shi


def test_bad_warning_line_names_file_line_and_column(tmp_path, cells):
    bad = WARNINGS + "2011-06-01T17:00:00+08:00,C105-28,purple,24h,2011-06-01T20:00:00+08:00,2011-06-02T20:00:00\n"
    result = invoke(tmp_path, cells, "--json", warnings=bad)
    assert result.exit_code == 1
    assert f"{tmp_path / 'warnings.csv'}:6: level: expected 0–4 or a colour" in flat(result.output)
    assert "'purple'" in result.output


@pytest.mark.parametrize("row, column", [
    ("2011-06-01T17:00:00,C999-99,red,24h,2011-06-01T20:00:00,2011-06-02T20:00:00", "zone_id"),
    ("2011-06-01T17:00:00,C105-28,red,48h,2011-06-01T20:00:00,2011-06-02T20:00:00", "lead"),
    ("2011-06-01T17:00:00,C105-28,red,24h,2011-06-02T20:00:00,2011-06-01T20:00:00", "valid_to"),
    ("yesterday,C105-28,red,24h,2011-06-01T20:00:00,2011-06-02T20:00:00", "issued_at"),
])
def test_each_warning_column_is_checked(tmp_path, cells, row, column):
    result = invoke(tmp_path, cells, warnings=WARNINGS + row + "\n")
    assert result.exit_code == 1
    assert f"warnings.csv:6: {column}: expected" in flat(result.output)


def test_bad_event_line_names_file_line_and_column(tmp_path, cells):
    events = tmp_path / "events.csv"
    events.write_text("time,lon,lat\n2010-07-19T08:00:00,108.7,31.9\n2010-07-19T08:00:00,east,31.9\n", encoding="utf-8")
    result = invoke(tmp_path, cells, events=events)
    assert result.exit_code == 1
    assert f"{events}:3: lon: expected degrees from -180 to 180" in flat(result.output) and "'east'" in result.output


def test_glc_date_in_another_format_is_refused(tmp_path, cells):
    events = tmp_path / "glc.csv"
    lines = GLC.read_text(encoding="utf-8").splitlines(keepends=True)
    events.write_text(lines[0] + lines[1].replace("8/1/2008 0:00", "2008-08-01"), encoding="utf-8")
    result = invoke(tmp_path, cells, events=events)
    assert result.exit_code == 1
    assert f"{events}:2: event_date: expected a GLC date M/D/YYYY H:MM" in flat(result.output)


def test_events_without_the_columns_are_refused(tmp_path, cells):
    events = tmp_path / "events.csv"
    events.write_text("when,x,y\n", encoding="utf-8")
    result = invoke(tmp_path, cells, events=events)
    assert result.exit_code == 1
    assert f"{events}:1: expected columns time,lon,lat" in flat(result.output)


@pytest.mark.parametrize("args, text", [
    (["--window-start", "8pm"], "--window-start: expected a local time HH:MM"),
    (["--start", "2010-01-01T00:00:00"], "--start/--end: expected both or neither"),
])
def test_bad_options_exit_2(tmp_path, cells, args, text):
    result = invoke(tmp_path, cells, *args)
    assert result.exit_code == 2
    assert text in flat(result.output)


def test_unknown_layer_exits_2(tmp_path, cells):
    result = invoke(tmp_path, "nowhere", "--json")
    assert result.exit_code == 2
    assert "--layer: expected a layer named in config.yaml (district, towns" in flat(result.output)


def test_configured_layer_by_name(tmp_path, cells):
    # The demo towns hold none of these events; the warnings name cells, not towns: refused, line 2.
    result = CliRunner().invoke(app, ["skill", str(GLC), "--warnings", str(tmp_path / "w.csv"), "--config", CONFIG],
                                env={"NO_COLOR": "1"})
    assert result.exit_code == 1 and "w.csv: expected a CSV file, readable, got No such file" in flat(result.output)
    (tmp_path / "w.csv").write_text(WARNINGS, encoding="utf-8")
    result = CliRunner().invoke(app, ["skill", str(GLC), "--warnings", str(tmp_path / "w.csv"), "--config", CONFIG],
                                env={"NO_COLOR": "1"})
    assert result.exit_code == 1
    assert "w.csv:2: zone_id: expected a zone id of towns, got 'C108-31'" in flat(result.output)


def test_a_pipe_as_the_event_list_is_refused_at_once(tmp_path, cells):
    import os

    fifo = tmp_path / "events.csv"
    os.mkfifo(fifo)
    result = invoke(tmp_path, cells, events=fifo)
    assert result.exit_code == 1
    assert f"{fifo}: expected a CSV file as a regular file, got a named pipe (FIFO)" in flat(result.output)
