"""Who you are, for real: accounts, sessions, login attempts, and a scope on personal tokens (issue 18).

- ``accounts``: one row per person with a password for the centre's pages: a random salt, the scrypt
  digest and the scrypt parameters it was made with (``kdf``), failed logins in a row, locked until when,
  the last login, when it was created and changed, and by whom.
- ``sessions``: one row per login in the browser, keyed by the SHA-256 of its session id (never the id),
  with its person, its CSRF token, the client address, when it began, expires and ended.
- ``login_attempts``: every login attempt by client address and time, for the per-address rate limit.
- ``tokens.scope``: the org units a personal token is narrowed to (``town.DEMO-T03`` …, space-separated;
  empty: the person's whole scope).

Additive: nothing else changes.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from warn.store.schema import UTCDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    """Create the three tables and the column."""
    op.create_table(
        "accounts",
        sa.Column("person", sa.String(128), primary_key=True),
        sa.Column("salt", sa.LargeBinary, nullable=False),
        sa.Column("digest", sa.LargeBinary, nullable=False),
        sa.Column("kdf", sa.String(64), nullable=False),
        sa.Column("failed_in_a_row", sa.Integer, nullable=False, server_default="0"),
        sa.Column("locked_until", UTCDateTime, nullable=True),
        sa.Column("last_login_at", UTCDateTime, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("changed_at", UTCDateTime, nullable=False),
        sa.Column("changed_by", sa.String(128), nullable=False),
    )
    op.create_table(
        "sessions",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("person", sa.String(128), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("ended_at", UTCDateTime, nullable=True),
    )
    op.create_index("ix_sessions_person", "sessions", ["person", "ended_at"])
    op.create_table(
        "login_attempts",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_login_attempts_address", "login_attempts", ["address", "at"])
    with op.batch_alter_table("tokens") as batch:
        batch.add_column(sa.Column("scope", sa.String(512), nullable=False, server_default=""))


def downgrade() -> None:
    """Drop the column and the three tables."""
    with op.batch_alter_table("tokens") as batch:
        batch.drop_column("scope")
    op.drop_index("ix_login_attempts_address", table_name="login_attempts")
    op.drop_table("login_attempts")
    op.drop_index("ix_sessions_person", table_name="sessions")
    op.drop_table("sessions")
    op.drop_table("accounts")
