"""Readings partitioned by week on PostgreSQL (issue 20): ``readings`` becomes ``PARTITION BY RANGE
(phenomenon_time)`` with one partition per week and a default one (:mod:`warn.store.partitions`).

PostgreSQL, in the one transaction of the migration: the foreign key of ``reading_revisions`` is
dropped, ``readings`` renamed aside, the partitioned ``readings`` made with the same columns,
primary key and foreign key to ``sensors``, a partition made for every week from the oldest reading
of the last :data:`~warn.store.partitions.BACK` weeks to :data:`~warn.store.partitions.AHEAD` weeks
ahead, with ``readings_before`` and ``readings_after`` around them, every row copied in, the old table dropped and the foreign key of
``reading_revisions`` made again (checked against every revision). Every row is kept; a failure
leaves the store as it was.

SQLite: nothing changes (it has no partitioning; :mod:`warn.store.retention` archives it by week).

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

from datetime import datetime, timezone

from alembic import op
from sqlalchemy import text

from warn.store.partitions import AFTER, AHEAD, BACK, BEFORE, PERIOD, Period, create, period_of

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

_REVISIONS_FK = ("ALTER TABLE reading_revisions ADD CONSTRAINT fk_reading_revisions_reading FOREIGN KEY "
                 "(sensor_id, phenomenon_time) REFERENCES readings (sensor_id, phenomenon_time)")


def upgrade() -> None:
    """Partition ``readings`` by week (PostgreSQL only), keeping every row."""
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    conn.execute(text("ALTER TABLE reading_revisions DROP CONSTRAINT fk_reading_revisions_reading"))
    conn.execute(text("ALTER TABLE readings RENAME TO readings_unpartitioned"))
    conn.execute(text("ALTER TABLE readings_unpartitioned RENAME CONSTRAINT pk_readings TO pk_readings_unpartitioned"))
    conn.execute(text("CREATE TABLE readings (LIKE readings_unpartitioned INCLUDING DEFAULTS) "
                      "PARTITION BY RANGE (phenomenon_time)"))
    conn.execute(text("ALTER TABLE readings ADD CONSTRAINT pk_readings PRIMARY KEY (sensor_id, phenomenon_time)"))
    conn.execute(text("ALTER TABLE readings ADD CONSTRAINT readings_sensor_id_fkey FOREIGN KEY (sensor_id) "
                      "REFERENCES sensors (sensor_id)"))
    current = period_of(datetime.now(timezone.utc)).start
    first = conn.execute(text("SELECT min(phenomenon_time) FROM readings_unpartitioned WHERE phenomenon_time >= :floor"),
                         {"floor": current - BACK * PERIOD}).scalar()
    start = min(current, period_of(first).start if first is not None else current)
    end = current + (AHEAD + 1) * PERIOD
    create(conn, BEFORE, None, start)
    for k in range((end - start) // PERIOD):
        week = Period(start + k * PERIOD)
        create(conn, week.partition, week.start, week.end)
    create(conn, AFTER, end, None)
    conn.execute(text("INSERT INTO readings SELECT * FROM readings_unpartitioned"))
    conn.execute(text("DROP TABLE readings_unpartitioned"))
    conn.execute(text(_REVISIONS_FK))


def downgrade() -> None:
    """Make ``readings`` one table again (PostgreSQL only), keeping every row."""
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    conn.execute(text("ALTER TABLE reading_revisions DROP CONSTRAINT fk_reading_revisions_reading"))
    conn.execute(text("CREATE TABLE readings_unpartitioned (LIKE readings INCLUDING DEFAULTS)"))
    conn.execute(text("INSERT INTO readings_unpartitioned SELECT * FROM readings"))
    conn.execute(text("DROP TABLE readings"))
    conn.execute(text("ALTER TABLE readings_unpartitioned RENAME TO readings"))
    conn.execute(text("ALTER TABLE readings ADD CONSTRAINT pk_readings PRIMARY KEY (sensor_id, phenomenon_time)"))
    conn.execute(text("ALTER TABLE readings ADD CONSTRAINT readings_sensor_id_fkey FOREIGN KEY (sensor_id) "
                      "REFERENCES sensors (sensor_id)"))
    conn.execute(text(_REVISIONS_FK))
