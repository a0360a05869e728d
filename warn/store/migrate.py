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
from alembic.util import CommandError
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from warn.errors import Problem, StoreError
from warn.store.engine import redact

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


#: What to do about a store written by a newer warn.
NEWER_HINT = ("此存储库由更新版本的 warn 写入：请用该版本打开 / the store was written by a newer warn: open it with "
              "that version, or restore a copy made by this one")
#: What to do about a store that cannot be written.
READ_ONLY_HINT = ("请检查文件及其所在文件夹的写权限（SQLite 需在文件夹中创建 -wal、-shm 文件）/ check that the file "
                  "and its folder are writable (SQLite makes -wal and -shm files next to it)")


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Upgrade the database to ``revision`` (``"head"``: the newest); a no-op when it is there.

    Raises
    ------
    StoreError
        The database is at a revision this code does not know (written by a newer warn),
        or it cannot be written (read-only file or folder); the schema is left as it was.
    """
    known = current(engine)
    if known is not None and not _knows(known):
        raise StoreError(Problem(redact(engine.url), "schema revision", f"a revision up to {head()}",
                                 repr(known), NEWER_HINT))
    config = _config()
    try:
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":  # processes starting together migrate one after the other
                conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('warn.migrate.' || current_schema()))"))
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
    except DBAPIError as err:
        raise StoreError(Problem(redact(engine.url), "", "a store that can be upgraded and written",
                                 first_line(err), READ_ONLY_HINT)) from None


def require_head(engine: Engine) -> None:
    """Check, without writing, that the database is a store at the newest revision (for reading commands).

    Raises
    ------
    StoreError
        No warn tables (an empty or other database), a revision written by a newer warn, or an
        older one (upgraded by any command that writes, e.g. ``warn verify``).
    """
    where = redact(engine.url)
    known = current(engine)
    if known is None:
        raise StoreError(Problem(where, "", "a warn store", "a database without warn's tables",
                                 "--store 指向了别的文件？/ is --store pointing at the right file? "
                                 "(warn verify or warn run make a new store)"))
    if not _knows(known):
        raise StoreError(Problem(where, "schema revision", f"a revision up to {head()}", repr(known), NEWER_HINT))
    if known != head():
        raise StoreError(Problem(where, "schema revision", head(), repr(known),
                                 "先运行 warn verify 升级 / run warn verify to upgrade it first"))


def _knows(revision: str) -> bool:
    """Whether ``revision`` is one of the code's migrations."""
    try:
        return ScriptDirectory.from_config(_config()).get_revision(revision) is not None
    except CommandError:
        return False


def first_line(err: DBAPIError) -> str:
    """The driver's own message of ``err``, first line only."""
    return (str(err.orig if err.orig is not None else err).strip().splitlines() or [type(err).__name__])[0]


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
