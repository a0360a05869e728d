"""``warn run`` refuses what it cannot run, before it opens anything (the live service itself: tests/test_service_run.py)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

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
