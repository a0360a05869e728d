"""Bulk statements of :meth:`warn.store.Store.write_readings`, one class per backend.

Ingest writes tens of thousands of readings a second, so its hot path bypasses
SQLAlchemy's per-row type processing and statement compilation: each method runs one
driver-level statement for a whole chunk of rows.

- :class:`SQLiteBulk` looks keys up with ``(VALUES …) CROSS JOIN readings`` (a
  primary-key probe per key: SQLite would scan the table for a row-value ``IN``) and
  writes with ``executemany``, which the sqlite3 module runs as one prepared statement.
- :class:`PostgresBulk` looks keys up and updates with each column passed as one array through
  ``unnest`` (one statement and one round trip per chunk, whatever its length), and inserts new
  readings and revisions with ``COPY … FROM STDIN (FORMAT BINARY)`` (:func:`copy_rows`), straight into
  ``readings`` (PostgreSQL routes each row to its week's partition); the keys looked up are staged
  the same way into a temporary table (:func:`stage`). Measured on the shared 2-core machine under
  load (bench/storescale.py, 2026-12-03, 20,000 new readings in batches of 5,000): 5,128 readings/s
  through COPY, 2,838/s through ``unnest`` arrays, 33/s one transaction per reading.
  ``PostgresBulk(copy=False)`` keeps the ``unnest`` statements, the reference COPY is tested and
  measured against.

Times go to the driver as :func:`warn.store.schema.encode_time` gives them (the
text :class:`~warn.store.schema.UTCDateTime` stores on SQLite, an aware datetime on
PostgreSQL), so rows written here and through SQLAlchemy are the same.

Row layouts (tuples, in this order):

- held: ``(i, value, qc_flag, qc_rule, arrival_time)``: ``i`` is the key's position in the keys looked up
  (so no stored time is decoded to match it) and ``arrival_time`` is as the driver returns it
  (:func:`~warn.store.schema.decode_time` when it is needed: a revision row's old arrival)
- insert: ``(sensor_id, phenomenon_time, arrival_time, value, unit, qc_flag, qc_rule, revision_count)``
- update: ``(sensor_id, phenomenon_time, arrival_time, value, qc_flag, qc_rule, added_revisions)``
- revision: ``(sensor_id, phenomenon_time, old_value, new_value, old_flag, new_flag, old_rule,
  new_rule, old_arrival_time, new_arrival_time, revised_at)``
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy import Connection

from warn.store.schema import encode_time

HeldRow = tuple[int, float | None, str, str, datetime | str]

_INSERT_COLUMNS = "sensor_id, phenomenon_time, arrival_time, value, unit, qc_flag, qc_rule, revision_count"
_REVISION_COLUMNS = ("sensor_id, phenomenon_time, old_value, new_value, old_flag, new_flag, old_rule, new_rule, "
                     "old_arrival_time, new_arrival_time, revised_at")


class Bulk(Protocol):
    """What :class:`warn.store.Store` needs of a backend to write a batch of readings."""

    def kinds(self, conn: Connection, sensor_ids: Sequence[str]) -> dict[str, str]:
        """``sensor_id`` → kind, for those of ``sensor_ids`` in the catalogue."""

    def held(self, conn: Connection, keys: Sequence[tuple[str, datetime]]) -> list[HeldRow]:
        """The stored readings among ``keys`` (sensor, aware-UTC phenomenon time), by position in ``keys``."""

    def insert(self, conn: Connection, rows: Sequence[tuple]) -> None:
        """Insert new readings."""

    def update(self, conn: Connection, rows: Sequence[tuple]) -> None:
        """Give held readings a new version and add to their revision count."""

    def revisions(self, conn: Connection, rows: Sequence[tuple]) -> None:
        """Append revision rows."""


class SQLiteBulk:
    """Bulk statements for SQLite (qmark parameters, ``executemany``)."""

    encode = staticmethod(encode_time("sqlite"))

    def kinds(self, conn: Connection, sensor_ids: Sequence[str]) -> dict[str, str]:
        marks = ",".join("?" * len(sensor_ids))
        sql = f"SELECT sensor_id, kind FROM sensors WHERE sensor_id IN ({marks})"
        return dict(conn.exec_driver_sql(sql, tuple(sensor_ids)).all())

    def held(self, conn: Connection, keys: Sequence[tuple[str, datetime]]) -> list[HeldRow]:
        encode = self.encode
        marks = ",".join(["(?,?,?)"] * len(keys))
        sql = ("SELECT k.column3, r.value, r.qc_flag, r.qc_rule, r.arrival_time "
               f"FROM (VALUES {marks}) AS k CROSS JOIN readings AS r "
               "ON r.sensor_id = k.column1 AND r.phenomenon_time = k.column2")
        params = tuple(p for i, (sid, t) in enumerate(keys) for p in (sid, encode(t), i))
        cursor = conn.connection.cursor()  # the driver's plain tuples: a batch of repeats is mostly held rows
        try:
            return cursor.execute(sql, params).fetchall()
        finally:
            cursor.close()

    def insert(self, conn: Connection, rows: Sequence[tuple]) -> None:
        encode = self.encode
        conn.exec_driver_sql(f"INSERT INTO readings ({_INSERT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?)",
                             [(sid, encode(t), encode(arr), *rest) for sid, t, arr, *rest in rows])

    def update(self, conn: Connection, rows: Sequence[tuple]) -> None:
        encode = self.encode
        conn.exec_driver_sql(
            "UPDATE readings SET arrival_time = ?, value = ?, qc_flag = ?, qc_rule = ?, "
            "revision_count = revision_count + ? WHERE sensor_id = ? AND phenomenon_time = ?",
            [(encode(arr), value, flag, rule, added, sid, encode(t))
             for sid, t, arr, value, flag, rule, added in rows])

    def revisions(self, conn: Connection, rows: Sequence[tuple]) -> None:
        encode = self.encode
        conn.exec_driver_sql(
            f"INSERT INTO reading_revisions ({_REVISION_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            [(sid, encode(t), *middle, encode(old_arr), encode(new_arr), encode(at))
             for sid, t, *middle, old_arr, new_arr, at in rows])


#: The PostgreSQL types of the insert and revision rows, in their column order (binary COPY).
_INSERT_TYPES = ("text", "timestamptz", "timestamptz", "float8", "text", "text", "text", "int4")
_REVISION_TYPES = ("text", "timestamptz", "float8", "float8", "text", "text", "text", "text", "timestamptz",
                   "timestamptz", "timestamptz")


def copy_rows(conn: Connection, table: str, columns: str, types: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """Write ``rows`` into ``table`` (``columns``, of PostgreSQL ``types``) with one binary ``COPY`` on the
    connection's transaction (psycopg 3)."""
    cursor = conn.connection.cursor()
    try:
        with cursor.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(list(types))
            for row in rows:
                copy.write_row(row)
    finally:
        cursor.close()


