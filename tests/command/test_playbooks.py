"""Playbook files: the committed ones load; each validation rule rejects with file, step id and key."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from tests.command.conftest import T0
from tests.conftest import ROOT
from warn.command.loading import load_playbook, load_roster
from warn.command.model import OrgUnit, Role
from warn.vocab import OrgLevel
from warn.errors import ConfigError


def test_committed_playbooks(setup):
    assert [p.id for p in setup.playbooks] == ["flashflood", "landslide", "landslide_town", "rainstorm", "river",
                                              "waterlogging"]
    landslide = setup.playbooks[1]
    assert [s.id for s in landslide.steps] == ["notify_monitor", "notify_town", "call_town_leader", "call_community",
                                               "call_grids", "patrol", "evacuate"]
    assert landslide.steps[5].after == "notify_monitor" and landslide.steps[6].ack == timedelta(minutes=15)
    assert landslide.steps[4].after_answer == "call_community" and landslide.steps[4].owner.fans_out


def test_roster_lookup():
    roster = load_roster(ROOT / "playbooks" / "roster.yaml")
    assert roster.who(Role.TOWN_LEADER, OrgUnit(OrgLevel.TOWN, "DEMO-T05"), T0) == "演示镇街负责人05"
    assert roster.who(Role.GRID_WORKER, OrgUnit(OrgLevel.TOWN, "DEMO-T05"), T0) == "演示网格员（各镇街）"  # town.*
    assert roster.who(Role.MONITOR, OrgUnit(OrgLevel.POINT, "DEMO-H042"), T0) is None  # the directory names it
    assert roster.who(Role.COMMANDER, OrgUnit(OrgLevel.DISTRICT, "500112"), T0 + timedelta(days=30)) is None


def test_csv_roster(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text("role,org,person,from,to\nscribe,district.500112,演示信息员02,"
                    "2026-07-15T00:00:00+08:00,2026-07-16T00:00:00+08:00\n", encoding="utf-8")
    assert load_roster(path).who(Role.SCRIBE, OrgUnit(OrgLevel.DISTRICT, "500112"), T0) == "演示信息员02"


def broken(tmp_path: Path, change) -> str:
    data = yaml.safe_load((ROOT / "playbooks" / "landslide.yaml").read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "landslide.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_playbook(path)
    return str(err.value)


def step(phase, index, key, value):
    def change(data):
        if value is None:
            del data["phases"][phase][index][key]
        else:
            data["phases"][phase][index][key] = value
    return change


CASES = {
    "unknown action": (step("warn", 0, "action", "call"), "phases.warn.notify_monitor.action: expected 'notify', 'task'"),
    "unknown role in a chain": (step("respond", 0, "escalate", ["district.{district}.chief"]),
                                "phases.respond.evacuate.escalate: expected a role among"),
    "bad template field": (step("warn", 1, "owner", "town.{twon}.duty_officer"),
                           "phases.warn.notify_town.owner: expected a template field among {community}, {district}, {grid}, {item}, {town}"),
    "bad duration": (step("warn", 2, "ack", "15min"), "phases.warn.call_town_leader.ack: expected an ISO-8601 duration"),
    "missing key": (step("respond", 0, "owner", None), "phases.respond.evacuate.owner: expected this key"),
    "task without within": (step("prevent", 0, "within", None), "phases.prevent.patrol: expected a task step to give within"),
    "bad condition": (step("respond", 0, "condition", "level >= purple"),
                      "phases.respond.evacuate.condition: expected a level among none"),
    "after an unknown step": (step("prevent", 0, "after", "notify_nobody"),
                              "phases.prevent.patrol.after: expected the id of a step defined before this one"),
    "unknown text field": (step("warn", 0, "text", "{people} 人"), "phases.warn.notify_monitor.text: expected template fields among"),
    "fan-out in a chain": (step("warn", 3, "escalate", ["town.*.town_leader"]),
                           "phases.warn.call_community.escalate: expected a unit code or a template field, not *"),
    "fan-out of the district": (step("warn", 4, "owner", "district.*.duty_officer"),
                                "phases.warn.call_grids.owner: expected a fan-out level below the district"),
    "fan-out a point cannot give": (step("warn", 4, "owner", "point.*.monitor"),
                                    "phases.warn.call_grids.owner: expected a fan-out level among community, grid "
                                    "for a point playbook"),
    "grid field without a grid fan-out": (step("warn", 3, "escalate", ["grid.{grid}.grid_worker"]),
                                          "phases.warn.call_community.escalate.0: expected {grid} only where the step "
                                          "addresses a unit at grid level"),
    "after_answer a notice": (step("warn", 4, "after_answer", "notify_town"),
                              "phases.warn.call_grids.after_answer: expected the id of an ack_request step defined "
                              "before this one, got 'notify_town' (calls before it: call_community, call_town_leader)"),
    "after and after_answer": (step("warn", 4, "after", "notify_town"),
                               "phases.warn.call_grids: expected after or after_answer, not both"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_broken_playbook(tmp_path, case):
    change, expected = CASES[case]
    text = broken(tmp_path, change)
    assert "landslide.yaml: " in text
    assert expected in text
