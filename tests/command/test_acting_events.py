"""People's direct events in the planner: a mode order (``ModeOrder``) and a manual warning (``ManualWarning``),
and who may act (:mod:`warn.command.authority`)."""

from __future__ import annotations

from tests.command.conftest import crossing, minutes
from warn.command import AckAnswered, State, plan
from warn.command.authority import Authority
from warn.command.model import (
    Broadcast,
    ChangeMode,
    Channel,
    ManualWarning,
    ModeOrder,
    OrgUnit,
    Post,
    RecordTimeline,
    Role,
)
from warn.vocab import ItemKind, Level, Mode, OrgLevel, ResponseLevel

DISTRICT = OrgUnit(OrgLevel.DISTRICT, "500112")
LEADER = Post(DISTRICT, Role.LEADER_ON_DUTY)


def rules(actions) -> list[str]:
    return [a.rule_id for a in actions if isinstance(a, RecordTimeline)]


def test_the_commander_orders_wartime_directly(setup):
    order = ModeOrder(Mode.WARTIME, ResponseLevel.III, "演示指挥长01", Role.COMMANDER, "强降雨将至", minutes(0))
    state, actions = plan(State(), [order], minutes(0), setup=setup)
    change = next(a for a in actions if isinstance(a, ChangeMode))
    assert (change.to_mode, change.response, change.decided_by, change.rule_id) == (
        Mode.WARTIME, ResponseLevel.III, "演示指挥长01", "MODE-ORDER")
    assert state.mode.mode is Mode.WARTIME and state.mode.period == 1
    # the same order again changes nothing; an order by another role is recorded and ignored
    assert plan(state, [order], minutes(0), setup=setup)[1] == ()
    other = ModeOrder(Mode.PEACETIME, None, "演示值班员01", Role.DUTY_OFFICER, "雨停", minutes(5))
    after, actions = plan(state, [other], minutes(5), setup=setup)
    assert "MODE-NOT-AUTHORISED" in rules(actions) and after.mode.mode is Mode.WARTIME


def test_an_order_accepts_a_matching_proposal_and_supersedes_another(setup):
    towns = [crossing(f"DEMO-T0{i}", Level.NONE, Level.RED, minutes(0), item_kind=ItemKind.ZONE, town=f"DEMO-T0{i}")
             for i in (1, 2, 3)]
    state, _ = plan(State(), towns, minutes(0), setup=setup)
    pending = state.mode.pending
    assert pending is not None
    same = ModeOrder(pending.to_mode, pending.response, "演示指挥长01", Role.COMMANDER, "同意", minutes(1))
    accepted, actions = plan(state, [same], minutes(1), setup=setup)
    assert [a.rule_id for a in actions if isinstance(a, ChangeMode)] == ["MODE-CHANGE"]
    stronger = ResponseLevel.I if pending.response is not ResponseLevel.I else ResponseLevel.II
    other = ModeOrder(Mode.WARTIME, stronger, "演示指挥长01", Role.COMMANDER, "直接下令", minutes(1))
    superseded, actions = plan(state, [other], minutes(1), setup=setup)
    assert rules(actions)[:2] == ["MODE-REJECT", "MODE-ORDER"]
    assert superseded.mode.response is stronger and accepted.mode.response is pending.response


def test_a_manual_warning_waits_for_its_approval(setup):
    warning = crossing("DEMO-T03", Level.NONE, Level.ORANGE, minutes(0), hazard="rainstorm",
                       item_kind=ItemKind.ZONE, town="DEMO-T03")
    event = ManualWarning(warning, "演示值班员01", Role.DUTY_OFFICER, "district.500112", LEADER)
    state, actions = plan(State(), [event], minutes(0), setup=setup)
    assert "WARN-MANUAL-ASK" in rules(actions) and not any(isinstance(a, Broadcast) for a in actions)
    request = next(iter(state.manual))
    answer = AckAnswered(request, "演示带班领导01", Role.LEADER_ON_DUTY, Channel.CLI, minutes(3))
    state, actions = plan(state, [answer], minutes(3), setup=setup)
    broadcast = next(a for a in actions if isinstance(a, Broadcast))
    assert (broadcast.area, broadcast.level, broadcast.at) == ("DEMO-T03", Level.ORANGE, minutes(3))
    assert [item.item_id for item in broadcast.listed] == ["DEMO-T03"]
    assert state.manual == {}


