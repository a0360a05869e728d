"""The river hazard's declaration agrees with its model file, its layer and its playbook; it is registered and
deployed, and waterlogging no longer scores the gauges."""

from __future__ import annotations

import geopandas as gpd

from tests.conftest import ROOT
from warn import hazards
from warn.cap.event import Category
from warn.command.loading import load_playbooks
from warn.config import load_settings
from warn.hazards.river import SPEC
from warn.hazards.spec import Input
from warn.vocab import ItemKind, Level, Mode, SensorKind


def test_the_spec_declares_gauges_their_stages_and_a_flood_event():
    role = SPEC.role("gauges")
    assert (role.item, role.kind) == ("gauge", ItemKind.POINT)
    assert SPEC.inputs == frozenset({Input.SENSORS}) and SPEC.sensor_kinds == (SensorKind.RIVER_STAGE,)
    assert (SPEC.zh, SPEC.en) == ("河道洪水", "River flood")
    assert (SPEC.cap.category, SPEC.cap.zh) == (Category.MET, "洪水")  # CAP 1.2: "Met – Meteorological (inc. flood)"
    layer = gpd.read_file(ROOT / "geodata" / "yubei.gpkg", layer="river_gauges")
    assert set(role.fields) <= set(layer.columns)


def test_river_is_deployed_and_the_gauges_left_waterlogging():
    settings = load_settings(ROOT / "config.yaml")
    (river,) = hazards.deployed(settings, only="river")
    assert river.section.layers == {"gauges": "river_gauges"}
    assert river.params.highest_unavailable == frozenset({"DEMO-R01", "DEMO-R02", "DEMO-R03"})
    (waterlogging,) = hazards.deployed(settings, only="waterlogging")
    assert set(waterlogging.section.layers) == {"points"}
    assert [r.name for r in waterlogging.spec.roles] == ["points"]
    assert SensorKind.RIVER_STAGE not in waterlogging.spec.sensor_kinds


def test_the_playbook_calls_at_orange_and_moves_the_riverside_at_red():
    (playbook,) = [p for p in load_playbooks(ROOT / "playbooks", skip=ROOT / "playbooks" / "roster.yaml")
                   if p.id == "river"]
    assert playbook.hazard == "river" and playbook.scope is ItemKind.POINT
    steps = {s.id: s for s in playbook.steps}
    assert set(steps) == {"notify_town", "notify_observer", "call_town_leader", "call_community", "patrol_reach",
                          "close_riverside", "evacuate_riverside"}
    assert str(steps["notify_town"].owner) == "town.{town}.duty_officer"
    assert str(steps["call_community"].owner) == "community.{community}.community_lead"
    assert steps["call_community"].after_answer == "call_town_leader"
    assert str(steps["evacuate_riverside"].owner) == "town.{town}.town_leader"
    for step, first in (("call_town_leader", Level.ORANGE), ("call_community", Level.ORANGE), ("patrol_reach", Level.YELLOW),
                        ("evacuate_riverside", Level.RED)):
        below = Level(int(first) - 1)
        assert steps[step].applies(first, Mode.WARTIME, {}) and not steps[step].applies(below, Mode.WARTIME, {})
