"""Many centres, one PostgreSQL store: a schema and a LOGIN role per centre, isolation by the database.

:func:`provision` sets up a municipality on one database (idempotent, run again at will):

- one schema per centre (each district and county, and the municipal centre), owned by a role of its
  own: ``LOGIN``, no superuser, no ``CREATEDB``, no ``CREATEROLE``, no ``BYPASSRLS``, no inherited
  privileges; ``PUBLIC`` has nothing on the schema, and no role may create in ``public``;
- the store's migrations run in each schema as its role (``SET ROLE``), so the role owns its tables;
- the municipal role reads every district's schema (``USAGE``, ``SELECT`` on the tables, and by default
  privileges on the tables the district's later migrations make) and writes none of them;
- a district reads nothing of the city's schema but the view :data:`LINKED_VIEW`: the city's current
  mode and response level (its latest decided ``mode_changes`` row), which the district's cycle passes to
  its planner (:func:`city_response`, 城市 → 区县 linked response).

:func:`overview` is what the municipal centre sees of every district it may read: mode, response level,
active warnings.

A district's store URL names its role and ``options=-csearch_path=<schema>``
(:meth:`Centre.url`), so its CLI, its ``warn run`` and its tokens see its own rows only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from warn.errors import Problem, StoreError
from warn.store.engine import redact
from warn.store.migrate import first_line, upgrade

#: The view of the city's schema that districts may read: its current mode and response level.
LINKED_VIEW = "linked_response"
#: A schema or role name the provisioning accepts (unquoted PostgreSQL identifier, lower case).
IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class Centre:
    """One centre of the municipality: its GB/T 2260 code, its schema and its LOGIN role."""

    code: str
    schema: str
    role: str

    def __post_init__(self) -> None:
        for what, name in (("schema", self.schema), ("role", self.role)):
            if not IDENTIFIER.match(name):
                raise StoreError(Problem("municipal", what, "a lower-case PostgreSQL identifier ([a-z_][a-z0-9_]*, "
                                         "at most 63 characters)", repr(name)))

    def url(self, admin_url: str) -> str:
        """The centre's store URL: ``admin_url``'s server and database, as its role, in its schema."""
        url = make_url(admin_url).set(username=self.role, password=None)
        query = {k: v for k, v in url.query.items() if k != "options"}
        url = url.set(query={**query, "options": f"-csearch_path={self.schema}"})
        return url.render_as_string(hide_password=False)


@dataclass(frozen=True)
class CityResponse:
    """The city's current mode as :data:`LINKED_VIEW` gives it: the ``mode_changes`` row id, when, what, who, why."""

    id: int
    at: datetime
    to_mode: str
    response_level: int
    decided_by: str
    reason: str


def provision(admin: Engine, city: Centre, districts: Sequence[Centre]) -> None:
    """Create or bring up to date the roles, schemas, stores, grants and the linked view (module notes).

    Parameters
    ----------
    admin
        An engine on the municipality's PostgreSQL database as a role that may create roles (a superuser
        or the database's owner with ``CREATEROLE``).
    city, districts
        The municipal centre and the districts.

    Raises
    ------
    StoreError
        The database is not PostgreSQL, or a statement was refused (the first line of its error).
    """
    if admin.dialect.name != "postgresql":
        raise StoreError(Problem(redact(admin.url), "--store", "a postgresql+psycopg:// URL (one schema and role per "
                                 "centre need PostgreSQL)", admin.dialect.name))
    centres = [city, *districts]
    with admin.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('warn.municipal'))"))
        conn.execute(text("REVOKE CREATE ON SCHEMA public FROM PUBLIC"))
        for centre in centres:
            _centre(conn, centre)
        for district in districts:
            conn.execute(text(f'GRANT USAGE ON SCHEMA "{district.schema}" TO "{city.role}"'))
            conn.execute(text(f'ALTER DEFAULT PRIVILEGES FOR ROLE "{district.role}" IN SCHEMA "{district.schema}" '
                              f'GRANT SELECT ON TABLES TO "{city.role}"'))
            conn.execute(text(f'GRANT USAGE ON SCHEMA "{city.schema}" TO "{district.role}"'))
    for centre in centres:
        with _as_role(admin, centre) as engine:
            upgrade(engine)
        if centre is not city:  # the tables made before the default privileges were set (a store run before)
            with admin.begin() as conn:
                conn.execute(text(f'GRANT SELECT ON ALL TABLES IN SCHEMA "{centre.schema}" TO "{city.role}"'))
    with _as_role(admin, city) as engine, engine.begin() as conn:
        conn.execute(text(
            f'CREATE OR REPLACE VIEW "{city.schema}".{LINKED_VIEW} AS '
            f'SELECT id, "at", to_mode, response_level, decided_by, reason FROM "{city.schema}".mode_changes '
            "WHERE decided_by IS NOT NULL ORDER BY id DESC LIMIT 1"))
        conn.execute(text(f'REVOKE ALL ON "{city.schema}".{LINKED_VIEW} FROM PUBLIC'))
        for district in districts:
            conn.execute(text(f'GRANT SELECT ON "{city.schema}".{LINKED_VIEW} TO "{district.role}"'))


