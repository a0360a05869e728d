"""``warn hindcast``: the demo storm replayed on the perfect forecast (t) and the imperfect runs (a), compared."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tests.conftest import ROOT
from warn.cli.main import app

WINDOW = ["--from", "2026-07-15T03:00Z", "--to", "2026-07-15T05:00Z", "--every", "PT30M", "--step", "PT10M"]


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    out = tmp_path_factory.mktemp("hindcast")
    result = CliRunner().invoke(app, ["hindcast", *WINDOW, "--configs", "t,a", "--out", str(out), "--json",
                                      "--config", str(ROOT / "config.yaml")], env={"NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    return json.loads(result.output), out


def test_each_configuration_is_replayed_into_its_own_store(compared):
    record, out = compared
    assert record["from"] == "2026-07-15T03:00:00+00:00" and record["to"] == "2026-07-15T05:00:00+00:00"
    assert list(record["configurations"]) == ["t", "a"]
    assert all(c["cycles"] == 5 for c in record["configurations"].values())
    assert (out / "t" / "warn.db").is_file() and (out / "a" / "warn.db").is_file()
    assert {row["configuration"] for row in record["rows"]} == {"t", "a"}
    assert {row["hazard"] for row in record["rows"]} >= {"landslide", "waterlogging", "flashflood", "river"}


def test_the_reference_hits_every_crossing_and_the_late_displaced_forecast_misses_some(compared):
    record, _ = compared
    rows = {(r["configuration"], r["hazard"], r["level"]): r for r in record["rows"]}
    for (config, hazard, level), row in rows.items():
        assert row["events"] == rows["t", hazard, level]["events"]  # one reference for every configuration
        assert row["hits"] + row["misses"] == row["events"] and row["late"] <= row["misses"]
        if config == "t":
            assert row["misses"] == 0
        if row["hits"] == 0:
            assert row["lead_median_min"] is None and row["lead_min_min"] is None
        else:
            assert 0 <= row["lead_min_min"] <= row["lead_median_min"]
    landslide = [rows["a", "landslide", level] for level in (1, 2, 3)]
    assert sum(r["events"] for r in landslide) > 0
    assert sum(r["misses"] for r in landslide) > 0  # 12 km off and 1 h late: some zones are warned too late


def test_an_unknown_configuration_is_refused_saying_which(tmp_path):
    result = CliRunner().invoke(app, ["hindcast", *WINDOW, "--configs", "t,x", "--out", str(tmp_path),
                                      "--config", str(ROOT / "config.yaml")], env={"NO_COLOR": "1"})
    assert result.exit_code == 2
    assert "--configs" in result.output and "x" in result.output and "t, a, b" in result.output
