"""The planner's state read and written by what changed (issue 20).

- ``planner_state.revision``: the number of the saved state, one more at every save;
  ``planner_state.rewritten``: the last revision that removed or reordered rows.
- ``revision`` on every row of ``planner_emitted`` and the ``planner_*`` mapping tables: the revision
  that wrote it, indexed, so a reader holding an older revision reads only the rows changed since.

Every row already saved keeps its values and takes revision 0; a saved state becomes revision 1
(rewritten at 1), so a reader that held none reads it whole. Nothing recorded is lost.

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

#: The tables of the planner's mappings, and of its emitted keys.
ROWS = ("planner_emitted", "planner_threads", "planner_incidents", "planner_runs", "planner_acks", "planner_manual",
        "planner_bulletins", "planner_dangers")


def upgrade() -> None:
    """Add the revision columns and indexes; number a saved state 1."""
    with op.batch_alter_table("planner_state") as batch:
        batch.add_column(sa.Column("revision", sa.BigInteger, nullable=False, server_default="0"))
        batch.add_column(sa.Column("rewritten", sa.BigInteger, nullable=False, server_default="0"))
    for name in ROWS:
        with op.batch_alter_table(name) as batch:
            batch.add_column(sa.Column("revision", sa.BigInteger, nullable=False, server_default="0"))
        op.create_index(f"ix_{name}_revision", name, ["revision"])
    op.execute("UPDATE planner_state SET revision = 1, rewritten = 1")


def downgrade() -> None:
    """Drop them (the state's rows stay as they are)."""
    for name in ROWS:
        op.drop_index(f"ix_{name}_revision", table_name=name)
        with op.batch_alter_table(name) as batch:
            batch.drop_column("revision")
    with op.batch_alter_table("planner_state") as batch:
        batch.drop_column("rewritten")
        batch.drop_column("revision")
