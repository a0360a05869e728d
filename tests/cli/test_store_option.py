"""``--store URL`` / ``WARN_STORE``: a command opens the store it is pointed at, not config.yaml's."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from warn.cli.main import app
from warn.config import load_settings, store_url
from warn.errors import ConfigError


def verify(config: Path, *args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(app, ["verify", "--config", str(config), *args], env={"NO_COLOR": "1", **(env or {})})


def test_verify_store_option_opens_that_sqlite_file(committed_config: Path, tmp_path: Path) -> None:
    demo = tmp_path / "demo" / "warn.db"
    demo.parent.mkdir()
    result = verify(committed_config, "--store", str(demo))
    assert result.exit_code == 0, result.output
    assert "0 条 entries" in result.output
    assert demo.is_file()
    assert not (tmp_path / "warn.sqlite").exists()  # the configured store is left alone


def test_warn_store_environment_variable_does_the_same(committed_config: Path, tmp_path: Path) -> None:
    demo = tmp_path / "env.db"
    result = verify(committed_config, env={"WARN_STORE": f"sqlite:///{demo}"})
    assert result.exit_code == 0, result.output
    assert demo.is_file() and not (tmp_path / "warn.sqlite").exists()


def test_unknown_scheme_exits_2_naming_the_option(committed_config: Path, tmp_path: Path) -> None:
    result = verify(committed_config, "--store", "mysql://x")
    assert result.exit_code == 2, result.output
    assert "--store" in result.output and "mysql://" in result.output
    assert not (tmp_path / "warn.sqlite").exists()


def test_store_url_defaults_to_the_configured_store(committed_config: Path, tmp_path: Path) -> None:
    assert store_url(None, load_settings(committed_config)) == f"sqlite:///{tmp_path / 'warn.sqlite'}"


def test_bare_relative_path_is_an_absolute_sqlite_url(committed_config: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert store_url("demo/warn.db", load_settings(committed_config)) == f"sqlite:///{Path.cwd() / 'demo' / 'warn.db'}"


@pytest.mark.parametrize("url", ["postgresql+psycopg://warn@127.0.0.1:5432/warn", "postgresql://h/db",
                                 "sqlite:///relative.db", "sqlite:////abs/warn.db", "sqlite+pysqlite:///:memory:"])
def test_sqlalchemy_urls_pass_through(committed_config: Path, url: str) -> None:
    assert store_url(url, load_settings(committed_config)) == url


def test_other_scheme_is_a_config_error_without_echoing_credentials(committed_config: Path) -> None:
    with pytest.raises(ConfigError, match=r"--store / WARN_STORE: expected an SQLAlchemy URL") as err:
        store_url("postgres://warn:s3cret@db/warn", load_settings(committed_config))
    assert "s3cret" not in str(err.value) and "postgres://…" in str(err.value)


@pytest.mark.parametrize("command", ["verify", "dispatch", "ingest", "landslide", "flood"])
def test_every_command_that_opens_the_store_takes_the_option(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"], env={"NO_COLOR": "1", "COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "--store" in result.output and "WARN_STORE" in result.output
