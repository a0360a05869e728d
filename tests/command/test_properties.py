"""Properties of the planner over random event streams: idempotent under replay, every task has an
owner role, every escalation chain ends."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.command.conftest import T0, crossing
from warn.command import acks
from warn.command.model import AckKind, CreateTask, OrgUnit, Post, Role, Tick
from warn.vocab import ItemKind, Level, OrgLevel
from warn.command.planner import State, plan
from warn.command.roster import Roster

LEVELS = [Level.NONE, Level.BLUE, Level.YELLOW, Level.ORANGE, Level.RED, Level.UNKNOWN]


@st.composite
def streams(draw):
    """Batches of crossings (points, towns, the district) and ticks over two days, in time order."""
    batches, level, minute = [], {}, 0
    for _ in range(draw(st.integers(1, 8))):
        minute += draw(st.integers(0, 600))
        events = []
        for _ in range(draw(st.integers(0, 3))):
            hazard, item, kind, town = draw(st.sampled_from([
                ("landslide", "DEMO-H001", ItemKind.POINT, "DEMO-T05"),
                ("waterlogging", "DEMO-W01", ItemKind.POINT, "DEMO-T02"),
                ("landslide", "DEMO-T03", ItemKind.ZONE, "DEMO-T03"),
                ("landslide", "DEMO-T04", ItemKind.ZONE, "DEMO-T04"),
                ("rainstorm", "500112", ItemKind.DISTRICT, None),
            ]))
            new = draw(st.sampled_from(LEVELS))
            events.append(crossing(item, level.get(item, Level.NONE), new, T0 + timedelta(minutes=minute),
                                   hazard=hazard, item_kind=kind, town=town, threatened_people=30, kind="underpass"))
            level[item] = new
        if draw(st.booleans()):
            events.append(Tick(T0 + timedelta(minutes=minute)))
        batches.append((events, T0 + timedelta(minutes=minute)))
    return batches


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=streams())
def test_replay_is_idempotent_and_tasks_have_owners(setup, batches):
    state, seen = State(), []
    for events, now in batches:
        state, actions = plan(state, events, now, setup=setup)
        seen += actions
    keys = [a.key for a in seen]
    assert len(keys) == len(set(keys))
    for action in seen:
        assert action.rule_id and action.label.startswith(action.rule_id)
        if isinstance(action, CreateTask):
            assert isinstance(action.owner.post.role, Role)
    for events, now in batches:
        state, again = plan(state, events, now, setup=setup)
        assert again == ()


@given(chain=st.lists(st.sampled_from(list(Role)), min_size=1, max_size=6),
       filled=st.sets(st.sampled_from(list(Role))), wait=st.integers(1, 120))
def test_every_escalation_chain_ends(chain, filled, wait):
    from warn.command.roster import Shift

    unit = OrgUnit(OrgLevel.DISTRICT, "500112")
    roster = Roster(tuple(Shift(Post(unit, r), f"p-{r}", T0 - timedelta(days=1), T0 + timedelta(days=30))
                          for r in filled))
    targets = tuple(Post(unit, r) for r in chain)
    commander = Post(unit, Role.COMMANDER)
    req, actions = acks.open_request("r", AckKind.CALL, None, "s", targets, timedelta(minutes=wait), T0, roster,
                                     commander)
    req, more = acks.tick(req, T0 + timedelta(days=20), roster, commander)
    actions += more
    assert req.exhausted and not req.waiting
    assert [a.rule_id for a in actions][-2:] == ["ACK-UNANSWERED", "ACK-UNANSWERED"]
    escalations = [a for a in actions if type(a).__name__ == "Escalate"]
    assert len(escalations) == len(chain) - 1
