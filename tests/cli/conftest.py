"""A store filled by a replayed scenario, for the duty-officer commands' tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import ROOT
from warn.cli.main import app

#: The replayed scenario: the demo storm from dry weather through its peak (wartime, escalations, tasks).
SCENARIO = ["--from", "2026-07-14T21:00Z", "--to", "2026-07-15T12:00Z", "--every", "PT30M", "--step", "PT10M"]
#: The simulated time the scenario ends at.
SCENARIO_END = "2026-07-15T12:00:00+00:00"


@pytest.fixture(scope="session")
def replayed(tmp_path_factory) -> Path:
    """The store of a demo replay (a SQLite file), made once; copy it before changing it."""
    folder = tmp_path_factory.mktemp("replayed")
    result = CliRunner().invoke(app, ["replay", "--demo", "--out", str(folder), *SCENARIO,
                                      "--config", str(ROOT / "config.yaml")], env={"NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    return folder / "warn.db"
