"""The people directory (warn/command/directory.py, load_directory): both file forms, every cross-check, the demo's."""

from __future__ import annotations

import copy
import csv
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.command.test_loading import command_spec
from tests.conftest import ROOT
from warn.command.directory import ALWAYS, ContactKind, Contacts, Person
from warn.command.loading import DIRECTORY_CSV, DIRECTORY_SOURCE, load_directory, load_setup
from warn.command.model import OrgUnit, Post, Role
from warn.command.roster import Shift
from warn.errors import ConfigError
from warn.vocab import OrgLevel

DEMO = ROOT / "people" / "directory.json"
T = datetime(2026, 7, 15, 6, tzinfo=UTC)
TOWN, COMMUNITY, GRID = OrgUnit(OrgLevel.TOWN, "T1"), OrgUnit(OrgLevel.COMMUNITY, "T1-C1"), OrgUnit(OrgLevel.GRID, "T1-C1-G1")

SMALL = {
    "source": "test directory",
    "units": [
        {"code": "T1", "level": "town", "name": "甲街道", "parent": "500112"},
        {"code": "T1-C1", "level": "community", "name": "甲社区", "parent": "T1"},
        {"code": "T1-C1-G1", "level": "grid", "name": "甲社区第1网格", "parent": "T1-C1"},
    ],
    "persons": [
        {"name": "张三", "unit": "500112", "mobile": "19900000001", "dingtalk": "zs-01", "email": "zs@example.org"},
        {"name": "李四", "unit": "T1-C1", "mobile": "19900000002", "wecom": "ls.02"},
        {"name": "王五", "unit": "T1-C1-G1", "mobile": "19900000003"},
    ],
    "posts": [
        {"role": "community_lead", "org": "community.T1-C1", "person": "李四"},
        {"role": "grid_worker", "org": "grid.T1-C1-G1", "person": "王五",
         "from": "2026-07-14T00:00:00+08:00", "to": "2026-07-28T00:00:00+08:00"},
    ],
    "points": [{"item_id": "H1", "community": "T1-C1", "monitor": "王五", "households": 4, "people": 12}],
}


def write_json(folder: Path, data: dict) -> Path:
    path = folder / "directory.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def write_csv(folder: Path, data: dict) -> Path:
    """The same directory as a folder of CSV files (an absent value an empty cell)."""
    folder.mkdir(exist_ok=True)
    (folder / DIRECTORY_SOURCE).write_text(data["source"] + "\n", encoding="utf-8")
    for section in DIRECTORY_CSV:
        rows = data[section]
        columns = list(dict.fromkeys(key for row in rows for key in row))
        with (folder / f"{section}.csv").open("w", encoding="utf-8", newline="") as out:
            writer = csv.DictWriter(out, columns)
            writer.writeheader()
            writer.writerows(rows)
    return folder


def broken(change) -> dict:
    data = copy.deepcopy(SMALL)
    change(data)
    return data


def test_json_and_csv_forms_load_to_the_same_directory(tmp_path):
    from_json = load_directory(write_json(tmp_path, SMALL))
    assert from_json == load_directory(write_csv(tmp_path / "csv", SMALL))
    assert from_json.persons["李四"] == Person("李四", Contacts("19900000002", None, "ls.02", None), COMMUNITY)
    assert from_json.posts == (
        Shift(Post(COMMUNITY, Role.COMMUNITY_LEAD), "李四", *ALWAYS),
        Shift(Post(GRID, Role.GRID_WORKER), "王五", datetime(2026, 7, 13, 16, tzinfo=UTC), datetime(2026, 7, 27, 16, tzinfo=UTC)),
        Shift(Post(OrgUnit(OrgLevel.POINT, "H1"), Role.MONITOR), "王五", *ALWAYS),
    )
    assert from_json.org.parent(TOWN) == OrgUnit(OrgLevel.DISTRICT, "500112")
    assert from_json.org.parent(OrgUnit(OrgLevel.POINT, "H1")) == COMMUNITY
    assert from_json.org.name(GRID) == "甲社区第1网格"
    assert from_json.points["H1"].households == 4


