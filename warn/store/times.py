"""How the store holds a time, in the standard library only (no SQLAlchemy, so that
:mod:`warn.store.views` can read the store without importing it).

Times are timezone-aware UTC in Python, ``timestamptz`` on PostgreSQL and naive-UTC
text ``YYYY-MM-DD HH:MM:SS.ffffff`` on SQLite (always six fraction digits: fixed
width, so text order is time order), exact to the microsecond on both.
:func:`encode_time` and :func:`decode_time` are the one definition of that form,
used by :class:`warn.store.schema.UTCDateTime`, the bulk statements of
:mod:`warn.store.bulk` and the read-only views of :mod:`warn.store.views`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache


def encode_time(dialect: str) -> Callable[[datetime], datetime | str]:
    """How a dialect's driver is handed an aware time.

    SQLite: naive-UTC text ``YYYY-MM-DD HH:MM:SS.ffffff`` (always six fraction
    digits, so text order is time order); PostgreSQL: the aware datetime, for
    ``timestamptz``. The time must be aware; the caller checks (:class:`UTCDateTime`
    raises on a naive one).

    Parameters
    ----------
    dialect
        ``sqlite`` or ``postgresql``.
    """
    if dialect == "sqlite":
        return _sqlite_text
    return _utc


def decode_time(value: datetime | str) -> datetime:
    """An aware UTC datetime from what either driver returns for a stored time."""
    if isinstance(value, str):
        return _from_sqlite_text(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@lru_cache(maxsize=65536)  # the rows of a read share few distinct times: decode each once
def _from_sqlite_text(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


@lru_cache(maxsize=65536)  # a batch shares few distinct times: encode each once
def _sqlite_text(value: datetime) -> str:
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
