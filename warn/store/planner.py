"""The command planner's state as records (use ``store.planner``).

The planner (:mod:`warn.command`) is pure; :mod:`warn.cycle.command` turns its
:class:`~warn.command.planner.State` into its JSON-ready form (dataclasses as objects,
mappings as ``[key, value]`` pairs, times ISO 8601, durations in microseconds, enums as their
values) and back. This table keeps that form in typed tables (:mod:`warn.store.schema`,
``planner_*``): the clock, mode and report state in one row; the keys of the emitted actions;
and per mapping of the state one row per entry, in the mapping's order, its fields as columns
— times as times, nested values (a thread's drivers, an acknowledgement's targets) as JSON
text. Saving replaces the whole state in one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Connection, Engine, Table, delete, insert, inspect, select

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

#: The state's mappings and their tables.
MAPS: dict[str, Table] = {"threads": planner_threads, "incidents": planner_incidents, "runs": planner_runs,
                          "acks": planner_acks, "manual": planner_manual, "bulletins": planner_bulletins,
                          "dangers": planner_dangers}
#: The state's records kept in the one row of ``planner_state``, as column-name prefixes.
RECORDS = ("mode", "reports")
#: Columns holding a nested value as JSON text.
JSON_COLUMNS = frozenset({"attributes", "drivers", "emitted", "targets", "answer", "mode_pending", "listed"})
_ROW = 1


class PlannerTable:
    """The planner's state in a store (use ``store.planner``)."""

    def __init__(self, engine: Engine, write: Callable[[], AbstractContextManager[Connection]]) -> None:
        self._engine = engine
        self._write = write

    def save(self, state: Mapping[str, Any]) -> None:
        """Replace the saved state with ``state``, in its JSON-ready form (module notes)."""
        with self._write() as conn:
            write_state(conn, state)

    def load(self) -> dict[str, Any] | None:
        """The saved state in its JSON-ready form; ``None`` when none was saved."""
        with self._engine.connect() as conn:
            row = conn.execute(select(planner_state)).mappings().first()
            if row is None:
                return None
            state: dict[str, Any] = {name: [[r["entry"], _record(table, r)] for r in conn.execute(
                select(table).order_by(table.c.position)).mappings()] for name, table in MAPS.items()}
            emitted = conn.execute(select(planner_emitted.c.action_key).order_by(planner_emitted.c.action_key))
            state["emitted"] = list(emitted.scalars())
        values = {c.name: _value(c, row[c.name]) for c in planner_state.c}
        state["clock"] = values["clock"]
        for name in ("serial", "instant", "instant_count"):
            state[name] = values[name]
        for name in RECORDS:
            state[name] = {column[len(name) + 1:]: value for column, value in values.items()
                           if column.startswith(f"{name}_")}
        return state


def write_state(conn: Connection, state: Mapping[str, Any], *, migrating: bool = False) -> None:
    """Replace the planner's state on ``conn`` with ``state`` (JSON-ready form; see the module notes).

    ``migrating``: the schema may be an older revision's (a migration carrying a state over): only the
    tables and ``planner_state`` columns it has are written.
    """
    maps, columns = MAPS, None
    if migrating:
        present = set(inspect(conn).get_table_names())
        maps = {name: table for name, table in MAPS.items() if table.name in present}
        columns = {table.name: {c["name"] for c in inspect(conn).get_columns(table.name)}
                   for table in (*maps.values(), planner_state)}
    for table in (*maps.values(), planner_emitted, planner_state):
        conn.execute(delete(table))
    row: dict[str, Any] = {"id": _ROW, "clock": state.get("clock"), "serial": state.get("serial", 0),
                           "instant": state.get("instant"), "instant_count": state.get("instant_count", 0)}
    for name in RECORDS:
        row.update({f"{name}_{field}": value for field, value in state[name].items()})
    conn.execute(insert(planner_state), _bound(planner_state, row, columns))
    for name, table in maps.items():
        entries = [_bound(table, {**record, "entry": key, "position": position}, columns)
                   for position, (key, record) in enumerate(state.get(name, []))]
        if entries:
            conn.execute(insert(table), entries)
    if state.get("emitted"):
        conn.execute(insert(planner_emitted), [{"action_key": key} for key in state["emitted"]])


def _bound(table: Table, values: Mapping[str, Any],
           present: Mapping[str, set[str]] | None = None) -> dict[str, Any]:
    """The row of ``values`` (JSON-ready) for ``table``: times parsed, nested values as JSON text; only the
    columns ``present`` lists for the table when given (an older revision's schema)."""
    row = {}
    for column in table.c:
        if present is not None and column.name not in present[table.name]:
            continue
        value = values.get(column.name)
        if value is not None and column.name in JSON_COLUMNS:
            value = json.dumps(value, ensure_ascii=False, sort_keys=True)
        elif value is not None and isinstance(column.type, UTCDateTime):
            value = datetime.fromisoformat(value)
        row[column.name] = value
    return row


def _value(column: Column, stored: Any) -> Any:
    """The JSON-ready value of a stored column."""
    if stored is None:
        return None
    if column.name in JSON_COLUMNS:
        return json.loads(stored)
    if isinstance(column.type, UTCDateTime):
        return stored.isoformat()
    return stored


def _record(table: Table, row: Mapping[str, Any]) -> dict[str, Any]:
    return {c.name: _value(c, row[c.name]) for c in table.c if c.name not in ("entry", "position")}
