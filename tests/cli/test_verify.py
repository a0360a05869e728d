"""`warn verify`: exit 0 with count and head hash on an intact timeline, 1 naming the tampered entry, 2 on bad config.

Runs on SQLite (the store in tmp_path) and on PostgreSQL (a fresh schema on the test
server, dropped afterwards; skipped with the reason when the server does not answer).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from typer.testing import CliRunner

from warn.cli.main import app
from warn.store import NewEntry, Store

PG_URL = os.environ.get("WARN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
T0 = datetime(2026, 7, 15, tzinfo=timezone.utc)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def config(request: pytest.FixtureRequest, committed_config: Path) -> Iterator[Path]:
    """The committed deployment with its store in tmp_path (SQLite) or in a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield committed_config
        return
    admin = create_engine(PG_URL, connect_args={"connect_timeout": 3})
    try:
        with admin.connect():
            pass
    except OperationalError as err:
        admin.dispose()
        pytest.skip(f"PostgreSQL not reachable at 127.0.0.1:5432: {str(err.orig).strip().splitlines()[0]}")
    schema = f"test_{uuid.uuid4().hex[:16]}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    data = yaml.safe_load(committed_config.read_text(encoding="utf-8"))
    data["store"]["url"] = f"{PG_URL}?options=-csearch_path%3D{schema}"
    committed_config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    try:
        yield committed_config
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def store_of(config: Path) -> Store:
    """The configured store, migrated, with three entries."""
    store = Store.connect(yaml.safe_load(config.read_text(encoding="utf-8"))["store"]["url"])
    store.upgrade()
    store.timeline.append([NewEntry(T0 + timedelta(minutes=i), "张三", "duty_officer", kind, f"第 {i} 条 / entry {i}")
                           for i, kind in enumerate(("warning.issued", "mode.changed", "task.created"), start=1)])
    return store


def invoke(config: Path):
    return CliRunner().invoke(app, ["verify", "--config", str(config)], env={"NO_COLOR": "1"})


def test_intact_timeline_exits_0_with_count_and_head_hash(config: Path) -> None:
    empty = invoke(config)
    assert empty.exit_code == 0, empty.output
    assert "0 条 entries" in empty.output

    with store_of(config) as store:
        head = store.timeline.verify().head_hash
    result = invoke(config)
    assert result.exit_code == 0, result.output
    assert "timeline intact: 3 条 entries" in result.output
    assert head in result.output


def test_tampered_entry_exits_1_naming_it(config: Path) -> None:
    with store_of(config) as store, store.engine.begin() as conn:
        conn.execute(text("UPDATE timeline SET summary = '已解除 / lifted' WHERE seq = 2"))
    result = invoke(config)
    assert result.exit_code == 1, result.output
    assert "seq 2 (kind mode.changed)" in result.output
    assert "content does not match its hash" in result.output
    assert "1 entries before it verified" in result.output


def test_invalid_config_exits_2(tmp_path: Path) -> None:
    result = invoke(tmp_path / "absent.yaml")
    assert result.exit_code == 2, result.output
    assert "absent.yaml" in result.output
