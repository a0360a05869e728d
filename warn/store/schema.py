"""The store's tables as the code reads and writes them (the schema at the head revision).

The migrations in ``warn/store/migrations/versions/`` create these tables; this module
describes the result for SQLAlchemy Core queries and must agree with the head
revision (``tests/store/test_migrations.py`` checks it does).

Times are :class:`UTCDateTime`: timezone-aware UTC in Python, ``timestamptz`` on
PostgreSQL and naive-UTC text ``YYYY-MM-DD HH:MM:SS.ffffff`` in a ``DATETIME``
column on SQLite (fixed width, so text order is time order), exact to the
microsecond on both. :func:`encode_time` and :func:`decode_time` are the one
definition of that form, shared with the bulk statements of :mod:`warn.store.bulk`.

Tables
------
sensors
    The catalogue: one row per sensor (:class:`warn.sources.readings.Sensor`);
    ``interval_s`` the expected seconds between readings.
readings
    One row per (sensor, phenomenon time): the value as last revised (``NULL`` when
    missing), its unit, QC flag and rule, when it arrived, and how many times it was
    revised. Never deleted.
reading_revisions
    Every change of a reading's value, flag or rule: old and new side by side.
heartbeats
    One row per source (a feed, the cycle): when it was last seen, how often it is
    expected, and whether it is stale.
model_states
    State a model carries from one cycle to the next (the SWI tanks of every grid cell,
    …): one row per (model, key), the arrays as an ``.npz`` blob, and the time they hold for.
level_memory
    Levels with memory: one row per (hazard, item) — the remembered level, since when
    the score has stayed below its boundary − margin, and the last evidence time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from functools import lru_cache

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Double,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
)
from sqlalchemy.types import TypeDecorator, TypeEngine


def encode_time(dialect: str) -> Callable[[datetime], datetime | str]:
    """How a dialect's driver is handed an aware time.

    SQLite: naive-UTC text ``YYYY-MM-DD HH:MM:SS.ffffff`` (always six fraction
    digits, so text order is time order); PostgreSQL: the aware datetime, for
    ``timestamptz``. The time must be aware; the caller checks (:class:`UTCDateTime`
    raises on a naive one).
    """
    if dialect == "sqlite":
        return _sqlite_text
    return _utc


def decode_time(value: datetime | str) -> datetime:
    """An aware UTC datetime from what either driver returns for a stored time."""
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=timezone.utc)
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _utc(value: datetime) -> datetime:
    return value.astimezone(timezone.utc)


@lru_cache(maxsize=65536)  # a batch shares few distinct times: encode each once
def _sqlite_text(value: datetime) -> str:
    return value.astimezone(timezone.utc).replace(tzinfo=None).isoformat(" ", "microseconds")


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime, stored exactly on SQLite and PostgreSQL (see :func:`encode_time`).

    Binding a naive datetime raises :class:`ValueError`: a time without a zone is
    ambiguous. Aware datetimes in any zone are converted to UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[object]:
        return dialect.type_descriptor(String(26) if dialect.name == "sqlite" else DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | str | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"expected a timezone-aware datetime, got naive {value.isoformat()}")
        return encode_time(dialect.name)(value)

    def process_result_value(self, value: datetime | str | None, dialect: Dialect) -> datetime | None:
        return None if value is None else decode_time(value)


metadata = MetaData()

sensors = Table(
    "sensors",
    metadata,
    Column("sensor_id", String(64), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("name", Text, nullable=False),
    Column("lon", Double, nullable=False),
    Column("lat", Double, nullable=False),
    Column("interval_s", Double, nullable=False),
    Column("point_id", String(64), nullable=False, server_default=""),
    Column("updated_at", UTCDateTime, nullable=False),
)

readings = Table(
    "readings",
    metadata,
    Column("sensor_id", String(64), ForeignKey("sensors.sensor_id"), nullable=False),
    Column("phenomenon_time", UTCDateTime, nullable=False),
    Column("arrival_time", UTCDateTime, nullable=False),
    Column("value", Double, nullable=True),
    Column("unit", String(8), nullable=False),
    Column("qc_flag", String(16), nullable=False),
    Column("qc_rule", String(64), nullable=False, server_default=""),
    Column("revision_count", Integer, nullable=False, server_default="0"),
    PrimaryKeyConstraint("sensor_id", "phenomenon_time", name="pk_readings"),
    sqlite_with_rowid=False,
)

reading_revisions = Table(
    "reading_revisions",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("sensor_id", String(64), nullable=False),
    Column("phenomenon_time", UTCDateTime, nullable=False),
    Column("old_value", Double, nullable=True),
    Column("new_value", Double, nullable=True),
    Column("old_flag", String(16), nullable=False),
    Column("new_flag", String(16), nullable=False),
    Column("old_rule", String(64), nullable=False),
    Column("new_rule", String(64), nullable=False),
    Column("old_arrival_time", UTCDateTime, nullable=False),
    Column("new_arrival_time", UTCDateTime, nullable=False),
    Column("revised_at", UTCDateTime, nullable=False),
    ForeignKeyConstraint(["sensor_id", "phenomenon_time"], ["readings.sensor_id", "readings.phenomenon_time"],
                         name="fk_reading_revisions_reading"),
    Index("ix_reading_revisions_reading", "sensor_id", "phenomenon_time"),
)

heartbeats = Table(
    "heartbeats",
    metadata,
    Column("source", String(128), primary_key=True),
    Column("last_seen", UTCDateTime, nullable=True),
    Column("expected_interval_s", Double, nullable=False),
    Column("stale", Boolean, nullable=False),
    Column("detail", Text, nullable=False, server_default=""),
    Column("updated_at", UTCDateTime, nullable=False),
)

model_states = Table(
    "model_states",
    metadata,
    Column("model", String(64), nullable=False),
    Column("key", String(128), nullable=False),
    Column("valid_at", UTCDateTime, nullable=False),
    Column("arrays", LargeBinary, nullable=False),
    Column("detail", Text, nullable=False, server_default=""),
    Column("updated_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("model", "key", name="pk_model_states"),
)

level_memory = Table(
    "level_memory",
    metadata,
    Column("hazard", String(32), nullable=False),
    Column("item_id", String(64), nullable=False),
    Column("level", SmallInteger, nullable=False),
    Column("below_since", UTCDateTime, nullable=True),
    Column("evidence_at", UTCDateTime, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("hazard", "item_id", name="pk_level_memory"),
)
