"""A broken store given with ``--store`` gets a sentence and exit 1, never a traceback (issue 15).

Broken: a file that is not a database, an empty file, a store at a schema revision newer than
this code knows, a store that cannot be written — for the seeing commands (read-only views),
``warn verify`` and ``warn report`` (the store API) and an acting command.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from warn.cli.main import app
from warn.errors import StoreError
from warn.store import Store

ROOT = Path(__file__).resolve().parents[2]
DUTY = "演示值班员01"


def warn(*args: str):
    return CliRunner().invoke(app, [*args, "--config", str(ROOT / "config.yaml")], env={"NO_COLOR": "1"})


def text_file(tmp_path: Path) -> Path:
    path = tmp_path / "notes.db"
    path.write_text("这不是数据库 / not a database\n" * 10, encoding="utf-8")
    return path


def empty_file(tmp_path: Path) -> Path:
    path = tmp_path / "empty.db"
    path.touch()
    return path


def newer_store(tmp_path: Path) -> Path:
    path = tmp_path / "newer.db"
    with Store.connect(f"sqlite:///{path}") as store:
        store.upgrade()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE alembic_version SET version_num = '9999'")
    return path


def refused(path: Path, *command: str) -> str:
    """What ``warn COMMAND --store PATH`` says, after checking it exits 1 with a sentence, not a traceback."""
    result = warn(*command, "--store", str(path))
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return " ".join(result.output.split())


COMMANDS = [("status",), ("zones",), ("warnings",), ("timeline",), ("verify",), ("report", "INC-x"),
            ("note", "--as", DUTY, "电话报告")]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_a_text_file_is_named_not_a_traceback(command: tuple[str, ...], tmp_path: Path) -> None:
    path = text_file(tmp_path)
    said = refused(path, *command)
    assert "notes.db" in said and "not a database" in said
    assert "--store" in said  # what to do


@pytest.mark.parametrize("command", [("status",), ("zones",), ("timeline",), ("report", "INC-x")], ids=lambda c: c[0])
def test_an_empty_file_is_not_a_warn_store_for_reading_commands(command: tuple[str, ...], tmp_path: Path) -> None:
    path = empty_file(tmp_path)
    said = refused(path, *command)
    assert "empty.db" in said and "without warn's tables" in said
    with sqlite3.connect(path) as db:  # a reading command does not make a store
        assert db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall() == []


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_a_newer_schema_revision_is_refused_by_name(command: tuple[str, ...], tmp_path: Path) -> None:
    path = newer_store(tmp_path)
    said = refused(path, *command)
    assert "newer.db" in said and "'9999'" in said and "newer warn" in said


def test_a_read_only_store_is_a_store_error_when_written(tmp_path: Path) -> None:
    path = tmp_path / "ro.db"
    with Store.connect(f"sqlite:///{path}") as store:
        store.upgrade()
    with Store.connect(f"sqlite:///file:{path}?mode=ro&uri=true") as store:
        with pytest.raises(StoreError, match=r"expected a store that can be written, got .*readonly.*writable"):
            store.beat("mqtt", last_seen=None, expected=timedelta(minutes=5), stale=True)


def test_a_read_only_store_below_head_cannot_be_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with Store.connect(f"sqlite:///{path}") as store:
        store.upgrade("0001")
    with Store.connect(f"sqlite:///file:{path}?mode=ro&uri=true") as store:
        with pytest.raises(StoreError, match=r"expected a store that can be upgraded and written"):
            store.upgrade()
        assert store.revision() == "0001"


def test_a_folder_that_cannot_be_made_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = warn("verify", "--store", str(blocker / "sub" / "warn.db"))
    assert result.exit_code == 1, result.output
    assert "a folder for the store" in " ".join(result.output.split())


@pytest.mark.parametrize("command", [("status",), ("tasks",), ("report", "INC-x")], ids=lambda c: c[0])
def test_an_older_schema_revision_says_to_upgrade(command: tuple[str, ...], tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with Store.connect(f"sqlite:///{path}") as store:
        store.upgrade("0001")
    said = refused(path, *command)
    assert "old.db" in said and "'0001'" in said and "warn verify" in said


def test_a_table_missing_from_a_store_at_head_is_named(tmp_path: Path) -> None:
    path = tmp_path / "damaged.db"
    with Store.connect(f"sqlite:///{path}") as store:
        store.upgrade()
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE heartbeats")
    said = refused(path, "feeds")
    assert "damaged.db" in said and "no such table: heartbeats" in said
