"""Rejected sensor payloads and readings, one row each: what a feed sent that was refused.

A pushed payload too large, nested too deep or not decodable, and a polled or pushed record
that could not be normalised, were only logged; ``rejected_readings`` keeps them, so that
``warn feeds`` can say how many each feed had refused and when last: the feed, when it
arrived, the reason (a sentence, cut to 500 characters), and of a pushed payload its SHA-256
and size in bytes — never the payload itself, which may carry what it should not.

Revision ID: 0012
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from warn.store.schema import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``rejected_readings``."""
    op.create_table(
        "rejected_readings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(128), nullable=False),
        sa.Column("received_at", UTCDateTime, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("payload_sha256", sa.String(64), nullable=True),
        sa.Column("payload_bytes", sa.Integer, nullable=True),
    )
    op.create_index("ix_rejected_readings_source", "rejected_readings", ["source", "received_at"])


def downgrade() -> None:
    """Drop ``rejected_readings``."""
    op.drop_index("ix_rejected_readings_source", table_name="rejected_readings")
    op.drop_table("rejected_readings")
