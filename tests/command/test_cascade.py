"""The downward cascade (三级贯通) of playbooks/landslide_town.yaml over an org tree: the town leader's call,
then every community of the town, then each community's grids; fan-out keys, levels, replies needing support,
and a tree that knows no unit."""

from __future__ import annotations

from dataclasses import replace

from tests.command.conftest import T0, crossing, minutes, with_tree
from warn.command.model import (
    AckAnswered,
    Channel,
    Escalate,
    Notify,
    RecordTimeline,
    Reply,
    RequestAck,
    Role,
    Tick,
)
from warn.command.org import OrgTree
from warn.command.planner import State, plan
from warn.vocab import ItemKind, Level

RUN = "INC-storm-20260715T0200Z/landslide_town@1:landslide:DEMO-T11:20260715T0200Z"


def orange(at=T0):
    """DEMO-T11's landslide warning raised to orange."""
    return crossing("DEMO-T11", Level.NONE, Level.ORANGE, at, town="DEMO-T11", item_kind=ItemKind.ZONE,
                    name="演示镇街11")


def answer(step: str, by: str, role: Role, at, reply: Reply = Reply.RECEIVED, note: str = "") -> AckAnswered:
    """An answer to the request of ``step`` (``call_communities/DEMO-T11-C1``) of the town run."""
    return AckAnswered(f"{RUN}/{step}/a0", by, role, Channel.SMS, at, reply=reply, note=note)


def calls(actions) -> list[tuple[str, str]]:
    """(step path, addressee post) of each 叫应 asked of the town run."""
    return [(a.key.removeprefix(RUN + "/").removesuffix("/a0/ask"), str(a.to.post)) for a in actions
            if isinstance(a, RequestAck) and a.key.startswith(RUN) and "/call_" in a.key]


def test_the_town_calls_its_communities_once_the_town_leader_answers(setup):
    setup = with_tree(setup)
    state, actions = plan(State(), [orange()], T0, setup=setup)
    assert calls(actions) == [("call_town_leader", "town.DEMO-T11.town_leader")]
    state, actions = plan(state, [answer("call_town_leader", "演示镇街负责人11", Role.TOWN_LEADER, minutes(5))],
                          minutes(5), setup=setup)
    assert calls(actions) == [("call_communities/DEMO-T11-C1", "community.DEMO-T11-C1.community_lead"),
                              ("call_communities/DEMO-T11-C2", "community.DEMO-T11-C2.community_lead")]
    asked = [a for a in actions if isinstance(a, RequestAck)]
    assert {a.at for a in asked} == {minutes(5)} and {a.level for a in asked} == {Level.ORANGE}
    assert asked[0].to.person == "演示村社责任人C1" and "演示社区一" in asked[0].subject
    assert [str(p) for p in asked[0].chain] == ["town.DEMO-T11.town_leader", "district.500112.duty_officer"]
    cascade = [a for a in actions if a.rule_id == "CASCADE"]
    assert len(cascade) == 1 and "演示镇街负责人11 已应答" in cascade[0].summary
    assert "community.*.community_lead" in cascade[0].summary


def test_a_silent_town_leader_does_not_stop_the_communities_being_called(setup):
    setup = with_tree(setup)
    state, _ = plan(State(), [orange()], T0, setup=setup)
    state, actions = plan(state, [Tick(minutes(29))], minutes(29), setup=setup)
    assert calls(actions) == []
    _, actions = plan(state, [Tick(minutes(31))], minutes(31), setup=setup)
    assert [c for c, _ in calls(actions)] == ["call_communities/DEMO-T11-C1", "call_communities/DEMO-T11-C2"]
    assert {a.at for a in actions if isinstance(a, RequestAck) and "call_communities" in a.key} == {minutes(30)}
    assert any(a.rule_id == "CASCADE" and "首个时限已过未应答" in a.summary for a in actions)
    escalated = [a for a in actions if isinstance(a, Escalate) and "call_town_leader" in a.key]
    assert [str(e.to.post) for e in escalated] == ["district.500112.duty_officer"]
    assert {e.level for e in escalated} == {Level.ORANGE}


def test_each_community_calls_its_own_grids(setup):
    setup = with_tree(setup)
    batches = [([orange()], T0),
               ([answer("call_town_leader", "演示镇街负责人11", Role.TOWN_LEADER, minutes(5))], minutes(5)),
               ([answer("call_communities/DEMO-T11-C1", "演示村社责任人C1", Role.COMMUNITY_LEAD, minutes(10))],
                minutes(10)),
               ([Tick(minutes(40))], minutes(40))]
    state, got = State(), []
    for events, now in batches:
        state, actions = plan(state, events, now, setup=setup)
        got.append(calls(actions))
    assert got[2] == [("call_grids/DEMO-T11-C1-G1", "grid.DEMO-T11-C1-G1.grid_worker"),
                      ("call_grids/DEMO-T11-C1-G2", "grid.DEMO-T11-C1-G2.grid_worker")]
    # C2 never answered: its grid is called at its first deadline (5 + 30 min)
    assert got[3] == [("call_grids/DEMO-T11-C2-G1", "grid.DEMO-T11-C2-G1.grid_worker")]
    grid = state.acks[f"{RUN}/call_grids/DEMO-T11-C2-G1/a0"]
    assert [str(p) for p in grid.targets] == ["grid.DEMO-T11-C2-G1.grid_worker",
                                              "community.DEMO-T11-C2.community_lead", "town.DEMO-T11.duty_officer"]
    assert grid.level is Level.ORANGE and grid.deadline == minutes(65)
    # the same events again, with the state returned or from scratch, give the same keys and nothing new
    for events, now in batches:
        state, again = plan(state, events, now, setup=setup)
        assert again == ()
    fresh, keys = State(), set()
    for events, now in batches:
        fresh, actions = plan(fresh, events, now, setup=setup)
        keys |= {a.key for a in actions}
    assert keys == set(state.emitted) and fresh == state


