"""Persistence: SQLite by default, PostgreSQL by URL, with versioned migrations.

The rest of the project uses :class:`Store` only::

    store = Store.connect("sqlite:///var/warn.sqlite")
    store.upgrade()
    store.upsert_sensors(catalogue)
    result = store.write_readings(flagged)

Modules: :mod:`~warn.store.engine` (engines and SQLite settings),
:mod:`~warn.store.schema` (tables), :mod:`~warn.store.migrate` (Alembic, run from
code; revisions in ``migrations/versions/``), :mod:`~warn.store.records` (what reads
return besides readings), :mod:`~warn.store.timeline` (the hash-chained timeline,
``store.timeline``), :mod:`~warn.store.command` (the planner's actions applied,
``store.execute_actions``), :mod:`~warn.store.outbox` (messages before and after
delivery, ``store.outbox``), :mod:`~warn.store.cycles` (the record of cycles and the
command inbox, ``store.cycles``, ``store.inbox``), :mod:`~warn.store.levels` (the item levels
of each cycle and the data notices, ``store.levels``, ``store.notices``),
:mod:`~warn.store.inputs` (runs, official messages and zone rain, ``store.runs``,
``store.official``, ``store.rain``), :mod:`~warn.store.hourly` (the hourly rain models keep as
their history, one row per hour, ``store.hourly_rain``), :mod:`~warn.store.incidents` (warning threads, CAP
messages, incidents, tasks, acknowledgement requests and mode changes as read,
``store.warnings``, ``store.command``), :mod:`~warn.store.planner` (the planner's state as
records, ``store.planner``), :mod:`~warn.store.store` (the API), :mod:`~warn.store.views`
(read-only queries for the duty officer's commands).

The names below are imported on first use (PEP 562), so that ``warn.store.views`` can be
imported without numpy or the planner (``warn status`` must start fast).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from warn.store.command import ExecutionReport
    from warn.store.cycles import CycleRow, CycleStatus, InboxRow
    from warn.store.records import (
        Beat,
        Heartbeat,
        HeldRun,
        ItemLevel,
        LevelBasis,
        LevelColumns,
        ModelState,
        NewEntry,
        OfficialMessage,
        Revision,
        TimelineEntry,
        VerifyResult,
        WriteResult,
        ZoneRain,
    )
    from warn.store.engine import STORE_FAILURES
    from warn.store.store import Store
    from warn.store.timeline import CORRECTION, GENESIS, Timeline

#: Where each public name lives.
_HOME = {
    "ExecutionReport": "command",
    "CycleRow": "cycles", "CycleStatus": "cycles", "InboxRow": "cycles",
    "Beat": "records", "Heartbeat": "records", "HeldRun": "records", "ItemLevel": "records", "LevelBasis": "records",
    "LevelColumns": "records", "ModelState": "records", "NewEntry": "records", "OfficialMessage": "records",
    "Revision": "records", "TimelineEntry": "records", "VerifyResult": "records", "WriteResult": "records",
    "ZoneRain": "records",
    "STORE_FAILURES": "engine",
    "Store": "store",
    "CORRECTION": "timeline", "GENESIS": "timeline", "Timeline": "timeline",
}

__all__ = ["CORRECTION", "GENESIS", "CycleRow", "CycleStatus", "ExecutionReport", "Beat", "Heartbeat", "HeldRun", "InboxRow",
           "ItemLevel", "LevelBasis", "LevelColumns", "ModelState", "NewEntry", "OfficialMessage", "Revision", "STORE_FAILURES", "Store",
           "Timeline", "TimelineEntry", "VerifyResult", "WriteResult", "ZoneRain"]


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_HOME[name]}"), name)
