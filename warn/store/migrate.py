"""Versioned schema migrations (Alembic), run from code: no ``alembic.ini`` at run time.

The revisions live in ``warn/store/migrations/versions/``, one file each, numbered
``0001``, ``0002``, …; each later issue that needs a table or column adds the next
one. :func:`upgrade` brings a database to a revision in one transaction (DDL is
transactional on PostgreSQL and, with the engine of :mod:`warn.store.engine`, on
SQLite), so a failed migration leaves the schema as it was.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Upgrade the database to ``revision`` (``"head"``: the newest); a no-op when it is there."""
    config = _config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def current(engine: Engine) -> str | None:
    """The database's revision, ``None`` for a database no migration has touched."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head() -> str:
    """The newest revision the code knows."""
    head_revision = ScriptDirectory.from_config(_config()).get_current_head()
    if head_revision is None:
        raise RuntimeError(f"{MIGRATIONS}: expected at least one revision in versions/")
    return head_revision
