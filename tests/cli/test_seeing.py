"""The duty officer's seeing commands, through the CLI runner, on a store filled by a replay."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from tests.conftest import SCENARIO_END
from tests.conftest import ROOT
from warn.cli.main import app
from warn.store import Store

CONFIG = ["--config", str(ROOT / "config.yaml")]


def run(store, *args: str, at: str = SCENARIO_END):
    return CliRunner().invoke(app, [*args, *CONFIG, "--store", str(store), "--at", at], env={"NO_COLOR": "1"})


def as_json(store, *args: str, at: str = SCENARIO_END):
    result = run(store, *args, "--json", at=at)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def store(replayed, tmp_path_factory):
    """A copy of the replayed store: the seeing commands must leave it as it was."""
    copy = tmp_path_factory.mktemp("seeing") / "warn.db"
    with sqlite3.connect(replayed) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    return copy


def test_status_at_the_end_of_the_scenario(store):
    data = as_json(store, "status")
    assert set(data) == {"at", "mode", "warnings", "overdue_tasks", "unanswered_calls", "feeds", "stale_feeds",
                         "notices", "last_cycle", "quarantined"}
    assert data["quarantined"] == []
    assert data["mode"]["mode"] == "wartime" and data["mode"]["decided_by"]
    assert data["last_cycle"] == {"at": SCENARIO_END, "status": "done", "age_s": 0.0, "every_s": 600.0,
                                  "late": False}
    with sqlite3.connect(store) as conn:
        active = conn.execute("select count(*) from warnings where status = 'active' and level > 0").fetchone()[0]
    assert sum(n for counts in data["warnings"].values() for n in counts.values()) == active
    text = run(store, "status").stdout
    assert "战时" in text and "生效预警" in text and "红色" in text


def test_status_marks_a_late_cycle_red(store):
    """Attack: months without a cycle were shown as "✓ 数据源正常" and nothing late."""
    months = "2026-12-02T00:00:00+00:00"
    data = as_json(store, "status", at=months)
    assert data["last_cycle"]["late"] and data["last_cycle"]["age_s"] > 3000 * 3600
    text = run(store, "status", at=months).stdout
    assert "周期超时" in text
    assert "cycle late" in run(store, "status", "--lang", "en", at=months).stdout
    every = as_json(store, "status", "--every", "PT30M", at="2026-07-15T12:50:00+00:00")["last_cycle"]
    assert every["every_s"] == 1800.0 and not every["late"]


def test_feeds_are_judged_at_the_time_asked(store):
    """Attack: ``warn feeds --at T`` ignored T (every feed "ok" before its first reading and months later)."""
    before = as_json(store, "feeds", at="2026-07-14T20:00:00+00:00")
    assert before and "ok" not in {f["health"] for f in before}
    middle = {f["source"]: f for f in as_json(store, "feeds", at="2026-07-15T03:00:00+00:00")}
    assert middle["sensor:WL-DEMO-W01"]["health"] == "ok"
    assert middle["sensor:WL-DEMO-W01"]["last_seen"] <= "2026-07-15T03:00:00+00:00"
    months = "2026-12-02T00:00:00+00:00"
    later = as_json(store, "feeds", at=months)
    assert {f["health"] for f in later if f["source"] != "feed:demo_mqtt"} == {"stale"}  # MQTT: pushed, no beat
    assert "✓ 数据源正常" not in run(store, "status", at=months).stdout
    assert as_json(store, "status", at=months)["stale_feeds"]


def test_zones_are_the_levels_as_they_were_at_the_time_asked(store):
    """Attack: ``warn zones --at T`` must show the levels the cycles by T left, and say from which cycle."""
    at = "2026-07-15T03:10:00+00:00"
    with Store.connect(f"sqlite:///{store}") as opened:  # every level recorded by then, the last of each item
        recorded = {(level.hazard, level.item_id): level.level
                    for _, level in opened.levels.history(until=datetime.fromisoformat(at))}
    then = as_json(store, "zones", at=at)
    assert {(z["hazard"], z["item_id"]): z["level"] for z in then} == recorded
    assert all(z["cycle_at"] <= at for z in then)
    assert then != as_json(store, "zones")
    assert "2026-07-15 03:00" not in run(store, "zones", at=at).stdout  # shown on the deployment's clock
    assert "周期 07-15 11:00" in run(store, "zones", at=at).stdout
    before = run(store, "zones", at="2026-07-14T20:00:00+00:00")
    assert before.exit_code == 0 and "尚无预警周期" in before.stdout


def test_a_store_without_feeds_is_not_all_clear(tmp_path):
    """Missing data is never "all clear": a store that has heard from no feed does not say every feed is fresh."""
    from warn.store import Store

    with Store.connect(f"sqlite:///{tmp_path / 'fresh.db'}") as fresh:
        fresh.upgrade()
    data = as_json(tmp_path / "fresh.db", "status")
    assert data["feeds"] == 0 and data["last_cycle"] is None
    text = run(tmp_path / "fresh.db", "status").stdout
    assert "✓ 数据源正常" not in text and "无数据源记录" in text
    assert "no feed on record" in run(tmp_path / "fresh.db", "status", "--lang", "en").stdout


def test_feeds_count_the_payloads_each_feed_had_refused_by_the_time_asked(tmp_path):
    from warn.store import Store

    with Store.connect(f"sqlite:///{tmp_path / 'fresh.db'}") as fresh:
        fresh.upgrade()
        fresh.beat("feed:polled", last_seen=datetime(2026, 7, 15, 11, 59, tzinfo=UTC), expected=timedelta(minutes=1),
                   stale=False)
        for feed, hour in (("feed:polled", 10), ("feed:polled", 11), ("feed:demo_mqtt", 11), ("feed:polled", 13)):
            fresh.rejected.record(feed, ["a sentence"], received_at=datetime(2026, 7, 15, hour, tzinfo=UTC))
    feeds = {f["source"]: f for f in as_json(tmp_path / "fresh.db", "feeds")}
    assert (feeds["feed:polled"]["rejected"], feeds["feed:polled"]["health"]) == (2, "ok")
    assert (feeds["feed:demo_mqtt"]["rejected"], feeds["feed:demo_mqtt"]["health"]) == (1, "never")
    table = " ".join(run(tmp_path / "fresh.db", "feeds", "--lang", "en").stdout.split())
    assert "rejected" in table and "only refused data" in table


def _between(store, query: str) -> tuple[str, str]:
    """(id, a time strictly between two stored times) for the first row of ``query``, as ISO 8601 UTC."""
    with sqlite3.connect(store) as conn:
        key, start, end = conn.execute(query).fetchone()
    first, second = (datetime.fromisoformat(t).replace(tzinfo=UTC) for t in (start, end))
    return key, (first + (second - first) / 2).isoformat()


def late_task(store) -> tuple[str, str]:
    """A task the replay finished late, and a time when it was overdue."""
    return _between(store, "select task_id, due_at, done_at from tasks where done_at > due_at order by due_at")


def late_call(store) -> tuple[str, str]:
    """A 叫应 call answered after its deadline, and a time when it was unanswered and overdue."""
    return _between(store, "select request_id, deadline, answered_at from ack_requests "
                           "where kind = 'call' and answered_at > deadline order by deadline")


def test_status_shows_overdue_tasks_and_unanswered_calls_as_of_at(store):
    task, at = late_task(store)
    late = as_json(store, "status", at=at)
    assert task in [t["task_id"] for t in late["overdue_tasks"]]
    assert all(t["overdue_s"] > 0 for t in late["overdue_tasks"])
    call, at = late_call(store)
    calling = as_json(store, "status", at=at)
    assert call in [c["request_id"] for c in calling["unanswered_calls"]]
    text = run(store, "status", "--lang", "en", at=at).stdout
    assert "unanswered 叫应 calls" in text and "level" in text


def test_status_in_english_writes_levels_out(store):
    text = run(store, "status", "--lang", "en").stdout
    assert "red" in text and "orange" in text and "active warnings" in text


def test_warnings_and_zones(store):
    rows = as_json(store, "warnings")
    assert rows and set(rows[0]) == {"thread_id", "hazard", "item_id", "level", "colour", "version", "onset",
                                     "updated_at", "incident_id"}
    assert [r["level"] for r in rows] == sorted((r["level"] for r in rows), reverse=True)
    zones = as_json(store, "zones", "--hazard", "landslide", "--level", "orange")
    assert zones and all(z["hazard"] == "landslide" and z["level"] >= 3 for z in zones)
    assert set(zones[0]) == {"hazard", "kind", "item_id", "level", "colour", "cycle_at"}
    bad = run(store, "zones", "--level", "purple")
    assert bad.exit_code == 2 and "--level" in bad.output


def test_incidents_tasks_timeline_feeds(store):
    incidents = as_json(store, "incidents")
    assert [i["hazard"] for i in incidents] == ["storm"]  # one storm, one incident, every hazard's threads in it
    tasks = as_json(store, "tasks")
    assert tasks and {"task_id", "status", "due_at", "overdue_s"} <= set(tasks[0])
    task, at = late_task(store)
    assert task in [t["task_id"] for t in as_json(store, "tasks", "--overdue", at=at)]
    assert task not in [t["task_id"] for t in as_json(store, "tasks", "--overdue")]
    incident = incidents[0]["incident_id"]
    entries = as_json(store, "timeline", incident, "--since", "2026-07-15T10:00Z", "--last", "5")
    assert 0 < len(entries) <= 5 and all(e["incident_id"] == incident for e in entries)
    assert [e["seq"] for e in entries] == sorted(e["seq"] for e in entries)
    feeds = {f["source"]: f for f in as_json(store, "feeds")}
    assert {f["health"] for f in feeds.values()} <= {"ok", "stale", "never", "unknown"}
    configured = {"forecast:demo", "official:met_rainstorm", "official:geohazard", "feed:demo_sta", "feed:demo_mqtt"}
    assert configured <= set(feeds)  # every source of config.yaml, not only the sensors and the beating feeds
    assert feeds["forecast:demo"]["health"] == "ok" and feeds["forecast:demo"]["last_seen"] == SCENARIO_END
    assert feeds["forecast:demo"]["detail"].startswith("run issued ")
    assert {"last_failure", "failure"} <= set(feeds["official:geohazard"])
    table = run(store, "feeds").stdout
    assert "数据源" in table and "forecast:demo" in table and "official:geohazard" in table and "最近成功" in table


def test_tasks_mine_follows_the_roster(store):
    mine = as_json(store, "tasks", "--mine", "--as", "演示信息员01")
    assert mine and all(t["owner_role"] == "scribe" for t in mine)
    nobody = run(store, "tasks", "--mine", "--as", "无此人")
    assert nobody.exit_code == 1 and "--as" in nobody.output
    assert run(store, "tasks", "--mine").exit_code == 2


def test_usage_and_store_errors(store, tmp_path):
    assert run(store, "status", at="2026-07-15T12:00").exit_code == 2  # no zone
    bad = run(store, "status", "--every", "10m")
    assert bad.exit_code == 2 and "--every" in bad.output
    missing = run(tmp_path / "none.db", "status")
    assert missing.exit_code == 1 and not (tmp_path / "none.db").exists()


def test_reading_leaves_the_store_as_it_was(store, tmp_path):
    before = tmp_path / "before.db"
    shutil.copy(store, before)
    for command in ("status", "warnings", "zones", "incidents", "tasks", "timeline", "feeds"):
        assert run(store, command).exit_code == 0
    with sqlite3.connect(store) as a, sqlite3.connect(before) as b:
        for table in ("timeline", "tasks", "warnings", "cycles", "heartbeats"):
            assert a.execute(f"select count(*) from {table}").fetchone() == b.execute(
                f"select count(*) from {table}").fetchone()


@pytest.mark.parametrize("command", [c.name for c in app.registered_commands])
def test_every_command_has_help_with_an_example(command):
    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0 and "Example" in result.output


@pytest.mark.parametrize("command", ["status", "watch", "warnings", "zones", "incidents", "tasks", "timeline",
                                     "feeds"])
def test_seeing_commands_take_an_as_of_time(command):
    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0 and "--at" in result.output


def test_the_stale_factor_is_the_deployments(tmp_path):
    from types import SimpleNamespace

    from warn.store.views import stale_factor
    from warn.errors import ConfigError
    from warn.store.views import STALE_FACTOR

    model = tmp_path / "sensors.yaml"
    model.write_text("staleness:\n  factor: 5\n", encoding="utf-8")
    assert stale_factor(SimpleNamespace(models={"sensors": model})) == 5.0
    assert stale_factor(SimpleNamespace(models={})) == STALE_FACTOR
    model.write_text("staleness:\n  factor: -1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="staleness.factor"):
        stale_factor(SimpleNamespace(models={"sensors": model}))
    with pytest.raises(ConfigError, match="missing.yaml"):
        stale_factor(SimpleNamespace(models={"sensors": tmp_path / "missing.yaml"}))


def test_a_zero_cycle_interval_is_a_usage_error(store):
    zero = run(store, "status", "--every", "PT0S")
    assert zero.exit_code == 2 and "--every" in zero.output


def test_status_names_the_data_notices_in_force_at_the_time_asked(tmp_path):
    """Attack: the data-source line said "✓ 数据源正常" while a flatline notice was in force; with ``--at`` the
    notices must be those in force then (from the timeline), not those of the store's last cycle."""
    from warn.config import load_settings
    from warn.cycle.warning_cycle import _notices
    from warn.store import Store
    from warn.vocab import CapStatus

    settings = load_settings(ROOT / "config.yaml")
    flatline = "数据质量：积水点 DEMO-W01 传感器 WL-DEMO-W01 读数不变 / data quality: DEMO-W01 sensor flatline"
    outage = "预报 2026-07-15 10:00Z 不可用 / run 2026-07-15 10:00Z unavailable"
    path = tmp_path / "notices.db"
    with Store.connect(f"sqlite:///{path}", now=lambda: datetime(2026, 7, 15, 10, tzinfo=UTC)) as fresh:
        fresh.upgrade()
        fresh.beat("feed:polled", last_seen=datetime(2026, 7, 15, 10, tzinfo=UTC), expected=timedelta(hours=1),
                   stale=False)
        for hour, notices in ((10, [flatline]), (11, [flatline, outage]), (12, [])):
            _notices(fresh, settings, datetime(2026, 7, 15, hour, tzinfo=UTC), notices, CapStatus.EXERCISE)
    at_11 = as_json(path, "status", at="2026-07-15T11:30:00+00:00")
    assert [n["notice"] for n in at_11["notices"]] == [flatline, outage]
    assert at_11["notices"][0]["began_at"] == "2026-07-15T10:00:00+00:00" and not at_11["stale_feeds"]
    text = run(path, "status", at="2026-07-15T11:30:00+00:00").stdout
    assert "✓ 数据源正常" not in text and "数据告警 2" in text and "读数不变" in text and "data quality" not in text
    english = run(path, "status", "--lang", "en", at="2026-07-15T11:30:00+00:00").stdout
    assert "data notices in force 2" in english and "sensor flatline" in english
    assert as_json(path, "status", at="2026-07-15T12:30:00+00:00")["notices"] == []  # ended by the 12:00 cycle
    assert "✓ 数据源正常" in run(path, "status", at="2026-07-15T12:30:00+00:00").stdout