def test_the_demo_directory_reads_the_same_as_csv(tmp_path):
    data = json.loads(DEMO.read_text(encoding="utf-8"))
    assert load_directory(DEMO) == load_directory(write_csv(tmp_path / "csv", data))


def test_contacts_and_the_reverse_lookup():
    directory = load_directory(DEMO)
    person = next(iter(directory.persons.values()))
    mobile = directory.contacts(person.name).mobile
    assert mobile is not None and mobile.startswith("1990000")
    assert directory.person_by(ContactKind.MOBILE, mobile) == person.name
    assert directory.person_by(ContactKind.MOBILE, f"+86{mobile}") == person.name
    assert directory.person_by(ContactKind.DINGTALK, person.contacts.dingtalk) == person.name
    assert directory.person_by(ContactKind.WECOM, "nobody") is None
    assert directory.contacts("无此人") is None


CASES = {
    "bad parent": (lambda d: d["units"][2].update(parent="T1"),
                   ("units.2.parent", "expected the code of a community (one level above a grid), got 'T1'")),
    "a town under another district": (lambda d: d["units"][0].update(parent="500113"),
                                      ("units.0.parent", "expected the district's code 500112")),
    "unknown person": (lambda d: d["posts"][0].update(person="赵六"), ("posts.0.person", "expected a person of persons")),
    "unknown monitor": (lambda d: d["points"][0].update(monitor="赵六"), ("points.0.monitor", "a person of persons")),
    "unknown unit of a post": (lambda d: d["posts"][0].update(org="community.T9-C1"),
                               ("posts.0.org", "expected a unit or point of the directory")),
    "duplicate mobile": (lambda d: d["persons"][2].update(mobile="19900000001"),
                         ("persons.2.mobile", "expected a mobile no other person has")),
    "bad mobile": (lambda d: d["persons"][1].update(mobile="0239000000"),
                   ("persons.1.mobile", r"expected a string matching the pattern ^1[0-9]{10}$")),
    "point in no community": (lambda d: d["points"][0].update(community="T1"),
                              ("points.0.community", "expected the code of a community unit")),
    "role": (lambda d: d["posts"][0].update(role="village_head"), ("posts.0.role", "expected 'duty_officer'")),
    "duplicate person": (lambda d: d["persons"].append(dict(d["persons"][0], mobile=None, dingtalk=None, email=None)),
                         ("persons.3.name", "expected a name no other person has")),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_broken_directory_names_the_file_and_key(tmp_path, case):
    change, (key, says) = CASES[case]
    path = write_json(tmp_path, broken(change))
    with pytest.raises(ConfigError) as err:
        load_directory(path, district="500112")
    assert [(p.where, p.key) for p in err.value.problems] == [(str(path), key)], str(err.value)
    assert says in str(err.value)


def test_a_broken_csv_row_is_named_by_file_and_line(tmp_path):
    data = broken(lambda d: d["persons"][1].update(mobile="12345"))
    data["persons"][2]["mobile"] = data["persons"][0]["mobile"]
    folder = write_csv(tmp_path / "csv", data)
    with pytest.raises(ConfigError) as err:
        load_directory(folder)
    assert [(p.where, p.key) for p in err.value.problems] == [(f"{folder / 'persons.csv'}:3", "mobile")]
    data["persons"][1]["mobile"] = "19900000009"
    with pytest.raises(ConfigError, match=r"persons.csv:4: mobile: expected a mobile no other person has"):
        load_directory(write_csv(tmp_path / "csv", data))


def test_a_csv_folder_without_its_persons_is_refused(tmp_path):
    folder = write_csv(tmp_path / "csv", SMALL)
    (folder / "persons.csv").unlink()
    with pytest.raises(ConfigError, match=r"persons.csv: expected the directory's persons \(CSV\), readable"):
        load_directory(folder)


def test_setup_takes_the_directorys_posts_and_org_tree():
    setup = load_setup(command_spec(), "500112", {})
    community = OrgUnit(OrgLevel.COMMUNITY, "DEMO-T03-C01")
    assert setup.roster.who(Role.COMMUNITY_LEAD, community, T) == "演示村社负责人0301"
    assert setup.roster.who(Role.GRID_WORKER, OrgUnit(OrgLevel.GRID, "DEMO-T03-C01-G1"), T) == "演示网格员030101"
    assert setup.roster.who(Role.DUTY_OFFICER, OrgUnit(OrgLevel.TOWN, "DEMO-T03"), T) == "演示值班员04"
    assert setup.org.below(OrgUnit(OrgLevel.TOWN, "DEMO-T03"), OrgLevel.COMMUNITY)[0] == community
    monitor = setup.roster.who(Role.MONITOR, OrgUnit(OrgLevel.POINT, "DEMO-H001"), T)
    assert monitor is not None and monitor.startswith("演示监测员")


def test_without_a_directory_the_setup_is_the_roster_files(tmp_path):
    playbooks = shutil.copytree(ROOT / "playbooks", tmp_path / "playbooks")
    roster = playbooks / "roster.yaml"
    roster.write_text(roster.read_text(encoding="utf-8") + """\
- role: monitor
  org: point.*
  person: 监测员（各点）
  from: '2026-07-14T00:00:00+08:00'
  to: '2026-07-28T00:00:00+08:00'
- role: community_lead
  org: community.*
  person: 村社责任人（各村社）
  from: '2026-07-14T00:00:00+08:00'
  to: '2026-07-28T00:00:00+08:00'
- role: grid_worker
  org: grid.*
  person: 网格员（各网格）
  from: '2026-07-14T00:00:00+08:00'
  to: '2026-07-28T00:00:00+08:00'
""", encoding="utf-8")
    spec = command_spec().model_copy(update={"directory": None, "playbooks": playbooks, "roster": roster})
    setup = load_setup(spec, "500112", {})
    assert setup.org.parents == {}
    assert setup.roster.who(Role.COMMUNITY_LEAD, OrgUnit(OrgLevel.COMMUNITY, "DEMO-T03-C01"), T) == "村社责任人（各村社）"
    assert setup.roster.who(Role.MONITOR, OrgUnit(OrgLevel.POINT, "DEMO-H001"), T) == "监测员（各点）"


def test_a_roster_person_missing_from_the_directory_is_named(tmp_path):
    data = json.loads(DEMO.read_text(encoding="utf-8"))
    data["persons"] = [p for p in data["persons"] if p["name"] != "演示值班员04"]
    spec = command_spec().model_copy(update={"directory": write_json(tmp_path, data)})
    with pytest.raises(ConfigError) as err:
        load_setup(spec, "500112", {})
    assert [(p.key, p.got) for p in err.value.problems] == [("shifts.9.person", "'演示值班员04'")]
    assert err.value.problems[0].where.endswith("roster.yaml")


def test_the_demo_directory_covers_every_town_with_communities_grids_and_contacts():
    directory = load_directory(DEMO)
    district = OrgUnit(OrgLevel.DISTRICT, "500112")
    towns = directory.org.below(district, OrgLevel.TOWN)
    assert len(towns) == 21
    for town in towns:
        communities = directory.org.below(town, OrgLevel.COMMUNITY)
        assert 2 <= len(communities) <= 4
        assert all(len(directory.org.children(c, OrgLevel.GRID)) == 2 for c in communities)
    kinds = {kind: sum(p.contacts.get(kind) is not None for p in directory.persons.values()) for kind in ContactKind}
    assert kinds[ContactKind.MOBILE] == len(directory.persons)
    assert all(kinds[kind] > 0 for kind in ContactKind)
    assert any(p.contacts.dingtalk is None and p.contacts.wecom is None for p in directory.persons.values())
    assert all(p.monitor is not None and p.households > 0 for p in directory.points.values())
