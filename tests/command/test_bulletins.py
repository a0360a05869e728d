"""Message threads people read: audiences, one message per town and hazard, the minimum interval,
all-clears grouped, the composite incident (warn/command/bulletins.py through the planner)."""

from __future__ import annotations

from dataclasses import replace

from tests.command.conftest import crossing, minutes
from warn.command.model import Broadcast, BroadcastKind, CloseIncident, OpenIncident
from warn.command.planner import State, plan
from warn.vocab import STORM_INCIDENT, Audience, ItemKind, Level


def messages(actions, audience=None):
    """The Broadcasts of ``actions`` (of ``audience``), as (area, audience, kind, version, {item: colour})."""
    return [(a.area, str(a.audience), str(a.broadcast), a.version, {i.item_id: i.level.colour for i in a.listed})
            for a in actions if isinstance(a, Broadcast) and (audience is None or a.audience is audience)]


def test_blue_geohazard_stays_with_the_responsible_people(setup):
    _, actions = plan(State(), [crossing("DEMO-H001", Level.NONE, Level.BLUE, minutes(0))], minutes(0), setup=setup)
    assert messages(actions) == [("DEMO-T05", "restricted", "raise", 1, {"DEMO-H001": "blue"})]


def test_yellow_geohazard_reaches_the_public_too(setup):
    _, actions = plan(State(), [crossing("DEMO-H001", Level.NONE, Level.YELLOW, minutes(0))], minutes(0),
                      setup=setup)
    assert {m[1] for m in messages(actions)} == {"public", "restricted"}


def test_the_met_office_signal_is_never_public(setup):
    signal = crossing("500112", Level.NONE, Level.RED, minutes(0), hazard="rainstorm", item_kind=ItemKind.DISTRICT,
                      town=None)
    _, actions = plan(State(), [signal], minutes(0), setup=setup)
    assert messages(actions) == [("500112", "restricted", "raise", 1, {"500112": "red"})]


def test_one_message_per_town_and_hazard_lists_its_points(setup):
    points = [crossing(p, Level.NONE, Level.ORANGE, minutes(0)) for p in ("DEMO-H001", "DEMO-H002", "DEMO-H003")]
    other = crossing("DEMO-H009", Level.NONE, Level.ORANGE, minutes(0), town="DEMO-T06")
    _, actions = plan(State(), [*points, other], minutes(0), setup=setup)
    restricted = messages(actions, Audience.RESTRICTED)
    assert restricted == [
        ("DEMO-T05", "restricted", "raise", 1, {"DEMO-H001": "orange", "DEMO-H002": "orange", "DEMO-H003": "orange"}),
        ("DEMO-T06", "restricted", "raise", 1, {"DEMO-H009": "orange"}),
    ]


def test_a_level_down_waits_for_the_minimum_interval_a_rise_does_not(setup):
    state, _ = plan(State(), [crossing("DEMO-H001", Level.NONE, Level.ORANGE, minutes(0))], minutes(0), setup=setup)
    state, down = plan(state, [crossing("DEMO-H001", Level.ORANGE, Level.YELLOW, minutes(10))], minutes(10),
                       setup=setup)
    assert messages(down) == []
    state, quiet = plan(state, [], minutes(29), setup=setup)
    assert messages(quiet) == []
    state, late = plan(state, [], minutes(30), setup=setup)
    assert messages(late, Audience.RESTRICTED) == [("DEMO-T05", "restricted", "update", 2, {"DEMO-H001": "yellow"})]
    state, up = plan(state, [crossing("DEMO-H001", Level.YELLOW, Level.RED, minutes(35))], minutes(35), setup=setup)
    assert messages(up, Audience.RESTRICTED) == [("DEMO-T05", "restricted", "update", 3, {"DEMO-H001": "red"})]


def test_a_change_undone_within_the_interval_sends_nothing(setup):
    state, _ = plan(State(), [crossing("DEMO-H001", Level.NONE, Level.ORANGE, minutes(0))], minutes(0), setup=setup)
    state, _ = plan(state, [crossing("DEMO-H001", Level.ORANGE, Level.YELLOW, minutes(10))], minutes(10), setup=setup)
    state, back = plan(state, [crossing("DEMO-H001", Level.YELLOW, Level.ORANGE, minutes(20))], minutes(20),
                       setup=setup)
    state, later = plan(state, [], minutes(60), setup=setup)
    assert messages(back) == [] and messages(later) == []


def test_a_new_point_in_the_town_is_told_at_once(setup):
    state, _ = plan(State(), [crossing("DEMO-H001", Level.NONE, Level.RED, minutes(0))], minutes(0), setup=setup)
    state, actions = plan(state, [crossing("DEMO-H002", Level.NONE, Level.YELLOW, minutes(5))], minutes(5),
                          setup=setup)
    assert messages(actions, Audience.RESTRICTED) == [
        ("DEMO-T05", "restricted", "update", 2, {"DEMO-H001": "red", "DEMO-H002": "yellow"})]


