"""按周分区 / readings partitioned by week on PostgreSQL, and the weekly periods retention archives by.

On PostgreSQL ``readings`` is a declaratively partitioned table, ``PARTITION BY RANGE
(phenomenon_time)``, one partition per week — ``readings_pYYYYMMDD`` holds the readings of the week
that begins that Monday 00:00 UTC — and a ``DEFAULT`` partition, ``readings_default``, that catches
every reading outside them (a device clock years off, a back-fill older than the first week), so
no reading is ever refused for its time. :func:`ensure` makes the current week's partition and the
next :data:`AHEAD` weeks' ahead of time (the service's ``partitions`` job, hourly; the migration
0021 at once), moving into a new partition whatever the default one held of its week.

Why weeks. Yubei's 370,000 devices reporting every 5–10 minutes write 53–107 M readings a day
(617–1,233 a second): a month would be a 1.6–3.2 G-row partition with a 100–200 GB primary-key
index, a day 400+ partitions to plan over for the 400 days kept. A week is 0.37–0.75 G rows:
the current week's index stays small enough to be cached while ingest inserts into it,
retention drops whole weeks (one ``DROP TABLE``, no bulk ``DELETE``), and the 58 partitions of
400 days are few enough for the planner (a look-up by sensor and time prunes to one partition).

SQLite stays unpartitioned (it has no partitioning; one district's store is a few GB): its
retention deletes the same weekly periods in bulk (:mod:`warn.store.retention`).

``reading_revisions`` keeps its foreign key to ``readings`` (PostgreSQL 12+ allows one to a
partitioned table). Moving rows out of the default partition therefore moves their revisions
too, in the same transaction: a revision is never without its reading.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import Connection, text

#: The length of a partition and of a retention period.
PERIOD = timedelta(days=7)
#: A Monday 00:00 UTC: periods begin on it and every :data:`PERIOD` after.
EPOCH = datetime(1970, 1, 5, tzinfo=timezone.utc)
#: Weeks after the current one whose partitions :func:`ensure` makes ahead of time.
AHEAD = 2
#: The partition that holds every reading outside the weekly ones.
DEFAULT = "readings_default"
#: How long partition DDL waits for the locks it needs before giving up until its next run.
LOCK_TIMEOUT = "10s"
_NAME = re.compile(r"^readings_p(\d{8})$")


@dataclass(frozen=True, order=True)
class Period:
    """One week of readings: ``start`` ≤ phenomenon time < ``end`` (aware UTC)."""

    start: datetime

    @property
    def end(self) -> datetime:
        """The start of the next period."""
        return self.start + PERIOD

    @property
    def partition(self) -> str:
        """The name of its partition on PostgreSQL."""
        return f"readings_p{self.start:%Y%m%d}"


def period_of(moment: datetime) -> Period:
    """The period holding ``moment`` (aware)."""
    weeks = (moment.astimezone(timezone.utc) - EPOCH) // PERIOD
    return Period(EPOCH + weeks * PERIOD)


def is_partitioned(conn: Connection) -> bool:
    """Whether ``readings`` on ``conn`` is a partitioned table (PostgreSQL after migration 0021)."""
    if conn.dialect.name != "postgresql":
        return False
    kind = conn.execute(text("SELECT relkind FROM pg_class WHERE oid = to_regclass('readings')")).scalar()
    return kind == "p"


def partitions(conn: Connection) -> list[Period]:
    """The weekly partitions of ``readings``, oldest first (none on SQLite or before migration 0021)."""
    if not is_partitioned(conn):
        return []
    names = conn.execute(text("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                              "WHERE i.inhparent = to_regclass('readings')")).scalars()
    found = [_NAME.match(name) for name in names]
    return sorted(Period(datetime.strptime(m.group(1), "%Y%m%d").replace(tzinfo=timezone.utc))
                  for m in found if m is not None)


def ensure(conn: Connection, now: datetime, *, ahead: int = AHEAD) -> list[Period]:
    """Make the partitions of the week of ``now`` and the ``ahead`` weeks after it that are missing.

    Runs in the caller's transaction, one caller at a time per schema (an advisory lock). A no-op
    on SQLite.

    Returns
    -------
    list of Period
        The periods whose partitions were made.
    """
    if not is_partitioned(conn):
        return []
    conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('warn.partitions.' || current_schema()))"))
    held = set(partitions(conn))
    first = period_of(now)
    wanted = [Period(first.start + k * PERIOD) for k in range(ahead + 1)]
    missing = [period for period in wanted if period not in held]
    for period in missing:
        create(conn, period)
    return missing


def create(conn: Connection, period: Period) -> None:
    """Make ``period``'s partition, moving into it what the default partition held of the week (with the
    readings' revisions, taken out and put back so the foreign key holds throughout)."""
    conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
    bounds = {"start": period.start, "end": period.end}
    within = "phenomenon_time >= :start AND phenomenon_time < :end"
    moving = conn.execute(text(f"SELECT count(*) FROM {DEFAULT} WHERE {within}"), bounds).scalar_one()
    if moving:
        conn.execute(text(f"CREATE TEMPORARY TABLE moving_revisions ON COMMIT DROP AS "
                          f"SELECT * FROM reading_revisions WHERE {within}"), bounds)
        conn.execute(text(f"DELETE FROM reading_revisions WHERE {within}"), bounds)
        conn.execute(text(f"CREATE TEMPORARY TABLE moving_readings ON COMMIT DROP AS "
                          f"SELECT * FROM {DEFAULT} WHERE {within}"), bounds)
        conn.execute(text(f"DELETE FROM {DEFAULT} WHERE {within}"), bounds)
    start, end = (f"'{moment.isoformat()}'" for moment in (period.start, period.end))
    conn.execute(text(f"CREATE TABLE {period.partition} PARTITION OF readings FOR VALUES FROM ({start}) TO ({end})"))
    if moving:
        conn.execute(text("INSERT INTO readings SELECT * FROM moving_readings"))
        conn.execute(text("INSERT INTO reading_revisions SELECT * FROM moving_revisions"))
        conn.execute(text("DROP TABLE moving_readings, moving_revisions"))
