"""The report's content, read from a replayed demo store: kinds, loop figures, integrity."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import datetime, timedelta

import pytest

from tests.conftest import ROOT
from tests.conftest import SCENARIO_END
from warn.config import load_settings
from warn.reports.content import UnknownIncident, build, verification_line
from warn.store import Store

#: The waterlogging incident the replayed scenario opens.
INCIDENT = "INC-waterlogging-20260715T0430Z"
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
    assert report.loop.figures["处置率"] == pytest.approx(done / len(report.loop.tasks))
    assert report.broadcasts and all(b.channels for b in report.broadcasts)
    assert all(len(s.values) == len(s.flags) == len(s.times) for s in report.levels)
    assert report.rain is not None and len(report.rain.worst_mm) == len(report.rain.times)
    assert any("orange" in label for label in report.rain.thresholds)


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
