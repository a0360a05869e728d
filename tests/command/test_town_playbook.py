"""playbooks/landslide_town.yaml: a town (zone) landslide warning runs the town centre's duties,
proportionate to the level, and the demo roster fills every post of it in every demo town."""

from __future__ import annotations

from tests.command.conftest import T0, crossing, minutes
from tests.conftest import ROOT
from warn.command.model import CreateTask, Notify, OrgUnit, RequestAck, Tick
from warn.command.planner import State, plan
from warn.vocab import ItemKind, Level, OrgLevel

#: The town playbook's run for DEMO-T11's warning raised at T0.
RUN = "INC-storm-20260715T0200Z/landslide_town@1:landslide:DEMO-T11:20260715T0200Z"


def town(level: Level, at=T0, old: Level = Level.NONE):
    """DEMO-T11's landslide level crossing from ``old`` to ``level``."""
    return crossing("DEMO-T11", old, level, at, town="DEMO-T11", item_kind=ItemKind.ZONE, name="演示镇街11")


def steps(actions) -> list[tuple[str, str, str]]:
    """(action class, step, owner post) of each notification, task and request of the town playbook's run."""
    out = []
    for action in actions:
        if isinstance(action, (Notify, CreateTask, RequestAck)) and action.key.startswith(RUN):
            owner = action.to if isinstance(action, (Notify, RequestAck)) else action.owner
            out.append((type(action).__name__, action.key.removeprefix(RUN + "/"), str(owner.post)))
    return out


def test_a_red_town_opens_tasks_and_calls(setup):
    _, actions = plan(State(), [town(Level.RED)], T0, setup=setup)
    assert steps(actions) == [
        ("Notify", "notify_town/a0", "town.DEMO-T11.duty_officer"),
        ("RequestAck", "call_town_leader/a0/ask", "town.DEMO-T11.town_leader"),
        # the communities are called once the town leader answers (tests/command/test_cascade.py)
        ("CreateTask", "patrol_points/a0", "town.DEMO-T11.duty_officer"),
        ("CreateTask", "team_ready/a0", "town.DEMO-T11.town_leader"),
        ("RequestAck", "call_red/a0/ask", "town.DEMO-T11.town_leader"),
        ("CreateTask", "evacuate/a0", "town.DEMO-T11.town_leader"),
        ("RequestAck", "evacuate/a0/handoff/ask", "town.DEMO-T11.town_leader"),
    ]
    red_call = next(a for a in actions if isinstance(a, RequestAck) and a.key == f"{RUN}/call_red/a0/ask")
    assert [str(p) for p in red_call.chain] == ["district.500112.leader_on_duty", "district.500112.commander"]
    assert red_call.deadline == minutes(15) and "演示镇街11" in red_call.subject
    evacuate = next(a for a in actions if isinstance(a, CreateTask) and a.key == f"{RUN}/evacuate/a0")
    assert evacuate.owner.person == "演示镇街负责人11" and "撤离" in evacuate.text and "DEMO-T11" in evacuate.text


def test_an_unanswered_red_town_call_escalates_to_the_district(setup):
    state, _ = plan(State(), [town(Level.RED)], T0, setup=setup)
    _, actions = plan(state, [Tick(minutes(20))], minutes(20), setup=setup)
    escalated = [str(a.to.post) for a in actions if a.key.startswith(f"{RUN}/call_red/") and hasattr(a, "to")]
    assert escalated == ["district.500112.leader_on_duty"]


def test_duties_are_proportionate_to_the_level(setup):
    def owned(level):
        _, actions = plan(State(), [town(level)], T0, setup=setup)
        return [step.split("/")[0] for _, step, _ in steps(actions)]

    assert owned(Level.BLUE) == ["notify_town"]
    assert owned(Level.YELLOW) == ["notify_town", "patrol_points"]
    assert owned(Level.ORANGE) == ["notify_town", "call_town_leader", "patrol_points", "team_ready"]


def test_a_town_going_up_gets_the_steps_of_the_new_level(setup):
    state, _ = plan(State(), [town(Level.YELLOW)], T0, setup=setup)
    _, actions = plan(state, [town(Level.RED, minutes(30), Level.YELLOW)], minutes(30), setup=setup)
    assert [step.split("/")[0] for _, step, _ in steps(actions)] == [
        "call_town_leader", "team_ready", "call_red", "evacuate", "evacuate"]


def test_a_hazard_point_does_not_run_the_town_playbook(setup):
    _, actions = plan(State(), [crossing("DEMO-H002", Level.NONE, Level.RED, T0, town="DEMO-T11")], T0, setup=setup)
    assert not any("landslide_town@" in a.key for a in actions)
    assert any("/landslide@1:" in a.key for a in actions)


def test_the_roster_fills_every_post_of_the_town_playbook_in_every_demo_town(setup):
    import geopandas as gpd

    towns = gpd.read_file(ROOT / "geodata" / "yubei.gpkg", layer="towns")["zone_id"].astype(str)
    playbook = next(p for p in setup.playbooks if p.id == "landslide_town")
    assert playbook.scope is ItemKind.ZONE and playbook.hazard == "landslide" and len(towns) == 21
    posts = []
    for code in towns:
        community = setup.org.children(OrgUnit(OrgLevel.TOWN, code), OrgLevel.COMMUNITY)[0]
        grid = setup.org.children(community, OrgLevel.GRID)[0]
        units = {OrgLevel.COMMUNITY: community, OrgLevel.GRID: grid}
        posts += [template.resolve({"district": setup.district, "town": code, "item": code,
                                    "community": community.code, "grid": grid.code},
                                   units.get(step.owner.level, OrgUnit(step.owner.level, code)))
                  for step in playbook.steps for template in (step.owner, *step.escalate)]
    assert [str(post) for post in posts if post is None or setup.roster.who(post.role, post.org, T0) is None] == []
