"""The command step against a real store (SQLite, and PostgreSQL when reachable): two golden scenarios
recorded row by row, then replayed with the saved state, with the state lost, and after a crash
between executing and saving — nothing is written twice."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.command.conftest import RUN, T0, crossing, minutes, orange_red_falling, run_all, with_tree
from tests.command.test_cascade import RUN as RUN_TOWN
from tests.command.test_cascade import answer, orange
from tests.command.test_dangers import REPORT, verify
from warn.command import State, plan
from warn.command.model import (
    AckAnswered,
    Broadcast,
    ChangeMode,
    Channel,
    CloseIncident,
    CreateTask,
    DangerReport,
    Escalate,
    Notify,
    OpenIncident,
    ProposeMode,
    RecordTimeline,
    Reply,
    RequestAck,
    Role,
    Tick,
)
from warn.cycle.command import decode, encode, execute, load_state, run_command, save_state, submit
from warn.store import Store
from warn.store.schema import (
    playbook_runs,
    ack_requests,
    incidents,
    mode_changes,
    tasks,
    timeline,
    warning_messages,
    warnings,
)
from warn.vocab import Level

INCIDENT = "INC-storm-20260715T0200Z"
TABLES = (incidents, warnings, warning_messages, mode_changes, tasks, ack_requests, timeline)
RECORDED = (RecordTimeline, Notify, Broadcast)
STATE_CHANGING = (OpenIncident, CloseIncident, CreateTask, RequestAck, Escalate, ProposeMode, ChangeMode)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """A migrated, empty store."""
    with Store.connect(store_url) as opened:
        opened.upgrade()
        yield opened


def landslide_red():
    """The landslide red at DEMO-H001 (120 threatened people): the 叫应 answered, the hand-off not."""
    red = crossing("DEMO-H001", Level.NONE, Level.RED, T0, threatened_people=120)
    answer = AckAnswered(f"{RUN}/call_town_leader/a0", "演示带班领导01", Role.LEADER_ON_DUTY, Channel.VOICE,
                         minutes(20))
    return [([red], T0), ([Tick(minutes(15))], minutes(15)), ([answer], minutes(20)), ([], minutes(60))]


def run_batches(store, setup, batches):
    """run_command for every batch; the reports."""
    return [run_command(store, setup, events, now) for events, now in batches]


def rows(store, table):
    with store.engine.connect() as conn:
        return [row._asdict() for row in conn.execute(select(table).order_by(*table.primary_key.columns))]


def snapshot(store):
    """Every row of the command tables."""
    return {table.name: rows(store, table) for table in TABLES}


def assert_recorded_as_planned(store, actions):
    """The timeline holds the planner's records and dispatches, in order; every state change is on it."""
    entries = store.timeline.entries()
    assert [e.key for e in entries] == [a.key for a in actions if isinstance(a, RECORDED)]
    keys = {e.key for e in entries}
    assert all(f"{a.key}/timeline" in keys for a in actions if isinstance(a, STATE_CHANGING))
    assert store.timeline.verify().ok


def assert_replays_write_nothing(store, setup, batches):
    """The same events again: with the saved state, then from a lost (fresh) state."""
    before = snapshot(store)
    again = run_batches(store, setup, batches)
    assert [(r.applied, r.appended) for r in again] == [(0, 0)] * len(batches)
    assert snapshot(store) == before
    save_state(store, State())
    lost = run_batches(store, setup, batches)
    assert all(r.applied == 0 and r.appended == 0 and r.repeated == r.actions for r in lost)
    assert sum(r.actions for r in lost) > 0
    assert snapshot(store) == before


def test_landslide_red_with_120_people_is_recorded_once(store, setup):
    batches = landslide_red()
    reports = run_batches(store, setup, batches)
    state, actions = run_all(setup, batches)
    assert sum(r.applied for r in reports) == len(actions) and sum(r.repeated for r in reports) == 0
    assert load_state(store) == state

    [incident] = rows(store, incidents)
    assert (incident["incident_id"], incident["hazard"], incident["opened_at"], incident["closed_at"],
            incident["mode"]) == (INCIDENT, "storm", T0, None, "peacetime")
    [warning] = rows(store, warnings)
    assert (warning["item_id"], warning["level"], warning["version"], warning["status"], warning["incident_id"]) == (
        "DEMO-H001", 4, 1, "active", INCIDENT)
    assert rows(store, warning_messages) == [] and rows(store, mode_changes) == []

    by_key = {t["idempotency_key"].removeprefix(RUN + "/"): t for t in rows(store, tasks)}
    assert sorted(by_key) == ["evacuate/a0", "patrol/a0"]
    evacuate = by_key["evacuate/a0"]
    assert "120" in evacuate["summary"] and "DEMO-H001" in evacuate["summary"]
    assert (evacuate["owner_role"], evacuate["org_unit"], evacuate["due_at"], evacuate["status"],
            evacuate["incident_id"]) == ("town_leader", "town.DEMO-T05", T0 + timedelta(hours=1), "open", INCIDENT)

    requests = {r["request_id"].removeprefix(f"{RUN}/"): r for r in rows(store, ack_requests)}
    call, handoff = requests["call_town_leader/a0"], requests["evacuate/a0/handoff"]
    assert call["kind"] == "call" and json.loads(call["chain"]) == ["district.500112.leader_on_duty",
                                                                     "district.500112.commander"]
    assert (call["escalation_step"], call["addressee_role"], call["org_unit"], call["deadline"]) == (
        1, "leader_on_duty", "district.500112", minutes(30))
    assert (call["answered_by"], call["answered_at"], call["channel"]) == ("演示带班领导01", minutes(20), "voice")
    assert (handoff["kind"], handoff["escalation_step"], handoff["addressee_role"], handoff["answered_at"]) == (
        "task", 2, "commander", None)

    assert_recorded_as_planned(store, actions)
    history = [e for e in store.timeline.entries() if e.details.get("request", "").endswith("evacuate/a0/handoff")]
    assert [(e.details["rule_id"], e.occurred_at) for e in history] == [
        ("ACK-ASK", T0), ("ACK-ESCALATE", minutes(15)), ("ACK-ESCALATE", minutes(30)),
        ("ACK-UNANSWERED", minutes(45))]
    answer = next(e for e in store.timeline.entries() if e.details["rule_id"] == "ACK-ANSWER")
    assert (answer.actor, answer.role, answer.kind) == ("演示带班领导01", "leader_on_duty", "ack")
    assert_replays_write_nothing(store, setup, batches)


