"""The report's content, read from a replayed demo store: kinds, loop figures, integrity."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import ROOT
from tests.conftest import SCENARIO_END
from warn.config import load_settings
from warn.reports.content import UnknownIncident, build, observed_rain, tables, verification_line
from warn.reports.loop import handling, loop_of
from warn.store import Store
from warn.store.incidents import AckRequestRow, ThreadRow, VersionRow
from warn.store.incidents import TaskRow as StoredTask

#: The storm incident the replayed scenario opens (its first warning at 10:00 Beijing time).
INCIDENT = "INC-storm-20260715T0200Z"
AT = datetime.fromisoformat(SCENARIO_END)


@pytest.fixture(scope="module")
def settings():
    return load_settings(ROOT / "config.yaml")


def _build(path, settings, kind, incident=INCIDENT):
    with Store.connect(f"sqlite:///{path}") as store:
        return build(store, settings, incident, kind=kind, at=AT)


def test_initial_covers_open_to_its_due_time(replayed, settings):
    report = _build(replayed, settings, "initial")
    opened = report.incident.opened_at
    assert report.period[0] == opened
    assert report.period[1] == report.due_at > opened
    assert all(e.occurred_at <= report.period[1] for e in report.timeline)
    assert report.integrity.ok and len(report.integrity.head_hash) == 64


def test_followup_runs_to_at_and_highlights_since_the_last_report(replayed, settings):
    report = _build(replayed, settings, "followup")
    assert report.period == (report.incident.opened_at, AT)
    assert report.highlight_from is not None and report.highlight_from <= AT
    assert [e.occurred_at for e in report.timeline] == sorted(e.occurred_at for e in report.timeline)


def test_final_of_an_open_incident_ends_at_render_time(replayed, settings):
    report = _build(replayed, settings, "final")
    assert report.incident.closed_at is None
    assert report.period[1] == AT
    assert report.due_at == AT + timedelta(hours=1)  # config.yaml command.reports.final


def test_map_loop_and_broadcasts_come_from_the_store(replayed, settings):
    report = _build(replayed, settings, "followup")
    assert report.incident.highest_level == max(p.level for p in report.points)
    assert {z.level for z in report.zones} <= {0, 1, 2, 3, 4}
    assert report.loop.warnings and all(w.first_at <= AT for w in report.loop.warnings)
    done = sum(t.done_at is not None for t in report.loop.tasks)
    tasks = next(k for k in report.loop.figures if k.name == "处置率" and k.over == "任务 tasks")
    assert (tasks.part, tasks.whole) == (done, len(report.loop.tasks))
    assert report.broadcasts and all(b.channels for b in report.broadcasts)
    assert all(len(s.values) == len(s.flags) == len(s.times) for s in report.levels)
    assert report.rain is not None and len(report.rain.worst_mm) == len(report.rain.times)
    assert {(c.depth_mm, c.window_h) for c in report.rain.criteria} == {(50, 12), (50, 6), (50, 3), (100, 3)}
    assert set(report.rain.accumulations) == {3.0, 6.0, 12.0}
    assert all(len(v) == len(report.rain.times) for v in report.rain.accumulations.values())
    hourly, three = report.rain.worst_mm, report.rain.accumulations[3.0]
    assert three[-1] == pytest.approx(sum(hourly[-3:]), rel=1e-6)  # the 3 h sum ending at the last hour
    # the demo's 21 synthetic rain gauges (warn/sim/observed.py) report the storm beside the forecast
    assert report.rain.gauges == 21 and any("雨量站实测：21 站" in n for n in report.notes)
    assert report.rain.observed_mm is not None and len(report.rain.observed_mm) == len(report.rain.times)
    assert max(report.rain.observed_mm) > 1.0


def test_unknown_incident(replayed, settings):
    with pytest.raises(UnknownIncident):
        _build(replayed, settings, "initial", incident="INC-none")


def test_tampered_store_reports_the_failure(replayed, settings, tmp_path):
    copy = tmp_path / "warn.db"
    shutil.copy(replayed, copy)
    with sqlite3.connect(copy) as conn:
        conn.execute("UPDATE timeline SET summary = summary || ' (edited)' WHERE seq = 5")
    report = _build(copy, settings, "followup")
    assert not report.integrity.ok
    assert "5" in report.integrity.problem
    assert verification_line(report).startswith("✗ 时间线校验失败 / timeline verification failed")
    assert "校验失败" in report.notes[0]


def test_a_mode_change_edited_in_its_table_fails_the_integrity_line(replayed, settings, tmp_path):
    """Before: the header showed the edited mode change and the line said '✓ verified' (mode_changes was
    not under the chain)."""
    intact = _build(replayed, settings, "final")
    assert intact.integrity.ok and intact.integrity.rows > 0 and intact.integrity.uncovered == 0
    assert verification_line(intact).startswith("✓ 时间线校验通过 / timeline verified: 哈希链 ")
    assert "rows under it (mode changes, tasks, requests, CAP messages)" in verification_line(intact)
    copy = tmp_path / "warn.db"
    shutil.copy(replayed, copy)
    with sqlite3.connect(copy) as conn:
        changed = conn.execute("UPDATE mode_changes SET decided_by = '值班员' WHERE decided_by IS NOT NULL").rowcount
    assert changed
    report = _build(copy, settings, "final")
    assert not report.integrity.ok
    assert "row mode_changes:" in report.integrity.problem and "was changed outside the timeline" in (
        report.integrity.problem)
    assert "decided_by: recorded" in report.integrity.problem and "now '值班员'" in report.integrity.problem
    assert verification_line(report).startswith("✗ 时间线校验失败")


def _thread(item: str) -> ThreadRow:
    return ThreadRow(f"landslide:{item}:20260715T0500Z", "landslide", item, 0, "cleared", T5, T5, None, "INC-1", 2)


def _message(key: int, item: str, level: int, minutes: int) -> VersionRow:
    """The first version of ``item``'s thread, at ``level``."""
    return VersionRow(key, f"landslide:{item}:20260715T0500Z", 1, level, "active", T5 + timedelta(minutes=minutes))


