"""A cycle's now from observations, end to end: the demo world's radar frames and rain gauges over HTTP,
the analysis, the state advanced through the observed hour, the drivers saying so — and, with radar and
gauges both down, a data notice and the forecast carrying the now, labelled."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import yaml
from typer.testing import CliRunner

from tests.conftest import committed_data
from warn.cli.main import app

PERIOD = ["--from", "2026-07-15T02:50Z", "--to", "2026-07-15T03:10Z", "--every", "PT10M", "--step", "PT10M"]


def replay(tmp_path: Path, change=lambda data: None) -> sqlite3.Connection:
    """The demo storm replayed over :data:`PERIOD` with the committed deployment (changed by ``change``)."""
    data = committed_data(tmp_path)
    change(data)
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = CliRunner().invoke(app, ["replay", "--demo", "--out", str(tmp_path / "out"), *PERIOD,
                                      "--config", str(config)], env={"NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    return sqlite3.connect(tmp_path / "out" / "warn.db")


def cycle_inputs(db: sqlite3.Connection, at: str) -> dict:
    (inputs,) = db.execute("select inputs from cycles where at like ?", (f"{at}%",)).fetchone()
    return json.loads(inputs)


def drivers(db: sqlite3.Connection, at: str, hazard: str, lead: str) -> list[list[str]]:
    """Each item's drivers in the level sets the cycle at ``at`` recorded for ``hazard`` and ``lead``."""
    rows = db.execute("select drivers from level_sets where cycle_at like ? and hazard = ? and lead = ?",
                      (f"{at}%", hazard, lead)).fetchall()
    return [texts for r in rows for texts in json.loads(r[0])]


def test_the_now_follows_the_analysed_rain_and_the_drivers_say_so(tmp_path):
    db = replay(tmp_path)
    at_three = cycle_inputs(db, "2026-07-15 03:00")
    observed = at_three["observed"]
    assert observed["t0"] == "2026-07-15T03:00:00+00:00" and observed["observed"] is True
    assert [h["end"] for h in observed["advanced"]] == ["2026-07-15T03:00:00+00:00"]
    assert observed["advanced"][0]["origin"] in ("radar", "radar adjusted to gauges")
    assert observed["analysis"]["gauges"]["reporting"] == 21 and not observed["analysis"]["radar"]["down"]
    assert observed["nowcast"]["issued"] == "2026-07-15T03:00:00+00:00"
    assert at_three["forecast"]["basis"] == "t0=2026-07-15T03:00:00+00:00;nowcast=2026-07-15T03:00:00+00:00"
    for hazard in ("landslide", "waterlogging", "flashflood"):
        now = drivers(db, "2026-07-15 03:00", hazard, "now")
        assert now and all(any("实测降雨驱动至 11:00" in line and "observed rain up to 03:00Z" in line
                                   for line in lines) for lines in now), hazard
        soon = drivers(db, "2026-07-15 03:00", hazard, "2h")
        assert all(any("雷达外推临近预报" in line for line in lines) for lines in soon), hazard
    # ten minutes later the hour ending 03:00 is still the now: nothing is advanced twice
    assert cycle_inputs(db, "2026-07-15 03:10")["observed"]["advanced"] == []
    assert not any("预报推算" in p for p in at_three["problems"])


def test_with_neither_radar_nor_gauges_the_forecast_carries_the_now_and_says_so(tmp_path):
    def down(data):
        del data["observed"]["radar"]  # (a radar that stops answering: tests/cycle/test_observed.py)
        data["observed"]["gauges"] = False

    db = replay(tmp_path, down)
    observed = cycle_inputs(db, "2026-07-15 03:00")["observed"]
    assert observed["observed"] is False and observed["advanced"] == [] and observed["nowcast"] is None
    assert observed["t0"] == "2026-07-15T03:00:00+00:00"
    problems = cycle_inputs(db, "2026-07-15 03:00")["problems"]
    assert any("雷达与雨量站均无数据" in p and "radar and gauges both down" in p for p in problems)
    assert any("由预报推算" in p and "carried by the forecast" in p for p in problems)
    for hazard in ("landslide", "waterlogging"):
        now = drivers(db, "2026-07-15 03:00", hazard, "now")
        assert now and all(any("由预报推算至 11:00" in line for line in lines) for lines in now), hazard
        soon = drivers(db, "2026-07-15 03:00", hazard, "2h")
        assert all(any("无临近预报" in line and "no nowcast" in line for line in lines) for lines in soon), hazard