def test_all_clears_are_per_town_and_wait_for_the_hold(setup):
    """Two points fall to none 10 min apart: the message keeps them at orange through their 3 h holds,
    one update drops the first when its hold ends, and the all-clear waits for the minimum interval."""
    both = [crossing(p, Level.NONE, Level.ORANGE, minutes(0)) for p in ("DEMO-H001", "DEMO-H002")]
    state, _ = plan(State(), both, minutes(0), setup=setup)
    state, actions = plan(state, [crossing("DEMO-H001", Level.ORANGE, Level.NONE, minutes(60))], minutes(60),
                          setup=setup)
    assert messages(actions) == []
    state, actions = plan(state, [crossing("DEMO-H002", Level.ORANGE, Level.NONE, minutes(70))], minutes(70),
                          setup=setup)
    assert messages(actions) == []
    state, first = plan(state, [], minutes(240), setup=setup)
    assert messages(first, Audience.RESTRICTED) == [("DEMO-T05", "restricted", "update", 2, {"DEMO-H002": "orange"})]
    state, early = plan(state, [], minutes(250), setup=setup)
    assert messages(early) == []
    state, last = plan(state, [], minutes(270), setup=setup)
    assert messages(last) == [("DEMO-T05", "public", "all_clear", 3, {}), ("DEMO-T05", "restricted", "all_clear", 3, {})]


def test_one_storm_is_one_incident_across_hazards(setup):
    landslide = crossing("DEMO-H001", Level.NONE, Level.YELLOW, minutes(0))
    water = crossing("DEMO-W25", Level.NONE, Level.BLUE, minutes(30), hazard="waterlogging")
    state, actions = plan(State(), [landslide, water], minutes(30), setup=setup)
    opened = [a for a in actions if isinstance(a, OpenIncident)]
    assert [(a.incident, a.hazard) for a in opened] == [("INC-storm-20260715T0200Z", STORM_INCIDENT)]
    assert {a.incident for a in actions if isinstance(a, Broadcast)} == {"INC-storm-20260715T0200Z"}
    state, actions = plan(state, [crossing("DEMO-H001", Level.YELLOW, Level.NONE, minutes(60))], minutes(60 + 180),
                          setup=setup)
    assert not any(isinstance(a, CloseIncident) for a in actions)  # the waterlogging point is still warned
    state, actions = plan(state, [crossing("DEMO-W25", Level.BLUE, Level.NONE, minutes(300), hazard="waterlogging")],
                          minutes(300 + 180),
                          setup=setup)
    assert [a.incident for a in actions if isinstance(a, CloseIncident)] == ["INC-storm-20260715T0200Z"]
    assert {(a.hazard, str(a.broadcast)) for a in actions if isinstance(a, Broadcast)} >= {
        ("waterlogging", "all_clear")}


def test_a_changed_interval_is_read_from_the_setup(setup):
    quick = replace(setup, publication=replace(setup.publication, min_interval=minutes(5) - minutes(0)))
    state, _ = plan(State(), [crossing("DEMO-H001", Level.NONE, Level.ORANGE, minutes(0))], minutes(0), setup=quick)
    state, down = plan(state, [crossing("DEMO-H001", Level.ORANGE, Level.YELLOW, minutes(5))], minutes(5),
                       setup=quick)
    assert [m[2] for m in messages(down, Audience.RESTRICTED)] == [str(BroadcastKind.UPDATE)]


def test_messages_of_one_instant_are_numbered_on_across_plan_calls(setup):
    """Eleven towns at once, then one more at the same instant: indices 0…11 (the GB/T 35965.1 ``N`` is
    one digit, so the eleventh message of a second is entered a second later)."""
    towns = [f"DEMO-T{n:02d}" for n in range(1, 12)]
    state, first = plan(State(), [crossing(t, Level.NONE, Level.BLUE, minutes(0), town=t, item_kind=ItemKind.ZONE)
                                  for t in towns], minutes(0), setup=setup)
    state, more = plan(state, [crossing("DEMO-T12", Level.NONE, Level.BLUE, minutes(0), town="DEMO-T12",
                                        item_kind=ItemKind.ZONE)], minutes(0), setup=setup)
    assert [a.index for a in first + more if isinstance(a, Broadcast)] == list(range(12))
    _, later = plan(state, [crossing("DEMO-T13", Level.NONE, Level.BLUE, minutes(1), town="DEMO-T13",
                                     item_kind=ItemKind.ZONE)], minutes(1), setup=setup)
    assert [a.index for a in later if isinstance(a, Broadcast)] == [0]
