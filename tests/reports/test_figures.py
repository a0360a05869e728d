"""The report figures from tiny synthetic inputs: PNGs drawn with Noto Sans SC, fast enough to print."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import geopandas as gpd
import pytest
from matplotlib import font_manager
from shapely.geometry import box

from warn.reports.content import LevelSeries, RainSeries, SignalCriterion
from warn.reports.figures import MapPoint, district_map, hyetograph, rain_caption, water_levels, wet_window
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


def _rain(hourly: list[float], *, observed: list[float] | None = None) -> RainSeries:
    """A RainSeries over ``hourly`` (from T0) with the CMA criteria and window sums computed by hand."""
    times = [T0 + timedelta(hours=h) for h in range(len(hourly))]

    def sums(values: list[float]) -> dict[float, list[float]]:
        return {float(w): [float(sum(values[k - w + 1:k + 1])) if k >= w - 1 else float("nan")
                           for k in range(len(values))] for w in (3, 6, 12)}

    criteria = [SignalCriterion(3, 50, 3), SignalCriterion(4, 100, 3), SignalCriterion(2, 50, 6),
                SignalCriterion(1, 50, 12)]
    return RainSeries(times, "T1", "龙兴镇", hourly, [v / 2 for v in hourly], criteria, sums(hourly),
                      observed_mm=observed, observed_accumulations=sums(observed) if observed else {},
                      gauges=3 if observed else 0)


def test_the_hyetograph_shows_the_storm_hours_not_the_whole_period():
    """Attack: six days drawn with the storm squeezed into a sliver."""
    hourly = [0.0] * 20 + [2, 30, 40, 12, 0.05, 1] + [0.0] * 100
    assert wet_window([T0 + timedelta(hours=h) for h in range(len(hourly))], hourly) == (17, 29)
    assert wet_window(TIMES, [0.0] * 6) == (0, 6)  # no rain at all: the whole period, not nothing
    caption = rain_caption(_rain(hourly), 17, 29, timezone.utc)  # wrapped: Chinese anywhere, English at spaces
    zh, en = caption.replace("\n", ""), caption.replace("\n", " ")
    assert "前后各 3 h" in zh and "其余 114 h" in zh and "the other 114 h of the period were dry" in en
    assert "无雨量站实测数据" in zh and "forecast rain only" in en
    png = hyetograph(_rain(hourly))
    assert png.startswith(PNG) and _size(png) == (1125, round((2.2 + 3 * 1.35 + 0.35) * 150))


def test_the_hyetograph_puts_observed_rain_beside_the_forecast():
    hourly = [0, 5, 30, 12, float("nan"), 1]
    rain = _rain(hourly, observed=[0, 4, 36, 10, 2, 0])
    caption = rain_caption(rain, 0, 6, None)
    assert "实测为雨量站逐时平均" in caption and "无雨量站" not in caption
    assert hyetograph(rain).startswith(PNG)
    assert hyetograph(_rain([0.0] * 6)).startswith(PNG)


def test_each_window_sum_is_compared_with_its_own_criteria_not_an_hourly_rate():
    """Attack: 3/6/12 h criteria drawn as per-hour rates over hourly bars (a "33 mm/h" red line)."""
    rain = _rain([0, 20, 20, 20, 0, 0])
    assert rain.accumulations[3.0][3] == 60  # 20 + 20 + 20 in the 3 h ending at the fourth hour …
    assert [c.label for c in rain.criteria if c.window_h == 3] == ["橙色 orange ≥50 mm/3 h", "红色 red ≥100 mm/3 h"]
    assert all(c.depth_mm >= 50 for c in rain.criteria)  # … against 50 mm in 3 h, never 16.7 mm/h


@pytest.mark.parametrize("count", [0, 1, 3])
def test_water_levels_one_panel_per_point_with_flagged_readings(count):
    flags = ["good", "doubtful", "bad", "missing", "good", "good"]
    series = [LevelSeries(f"P{i}", f"演示积水点0{i}", f"S{i}", "m", TIMES, [0.0, 0.9, 0.05, float("nan"), 0.1, 0.2],
                          flags, {"蓝色 blue": 0.05, "红色 red": 0.3}) for i in range(count)]
    png = water_levels(series)
    assert png.startswith(PNG) and _size(png)[0] == 1125
