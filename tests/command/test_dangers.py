"""Dangers reported from below (险情上报 → 核实 → 分拨 → 处置): verified by the reporter's town, dispatched to the
community's responsible person, or closed when found untrue; every step on the timeline naming the report."""

from __future__ import annotations

from dataclasses import replace

from tests.command.conftest import T0, minutes, with_tree
from warn.command.dangers import DangerStatus
from warn.command.model import (
    AckAnswered,
    AckKind,
    Channel,
    CreateTask,
    DangerReport,
    Escalate,
    RecordTimeline,
    RequestAck,
    Role,
    Tick,
)
from warn.command.planner import State, plan
from warn.vocab import Level

REPORT = DangerReport("R1", "演示网格员C1G1", Role.GRID_WORKER, "grid.DEMO-T11-C1-G1", T0, "后山出现裂缝",
                      "一组王家湾", lon=106.6, lat=29.7, photo="att-1")


def verify(accepted: bool, at=minutes(10), note: str = "") -> AckAnswered:
    """The town duty officer's verdict on R1."""
    return AckAnswered("danger/R1/verify", "演示值班员12", Role.DUTY_OFFICER, Channel.LINK, at, accepted=accepted,
                       note=note)


def test_a_report_is_recorded_and_its_town_asked_to_verify_it(setup):
    state, actions = plan(State(), [REPORT], T0, setup=with_tree(setup))
    record = next(a for a in actions if a.rule_id == "DANGER-REPORT")
    assert isinstance(record, RecordTimeline) and record.actor == "演示网格员C1G1" and record.role is Role.GRID_WORKER
    assert record.details["report"] == "R1" and record.details["town"] == "DEMO-T11"
    assert record.details["photo"] == "att-1" and "后山出现裂缝" in record.summary
    [ask] = [a for a in actions if isinstance(a, RequestAck)]
    assert (ask.request, ask.ack, str(ask.to.post), ask.deadline) == (
        "danger/R1/verify", AckKind.VERIFY, "town.DEMO-T11.duty_officer", minutes(30))
    assert [str(p) for p in ask.chain] == ["town.DEMO-T11.town_leader", "district.500112.duty_officer"]
    assert state.dangers["R1"].status is DangerStatus.REPORTED
    # the same report again changes nothing
    assert plan(state, [REPORT], T0, setup=with_tree(setup))[1] == ()


def test_an_unverified_report_escalates_to_the_town_leader(setup):
    state, _ = plan(State(), [REPORT], T0, setup=with_tree(setup))
    _, actions = plan(state, [Tick(minutes(31))], minutes(31), setup=with_tree(setup))
    assert [str(a.to.post) for a in actions if isinstance(a, Escalate)] == ["town.DEMO-T11.town_leader"]


def test_a_verified_danger_is_dispatched_to_the_community(setup):
    setup = with_tree(setup)
    state, _ = plan(State(), [REPORT], T0, setup=setup)
    state, actions = plan(state, [verify(True, note="裂缝约2米")], minutes(10), setup=setup)
    [task] = [a for a in actions if isinstance(a, CreateTask)]
    assert (task.task, str(task.owner.post), task.owner.person, task.due, task.rule_id) == (
        "danger/R1/task", "community.DEMO-T11-C1.community_lead", "演示村社责任人C1", minutes(130), "DANGER-DISPATCH")
    assert "后山出现裂缝" in task.text and "裂缝约2米" in task.text and task.level is Level.NONE
    handoff = next(a for a in actions if isinstance(a, RequestAck))
    assert handoff.request == "danger/R1/task/handoff" and handoff.ack is AckKind.TASK
    assert [str(p) for p in handoff.chain] == ["town.DEMO-T11.duty_officer", "town.DEMO-T11.town_leader",
                                               "district.500112.duty_officer"]
    rules = [a.rule_id for a in actions if isinstance(a, RecordTimeline)]
    assert rules[:2] == ["ACK-ANSWER", "DANGER-DISPATCH"]
    assert all("R1" in a.summary for a in actions if isinstance(a, RecordTimeline) and a.rule_id.startswith("DANGER"))
    assert state.dangers["R1"].status is DangerStatus.VERIFIED
    assert plan(state, [verify(True, minutes(11))], minutes(11), setup=setup)[1] == ()


def test_a_danger_found_untrue_is_closed(setup):
    setup = with_tree(setup)
    state, _ = plan(State(), [REPORT], T0, setup=setup)
    state, actions = plan(state, [verify(False, note="系旧裂缝，已监测")], minutes(10), setup=setup)
    assert not any(isinstance(a, CreateTask) for a in actions)
    closed = next(a for a in actions if a.rule_id == "DANGER-UNFOUNDED")
    assert closed.actor == "演示值班员12" and "系旧裂缝" in closed.summary and closed.details["status"] == "unfounded"
    assert "不属实" in next(a for a in actions if a.rule_id == "ACK-ANSWER").summary
    assert state.dangers["R1"].status is DangerStatus.UNFOUNDED


def test_without_a_community_the_town_duty_officer_handles_it(setup):
    state, _ = plan(State(), [replace(REPORT, org_unit="town.DEMO-T11")], T0, setup=with_tree(setup))
    _, actions = plan(state, [verify(True)], minutes(10), setup=with_tree(setup))
    [task] = [a for a in actions if isinstance(a, CreateTask)]
    assert str(task.owner.post) == "town.DEMO-T11.duty_officer"


def test_a_reporter_the_tree_does_not_place_is_verified_by_the_district(setup):
    _, actions = plan(State(), [REPORT], T0, setup=setup)
    [ask] = [a for a in actions if isinstance(a, RequestAck)]
    assert str(ask.to.post) == "district.500112.duty_officer"
