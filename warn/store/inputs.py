"""What the cycles pulled: forecast runs, official messages, and the hourly rain per zone they used.

``store.runs`` (:class:`RunTable`): every forecast run fetched and decoded; per source one
is ``held`` — the one the next fetch of that source is conditional on (ETag /
Last-Modified).

``store.official`` (:class:`OfficialTable`): every official CAP message fetched; per source
the messages of its last successful fetch are ``held`` (in fetch order), so that while the
source is down they stay in force until they expire.

``store.rain`` (:class:`RainTable`): the hourly rain of each run a cycle used, per zone of a
zone layer, for the reports' hyetographs and the rain a warning expects: the run once
(``rain_runs``), its hours (``rain_run_hours``), its rows by run id (``zone_rain``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from itertools import repeat

import numpy as np
from numpy.typing import ArrayLike
from sqlalchemy import Connection, Engine, Select, and_, delete, exists, func, insert, select, update

from warn.store.bulk import insert_rows
from warn.store.records import HeldRun, OfficialMessage, ZoneRain
from warn.store.schema import encode_time, forecast_runs, official_messages, rain_run_hours, rain_runs, zone_rain

#: ``status`` of the run a source's next fetch is conditional on, and of the messages in force.
HELD = "held"
#: ``status`` of a run held before the current one.
SUPERSEDED = "superseded"
#: ``status`` of a message the source's last fetch no longer published.
DROPPED = "dropped"
#: The columns of a zone-rain row, in the order :meth:`RainTable.record_hours` writes them.
_ZONE_RAIN_COLUMNS = (("run_id", "int4"), ("hour_end", "timestamptz"), ("zone_id", "text"), ("mean_mm", "float8"),
                      ("max_mm", "float8"))


class _Table:
    def __init__(self, engine: Engine, write: Callable[[], AbstractContextManager[Connection]]) -> None:
        self._engine = engine
        self._write = write


class RunTable(_Table):
    """The forecast runs of a store (use ``store.runs``)."""

    def hold(self, run: HeldRun, at: datetime) -> None:
        """Record ``run`` as the one ``run.source`` holds (from the cycle at ``at``); the run held
        before is ``superseded`` (a refetch of the same issue time replaces its row)."""
        values = {"fetched_at": run.fetched_at, "checksum": run.checksum, "url": run.url, "path": run.path,
                  "etag": run.etag, "last_modified": run.last_modified, "status": HELD, "held_at": at}
        key = and_(forecast_runs.c.source == run.source, forecast_runs.c.issued_at == run.issued_at)
        with self._write() as conn:
            conn.execute(update(forecast_runs).where(forecast_runs.c.source == run.source,
                                                     forecast_runs.c.status == HELD).values(status=SUPERSEDED))
            if conn.execute(update(forecast_runs).where(key).values(**values)).rowcount == 0:
                conn.execute(insert(forecast_runs).values(source=run.source, issued_at=run.issued_at, **values))

    def held(self, source: str) -> HeldRun | None:
        """The run ``source`` holds, ``None`` before its first."""
        with self._engine.connect() as conn:
            row = conn.execute(select(forecast_runs).where(forecast_runs.c.source == source,
                                                           forecast_runs.c.status == HELD)).first()
        return None if row is None else _run(row)

    def fetched(self, source: str | None = None) -> list[HeldRun]:
        """Every run fetched (of ``source``), by source and issue time."""
        query = select(forecast_runs).order_by(forecast_runs.c.source, forecast_runs.c.issued_at)
        if source is not None:
            query = query.where(forecast_runs.c.source == source)
        with self._engine.connect() as conn:
            return [_run(r) for r in conn.execute(query)]


class OfficialTable(_Table):
    """The official messages of a store (use ``store.official``)."""

    def hold(self, source: str, messages: Iterable[OfficialMessage], at: datetime) -> None:
        """``messages`` (in this order) are what ``source`` publishes as fetched at ``at``: they are
        held; the source's messages held before and not among them are dropped."""
        rows = [_message_row(m) | {"status": HELD, "position": i, "fetched_at": at} for i, m in enumerate(messages)]
        ids = {r["identifier"] for r in rows}
        with self._write() as conn:
            conn.execute(update(official_messages).where(official_messages.c.source == source,
                                                         official_messages.c.status == HELD).values(status=DROPPED))
            held = set(conn.execute(select(official_messages.c.identifier)
                                    .where(official_messages.c.source == source)).scalars())
            if ids & held:
                conn.execute(delete(official_messages).where(official_messages.c.source == source,
                                                             official_messages.c.identifier.in_(ids & held)))
            if rows:
                conn.execute(insert(official_messages), rows)

    def held(self, source: str) -> tuple[list[OfficialMessage], datetime | None]:
        """The messages ``source`` held at its last successful fetch, in fetch order, and when that was
        (``None``: none held)."""
        query = (select(official_messages).where(official_messages.c.source == source,
                                                  official_messages.c.status == HELD)
                 .order_by(official_messages.c.position))
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return [_message(r) for r in rows], max((r.fetched_at for r in rows), default=None)