def stage(conn: Connection, table: str, columns: Sequence[tuple[str, str]], rows: Iterable[Sequence[object]], *,
          analyse: bool = True) -> None:
    """Make ``rows`` the content of the session's temporary ``table`` (``columns``: name and PostgreSQL type;
    made on first use, emptied at every use and commit), written with :func:`copy_rows` and, when ``analyse``,
    analysed, so that the planner joins it to a large table through that table's index."""
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE IF NOT EXISTS {table} "
                         f"({', '.join(f'{name} {kind}' for name, kind in columns)}) ON COMMIT DELETE ROWS")
    conn.exec_driver_sql(f"TRUNCATE {table}")
    copy_rows(conn, table, ", ".join(name for name, _ in columns), [kind for _, kind in columns], rows)
    if analyse:
        conn.exec_driver_sql(f"ANALYZE {table}")


class PostgresBulk:
    """Bulk statements for PostgreSQL through psycopg 3: ``COPY`` for new rows and for the keys looked up,
    ``unnest`` arrays for the updates.

    Parameters
    ----------
    copy
        Insert, and stage the keys looked up, through ``COPY`` (default); ``False``: pass them as arrays
        (``INSERT … SELECT FROM unnest(…)``, ``JOIN unnest(…)``).
    """

    def __init__(self, *, copy: bool = True) -> None:
        self.copy = copy

    def kinds(self, conn: Connection, sensor_ids: Sequence[str]) -> dict[str, str]:
        if self.copy:
            stage(conn, "warn_sensor_ids", (("sensor_id", "text"),), ((sid,) for sid in sensor_ids))
            sql = "SELECT s.sensor_id, s.kind FROM warn_sensor_ids AS k JOIN sensors AS s ON s.sensor_id = k.sensor_id"
            return dict(conn.exec_driver_sql(sql).all())
        sql = "SELECT sensor_id, kind FROM sensors WHERE sensor_id = ANY(%s::text[])"
        return dict(conn.exec_driver_sql(sql, (list(sensor_ids),)).all())

    def held(self, conn: Connection, keys: Sequence[tuple[str, datetime]]) -> list[HeldRow]:
        columns = "k.i, r.value, r.qc_flag, r.qc_rule, r.arrival_time"
        if self.copy:
            stage(conn, "warn_held_keys", (("i", "int4"), ("sensor_id", "text"), ("phenomenon_time", "timestamptz")),
                  ((i, sid, t) for i, (sid, t) in enumerate(keys)))
            rows = conn.exec_driver_sql(
                f"SELECT {columns} FROM warn_held_keys AS k JOIN readings AS r "
                "ON r.sensor_id = k.sensor_id AND r.phenomenon_time = k.phenomenon_time")
        else:
            sids, times = zip(*keys)
            rows = conn.exec_driver_sql(
                f"SELECT {columns} FROM unnest(%s::text[], %s::timestamptz[], %s::int4[]) "
                "AS k(sensor_id, phenomenon_time, i) "
                "JOIN readings AS r ON r.sensor_id = k.sensor_id AND r.phenomenon_time = k.phenomenon_time",
                (list(sids), list(times), list(range(len(keys)))))
        return rows.all()  # type: ignore[return-value]  # rows are HeldRow tuples

    def insert(self, conn: Connection, rows: Sequence[tuple]) -> None:
        if self.copy:
            copy_rows(conn, "readings", _INSERT_COLUMNS, _INSERT_TYPES, rows)
            return
        conn.exec_driver_sql(
            f"INSERT INTO readings ({_INSERT_COLUMNS}) SELECT * FROM unnest(%s::text[], %s::timestamptz[], "
            "%s::timestamptz[], %s::float8[], %s::text[], %s::text[], %s::text[], %s::int[])",
            tuple(list(column) for column in zip(*rows)))

    def update(self, conn: Connection, rows: Sequence[tuple]) -> None:
        conn.exec_driver_sql(
            "UPDATE readings AS r SET arrival_time = v.arrival_time, value = v.value, qc_flag = v.qc_flag, "
            "qc_rule = v.qc_rule, revision_count = r.revision_count + v.added "
            "FROM unnest(%s::text[], %s::timestamptz[], %s::timestamptz[], %s::float8[], %s::text[], %s::text[], "
            "%s::int[]) AS v(sensor_id, phenomenon_time, arrival_time, value, qc_flag, qc_rule, added) "
            "WHERE r.sensor_id = v.sensor_id AND r.phenomenon_time = v.phenomenon_time",
            tuple(list(column) for column in zip(*rows)))

    def revisions(self, conn: Connection, rows: Sequence[tuple]) -> None:
        if self.copy:
            copy_rows(conn, "reading_revisions", _REVISION_COLUMNS, _REVISION_TYPES, rows)
            return
        conn.exec_driver_sql(
            f"INSERT INTO reading_revisions ({_REVISION_COLUMNS}) SELECT * FROM unnest(%s::text[], "
            "%s::timestamptz[], %s::float8[], %s::float8[], %s::text[], %s::text[], %s::text[], %s::text[], "
            "%s::timestamptz[], %s::timestamptz[], %s::timestamptz[])",
            tuple(list(column) for column in zip(*rows)))


