"""Golden scenarios of the planner, with the committed playbooks and demo roster but no org tree (the calls
down to communities and grids are tests/command/test_cascade.py's): exact actions, and a replay of the same
events through plan() with the state it returned gives nothing new."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from tests.command.conftest import RUN, T0, crossing, minutes, orange_red_falling, run_all
from warn.command.model import (
    AckAnswered,
    ChangeMode,
    Channel,
    CreateTask,
    Escalate,
    ModeDecision,
    Notify,
    ProposeMode,
    RequestAck,
    Role,
    Tick,
)
from warn.command.org import OrgTree
from warn.command.planner import State, plan
from warn.vocab import Level, Mode, ResponseLevel


@pytest.fixture
def setup(setup):
    """The committed setup without the directory's org tree."""
    return replace(setup, org=OrgTree())


def digest(actions):
    """(action class, rule id, key) of each action, keys of the landslide run shortened to their step."""
    return [(type(a).__name__, a.rule_id, a.key.replace(RUN + "/", "")) for a in actions]


def assert_replay_is_silent(setup, state, batches):
    for events, now in batches:
        state, again = plan(state, events, now, setup=setup)
        assert again == ()


def test_landslide_red_with_120_people(setup):
    red = crossing("DEMO-H001", Level.NONE, Level.RED, T0, threatened_people=120)
    batches = [([red], T0), ([Tick(minutes(15))], minutes(15)),
               ([AckAnswered(f"{RUN}/call_town_leader/a0", "演示带班领导01", Role.LEADER_ON_DUTY, Channel.VOICE,
                             minutes(20))], minutes(20)),
               ([], minutes(60))]
    state, actions = run_all(setup, batches)
    assert digest(actions) == [
        ("OpenIncident", "INC-OPEN", "INC-storm-20260715T0200Z/open"),
        ("RecordTimeline", "INC-OPEN", "INC-storm-20260715T0200Z/open/timeline"),
        ("RecordTimeline", "WARN-RAISE", "landslide:DEMO-H001:20260715T0200Z/v1/timeline"),
        ("WarningChange", "WARN-RAISE", "landslide:DEMO-H001:20260715T0200Z/v1/warning"),
        ("RecordTimeline", "PB-START", "start"),
        ("Notify", "PB-STEP", "notify_monitor/a0"),
        ("RecordTimeline", "PB-STEP", "notify_monitor/a0/timeline"),
        ("Notify", "PB-STEP", "notify_town/a0"),
        ("RecordTimeline", "PB-STEP", "notify_town/a0/timeline"),
        ("RequestAck", "ACK-ASK", "call_town_leader/a0/ask"),
        ("RecordTimeline", "ACK-ASK", "call_town_leader/a0/ask/timeline"),
        ("RecordTimeline", "PB-STEP", "call_town_leader/a0/timeline"),
        # without an org tree the point's community is unknown, and that is recorded
        ("RecordTimeline", "ORG-EMPTY", "call_community/org-empty"),
        ("CreateTask", "PB-STEP", "patrol/a0"),
        ("RecordTimeline", "PB-STEP", "patrol/a0/timeline"),
        ("CreateTask", "PB-STEP", "evacuate/a0"),
        ("RequestAck", "ACK-ASK", "evacuate/a0/handoff/ask"),
        ("RecordTimeline", "ACK-ASK", "evacuate/a0/handoff/ask/timeline"),
        ("RecordTimeline", "PB-STEP", "evacuate/a0/timeline"),
        # one message of the town's landslide warnings to the public (red is above yellow) and one to
        # the responsible people, once the crossing's time is over
        ("Broadcast", "PUB-ALERT", "landslide:DEMO-T05:public:20260715T0200Z/v1/broadcast"),
        ("Broadcast", "PUB-ALERT", "landslide:DEMO-T05:restricted:20260715T0200Z/v1/broadcast"),
        # 15 min without an answer: both requests go up the chain
        ("Escalate", "ACK-ESCALATE", "call_town_leader/a0/attempt1"),
        ("RecordTimeline", "ACK-ESCALATE", "call_town_leader/a0/attempt1/timeline"),
        ("Escalate", "ACK-ESCALATE", "evacuate/a0/handoff/attempt1"),
        ("RecordTimeline", "ACK-ESCALATE", "evacuate/a0/handoff/attempt1/timeline"),
        # the leader on duty answers the 叫应; the evacuation hand-off runs out the chain
        ("RecordTimeline", "ACK-ANSWER", "call_town_leader/a0/answer"),
        ("Escalate", "ACK-ESCALATE", "evacuate/a0/handoff/attempt2"),
        ("RecordTimeline", "ACK-ESCALATE", "evacuate/a0/handoff/attempt2/timeline"),
        ("Notify", "ACK-UNANSWERED", "evacuate/a0/handoff/unanswered"),
        ("RecordTimeline", "ACK-UNANSWERED", "evacuate/a0/handoff/unanswered/timeline"),
    ]
    evacuate = next(a for a in actions if isinstance(a, CreateTask) and a.key.endswith("evacuate/a0"))
    assert "120" in evacuate.text and "DEMO-H001" in evacuate.text
    assert str(evacuate.owner.post) == "town.DEMO-T05.town_leader" and evacuate.owner.person == "演示镇街负责人05"
    assert evacuate.due == T0 + timedelta(hours=1)
    call = next(a for a in actions if isinstance(a, RequestAck) and a.key.endswith("call_town_leader/a0/ask"))
    assert str(call.to.post) == "town.DEMO-T05.town_leader" and call.deadline == minutes(15)
    assert [str(p) for p in call.chain] == ["district.500112.leader_on_duty", "district.500112.commander"]
    escalations = [a for a in actions if isinstance(a, Escalate) and "handoff" in a.key]
    assert [(e.at, str(e.to.post)) for e in escalations] == [
        (minutes(15), "district.500112.leader_on_duty"), (minutes(30), "district.500112.commander")]
    final = [a for a in actions if isinstance(a, Notify) and a.rule_id == "ACK-UNANSWERED"]
    assert [(f.at, str(f.to.post)) for f in final] == [(minutes(45), "district.500112.commander")]
    answer = next(a for a in actions if a.rule_id == "ACK-ANSWER")
    assert answer.actor == "演示带班领导01" and answer.details["channel"] == "voice"
    assert answer.details["answered_at"] == minutes(20).isoformat()
    assert_replay_is_silent(setup, state, batches)


