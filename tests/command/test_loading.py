"""Reading the command files (warn/command/loading.py): the roster only as a regular file within its limit."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.sources.test_catalogue import check, said
from tests.test_files import within
from warn.command.loading import load_roster
from warn.errors import ConfigError


def test_dev_urandom_as_the_roster_is_refused_at_once():
    outcome = within(5, lambda: load_roster(Path("/dev/urandom")))
    assert isinstance(outcome["error"], ConfigError)
    assert str(outcome["error"]).startswith("/dev/urandom: expected a YAML file as a regular file, got a character device")


@pytest.mark.slow
def test_dev_urandom_as_the_roster_is_refused_by_warn_check_not_read_forever(tmp_path):
    done = check(tmp_path, lambda data: data["command"].update(roster="/dev/urandom"))
    assert done.returncode == 2, said(done)
    assert "/dev/urandom: expected a YAML file as a regular file, got a character device" in said(done)


def test_a_csv_roster_that_is_a_pipe_is_refused_at_once(tmp_path):
    fifo = tmp_path / "roster.csv"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match=r"roster.csv: expected a CSV roster as a regular file, got a named pipe"):
        load_roster(fifo)


@pytest.mark.slow
def test_a_roster_over_its_limit_is_refused(tmp_path):
    done = check(tmp_path, lambda data: data.update(files={"max_roster_bytes": 100}))
    assert done.returncode == 2, said(done)
    assert "expected a YAML file of at most 100 bytes" in said(done)
    assert load_roster(ROOT / "playbooks" / "roster.yaml").shifts


def command_spec(**stand_down):
    """The committed command: section with ``stand_down`` replaced, paths resolved from the repository."""
    import yaml

    from warn.config import CommandSpec

    data = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))["command"]
    data |= {"playbooks": ROOT / data["playbooks"], "roster": ROOT / data["roster"], "directory": ROOT / data["directory"],
             "stand_down": stand_down}
    return CommandSpec.model_validate(data)


@pytest.mark.parametrize(("role", "says"), [
    ("chief", "command.stand_down.override: expected a role among"),
    ("monitor", "command.stand_down.override: expected a role the roster fills at the district, got monitor"),
])
def test_the_stand_down_override_is_a_district_role_on_the_roster(role, says):
    from warn.command.loading import load_setup

    with pytest.raises(ConfigError) as err:
        load_setup(command_spec(override=role), "500112", {})
    assert says in str(err.value)


def test_the_stand_down_level_is_a_colour():
    from pydantic import ValidationError

    from warn.command.loading import load_setup
    from warn.command.mode import StandDown
    from warn.command.model import Role
    from warn.vocab import Level

    with pytest.raises(ValidationError, match="refuse_while"):
        command_spec(refuse_while="purple")
    setup = load_setup(command_spec(refuse_while="red", override="leader_on_duty"), "500112", {})
    assert setup.mode.stand_down == StandDown(Level.RED, Role.LEADER_ON_DUTY)