def _stored_task(item: str, *, due: int, done: int | None) -> StoredTask:
    run = f"landslide@1:landslide:{item}:20260715T0500Z"
    return StoredTask(f"INC-1/{run}/patrol/a0", "INC-1", run, "patrol", "k", "monitor", f"point.{item}", "巡查 patrol",
                      T5 + timedelta(minutes=due), "done" if done is not None else "open", None, None,
                      None if done is None else "演示监测员01", None if done is None else T5 + timedelta(minutes=done),
                      "", T5)


def _call(item: str, *, answered: int | None, step: int = 0) -> AckRequestRow:
    return AckRequestRow(f"INC-1/landslide@1:landslide:{item}:20260715T0500Z/call_town_leader/a0", "call",
                         "town_leader", f"town.{item}", T5 + timedelta(minutes=30), step, "[]",
                         None if answered is None else "演示镇街领导01",
                         None if answered is None else T5 + timedelta(minutes=answered), None, "k", T5)


T5 = datetime(2026, 7, 15, 5, tzinfo=UTC)


def test_a_red_town_warning_with_no_task_counts_as_not_handled():
    """Attack: the report's 处置率 counted tasks only: 100 % while a red town warning had no task and no 叫应."""
    items = ("DEMO-T11", "DEMO-H001", "DEMO-H002", "DEMO-H003", "DEMO-H004")
    threads = [_thread(item) for item in items]
    messages = [_message(1, "DEMO-T11", 4, 0),   # red town: nothing done
                _message(2, "DEMO-H001", 3, 0),  # orange point: patrol done in time
                _message(3, "DEMO-H002", 3, 0),  # orange point: patrol done late
                _message(4, "DEMO-H003", 4, 0),  # red point: 叫应 answered before its deadline
                _message(5, "DEMO-H004", 1, 0)]  # blue: no action required
    tasks = [_stored_task("DEMO-H001", due=60, done=40), _stored_task("DEMO-H002", due=60, done=90)]
    calls = [_call("DEMO-H003", answered=20)]
    loop = loop_of("INC-1", threads, messages, tasks, calls, T5 + timedelta(hours=3))
    figures = {(k.name, k.over.split()[0]): (k.part, k.whole) for k in loop.figures}
    assert figures[("处置率", "任务")] == (2, 2)  # the tasks alone look perfect …
    assert figures[("按期办理率", "任务")] == (1, 2)
    assert figures[("处置率", "需处置预警")] == (3, 4)  # … the red town without a task does not
    assert figures[("按期办理率", "需处置预警")] == (2, 4)
    assert figures[("处置率", "需处置事件")] == (0, 1) and figures[("按期办理率", "需处置事件")] == (0, 1)
    assert figures[("叫应应答率", "叫应")] == (1, 1)
    unhandled = {u.item_id: u.reason for u in loop.unhandled}
    assert set(unhandled) == {"—", "DEMO-T11", "DEMO-H002"}  # the incident, the red town, the late patrol
    assert unhandled["DEMO-T11"].startswith("未处置") and unhandled["DEMO-H002"].startswith("已处置但未按期")
    assert loop.unhandled[0].what == "INC-1" and loop.unhandled[0].level == 4
    handled = {w.item_id: handling(w) for w in loop.warnings}
    assert handled == {"DEMO-T11": "未处置 not handled", "DEMO-H001": "已处置 按期 handled on time",
                       "DEMO-H002": "已处置 超期 handled late", "DEMO-H003": "已处置 按期 handled on time",
                       "DEMO-H004": "无需 not required"}