def test_a_restart_mid_playbook_resumes_without_repeating(setup):
    """A yellow point: notify at once, patrol after notify_monitor; red later adds the call and the evacuation."""
    yellow = crossing("DEMO-H001", Level.NONE, Level.YELLOW, T0, threatened_people=120)
    state, first = plan(State(), [yellow], T0, setup=setup)
    assert [a.key.replace(RUN + "/", "") for a in first if type(a).__name__ in ("Notify", "CreateTask")] == [
        "notify_monitor/a0", "notify_town/a0", "patrol/a0"]
    restored = State(**{f: getattr(state, f) for f in State.__dataclass_fields__})  # as if read back from the store
    red = crossing("DEMO-H001", Level.YELLOW, Level.RED, minutes(40), threatened_people=120)
    state, second = plan(restored, [red], minutes(40), setup=setup)
    steps = [a.key.replace(RUN + "/", "") for a in second if type(a).__name__ in ("Notify", "CreateTask", "RequestAck")]
    assert steps == ["call_town_leader/a0/ask", "evacuate/a0", "evacuate/a0/handoff/ask"]
    assert all(a.at == minutes(40) for a in second)


def test_three_towns_orange_then_red_then_falling(setup):
    batches = orange_red_falling()
    state, actions = run_all(setup, batches)
    mode_actions = [(type(a).__name__, a.rule_id, a.key, a.at) for a in actions
                    if isinstance(a, (ProposeMode, ChangeMode))]
    assert mode_actions == [
        ("ProposeMode", "MODE-PROPOSE", "mode/p1", minutes(2)),  # the third orange town
        ("ChangeMode", "MODE-CHANGE", "mode/p1/change", minutes(10)),
        ("ProposeMode", "MODE-RAISE", "mode/p2", minutes(60)),  # a red zone: a stronger response
        ("ChangeMode", "MODE-CHANGE", "mode/p2/change", minutes(70)),
        ("ProposeMode", "MODE-STEP-DOWN", "mode/p3", minutes(60 + 24 * 60)),  # a day after the last trigger
        ("ChangeMode", "MODE-CHANGE", "mode/p3/change", minutes(61 + 24 * 60)),
    ]
    p1, c1, p2, c2, p3, c3 = [a for a in actions if isinstance(a, (ProposeMode, ChangeMode))]
    assert p1.to_mode is Mode.WARTIME and p1.response is ResponseLevel.III and "MODE-ORANGE-TOWNS" in p1.reason
    assert p1.decide_by is Role.COMMANDER
    assert c1.decided_by == "演示指挥长01" and c1.role is Role.COMMANDER and c1.response is ResponseLevel.III
    assert p2.response is ResponseLevel.II and "MODE-RED-ZONE" in p2.reason
    assert p3.to_mode is Mode.PEACETIME and c3.to_mode is Mode.PEACETIME and c3.reason == "全部解除"
    reports = [(a.key, a.at, a.due, str(a.owner.post)) for a in actions
               if isinstance(a, CreateTask) and a.key.startswith("sitrep/")]
    initial, *follow, final = reports
    assert initial == ("sitrep/w1/initial", minutes(10), minutes(70), "district.500112.scribe")
    assert [r[0] for r in follow] == [f"sitrep/w1/follow-up-{n}" for n in range(1, 13)]
    assert [r[2] for r in follow] == [minutes(70 + 120 * n) for n in range(1, 13)]
    assert final == ("sitrep/w1/final", minutes(61 + 24 * 60), minutes(121 + 24 * 60), "district.500112.scribe")
    clears = [(a.key, a.at) for a in actions if a.rule_id == "WARN-CLEAR" and type(a).__name__ == "WarningChange"]
    assert [at for _, at in clears] == [minutes(240 + 180)] * 3  # the 3 h all-clear hold
    closes = [a for a in actions if a.rule_id == "INC-CLOSE" and type(a).__name__ == "CloseIncident"]
    assert [(c.incident, c.at) for c in closes] == [("INC-storm-20260715T0200Z", minutes(420))]
    assert state.mode.mode is Mode.PEACETIME and state.mode.pending is None
    assert_replay_is_silent(setup, state, batches)


