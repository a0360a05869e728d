"""Who acts (issue 15): the acting commands act as a person the system establishes — a personal token
(``WARN_TOKEN``) or the OS login mapped in config.yaml — never as whoever ``--as`` names, except in drills;
``--at`` only in drills; four eyes on approvals; a deployment not marked live publishes Exercise, and a
live one publishes its first Actual only when ``warn check`` passes; free text checked before writing."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.helpers import acting_deployment, edit_yaml, messages, set_value
from warn.cli.identity import os_login
from warn.cli.main import app

DUTY, LEADER, COMMANDER, SCRIBE = "演示值班员01", "演示带班领导01", "演示指挥长01", "演示信息员01"
#: A time the demo roster covers (drills only).
AT = "2026-07-15T12:00Z"
#: A month before it: a back-dated order.
LAST_MONTH = "2026-06-15T12:00Z"
#: Nothing in the caller's environment stands in for a person, a token or a time.
CLEAN = {"NO_COLOR": "1", "WARN_TOKEN": None, "WARN_USER": None, "WARN_AT": None}
RED_DISTRICT = ("broadcast", "--hazard", "rainstorm", "--zone", "500112", "--level", "red", "--text", "全区红色暴雨预警")
TABLES = ("timeline", "mode_changes", "warning_messages", "outbox", "inbox", "ack_requests")


def warn(config: Path, *args: str, token: str | None = None):
    return CliRunner().invoke(app, [*args, "--config", str(config)], env={**CLEAN, "WARN_TOKEN": token})


def query(store: Path, sql: str, *params) -> list[tuple]:
    with sqlite3.connect(store) as db:
        return db.execute(sql, params).fetchall()


def counts(store: Path) -> dict[str, int]:
    return {t: query(store, f"select count(*) from {t}")[0][0] for t in TABLES} if store.exists() else {}


def store_of(config: Path) -> Path:
    return config.parent / "warn.sqlite"


def issue(config: Path, person: str) -> str:
    result = warn(config, "token", "issue", person)
    assert result.exit_code == 0, result.output
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture
def live(tmp_path: Path) -> Path:
    return acting_deployment(tmp_path, live=True)


def test_as_is_refused_on_a_live_deployment(live):
    """Before: ``warn mode wartime --level I --as <commander>`` was accepted from any shell user."""
    before = counts(store_of(live))
    result = warn(live, "mode", "wartime", "--level", "I", "--reason", "接管", "--as", COMMANDER, "--lang", "en")
    assert result.exit_code == 1, result.output
    assert "--as / WARN_USER is for drills only" in result.output
    assert counts(store_of(live)) in ({}, before) or counts(store_of(live))["mode_changes"] == 0
    result = CliRunner().invoke(app, ["note", "hello", "--config", str(live)], env={**CLEAN, "WARN_USER": DUTY})
    assert result.exit_code == 1 and "仅用于演练" in result.output


def test_backdated_at_is_refused_on_a_live_store(live):
    """Before: ``--at <last month>`` back-dated a wartime order and ``warn verify`` still passed."""
    token = issue(live, COMMANDER)
    before = counts(store_of(live))
    result = warn(live, "mode", "wartime", "--level", "I", "--reason", "接管", "--at", LAST_MONTH, token=token)
    assert result.exit_code == 1, result.output
    assert "--at / WARN_AT 仅用于演练" in result.output
    assert counts(store_of(live)) == before


def test_a_token_acts_as_its_person_until_revoked(live):
    token = issue(live, COMMANDER)
    store = store_of(live)
    assert token.startswith("wt_") and token.encode() not in store.read_bytes()
    assert token.split("_", 2)[2].encode() not in store.read_bytes()
    result = warn(live, "mode", "wartime", "--level", "III", "--reason", "三个镇街橙色预警", token=token)
    assert result.exit_code == 0, result.output
    assert query(store, "select to_mode, decided_by from mode_changes") == [("wartime", COMMANDER)]
    assert (COMMANDER, "commander", "mode") in query(store, "select actor, role, kind from timeline")
    listed = warn(live, "token", "list", "--json")
    assert listed.exit_code == 0 and COMMANDER in listed.output and token.split("_", 2)[2] not in listed.output
    wrong = warn(live, "note", "hello", token=token[:-2] + "xx")
    assert wrong.exit_code == 1 and "WARN_TOKEN 中的令牌无效或已吊销" in wrong.output
    assert warn(live, "token", "revoke", COMMANDER).exit_code == 0
    revoked = warn(live, "note", "hello", "--lang", "en", token=token)
    assert revoked.exit_code == 1 and "wrong or revoked" in revoked.output
    assert [r[0] for r in query(store, "select summary from timeline where kind = 'roster'")] == [
        f"为 {COMMANDER} 签发个人令牌 / personal token issued for {COMMANDER}",
        f"为 {COMMANDER} 吊销个人令牌 / personal token revoked for {COMMANDER}"]


def test_nobody_identified_is_refused_saying_how(live):
    result = warn(live, "note", "hello", "--lang", "en")
    assert result.exit_code == 1, result.output
    assert "set your personal token in WARN_TOKEN" in result.output and "identity.os_users" in result.output


def test_the_os_login_mapped_in_config_acts(tmp_path):
    config = acting_deployment(tmp_path, live=True, identity={"os_users": {os_login(): LEADER}})
    result = warn(config, "note", "DEMO-T03 来电")
    assert result.exit_code == 0, result.output
    assert query(store_of(config), "select actor, role, summary from timeline") == [
        (LEADER, "leader_on_duty", "DEMO-T03 来电")]


def test_only_an_administrator_issues_tokens(tmp_path):
    config = acting_deployment(tmp_path, live=True, identity={"admins": ["somebody-else"]})
    result = warn(config, "token", "issue", COMMANDER)
    assert result.exit_code == 1 and "identity.admins" in result.output and "wt_" not in result.output
    config = acting_deployment(tmp_path, live=True)
    result = warn(config, "token", "issue", "张三")
    assert result.exit_code == 2 and "a person on the roster" in result.output


def test_the_proposer_may_not_approve_their_own_manual_warning(tmp_path):
    """Before: one user raised a manual warning as duty officer and approved it too (four eyes defeated)."""
    config = acting_deployment(tmp_path, live=False, identity={"os_users": {os_login(): DUTY}})
    raised = warn(config, "broadcast", "--hazard", "rainstorm", "--zone", "DEMO-T03", "--level", "orange",
                  "--text", "人工橙色暴雨预警", "--at", AT)
    assert raised.exit_code == 0, raised.output
    request = query(store_of(config), "select request_id from ack_requests where kind = 'approval'")[0][0]
    before = counts(store_of(config))
    own = warn(config, "approve", request, "--at", AT, "--as", DUTY)
    assert own.exit_code == 1 and "四眼原则" in own.output
    assert counts(store_of(config)) == before
    assert warn(config, "approve", request, "--at", AT, "--as", LEADER).exit_code == 0


def test_a_deployment_not_live_publishes_exercise(tmp_path):
    """Before: on a fresh store a manual red district warning went out with CAP status Actual."""
    config = acting_deployment(tmp_path, live=False)
    result = warn(config, *RED_DISTRICT, "--as", LEADER, "--at", AT)
    assert result.exit_code == 0, result.output
    assert query(store_of(config), "select distinct cap_status from outbox") == [("Exercise",)]


@pytest.mark.slow
def test_fresh_live_store_with_a_failing_check_publishes_no_actual(tmp_path):
    config = acting_deployment(tmp_path, live=True)
    edit_yaml(config, set_value("{feed}/demo.nc", "forecasts", "demo", "url"))
    token = issue(config, LEADER)
    before = counts(store_of(config))
    result = warn(config, *RED_DISTRICT, "--lang", "en", token=token)
    assert result.exit_code == 2, result.output
    assert "deployment.live" in result.output and "forecasts.demo.url" in result.output
    assert counts(store_of(config)) == before


@pytest.mark.slow
def test_fresh_live_store_passing_check_publishes_actual_at_the_real_time(tmp_path):
    config = acting_deployment(tmp_path, live=True)
    token = issue(config, LEADER)
    before = datetime.now(UTC).replace(microsecond=0)
    result = warn(config, *RED_DISTRICT, token=token)
    after = datetime.now(UTC)
    assert result.exit_code == 0, result.output
    assert query(store_of(config), "select distinct cap_status from outbox") == [("Actual",)]
    [(occurred, recorded)] = query(store_of(config), "select occurred_at, recorded_at from timeline "
                                   "where kind = 'warning' and actor = ?", LEADER)
    occurred, recorded = (datetime.fromisoformat(t).replace(tzinfo=UTC) for t in (occurred, recorded))
    assert before <= occurred <= recorded <= after  # at the real time, as recorded (not a minute's digits)


@pytest.mark.parametrize(("args", "says"), [
    (("broadcast", "--hazard", "rainstorm", "--zone", "DEMO-T03", "--level", "red", "--text", "暴雨\x00预警"),
     "--text: expected text without control or bidirectional-override characters"),
    (("note", "tel\x1b[2J"), "TEXT: expected"),
    (("note", "abc\u202etxt"), "U+202E"),
    (("mode", "wartime", "--level", "III", "--reason", "雨" * 501), "--reason: expected at most 500 characters"),
    (("broadcast", "--hazard", "rainstorm", "--zone", "DEMO-T03", "--level", "red", "--text", "雨" * 1001),
     "--text: expected at most 1000 characters"),
])
def test_free_text_is_refused_before_anything_is_written(tmp_path, args, says):
    """Before: a control character in ``warn broadcast --text`` reached the planner and crashed execution."""
    config = acting_deployment(tmp_path, live=False)
    store = store_of(config)
    assert warn(config, "note", "first", "--as", DUTY, "--at", AT).exit_code == 0
    before = counts(store)
    result = warn(config, *args, "--as", COMMANDER, "--at", AT)
    assert result.exit_code == 2, result.output
    assert says in result.output
    assert counts(store) == before


def test_check_refuses_an_os_login_mapped_to_nobody_on_the_roster(tmp_path):
    config = acting_deployment(tmp_path, live=False, identity={"os_users": {"zhangsan": "张三"}})
    assert "identity.os_users.zhangsan: expected a person on the roster, got '张三'" in messages(config)


def test_an_acting_command_anchors_the_head_it_wrote(tmp_path):
    """With ``anchors:``, what a person just recorded is anchored at once, not only at the next cycle."""
    from warn.store.anchors import keygen

    keygen(tmp_path / "anchor.pem")
    witness = tmp_path / "anchors.jsonl"
    config = acting_deployment(tmp_path, live=True, identity={"os_users": {os_login(): LEADER}},
                               anchors={"key": str(tmp_path / "anchor.pem"), "witness": [{"file": str(witness)}]})
    assert warn(config, "note", "DEMO-T03 来电").exit_code == 0
    (seq, head), = query(store_of(config), "select seq, hash from timeline order by seq desc limit 1")
    anchor = json.loads(witness.read_text(encoding="utf-8").splitlines()[-1])
    assert (anchor["seq"], anchor["head"]) == (seq, head)
