"""Sensor-first waterlogging through the hazard's scoring, on a store with sensor readings.

Two hourly cycles of a heavy storm over every point (the model alone says red now and
ahead); the sensors in the store decide the level now where they are healthy: W25 reading
0.20 m under its red depth of 0.30 m is yellow (issue 16), W23 reading 0.35 m is red, and W24,
whose latest reading QC flagged as a spike, is left to the model, which may raise it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
import yaml

from tests.conftest import committed_data
from tests.factories import hazard_context
from warn.config import load_settings
from warn.cycle import open_ingester
from warn.hazards.waterlogging.scoring import score, score_waterlogging
from warn.rainarray import make_rain
from warn.sources.readings import FlaggedReading, Reading
from warn.vocab import Level, QCFlag

T0 = datetime(2026, 7, 15, 0, tzinfo=UTC)
LAT = np.arange(29.40, 30.20, 0.05)
LON = np.arange(106.30, 107.20, 0.05)


def storm(issued: datetime, hours: int = 6, mm_per_h: float = 80.0):
    """A run issued at ``issued``: ``mm_per_h`` everywhere for ``hours`` hours, then dry to +24 h."""
    values = np.zeros((24, LAT.size, LON.size), dtype=np.float32)
    values[:hours] = mm_per_h
    start = np.datetime64(issued.replace(tzinfo=None), "s")
    times = start + np.arange(1, 25) * np.timedelta64(1, "h")
    return make_rain(values, time=times, lat=LAT, lon=LON, step=timedelta(hours=1), source="test storm",
                     issued_at=start)


def readings(sensor_id: str, depth_m: float, until: datetime, *, last: QCFlag = QCFlag.GOOD, rule: str = ""):
    """Seven readings every 5 min up to ``until``, the last flagged ``last``."""
    times = [until - timedelta(minutes=5 * k) for k in range(6, -1, -1)]
    return [FlaggedReading(Reading(sensor_id, t, depth_m, "m", t), last if t == until else QCFlag.GOOD,
                           rule if t == until else "") for t in times]


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sensor_first")
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(committed_data(tmp), allow_unicode=True), encoding="utf-8")
    settings = load_settings(path)
    ingester = open_ingester(settings)
    store = ingester.store
    score_waterlogging(hazard_context(settings, "waterlogging", storm(T0), store=store, persist=True))
    now = T0 + timedelta(hours=3)
    store.write_readings(readings("WL-DEMO-W25", 0.20, now) + readings("WL-DEMO-W23", 0.35, now)
                         + readings("WL-DEMO-W24", 0.02, now, last=QCFlag.BAD, rule="spike"))
    result = score_waterlogging(hazard_context(settings, "waterlogging", storm(now), store=store))
    scored = score(hazard_context(settings, "waterlogging", storm(now), store=store))
    store.close()
    return {item.item_id: item for item in result.items}, {item.item_id: item for item in scored.items}, result


def test_a_healthy_sensor_under_red_governs_now_and_the_model_the_leads(scored):
    items, registry, _ = scored
    w25 = items["DEMO-W25"]
    assert w25.levels["now"] is Level.YELLOW  # 0.20 m: yellow by its depths (15/30 cm), never the model's red
    assert w25.levels["2h"] is Level.RED and w25.levels["24h"] is Level.RED  # the storm ahead, by the model
    assert w25.complete and w25.depth_cm == pytest.approx(20.0)
    assert registry["DEMO-W25"].drivers["now"][0].startswith("实测积水 0.20 m（传感器正常）")
    assert any(d.startswith("积水监测 20.0 cm ≥ 黄色阈值 15.0 cm") for d in registry["DEMO-W25"].drivers["now"])
    assert any("重现期" in d for d in registry["DEMO-W25"].drivers["2h"])


def test_a_healthy_sensor_above_red_is_red(scored):
    items, _, _ = scored
    assert items["DEMO-W23"].levels["now"] is Level.RED and items["DEMO-W23"].complete


def test_a_suspect_sensor_lets_the_model_raise_now(scored):
    items, registry, result = scored
    w24 = items["DEMO-W24"]
    assert w24.levels["now"] is Level.RED and not w24.complete  # the model's red: the spike is not believed
    assert registry["DEMO-W24"].drivers["now"][0].startswith("模型估算（传感器失效：最新读数未通过质控（spike））")
    assert any("WL-DEMO-W24" in n and "spike" in n for n in result.notices)
    # a point whose sensor sent nothing is the model's too, and says so
    assert items["DEMO-W01"].levels["now"] is Level.RED
    assert registry["DEMO-W01"].drivers["now"][0].startswith("模型估算（传感器失效：数据中断）")
