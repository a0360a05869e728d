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
