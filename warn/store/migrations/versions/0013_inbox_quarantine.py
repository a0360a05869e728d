"""Quarantine of inbox events that make the command step fail.

``inbox`` gains ``quarantined_at`` (when the command step set the event aside, ``NULL`` for
an event planned or waiting) and ``error`` (why: the failure as a sentence, empty for
others). A quarantined event is never planned again; ``warn status`` lists it. Additive:
downgrade drops the two columns.

Revision ID: 0013
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("inbox") as batch:
        batch.add_column(sa.Column("quarantined_at", TIME, nullable=True))
        batch.add_column(sa.Column("error", sa.Text, nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("inbox") as batch:
        batch.drop_column("error")
        batch.drop_column("quarantined_at")
