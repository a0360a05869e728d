"""The acting commands (ack, done, assign, note, mode, approve/reject, broadcast) on a replayed store."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import ROOT
from warn.cli.main import app

AT = "2026-07-15T12:00Z"
DUTY, LEADER, COMMANDER, SCRIBE = "演示值班员01", "演示带班领导01", "演示指挥长01", "演示信息员01"
REPORT_TASK = "sitrep/w1/final"
MANUAL = "manual/rainstorm/DEMO-T03/2026-07-15T12:00:00+00:00/approval"
TABLES = ("timeline", "tasks", "ack_requests", "mode_changes", "warnings", "warning_messages", "outbox", "inbox")


@pytest.fixture
def store(replayed: Path, tmp_path: Path) -> Path:
    """A copy of the replayed store, free to change."""
    return Path(shutil.copy(replayed, tmp_path / "warn.db"))


#: The commander's reason for standing down while the storm's red and orange warnings are still active.
OVERRIDE_REASON = "雨停，现场核查无新险情，解除战时"


@pytest.fixture
def stood_down(store: Path) -> Path:
    """The copy after the commander's order back to peacetime, which gives the scribe the final report task.

    Red and orange landslide warnings are still active at the scenario's end: the order overrides them.
    """
    result = warn(store, COMMANDER, "mode", "peacetime", "--override", "--reason", OVERRIDE_REASON)
    assert result.exit_code == 0, result.output
    assert query(store, "select owner_role, status from tasks where task_id = ?", REPORT_TASK) == [("scribe", "open")]
    return store


def warn(store: Path, person: str, *args: str):
    return CliRunner().invoke(app, [*args, "--store", str(store), "--at", AT, "--as", person,
                                    "--config", str(ROOT / "config.yaml")], env={"NO_COLOR": "1"})


def query(store: Path, sql: str, *params) -> list[tuple]:
    with sqlite3.connect(store) as db:
        return db.execute(sql, params).fetchall()


def snapshot(store: Path) -> dict[str, object]:
    """Row counts of every table an acting command may write, and the timeline's head hash."""
    counts = {t: query(store, f"select count(*) from {t}")[0][0] for t in TABLES}
    return counts | {"head": query(store, "select hash from timeline order by seq desc limit 1")[0][0],
                     "tasks_state": query(store, "select task_id, status, owner_role, org_unit from tasks order by 1")}


def last_entry(store: Path) -> tuple:
    return query(store, "select actor, role, kind, summary, org_unit from timeline order by seq desc limit 1")[0]


def refused(store: Path, person: str, *args: str, says: str) -> None:
    before = snapshot(store)
    result = warn(store, person, *args)
    assert result.exit_code == 1, result.output
    assert says in result.output
    assert snapshot(store) == before


def test_note_is_on_the_timeline_with_the_person_and_post(store):
    result = warn(store, DUTY, "note", "电话报告：DEMO-T03 落石")
    assert result.exit_code == 0, result.output
    assert last_entry(store) == (DUTY, "duty_officer", "note", "电话报告：DEMO-T03 落石", "district.500112")
    incident = query(store, "select incident_id from incidents limit 1")[0][0]
    assert warn(store, "演示镇街负责人03", "note", incident, "已转移 12 人").exit_code == 0
    assert query(store, "select incident_id, role, org_unit from timeline order by seq desc limit 1")[0] == (
        incident, "town_leader", "town.DEMO-T03")


def test_ack_and_done_a_task_by_its_owner(stood_down, tmp_path):
    store = stood_down
    result = warn(store, SCRIBE, "ack", REPORT_TASK)
    assert result.exit_code == 0, result.output
    assert query(store, "select status, acked_by from tasks where task_id = ?", REPORT_TASK)[0] == (
        "acknowledged", SCRIBE)
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"evidence")
    result = warn(store, SCRIBE, "done", REPORT_TASK, "--note", "已报送", "--evidence", str(photo), "--lang", "en")
    assert result.exit_code == 0, result.output
    assert "done" in result.output
    status, done_by, evidence = query(store, "select status, done_by, evidence from tasks where task_id = ?",
                                      REPORT_TASK)[0]
    assert (status, done_by) == ("done", SCRIBE) and "sha256:" in evidence
    assert last_entry(store)[:3] == (SCRIBE, "scribe", "task")
    refused(store, SCRIBE, "done", REPORT_TASK, "--note", "again", says="done")


