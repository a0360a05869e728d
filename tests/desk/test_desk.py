"""The duty desk's acts on a copy of the demo storm replayed to 05:00Z (``early``), at 05:05Z: what each does, what
it says, which channel the timeline names, and that every refusal writes nothing."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.helpers import demo_deployment
from warn.command.model import Channel
from warn.desk import Desk, Refused
from warn.errors import UsageError

NOW = datetime(2026, 7, 15, 5, 5, tzinfo=UTC)
DUTY, LEADER, COMMANDER, SCRIBE = "演示值班员01", "演示带班领导01", "演示指挥长01", "演示信息员01"
LEADER04 = "演示镇街负责人04"
TASK04 = "INC-storm-20260715T0200Z/landslide_town@1:landslide:DEMO-T04:20260715T0500Z/team_ready/a0"
CALL04 = "INC-storm-20260715T0200Z/landslide_town@1:landslide:DEMO-T04:20260715T0500Z/call_town_leader/a0"
MANUAL = "manual/rainstorm/DEMO-T03/2026-07-15T05:05:00+00:00/approval"
TABLES = ("timeline", "tasks", "ack_requests", "mode_changes", "warnings", "inbox", "outbox")


@pytest.fixture
def desk(early: Path, tmp_path: Path) -> Iterator[Desk]:
    settings, setup, store = demo_deployment(Path(shutil.copy(early, tmp_path / "warn.db")), lambda: NOW)
    try:
        yield Desk(settings, store, setup, lambda: NOW, b"", ROOT / "config.yaml")
    finally:
        store.close()


def query(desk: Desk, sql: str, *params: object) -> list[tuple]:
    with sqlite3.connect(desk.store.engine.url.database) as db:
        return db.execute(sql, params).fetchall()


def snapshot(desk: Desk) -> dict[str, object]:
    return {t: query(desk, f"select count(*) from {t}")[0][0] for t in TABLES} | {
        "head": query(desk, "select hash from timeline order by seq desc limit 1"),
        "tasks": query(desk, "select task_id, status, owner_role, org_unit from tasks order by 1")}


def refused(desk: Desk, status: int, says: str, act, *args, **kwargs) -> None:
    before = snapshot(desk)
    with pytest.raises(Refused) as err:
        act(*args, **kwargs)
    assert err.value.status == status and says in err.value.zh + err.value.en, (err.value.zh, err.value.en)
    assert snapshot(desk) == before


def last_details(desk: Desk) -> dict:
    return json.loads(query(desk, "select details from timeline order by seq desc limit 1")[0][0])


def test_a_task_is_acknowledged_done_and_handed_over_with_the_channel_on_the_timeline(desk):
    told = desk.ack(TASK04, LEADER04, Channel.API, NOW)
    assert told.zh.startswith(f"已签收任务 {TASK04}") and LEADER04 in told.en
    assert last_details(desk)["via"] == "api"
    refused(desk, 409, "not open", desk.ack, TASK04, LEADER04, Channel.WEB, NOW)
    told = desk.assign(TASK04, DUTY, Channel.WEB, NOW, to="town.DEMO-T04.duty_officer", reason="负责人在外")
    assert "town.DEMO-T04.duty_officer" in told.zh and last_details(desk)["via"] == "web"
    refused(desk, 403, "无权处理此任务", desk.done, TASK04, LEADER04, Channel.API, NOW, note="已完成")
    told = desk.done(TASK04, DUTY, Channel.WEB, NOW, note="已完成")
    assert told.en == f"task {TASK04} done ({DUTY})" and last_details(desk)["via"] == "web"
    refused(desk, 409, "already done", desk.done, TASK04, DUTY, Channel.WEB, NOW, note="again")


def test_answers_and_approvals_go_through_the_planner(desk):
    refused(desk, 409, "not an approval", desk.decide, CALL04, LEADER04, Channel.API, NOW, accepted=True)
    told = desk.ack(CALL04, LEADER04, Channel.API, NOW)
    assert told.en.startswith(f"answered call {CALL04}")
    assert query(desk, "select answered_by, channel from ack_requests where request_id = ?", CALL04) == [
        (LEADER04, "api")]
    told = desk.broadcast("rainstorm", "DEMO-T03", "orange", "人工橙色暴雨预警", DUTY, Channel.WEB, NOW)
    assert MANUAL in told.zh
    refused(desk, 403, "四眼", desk.decide, MANUAL, DUTY, Channel.WEB, NOW, accepted=True)
    told = desk.decide(MANUAL, LEADER, Channel.WEB, NOW, accepted=True)
    assert told.zh.startswith(f"已同意 {MANUAL}")
    assert query(desk, "select level from warnings where item_id = 'DEMO-T03' and hazard = 'rainstorm'") == [(3,)]


def test_refusals_name_what_was_wrong_and_write_nothing(desk):
    refused(desk, 404, "no such task or request", desk.ack, "no-such-id", SCRIBE, Channel.API, NOW)
    refused(desk, 403, "not on the roster", desk.note, "hello", "张三", Channel.API, NOW)
    refused(desk, 404, "not a post with somebody on duty", desk.assign, TASK04, DUTY, Channel.API, NOW, to="nobody")
    refused(desk, 403, "only the district duty officer", desk.assign, TASK04, LEADER04, Channel.API, NOW, to=DUTY)
    refused(desk, 422, "required for wartime", desk.mode, "wartime", COMMANDER, Channel.API, NOW, reason="x")
    refused(desk, 422, "for peacetime only", desk.mode, "wartime", COMMANDER, Channel.API, NOW, level="I",
            reason="x", override=True)
    refused(desk, 422, "expected peacetime or wartime", desk.mode, "holiday", COMMANDER, Channel.API, NOW, reason="x")
    refused(desk, 403, "only the commander", desk.mode, "peacetime", DUTY, Channel.API, NOW, reason="雨停")
    refused(desk, 422, "hazard: expected one of", desk.broadcast, "meteor", "DEMO-T03", "red", "x", DUTY,
            Channel.API, NOW)
    refused(desk, 404, "no such zone: NOPE", desk.broadcast, "rainstorm", "NOPE", "red", "x", DUTY, Channel.API, NOW)


def test_free_text_is_checked_and_named_as_the_face_names_it(desk):
    before = snapshot(desk)
    with pytest.raises(UsageError, match="TEXT: expected"):
        desk.note("tel\x1b[2J", DUTY, Channel.CLI, NOW, names={"text": "TEXT"})
    with pytest.raises(UsageError, match="^reason: expected at most 500"):
        desk.mode("wartime", COMMANDER, Channel.API, NOW, level="I", reason="雨" * 501)
    assert snapshot(desk) == before


def test_the_commander_switches_the_mode(desk):
    told = desk.mode("wartime", COMMANDER, Channel.WEB, NOW, level="II", reason="多镇街橙色预警")
    assert told.zh == f"已转为战时二级响应（{COMMANDER}）：多镇街橙色预警"
    assert query(desk, "select to_mode, response_level, decided_by from mode_changes order by id desc limit 1") == [
        ("wartime", 3, COMMANDER)]
    refused(desk, 409, "already wartime II", desk.mode, "wartime", COMMANDER, Channel.WEB, NOW, level="II",
            reason="同前")