def test_what_happened_after_the_report_time_is_not_yet_known_and_an_escalated_call_is_late():
    threads = [_thread("DEMO-H003"), _thread("DEMO-T11")]
    messages = [_message(1, "DEMO-H003", 4, 0), _message(2, "DEMO-T11", 4, 0)]
    calls = [_call("DEMO-H003", answered=50, step=1), _call("DEMO-T11", answered=20)]
    early = loop_of("INC-1", threads, messages, [], calls, T5 + timedelta(minutes=30))
    assert [(w.item_id, w.handled_at is not None) for w in early.warnings] == [("DEMO-H003", False), ("DEMO-T11", True)]
    later = loop_of("INC-1", threads, messages, [], calls, T5 + timedelta(hours=1))
    assert {w.item_id: (w.handled_at is not None, w.on_time) for w in later.warnings} == {
        "DEMO-H003": (True, False), "DEMO-T11": (True, True)}
    assert not loop_of("INC-1", threads, [], [], calls, T5).figures[0].whole  # nothing sent yet: nothing required
    assert loop_of("INC-1", threads, [], [], calls, T5).figures[0].value is None


def test_the_report_names_what_the_figures_count_and_lists_the_unhandled(replayed, settings):
    report = _build(replayed, settings, "final")
    by_key = {t.key: t for t in tables(report)}
    assert "需处置" in by_key["figures"].note and "On time" in by_key["figures"].note
    required = [w for w in report.loop.warnings if w.required]
    unhandled = [w.thread_id for w in required if not (w.handled_at is not None and w.on_time)]
    assert [row[0] for row in by_key["unhandled"].rows][1 if unhandled else 0:] == unhandled
    assert "处置 handled" in by_key["warnings"].columns


def test_observed_rain_is_the_gauges_hourly_mean_and_a_silent_hour_stays_missing(tmp_path):
    from warn.sources.readings import FlaggedReading, Reading, Sensor
    from warn.vocab import QCFlag, SensorKind

    hours = [T5 + timedelta(hours=h) for h in range(4)]
    with Store.connect(f"sqlite:///{tmp_path / 'gauges.db'}") as store:
        store.upgrade()
        assert observed_rain(store, hours) == (None, 0)  # no gauge: no observed rain, not 0 mm
        store.upsert_sensors([Sensor(f"RG-{k}", SensorKind.RAIN_GAUGE, f"雨量站{k}", 106.6, 29.7,
                                     timedelta(minutes=30)) for k in (1, 2)])
        assert observed_rain(store, hours) == (None, 2)

        def reading(sensor: str, minutes: int, mm: float, flag: QCFlag = QCFlag.GOOD) -> FlaggedReading:
            at = T5 + timedelta(minutes=minutes)
            return FlaggedReading(Reading(sensor, at, mm, "mm", at), flag)

        store.write_readings([reading("RG-1", -30, 2.0), reading("RG-1", 0, 3.0),   # hour ending 05:00: 5 mm
                              reading("RG-2", 0, 7.0),                              # … and 7 mm: mean 6
                              reading("RG-1", 60, 10.0), reading("RG-2", 60, 99.0, QCFlag.BAD),  # 06:00: 10
                              reading("RG-2", 180, 1.0)])                           # 07:00: nobody; 08:00: 1
        observed, gauges = observed_rain(store, hours)
    assert gauges == 2
    assert [round(v, 3) for v in observed[[0, 1, 3]]] == [6.0, 10.0, 1.0]
    assert observed[2] != observed[2]  # NaN: an hour no gauge reported is missing, never dry