def test_assign_hands_a_task_over_and_records_who(stood_down):
    store = stood_down
    result = warn(store, DUTY, "assign", REPORT_TASK, "--to", "leader_on_duty", "--reason", "信息员外出")
    assert result.exit_code == 0, result.output
    assert query(store, "select owner_role, org_unit, status from tasks where task_id = ?", REPORT_TASK)[0] == (
        "leader_on_duty", "district.500112", "open")
    actor, role, kind, summary, _ = last_entry(store)
    assert (actor, role, kind) == (DUTY, "duty_officer", "task") and "信息员外出" in summary
    # the scribe no longer owns it; the new owner does
    refused(store, SCRIBE, "ack", REPORT_TASK, says="无权处理此任务")
    assert warn(store, LEADER, "ack", REPORT_TASK).exit_code == 0


def test_commander_orders_the_mode(stood_down):
    store = stood_down
    assert ("peacetime", 0, COMMANDER, OVERRIDE_REASON) in query(
        store, "select to_mode, response_level, decided_by, reason from mode_changes")
    actor, role, kind, *_ = query(store, "select actor, role, kind from timeline where kind = 'mode' "
                                         "and actor = ? order by seq desc limit 1", COMMANDER)[0]
    assert (actor, role, kind) == (COMMANDER, "commander", "mode")


def test_stand_down_is_refused_while_a_red_warning_is_active_unless_the_commander_overrides(store):
    # a red town warning that no model crossing touches, whatever the scenario's landslide levels are
    assert warn(store, LEADER, "broadcast", "--hazard", "waterlogging", "--zone", "DEMO-T01", "--level", "red",
                "--text", "人工红色内涝预警").exit_code == 0
    refused(store, COMMANDER, "mode", "peacetime", "--reason", "雨停", says="橙色及以上预警未解除")
    result = warn(store, COMMANDER, "mode", "peacetime", "--reason", "雨停")
    assert "城市内涝 DEMO-T01 红色" in result.output and "--override" in result.output
    refused(store, DUTY, "mode", "peacetime", "--override", "--reason", "雨停", says="只有指挥长")
    refused(store, COMMANDER, "mode", "peacetime", "--override", "--reason", " ", says="须以 --reason 说明理由")
    assert warn(store, COMMANDER, "mode", "wartime", "--level", "I", "--override", "--reason", "x").exit_code == 2
    result = warn(store, COMMANDER, "mode", "peacetime", "--override", "--reason", OVERRIDE_REASON)
    assert result.exit_code == 0 and "越过未解除的预警" in result.output, result.output
    assert query(store, "select to_mode, decided_by, rule_id, reason from mode_changes order by id desc limit 1") == [
        ("peacetime", COMMANDER, "MODE-OVERRIDE", OVERRIDE_REASON)]
    summary, details = query(store, "select summary, details from timeline where kind = 'mode' "
                                    "order by seq desc limit 1")[0]
    assert OVERRIDE_REASON in summary and "城市内涝 DEMO-T01 红色" in summary
    assert "waterlogging:DEMO-T01:" in json.loads(details)["overridden_warnings"]


def test_refusals_change_nothing(store):
    refused(store, DUTY, "mode", "peacetime", "--reason", "雨停", says="只有指挥长")
    refused(store, COMMANDER, "mode", "wartime", "--level", "II", "--reason", "同前", says="已是战时二级响应")
    call = query(store, "select request_id, answered_by from ack_requests where kind = 'call'")[0]
    refused(store, "演示镇街负责人03", "ack", call[0], says="无权代为应答")
    refused(store, LEADER, "ack", call[0], says=f"已由 {call[1]}")
    refused(store, SCRIBE, "ack", "no-such-id", says="无此任务或请求：no-such-id")
    refused(store, SCRIBE, "done", "no-such-id", "--note", "x", says="无此任务：no-such-id")
    refused(store, "张三", "note", "hello", says="不在值班表上")
    task = query(store, "select task_id from tasks limit 1")[0][0]
    refused(store, "演示镇街负责人03", "assign", task, "--to", DUTY, says="只有区值班员")
    refused(store, DUTY, "broadcast", "--hazard", "rainstorm", "--zone", "NOPE", "--level", "red", "--text", "x", says="无此镇街")
    result = warn(store, COMMANDER, "mode", "wartime", "--reason", "no level")
    assert result.exit_code == 2


