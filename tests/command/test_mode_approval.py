"""A mode proposal is an approval request to the commander: it reaches them, their answer decides it, and a
decision at the desk closes it."""

from __future__ import annotations

from dataclasses import replace

from tests.command.conftest import crossing, minutes
from warn.command.model import AckAnswered, AckKind, ChangeMode, Channel, ModeDecision, RequestAck, Role
from warn.command.org import OrgTree
from warn.command.planner import State, plan
from warn.vocab import ItemKind, Level, Mode


def _three_orange_towns(setup):
    towns = ["DEMO-T01", "DEMO-T02", "DEMO-T03"]
    events = [crossing(t, Level.NONE, Level.ORANGE, minutes(i), town=t, item_kind=ItemKind.ZONE)
              for i, t in enumerate(towns)]
    return plan(State(), events, minutes(2), setup=replace(setup, org=OrgTree()))


def test_the_proposal_asks_the_commander_and_their_answer_switches(setup):
    setup = replace(setup, org=OrgTree())
    state, actions = _three_orange_towns(setup)
    asks = [a for a in actions if isinstance(a, RequestAck) and a.request == "mode/p1"]
    assert len(asks) == 1 and asks[0].ack is AckKind.APPROVAL
    assert str(asks[0].to.post) == "district.500112.commander" and asks[0].to.person == "演示指挥长01"
    assert "平急转换审批" in asks[0].subject and asks[0].deadline == minutes(17)
    answer = AckAnswered("mode/p1", "演示指挥长01", Role.COMMANDER, Channel.LINK, minutes(6))
    state, actions = plan(state, [answer], minutes(6), setup=setup)
    changes = [a for a in actions if isinstance(a, ChangeMode)]
    assert [(c.to_mode, c.decided_by, c.at) for c in changes] == [(Mode.WARTIME, "演示指挥长01", minutes(6))]
    assert "link" in changes[0].reason
    assert state.mode.mode is Mode.WARTIME and not state.acks["mode/p1"].waiting


def test_a_refusal_through_the_phone_keeps_peacetime(setup):
    setup = replace(setup, org=OrgTree())
    state, _ = _three_orange_towns(setup)
    refuse = AckAnswered("mode/p1", "演示指挥长01", Role.COMMANDER, Channel.WORK_NOTICE, minutes(5), accepted=False)
    state, actions = plan(state, [refuse], minutes(5), setup=setup)
    assert not [a for a in actions if isinstance(a, ChangeMode)]
    assert state.mode.mode is Mode.PEACETIME and state.mode.pending is None
    assert [a.rule_id for a in actions if a.key == "mode/p1/answer"] == ["ACK-REFUSED"]


def test_a_decision_at_the_desk_closes_the_request(setup):
    setup = replace(setup, org=OrgTree())
    state, _ = _three_orange_towns(setup)
    decision = ModeDecision("mode/p1", "演示指挥长01", Role.COMMANDER, True, "同意", minutes(4))
    state, actions = plan(state, [decision], minutes(4), setup=setup)
    assert state.mode.mode is Mode.WARTIME
    answer = state.acks["mode/p1"].answer
    assert answer is not None and answer.channel is Channel.CLI and answer.by == "演示指挥长01"
    _, later = plan(state, [], minutes(60), setup=setup)
    assert not [a for a in later if a.key.startswith("mode/p1/")]
