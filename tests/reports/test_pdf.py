"""The PDF report from a hand-built Report: pages, embedded Noto Sans SC, and the integrity line on page 1."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import box

from warn.reports import content, loop
from warn.reports.figures import MapPoint, district_map, hyetograph, water_levels
from warn.reports.pdf import render

pytestmark = pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="needs poppler-utils (pdftoppm, pdffonts)")

T0 = datetime(2026, 7, 15, 4, tzinfo=timezone.utc)
TIMES = [T0 + timedelta(hours=h) for h in range(6)]
HEAD = "9f" * 32


def _report(*, ok: bool = True) -> content.Report:
    """A small report: two towns, two points, one sensor, a few timeline entries."""
    flags = ["good", "doubtful", "bad", "missing", "good", "good"]
    return content.Report(
        incident=content.IncidentHead(
            "INC-waterlogging-20260715T0400Z", "waterlogging", "城市内涝", ["两路街道", "龙兴镇"], T0, T0 + timedelta(hours=5), 3,
            [content.ModeChangeRow(T0 + timedelta(hours=1), "peacetime", "wartime", 1, "张三", "MODE-ORDER", "暴雨橙色预警")]),
        kind="final", period=(T0, T0 + timedelta(hours=5)), rendered_at=T0 + timedelta(hours=6),
        integrity=content.Integrity(True, HEAD, 12, None) if ok
        else content.Integrity(False, "ab" * 32, 7, "第 8 条记录哈希不符 / entry 8: hash mismatch"),
        zones=[content.ZoneLevel("T1", "两路街道", 3), content.ZoneLevel("T2", "龙兴镇", 0)],
        points=[content.PointMark("W1", "演示积水点01", "waterlogging_points", 3, "积水点 waterlogging point")],
        rain=content.RainSeries(TIMES, "T1", "两路街道", [0, 5, 30, 12, 4, 1], [0, 2, 10, 6, 3, 0],
                                [content.SignalCriterion(3, 50, 3)],
                                {3.0: [float("nan"), float("nan"), 35, 47, 46, 17]}),
        levels=[content.LevelSeries("W1", "演示积水点01", "S1", "m", TIMES, [0.0, 0.9, 0.05, float("nan"), 0.1, 0.2],
                                    flags, {"蓝色 blue": 0.05, "红色 red": 0.3})],
        timeline=[content.Entry(i, T0 + timedelta(minutes=7 * i), "李四", "district_duty_officer", "区治理中心",
                                "warning", f"积水点 W1 升至橙色预警（第 {i} 次）℃，" * (1 + i % 3)) for i in range(1, 90)],
        loop=loop.Loop([loop.WarningLoop("TH-1", "W1", 3, T0, T0 + timedelta(minutes=4), None, None)],
                          [loop.TaskRow("TASK-1", "封闭下穿道 close the underpass", "两路街道", T0, None, "open", True, False)],
                          [loop.CallRow("REQ-1", "duty_officer @ 两路街道", T0, "王五", T0 + timedelta(minutes=3), 0)],
                          [loop.Kpi("处置率", "任务 tasks", 1, 2), loop.Kpi("按期办理率", "任务 tasks", 0, 0),
                           loop.Kpi("叫应应答率", "叫应 calls", 1, 1)],
                          [loop.Unhandled("TH-1", "W1", 3, T0, "未处置 / not handled")]),
        broadcasts=[content.BroadcastRow("urn:oid:2.49.0.1.156.0.2026.1", "Alert", 3, T0, {"webhook": "sent"})],
        notes=["雨量为预报分析 / rain: forecast analysis"], timezone="Asia/Shanghai")


def _images(report: content.Report) -> dict[str, bytes]:
    towns = gpd.GeoDataFrame({"zone_id": ["T1", "T2"], "name": ["两路街道", "龙兴镇"]},
                             geometry=[box(106.5, 29.6, 106.6, 29.7), box(106.6, 29.6, 106.7, 29.7)], crs="EPSG:4326")
    rain = report.rain
    return {"map": district_map(towns, {z.zone_id: z.level for z in report.zones},
                                [MapPoint(106.55, 29.65, "演示积水点01", "积水点 waterlogging point", 3)], title=report.title),
            "rain": hyetograph(rain),
            "levels": water_levels(report.levels)}


def _run(*args: str | Path) -> str:
    return subprocess.run([str(a) for a in args], check=True, capture_output=True, text=True).stdout


def test_pdf_pages_embed_noto_sans_sc_and_say_the_timeline_verified(tmp_path):
    report = _report()
    path = tmp_path / "report.pdf"
    path.write_bytes(render(report, _images(report)))
    _run("pdftoppm", "-png", "-r", "60", path, tmp_path / "page")
    assert len(list(tmp_path.glob("page-*.png"))) >= 3
    fonts = _run("pdffonts", path)
    assert "NotoSansSC-Regular" in fonts
    first = _run("pdftotext", "-f", "1", "-l", "1", path, "-")
    assert "时间线校验通过" in first and HEAD in first and "校验失败" not in first


def test_a_tampered_timeline_is_said_on_page_one(tmp_path):
    path = tmp_path / "tampered.pdf"
    report = _report(ok=False)
    path.write_bytes(render(report, {}))
    first = " ".join(_run("pdftotext", "-f", "1", "-l", "1", path, "-").split())
    assert first.startswith("时间线校验失败 / timeline FAILED verification")
    assert "entry 8: hash mismatch" in first


def test_an_empty_report_still_renders(tmp_path):
    report = replace(_report(), timeline=[], broadcasts=[], levels=[], rain=None,
                     loop=loop.Loop([], [], [], [loop.Kpi("处置率", "任务 tasks", 0, 0)]))
    assert render(report, {}).startswith(b"%PDF")
