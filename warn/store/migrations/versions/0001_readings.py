"""Sensor catalogue, readings with their revisions, and heartbeats.

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sensors",
        sa.Column("sensor_id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("lon", sa.Double, nullable=False),
        sa.Column("lat", sa.Double, nullable=False),
        sa.Column("interval_s", sa.Double, nullable=False),
        sa.Column("point_id", sa.String(64), nullable=False, server_default=""),
        sa.Column("updated_at", TIME, nullable=False),
    )
    op.create_table(
        "readings",
        sa.Column("sensor_id", sa.String(64), sa.ForeignKey("sensors.sensor_id"), nullable=False),
        sa.Column("phenomenon_time", TIME, nullable=False),
        sa.Column("arrival_time", TIME, nullable=False),
        sa.Column("value", sa.Double, nullable=True),
        sa.Column("unit", sa.String(8), nullable=False),
        sa.Column("qc_flag", sa.String(16), nullable=False),
        sa.Column("qc_rule", sa.String(64), nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("sensor_id", "phenomenon_time", name="pk_readings"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "reading_revisions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("sensor_id", sa.String(64), nullable=False),
        sa.Column("phenomenon_time", TIME, nullable=False),
        sa.Column("old_value", sa.Double, nullable=True),
        sa.Column("new_value", sa.Double, nullable=True),
        sa.Column("old_flag", sa.String(16), nullable=False),
        sa.Column("new_flag", sa.String(16), nullable=False),
        sa.Column("old_rule", sa.String(64), nullable=False),
        sa.Column("new_rule", sa.String(64), nullable=False),
        sa.Column("old_arrival_time", TIME, nullable=False),
        sa.Column("new_arrival_time", TIME, nullable=False),
        sa.Column("revised_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(["sensor_id", "phenomenon_time"], ["readings.sensor_id", "readings.phenomenon_time"],
                                name="fk_reading_revisions_reading"),
    )
    op.create_index("ix_reading_revisions_reading", "reading_revisions", ["sensor_id", "phenomenon_time"])
    op.create_table(
        "heartbeats",
        sa.Column("source", sa.String(128), primary_key=True),
        sa.Column("last_seen", TIME, nullable=True),
        sa.Column("expected_interval_s", sa.Double, nullable=False),
        sa.Column("stale", sa.Boolean, nullable=False),
        sa.Column("detail", sa.Text, nullable=False, server_default=""),
        sa.Column("updated_at", TIME, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("heartbeats")
    op.drop_index("ix_reading_revisions_reading", table_name="reading_revisions")
    op.drop_table("reading_revisions")
    op.drop_table("readings")
    op.drop_table("sensors")