def _centre(conn: Connection, centre: Centre) -> None:
    """The centre's role (created or reset to its limits) and its schema, owned by it, closed to ``PUBLIC``."""
    exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": centre.role}).first()
    limits = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOINHERIT NOREPLICATION"
    conn.execute(text(f'{"ALTER" if exists else "CREATE"} ROLE "{centre.role}" {limits}'))
    conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{centre.schema}" AUTHORIZATION "{centre.role}"'))
    conn.execute(text(f'ALTER SCHEMA "{centre.schema}" OWNER TO "{centre.role}"'))
    conn.execute(text(f'REVOKE ALL ON SCHEMA "{centre.schema}" FROM PUBLIC'))


@contextmanager
def _as_role(admin: Engine, centre: Centre) -> Iterator[Engine]:
    """An engine on ``admin``'s database whose sessions act as ``centre``'s role in its schema."""
    url = make_url(admin.url.render_as_string(hide_password=False))
    url = url.set(query={**{k: v for k, v in url.query.items() if k != "options"},
                         "options": f"-csearch_path={centre.schema}"})
    engine = create_engine(url)

    @event.listens_for(engine, "connect")
    def _set_role(dbapi_connection: Any, _record: object) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f'SET ROLE "{centre.role}"')
        dbapi_connection.commit()

    try:
        yield engine
    finally:
        engine.dispose()


def city_response(engine: Engine, city_schema: str) -> CityResponse | None:
    """The city's current mode as the district's role reads it from :data:`LINKED_VIEW`; ``None`` before any.

    Raises
    ------
    StoreError
        The view cannot be read (not provisioned, or the role was not granted it).
    """
    if not IDENTIFIER.match(city_schema):
        raise StoreError(Problem("config.yaml", "municipal.city_schema", "a lower-case PostgreSQL identifier",
                                 repr(city_schema)))
    try:
        with engine.connect() as conn:
            row = conn.execute(text(f'SELECT id, "at", to_mode, response_level, decided_by, reason '
                                    f'FROM "{city_schema}".{LINKED_VIEW}')).first()
    except DBAPIError as err:
        raise StoreError(Problem(redact(engine.url), f"{city_schema}.{LINKED_VIEW}",
                                 "the city's linked-response view, readable by this district's role "
                                 "(warn municipal init)", first_line(err))) from None
    if row is None:
        return None
    values = row._mapping
    return CityResponse(values["id"], values["at"].astimezone(UTC), values["to_mode"], values["response_level"],
                        values["decided_by"], values["reason"])


@dataclass(frozen=True)
class DistrictOverview:
    """One district as the municipal centre reads it: its schema, its current mode and response level (0 in
    peacetime), since when and who decided, its active warnings and the highest of their levels (0: none)."""

    schema: str
    mode: str
    response_level: int
    since: datetime | None
    decided_by: str | None
    active_warnings: int
    highest_level: int


def overview(engine: Engine) -> list[DistrictOverview]:
    """Every district store the connected role may read besides its own (the municipal centre's: all of
    them), by schema name.

    A district store is a schema with a ``mode_changes`` table the role has ``USAGE`` on; a district's role
    finds none (it may read no other district's).
    """
    with engine.connect() as conn:
        schemas = conn.execute(text(
            # by OIDs: a privilege function given a name raises for a table that does not exist, and
            # PostgreSQL may evaluate it on any namespace before the joins filter them
            "SELECT n.nspname FROM pg_namespace n "
            "JOIN pg_class m ON m.relnamespace = n.oid AND m.relname = 'mode_changes' "
            "JOIN pg_class w ON w.relnamespace = n.oid AND w.relname = 'warnings' "
            "WHERE n.nspname <> current_schema() AND has_schema_privilege(n.oid, 'USAGE') "
            "AND has_table_privilege(m.oid, 'SELECT') AND has_table_privilege(w.oid, 'SELECT') "
            "ORDER BY n.nspname")).scalars().all()
        rows = []
        for schema in schemas:
            if not IDENTIFIER.match(schema):
                continue
            mode = conn.execute(text(
                f'SELECT to_mode, response_level, "at", decided_by FROM "{schema}".mode_changes '
                "WHERE decided_by IS NOT NULL ORDER BY id DESC LIMIT 1")).first()
            active, highest = conn.execute(text(
                f"SELECT count(*), coalesce(max(level), 0) FROM \"{schema}\".warnings WHERE status = 'active'")).one()
            rows.append(DistrictOverview(
                schema, mode.to_mode if mode else "peacetime", mode.response_level if mode else 0,
                mode.at.astimezone(UTC) if mode else None, mode.decided_by if mode else None, active, highest))
    return rows
