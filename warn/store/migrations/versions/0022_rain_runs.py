"""The rain per zone of a run kept once per run (issue 20, the store at city scale).

``zone_rain`` repeated the run's source (its URL), issue time and layer on every row: a city run
(10,000 towns × 72 hours) wrote 720,000 such rows, about 260 MB on SQLite. Now:

- ``rain_runs``: one row per run and layer (``run_id``, source, issue time, layer; unique);
- ``rain_run_hours``: the hours each run covers (what the newest run of each hour is chosen from);
- ``zone_rain``: per run, hour end and zone the mean and maximum depth (mm), keyed by
  (``run_id``, ``hour_end``, ``zone_id``) — a table without rowid on SQLite.

Every row is moved; a failure leaves the store as it was (one transaction).

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from warn.store.schema import UTCDateTime

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

_SAME_RUN = "r.source = z.source AND r.issued_at = z.issued_at AND r.layer = z.layer"


def upgrade() -> None:
    """Make the three tables and move every row of the old ``zone_rain`` into them."""
    _aside("zone_rain", "zone_rain_old", "pk_zone_rain")
    op.drop_index("ix_zone_rain_hour", table_name="zone_rain_old")
    op.create_table(
        "rain_runs",
        sa.Column("run_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("issued_at", UTCDateTime, nullable=False),
        sa.Column("layer", sa.String(64), nullable=False),
        sa.UniqueConstraint("source", "issued_at", "layer", name="uq_rain_runs"),
    )
    op.create_index("ix_rain_runs_layer", "rain_runs", ["layer", "issued_at"])
    op.create_table(
        "rain_run_hours",
        sa.Column("run_id", sa.Integer, sa.ForeignKey("rain_runs.run_id"), nullable=False),
        sa.Column("hour_end", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("run_id", "hour_end", name="pk_rain_run_hours"),
    )
    op.create_index("ix_rain_run_hours_hour", "rain_run_hours", ["hour_end"])
    op.create_table(
        "zone_rain",
        sa.Column("run_id", sa.Integer, sa.ForeignKey("rain_runs.run_id"), nullable=False),
        sa.Column("hour_end", UTCDateTime, nullable=False),
        sa.Column("zone_id", sa.String(64), nullable=False),
        sa.Column("mean_mm", sa.Double, nullable=True),
        sa.Column("max_mm", sa.Double, nullable=True),
        sa.PrimaryKeyConstraint("run_id", "hour_end", "zone_id", name="pk_zone_rain"),
        sqlite_with_rowid=False,
    )
    op.execute("INSERT INTO rain_runs (source, issued_at, layer) SELECT DISTINCT source, issued_at, layer "
               "FROM zone_rain_old ORDER BY issued_at, source, layer")
    op.execute(f"INSERT INTO rain_run_hours (run_id, hour_end) SELECT DISTINCT r.run_id, z.hour_end "
               f"FROM zone_rain_old z JOIN rain_runs r ON {_SAME_RUN}")
    op.execute(f"INSERT INTO zone_rain (run_id, hour_end, zone_id, mean_mm, max_mm) "
               f"SELECT r.run_id, z.hour_end, z.zone_id, z.mean_mm, z.max_mm FROM zone_rain_old z "
               f"JOIN rain_runs r ON {_SAME_RUN}")
    op.drop_table("zone_rain_old")


def downgrade() -> None:
    """One ``zone_rain`` table again, every row kept."""
    _aside("zone_rain", "zone_rain_new", "pk_zone_rain")
    op.create_table(
        "zone_rain",
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("issued_at", UTCDateTime, nullable=False),
        sa.Column("layer", sa.String(64), nullable=False),
        sa.Column("zone_id", sa.String(64), nullable=False),
        sa.Column("hour_end", UTCDateTime, nullable=False),
        sa.Column("mean_mm", sa.Double, nullable=True),
        sa.Column("max_mm", sa.Double, nullable=True),
        sa.PrimaryKeyConstraint("source", "issued_at", "layer", "zone_id", "hour_end", name="pk_zone_rain"),
    )
    op.create_index("ix_zone_rain_hour", "zone_rain", ["layer", "hour_end", "issued_at"])
    op.execute("INSERT INTO zone_rain (source, issued_at, layer, zone_id, hour_end, mean_mm, max_mm) "
               "SELECT r.source, r.issued_at, r.layer, z.zone_id, z.hour_end, z.mean_mm, z.max_mm "
               "FROM zone_rain_new z JOIN rain_runs r ON r.run_id = z.run_id")
    op.drop_table("zone_rain_new")
    op.drop_index("ix_rain_run_hours_hour", table_name="rain_run_hours")
    op.drop_table("rain_run_hours")
    op.drop_index("ix_rain_runs_layer", table_name="rain_runs")
    op.drop_table("rain_runs")


def _aside(table: str, to: str, primary_key: str) -> None:
    """Rename ``table`` to ``to``; on PostgreSQL its primary key too (constraint names are the schema's)."""
    op.rename_table(table, to)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE {to} RENAME CONSTRAINT {primary_key} TO {primary_key}_old")
