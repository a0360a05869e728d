"""Emergency command: warning threads and messages, incidents, modes, playbooks, tasks, 叫应, roster, timeline.

- ``warnings``: one row per warning thread (hazard, zone or point) — level, status,
  onset, expiry, the incident it belongs to;
- ``warning_messages``: every CAP message of a thread (Alert/Update/Cancel), immutable;
- ``incidents``: opened/closed, hazard, response level, mode; ``mode_changes``: every
  change of mode, who proposed and who decided it, and the rule behind it;
- ``playbook_runs``: one row per playbook started in an incident, its state as JSON;
- ``tasks``: one row per playbook step handed to a role, with ack and done;
- ``ack_requests``: every 叫应 call, approval and task acknowledgement asked for, its
  deadline, escalation step and chain (JSON), and who answered;
- ``roster``: who holds which role in which org unit, from when to when;
- ``timeline``: the append-only, hash-chained record of every change of state.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("incident_id", sa.String(64), primary_key=True),
        sa.Column("hazard", sa.String(32), nullable=False),
        sa.Column("opened_at", TIME, nullable=False),
        sa.Column("closed_at", TIME, nullable=True),
        sa.Column("response_level", sa.SmallInteger, nullable=False, server_default="0"),
        sa.Column("mode", sa.String(32), nullable=False),
    )
    op.create_table(
        "warnings",
        sa.Column("thread_id", sa.String(128), primary_key=True),
        sa.Column("hazard", sa.String(32), nullable=False),
        sa.Column("item_id", sa.String(64), nullable=False),
        sa.Column("level", sa.SmallInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("onset", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.Column("expires", TIME, nullable=True),
        sa.Column("incident_id", sa.String(64), sa.ForeignKey("incidents.incident_id"), nullable=True),
    )
    op.create_index("ix_warnings_item", "warnings", ["hazard", "item_id"])
    op.create_table(
        "warning_messages",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("thread_id", sa.String(128), sa.ForeignKey("warnings.thread_id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("level", sa.SmallInteger, nullable=False),
        sa.Column("sent_at", TIME, nullable=False),
        sa.Column("identifier", sa.String(255), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.UniqueConstraint("identifier", name="uq_warning_messages_identifier"),
    )
    op.create_index("ix_warning_messages_thread", "warning_messages", ["thread_id", "sent_at"])
    op.create_table(
        "mode_changes",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("at", TIME, nullable=False),
        sa.Column("from_mode", sa.String(32), nullable=False),
        sa.Column("to_mode", sa.String(32), nullable=False),
        sa.Column("response_level", sa.SmallInteger, nullable=False, server_default="0"),
        sa.Column("proposed_by", sa.String(128), nullable=False),
        sa.Column("decided_by", sa.String(128), nullable=True),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("rule_id", sa.String(64), nullable=False, server_default=""),
    )
    op.create_table(
        "playbook_runs",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("incident_id", sa.String(64), sa.ForeignKey("incidents.incident_id"), nullable=False),
        sa.Column("playbook_id", sa.String(64), nullable=False),
        sa.Column("playbook_version", sa.String(32), nullable=False),
        sa.Column("started_at", TIME, nullable=False),
        sa.Column("state", sa.Text, nullable=False, server_default="{}"),
    )
    op.create_table(
        "tasks",
        sa.Column("task_id", sa.String(64), primary_key=True),
        sa.Column("incident_id", sa.String(64), sa.ForeignKey("incidents.incident_id"), nullable=False),
        sa.Column("run_id", sa.String(64), sa.ForeignKey("playbook_runs.run_id"), nullable=True),
        sa.Column("step_id", sa.String(64), nullable=False, server_default=""),
        sa.Column("idempotency_key", sa.String(255), nullable=False),
        sa.Column("owner_role", sa.String(64), nullable=False),
        sa.Column("org_unit", sa.String(64), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("due_at", TIME, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("acked_by", sa.String(128), nullable=True),
        sa.Column("acked_at", TIME, nullable=True),
        sa.Column("done_by", sa.String(128), nullable=True),
        sa.Column("done_at", TIME, nullable=True),
        sa.Column("evidence", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", TIME, nullable=False),
        sa.UniqueConstraint("idempotency_key", name="uq_tasks_idempotency_key"),
    )
    op.create_index("ix_tasks_incident", "tasks", ["incident_id", "status"])
    op.create_table(
        "ack_requests",
        sa.Column("request_id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("addressee_role", sa.String(64), nullable=False),
        sa.Column("org_unit", sa.String(64), nullable=False),
        sa.Column("deadline", TIME, nullable=False),
        sa.Column("escalation_step", sa.SmallInteger, nullable=False, server_default="0"),
        sa.Column("chain", sa.Text, nullable=False, server_default="[]"),
        sa.Column("answered_by", sa.String(128), nullable=True),
        sa.Column("answered_at", TIME, nullable=True),
        sa.Column("channel", sa.String(32), nullable=True),
        sa.Column("idempotency_key", sa.String(255), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.UniqueConstraint("idempotency_key", name="uq_ack_requests_idempotency_key"),
    )
    op.create_index("ix_ack_requests_deadline", "ack_requests", ["answered_at", "deadline"])
    op.create_table(
        "roster",
        sa.Column("org_unit", sa.String(64), nullable=False),
        sa.Column("role", sa.String(64), nullable=False),
        sa.Column("person", sa.String(128), nullable=False),
        sa.Column("valid_from", TIME, nullable=False),
        sa.Column("valid_to", TIME, nullable=True),
        sa.PrimaryKeyConstraint("org_unit", "role", "person", "valid_from", name="pk_roster"),
    )
    op.create_table(
        "timeline",
        sa.Column("seq", ID, primary_key=True, autoincrement=False),
        sa.Column("occurred_at", TIME, nullable=False),
        sa.Column("recorded_at", TIME, nullable=False),
        sa.Column("incident_id", sa.String(64), nullable=True),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("role", sa.String(64), nullable=False),
        sa.Column("org_unit", sa.String(64), nullable=False, server_default=""),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("details", sa.Text, nullable=False, server_default="{}"),
        sa.Column("refs", sa.Text, nullable=False, server_default="[]"),
        sa.Column("idempotency_key", sa.String(255), nullable=True, unique=True),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_timeline_incident", "timeline", ["incident_id", "seq"])


def downgrade() -> None:
    op.drop_index("ix_timeline_incident", table_name="timeline")
    op.drop_table("timeline")
    op.drop_table("roster")
    op.drop_index("ix_ack_requests_deadline", table_name="ack_requests")
    op.drop_table("ack_requests")
    op.drop_index("ix_tasks_incident", table_name="tasks")
    op.drop_table("tasks")
    op.drop_table("playbook_runs")
    op.drop_table("mode_changes")
    op.drop_index("ix_warning_messages_thread", table_name="warning_messages")
    op.drop_table("warning_messages")
    op.drop_index("ix_warnings_item", table_name="warnings")
    op.drop_table("warnings")
    op.drop_table("incidents")
