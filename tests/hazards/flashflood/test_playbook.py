"""playbooks/flashflood.yaml: loads with the playbook loader; 准备转移 calls the village's responsible
person (叫应) and gets the village ready; 立即转移 evacuates the threatened people, with their count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from warn import hazards
from warn.command.loading import load_playbook, load_setup
from warn.command.model import CreateTask, LevelCrossing, RequestAck
from warn.command.planner import State, plan
from warn.config import load_settings
from warn.vocab import ItemKind, Level

ROOT = Path(__file__).resolve().parents[3]
#: 2026-07-15 10:00 Beijing time, inside the demo roster's week.
T0 = datetime(2026, 7, 15, 2, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def setup():
    settings = load_settings(ROOT / "config.yaml")
    return load_setup(settings.command, settings.deployment.district_code, hazards.names_zh())


def test_the_playbook_loads_for_catchments():
    playbook = load_playbook(ROOT / "playbooks" / "flashflood.yaml")
    assert playbook.hazard == "flashflood" and playbook.scope is ItemKind.CATCHMENT
    assert playbook.trigger is Level.BLUE


def _actions(setup, level: Level):
    crossing = LevelCrossing("flashflood", "DEMO-C03", ItemKind.CATCHMENT, "DEMO-T08", Level.NONE, level,
                             T0, ("3 h 雨量 68 mm ≥ 立即转移临界雨量 60 mm",),
                             {"name": "演示小流域03", "village": "演示村03", "threatened_people": 158})
    _, actions = plan(State(), [crossing], T0 + timedelta(minutes=1), setup=setup)
    return actions


def test_prepare_to_move_calls_the_village_and_gets_it_ready(setup):
    actions = _actions(setup, Level.YELLOW)
    calls = [a for a in actions if isinstance(a, RequestAck)]
    assert [str(a.to.post) for a in calls] == ["point.DEMO-C03.monitor"]
    assert calls[0].subject.startswith("山洪准备转移叫应：演示村03（小流域 DEMO-C03 演示小流域03）")
    tasks = [a for a in actions if isinstance(a, CreateTask)]
    assert [a.text[:10] for a in tasks] == ["准备转移：演示小流域"]
    assert not any("立即转移" in a.text for a in tasks)


def test_move_now_evacuates_the_threatened_people_with_their_count(setup):
    actions = _actions(setup, Level.RED)
    evacuation = [a for a in actions if isinstance(a, CreateTask) and a.text.startswith("立即转移")]
    assert len(evacuation) == 1
    assert "受威胁群众 158 人立即转移" in evacuation[0].text
    assert str(evacuation[0].owner.post) == "town.DEMO-T08.town_leader"
    called = {str(a.to.post) for a in actions if isinstance(a, RequestAck)}
    assert {"point.DEMO-C03.monitor", "town.DEMO-T08.town_leader"} <= called
