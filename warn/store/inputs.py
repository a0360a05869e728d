"""What the cycles pulled: forecast runs, official messages, and the hourly rain per zone they used.

``store.runs`` (:class:`RunTable`): every forecast run fetched and decoded; per source one
is ``held`` — the one the next fetch of that source is conditional on (ETag /
Last-Modified).

``store.official`` (:class:`OfficialTable`): every official CAP message fetched; per source
the messages of its last successful fetch are ``held`` (in fetch order), so that while the
source is down they stay in force until they expire.

``store.rain`` (:class:`RainTable`): the hourly rain of each run a cycle used, per zone of a
zone layer, for the reports' hyetographs and the rain a warning expects: the run and its zones once
(``rain_runs``), and per hour the zones' depths as two arrays (``rain_hours``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime

import numpy as np
from numpy.typing import ArrayLike
from sqlalchemy import Connection, Engine, and_, delete, exists, func, insert, select, update

from warn.store.records import HeldRun, OfficialMessage, ZoneRain
from warn.store.schema import forecast_runs, official_messages, rain_hours, rain_runs

#: ``status`` of the run a source's next fetch is conditional on, and of the messages in force.
HELD = "held"
#: ``status`` of a run held before the current one.
SUPERSEDED = "superseded"
#: ``status`` of a message the source's last fetch no longer published.
DROPPED = "dropped"
#: How a run hour's zone depths are stored: little-endian float64, NaN unknown.
_FLOAT = np.dtype("<f8")


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
        """Record the rain of a run over the zones of ``layer`` given as rows (replacing what it held of
        that run); a zone without a row in one of the rows' hours reads as unknown in that hour."""
        rows = list(rows)
        _aware([r.hour_end for r in rows])
        zones = sorted({r.zone_id for r in rows})
        ends = sorted({r.hour_end for r in rows})
        grid = np.full((2, len(ends), len(zones)), np.nan)
        hour, zone = {end: i for i, end in enumerate(ends)}, {z: i for i, z in enumerate(zones)}
        for r in rows:
            grid[:, hour[r.hour_end], zone[r.zone_id]] = (_known(r.mean_mm), _known(r.max_mm))
        self.record_hours(source, issued_at, layer, zones, ends, grid[0], grid[1])

    def record_hours(self, source: str, issued_at: datetime, layer: str, zone_ids: Sequence[str],
                     hour_ends: Sequence[datetime], mean_mm: ArrayLike, max_mm: ArrayLike) -> None:
        """Record the rain of a run over the zones of ``layer`` given as arrays (replacing what it held of
        that run), in one transaction: the run with its zones, then one row per hour.

        Parameters
        ----------
        zone_ids
            The zones, in the order of the arrays' second dimension.
        hour_ends
            The end of each hour (UTC-aware, distinct), in the order of the arrays' first dimension.
        mean_mm, max_mm
            Zone mean and wettest covered cell, mm, dimensions (hour, zone) (NaN: unknown).
        """
        _aware(hour_ends)
        means, maxima = (np.asarray(a, dtype=_FLOAT) for a in (mean_mm, max_mm))
        shape = (len(hour_ends), len(zone_ids))
        if means.shape != shape or maxima.shape != shape or len(set(hour_ends)) != len(hour_ends):
            raise ValueError(f"zone rain: means {means.shape} and maxima {maxima.shape} for {len(hour_ends)} hours "
                             f"and {len(zone_ids)} zones; expected {shape}, one row per distinct hour")
        r = rain_runs.c
        with self._write() as conn:
            held = conn.execute(select(r.run_id).where(r.source == source, r.issued_at == issued_at,
                                                        r.layer == layer)).scalar()
            if held is not None:
                for table in (rain_hours, rain_runs):
                    conn.execute(delete(table).where(table.c.run_id == held))
            run_id = conn.execute(insert(rain_runs).values(source=source, issued_at=issued_at, layer=layer,
                                                           zone_ids=json.dumps(list(zone_ids), ensure_ascii=False))
                                  .returning(r.run_id)).scalar_one()
            if hour_ends:
                conn.execute(insert(rain_hours), [{"run_id": run_id, "hour_end": end, "mean_mm": mean.tobytes(),
                                                   "max_mm": maximum.tobytes()}
                                                  for end, mean, maximum in zip(hour_ends, means, maxima)])

    def hourly(self, layer: str, since: datetime, until: datetime,
               zones: Collection[str] | None = None) -> list[ZoneRain]:
        """The rain per zone of ``layer`` (of ``zones`` only, when given) of each hour ending in (``since``,
        ``until``], each hour as the newest run issued before its end gave it; by hour, then zone."""
        wanted = None if zones is None else set(zones)
        zones_of, hours = self._newest(layer, since, until)
        order = {run_id: np.argsort(ids, kind="stable") for run_id, ids in zones_of.items()}  # by zone id
        kept = []
        for run_id, end, mean, maximum in hours:
            by_zone = order[run_id]
            kept += [ZoneRain(zone, end, m, x) for zone, m, x in zip(zones_of[run_id][by_zone].tolist(),
                                                                     _nullable(mean[by_zone]), _nullable(maximum[by_zone]))
                     if wanted is None or zone in wanted]
        return kept

    def totals(self, layer: str, since: datetime, until: datetime) -> dict[str, tuple[float, int]]:
        """Each zone of ``layer``'s rain over the hours ending in (``since``, ``until``], as :meth:`hourly`
        gives them: zone → (the sum of its known hourly means, mm; their number)."""
        sums: dict[str, float] = {}
        counts: dict[str, int] = {}
        zones_of, hours = self._newest(layer, since, until)
        for run_id, _, mean, _ in hours:
            known = ~np.isnan(mean)
            for zone, mm in zip(zones_of[run_id][known].tolist(), mean[known].tolist()):
                sums[zone] = sums.get(zone, 0.0) + mm
                counts[zone] = counts.get(zone, 0) + 1
        return {zone: (mm, counts[zone]) for zone, mm in sums.items()}

    def _newest(self, layer: str, since: datetime, until: datetime
                ) -> tuple[dict[int, np.ndarray], list[tuple[int, datetime, np.ndarray, np.ndarray]]]:
        """``layer``'s hours ending in (``since``, ``until``], each from the newest run issued before its
        end: the zone ids of each run among them (by run id), and by hour (run id, hour end, means,
        maxima; mm by the run's zones, NaN unknown)."""
        r, h = rain_runs.c, rain_hours.c
        newest = (select(h.hour_end, func.max(r.issued_at).label("issued_at"))
                  .join(rain_runs, r.run_id == h.run_id)
                  .where(r.layer == layer, h.hour_end > since, h.hour_end <= until, r.issued_at < h.hour_end)
                  .group_by(h.hour_end).subquery())
        query = (select(h.run_id, h.hour_end, h.mean_mm, h.max_mm).join(rain_runs, r.run_id == h.run_id)
                 .join(newest, and_(h.hour_end == newest.c.hour_end, r.issued_at == newest.c.issued_at))
                 .where(r.layer == layer).order_by(h.hour_end))
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
            runs = sorted({run_id for run_id, *_ in rows})
            texts = conn.execute(select(r.run_id, r.zone_ids).where(r.run_id.in_(runs))).all() if runs else []
        zones = {run_id: np.array(json.loads(text), dtype=object) for run_id, text in texts}
        return zones, [(run_id, end, np.frombuffer(mean, dtype=_FLOAT), np.frombuffer(maximum, dtype=_FLOAT))
                       for run_id, end, mean, maximum in rows]


def _aware(hour_ends: Iterable[datetime]) -> None:
    """Raise ``ValueError`` naming the naive hour ends among ``hour_ends``."""
    naive = sorted({str(end) for end in hour_ends if end.tzinfo is None})
    if naive:
        raise ValueError(f"zone rain: hour_end must be UTC-aware, got naive {', '.join(naive[:3])}")


def _known(mm: float | None) -> float:
    return np.nan if mm is None else mm


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