class RainTable(_Table):
    """The hourly rain per zone of the runs the cycles used (use ``store.rain``)."""

    def has(self, source: str, issued_at: datetime, layer: str) -> bool:
        """Whether the rain of this run over ``layer`` is recorded."""
        r = rain_runs.c
        with self._engine.connect() as conn:
            return bool(conn.execute(select(exists().where(r.source == source, r.issued_at == issued_at,
                                                           r.layer == layer))).scalar())

    def record(self, source: str, issued_at: datetime, layer: str, rows: Iterable[ZoneRain]) -> None:
        """Record the rain of a run over the zones of ``layer`` (replacing what it held of that run)."""
        rows = list(rows)
        self.record_hours(source, issued_at, layer, [r.zone_id for r in rows], [r.hour_end for r in rows],
                          np.array([np.nan if r.mean_mm is None else r.mean_mm for r in rows]),
                          np.array([np.nan if r.max_mm is None else r.max_mm for r in rows]))

    def record_hours(self, source: str, issued_at: datetime, layer: str, zone_ids: Sequence[str],
                     hour_ends: Sequence[datetime], mean_mm: ArrayLike, max_mm: ArrayLike) -> None:
        """Record the rain of a run over the zones of ``layer`` given as columns (replacing what it held of
        that run), in one transaction: the run and its hours, then the rows in one driver-level bulk insert.

        Parameters
        ----------
        zone_ids, hour_ends
            Zone and end of hour (UTC-aware) of each row.
        mean_mm, max_mm
            Zone mean and wettest covered cell of each row, mm (NaN: unknown, stored as NULL).
        """
        naive = sorted({str(end) for end in hour_ends if end.tzinfo is None})
        if naive:
            raise ValueError(f"zone rain: hour_end must be UTC-aware, got naive {', '.join(naive[:3])}")
        encode = encode_time(self._engine.dialect.name)
        hours = sorted(set(hour_ends))
        encoded = {end: encode(end) for end in hours}
        means, maxima = _nullable(mean_mm), _nullable(max_mm)
        if not len(zone_ids) == len(hour_ends) == len(means) == len(maxima):
            raise ValueError(f"zone rain: {len(zone_ids)} zones, {len(hour_ends)} hours, {len(means)} means and "
                             f"{len(maxima)} maxima; expected one of each per row")
        r = rain_runs.c
        with self._write() as conn:
            held = conn.execute(select(r.run_id).where(r.source == source, r.issued_at == issued_at,
                                                        r.layer == layer)).scalar()
            if held is not None:
                for table in (zone_rain, rain_run_hours, rain_runs):
                    conn.execute(delete(table).where(table.c.run_id == held))
            run_id = conn.execute(insert(rain_runs).values(source=source, issued_at=issued_at, layer=layer)
                                  .returning(r.run_id)).scalar_one()
            if hours:
                conn.execute(insert(rain_run_hours), [{"run_id": run_id, "hour_end": end} for end in hours])
            insert_rows(conn, "zone_rain", _ZONE_RAIN_COLUMNS,
                        list(zip(repeat(run_id), [encoded[end] for end in hour_ends], zone_ids, means, maxima)))

    def hourly(self, layer: str, since: datetime, until: datetime,
               zones: Collection[str] | None = None) -> list[ZoneRain]:
        """The rain per zone of ``layer`` (of ``zones`` only, when given) of each hour ending in (``since``,
        ``until``], each hour as the newest run issued before its end gave it; by hour, then zone."""
        z = zone_rain.c
        query = _newest(select(z.zone_id, z.hour_end, z.mean_mm, z.max_mm), layer, since, until)
        if zones is not None:
            query = query.where(z.zone_id.in_(list(zones)))
        with self._engine.connect() as conn:
            return [ZoneRain(*row) for row in conn.execute(query.order_by(z.hour_end, z.zone_id))]

    def totals(self, layer: str, since: datetime, until: datetime) -> dict[str, tuple[float, int]]:
        """Each zone of ``layer``'s rain over the hours ending in (``since``, ``until``], as :meth:`hourly`
        gives them, summed in the database: zone → (the sum of its known hourly means, mm; their number)."""
        z = zone_rain.c
        query = _newest(select(z.zone_id, func.sum(z.mean_mm), func.count(z.mean_mm)), layer, since, until)
        with self._engine.connect() as conn:
            return {zone: (float(mm), int(n)) for zone, mm, n in conn.execute(query.group_by(z.zone_id)) if n}