def test_an_empty_org_tree_calls_nobody_and_says_so(setup):
    setup = replace(setup, org=OrgTree())  # the committed setup has the demo directory's tree
    state, _ = plan(State(), [orange()], T0, setup=setup)
    _, actions = plan(state, [answer("call_town_leader", "演示镇街负责人11", Role.TOWN_LEADER, minutes(5))],
                      minutes(5), setup=setup)
    assert calls(actions) == []
    empty = [a for a in actions if a.rule_id == "ORG-EMPTY"]
    assert [a.key.removeprefix(RUN + "/") for a in empty] == ["call_communities/org-empty", "call_grids/org-empty"]
    assert all(isinstance(a, RecordTimeline) and a.org_unit == "town.DEMO-T11" for a in empty)
    # the town leader's answer cascades (to nobody); the grids' call follows no call that reached anyone
    assert [a.key for a in actions if a.rule_id == "CASCADE"] == [f"{RUN}/call_communities/DEMO-T11/cascade"]


def communities_called(setup) -> State:
    """The state once DEMO-T11 went orange and its town leader answered at T0 + 5 min: the communities are called."""
    state, _ = plan(State(), [orange()], T0, setup=setup)
    state, _ = plan(state, [answer("call_town_leader", "演示镇街负责人11", Role.TOWN_LEADER, minutes(5))],
                    minutes(5), setup=setup)
    return state


def test_an_answer_needing_support_is_recorded_and_tells_the_post_above(setup):
    setup = with_tree(setup)
    _, actions = plan(communities_called(setup), [answer("call_communities/DEMO-T11-C1", "演示村社责任人C1",
                      Role.COMMUNITY_LEAD, minutes(8), Reply.NEED_SUPPORT, "需要沙袋200袋")], minutes(8), setup=setup)
    recorded = next(a for a in actions if a.rule_id == "ACK-ANSWER")
    assert "需要支援" in recorded.summary and "需要沙袋200袋" in recorded.summary
    assert recorded.details["reply"] == "need_support" and recorded.details["note"] == "需要沙袋200袋"
    support = [a for a in actions if isinstance(a, Notify) and a.rule_id == "ACK-SUPPORT"]
    assert [(str(n.to.post), n.to.person, n.level) for n in support] == [
        ("town.DEMO-T11.town_leader", "演示镇街负责人11", Level.ORANGE)]
    assert "需要沙袋200袋" in support[0].text


def test_support_asked_at_the_end_of_a_chain_goes_to_the_district_duty_officer(setup):
    setup = with_tree(setup)
    state, _ = plan(communities_called(setup), [answer("call_communities/DEMO-T11-C1", "演示村社责任人C1", Role.COMMUNITY_LEAD,
                                   minutes(6))], minutes(6), setup=setup)
    # the grid worker and the community lead stay silent: the grid's call reaches the town duty officer (last)
    state, _ = plan(state, [Tick(minutes(70))], minutes(70), setup=setup)
    assert state.acks[f"{RUN}/call_grids/DEMO-T11-C1-G1/a0"].index == 2
    _, actions = plan(state, [answer("call_grids/DEMO-T11-C1-G1", "演示值班员12", Role.DUTY_OFFICER, minutes(71),
                                     Reply.NEED_SUPPORT, "道路中断")], minutes(71), setup=setup)
    support = [a for a in actions if isinstance(a, Notify) and a.rule_id == "ACK-SUPPORT"]
    assert [str(n.to.post) for n in support] == ["district.500112.duty_officer"]


def test_a_plain_answer_says_received(setup):
    setup = with_tree(setup)
    state, _ = plan(State(), [orange()], T0, setup=setup)
    _, actions = plan(state, [answer("call_town_leader", "演示镇街负责人11", Role.TOWN_LEADER, minutes(5),
                                     Reply.ON_SITE)], minutes(5), setup=setup)
    recorded = next(a for a in actions if a.rule_id == "ACK-ANSWER")
    assert "已到岗" in recorded.summary and recorded.details["reply"] == "on_site"
    assert not any(a.rule_id == "ACK-SUPPORT" for a in actions)


def test_a_hazard_point_calls_its_community_then_its_grids(setup):
    setup = with_tree(setup)
    run = "INC-storm-20260715T0200Z/landslide@1:landslide:DEMO-H002:20260715T0200Z"
    red = crossing("DEMO-H002", Level.NONE, Level.RED, T0, town="DEMO-T11", threatened_people=40)
    state, actions = plan(State(), [red], T0, setup=setup)
    community = next(a for a in actions if isinstance(a, RequestAck) and a.key == f"{run}/call_community/a0/ask")
    assert str(community.to.post) == "community.DEMO-T11-C1.community_lead" and community.level is Level.RED
    _, actions = plan(state, [Tick(minutes(15))], minutes(15), setup=setup)
    grids = [str(a.to.post) for a in actions if isinstance(a, RequestAck) and "/call_grids/" in a.key]
    assert grids == ["grid.DEMO-T11-C1-G1.grid_worker", "grid.DEMO-T11-C1-G2.grid_worker"]


def test_every_notice_and_task_of_a_step_carries_the_warning_level(setup):
    _, actions = plan(State(), [orange()], T0, setup=with_tree(setup))
    people = [a for a in actions if a.key.startswith(RUN) and hasattr(a, "level") and a.rule_id == "PB-STEP"]
    assert people and {a.level for a in people} == {Level.ORANGE}
