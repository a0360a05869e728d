"""People in the loop: deliveries to persons, one-tap links, photos, danger reports.

- ``person_messages``: what the planner addressed to a person, until its deliveries are planned.
- ``deliveries``: every message to a person on one channel, with its outbox row and what became of it.
- ``links``: the claims of every signed one-tap link (:mod:`warn.links`) and its single use.
- ``attachments``: photos sent with a task's feedback or a danger report.
- ``danger_reports``: every danger reported from below the district (险情上报).
- ``planner_dangers``: the planner keeps the reported dangers it is handling.
- ``planner_acks.level``: the level of the warning a pending request is about (0 when none).

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from warn.store.schema import UTCDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    """Create the six tables and the column."""
    op.create_table(
        "person_messages",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(255), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("incident_id", sa.String(64), nullable=True),
        sa.Column("person", sa.String(128), nullable=False),
        sa.Column("post", sa.String(160), nullable=False),
        sa.Column("request_id", sa.String(255), nullable=True),
        sa.Column("ack_kind", sa.String(16), nullable=True),
        sa.Column("task_id", sa.String(255), nullable=True),
        sa.Column("level", sa.SmallInteger, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("deadline", UTCDateTime, nullable=True),
        sa.Column("reached_at", UTCDateTime, nullable=True),
    )
    op.create_index("ix_person_messages_unreached", "person_messages", ["reached_at", "id"])
    op.create_table(
        "deliveries",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("request_id", sa.String(255), nullable=True),
        sa.Column("task_id", sa.String(255), nullable=True),
        sa.Column("incident_id", sa.String(64), nullable=True),
        sa.Column("person", sa.String(128), nullable=False),
        sa.Column("post", sa.String(160), nullable=False),
        sa.Column("org_level", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("channel_kind", sa.String(32), nullable=False),
        sa.Column("step", sa.Integer, nullable=False),
        sa.Column("outbox_key", sa.String(255), nullable=False, unique=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("queued_at", UTCDateTime, nullable=False),
        sa.Column("sent_at", UTCDateTime, nullable=True),
        sa.Column("delivered_at", UTCDateTime, nullable=True),
        sa.Column("failed_at", UTCDateTime, nullable=True),
        sa.Column("answered_at", UTCDateTime, nullable=True),
        sa.Column("detail", sa.Text, nullable=False, server_default=""),
        sa.UniqueConstraint("subject", "person", "channel", name="uq_deliveries_subject_person_channel"),
    )
    op.create_index("ix_deliveries_request", "deliveries", ["request_id"])
    op.create_index("ix_deliveries_person", "deliveries", ["person", "queued_at"])
    op.create_table(
        "links",
        sa.Column("link_id", sa.String(32), primary_key=True),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("person", sa.String(128), nullable=False),
        sa.Column("issued_at", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("used_at", UTCDateTime, nullable=True),
        sa.Column("used_via", sa.String(32), nullable=True),
    )
    op.create_index("ix_links_subject", "links", ["subject", "person"])
    op.create_table(
        "attachments",
        sa.Column("attachment_id", sa.String(64), primary_key=True),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("received_at", UTCDateTime, nullable=False),
        sa.Column("received_by", sa.String(128), nullable=False),
    )
    op.create_table(
        "danger_reports",
        sa.Column("report_id", sa.String(64), primary_key=True),
        sa.Column("by", sa.String(128), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("org_unit", sa.String(96), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("what", sa.Text, nullable=False),
        sa.Column("place", sa.Text, nullable=False, server_default=""),
        sa.Column("lon", sa.Double, nullable=True),
        sa.Column("lat", sa.Double, nullable=True),
        sa.Column("photo", sa.String(64), sa.ForeignKey("attachments.attachment_id"), nullable=True),
        sa.Column("via", sa.String(32), nullable=False),
    )
    op.create_table(
        "planner_dangers",
        sa.Column("entry", sa.String(255), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("org_unit", sa.String(96), nullable=False),
        sa.Column("town", sa.String(64), nullable=True),
        sa.Column("by", sa.String(128), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("what", sa.Text, nullable=False),
        sa.Column("place", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("entry", name="pk_planner_dangers"),
    )
    with op.batch_alter_table("planner_acks") as batch:
        batch.add_column(sa.Column("level", sa.SmallInteger, nullable=False, server_default="0"))


def downgrade() -> None:
    """Drop the six tables and the column."""
    with op.batch_alter_table("planner_acks") as batch:
        batch.drop_column("level")
    op.drop_table("planner_dangers")
    op.drop_table("danger_reports")
    op.drop_table("attachments")
    op.drop_index("ix_links_subject", table_name="links")
    op.drop_table("links")
    op.drop_index("ix_deliveries_person", table_name="deliveries")
    op.drop_index("ix_deliveries_request", table_name="deliveries")
    op.drop_table("deliveries")
    op.drop_index("ix_person_messages_unreached", table_name="person_messages")
    op.drop_table("person_messages")