def bulk_for(dialect: str) -> Bulk:
    """The bulk statements for an engine's dialect name (``sqlite`` or ``postgresql``)."""
    return SQLiteBulk() if dialect == "sqlite" else PostgresBulk()


def upsert_rows(conn: Connection, table: str, columns: Sequence[tuple[str, str]], key: Sequence[str],
                rows: Sequence[Sequence[object]]) -> None:
    """Insert ``rows`` (tuples in the order of ``columns``: name and PostgreSQL type; times as
    :func:`encode_time` gives them) into ``table`` on the connection's transaction, a row whose ``key`` columns
    the table holds replacing the held row's other columns: staged with one ``COPY`` and merged by one
    statement on PostgreSQL, one ``executemany`` on SQLite."""
    if not rows:
        return
    names = ", ".join(name for name, _ in columns)
    merge = f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET " + ", ".join(
        f"{name} = excluded.{name}" for name, _ in columns if name not in key)
    if conn.dialect.name == "postgresql":
        stage(conn, f"{table}_staged", columns, rows, analyse=False)
        conn.exec_driver_sql(f"INSERT INTO {table} ({names}) SELECT {names} FROM {table}_staged {merge}")
    else:
        conn.exec_driver_sql(f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))}) {merge}",
                             list(rows))
