"""The duty officer's seeing commands, through the CLI runner, on a store filled by a replay."""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from tests.conftest import SCENARIO_END
from tests.conftest import ROOT
from warn.cli.main import app

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
                         "last_cycle", "quarantined"}
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
    assert {f["health"] for f in as_json(store, "feeds", at=months)} == {"stale"}
    assert "✓ 数据源正常" not in run(store, "status", at=months).stdout
    assert as_json(store, "status", at=months)["stale_feeds"]


def test_zones_are_the_levels_as_they_were_at_the_time_asked(store):
    """Attack: ``warn zones --at T`` must show the levels the cycles by T left, and say from which cycle."""
    at = "2026-07-15T03:10:00+00:00"
    with sqlite3.connect(store) as conn:
        recorded = dict(((h, i), lv) for h, i, lv, _ in conn.execute(
            "select hazard, item_id, level, max(cycle_at) from item_levels where lead = 'now' "
            "and cycle_at <= '2026-07-15 03:10:00.000000' group by hazard, item_kind, item_id"))
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
    assert {"landslide", "waterlogging"} <= {i["hazard"] for i in incidents}
    tasks = as_json(store, "tasks")
    assert tasks and {"task_id", "status", "due_at", "overdue_s"} <= set(tasks[0])
    task, at = late_task(store)
    assert task in [t["task_id"] for t in as_json(store, "tasks", "--overdue", at=at)]
    assert task not in [t["task_id"] for t in as_json(store, "tasks", "--overdue")]
    incident = incidents[0]["incident_id"]
    entries = as_json(store, "timeline", incident, "--since", "2026-07-15T10:00Z", "--last", "5")
    assert 0 < len(entries) <= 5 and all(e["incident_id"] == incident for e in entries)
    assert [e["seq"] for e in entries] == sorted(e["seq"] for e in entries)
    feeds = as_json(store, "feeds")
    assert feeds and {f["health"] for f in feeds} <= {"ok", "stale", "never"}
    assert "数据源" in run(store, "feeds").stdout


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

    from warn.cli.status import stale_factor
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
