"""The report figures from tiny synthetic inputs: PNGs drawn with Noto Sans SC, fast enough to print."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import geopandas as gpd
import pytest
from matplotlib import font_manager
from shapely.geometry import box

from warn.reports.content import LevelSeries
from warn.reports.figures import MapPoint, district_map, hyetograph, water_levels
from warn.reports.fonts import FAMILY, use_cjk_font

PNG = b"\x89PNG\r\n\x1a\n"
T0 = datetime(2026, 7, 15, 4, tzinfo=timezone.utc)
TIMES = [T0 + timedelta(hours=h) for h in range(6)]


def _size(png: bytes) -> tuple[int, int]:
    """Width and height from the PNG's IHDR chunk."""
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def test_font_is_registered_once_and_resolves_to_noto_sans_sc():
    path = use_cjk_font()
    assert use_cjk_font() == path
    assert sum(entry.fname == path for entry in font_manager.fontManager.ttflist) == 1
    assert font_manager.findfont(font_manager.FontProperties(family=["sans-serif"])) == path
    assert font_manager.findfont(FAMILY) == path


def test_district_map_is_an_a4_wide_png():
    towns = gpd.GeoDataFrame({"zone_id": ["T1", "T2"], "name": ["两路街道", "龙兴镇"]},
                             geometry=[box(106.5, 29.6, 106.6, 29.7), box(106.6, 29.6, 106.7, 29.7)], crs="EPSG:4326")
    points = [MapPoint(106.55, 29.65, "演示隐患点001", "地灾隐患点 hazard point", 3),
              MapPoint(106.65, 29.62, "演示积水点01", "积水点 waterlogging point", 1)]
    png = district_map(towns, {"T1": 4}, points, title="测试 test")  # T2 missing: unknown, hatched
    assert png.startswith(PNG)
    assert _size(png)[0] == 1125  # 7.5 in at 150 dpi


def test_hyetograph_draws_with_and_without_thresholds():
    png = hyetograph(TIMES, [0, 5, 30, 12, float("nan"), 1], [0, 2, 10, 6, 3, 0],
                     {"蓝色 blue ≥50 mm/12 h": 50 / 12, "红色 red ≥100 mm/3 h": 100 / 3}, worst_name="龙兴镇")
    assert png.startswith(PNG) and _size(png)[0] == 1125
    assert hyetograph(TIMES, [0] * 6, [0] * 6, {}, worst_name="龙兴镇").startswith(PNG)


@pytest.mark.parametrize("count", [0, 1, 3])
def test_water_levels_one_panel_per_point_with_flagged_readings(count):
    flags = ["good", "doubtful", "bad", "missing", "good", "good"]
    series = [LevelSeries(f"P{i}", f"演示积水点0{i}", f"S{i}", "m", TIMES, [0.0, 0.9, 0.05, float("nan"), 0.1, 0.2],
                          flags, {"蓝色 blue": 0.05, "红色 red": 0.3}) for i in range(count)]
    png = water_levels(series)
    assert png.startswith(PNG) and _size(png)[0] == 1125
