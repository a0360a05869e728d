"""The store: the one API through which the project keeps sensors, readings, heartbeats and the timeline.

:class:`Store` wraps an engine (:mod:`warn.store.engine`) and the tables of
:mod:`warn.store.schema`. Every method is one transaction; every time goes in and
comes out timezone-aware UTC.

Readings are keyed by (sensor, phenomenon time) and nothing recorded is lost:
:meth:`Store.write_readings` inserts a new key, ignores an exact repeat, and turns a
changed value, flag or rule into a *revision* (the row takes the new version; a
``reading_revisions`` row keeps old and new). A missing value never replaces a
recorded one. The batch is written with a handful of bulk statements whatever its
size — one look-up of the catalogue, one of the existing keys, then executemany
inserts and updates — so ingest stays far above the project's 20,000 readings/s.

The timeline is reached as ``store.timeline`` (:class:`warn.store.timeline.Timeline`):
append, read, verify and correct; it has no way to update or delete an entry. The
outbox of messages to send is ``store.outbox`` (:class:`warn.store.outbox.OutboxTable`); the
deliveries to persons are ``store.deliveries`` (:class:`warn.store.deliveries.DeliveryTable`).
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from itertools import repeat
from pathlib import Path
from typing import TypeVar

import numpy as np
from sqlalchemy import (
    Connection,
    Engine,
    Executable,
    Row,
    Table,
    func,
    literal,
    select,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError, OperationalError

from warn.command.model import Action
from warn.errors import Problem, StoreError
from warn.sources.readings import UNITS, FlaggedReading, Reading, Sensor
from warn.store import migrate
from warn.store.accounts import AccountTable, AttemptTable, SessionTable
from warn.store.attachments import AttachmentTable
from warn.store.bulk import Bulk, bulk_for, upsert_rows
from warn.store.command import (
    ExecutionReport,
    acknowledge_task,
    assign_task,
    execute_actions,
    finish_task,
)
from warn.store.cycles import CycleTable, InboxTable, quarantine
from warn.store.dangers import DangerTable
from warn.store.deliveries import DeliveryTable
from warn.store.engine import WRITE_OPTION, make_engine, redact
from warn.store.hourly import HourlyRainTable
from warn.store.incidents import CommandRecords, WarningTable
from warn.store.inputs import OfficialTable, RainTable, RunTable
from warn.store.levels import LevelTable, NoticeTable
from warn.store.leases import LeaseTable
from warn.store.links import LinkTable
from warn.store.outbox import OutboxTable
from warn.store.partitions import Period, ensure
from warn.store.planner import PlannerTable
from warn.store.records import Beat, Heartbeat, LevelColumns, ModelState, NewEntry, Revision, WriteResult
from warn.store.rejected import RejectedTable
from warn.store.retention import ArchivedWeek, archive_readings
from warn.store.schema import (
    UTCDateTime,
    ack_requests,
    decode_time,
    heartbeats,
    level_memory,
    model_states,
    outbox,
    reading_revisions,
    readings,
    sensors,
    tasks,
    timeline,
    warning_messages,
)
from warn.store.timeline import Timeline
from warn.store.times import encode_time
from warn.store.tokens import TokenTable
from warn.vocab import QCFlag, SensorKind

#: Keys (or ids) per statement in bulk look-ups: well under SQLite's 32,766 and
#: PostgreSQL's 65,535 bound parameters.
CHUNK = 5000
#: Attempts of a batch that lost a race with a concurrent writer of the same keys.
WRITE_ATTEMPTS = 3
_EARLIEST = datetime(1, 1, 1, tzinfo=timezone.utc)
#: The ``sender`` of a stored CAP message (the store reads no XML beyond it).
_SENDER = re.compile(r"<(?:\w+:)?sender>([^<]*)</(?:\w+:)?sender>")
T = TypeVar("T")
_FLAGS = {flag.value: flag for flag in QCFlag}
_FLAG_VALUES: dict[object, str] = {flag: flag.value for flag in QCFlag}
#: The unit of each kind of sensor, by the kind's value (as the catalogue stores it).
_UNIT_OF_KIND = {kind.value: UNITS[kind] for kind in SensorKind}
#: The columns a FlaggedReading is made of, in the order :func:`_flagged` reads them.
_READING_COLUMNS = (readings.c.sensor_id, readings.c.phenomenon_time, readings.c.arrival_time, readings.c.value,
                    readings.c.unit, readings.c.qc_flag, readings.c.qc_rule)
#: The columns of ``level_memory`` and their PostgreSQL types, for :func:`~warn.store.bulk.upsert_rows`.
_MEMORY_COLUMNS = (("hazard", "text"), ("item_id", "text"), ("level", "int2"), ("below_since", "timestamptz"),
                   ("evidence_at", "timestamptz"), ("updated_at", "timestamptz"))


def utc_now() -> datetime:
    """The wall clock, timezone-aware UTC (the default clock of a :class:`Store`)."""
    return datetime.now(timezone.utc)


@dataclass(slots=True)
class _Version:
    """One version of a reading while a batch is classified.

    A held version's ``arrival`` is as the driver returned it (text on SQLite), decoded only for
    a revision row; its ``unit`` is not read (the batch's units are checked against the catalogue).
    """

    value: float | None
    flag: str
    rule: str
    arrival: datetime | str
    unit: str = ""


class Store:
    """Sensors, readings, their revisions and heartbeats in SQLite or PostgreSQL.

    Use :meth:`connect`, not the constructor; call :meth:`upgrade` once before use.

    Parameters
    ----------
    engine
        An engine from :func:`warn.store.engine.make_engine`.
    now
        The clock that stamps ``updated_at``, ``revised_at`` and the timeline's
        ``recorded_at`` (the simulated clock in a replay or drill).
    bulk
        The bulk statements readings are written with (default: :func:`warn.store.bulk.bulk_for` the
        engine's dialect).

    Attributes
    ----------
    timeline
        The append-only, hash-chained timeline (:class:`warn.store.timeline.Timeline`).
    outbox
        Messages waiting for, or done with, delivery (:class:`warn.store.outbox.OutboxTable`).
    cycles, inbox
        The record of warning cycles and the events people sent the planner
        (:mod:`warn.store.cycles`).
    levels, notices
        The item levels each cycle produced with what they were scored from, and the data
        notices in force (:mod:`warn.store.levels`).
    runs, official, rain
        The forecast runs fetched, the official messages held and the hourly rain per zone
        of the runs the cycles used (:mod:`warn.store.inputs`).
    hourly_rain
        The hourly rain models keep as their history, one row per hour (:mod:`warn.store.hourly`).
    warnings, command
        Warning threads and their CAP messages; incidents, tasks, acknowledgement requests
        and mode changes as recorded (:mod:`warn.store.incidents`).
    planner
        The command planner's state as records (:mod:`warn.store.planner`).
    tokens
        The personal tokens issued, by digest (:mod:`warn.store.tokens`).
    accounts, sessions, login_attempts
        Passwords, logins in the browser and login attempts for the centre's pages (:mod:`warn.store.accounts`).
    rejected
        What feeds sent that was refused (:mod:`warn.store.rejected`).
    leases
        Which process leads the deployment (:mod:`warn.store.leases`).
    links, attachments, dangers
        The one-tap links sent to persons, the photos they sent and the dangers they reported
        (:mod:`warn.store.links`, :mod:`warn.store.attachments`, :mod:`warn.store.dangers`).
    """

    def __init__(self, engine: Engine, *, now: Callable[[], datetime] = utc_now, bulk: Bulk | None = None) -> None:
        self.engine = engine
        self._now = now
        self._bulk = bulk or bulk_for(engine.dialect.name)
        self.timeline = Timeline(engine, self._write, now)
        self.outbox = OutboxTable(engine, self._write, now)
        self.cycles = CycleTable(engine, self._write, now)
        self.inbox = InboxTable(engine, self._write, now)
        self.levels = LevelTable(engine, self._write)
        self.notices = NoticeTable(engine, self._write)
        self.runs = RunTable(engine, self._write)
        self.official = OfficialTable(engine, self._write)
        self.rain = RainTable(engine, self._write)
        self.hourly_rain = HourlyRainTable(engine, self._write, now)
        self.warnings = WarningTable(engine, self._write, self.timeline.append_on)
        self.command = CommandRecords(engine, self._write)
        self.planner = PlannerTable(engine, self._write)
        self.tokens = TokenTable(engine, self._write, self.timeline)
        self.accounts = AccountTable(engine, self._write, self.timeline)
        self.sessions = SessionTable(engine, self._write, self.timeline)
        self.login_attempts = AttemptTable(engine, self._write)
        self.rejected = RejectedTable(engine, self._write)
        self.links = LinkTable(engine, self._write)
        self.attachments = AttachmentTable(engine, self._write)
        self.dangers = DangerTable(engine, self._write, self.timeline)
        self.deliveries = DeliveryTable(engine, self._write)
        self.leases = LeaseTable(engine, self._write)

    @classmethod
    def connect(cls, url: str, *, now: Callable[[], datetime] = utc_now) -> Store:
        """Open the store at ``url`` (``sqlite:///…`` or ``postgresql+psycopg://…``).

        Raises
        ------
        StoreError
            The URL is not supported or the database is unreachable (named without password).
        """
        return cls(make_engine(url), now=now)

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- schema -----------------------------------------------------------------

    def upgrade(self, revision: str = "head") -> None:
        """Migrate the schema to ``revision`` (default the newest); a no-op when it is there.

        Raises
        ------
        StoreError
            A revision written by a newer warn, or a store that cannot be written.
        """
        migrate.upgrade(self.engine, revision)

    def require_head(self) -> None:
        """Check, without writing, that this is a store at the newest revision (for reading commands).

        Raises
        ------
        StoreError
            Not a warn store, or at another revision (see :func:`warn.store.migrate.require_head`).
        """
        migrate.require_head(self.engine)

    def revision(self) -> str | None:
        """The schema revision of the database (``None``: never migrated)."""
        return migrate.current(self.engine)

    # -- sensors ----------------------------------------------------------------

    def upsert_sensors(self, catalogue: Iterable[Sensor]) -> None:
        """Add sensors to the catalogue, or update those already in it (by ``sensor_id``)."""
        now = self._now()
        rows = {s.sensor_id: {"sensor_id": s.sensor_id, "kind": s.kind.value, "name": s.name, "lon": s.lon,
                              "lat": s.lat, "interval_s": s.interval.total_seconds(), "point_id": s.point_id,
                              "updated_at": now} for s in catalogue}
        if not rows:
            return
        stmt = self._upsert(sensors, "sensor_id",
                            ("kind", "name", "lon", "lat", "interval_s", "point_id", "updated_at"))
        with self._write() as conn:
            conn.execute(stmt, list(rows.values()))

    def sensors(self) -> list[Sensor]:
        """The whole catalogue, by ``sensor_id``."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(sensors).order_by(sensors.c.sensor_id)).all()
        return [Sensor(sensor_id=r.sensor_id, kind=SensorKind(r.kind), name=r.name, lon=r.lon, lat=r.lat,
                       interval=timedelta(seconds=r.interval_s), point_id=r.point_id) for r in rows]

    # -- readings: write --------------------------------------------------------

    def write_readings(self, flagged: Sequence[FlaggedReading]) -> WriteResult:
        """Write a batch of QC'd readings in one transaction: insert, skip repeats, record revisions.

        For each reading, in batch order (so repeats inside the batch count too):
        a (sensor, phenomenon time) the store does not hold is *inserted*; the same
        value, flag and rule as held is a *duplicate* and changes nothing (the first
        arrival time stays); a different value (``None`` → a number included), flag or
        rule is a *revision*: the row takes the new value, flag, rule and arrival time
        and a ``reading_revisions`` row keeps old and new. A missing value (``None``;
        NaN is taken as missing) for a time that has a value is a duplicate: it never
        erases what was recorded.

        Parameters
        ----------
        flagged
            Readings with their QC flags, any sensors, any order.

        Returns
        -------
        WriteResult
            Counts of inserted, revised and duplicate readings.

        Raises
        ------
        StoreError
            A sensor is not in the catalogue, or a unit is not its kind's unit; the
            message names them, and nothing of the batch is written.
        ValueError
            A time is naive (without a time zone).
        """
        if not flagged:
            return WriteResult()
        batch = [_version_of(f) for f in flagged]
        attempt = 1
        while True:
            try:
                with self._write() as conn:
                    return self._write_batch(conn, batch)
            except IntegrityError as err:  # a concurrent writer inserted one of these keys first: redo the batch
                if attempt == WRITE_ATTEMPTS:
                    raise StoreError(Problem(redact(self.engine.url), "readings",
                                             "a batch whose keys no concurrent writer is inserting",
                                             str(err.orig).strip().splitlines()[0],
                                             f"写入 {WRITE_ATTEMPTS} 次均冲突，本批未写入 / conflicted "
                                             f"{WRITE_ATTEMPTS} times; nothing of the batch was written")) from None
                attempt += 1

    def _write_batch(self, conn: Connection, batch: list[tuple[str, datetime, _Version]]) -> WriteResult:
        self._check_catalogue(conn, batch)
        held = self._held(conn, list({(sid, t): None for sid, t, _ in batch}))
        now = self._now()
        new: dict[tuple[str, datetime], _Version] = {}
        changed: dict[tuple[str, datetime], _Version] = {}
        revision_counts: dict[tuple[str, datetime], int] = {}
        revision_rows: list[tuple] = []
        duplicates = 0
        for sid, t, version in batch:
            key = (sid, t)
            old = held.get(key)
            if old is None:
                held[key] = new[key] = version
                continue
            if (version.value is None and old.value is not None) or (
                    version.value == old.value and version.flag == old.flag and version.rule == old.rule):
                duplicates += 1
                continue
            revision_rows.append((sid, t, old.value, version.value, old.flag, version.flag, old.rule, version.rule,
                                  decode_time(old.arrival), version.arrival, now))
            revision_counts[key] = revision_counts.get(key, 0) + 1
            held[key] = version
            (new if key in new else changed)[key] = version
        for part in _chunks(list(new.items())):
            self._bulk.insert(conn, [(sid, t, v.arrival, v.value, v.unit, v.flag, v.rule,
                                      revision_counts.get((sid, t), 0)) for (sid, t), v in part])
        for part in _chunks(list(changed.items())):
            self._bulk.update(conn, [(sid, t, v.arrival, v.value, v.flag, v.rule, revision_counts[(sid, t)])
                                     for (sid, t), v in part])
        for rows in _chunks(revision_rows):
            self._bulk.revisions(conn, rows)
        return WriteResult(inserted=len(new), revised=len(revision_rows), duplicates=duplicates)

    def _check_catalogue(self, conn: Connection, batch: list[tuple[str, datetime, _Version]]) -> None:
        units_of_batch: dict[str, set[str]] = {}
        for sid, _, version in batch:
            units_of_batch.setdefault(sid, set()).add(version.unit)
        kinds: dict[str, str] = {}
        for ids in _chunks(list(units_of_batch)):
            kinds.update(self._bulk.kinds(conn, ids))
        where = redact(self.engine.url)
        unknown = sorted(set(units_of_batch) - set(kinds))
        if unknown:
            shown = ", ".join(unknown[:20]) + (f" … ({len(unknown)} in all)" if len(unknown) > 20 else "")
            raise StoreError(Problem(where, "readings.sensor_id", "sensors in the catalogue", shown,
                                     "先登记传感器（upsert_sensors）；本批未写入 / register them first "
                                     "(upsert_sensors); nothing of the batch was written"))
        wrong = [Problem(where, f"readings[{sid}].unit", f"{_UNIT_OF_KIND[kinds[sid]]!r} "
                         f"(unit of a {kinds[sid]} sensor)", ", ".join(sorted(map(repr, units))),
                         "读数应先换算为该类传感器的单位；本批未写入 / convert readings to the kind's unit "
                         "before writing; nothing of the batch was written")
                 for sid, units in units_of_batch.items() if len(units) != 1 or _UNIT_OF_KIND[kinds[sid]] not in units]
        if wrong:
            raise StoreError(*wrong)

    def _held(self, conn: Connection, keys: list[tuple[str, datetime]]) -> dict[tuple[str, datetime], _Version]:
        held: dict[tuple[str, datetime], _Version] = {}
        for part in _chunks(keys):
            for i, value, flag, rule, arrival in self._bulk.held(conn, part):
                held[part[i]] = _Version(value, flag, rule, arrival)
        return held

    # -- readings: read ---------------------------------------------------------

    def last_readings(self, sensor_ids: Iterable[str], *, n: int,
                      flags: Collection[QCFlag] = (QCFlag.GOOD,),
                      before: datetime | None = None) -> dict[str, list[FlaggedReading]]:
        """The last ``n`` readings of each sensor that carry one of ``flags``, oldest first.

        One query for all the sensors: a correlated look-up per sensor finds the
        phenomenon time of its ``n``-th latest matching reading through the primary
        key index, then one range scan per sensor returns the rows from there. Cost
        grows with ``n`` × sensors, not with how much history is stored.

        Parameters
        ----------
        sensor_ids
            Sensors to look up; each is a key of the result (an empty list when it has
            no matching reading or is not in the catalogue).
        n
            How many readings per sensor, ≥ 1.
        flags
            QC flags a reading must carry (default: good only).
        before
            Only readings with phenomenon time strictly before this (UTC-aware).

        Returns
        -------
        dict
            ``sensor_id`` → up to ``n`` readings, ascending phenomenon time.
        """
        if n < 1:
            raise ValueError(f"expected n ≥ 1, got {n}")
        ids = list(dict.fromkeys(sensor_ids))
        result: dict[str, list[FlaggedReading]] = {sid: [] for sid in ids}
        if not ids or not flags:
            return result
        flag_values = [QCFlag(f).value for f in flags]
        nth = readings.alias("nth")
        cutoff = (select(nth.c.phenomenon_time)
                  .where(nth.c.sensor_id == sensors.c.sensor_id, nth.c.qc_flag.in_(flag_values))
                  .order_by(nth.c.phenomenon_time.desc()).limit(1).offset(n - 1))
        if before is not None:
            cutoff = cutoff.where(nth.c.phenomenon_time < before)
        with self.engine.connect() as conn:
            for part in _chunks(ids):
                cut = (select(sensors.c.sensor_id, cutoff.scalar_subquery().label("since"))
                       .where(sensors.c.sensor_id.in_(part)).cte("cut").prefix_with("MATERIALIZED"))
                # the earliest cut again as a constant: PostgreSQL then reads only the weeks' partitions from it on
                earliest = conn.execute(select(func.min(func.coalesce(cut.c.since, literal(_EARLIEST, UTCDateTime)))
                                               .label("t"))).scalar()
                if earliest is None:
                    continue
                query = (select(*_READING_COLUMNS)
                         .join(cut, readings.c.sensor_id == cut.c.sensor_id)
                         .where(readings.c.qc_flag.in_(flag_values),
                                readings.c.phenomenon_time >= func.coalesce(cut.c.since,
                                                                            literal(_EARLIEST, UTCDateTime)),
                                readings.c.phenomenon_time >= literal(earliest, UTCDateTime))
                         .order_by(readings.c.sensor_id, readings.c.phenomenon_time))
                if before is not None:
                    query = query.where(readings.c.phenomenon_time < before)
                for row in conn.execute(query):
                    result[row.sensor_id].append(_flagged(row))
        return result

    def readings(self, sensor_id: str, *, since: datetime | None = None,
                 until: datetime | None = None) -> list[FlaggedReading]:
        """One sensor's readings with ``since`` ≤ phenomenon time < ``until`` (either open), oldest first."""
        query = select(*_READING_COLUMNS).where(readings.c.sensor_id == sensor_id).order_by(readings.c.phenomenon_time)
        if since is not None:
            query = query.where(readings.c.phenomenon_time >= since)
        if until is not None:
            query = query.where(readings.c.phenomenon_time < until)
        with self.engine.connect() as conn:
            return [_flagged(row) for row in conn.execute(query)]

    def readings_of(self, sensor_ids: Iterable[str], *, since: datetime,
                    until: datetime) -> dict[str, list[FlaggedReading]]:
        """The readings of many sensors with ``since`` ≤ phenomenon time < ``until``, oldest first, in one
        query per :data:`CHUNK` sensors (as :meth:`readings` gives them for one); every sensor asked is a key."""
        ids = list(dict.fromkeys(sensor_ids))
        result: dict[str, list[FlaggedReading]] = {sid: [] for sid in ids}
        with self.engine.connect() as conn:
            for part in _chunks(ids):
                query = (select(*_READING_COLUMNS)
                         .where(readings.c.sensor_id.in_(part), readings.c.phenomenon_time >= since,
                                readings.c.phenomenon_time < until)
                         .order_by(readings.c.sensor_id, readings.c.phenomenon_time))
                for row in conn.execute(query):
                    result[row.sensor_id].append(_flagged(row))
        return result

    def latest_phenomenon_time(self, sensor_ids: Iterable[str] | None = None) -> datetime | None:
        """The latest phenomenon time held for these sensors (all when ``None``): where a feed resumes.

        ``None`` when none of them has a reading.
        """
        latest = (select(readings.c.phenomenon_time).where(readings.c.sensor_id == sensors.c.sensor_id)
                  .order_by(readings.c.phenomenon_time.desc()).limit(1).scalar_subquery())
        per_sensor = select(latest.label("t"))
        if sensor_ids is None:
            parts: list[list[str]] = [[]]
        else:
            parts = _chunks(list(dict.fromkeys(sensor_ids)))
            if not parts:
                return None
        found: list[datetime] = []
        with self.engine.connect() as conn:
            for part in parts:
                query = per_sensor if sensor_ids is None else per_sensor.where(sensors.c.sensor_id.in_(part))
                sub = query.subquery()
                value = conn.execute(select(func.max(sub.c.t).label("t"))).scalar_one()
                if value is not None:
                    found.append(value)
        return max(found, default=None)

    def last_seen(self) -> dict[str, datetime]:
        """For each sensor with readings, how current the newest one is: its phenomenon time,
        or its arrival time if that is earlier (a device clock running ahead).

        This is what staleness is judged on: a sensor is alive when warn holds a *current*
        value of it. A backlog delivered after an outage does not make a sensor current
        (its newest value describes the past); a late back-fill of old readings changes
        nothing. Readings reported as missing count: the device spoke; QC judges the value.
        """
        def newest(column):
            return (select(column).where(readings.c.sensor_id == sensors.c.sensor_id)
                    .order_by(readings.c.phenomenon_time.desc()).limit(1).scalar_subquery())

        sub = select(sensors.c.sensor_id, newest(readings.c.phenomenon_time).label("phenomenon"),
                     newest(readings.c.arrival_time).label("arrival")).subquery()
        with self.engine.connect() as conn:
            rows = conn.execute(select(sub).where(sub.c.phenomenon.is_not(None))).all()
        return {sid: min(phenomenon, arrival) for sid, phenomenon, arrival in rows}

    def revisions(self, sensor_id: str | None = None) -> list[Revision]:
        """Recorded revisions, of one sensor or all, in the order they were written."""
        query = select(reading_revisions).order_by(reading_revisions.c.id)
        if sensor_id is not None:
            query = query.where(reading_revisions.c.sensor_id == sensor_id)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [Revision(id=r.id, sensor_id=r.sensor_id, phenomenon_time=r.phenomenon_time, old_value=r.old_value,
                         new_value=r.new_value, old_flag=QCFlag(r.old_flag), new_flag=QCFlag(r.new_flag),
                         old_rule=r.old_rule, new_rule=r.new_rule, old_arrival_time=r.old_arrival_time,
                         new_arrival_time=r.new_arrival_time, revised_at=r.revised_at) for r in rows]

    # -- readings: partitions and retention ----------------------------------------

    def prepare_partitions(self, now: datetime | None = None) -> list[Period]:
        """Make the weekly readings partitions of ``now``'s week (default: the store's clock) and of the weeks
        ahead that are missing (PostgreSQL, :func:`warn.store.partitions.ensure`); nothing on SQLite.

        Returns
        -------
        list of Period
            The weeks whose partitions were made.
        """
        if self.engine.dialect.name != "postgresql":
            return []
        with self._write() as conn:
            return ensure(conn, now or self._now())

    def archive_readings(self, *, keep: timedelta, folder: Path) -> list[ArchivedWeek]:
        """Archive to ``folder`` and then remove the readings (with their revisions) of the weeks that ended
        ``keep`` or more before the store's clock (:func:`warn.store.retention.archive_readings`).

        Raises
        ------
        StoreError
            A week's archive could not be written or verified: its rows stay in the store.
        """
        return archive_readings(self.engine, self._write, keep=keep, folder=folder, now=self._now(),
                                where=redact(self.engine.url))

    def count_readings(self) -> int:
        """How many (sensor, phenomenon time) readings are held."""
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(readings)).scalar_one()

    # -- heartbeats -------------------------------------------------------------

    def beat(self, source: str, *, last_seen: datetime | None, expected: timedelta, stale: bool,
             detail: str = "") -> None:
        """Record the latest word from ``source``, replacing its previous beat."""
        self.beat_all([Beat(source, last_seen, expected, stale, detail)])

    def beat_all(self, beats: Sequence[Beat]) -> None:
        """Record the latest word from each source of ``beats``, replacing their previous beats, in one
        transaction."""
        if not beats:
            return
        now = self._now()
        rows = [{"source": b.source, "last_seen": b.last_seen, "expected_interval_s": b.expected.total_seconds(),
                 "stale": b.stale, "detail": b.detail, "updated_at": now} for b in beats]
        stmt = self._upsert(heartbeats, "source", ("last_seen", "expected_interval_s", "stale", "detail", "updated_at"))
        with self._write() as conn:
            conn.execute(stmt, rows)

    def heartbeats(self) -> list[Heartbeat]:
        """Every source's latest beat, by source."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(heartbeats).order_by(heartbeats.c.source)).all()
        return [Heartbeat(source=r.source, last_seen=r.last_seen, expected=timedelta(seconds=r.expected_interval_s),
                          stale=bool(r.stale), detail=r.detail, updated_at=r.updated_at) for r in rows]

    # -- helpers ----------------------------------------------------------------

    def save_state(self, model: str, key: str, *, valid_at: datetime, arrays: Mapping[str, np.ndarray],
                   detail: str = "", compress: bool = True) -> None:
        """Keep the state ``model`` carries to its next cycle (replacing the previous one).

        Parameters
        ----------
        model, key
            Who the state belongs to (``"swi"``, the grid signature).
        valid_at
            The time the state holds for (the end of the last step it has seen).
        arrays
            Named arrays (e.g. the three tank storages per cell), stored exactly.
        detail
            A note kept beside it (what it was spun up from).
        compress
            zlib-compress the arrays, at zlib's fastest level (``False`` for arrays that hardly
            compress, e.g. the mantissas of grid storages: it saves the time).
        """
        row = {"model": model, "key": key, "valid_at": valid_at, "arrays": _npz(arrays, compress=compress),
               "detail": detail, "updated_at": self._now()}
        with self._write() as conn:
            conn.execute(self._upsert(model_states, ("model", "key"), ("valid_at", "arrays", "detail", "updated_at")),
                         row)

    def load_state(self, model: str, key: str) -> ModelState | None:
        """The state saved by :meth:`save_state`, or ``None`` when there is none."""
        query = select(model_states).where(model_states.c.model == model, model_states.c.key == key)
        with self.engine.connect() as conn:
            row = conn.execute(query).one_or_none()
        if row is None:
            return None
        with np.load(io.BytesIO(row.arrays), allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
        return ModelState(row.model, row.key, row.valid_at, arrays, row.detail)

    def save_levels(self, hazard: str, memory: LevelColumns) -> None:
        """Keep the remembered level of every item of ``hazard`` (replacing the previous ones), in one bulk
        statement (a city's 14k items every cycle); the times to the microsecond.

        Raises
        ------
        ValueError
            A column is not one value per item, or a time column is not ``datetime64`` (UTC by contract:
            Python datetimes, naive or aware, are not taken); nothing is written then.
        """
        for name, column in zip(LevelColumns._fields[1:], memory[1:], strict=True):
            if len(column) != len(memory.item_ids) or (name != "level" and np.asarray(column).dtype.kind != "M"):
                raise ValueError(f"level memory of {hazard}: {name} must hold one "
                                 f"{'level' if name == 'level' else 'UTC datetime64 time'} per item "
                                 f"({len(memory.item_ids)}), got {len(column)} of {np.asarray(column).dtype}")
        encode = encode_time(self.engine.dialect.name)
        rows = list(zip(repeat(hazard), memory.item_ids, np.asarray(memory.level).tolist(),
                        _stored_times(memory.below_since, encode), _stored_times(memory.evidence_at, encode),
                        repeat(encode(self._now()))))
        if not rows:
            return
        with self._write() as conn:
            upsert_rows(conn, "level_memory", _MEMORY_COLUMNS, ("hazard", "item_id"), rows)

    def load_levels(self, hazard: str) -> LevelColumns:
        """The remembered levels of ``hazard``'s items, by item id (the times ``datetime64[us]``)."""
        m = level_memory.c
        query = select(m.item_id, m.level, m.below_since, m.evidence_at).where(m.hazard == hazard).order_by(m.item_id)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        ids, levels, below, evidence = zip(*rows) if rows else ((), (), (), ())
        return LevelColumns(list(ids), np.array(levels, dtype=np.int8), _times64(below), _times64(evidence))

    # -- command ------------------------------------------------------------------

    def execute_actions(self, actions: Sequence[Action]) -> ExecutionReport:
        """Apply the command planner's actions in one transaction, each at most once (:mod:`warn.store.command`).

        Incidents, tasks, acknowledgement requests and their escalations, mode proposals
        and changes, warning threads and timeline entries; an action whose key (or
        escalation step) is already recorded writes nothing.

        Returns
        -------
        ExecutionReport
            Actions applied and repeated, timeline entries appended.
        """
        if not actions:
            return ExecutionReport()
        with self._write() as conn:
            return execute_actions(conn, actions, self.timeline.append_on)

    def try_actions(self, actions: Sequence[Action]) -> None:
        """Apply ``actions`` as :meth:`execute_actions` does, then roll everything back: whether they can be.

        Raises
        ------
        Exception
            Whatever executing them raises; nothing is written either way.
        """
        if not actions:
            return
        with self._write() as conn:
            transaction = conn.get_transaction()
            execute_actions(conn, actions, self.timeline.append_on)
            if transaction is not None:
                transaction.rollback()

    def quarantine_event(self, event_id: int, *, at: datetime, error: str, entry: NewEntry) -> bool:
        """Set inbox event ``event_id`` aside with ``error`` and record ``entry`` on the timeline, in one
        transaction (:func:`warn.store.cycles.quarantine`).

        Returns
        -------
        bool
            ``False`` when it was consumed or quarantined already (nothing written).
        """
        with self._write() as conn:
            if not quarantine(conn, event_id, at, error):
                return False
            self.timeline.append_on(conn, [entry])
            return True

    def finish_task(self, task_id: str, *, by: str, role: str, at: datetime, note: str,
                    evidence: str = "", via: str = "cli") -> bool:
        """Mark a task done with its note and evidence and record it on the timeline, in one transaction;
        ``via`` is the channel the person finished it through (``cli``, ``link``), named on the timeline.

        Returns
        -------
        bool
            ``False`` when it was already done or cancelled (nothing written).

        Raises
        ------
        KeyError
            No task ``task_id``.
        """
        with self._write() as conn:
            return finish_task(conn, task_id, by=by, role=role, at=at, note=note, evidence=evidence, via=via,
                               append=self.timeline.append_on)

    def acknowledge_task(self, task_id: str, *, by: str, role: str, org_unit: str, at: datetime,
                         via: str = "cli") -> bool:
        """Mark an open task acknowledged and record it on the timeline with the channel (``via``), in one
        transaction.

        Returns ``False`` when it was not open (nothing written); raises ``KeyError`` for no such task.
        """
        with self._write() as conn:
            return acknowledge_task(conn, task_id, by=by, role=role, org_unit=org_unit, at=at,
                                    append=self.timeline.append_on, via=via)

    def assign_task(self, task_id: str, *, to_role: str, to_org_unit: str, person: str | None, by: str, role: str,
                    org_unit: str, at: datetime, reason: str = "", via: str = "cli") -> bool:
        """Hand a task over to another post and record who did it, why and through which channel (``via``), in
        one transaction.

        Returns ``False`` when it is closed or already owned there (nothing written); raises
        ``KeyError`` for no such task.
        """
        with self._write() as conn:
            return assign_task(conn, task_id, to_role=to_role, to_org_unit=to_org_unit, person=person, by=by,
                               role=role, org_unit=org_unit, at=at, reason=reason, append=self.timeline.append_on,
                               via=via)

    def task(self, task_id: str) -> Row | None:
        """The ``tasks`` row of ``task_id`` (``None``: no such task)."""
        with self.engine.connect() as conn:
            return conn.execute(select(tasks).where(tasks.c.task_id == task_id)).first()

    def ack_request(self, request_id: str) -> Row | None:
        """The ``ack_requests`` row of ``request_id`` (``None``: no such request)."""
        with self.engine.connect() as conn:
            return conn.execute(select(ack_requests).where(ack_requests.c.request_id == request_id)).first()

    def cap_identity(self) -> tuple[str, str] | None:
        """CAP status and sender of the last warning message recorded (``None``: none yet), so that
        commands publishing into a store keep its drill status and its threads' sender."""
        with self.engine.connect() as conn:
            row = conn.execute(select(warning_messages.c.body, outbox.c.cap_status)
                               .join(outbox, outbox.c.idempotency_key.startswith(warning_messages.c.identifier))
                               .order_by(warning_messages.c.id.desc()).limit(1)).first()
        if row is None:
            return None
        sender = _SENDER.search(row.body)
        return row.cap_status, sender.group(1).strip() if sender else ""

    def cap_statuses(self) -> set[str]:
        """The CAP statuses of every message ever queued for delivery (empty: the store never published)."""
        with self.engine.connect() as conn:
            return set(conn.execute(select(outbox.c.cap_status).distinct()).scalars())

    def raised_by(self, key: str) -> str | None:
        """The actor of the timeline entry recorded under idempotency ``key`` (``None``: no such entry)."""
        with self.engine.connect() as conn:
            return conn.execute(select(timeline.c.actor).where(timeline.c.idempotency_key == key)).scalar()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A connection in a write transaction (``BEGIN IMMEDIATE`` on SQLite), committed on success.

        Raises
        ------
        StoreError
            The store is read-only (file, folder or database permissions).
        """
        try:
            with self.engine.connect() as conn:
                conn.execution_options(**{WRITE_OPTION: True})
                with conn.begin():
                    yield conn
        except OperationalError as err:
            reason = migrate.first_line(err)
            if "readonly" not in reason and "read-only" not in reason:
                raise
            raise StoreError(Problem(redact(self.engine.url), "", "a store that can be written", reason,
                                     migrate.READ_ONLY_HINT)) from None

    def _upsert(self, table: Table, key: str | tuple[str, ...], columns: Sequence[str]) -> Executable:
        """``INSERT … ON CONFLICT (key) DO UPDATE SET columns`` in this engine's dialect."""
        stmt = (pg_insert if self.engine.dialect.name == "postgresql" else sqlite_insert)(table)
        keys = (key,) if isinstance(key, str) else key
        return stmt.on_conflict_do_update(index_elements=[table.c[k] for k in keys],
                                          set_={c: stmt.excluded[c] for c in columns})


def _npz(arrays: Mapping[str, np.ndarray], *, compress: bool) -> bytes:
    """``arrays`` as one ``.npz`` archive, as :func:`numpy.savez` writes it (``numpy.load`` reads it back
    exactly), its members deflated at zlib's fastest level when ``compress``: a city grid's rain in
    about 0.4 of the time of :func:`numpy.savez_compressed`'s default level, 10 % larger."""
    buffer = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(buffer, "w", method, compresslevel=1 if compress else None) as archive:
        for name, array in arrays.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)
    return buffer.getvalue()


def _stored_times(times: np.ndarray, encode: Callable[[datetime], datetime | str]) -> list[datetime | str | None]:
    """UTC ``datetime64`` times (item,) as the driver takes them, ``None`` for NaT; each distinct time encoded
    once (a hazard's items share a few cycle times)."""
    distinct, inverse = np.unique(np.asarray(times, dtype="datetime64[us]"), return_inverse=True)
    encoded = [None if np.isnat(t) else encode(t.astype(datetime).replace(tzinfo=timezone.utc)) for t in distinct]
    return [encoded[i] for i in inverse.ravel().tolist()]


def _times64(times: Sequence[datetime | None]) -> np.ndarray:
    """Aware times as UTC ``datetime64[us]`` (item,), NaT for ``None``; each distinct time converted once, to
    whole microseconds since 1970 (numpy converts a list of integers at once, of datetimes one by one)."""
    micros = {t: _NAT if t is None else (t - _EPOCH) // _MICROSECOND for t in set(times)}
    return np.array([micros[t] for t in times], dtype=np.int64).view("datetime64[us]")


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)
#: ``datetime64``'s not-a-time, as its int64.
_NAT = np.iinfo(np.int64).min


def _version_of(flagged: FlaggedReading) -> tuple[str, datetime, _Version]:
    reading = flagged.reading
    value = reading.value
    if value is not None and math.isnan(value):
        value = None
    return (reading.sensor_id, _utc(reading.phenomenon_time, "phenomenon_time"),
            _Version(value, _FLAG_VALUES.get(flagged.qc_flag) or QCFlag(flagged.qc_flag).value, flagged.qc_rule,
                     _utc(reading.arrival_time, "arrival_time"), reading.unit))


def _utc(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is timezone.utc:  # the common case, without a conversion
        return moment
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name}: expected a timezone-aware datetime, got naive {moment.isoformat()}")
    return moment.astimezone(timezone.utc)


def _flagged(row: Row) -> FlaggedReading:
    sensor_id, phenomenon_time, arrival_time, value, unit, flag, rule = row
    return FlaggedReading(Reading(sensor_id, phenomenon_time, value, unit, arrival_time), _FLAGS[flag], rule)


def _chunks(items: list[T], size: int = CHUNK) -> list[list[T]]:
    return [items[i:i + size] for i in range(0, len(items), size)]
