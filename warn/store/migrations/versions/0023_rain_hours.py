"""The rain per zone of a run's hour kept as two arrays (issue 20, the store at city scale).

A city run (10,000 towns × 72 hours) still wrote 720,000 ``zone_rain`` rows, 12 % of a city cycle
on SQLite, for reads that always take whole hours (a report's hyetographs, the rain a warning
expects). Now:

- ``rain_runs`` gains ``zone_ids``: the zones of the run's arrays, in their order (JSON text);
- ``rain_hours`` replaces ``rain_run_hours`` and ``zone_rain``: per run and hour end the zones'
  mean and maximum depth (mm) as little-endian float64 arrays, NaN where unknown (NULL before).

A run's zones are the zones any of its rows named, in code-point order; a zone without a row in
one of the run's hours reads as unknown in that hour. Every row is moved, and back on downgrade
(the unknown values of a run's complete grid as NULL rows); a failure leaves the store as it was
(one transaction).

Revision ID: 0023
Revises: 0022
"""

from __future__ import annotations

import json
from itertools import groupby

import numpy as np
import sqlalchemy as sa
from alembic import op

from warn.store.schema import UTCDateTime

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

_FLOAT = np.dtype("<f8")


def upgrade() -> None:
    """Make ``rain_hours``, move every run's rows into its arrays, drop the two row tables."""
    op.add_column("rain_runs", sa.Column("zone_ids", sa.Text, nullable=False, server_default="[]"))
    hours = op.create_table(
        "rain_hours",
        sa.Column("run_id", sa.Integer, sa.ForeignKey("rain_runs.run_id"), nullable=False),
        sa.Column("hour_end", UTCDateTime, nullable=False),
        sa.Column("mean_mm", sa.LargeBinary, nullable=False),
        sa.Column("max_mm", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("run_id", "hour_end", name="pk_rain_hours"),
    )
    op.create_index("ix_rain_hours_hour", "rain_hours", ["hour_end"])
    conn = op.get_bind()
    old_hours = sa.table("rain_run_hours", sa.column("run_id"), sa.column("hour_end", UTCDateTime))
    old = sa.table("zone_rain", sa.column("run_id"), sa.column("hour_end", UTCDateTime), sa.column("zone_id"),
                   sa.column("mean_mm"), sa.column("max_mm"))
    runs = sa.table("rain_runs", sa.column("run_id"), sa.column("zone_ids"))
    for run_id in conn.execute(sa.select(runs.c.run_id).order_by(runs.c.run_id)).scalars().all():
        rows = conn.execute(sa.select(old.c.hour_end, old.c.zone_id, old.c.mean_mm, old.c.max_mm)
                            .where(old.c.run_id == run_id)).all()
        ends = conn.execute(sa.select(old_hours.c.hour_end).where(old_hours.c.run_id == run_id)).scalars().all()
        zones = sorted({zone for _, zone, _, _ in rows})
        position = {zone: i for i, zone in enumerate(zones)}
        grid = {end: np.full((2, len(zones)), np.nan) for end in ends}
        for end, zone, mean, maximum in rows:
            grid.setdefault(end, np.full((2, len(zones)), np.nan))[:, position[zone]] = (
                np.nan if mean is None else mean, np.nan if maximum is None else maximum)
        conn.execute(sa.update(runs).where(runs.c.run_id == run_id).values(zone_ids=json.dumps(zones,
                                                                                              ensure_ascii=False)))
        if grid:
            conn.execute(sa.insert(hours), [{"run_id": run_id, "hour_end": end, "mean_mm": _bytes(values[0]),
                                             "max_mm": _bytes(values[1])} for end, values in grid.items()])
    op.drop_table("zone_rain")
    op.drop_index("ix_rain_run_hours_hour", table_name="rain_run_hours")
    op.drop_table("rain_run_hours")


def downgrade() -> None:
    """The row tables again: a row per run, hour and zone of every array; ``rain_hours`` dropped."""
    hours = op.create_table(
        "rain_run_hours",
        sa.Column("run_id", sa.Integer, sa.ForeignKey("rain_runs.run_id"), nullable=False),
        sa.Column("hour_end", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("run_id", "hour_end", name="pk_rain_run_hours"),
    )
    op.create_index("ix_rain_run_hours_hour", "rain_run_hours", ["hour_end"])
    rows = op.create_table(
        "zone_rain",
        sa.Column("run_id", sa.Integer, sa.ForeignKey("rain_runs.run_id"), nullable=False),
        sa.Column("hour_end", UTCDateTime, nullable=False),
        sa.Column("zone_id", sa.String(64), nullable=False),
        sa.Column("mean_mm", sa.Double, nullable=True),
        sa.Column("max_mm", sa.Double, nullable=True),
        sa.PrimaryKeyConstraint("run_id", "hour_end", "zone_id", name="pk_zone_rain"),
        sqlite_with_rowid=False,
    )
    conn = op.get_bind()
    new = sa.table("rain_hours", sa.column("run_id"), sa.column("hour_end", UTCDateTime), sa.column("mean_mm"),
                   sa.column("max_mm"))
    runs = sa.table("rain_runs", sa.column("run_id"), sa.column("zone_ids"))
    query = (sa.select(new.c.run_id, runs.c.zone_ids, new.c.hour_end, new.c.mean_mm, new.c.max_mm)
             .join(runs, runs.c.run_id == new.c.run_id).order_by(new.c.run_id, new.c.hour_end))
    for (run_id, zone_ids), arrays in groupby(conn.execute(query), key=lambda row: (row[0], row[1])):
        zones = json.loads(zone_ids)
        for _, _, end, mean, maximum in arrays:
            conn.execute(sa.insert(hours).values(run_id=run_id, hour_end=end))
            if zones:
                conn.execute(sa.insert(rows), [
                    {"run_id": run_id, "hour_end": end, "zone_id": zone, "mean_mm": m, "max_mm": x}
                    for zone, m, x in zip(zones, _floats(mean), _floats(maximum), strict=True)])
    op.drop_index("ix_rain_hours_hour", table_name="rain_hours")
    op.drop_table("rain_hours")
    op.drop_column("rain_runs", "zone_ids")


def _bytes(values: np.ndarray) -> bytes:
    return values.astype(_FLOAT).tobytes()


def _floats(data: bytes) -> list[float | None]:
    return [None if np.isnan(v) else v for v in np.frombuffer(data, dtype=_FLOAT).tolist()]
