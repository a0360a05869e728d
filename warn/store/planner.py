"""The command planner's state as records (use ``store.planner``).

The planner (:mod:`warn.command`) is pure; :mod:`warn.cycle.command` turns its
:class:`~warn.command.planner.State` into its JSON-ready form (dataclasses as objects,
mappings as ``[key, value]`` pairs, times ISO 8601, durations in microseconds, enums as their
values) and back. This table keeps that form in typed tables (:mod:`warn.store.schema`,
``planner_*``): the clock, mode and report state in one row; the keys of the emitted actions;
and per mapping of the state one row per entry, in the mapping's order, its fields as columns
— times as times, nested values (a thread's drivers, an acknowledgement's targets) as JSON
text.

Saving numbers the state (``planner_state.revision``) and stamps each row it writes with that
number. :meth:`PlannerTable.save` replaces the whole state; :meth:`PlannerTable.write` writes only
a :class:`Delta` against the revision the writer read — the entries changed or added (new entries
after every older one), the emitted keys added, the whole of a mapping that lost or reordered entries
(``rewritten`` notes that revision) — or, when another writer saved since, the whole state.
:meth:`PlannerTable.changes` reads what changed since a revision the same way. All of one save
is one transaction.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from enum import Enum
from typing import Any

from dataclasses import dataclass, field

from sqlalchemy import Boolean, Column, Connection, Engine, Table, delete, func, insert, inspect, select, update

from warn.store.schema import (
    UTCDateTime,
    planner_acks,
    planner_bulletins,
    planner_dangers,
    planner_emitted,
    planner_incidents,
    planner_manual,
    planner_runs,
    planner_state,
    planner_threads,
)
from warn.store.times import decode_time

#: The state's mappings and their tables.
MAPS: dict[str, Table] = {"threads": planner_threads, "incidents": planner_incidents, "runs": planner_runs,
                          "acks": planner_acks, "manual": planner_manual, "bulletins": planner_bulletins,
                          "dangers": planner_dangers}
#: The state's records kept in the one row of ``planner_state``, as column-name prefixes.
RECORDS = ("mode", "reports")
#: Columns holding a nested value as JSON text.
JSON_COLUMNS = frozenset({"attributes", "drivers", "emitted", "targets", "answer", "mode_pending", "mode_city",
                          "listed"})
#: Columns of a row that are not a field of its record.
BOOKKEEPING = frozenset({"entry", "position", "revision"})
#: The fields of ``planner_state`` that are not a record's.
SCALARS = ("clock", "serial", "instant", "instant_count")
_ROW = 1


@dataclass(frozen=True)
class Delta:
    """What changed in the planner's state between two revisions, JSON-ready (module notes).

    Attributes
    ----------
    scalars
        The whole of the ``planner_state`` row's values: ``clock``, ``serial``, ``instant``,
        ``instant_count``, and the ``mode`` and ``reports`` records.
    entries
        Per mapping (:data:`MAPS`), the entries changed or added, in the mapping's order; for a mapping in
        ``whole``, all its entries.
    emitted
        The emitted action keys added; all of them when ``"emitted"`` is in ``whole``.
    whole
        The mappings (and ``"emitted"``) given whole: they lost or reordered entries.
    revision
        The revision the delta leads to (0 when not yet written).
    """

    scalars: Mapping[str, Any]
    entries: Mapping[str, Sequence[tuple[str, Mapping[str, Any]]]] = field(default_factory=dict)
    emitted: Sequence[str] = ()
    whole: frozenset[str] = frozenset()
    revision: int = 0


class PlannerTable:
    """The planner's state in a store (use ``store.planner``)."""

    def __init__(self, engine: Engine, write: Callable[[], AbstractContextManager[Connection]]) -> None:
        self._engine = engine
        self._write = write

    def save(self, state: Mapping[str, Any]) -> int:
        """Replace the saved state with ``state``, in its JSON-ready form (module notes); its revision."""
        with self._write() as conn:
            return write_state(conn, state, revision=_revision(conn) + 1)

    def write(self, base: int, delta: Delta, whole: Callable[[], Mapping[str, Any]]) -> tuple[int, bool]:
        """Save ``delta``, the changes since revision ``base``; the whole state ``whole()`` instead when the saved
        revision is not ``base`` (another writer saved since).

        Returns
        -------
        (revision, incremental)
            The revision saved, and whether ``delta`` was written (``False``: the whole state was).
        """
        with self._write() as conn:
            current = _revision(conn)
            if current != base or base == 0:
                return write_state(conn, whole(), revision=current + 1), False
            _write_delta(conn, delta, current + 1)
            return current + 1, True

    def revision(self) -> int:
        """The revision of the saved state (0 when none was saved)."""
        with self._engine.connect() as conn:
            return _revision(conn)

    def load(self) -> dict[str, Any] | None:
        """The saved state in its JSON-ready form, with its ``revision``; ``None`` when none was saved."""
        with self._engine.connect() as conn:
            row = conn.execute(select(planner_state)).mappings().first()
            if row is None:
                return None
            state: dict[str, Any] = {name: [[r["entry"], _record(table, r)] for r in conn.execute(
                select(table).order_by(table.c.position)).mappings()] for name, table in MAPS.items()}
            emitted = conn.execute(select(planner_emitted.c.action_key).order_by(planner_emitted.c.action_key))
            state["emitted"] = list(emitted.scalars())
        return state | _scalars(row)

    def changes(self, since: int) -> Delta | None:
        """What changed after revision ``since``, JSON-ready; ``None`` when nothing was saved or rows were
        removed or reordered since (read the whole state with :meth:`load`)."""
        with self._engine.connect() as conn:
            row = conn.execute(select(planner_state)).mappings().first()
            if row is None or row["rewritten"] > since:
                return None
            entries = {name: [(r["entry"], _record(table, r)) for r in conn.execute(
                select(table).where(table.c.revision > since).order_by(table.c.position)).mappings()]
                for name, table in MAPS.items()}
            emitted = list(conn.execute(select(planner_emitted.c.action_key)
                                        .where(planner_emitted.c.revision > since)).scalars())
        scalars = _scalars(row)
        return Delta(scalars, entries, emitted, revision=scalars.pop("revision"))


