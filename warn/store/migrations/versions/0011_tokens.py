"""Personal tokens: who a command acts for, established by the system (issue 15).

``tokens`` holds one row per token issued to a person on the roster: its public id, a
random salt and the scrypt digest of its secret (never the secret), who issued it and
when, and when and by whom it was revoked. Additive: nothing else changes.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from warn.store.schema import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``tokens``."""
    op.create_table(
        "tokens",
        sa.Column("token_id", sa.String(32), primary_key=True),
        sa.Column("person", sa.String(128), nullable=False),
        sa.Column("salt", sa.LargeBinary, nullable=False),
        sa.Column("digest", sa.LargeBinary, nullable=False),
        sa.Column("issued_at", UTCDateTime, nullable=False),
        sa.Column("issued_by", sa.String(128), nullable=False),
        sa.Column("revoked_at", UTCDateTime, nullable=True),
        sa.Column("revoked_by", sa.String(128), nullable=True),
    )
    op.create_index("ix_tokens_person", "tokens", ["person", "revoked_at"])


def downgrade() -> None:
    """Drop ``tokens``."""
    op.drop_index("ix_tokens_person", table_name="tokens")
    op.drop_table("tokens")
