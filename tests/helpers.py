"""Helpers shared by test modules: editing a copy of the deployment and reading what ``warn check`` says of it."""

from __future__ import annotations

from pathlib import Path

import yaml

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