def stored(name: str, record: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON-ready ``record`` of mapping ``name`` (:data:`MAPS`) as reading it back would give it (times in
    UTC, nested values through JSON, fields without a column dropped)."""
    table = MAPS[name]
    return _record(table, _stored_row(table, _bound(table, record)))


def stored_scalars(scalars: Mapping[str, Any]) -> dict[str, Any]:
    """The scalars of a state (:attr:`Delta.scalars`) as reading them back would give them."""
    values = _scalars(_stored_row(planner_state, _bound(planner_state, _state_row(scalars, 0))))
    del values["revision"]
    return values


def _stored_row(table: Table, row: Mapping[str, Any]) -> dict[str, Any]:
    """The row ``row`` (bound values) as a read returns it: times in UTC, booleans as booleans."""
    out = {}
    for name, kind in _columns(table):
        value = row.get(name)
        if value is not None and kind is _Kind.TIME:
            value = decode_time(value)
        elif value is not None and kind is _Kind.BOOLEAN:
            value = bool(value)
        out[name] = value
    return out


class _Kind(Enum):
    """How a column's value is kept in the JSON-ready state."""

    JSON = "json"
    TIME = "time"
    BOOLEAN = "boolean"
    PLAIN = "plain"


@functools.cache
def _columns(table: Table) -> tuple[tuple[str, _Kind], ...]:
    """Each column's name and kind, in order (a storm's save reads thousands of rows of a few tables)."""
    def kind(column: Column) -> _Kind:
        if column.name in JSON_COLUMNS:
            return _Kind.JSON
        if isinstance(column.type, UTCDateTime):
            return _Kind.TIME
        return _Kind.BOOLEAN if isinstance(column.type, Boolean) else _Kind.PLAIN

    return tuple((column.name, kind(column)) for column in table.c)


def _scalars(row: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON-ready scalars and records of a ``planner_state`` row, with its ``revision``."""
    values = {name: _value(kind, row[name]) for name, kind in _columns(planner_state)}
    state: dict[str, Any] = {name: values[name] for name in (*SCALARS, "revision")}
    for name in RECORDS:
        state[name] = {column[len(name) + 1:]: value for column, value in values.items()
                       if column.startswith(f"{name}_")}
    return state


def _revision(conn: Connection) -> int:
    """The saved state's revision on ``conn`` (0: none saved)."""
    return conn.execute(select(func.coalesce(func.max(planner_state.c.revision), 0))).scalar_one()


def _state_row(state: Mapping[str, Any], revision: int) -> dict[str, Any]:
    """The ``planner_state`` row of a JSON-ready state's scalars."""
    row: dict[str, Any] = {"id": _ROW, "clock": state.get("clock"), "serial": state.get("serial", 0),
                           "instant": state.get("instant"), "instant_count": state.get("instant_count", 0),
                           "revision": revision, "rewritten": revision}
    for name in RECORDS:
        row.update({f"{name}_{field}": value for field, value in state[name].items()})
    return row


def _write_delta(conn: Connection, delta: Delta, revision: int) -> None:
    """Write ``delta`` on ``conn`` as revision ``revision`` (module notes): a changed entry keeps its place, a
    new one goes after every other."""
    row = _bound(planner_state, _state_row(delta.scalars, revision))
    if not delta.whole:
        del row["rewritten"]
    conn.execute(update(planner_state).where(planner_state.c.id == _ROW).values(row))
    for name, table in MAPS.items():
        entries = delta.entries.get(name, ())
        if name in delta.whole:
            conn.execute(delete(table))
            held: dict[str, int] = {}
            start = 0
        elif entries:
            keys = [key for key, _ in entries]
            held = dict(conn.execute(select(table.c.entry, table.c.position).where(table.c.entry.in_(keys))).all())
            start = conn.execute(select(func.coalesce(func.max(table.c.position), -1) + 1)).scalar_one()
            if held:
                conn.execute(delete(table).where(table.c.entry.in_(list(held))))
        if entries:
            positions = {key: held[key] if key in held else start + i
                         for i, key in enumerate(k for k, _ in entries if k not in held)}
            positions.update((key, held[key]) for key in held)
            conn.execute(insert(table), [_bound(table, {**record, "entry": key, "position": positions[key],
                                                        "revision": revision}) for key, record in entries])
    if "emitted" in delta.whole:
        conn.execute(delete(planner_emitted))
    if delta.emitted:
        conn.execute(insert(planner_emitted), [{"action_key": key, "revision": revision} for key in delta.emitted])


def write_state(conn: Connection, state: Mapping[str, Any], *, migrating: bool = False, revision: int = 1) -> int:
    """Replace the planner's state on ``conn`` with ``state`` (JSON-ready form; see the module notes), as
    revision ``revision``; returns it.

    ``migrating``: the schema may be an older revision's (a migration carrying a state over): only the
    tables and ``planner_state`` columns it has are written.
    """
    maps, columns = MAPS, None
    if migrating:
        present = set(inspect(conn).get_table_names())
        maps = {name: table for name, table in MAPS.items() if table.name in present}
        columns = {table.name: {c["name"] for c in inspect(conn).get_columns(table.name)}
                   for table in (*maps.values(), planner_state, planner_emitted)}
    for table in (*maps.values(), planner_emitted, planner_state):
        conn.execute(delete(table))
    conn.execute(insert(planner_state), _bound(planner_state, _state_row(state, revision), columns))
    for name, table in maps.items():
        entries = [_bound(table, {**record, "entry": key, "position": position, "revision": revision}, columns)
                   for position, (key, record) in enumerate(state.get(name, []))]
        if entries:
            conn.execute(insert(table), entries)
    if state.get("emitted"):
        conn.execute(insert(planner_emitted), [_bound(planner_emitted, {"action_key": key, "revision": revision},
                                                      columns) for key in state["emitted"]])
    return revision


def _bound(table: Table, values: Mapping[str, Any],
           present: Mapping[str, set[str]] | None = None) -> dict[str, Any]:
    """The row of ``values`` (JSON-ready) for ``table``: times parsed, nested values as JSON text; only the
    columns ``present`` lists for the table when given (an older revision's schema)."""
    row = {}
    for name, kind in _columns(table):
        if present is not None and name not in present[table.name]:
            continue
        value = values.get(name)
        if value is not None and kind is _Kind.JSON:
            value = json.dumps(value, ensure_ascii=False, sort_keys=True)
        elif value is not None and kind is _Kind.TIME:
            value = datetime.fromisoformat(value)
        row[name] = value
    return row


def _value(kind: _Kind, stored: Any) -> Any:
    """The JSON-ready value of a stored column of ``kind``."""
    if stored is None:
        return None
    if kind is _Kind.JSON:
        return json.loads(stored)
    if kind is _Kind.TIME:
        return stored.isoformat()
    return stored


def _record(table: Table, row: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _value(kind, row[name]) for name, kind in _columns(table) if name not in BOOKKEEPING}
