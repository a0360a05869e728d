"""Count of revisions on each reading, backfilled from reading_revisions.

QC and the reports can tell a revised reading from its row alone, without a join.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("readings", sa.Column("revision_count", sa.Integer, nullable=False, server_default="0"))
    op.execute(
        "UPDATE readings SET revision_count = ("
        " SELECT count(*) FROM reading_revisions r"
        " WHERE r.sensor_id = readings.sensor_id AND r.phenomenon_time = readings.phenomenon_time)"
        " WHERE EXISTS ("
        " SELECT 1 FROM reading_revisions r"
        " WHERE r.sensor_id = readings.sensor_id AND r.phenomenon_time = readings.phenomenon_time)"
    )


def downgrade() -> None:
    with op.batch_alter_table("readings") as batch:
        batch.drop_column("revision_count")
