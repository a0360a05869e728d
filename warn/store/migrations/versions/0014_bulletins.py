"""Message threads people read, and each warning thread's versions.

- ``bulletins``: one row per message thread — one hazard, one area (a town's zone id or the
  district code), one audience (``public`` / ``restricted``) — its level, version, status,
  incident and the items its last message listed (JSON ``[[item_id, level], …]``).
- ``warning_versions``: every version of every warning thread (level, status, when): the
  history ``warn warnings --at`` and the reports read, now that a thread's changes are no longer
  each a CAP message. Filled from the messages of the threads already recorded.
- ``warning_messages.thread_id`` names the message thread (a bulletin) from now on; rows recorded
  before keep their warning thread. Its foreign key to ``warnings`` goes (the table is rebuilt
  on SQLite); every row is kept.
- The planner's state keeps its message threads (``planner_bulletins``) and its count of messages
  (``planner_state.serial``) and those issued at its last instant (``instant``, ``instant_count``: the
  GB/T 35965.1 identifiers of one second are numbered 0–9); ``planner_approvals`` goes: playbooks no longer publish (publication
  is declared in config), so no broadcast waits for approval — what any did is on the timeline.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

from warn.store.schema import UTCDateTime
from warn.store.times import decode_time

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")
_VERSION = re.compile(r"\.v(\d+)$")


def upgrade() -> None:
    """Create the two tables, fill the versions from the messages, drop the messages' foreign key."""
    op.create_table(
        "bulletins",
        sa.Column("bulletin_id", sa.String(128), primary_key=True),
        sa.Column("hazard", sa.String(32), nullable=False),
        sa.Column("area_id", sa.String(64), nullable=False),
        sa.Column("audience", sa.String(16), nullable=False),
        sa.Column("level", sa.SmallInteger, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("incident_id", sa.String(64), sa.ForeignKey("incidents.incident_id"), nullable=True),
        sa.Column("opened_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("listed", sa.Text, nullable=False, server_default="[]"),
    )
    op.create_index("ix_bulletins_area", "bulletins", ["hazard", "area_id"])
    op.create_table(
        "warning_versions",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("thread_id", sa.String(128), sa.ForeignKey("warnings.thread_id"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("level", sa.SmallInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("thread_id", "version", name="uq_warning_versions_thread_version"),
    )
    op.create_index("ix_warning_versions_thread", "warning_versions", ["thread_id", "at"])
    _fill_versions()
    _drop_message_key()
    op.create_table(
        "planner_bulletins",
        sa.Column("entry", sa.String(255), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("id", sa.String(128), nullable=False),
        sa.Column("hazard", sa.String(32), nullable=False),
        sa.Column("area", sa.String(64), nullable=False),
        sa.Column("audience", sa.String(16), nullable=False),
        sa.Column("incident", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("issued_at", UTCDateTime, nullable=False),
        sa.Column("listed", sa.Text, nullable=False),
        sa.Column("cleared_at", UTCDateTime, nullable=True),
        sa.PrimaryKeyConstraint("entry", name="pk_planner_bulletins"),
    )
    with op.batch_alter_table("planner_state") as batch:
        batch.add_column(sa.Column("serial", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("instant", UTCDateTime, nullable=True))
        batch.add_column(sa.Column("instant_count", sa.Integer, nullable=False, server_default="0"))
    op.drop_table("planner_approvals")


def downgrade() -> None:
    """Drop the new tables and column (the messages keep no foreign key: rows naming a bulletin would break
    it; ``planner_approvals`` comes back empty)."""
    op.create_table(
        "planner_approvals",
        sa.Column("entry", sa.String(255), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("incident", sa.String(64), nullable=True),
        sa.Column("rule_id", sa.String(64), nullable=False),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("thread", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("broadcast", sa.String(16), nullable=False),
        sa.Column("hazard", sa.String(32), nullable=False),
        sa.Column("item_id", sa.String(64), nullable=False),
        sa.Column("level", sa.SmallInteger, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("entry", name="pk_planner_approvals"),
    )
    with op.batch_alter_table("planner_state") as batch:
        batch.drop_column("instant_count")
        batch.drop_column("instant")
        batch.drop_column("serial")
    op.drop_table("planner_bulletins")
    op.drop_index("ix_warning_versions_thread", table_name="warning_versions")
    op.drop_table("warning_versions")
    op.drop_index("ix_bulletins_area", table_name="bulletins")
    op.drop_table("bulletins")


def _fill_versions() -> None:
    """One version per message already recorded (its version from the identifier's ``.v<n>``)."""
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT thread_id, identifier, kind, level, sent_at FROM warning_messages "
                                "ORDER BY id")).all()
    versions = sa.table("warning_versions", sa.column("thread_id"), sa.column("version"), sa.column("level"),
                        sa.column("status"), sa.column("at", UTCDateTime))
    seen: dict[str, int] = {}
    for row in rows:
        found = _VERSION.search(row.identifier)
        version = int(found.group(1)) if found else seen.get(row.thread_id, 0) + 1
        if version <= seen.get(row.thread_id, 0):
            continue
        seen[row.thread_id] = version
        conn.execute(sa.insert(versions).values(
            thread_id=row.thread_id, version=version, level=row.level,
            status="cleared" if row.level == 0 else "active", at=decode_time(row.sent_at)))


def _drop_message_key() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        plain = sa.Table(
            "warning_messages", sa.MetaData(),
            sa.Column("id", ID, primary_key=True, autoincrement=True),
            sa.Column("thread_id", sa.String(128), nullable=False),
            sa.Column("kind", sa.String(16), nullable=False),
            sa.Column("level", sa.SmallInteger, nullable=False),
            sa.Column("sent_at", UTCDateTime, nullable=False),
            sa.Column("identifier", sa.String(255), nullable=False),
            sa.Column("body", sa.Text, nullable=False),
            sa.UniqueConstraint("identifier", name="uq_warning_messages_identifier"),
            sa.Index("ix_warning_messages_thread", "thread_id", "sent_at"),
        )
        with op.batch_alter_table("warning_messages", recreate="always", copy_from=plain):
            pass
        return
    for key in sa.inspect(conn).get_foreign_keys("warning_messages"):
        op.drop_constraint(key["name"], "warning_messages", type_="foreignkey")
