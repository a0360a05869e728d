"""Probabilities from ensemble runs beside the levels (issue 19).

- ``item_levels.probability``: on a cycle scored from an ensemble run, for the row's item and lead,
  the fraction of the members whose level reaches at least each level, as JSON ``{"blue": 0.67,
  "yellow": 0.33, "orange": 0.0, "red": 0.0}`` (``null`` for a level where no member's level was
  known); NULL for a cycle scored from a single run.

Additive: nothing else changes.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the column."""
    with op.batch_alter_table("item_levels") as batch:
        batch.add_column(sa.Column("probability", sa.Text, nullable=True))


def downgrade() -> None:
    """Drop the column."""
    with op.batch_alter_table("item_levels") as batch:
        batch.drop_column("probability")
