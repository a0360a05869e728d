"""``warn run`` refuses what it cannot run, before it opens anything (the live service itself: tests/test_service_run.py)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.helpers import acting_deployment, edit_yaml, set_value
from warn.cli.main import app


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(app, ["run", *args], env={"NO_COLOR": "1", "COLUMNS": "200", **(env or {})})


def test_clock_start_needs_status_exercise(tmp_path: Path) -> None:
    result = run("--config", str(tmp_path / "absent.yaml"), "--clock-start", "2026-07-15T10:05Z")
    assert result.exit_code == 2, result.output
    assert "--clock-start" in result.output and "--status exercise" in result.output


def test_warn_clock_start_environment_variable_is_the_same_option(tmp_path: Path) -> None:
    result = run("--config", str(tmp_path / "absent.yaml"), "--status", "actual",
                 env={"WARN_CLOCK_START": "2026-07-15T10:05Z"})
    assert result.exit_code == 2, result.output
    assert "--clock-start" in result.output


def test_clock_start_without_a_zone_is_a_usage_error(tmp_path: Path) -> None:
    result = run("--config", str(tmp_path / "absent.yaml"), "--status", "exercise", "--clock-start", "2026-07-15T10:05")
    assert result.exit_code == 2, result.output
    assert "--clock-start" in result.output and "zone" in result.output


def test_a_zero_interval_is_a_usage_error(tmp_path: Path) -> None:
    """Attack: ``warn run --every PT0S`` was accepted and got as far as starting the service."""
    result = run("--config", str(tmp_path / "absent.yaml"), "--every", "PT0S")
    assert result.exit_code == 2, result.output
    assert "--every" in result.output and "longer than zero" in result.output


@pytest.mark.slow
def test_a_live_deployment_failing_check_never_starts_publishing_actual(tmp_path: Path) -> None:
    """Issue 15: a store that never published refuses Actual until the deployment is live and passes `warn check`."""
    config = acting_deployment(tmp_path, live=True)
    edit_yaml(config, set_value("{feed}/demo.nc", "forecasts", "demo", "url"))
    result = run("--config", str(config), "--status", "actual")
    assert result.exit_code == 2, result.output
    assert "deployment.live" in result.output and "forecasts.demo.url" in result.output
    with sqlite3.connect(tmp_path / "warn.sqlite") as db:
        assert db.execute("select count(*) from outbox").fetchone() == (0,)
        assert db.execute("select count(*) from cycles").fetchone() == (0,)


def test_clock_file_needs_status_exercise_and_cannot_go_with_clock_start(tmp_path: Path) -> None:
    (tmp_path / "clock").write_text("2026-07-15T10:05:00+00:00", encoding="utf-8")
    actual = run("--config", str(tmp_path / "absent.yaml"), "--clock-file", str(tmp_path / "clock"))
    both = run("--config", str(tmp_path / "absent.yaml"), "--status", "exercise", "--clock-file", str(tmp_path / "clock"),
               "--clock-start", "2026-07-15T10:05Z")
    assert actual.exit_code == 2 and "--clock-file" in actual.output and "--status exercise" in actual.output
    assert both.exit_code == 2 and "one drill clock" in both.output


def test_a_clock_file_that_is_missing_is_named_with_exit_2(tmp_path: Path) -> None:
    result = run("--config", str(tmp_path / "absent.yaml"), "--status", "exercise", "--clock-file",
                 str(tmp_path / "absent-clock"))
    assert result.exit_code == 2, result.output
    assert "absent-clock" in result.output and "clock file" in result.output