def test_three_towns_orange_red_falling_records_mode_changes_once(store, setup):
    batches = orange_red_falling()
    run_batches(store, setup, batches)
    state, actions = run_all(setup, batches)
    assert load_state(store) == state

    changes = [(m["idempotency_key"], m["from_mode"], m["to_mode"], m["response_level"], m["proposed_by"],
                m["decided_by"], m["rule_id"]) for m in rows(store, mode_changes)]
    assert changes == [
        ("mode/p1", "peacetime", "wartime", 2, "warn", None, "MODE-PROPOSE"),
        ("mode/p1/change", "peacetime", "wartime", 2, "warn", "演示指挥长01", "MODE-CHANGE"),
        ("mode/p2", "wartime", "wartime", 3, "warn", None, "MODE-RAISE"),
        ("mode/p2/change", "wartime", "wartime", 3, "warn", "演示指挥长01", "MODE-CHANGE"),
        ("mode/p3", "wartime", "peacetime", 0, "warn", None, "MODE-STEP-DOWN"),
        ("mode/p3/change", "wartime", "peacetime", 0, "warn", "演示指挥长01", "MODE-CHANGE"),
    ]
    [incident] = rows(store, incidents)
    assert (incident["closed_at"], incident["mode"], incident["response_level"]) == (minutes(420), "wartime", 3)
    assert [(w["item_id"], w["level"], w["status"]) for w in rows(store, warnings)] == [
        (t, 0, "cleared") for t in ("DEMO-T01", "DEMO-T02", "DEMO-T03")]
    stored = {t["idempotency_key"]: t for t in rows(store, tasks)}
    assert sorted(stored) == sorted(a.key for a in actions if isinstance(a, CreateTask))
    reports = [t for key, t in stored.items() if key.startswith("sitrep/")]
    assert len(reports) == 14 and all(t["incident_id"] is None and t["owner_role"] == "scribe" for t in reports)
    assert_recorded_as_planned(store, actions)
    assert_replays_write_nothing(store, setup, batches)


def test_a_crash_between_execute_and_save_writes_nothing_twice(store, setup):
    batches = landslide_red()
    (events, now), rest = batches[0], batches[1:]
    _, actions = plan(load_state(store), events, now, setup=setup)
    first = execute(store, actions)  # the state is not saved: a crash
    assert first.applied == len(actions) > 0
    before = snapshot(store)
    assert load_state(store) == State()
    resumed = run_command(store, setup, events, now)
    assert (resumed.applied, resumed.appended, resumed.repeated) == (0, 0, len(actions))
    assert snapshot(store) == before
    run_batches(store, setup, rest)
    _, planned = run_all(setup, batches)
    assert_recorded_as_planned(store, planned)
    assert len(rows(store, tasks)) == len({a.task for a in planned if type(a).__name__ == "CreateTask"}) == 2
    assert len(rows(store, ack_requests)) == len({a.request for a in planned if type(a).__name__ == "RequestAck"})


def test_playbook_runs_are_recorded_and_tasks_point_at_their_step(store, setup):
    """The landslide scenario writes its playbook run, and each playbook task names its run and step."""
    run_batches(store, setup, landslide_red())
    [run] = rows(store, playbook_runs)
    assert (run["playbook_id"], run["incident_id"]) == ("landslide", INCIDENT)
    steps = {row["step_id"] for row in rows(store, tasks) if row["run_id"] == run["run_id"]}
    assert "evacuate" in steps


def test_a_cascade_and_a_reported_danger_round_trip_through_the_store(store, setup):
    setup = with_tree(setup)
    batches = [([orange(), REPORT], T0),
               ([answer("call_town_leader", "演示镇街负责人11", Role.TOWN_LEADER, minutes(5))], minutes(5)),
               ([answer("call_communities/DEMO-T11-C1", "演示村社责任人C1", Role.COMMUNITY_LEAD, minutes(8),
                        Reply.NEED_SUPPORT, "需要沙袋")], minutes(8)),
               ([verify(True)], minutes(10))]
    reports = run_batches(store, setup, batches)
    state, actions = run_all(setup, batches)
    assert sum(r.applied for r in reports) == len(actions) and sum(r.repeated for r in reports) == 0
    assert load_state(store) == state
    assert state.dangers["R1"].status == "verified" and f"{RUN_TOWN}/call_grids/DEMO-T11-C1-G2/a0" in state.acks
    assert load_state(store).acks[f"{RUN_TOWN}/call_grids/DEMO-T11-C1-G2/a0"].level is Level.ORANGE
    [task] = [r for r in rows(store, tasks) if r["task_id"] == "danger/R1/task"]
    assert task["owner_role"] == "community_lead"
    assert_replays_write_nothing(store, setup, batches)
    # a reported danger goes through the inbox as a person's event, once
    assert decode(DangerReport, encode(REPORT)) == REPORT
    assert submit(store, REPORT) and not submit(store, REPORT)