def test_tasks_keep_id_status_and_due_when_piped(store):
    """Attack: piped (120 columns) the table cut the task id away and squeezed status and due."""
    tasks = as_json(store, "tasks")
    result = run(store, "tasks")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    for task in tasks:
        assert f"  {task['task_id']}" in lines  # whole, on a line of its own: warn ack and warn done need it
    assert sum("应完成" in line for line in lines) == len(tasks)
    assert sum(line.startswith(("● 待签收", "● 已签收", "● 已完成", "● 已取消")) for line in lines) == len(tasks)


def test_tasks_are_readable_in_an_80_column_terminal(store):
    """Attack: at 80 columns the id, status and due columns were squeezed out of the table."""
    import os
    import pty
    import subprocess
    import sys

    from rich.cells import cell_len

    tasks = as_json(store, "tasks")
    leader, follower = pty.openpty()
    env = {**os.environ, "COLUMNS": "80", "LINES": "40", "NO_COLOR": "1", "TERM": "xterm"}
    with subprocess.Popen([sys.executable, "-m", "warn", "tasks", *CONFIG, "--store", str(store), "--at", SCENARIO_END],
                          stdin=follower, stdout=follower, stderr=follower, env=env) as process:
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed with the process
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert process.wait(timeout=60) == 0
    os.close(leader)
    text = re.sub(r"\x1b\[[0-9;]*m", "", b"".join(chunks).decode("utf-8"))  # NO_COLOR keeps bold and dim
    lines = text.replace("\r\n", "\n").splitlines()
    ids = {f"  {t['task_id']}" for t in tasks}
    assert ids <= set(lines)
    assert all(cell_len(line) <= 80 for line in lines if line not in ids)
    heads = [line for line in lines if line.startswith("● ")]
    assert len(heads) == len(tasks) and all("应完成" in line for line in heads)
