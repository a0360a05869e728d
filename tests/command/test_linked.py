"""城市 → 区县 linked response (MODE-LINKED): the city's response above the district's is proposed to the
district (or switched, when automatic), once per order of the city; going below the city is refused."""

from __future__ import annotations

from dataclasses import replace

from tests.command.conftest import minutes
from warn.command.model import ChangeMode, CityResponse, ModeDecision, ModeOrder, ProposeMode, RecordTimeline, Role
from warn.command.planner import State, plan
from warn.vocab import Mode, ResponseLevel

COMMANDER = "演示指挥长01"


def city(response: ResponseLevel | None, order: int, at: float) -> CityResponse:
    """The city's order ``order`` (wartime at ``response``; ``None``: peacetime), read at minute ``at``."""
    mode = Mode.PEACETIME if response is None else Mode.WARTIME
    return CityResponse("500000", f"500000/mode/{order}", mode, response, minutes(at - 5), "市指挥长", "全市强降雨",
                        minutes(at))


def records(actions):
    return [(a.rule_id, a.summary) for a in actions if isinstance(a, RecordTimeline)]


def test_the_citys_level_above_the_districts_is_proposed_once_naming_the_citys_order(setup):
    state, actions = plan(State(), [city(ResponseLevel.II, 7, 10)], minutes(10), setup=setup)
    [proposal] = [a for a in actions if isinstance(a, ProposeMode)]
    assert (proposal.rule_id, proposal.to_mode, proposal.response) == ("MODE-LINKED", Mode.WARTIME, ResponseLevel.II)
    assert "500000/mode/7" in proposal.reason and "市指挥长" in proposal.reason and "二级响应" in proposal.reason
    # the same order read again proposes nothing more, and a rejection is not undone by it
    state, actions = plan(state, [city(ResponseLevel.II, 7, 20)], minutes(20), setup=setup)
    assert actions == ()
    reject = ModeDecision(proposal.proposal, COMMANDER, Role.COMMANDER, False, "区内无险情", minutes(25))
    state, _ = plan(state, [reject, city(ResponseLevel.II, 7, 30)], minutes(30), setup=setup)
    assert state.mode.mode is Mode.PEACETIME and state.mode.pending is None
    # a new order of the city (raised to I) is proposed again
    state, actions = plan(state, [city(ResponseLevel.I, 8, 40)], minutes(40), setup=setup)
    assert [(a.rule_id, a.response) for a in actions if isinstance(a, ProposeMode)] == [("MODE-LINKED",
                                                                                          ResponseLevel.I)]


def test_accepted_the_district_follows_and_cannot_stand_down_below_the_city(setup):
    state, actions = plan(State(), [city(ResponseLevel.II, 7, 10)], minutes(10), setup=setup)
    [proposal] = [a for a in actions if isinstance(a, ProposeMode)]
    accept = ModeDecision(proposal.proposal, COMMANDER, Role.COMMANDER, True, "执行市级部署", minutes(12))
    state, actions = plan(state, [accept], minutes(12), setup=setup)
    assert (state.mode.mode, state.mode.response) == (Mode.WARTIME, ResponseLevel.II)
    for to_mode, response in ((Mode.PEACETIME, None), (Mode.WARTIME, ResponseLevel.III)):
        order = ModeOrder(to_mode, response, COMMANDER, Role.COMMANDER, "区内雨停", minutes(60))
        after, actions = plan(state, [order], minutes(60), setup=setup)
        assert (after.mode.mode, after.mode.response) == (Mode.WARTIME, ResponseLevel.II)
        [(rule, summary)] = records(actions)
        assert rule == "MODE-LINKED-REFUSED" and "500000/mode/7" in summary
    # above the city is the district's own call; and no step-down is proposed while the city holds
    raise_ = ModeOrder(Mode.WARTIME, ResponseLevel.I, COMMANDER, Role.COMMANDER, "区内险情加重", minutes(60))
    state, _ = plan(state, [raise_], minutes(60), setup=setup)
    assert state.mode.response is ResponseLevel.I
    state, actions = plan(state, [city(ResponseLevel.II, 7, 3 * 24 * 60)], minutes(3 * 24 * 60), setup=setup)
    assert not any(isinstance(a, ProposeMode) for a in actions)
    # the city stands down: the district's quiet rule proposes peacetime again
    state, actions = plan(state, [city(None, 9, 3 * 24 * 60 + 10)], minutes(3 * 24 * 60 + 10), setup=setup)
    assert [(a.rule_id, a.to_mode) for a in actions if isinstance(a, ProposeMode)] == [("MODE-STEP-DOWN",
                                                                                        Mode.PEACETIME)]


def test_with_automatic_switching_the_district_switches_at_once(setup):
    automatic = replace(setup, mode=replace(setup.mode, automatic=True))
    state, actions = plan(State(), [city(ResponseLevel.III, 3, 10)], minutes(10), setup=automatic)
    [change] = [a for a in actions if isinstance(a, ChangeMode)]
    assert (change.rule_id, change.to_mode, change.response) == ("MODE-AUTO", Mode.WARTIME, ResponseLevel.III)
    assert state.mode.linked == "500000/mode/3"
    # a district already above the city is not lowered
    state, actions = plan(state, [city(ResponseLevel.IV, 4, 20)], minutes(20), setup=automatic)
    assert state.mode.response is ResponseLevel.III and actions == ()


def test_a_step_down_proposed_before_the_city_ordered_is_refused_when_accepted(setup):
    order = ModeOrder(Mode.WARTIME, ResponseLevel.II, COMMANDER, Role.COMMANDER, "区内强降雨", minutes(0))
    state, _ = plan(State(), [order], minutes(0), setup=setup)
    day = 25 * 60
    state, actions = plan(state, [], minutes(day), setup=setup)
    [step_down] = [a for a in actions if isinstance(a, ProposeMode)]
    assert step_down.rule_id == "MODE-STEP-DOWN"
    state, actions = plan(state, [city(ResponseLevel.II, 7, day + 10)], minutes(day + 10), setup=setup)
    assert not any(isinstance(a, ProposeMode) for a in actions)  # the district is at the city's level already
    accept = ModeDecision(step_down.proposal, COMMANDER, Role.COMMANDER, True, "雨停", minutes(day + 20))
    state, actions = plan(state, [accept], minutes(day + 20), setup=setup)
    assert (state.mode.mode, state.mode.response, state.mode.pending) == (Mode.WARTIME, ResponseLevel.II, None)
    assert [rule for rule, _ in records(actions)] == ["MODE-LINKED-REFUSED"]
