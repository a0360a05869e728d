"""Engines: SQLite settings and folders, unreachable servers, unsupported URLs."""

from __future__ import annotations

from pathlib import Path

import pytest

from warn.errors import StoreError
from warn.store import Store
from warn.store.engine import BUSY_TIMEOUT_MS, make_engine, sqlite_pragmas


def test_sqlite_creates_folders_and_sets_wal_busy_timeout_foreign_keys(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "warn.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    try:
        assert path.exists()
        assert sqlite_pragmas(engine) == {"journal_mode": "wal", "busy_timeout": BUSY_TIMEOUT_MS,
                                          "foreign_keys": 1, "synchronous": 1}
    finally:
        engine.dispose()


def test_unreachable_postgresql_names_the_url_without_password() -> None:
    with pytest.raises(StoreError) as caught:
        Store.connect("postgresql+psycopg://warn:s3cret@127.0.0.1:1/warn?connect_timeout=2")
    message = str(caught.value)
    assert "postgresql+psycopg://warn:***@127.0.0.1:1/warn" in message
    assert "s3cret" not in message
    assert "expected a reachable database" in message


def test_unsupported_backend_is_refused() -> None:
    with pytest.raises(StoreError, match="expected a sqlite:/// or postgresql\\+psycopg:// URL, got backend 'mysql'"):
        make_engine("mysql://root@127.0.0.1/test")
