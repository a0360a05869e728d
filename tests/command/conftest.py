"""Event factories and golden scenarios of the command planner tests (the committed setup: the ``setup``
fixture of tests/conftest.py); the command step's store tests (tests/cycle/test_command.py) replay them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from warn.command.model import LevelCrossing, ModeDecision, Role, Tick
from warn.command.planner import State, plan
from warn.vocab import ItemKind, Level

#: 2026-07-15 10:00 Beijing time, inside the demo roster's week.
T0 = datetime(2026, 7, 15, 2, 0, tzinfo=UTC)


def minutes(n: float) -> datetime:
    """T0 + n minutes."""
    return T0 + timedelta(minutes=n)


def crossing(item: str, old: Level, new: Level, at: datetime, *, hazard: str = "landslide",
             item_kind: ItemKind = ItemKind.POINT, town: str | None = "DEMO-T05", **attributes) -> LevelCrossing:
    """A level crossing of one item."""
    return LevelCrossing(hazard, item, item_kind, town, old, new, at, ("swi",), attributes)


#: The landslide playbook run of DEMO-H001's red crossing at T0 (the golden scenarios' first run).
RUN = "INC-storm-20260715T0200Z/landslide@1:landslide:DEMO-H001:20260715T0200Z"


def run_all(setup, batches):
    """Plan every (events, now) batch in turn; the final state and all actions."""
    state, actions = State(), []
    for events, now in batches:
        state, new = plan(state, events, now, setup=setup)
        actions += new
    return state, actions


def orange_red_falling():
    """Three towns orange, one red, the commander's mode decisions, all falling, the tick a day later."""
    towns = ["DEMO-T01", "DEMO-T02", "DEMO-T03"]
    zone = dict(item_kind=ItemKind.ZONE)
    return [
        ([crossing(t, Level.NONE, Level.ORANGE, minutes(i), town=t, **zone) for i, t in enumerate(towns)],
         minutes(2)),
        ([ModeDecision("mode/p1", "演示指挥长01", Role.COMMANDER, True, "三镇街橙色", minutes(10))], minutes(10)),
        ([crossing("DEMO-T01", Level.ORANGE, Level.RED, minutes(60), town="DEMO-T01", **zone)], minutes(60)),
        ([ModeDecision("mode/p2", "演示指挥长01", Role.COMMANDER, True, "红色", minutes(70))], minutes(70)),
        ([crossing(t, Level.RED if t == "DEMO-T01" else Level.ORANGE, Level.NONE, minutes(240), town=t, **zone)
          for t in towns], minutes(240)),
        ([Tick(minutes(60 + 24 * 60))], minutes(60 + 24 * 60)),
        ([ModeDecision("mode/p3", "演示指挥长01", Role.COMMANDER, True, "全部解除", minutes(61 + 24 * 60))],
         minutes(61 + 24 * 60)),
    ]


def town_tree():
    """An org tree under DEMO-T11: communities C1 (grids G1, G2; hazard point DEMO-H002) and C2 (grid G1)."""
    from warn.command.model import OrgUnit
    from warn.command.org import OrgTree
    from warn.vocab import OrgLevel

    district, town = OrgUnit(OrgLevel.DISTRICT, "500112"), OrgUnit(OrgLevel.TOWN, "DEMO-T11")
    c1, c2 = OrgUnit(OrgLevel.COMMUNITY, "DEMO-T11-C1"), OrgUnit(OrgLevel.COMMUNITY, "DEMO-T11-C2")
    parents = {town: district, c1: town, c2: town,
               OrgUnit(OrgLevel.GRID, "DEMO-T11-C1-G1"): c1, OrgUnit(OrgLevel.GRID, "DEMO-T11-C1-G2"): c1,
               OrgUnit(OrgLevel.GRID, "DEMO-T11-C2-G1"): c2, OrgUnit(OrgLevel.POINT, "DEMO-H002"): c1}
    return OrgTree(parents, {town: "演示镇街11", c1: "演示社区一", c2: "演示村二"})


def with_tree(setup):
    """The committed setup with :func:`town_tree` and a named responsible person in each of its communities."""
    from dataclasses import replace

    from warn.command.model import OrgUnit, Post
    from warn.command.roster import Roster, Shift
    from warn.vocab import OrgLevel

    leads = tuple(Shift(Post(OrgUnit(OrgLevel.COMMUNITY, f"DEMO-T11-{c}"), Role.COMMUNITY_LEAD), f"演示村社责任人{c}",
                        T0 - timedelta(days=1), T0 + timedelta(days=7)) for c in ("C1", "C2"))
    return replace(setup, org=town_tree(), roster=Roster(setup.roster.shifts + leads))