def _newest(query: Select, layer: str, since: datetime, until: datetime) -> Select:
    """``query`` on ``zone_rain`` narrowed to ``layer``'s hours ending in (``since``, ``until``], each hour
    from the newest run issued before its end."""
    r, h, z = rain_runs.c, rain_run_hours.c, zone_rain.c
    newest = (select(h.hour_end, func.max(r.issued_at).label("issued_at"))
              .join(rain_runs, r.run_id == h.run_id)
              .where(r.layer == layer, h.hour_end > since, h.hour_end <= until, r.issued_at < h.hour_end)
              .group_by(h.hour_end).subquery())
    return (query.join(rain_runs, r.run_id == z.run_id)
            .join(newest, and_(z.hour_end == newest.c.hour_end, r.issued_at == newest.c.issued_at))
            .where(r.layer == layer))


def _nullable(values: ArrayLike) -> list[float | None]:
    """The values as Python floats, ``None`` for NaN (SQL NULL)."""
    array = np.asarray(values, dtype=np.float64).ravel()
    out = array.astype(object)
    out[np.isnan(array)] = None
    return out.tolist()


def _run(r) -> HeldRun:
    return HeldRun(r.source, r.issued_at, r.fetched_at, r.checksum, r.url, r.path, r.etag, r.last_modified)


def _message_row(m: OfficialMessage) -> dict[str, object]:
    return {"source": m.source, "identifier": m.identifier, "sender": m.sender, "sent": m.sent,
            "msg_type": m.msg_type, "cap_status": m.cap_status, "refs": json.dumps(list(m.references)),
            "hazard": m.hazard, "level": int(m.level), "expires": m.expires,
            "zones": json.dumps(list(m.zones), ensure_ascii=False), "district": m.district,
            "headline": m.headline, "raw": m.raw}


def _message(r) -> OfficialMessage:
    return OfficialMessage(r.source, r.identifier, r.sender, r.sent, r.msg_type, r.cap_status,
                           tuple(json.loads(r.refs)), r.hazard, r.level, r.expires, tuple(json.loads(r.zones)),
                           bool(r.district), r.headline, r.raw)