def test_a_decision_by_another_role_is_recorded_and_ignored(setup):
    batches = orange_red_falling()[:1]
    state, _ = run_all(setup, batches)
    state, actions = plan(state, [ModeDecision("mode/p1", "演示值班员01", Role.DUTY_OFFICER, True, "", minutes(5))],
                          minutes(5), setup=setup)
    assert [a.rule_id for a in actions] == ["MODE-NOT-AUTHORISED"]
    assert state.mode.mode is Mode.PEACETIME and state.mode.pending.id == "mode/p1"


def test_a_call_nobody_answers_runs_the_whole_chain(setup):
    red = crossing("DEMO-H001", Level.NONE, Level.RED, T0, threatened_people=120)
    state, _ = plan(State(), [red], T0, setup=setup)
    late = T0 + timedelta(hours=5)  # one late tick: the same escalations, at the deadlines
    state, actions = plan(state, [Tick(late)], late, setup=setup)
    call = [a for a in actions if "call_town_leader" in a.key]
    assert [(type(a).__name__, a.rule_id, a.at) for a in call] == [
        ("Escalate", "ACK-ESCALATE", minutes(15)), ("RecordTimeline", "ACK-ESCALATE", minutes(15)),
        ("Escalate", "ACK-ESCALATE", minutes(30)), ("RecordTimeline", "ACK-ESCALATE", minutes(30)),
        ("Notify", "ACK-UNANSWERED", minutes(45)), ("RecordTimeline", "ACK-UNANSWERED", minutes(45)),
    ]
    assert "叫应无人应答" in call[-2].text and str(call[-2].to.post) == "district.500112.commander"
    request = state.acks[f"{RUN}/call_town_leader/a0"]
    assert request.exhausted and request.answer is None
    state, again = plan(state, [Tick(late + timedelta(hours=1))], late + timedelta(hours=1), setup=setup)
    assert again == ()
    state, answered = plan(state, [AckAnswered(f"{RUN}/call_town_leader/a0", "演示镇街负责人05", Role.TOWN_LEADER,
                                               Channel.PHONE, late)], late, setup=setup)
    assert [a.rule_id for a in answered] == ["ACK-ANSWER"] and "链路用尽后应答" in answered[0].summary


def test_underpass_closed_only_at_an_underpass(setup):
    events = [crossing(p, Level.NONE, Level.YELLOW, T0, hazard="waterlogging", kind=k)
              for p, k in (("DEMO-W01", "underpass"), ("DEMO-W02", "street"))]
    _, actions = plan(State(), events, T0, setup=setup)
    tasks = sorted(a.key.split("/")[-2] + "@" + a.key.split(":")[2] for a in actions if isinstance(a, CreateTask))
    assert tasks == ["close_underpass@DEMO-W01", "pump_team@DEMO-W01", "pump_team@DEMO-W02"]
