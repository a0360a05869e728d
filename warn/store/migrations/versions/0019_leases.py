"""Leases: one leading ``warn run`` per deployment (issue 20).

- ``leases``: per name the holder, its term (the fencing token), when the term began and when the lease
  runs out unless renewed (:mod:`warn.store.leases`).

Additive: nothing else changes.

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from warn.store.schema import UTCDateTime

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the table."""
    op.create_table(
        "leases",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("holder", sa.String(255), nullable=False),
        sa.Column("term", sa.Integer, nullable=False),
        sa.Column("acquired_at", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    """Drop the table."""
    op.drop_table("leases")
