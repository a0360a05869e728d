"""River scoring through the registry, on a store with stage readings: the MWR ladder per gauge, unknown when
stale, the leads from the rate of rise, red unavailable where the highest recorded stage is declared missing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import geopandas as gpd
import pytest
import yaml

from tests.conftest import ROOT, committed_data
from warn import hazards
from warn.config import load_settings
from warn.cycle import open_ingester
from warn.sources.readings import FlaggedReading, Reading
from warn.vocab import Level, QCFlag

NOW = datetime(2026, 7, 15, 6, tzinfo=UTC)


def stages(sensor_id: str, latest_m: float, rate_m_per_h: float, until: datetime = NOW):
    """Readings every 5 min over the last hour, rising at ``rate_m_per_h`` to ``latest_m``."""
    return [FlaggedReading(Reading(sensor_id, until - timedelta(minutes=m), round(latest_m - rate_m_per_h * m / 60, 4),
                                   "m", until), QCFlag.GOOD) for m in range(60, -1, -5)]


def scored(tmp_path, readings, *, edit=None):
    data = committed_data(tmp_path)
    if edit is not None:
        edit(data)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    settings = load_settings(path)
    ingester = open_ingester(settings)
    ingester.store.write_readings(readings)
    (river,) = hazards.deployed(settings, only="river")
    result = river.spec.score(hazards.context(settings, river, None, NOW, store=ingester.store))
    ingester.store.close()
    return {item.item_id: item for item in result.items}, result


def test_the_gauges_on_the_mwr_ladder(tmp_path):
    # warning / guaranteed stages: R01 4.5 / 6.0, R02 5.0 / 6.5, R03 5.5 / 7.0 (geodata/yubei.gpkg, synthetic)
    items, result = scored(tmp_path, stages("RS-DEMO-R01", 4.8, 0.3) + stages("RS-DEMO-R02", 6.6, 0.0))
    r01, r02, r03 = items["DEMO-R01"], items["DEMO-R02"], items["DEMO-R03"]
    assert r01.item == "gauge" and r01.levels["now"] is Level.YELLOW  # 超警戒 0.3 m
    assert r01.levels["2h"] is Level.YELLOW and r01.levels["24h"] is Level.ORANGE  # 保证 6.0 m in 4 h at 0.3 m/h
    assert r01.drivers["now"][0].startswith("水位 4.80 m，超警戒水位 0.30 m（警戒水位 4.50 m）")
    assert r01.values["stage_m"] == pytest.approx(4.8) and r01.values["minutes_to_next"] == pytest.approx(240)
    assert r02.levels["now"] is Level.ORANGE  # 超保证, and no record to reach red: it says so
    assert any("红色不能由水位判定" in d for d in r02.drivers["now"])
    assert r03.levels == {"now": Level.UNKNOWN, "2h": Level.UNKNOWN, "24h": Level.UNKNOWN}  # silent: never none
    assert any("DEMO-R03" in n and "数据中断" in n for n in result.notices)


def river_model(tmp_path, unavailable: str):
    """A copy of models/river.yaml whose gauges without a record are ``unavailable`` (a YAML list)."""
    path = tmp_path / "river.yaml"
    text = (ROOT / "models" / "river.yaml").read_text(encoding="utf-8")
    path.write_text(text.replace("unavailable: [DEMO-R01, DEMO-R02, DEMO-R03]", f"unavailable: {unavailable}"),
                    encoding="utf-8")
    return path


def test_a_highest_recorded_stage_in_the_layer_makes_red_reachable(tmp_path):
    layer = gpd.read_file(ROOT / "geodata" / "yubei.gpkg", layer="river_gauges")
    layer["highest_stage_m"] = [7.0, 7.5, 8.0]
    layer.to_file(tmp_path / "gauges.gpkg", layer="river_gauges")
    model = river_model(tmp_path, "[]")

    def edit(data):
        data["layers"]["river_gauges"]["path"] = str(tmp_path / "gauges.gpkg")
        data["hazards"]["river"]["model"] = str(model)

    items, result = scored(tmp_path, stages("RS-DEMO-R01", 7.2, 0.1), edit=edit)
    assert items["DEMO-R01"].levels["now"] is Level.RED
    assert items["DEMO-R01"].drivers["now"][0].startswith("水位 7.20 m，超历史最高水位 0.20 m")
    assert not any("highest_stage_m" in n for n in result.notices)


def test_an_undeclared_missing_record_is_a_notice(tmp_path):
    model = river_model(tmp_path, "[DEMO-R02, DEMO-R03]")

    def edit(data):
        data["hazards"]["river"]["model"] = str(model)

    _, result = scored(tmp_path, stages("RS-DEMO-R01", 4.0, 0.0), edit=edit)
    assert any("DEMO-R01" in n and "highest_stage_m" in n for n in result.notices)
