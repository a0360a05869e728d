"""Scoring 山洪 on the demo storm: catchments raised, cold start said, the state carried hour to hour,
missing rain unknown (never none), bad catchment attributes named."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import yaml

from tests.conftest import ROOT, committed_data
from warn.config import Settings, load_settings
from warn.cycle.rain import open_location
from warn.declarative import parse_file
from warn.errors import ConfigError
from warn.hazards.flashflood.model import FlashFloodFile
from warn.hazards.flashflood.scoring import STATE_MODEL, score
from warn.hazards.spec import Context, HazardSection
from warn.store import Store
from warn.vocab import Level

DEMO_RUN = ROOT / "demo" / "forecast" / "yubei-demo-analogue_2026071500.nc"
T0 = datetime(2026, 7, 15, tzinfo=UTC)
PARAMS = parse_file(FlashFloodFile, ROOT / "models" / "flashflood.yaml").params()
SECTION = HazardSection(model=ROOT / "models" / "flashflood.yaml", layers={"catchments": "catchments"})


def _settings(tmp_path: Path, edit=None) -> Settings:
    data = committed_data(tmp_path)
    if edit is not None:
        edit(data)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return load_settings(path)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return _settings(tmp_path)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store.connect(f"sqlite:///{tmp_path / 'warn.sqlite'}")
    store.upgrade()
    return store


@pytest.fixture(scope="module")
def demo_rain():
    return open_location(_settings_for_reading(), str(DEMO_RUN))


def _settings_for_reading() -> Settings:
    return load_settings(ROOT / "config.yaml")


def _run(rain, hours: int):
    """The demo run as if issued ``hours`` later (its first hours dropped)."""
    later = rain.isel(time=slice(hours, None)).copy()
    later.attrs = {**rain.attrs, "issued_at": (T0 + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")}
    return later


def _context(settings, rain, at, store=None, persist=False) -> Context:
    return Context(settings, SECTION, PARAMS, rain, at, at, store=store, persist=persist)


def test_the_demo_storm_raises_a_catchment_and_a_cold_start_leaves_now_unknown(settings, store, demo_rain):
    scored = score(_context(settings, demo_rain, T0, store))
    raised = [item for item in scored.items if item.levels["24h"] >= Level.YELLOW]
    assert raised, "the demo storm raises no catchment to yellow within 24 h"
    assert all(item.levels["now"] is Level.UNKNOWN for item in scored.items)
    assert scored.notes[0].startswith("冷启动")
    assert all(item.item == "catchment" for item in scored.items)
    worst = max(raised, key=lambda item: item.levels["24h"])
    assert "准备转移临界雨量" in worst.drivers["24h"][0] and "mm" in worst.drivers["24h"][0]
    assert worst.values["rain_1h_mm"] > 0 and worst.values["evacuate_3h_mm"] > worst.values["prepare_3h_mm"]


def test_hourly_cycles_carry_the_state_and_the_level_now_follows_the_storm(settings, store, demo_rain):
    levels_now = []
    for hour in range(9):
        scored = score(_context(settings, _run(demo_rain, hour), T0 + timedelta(hours=hour), store, persist=True))
        levels_now.append({item.item_id: item.levels["now"] for item in scored.items})
    assert "仅自冷启动起算 8 h" in scored.notes[0]
    # six hours kept before t0: the 1/3/6 h windows now are known from the sixth cycle on
    assert Level.UNKNOWN in levels_now[5].values()
    assert Level.UNKNOWN not in levels_now[6].values()
    assert max(levels_now[8].values()) >= Level.YELLOW
    saved = store.load_state(STATE_MODEL, next(iter(_keys(store))))
    assert {"valid", "tanks", "spun_from", "hours_end", "hours_mm", "swi_mm"} <= set(saved.arrays)
    assert all(array.dtype.kind in "fiuM" for array in saved.arrays.values())  # numpy arrays, no JSON inside


def _keys(store: Store) -> list[str]:
    from sqlalchemy import text

    with store.engine.connect() as conn:
        return [row[0] for row in conn.execute(text("select key from model_states where model = :m"),
                                               {"m": STATE_MODEL})]


def test_wet_antecedent_hours_lower_the_thresholds_and_say_so(settings, store, demo_rain):
    texts = []
    for hour in range(13):
        scored = score(_context(settings, _run(demo_rain, hour), T0 + timedelta(hours=hour), store, persist=True))
        texts += [text for item in scored.items for lead in item.drivers.values() for text in lead]
    assert any((item.values["lowered_pct"] or 0) > 5 for item in scored.items), \
        "after the storm's core no catchment is wet enough to lower its thresholds"
    assert any("（前期偏湿，阈值下调" in text for text in texts)


def test_missing_rain_is_unknown_never_none(settings, demo_rain):
    blank = demo_rain.copy(data=np.full(demo_rain.shape, np.nan, dtype=demo_rain.dtype))
    scored = score(_context(settings, blank, T0))
    assert all(level is Level.UNKNOWN for item in scored.items for level in item.levels.values())
    assert all(item.drivers["24h"][0].startswith("1 h 雨量 未知") for item in scored.items)


def test_without_a_run_every_catchment_is_unknown(settings):
    scored = score(_context(settings, None, T0))
    assert {level for item in scored.items for level in item.levels.values()} == {Level.UNKNOWN}
    assert "no forecast run" in scored.notes[0]


def _layer_copy(tmp_path: Path, edit) -> Path:
    layer = gpd.read_file(ROOT / "geodata" / "yubei.gpkg", layer="catchments")
    edit(layer)
    path = tmp_path / "catchments.gpkg"
    layer.to_file(path, layer="catchments", driver="GPKG")
    return path


def test_a_catchment_with_thresholds_out_of_order_is_unknown_and_named(tmp_path, demo_rain):
    def swap(layer):
        layer.loc[0, "evacuate_3h_mm"] = layer.loc[0, "prepare_3h_mm"]

    path = _layer_copy(tmp_path, swap)
    settings = _settings(tmp_path, lambda data: data["layers"]["catchments"].update(path=str(path)))
    scored = score(_context(settings, demo_rain, T0))
    assert all(level is Level.UNKNOWN for level in scored.items[0].levels.values())
    assert scored.items[1].levels["2h"] is not Level.UNKNOWN
    assert len(scored.notices) == 1 and "DEMO-C01" in scored.notices[0] and "准备转移" in scored.notices[0]


def test_a_layer_without_a_critical_rainfall_field_is_refused_naming_it(tmp_path, demo_rain):
    path = _layer_copy(tmp_path, lambda layer: layer.pop("evacuate_6h_mm"))
    settings = _settings(tmp_path, lambda data: data["layers"]["catchments"].update(path=str(path)))
    with pytest.raises(ConfigError, match=r"catchments\.gpkg#catchments: evacuate_6h_mm: expected the critical "
                                          r"rainfall"):
        score(_context(settings, demo_rain, T0))


def test_a_hand_computed_catchment_on_uniform_rain(tmp_path):
    """20 mm in each of the first three hours over one catchment with 准备转移/立即转移 30/40 (1 h),
    50/60 (3 h), 80/100 (6 h): 1 h 20 < 0.8·30 (none); 3 h at +2 h = 40 ≥ 0.8·50 (blue, the hour
    before t0 not kept counts as dry); 3 h at +3 h = 60 ≥ 60 (red); 6 h at +3 h = 60 < 0.8·80."""
    from shapely.geometry import box

    from warn.rainarray import make_rain

    layer = gpd.GeoDataFrame({"catchment_id": ["C1"], "name": ["甲"], "village": ["甲村"], "town_code": ["T1"],
                              "threatened_people": [50], "prepare_1h_mm": [30], "prepare_3h_mm": [50],
                              "prepare_6h_mm": [80], "evacuate_1h_mm": [40], "evacuate_3h_mm": [60],
                              "evacuate_6h_mm": [100]},
                             geometry=[box(106.62, 29.62, 106.68, 29.68)], crs="EPSG:4326")
    path = tmp_path / "one.gpkg"
    layer.to_file(path, layer="catchments", driver="GPKG")
    settings = _settings(tmp_path, lambda data: data["layers"]["catchments"].update(path=str(path)))
    hours = np.arange(1, 7)
    depth = np.where(hours <= 3, 20.0, 0.0)[:, None, None] * np.ones((6, 5, 5))
    rain = make_rain(depth, time=np.datetime64("2026-07-15T00:00") + hours * np.timedelta64(1, "h"),
                     lat=np.linspace(29.5, 29.9, 5), lon=np.linspace(106.5, 106.9, 5), step=timedelta(hours=1),
                     source="hand", issued_at=np.datetime64("2026-07-15T00:00"))
    (item,) = score(_context(settings, rain, T0)).items
    assert item.levels == {"now": Level.UNKNOWN, "2h": Level.BLUE, "24h": Level.RED}
    assert item.drivers["2h"] == ("3 h 雨量 40 mm ≥ 准备转移临界雨量 50 mm 的 80 %（前期土壤含水未知，按预案临界雨量） (+2 h)",)
    assert item.drivers["24h"][0].startswith("3 h 雨量 60 mm ≥ 立即转移临界雨量 60 mm")
    assert item.drivers["24h"][0].endswith("(+3 h)")
    assert item.values["rain_1h_mm"] == pytest.approx(20) and item.values["rain_3h_mm"] == pytest.approx(60)
