"""Cycles and the command inbox.

- ``cycles``: one row per warning cycle (its time ``at`` is the key): when it started and
  finished, its status (running → done, or failed with the error), the inputs it used with
  their age (JSON text), and how many items it scored, crossings it found, actions it
  planned and applied and messages it queued.
- ``inbox``: what people did that the planner must hear — an answer to a 叫应 call, an
  approval or a task hand-off, a decision on a mode proposal — as the planner's event
  (JSON text), who and when, a unique idempotency key, and when a cycle or tick consumed it.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "cycles",
        sa.Column("at", TIME, primary_key=True),
        sa.Column("started_at", TIME, nullable=False),
        sa.Column("finished_at", TIME, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("inputs", sa.Text, nullable=False, server_default="{}"),
        sa.Column("items", sa.Integer, nullable=False, server_default="0"),
        sa.Column("crossings", sa.Integer, nullable=False, server_default="0"),
        sa.Column("actions", sa.Integer, nullable=False, server_default="0"),
        sa.Column("applied", sa.Integer, nullable=False, server_default="0"),
        sa.Column("messages", sa.Integer, nullable=False, server_default="0"),
        sa.Column("error", sa.Text, nullable=False, server_default=""),
    )
    op.create_table(
        "inbox",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("at", TIME, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("event", sa.Text, nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=False),
        sa.Column("received_at", TIME, nullable=False),
        sa.Column("consumed_at", TIME, nullable=True),
        sa.UniqueConstraint("idempotency_key", name="uq_inbox_idempotency_key"),
    )
    op.create_index("ix_inbox_pending", "inbox", ["consumed_at", "at"])


def downgrade() -> None:
    op.drop_index("ix_inbox_pending", table_name="inbox")
    op.drop_table("inbox")
    op.drop_table("cycles")
