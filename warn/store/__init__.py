"""Persistence: SQLite by default, PostgreSQL by URL, with versioned migrations.

The rest of the project uses :class:`Store` only::

    store = Store.connect("sqlite:///var/warn.sqlite")
    store.upgrade()
    store.upsert_sensors(catalogue)
    result = store.write_readings(flagged)

Modules: :mod:`~warn.store.engine` (engines and SQLite settings),
:mod:`~warn.store.schema` (tables), :mod:`~warn.store.migrate` (Alembic, run from
code; revisions in ``migrations/versions/``), :mod:`~warn.store.records` (what reads
return besides readings), :mod:`~warn.store.store` (the API).
"""

from warn.store.records import Heartbeat, LevelRecord, ModelState, Revision, WriteResult
from warn.store.store import Store

__all__ = ["Heartbeat", "LevelRecord", "ModelState", "Revision", "Store", "WriteResult"]
