"""Dangers reported from below the district (险情上报, ``store.dangers``).

One row per report — who, from which post, when, what and where in their words, the phone's location
and the photo's attachment, and the channel it came through — recorded with its timeline entry (kind
``danger``, naming the channel) in one transaction. The planner then plans the report (a :class:`warn.command.model.
DangerReport` event): the town duty officer is asked to verify it.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, insert, select

from warn.store.records import NewEntry
from warn.store.schema import danger_reports
from warn.store.timeline import Timeline


@dataclass(frozen=True)
class DangerRow:
    """One reported danger (the columns of ``danger_reports``); ``lon``/``lat`` WGS84 degrees."""

    report_id: str
    by: str
    role: str
    org_unit: str
    at: datetime
    what: str
    place: str
    lon: float | None
    lat: float | None
    photo: str | None
    via: str


class DangerTable:
    """Record and list reported dangers (use ``store.dangers``).

    Parameters
    ----------
    engine, write
        The store's engine and its write-transaction opener.
    timeline
        The store's timeline, on which each report is recorded.
    """

    def __init__(self, engine: Engine, write: Callable[[], AbstractContextManager[Connection]],
                 timeline: Timeline) -> None:
        self._engine = engine
        self._write = write
        self._timeline = timeline

    def record(self, report_id: str, by: str, role: str, org_unit: str, at: datetime, what: str, place: str,
               lon: float | None, lat: float | None, photo: str | None, via: str) -> bool:
        """Record a reported danger and its timeline entry; ``False`` when ``report_id`` was recorded already
        (nothing written)."""
        row = DangerRow(report_id, by, role, org_unit, at, what, place, lon, lat, photo, via)
        with self._write() as conn:
            if conn.execute(select(danger_reports.c.report_id)
                            .where(danger_reports.c.report_id == report_id)).first() is not None:
                return False
            conn.execute(insert(danger_reports).values(**vars(row)))
            where = f"（{place}）" if place else ""
            self._timeline.append_on(conn, [NewEntry(
                occurred_at=at, actor=by, role=role, kind="danger", org_unit=org_unit, key=f"danger/{report_id}",
                summary=f"收到险情上报 {report_id}（经 {via}）：{what}{where} / danger report {report_id} received via {via}",
                details={"report": report_id, "what": what, "place": place, "lon": lon, "lat": lat,
                         "photo": photo, "via": via})])
        return True

    def list(self) -> list[DangerRow]:
        """Every reported danger, oldest first."""
        columns = [danger_reports.c[name] for name in DangerRow.__dataclass_fields__]
        with self._engine.connect() as conn:
            return [DangerRow(*row) for row in conn.execute(select(*columns).order_by(danger_reports.c.at,
                                                                                      danger_reports.c.report_id))]
