"""The stand-down rule (config command.stand_down): no step-down to peacetime — proposed, decided or
ordered — while a warning at orange or above is active, unless the commander overrides with a reason."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from tests.command.conftest import crossing, minutes, orange_red_falling, run_all
from warn.command.mode import StandDown
from warn.command.model import ChangeMode, ModeDecision, ModeOrder, ProposeMode, RecordTimeline, Role, Tick
from warn.command.planner import plan
from warn.vocab import ItemKind, Level, Mode

COMMANDER, DUTY = "演示指挥长01", "演示值班员01"
#: A day and an hour after the last trigger of the scenario (the red town at minute 60).
LATE = minutes(120 + 24 * 60)


def wartime_with_red(setup):
    """The scenario's first four batches: wartime at response II, DEMO-T01 red and two towns orange."""
    return run_all(setup, orange_red_falling()[:4])[0]


def peacetime_order(at, *, by=COMMANDER, role=Role.COMMANDER, override=False, reason="雨停"):
    return ModeOrder(Mode.PEACETIME, None, by, role, reason, at, override=override)


def mode_records(actions):
    return [(a.rule_id, a.summary) for a in actions if isinstance(a, RecordTimeline) and a.entry == "mode"]


def test_the_committed_rule(setup):
    assert setup.mode.stand_down == StandDown(Level.ORANGE, Role.COMMANDER)


def test_an_order_to_peacetime_is_refused_while_red_and_orange_are_active(setup):
    state = wartime_with_red(setup)
    state, actions = plan(state, [peacetime_order(minutes(80))], minutes(80), setup=setup)
    assert state.mode.mode is Mode.WARTIME and not any(isinstance(a, ChangeMode) for a in actions)
    [(rule, summary)] = mode_records(actions)
    assert rule == "MODE-STAND-DOWN-REFUSED"
    assert "地质灾害 DEMO-T01 红色、地质灾害 DEMO-T02 橙色、地质灾害 DEMO-T03 橙色" in summary and "--override" in summary


def test_the_commanders_override_with_a_reason_is_accepted_and_recorded(setup):
    state = wartime_with_red(setup)
    reason = "雨已停，会商认为险情可控，转入平时"
    state, actions = plan(state, [peacetime_order(minutes(80), override=True, reason=reason)], minutes(80),
                          setup=setup)
    assert state.mode.mode is Mode.PEACETIME
    [change] = [a for a in actions if isinstance(a, ChangeMode)]
    assert (change.rule_id, change.decided_by, change.reason) == ("MODE-OVERRIDE", COMMANDER, reason)
    record = next(a for a in actions if isinstance(a, RecordTimeline) and a.key == f"{change.proposal}/change/timeline")
    assert reason in record.summary and "越过未解除的预警 3 条" in record.summary
    assert record.details["overridden_warnings"].count("landslide:DEMO-T0") == 3


def test_an_override_by_another_role_is_refused(setup):
    state = wartime_with_red(setup)
    after, actions = plan(state, [peacetime_order(minutes(80), by=DUTY, role=Role.DUTY_OFFICER, override=True)],
                          minutes(80), setup=setup)
    assert after.mode.mode is Mode.WARTIME and [r for r, _ in mode_records(actions)] == ["MODE-NOT-AUTHORISED"]
    # the commander decides the mode, but here only the leader on duty may override: the commander may not
    leader_overrides = replace(setup, mode=replace(setup.mode, stand_down=StandDown(Level.ORANGE, Role.LEADER_ON_DUTY)))
    after, actions = plan(state, [peacetime_order(minutes(80), override=True)], minutes(80), setup=leader_overrides)
    assert after.mode.mode is Mode.WARTIME
    [(rule, summary)] = mode_records(actions)
    assert rule == "MODE-NOT-AUTHORISED" and "无权越过未解除的预警" in summary


def test_no_step_down_is_proposed_while_red_is_active_and_it_is_once_they_clear(setup):
    state = wartime_with_red(setup)
    state, actions = plan(state, [Tick(LATE)], LATE, setup=setup)  # a day without a trigger, DEMO-T01 still red
    assert not any(isinstance(a, (ProposeMode, ChangeMode)) for a in actions) and state.mode.pending is None
    down = minutes(26 * 60)
    towns = [crossing(t, Level.RED if t == "DEMO-T01" else Level.ORANGE, Level.NONE, down, town=t,
                      item_kind=ItemKind.ZONE) for t in ("DEMO-T01", "DEMO-T02", "DEMO-T03")]
    state, actions = plan(state, towns, down, setup=setup)
    [proposal] = [a for a in actions if isinstance(a, ProposeMode)]
    assert (proposal.rule_id, proposal.to_mode, proposal.at) == ("MODE-STEP-DOWN", Mode.PEACETIME, down)
    assert "已全部解除" in proposal.reason
    decision = ModeDecision(proposal.proposal, COMMANDER, Role.COMMANDER, True, "全部解除", down + timedelta(minutes=5))
    state, actions = plan(state, [decision], decision.at, setup=setup)
    assert state.mode.mode is Mode.PEACETIME
    assert [a.rule_id for a in actions if isinstance(a, ChangeMode)] == ["MODE-CHANGE"]


def test_an_order_is_accepted_once_the_warnings_are_down(setup):
    state = wartime_with_red(setup)
    yellow = [crossing(t, Level.RED if t == "DEMO-T01" else Level.ORANGE, Level.YELLOW, minutes(90), town=t,
                       item_kind=ItemKind.ZONE) for t in ("DEMO-T01", "DEMO-T02", "DEMO-T03")]
    state, actions = plan(state, [*yellow, peacetime_order(minutes(95))], minutes(95), setup=setup)
    assert state.mode.mode is Mode.PEACETIME  # yellow is below the rule's orange
    assert [a.rule_id for a in actions if isinstance(a, ChangeMode)] == ["MODE-ORDER"]


def test_accepting_a_step_down_after_a_warning_went_orange_is_refused_and_withdraws_it(setup):
    state, _ = run_all(setup, orange_red_falling()[:6])  # all clear; the step-down proposed a day later
    assert state.mode.pending is not None and state.mode.pending.to_mode is Mode.PEACETIME
    proposal, at = state.mode.pending.id, minutes(61 + 24 * 60)
    orange = crossing("DEMO-T05", Level.NONE, Level.ORANGE, at, town="DEMO-T05", item_kind=ItemKind.ZONE)
    decision = ModeDecision(proposal, COMMANDER, Role.COMMANDER, True, "同意", at + timedelta(minutes=1))
    state, actions = plan(state, [orange, decision], decision.at, setup=setup)
    assert state.mode.mode is Mode.WARTIME and state.mode.pending is None
    assert [r for r, _ in mode_records(actions)] == ["MODE-STAND-DOWN-REFUSED"]
