"""Linked response: the planner keeps the municipal centre's order in force (issue 20, 城市 → 区县).

- ``planner_state.mode_city``: the city's order in force, as JSON (its id, response level and text), or
  null; ``planner_state.mode_linked``: the city's order the district last proposed to follow
  (:class:`warn.command.mode.ModeState`).

Additive: nothing else changes.

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the columns."""
    with op.batch_alter_table("planner_state") as batch:
        batch.add_column(sa.Column("mode_city", sa.Text, nullable=True))
        batch.add_column(sa.Column("mode_linked", sa.String(64), nullable=True))


def downgrade() -> None:
    """Drop the columns."""
    with op.batch_alter_table("planner_state") as batch:
        batch.drop_column("mode_linked")
        batch.drop_column("mode_city")
