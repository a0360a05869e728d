"""Model states carried between cycles (soil water tanks, storage buckets) and levels with memory.

- ``model_states``: one row per (model, key) — e.g. the SWI tank storages of every cell
  of one grid — the arrays as an ``.npz`` blob, with the time they hold for;
- ``level_memory``: one row per (hazard, item) — its remembered level, since when the
  score has been below the level's boundary − margin, and the time of the last evidence.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "model_states",
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("valid_at", TIME, nullable=False),
        sa.Column("arrays", sa.LargeBinary, nullable=False),
        sa.Column("detail", sa.Text, nullable=False, server_default=""),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("model", "key", name="pk_model_states"),
    )
    op.create_table(
        "level_memory",
        sa.Column("hazard", sa.String(32), nullable=False),
        sa.Column("item_id", sa.String(64), nullable=False),
        sa.Column("level", sa.SmallInteger, nullable=False),
        sa.Column("below_since", TIME, nullable=True),
        sa.Column("evidence_at", TIME, nullable=True),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("hazard", "item_id", name="pk_level_memory"),
    )


def downgrade() -> None:
    op.drop_table("level_memory")
    op.drop_table("model_states")
