"""SQLAlchemy engines for the store: SQLite on one machine, PostgreSQL for a city.

:func:`make_engine` turns a store URL (``config.yaml`` ``store.url``) into an
:class:`sqlalchemy.engine.Engine` and checks that the database answers.

SQLite (``sqlite:///path/to/warn.sqlite``): the file's folders are created; every
connection gets ``journal_mode=WAL`` (readers never block the writer),
``busy_timeout`` (:data:`BUSY_TIMEOUT_MS`: a second writer waits instead of failing),
``foreign_keys=ON`` and ``synchronous=NORMAL`` (durable across a crash of the
process; the last transactions may be lost on a power cut). The driver's own
transaction handling is switched off and SQLAlchemy emits ``BEGIN`` itself, so a
transaction covers its reads as well as its writes; a connection given the execution
option ``{WRITE_OPTION: True}`` begins with ``BEGIN IMMEDIATE``, taking the write
lock at once, so that a read-then-write transaction cannot lose a race to another
writer.

PostgreSQL (``postgresql+psycopg://user@host:5432/db``): psycopg 3, with a bounded
connect timeout (:data:`CONNECT_TIMEOUT_S`) unless the URL sets one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from warn.errors import Problem, StoreError
from warn.store.access import CONNECT_TIMEOUT_S, UNREACHABLE_HINT

#: How long a SQLite writer waits for another writer's lock, ms.
BUSY_TIMEOUT_MS = 5000
#: Exceptions that say the store itself failed (down, locked, read-only, broken), not what was given to it.
STORE_FAILURES: tuple[type[Exception], ...] = (StoreError, SQLAlchemyError)
#: Execution option that makes a SQLite transaction begin with ``BEGIN IMMEDIATE``.
WRITE_OPTION = "warn_write"

#: What to do about an SQLite store that cannot be opened.
NOT_A_STORE_HINT = ("--store 须指向 warn 存储库文件，且文件及其文件夹可写 / --store must name a warn store file (e.g. "
                    "var/warn.sqlite), and the file and its folder must be writable")

_SQLITE_PRAGMAS = (
    f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",  # first: the journal-mode switch below may have to wait
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA synchronous=NORMAL",
)


def redact(url: str | URL) -> str:
    """The URL as text with its password hidden (``***``), for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable store URL>"


def make_engine(url: str) -> Engine:
    """An engine for a SQLite or PostgreSQL store URL, checked to answer.

    Parameters
    ----------
    url
        ``sqlite:///relative/or/absolute/path.sqlite``, ``sqlite://`` (in memory, for
        tests) or ``postgresql+psycopg://user[:password]@host[:port]/database``.

    Returns
    -------
    Engine
        Connected once to check the database is reachable.

    Raises
    ------
    StoreError
        The URL is not a SQLite or PostgreSQL URL, or the database cannot be reached;
        the message names the URL without its password.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as err:
        raise StoreError(Problem(redact(url), "store.url", "an SQLAlchemy URL (sqlite:///… or postgresql+psycopg://…)",
                                 str(err))) from None
    if parsed.get_backend_name() == "sqlite":
        engine = _sqlite_engine(parsed)
    elif parsed.get_backend_name() == "postgresql":
        engine = _postgresql_engine(parsed)
    else:
        raise StoreError(Problem(redact(parsed), "store.url", "a sqlite:/// or postgresql+psycopg:// URL",
                                 f"backend {parsed.get_backend_name()!r}"))
    try:
        with engine.connect():
            pass
    except DBAPIError as err:
        engine.dispose()
        reason = str(err.orig).strip().splitlines()[0] if err.orig is not None else str(err)
        if parsed.get_backend_name() == "sqlite":
            raise StoreError(Problem(redact(parsed), "", "an SQLite store file that can be opened", reason,
                                     NOT_A_STORE_HINT)) from None
        raise StoreError(Problem(redact(parsed), "", "a reachable database", reason,
                                 UNREACHABLE_HINT)) from None
    return engine


def _sqlite_engine(url: URL) -> Engine:
    database = url.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        try:
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise StoreError(Problem(redact(url), "", "a folder for the store that can be made",
                                     err.strerror or type(err).__name__, NOT_A_STORE_HINT)) from None
    engine = create_engine(url)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: object) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN (see _on_begin)
        cursor = dbapi_connection.cursor()
        for pragma in _SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _postgresql_engine(url: URL) -> Engine:
    connect_args = {} if "connect_timeout" in url.query else {"connect_timeout": CONNECT_TIMEOUT_S}
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args)


def sqlite_pragmas(engine: Engine) -> dict[str, object]:
    """The SQLite settings :func:`make_engine` applies, as a connection sees them (for checks and tests)."""
    with engine.connect() as conn:
        return {name: conn.execute(text(f"PRAGMA {name}")).scalar_one()
                for name in ("journal_mode", "busy_timeout", "foreign_keys", "synchronous")}
