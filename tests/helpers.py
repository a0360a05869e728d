"""Helpers shared by test modules: editing a copy of the deployment, reading what ``warn check`` says of it, and a deployment to act on."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from tests.conftest import ROOT, committed_data
from warn.check import check_deployment


def edit_yaml(path: Path, change) -> None:
    """Load the YAML file at ``path``, apply ``change`` to the data in place, write it back."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def messages(config: Path) -> str:
    """Every problem ``warn check`` finds in the deployment of ``config``, one a line."""
    return "\n".join(str(p) for p in check_deployment(config))


def drop(*keys):
    """A change for :func:`edit_yaml`: delete the value at the path ``keys``."""
    def change(data):
        for key in keys[:-1]:
            data = data[key]
        del data[keys[-1]]

    return change


def set_value(value, *keys):
    """A change for :func:`edit_yaml`: set the value at the path ``keys``."""
    def change(data):
        for key in keys[:-1]:
            data = data[key]
        data[keys[-1]] = value

    return change


def acting_deployment(tmp_path: Path, *, live: bool, **changes) -> Path:
    """The committed deployment in ``tmp_path`` with a roster whose shifts cover any real time (a live
    deployment acts now), ``deployment.live`` set, and ``changes`` (top-level keys) applied."""
    playbooks = Path(shutil.copytree(ROOT / "playbooks", tmp_path / "playbooks", dirs_exist_ok=True))
    roster = yaml.safe_load((playbooks / "roster.yaml").read_text(encoding="utf-8"))
    for shift in roster["shifts"]:
        shift["from"], shift["to"] = "2000-01-01T00:00:00+08:00", "2100-01-01T00:00:00+08:00"
    (playbooks / "roster.yaml").write_text(yaml.safe_dump(roster, allow_unicode=True), encoding="utf-8")
    data = committed_data(tmp_path)
    data["command"] |= {"playbooks": str(playbooks), "roster": str(playbooks / "roster.yaml")}
    data["deployment"]["live"] = live
    data.update(changes)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path
