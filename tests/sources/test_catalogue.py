"""The sensor catalogue (warn/sources/catalogue.py) is read only as a regular file within its size limit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, committed_data
from tests.test_files import within
from warn.errors import ConfigError
from warn.sources.catalogue import load_catalogue


def check(tmp_path, change) -> subprocess.CompletedProcess:
    """``warn check`` (a real process, 60 s at most) on the committed deployment after ``change(data)``."""
    data = committed_data(tmp_path)
    change(data)
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return subprocess.run([sys.executable, "-m", "warn", "check", "--config", str(config)], capture_output=True,
                          text=True, timeout=60, env={"NO_COLOR": "1", "COLUMNS": "400", "PATH": ""})


def said(done: subprocess.CompletedProcess) -> str:
    """What a process printed, as one line however the terminal wrapped it."""
    return " ".join((done.stdout + done.stderr).split())


def test_dev_zero_as_the_catalogue_is_refused_at_once():
    outcome = within(5, lambda: load_catalogue(Path("/dev/zero")))
    assert isinstance(outcome["error"], ConfigError)
    assert str(outcome["error"]).startswith("/dev/zero: expected a sensor catalogue (CSV) as a regular file, "
                                            "got a character device")


@pytest.mark.slow
def test_dev_zero_as_the_catalogue_is_refused_by_warn_check_not_read_forever(tmp_path):
    done = check(tmp_path, lambda data: data["sensors"].update(catalogue="/dev/zero"))
    assert done.returncode == 2, said(done)
    assert "/dev/zero: expected a sensor catalogue (CSV) as a regular file, got a character device" in said(done)


@pytest.mark.slow
def test_a_catalogue_over_its_limit_is_refused_naming_the_key(tmp_path):
    done = check(tmp_path, lambda data: data.update(files={"max_catalogue_bytes": 100}))
    assert done.returncode == 2, said(done)
    assert "expected a sensor catalogue (CSV) of at most 100 bytes" in said(done)
    assert "raise the limit under files: in config.yaml" in said(done)


def test_the_committed_catalogue_loads_within_the_default_limit():
    assert load_catalogue(ROOT / "geodata" / "sensors.csv")
    with pytest.raises(ConfigError, match="of at most 10 bytes"):
        load_catalogue(ROOT / "geodata" / "sensors.csv", limit=10)