def test_duty_officer_broadcast_waits_for_approval(store):
    messages = query(store, "select count(*) from warning_messages")[0][0]
    result = warn(store, DUTY, "broadcast", "--hazard", "rainstorm", "--zone", "DEMO-T03", "--level", "orange",
                  "--text", "人工橙色暴雨预警")
    assert result.exit_code == 0, result.output
    assert MANUAL in result.output
    assert query(store, "select kind, addressee_role from ack_requests where request_id = ?", MANUAL)[0] == (
        "approval", "leader_on_duty")
    assert query(store, "select count(*) from warning_messages")[0][0] == messages
    refused(store, SCRIBE, "approve", MANUAL, says="无权代为审批")
    result = warn(store, LEADER, "approve", MANUAL)
    assert result.exit_code == 0, result.output
    assert query(store, "select answered_by from ack_requests where request_id = ?", MANUAL)[0][0] == LEADER
    assert query(store, "select level, status from warnings where item_id = 'DEMO-T03' and hazard = 'rainstorm'"
                 )[0] == (3, "active")
    assert query(store, "select count(*) from warning_messages")[0][0] == messages + 1
    [identifier] = [r[0] for r in query(store, "select identifier from warning_messages where thread_id like ?",
                                         "rainstorm:DEMO-T03:%")]
    assert query(store, "select distinct cap_status from outbox where idempotency_key like ?",
                 f"{identifier}/%") == [("Exercise",)]


def test_rejected_broadcast_is_not_published(store):
    assert warn(store, DUTY, "broadcast", "--hazard", "rainstorm", "--zone", "DEMO-T03", "--level", "red",
                "--text", "x").exit_code == 0
    result = warn(store, COMMANDER, "reject", MANUAL)
    assert result.exit_code == 0, result.output
    assert query(store, "select count(*) from warnings where item_id = 'DEMO-T03' and hazard = 'rainstorm'"
                 ) == [(0,)]
    assert "WARN-MANUAL-REFUSED" in query(store, "select details from timeline order by seq desc limit 1")[0][0]


def test_leader_broadcast_goes_out_at_once(store):
    result = warn(store, LEADER, "broadcast", "--hazard", "rainstorm", "--zone", "DEMO-T05", "--level", "yellow", "--text", "人工黄色预警",
                  "--lang", "en")
    assert result.exit_code == 0, result.output
    assert query(store, "select level from warnings where item_id = 'DEMO-T05' and hazard = 'rainstorm'") == [(2,)]
    assert query(store, "select actor, role from timeline where kind = 'warning' and actor = ?", LEADER) == [
        (LEADER, "leader_on_duty")]


def test_done_with_a_pipe_as_evidence_is_refused_at_once_not_hung(stood_down, tmp_path):
    import os
    import subprocess
    import sys

    store = stood_down
    fifo = tmp_path / "photo.jpg"
    os.mkfifo(fifo)
    before = snapshot(store)
    done = subprocess.run([sys.executable, "-m", "warn", "done", REPORT_TASK, "--note", "已报送", "--evidence", str(fifo),
                           "--store", str(store), "--at", AT, "--as", SCRIBE, "--config", str(ROOT / "config.yaml")],
                          capture_output=True, text=True, timeout=60, env={"NO_COLOR": "1", "COLUMNS": "400", "PATH": ""})
    assert done.returncode == 1, done.stdout + done.stderr
    said = " ".join(done.stderr.split())  # as one line, however the terminal wrapped it
    assert f"{fifo}: expected an evidence file as a regular file, got a named pipe (FIFO)" in said
    assert snapshot(store) == before
