"""The hourly rain a model keeps as its history, one row per hour, appended run by run.

``store.hourly_rain`` (:class:`HourlyRainTable`): per (model, key) — e.g. the landslide
model and the signature of its forecast grid — one row per hour, keyed by the hour's end
(the depth fell in (end − 1 h, end], mm), holding the array of that hour (one value per
cell or point) as float32, C order, zlib-compressed, with its shape and the issue time of
the run it came from.

- :meth:`~HourlyRainTable.append` upserts the hours a run adds: an hour already held is
  replaced when the new run is as new or newer than the run it came from (a newer run's
  hours replace an older run's forecast hours; an older run replaces nothing), and in the
  same transaction every hour that has left the keep window is deleted;
- :meth:`~HourlyRainTable.read` gives the hours of a time range back as (ends, array),
  fetching and decoding only the hours new or rewritten since its last read (a cycle's
  window moves an hour at a time).

So a cycle writes the few hours it adds, never the whole history again, and reads only the
days it needs.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import Connection, Engine, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from warn.store.schema import hourly_rain

#: zlib level of the stored hours: fast; rain fields gain little from higher levels.
ZLIB_LEVEL = 1
#: How an hour's array is stored: little-endian float32.
DTYPE = np.dtype("<f4")


def encode_hour(mm: np.ndarray) -> tuple[bytes, str]:
    """One hour's depths as stored: zlib-compressed little-endian float32 bytes and the shape text.

    Parameters
    ----------
    mm
        Depths of the hour, mm, any shape (e.g. (lat, lon) or (point,)); NaN for missing.

    Returns
    -------
    tuple
        (compressed bytes, shape as ``"401,491"``; ``""`` for a scalar).
    """
    data = np.ascontiguousarray(mm, dtype=DTYPE)
    return zlib.compress(data.tobytes(), ZLIB_LEVEL), ",".join(str(n) for n in data.shape)


def decode_hour(data: bytes, shape: str, out: np.ndarray | None = None) -> np.ndarray:
    """One hour's depths (mm, float32) from :func:`encode_hour`'s bytes and shape, into ``out`` when given."""
    dims = tuple(int(n) for n in shape.split(",")) if shape else ()
    values = np.frombuffer(zlib.decompress(bytes(data)), dtype=DTYPE).reshape(dims)
    if out is None:
        return values.astype(np.float32)
    out[...] = values
    return out


def _encoded(mm: np.ndarray) -> list[tuple[bytes, str]]:
    """:func:`encode_hour` of each hour of ``mm`` (time, …), on as many threads as there are cores (zlib lets go
    of the interpreter while it compresses: a city cycle keeps 12 hours of 197,000 cells)."""
    if len(mm) < 2:
        return [encode_hour(hour) for hour in mm]
    with ThreadPoolExecutor(max_workers=min(len(mm), os.cpu_count() or 1)) as pool:
        return list(pool.map(encode_hour, mm))


class HourlyRainTable:
    """The hourly rain kept by models (use ``store.hourly_rain``)."""

    def __init__(self, engine: Engine, write: Callable[[], AbstractContextManager[Connection]],
                 now: Callable[[], datetime]) -> None:
        self._engine = engine
        self._write = write
        self._now = now
        #: The hours the last read of each (model, key) gave, by end: (version, depths) — a cycle's window
        #: moves an hour at a time, so the next read fetches and decodes only the hours new or rewritten since.
        self._read: dict[tuple[str, str], dict[datetime, tuple[tuple[object, ...], np.ndarray]]] = {}

    def append(self, model: str, key: str, ends: np.ndarray, mm: np.ndarray, *, issued_at: datetime,
               keep: timedelta) -> int:
        """Keep the hours a run adds, and forget the hours older than ``keep``, in one transaction.

        Parameters
        ----------
        model, key
            Whose history it is (``"landslide"``, the grid signature).
        ends
            End of each hour, UTC, numpy ``datetime64`` (time,).
        mm
            Depth of each hour, mm, (time, …); stored as float32.
        issued_at
            Issue time of the run the hours come from (UTC-aware): an hour already held from a
            run issued later is left as it is.
        keep
            The keep window: hours ending at or before (the latest end held after the append −
            ``keep``) are deleted.

        Returns
        -------
        int
            Hours deleted as older than the keep window.
        """
        if len(ends) != len(mm):
            raise ValueError(f"hourly rain: {len(ends)} hour ends for {len(mm)} hours")
        now = self._now()
        rows = [{"model": model, "key": key, "hour_end": _aware(end), "issued_at": issued_at, "shape": shape,
                 "data": data, "updated_at": now} for end, (data, shape) in zip(ends, _encoded(mm), strict=True)]
        c = hourly_rain.c
        with self._write() as conn:
            if rows:
                stmt = (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(hourly_rain)
                conn.execute(stmt.on_conflict_do_update(
                    index_elements=[c.model, c.key, c.hour_end],
                    set_={n: stmt.excluded[n] for n in ("issued_at", "shape", "data", "updated_at")},
                    where=c.issued_at <= stmt.excluded.issued_at), rows)
            latest = conn.execute(select(func.max(c.hour_end)).where(c.model == model, c.key == key)).scalar()
            if latest is None:
                return 0
            return conn.execute(delete(hourly_rain).where(c.model == model, c.key == key,
                                                          c.hour_end <= latest - keep)).rowcount

    def read(self, model: str, key: str, *, after: datetime, until: datetime) -> tuple[np.ndarray, np.ndarray]:
        """The hours kept with ``after`` < end ≤ ``until``.

        One query for the hours' versions, one for the data of those new or rewritten since this
        table's last read of ``model`` and ``key`` (the others come from that read, kept in memory).

        Parameters
        ----------
        model, key
            Whose history it is.
        after, until
            The time range (UTC-aware): hours ending after ``after`` up to ``until`` inclusive.

        Returns
        -------
        tuple
            (ends, mm): hour ends as ``datetime64[s]`` (time,), increasing; depths, mm, float32
            (time, …). No hours: ``(empty, empty (0,))``.
        """
        c = hourly_rain.c
        mine = (c.model == model, c.key == key)
        # an hour's version: a rewritten hour changes its run, its write time or its length
        version = (c.shape, c.issued_at, c.updated_at, func.length(c.data))
        held = self._read.get((model, key), {})
        with self._engine.connect() as conn:
            kept = {r[0]: tuple(r[1:]) for r in conn.execute(select(c.hour_end, *version).where(
                *mine, c.hour_end > after, c.hour_end <= until))}
            stale = [end for end, seen in kept.items() if end not in held or held[end][0] != seen]
            fetched = {r[0]: (tuple(r[1:-1]), decode_hour(r[-1], r[1])) for r in conn.execute(
                select(c.hour_end, *version, c.data).where(*mine, c.hour_end.in_(stale)))} if stale else {}
        # an hour deleted between the two queries is left out; one rewritten is read again next time
        current = {end: fetched[end] if end in stale else held[end]
                   for end in sorted(kept) if end in fetched or end not in stale}
        self._read[(model, key)] = current
        ends = np.array([np.datetime64(end.astimezone(UTC).replace(tzinfo=None), "s") for end in current],
                        dtype="datetime64[s]")
        if not current:
            return ends, np.empty(0, np.float32)
        shapes = {seen[0] for seen, _ in current.values()}
        if len(shapes) > 1:
            raise ValueError(f"hourly rain of {model}/{key}: hours of different shapes {sorted(shapes)}")
        return ends, np.stack([mm for _, mm in current.values()])


def _aware(moment: np.datetime64) -> datetime:
    """A numpy UTC time as an aware datetime (to the microsecond)."""
    return np.datetime64(moment, "us").astype(datetime).replace(tzinfo=UTC)
