"""Executing the planner's actions: idempotent mode changes, warning versions, long ids, district-wide tasks.

- ``mode_changes.idempotency_key``: the planner action's key, unique, so a replayed
  proposal or change is not recorded twice (rows written before have none);
- ``warnings.version``: the thread's version, so an older action never overwrites a newer one;
- ``tasks.task_id`` and ``ack_requests.request_id`` widen to 255 characters: the
  planner's ids name incident, playbook run and step;
- ``tasks.incident_id`` may be ``NULL``: situation reports are district-wide tasks.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("mode_changes", sa.Column("idempotency_key", sa.String(255), nullable=True))
    op.create_index("uq_mode_changes_idempotency_key", "mode_changes", ["idempotency_key"], unique=True)
    op.add_column("warnings", sa.Column("version", sa.Integer, nullable=False, server_default="0"))
    with op.batch_alter_table("tasks") as batch:
        batch.alter_column("task_id", type_=sa.String(255), existing_type=sa.String(64), existing_nullable=False)
        batch.alter_column("incident_id", nullable=True, existing_type=sa.String(64))
    with op.batch_alter_table("ack_requests") as batch:
        batch.alter_column("request_id", type_=sa.String(255), existing_type=sa.String(64), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("ack_requests") as batch:
        batch.alter_column("request_id", type_=sa.String(64), existing_type=sa.String(255), existing_nullable=False)
    with op.batch_alter_table("tasks") as batch:
        batch.alter_column("incident_id", nullable=False, existing_type=sa.String(64))
        batch.alter_column("task_id", type_=sa.String(64), existing_type=sa.String(255), existing_nullable=False)
    op.drop_column("warnings", "version")
    op.drop_index("uq_mode_changes_idempotency_key", table_name="mode_changes")
    op.drop_column("mode_changes", "idempotency_key")