def test_a_refused_manual_warning_is_not_issued(setup):
    warning = crossing("DEMO-T03", Level.NONE, Level.RED, minutes(0), hazard="rainstorm",
                       item_kind=ItemKind.ZONE, town="DEMO-T03")
    state, _ = plan(State(), [ManualWarning(warning, "演示值班员01", Role.DUTY_OFFICER, "district.500112", LEADER)],
                    minutes(0), setup=setup)
    refusal = AckAnswered(next(iter(state.manual)), "演示带班领导01", Role.LEADER_ON_DUTY, Channel.CLI, minutes(2),
                          accepted=False)
    state, actions = plan(state, [refusal], minutes(2), setup=setup)
    assert "WARN-MANUAL-REFUSED" in rules(actions) and not any(isinstance(a, Broadcast) for a in actions)
    assert state.threads == {}


def test_a_manual_warning_that_would_change_nothing_records_nothing(setup):
    """The model set the item's level at this very time: the hand-issued warning is not recorded."""
    model = crossing("DEMO-T03", Level.NONE, Level.YELLOW, minutes(0), hazard="rainstorm",
                     item_kind=ItemKind.ZONE, town="DEMO-T03")
    state, _ = plan(State(), [model], minutes(0), setup=setup)
    by_hand = crossing("DEMO-T03", Level.YELLOW, Level.RED, minutes(0), hazard="rainstorm",
                       item_kind=ItemKind.ZONE, town="DEMO-T03")
    after, actions = plan(state, [ManualWarning(by_hand, "演示指挥长01", Role.COMMANDER, "district.500112", None)],
                          minutes(0), setup=setup)
    assert actions == () and after.threads == state.threads


def test_authority_follows_the_roster(setup):
    who = Authority(setup.roster, "500112", minutes(0))
    town_leader = Post(OrgUnit(OrgLevel.TOWN, "DEMO-T03"), Role.TOWN_LEADER)
    assert who.identify("nobody").zh.endswith("不在值班表上")
    assert who.answer("演示镇街负责人03", town_leader, approval=False).post == town_leader
    on_behalf = who.answer("演示带班领导01", town_leader, approval=False)
    assert on_behalf.on_behalf and on_behalf.post == LEADER
    assert not who.answer("演示镇街负责人04", town_leader, approval=False).allowed
    assert not who.answer("演示带班领导01", town_leader, approval=True).allowed
    assert not who.order_mode("演示带班领导01", Role.COMMANDER).allowed
    assert who.broadcast("演示值班员01")[1] == LEADER and who.broadcast("演示指挥长01")[1] is None
    assert who.resolve("town.DEMO-T03.duty_officer", DISTRICT) == Post(OrgUnit(OrgLevel.TOWN, "DEMO-T03"),
                                                                       Role.DUTY_OFFICER)
    assert who.resolve("演示信息员01", OrgUnit(OrgLevel.TOWN, "DEMO-T03")) == Post(DISTRICT, Role.SCRIBE)


def test_four_eyes_the_proposer_never_decides_their_own_approval(setup):
    """Issue 15: one person raised a manual warning and approved it too. Refused in the pure rule,
    whatever post the proposer holds — even the commander, who may decide any approval."""
    who = Authority(setup.roster, "500112", minutes(0))
    own = who.answer("演示带班领导01", LEADER, approval=True, proposer="演示带班领导01")
    assert not own.allowed and "四眼原则" in own.zh and "four eyes" in own.en
    assert not who.answer("演示指挥长01", LEADER, approval=True, proposer="演示指挥长01").allowed
    assert who.answer("演示带班领导01", LEADER, approval=True, proposer="演示值班员01").post == LEADER
    assert who.answer("演示带班领导01", LEADER, approval=True, proposer=None).post == LEADER
