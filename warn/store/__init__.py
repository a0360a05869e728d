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
command inbox, ``store.cycles``, ``store.inbox``), :mod:`~warn.store.store` (the API).
"""

from warn.store.command import ExecutionReport
from warn.store.cycles import CycleRow, CycleStatus, InboxRow
from warn.store.records import (
    Heartbeat,
    LevelRecord,
    ModelState,
    NewEntry,
    Revision,
    TimelineEntry,
    VerifyResult,
    WriteResult,
)
from warn.store.store import Store
from warn.store.timeline import CORRECTION, GENESIS, Timeline

__all__ = ["CORRECTION", "GENESIS", "CycleRow", "CycleStatus", "ExecutionReport", "InboxRow", "Heartbeat", "LevelRecord", "ModelState", "NewEntry", "Revision", "Store",
           "Timeline", "TimelineEntry", "VerifyResult", "WriteResult"]
