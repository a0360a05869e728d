"""Real tables for what the cycles kept as JSON inside ``model_states`` blobs.

- ``item_levels``: the level of every item each cycle scored, per lead, with score and drivers;
- ``level_runs``, ``level_floors``: per cycle and hazard, the run and official floors its
  levels were scored from;
- ``data_notices``: the data notices in force;
- ``forecast_runs``: the forecast runs fetched (the one held per source);
- ``official_messages``: the official CAP messages fetched (those held per source);
- ``zone_rain``: the hourly rain per zone of the runs the cycles used;
- ``planner_*``: the command planner's state as records (its clock, mode and report state, the
  actions it emitted, and one table per mapping of the state: threads, incidents, playbook
  runs, acknowledgements, approvals, manual warnings).

Every existing row is carried forward: the JSON that main kept in ``model_states`` (model
``cycle``: keys ``levels`` and ``notices``; model ``forecast`` and ``official``: one row per
source; model ``command``, key ``planner``) is decoded into the new tables and those
``model_states`` rows are deleted. The levels blob held two sides — the levels a cycle found
and those it left — so the first are recorded at the cycle before it (from ``cycles``) and
the second at its own time; its run and official floors were the landslide model's (the
only hazard scored from a run then).
Arrays that are arrays (soil-water tanks, bucket storages) stay in ``model_states``.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import hashlib
import io
import json
from datetime import datetime, timedelta

import numpy as np
import sqlalchemy as sa
from alembic import op

from warn.store.planner import write_state
from warn.store.schema import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)
#: The hazard whose levels the old blob's run and official floors belonged to.
_RUN_HAZARD = "landslide"
#: Where the levels of the cycle before go when ``cycles`` has no earlier row.
_BEFORE = timedelta(microseconds=1)


def upgrade() -> None:
    op.create_table(
        "item_levels",
        sa.Column("cycle_at", TIME, nullable=False),
        sa.Column("hazard", sa.String(32), nullable=False),
        sa.Column("item_kind", sa.String(16), nullable=False),
        sa.Column("item_id", sa.String(64), nullable=False),
        sa.Column("lead", sa.String(8), nullable=False),
        sa.Column("level", sa.SmallInteger, nullable=False),
        sa.Column("score", sa.Double, nullable=True),
        sa.Column("drivers", sa.Text, nullable=False, server_default="[]"),
        sa.PrimaryKeyConstraint("cycle_at", "hazard", "item_kind", "item_id", "lead", name="pk_item_levels"),
    )
    op.create_index("ix_item_levels_item", "item_levels", ["hazard", "item_kind", "item_id", "lead", "cycle_at"])
    op.create_table(
        "level_runs",
        sa.Column("cycle_at", TIME, nullable=False),
        sa.Column("hazard", sa.String(32), nullable=False),
        sa.Column("run_id", sa.String(255), nullable=True),
        sa.PrimaryKeyConstraint("cycle_at", "hazard", name="pk_level_runs"),
    )
    op.create_table(
        "level_floors",
        sa.Column("cycle_at", TIME, nullable=False),
        sa.Column("hazard", sa.String(32), nullable=False),
        sa.Column("item_id", sa.String(64), nullable=False),
        sa.Column("level", sa.SmallInteger, nullable=False),
        sa.PrimaryKeyConstraint("cycle_at", "hazard", "item_id", name="pk_level_floors"),
    )
    op.create_table(
        "data_notices",
        sa.Column("digest", sa.String(16), primary_key=True),
        sa.Column("notice", sa.Text, nullable=False),
        sa.Column("began_at", TIME, nullable=False),
    )
    op.create_table(
        "forecast_runs",
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("issued_at", TIME, nullable=False),
        sa.Column("fetched_at", TIME, nullable=False),
        sa.Column("checksum", sa.String(80), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("etag", sa.Text, nullable=True),
        sa.Column("last_modified", sa.Text, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("held_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("source", "issued_at", name="pk_forecast_runs"),
    )
    op.create_index("ix_forecast_runs_status", "forecast_runs", ["source", "status"])
    op.create_table(
        "official_messages",
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("identifier", sa.String(255), nullable=False),
        sa.Column("sender", sa.String(255), nullable=False),
        sa.Column("sent", TIME, nullable=False),
        sa.Column("msg_type", sa.String(16), nullable=False),
        sa.Column("cap_status", sa.String(16), nullable=False),
        sa.Column("refs", sa.Text, nullable=False, server_default="[]"),
        sa.Column("hazard", sa.String(32), nullable=False),
        sa.Column("level", sa.SmallInteger, nullable=False),
        sa.Column("expires", TIME, nullable=False),
        sa.Column("zones", sa.Text, nullable=False, server_default="[]"),
        sa.Column("district", sa.Boolean, nullable=False),
        sa.Column("headline", sa.Text, nullable=False, server_default=""),
        sa.Column("raw", sa.Text, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("fetched_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("source", "identifier", name="pk_official_messages"),
    )
    op.create_index("ix_official_messages_held", "official_messages", ["source", "status", "position"])
    op.create_table(
        "zone_rain",
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("issued_at", TIME, nullable=False),
        sa.Column("layer", sa.String(64), nullable=False),
        sa.Column("zone_id", sa.String(64), nullable=False),
        sa.Column("hour_end", TIME, nullable=False),
        sa.Column("mean_mm", sa.Double, nullable=True),
        sa.Column("max_mm", sa.Double, nullable=True),
        sa.PrimaryKeyConstraint("source", "issued_at", "layer", "zone_id", "hour_end", name="pk_zone_rain"),
    )
    op.create_index("ix_zone_rain_hour", "zone_rain", ["layer", "hour_end", "issued_at"])
    _planner_tables()
    _carry_forward(op.get_bind())


def _planner_tables() -> None:
    op.create_table(
        "planner_state",
        sa.Column("id", sa.SmallInteger, primary_key=True, autoincrement=False),
        sa.Column("clock", TIME, nullable=True),
        sa.Column("mode_mode", sa.String(16), nullable=False),
        sa.Column("mode_response", sa.SmallInteger, nullable=True),
        sa.Column("mode_since", TIME, nullable=True),
        sa.Column("mode_last_trigger", TIME, nullable=True),
        sa.Column("mode_pending", sa.Text, nullable=True),
        sa.Column("mode_proposals", sa.Integer, nullable=False),
        sa.Column("mode_period", sa.Integer, nullable=False),
        sa.Column("mode_settled_at", TIME, nullable=True),
        sa.Column("reports_period", sa.Integer, nullable=False),
        sa.Column("reports_number", sa.Integer, nullable=False),
        sa.Column("reports_last_due", TIME, nullable=True),
        sa.Column("reports_active", sa.Boolean, nullable=False),
    )
    op.create_table("planner_emitted", sa.Column("action_key", sa.String(255), primary_key=True))
    _planner_map(
        "planner_threads",
        sa.Column("id", sa.String(128), nullable=False),
        sa.Column("hazard", sa.String(32), nullable=False),
        sa.Column("item_id", sa.String(64), nullable=False),
        sa.Column("item_kind", sa.String(16), nullable=False),
        sa.Column("town", sa.String(64), nullable=True),
        sa.Column("level", sa.SmallInteger, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("raised_at", TIME, nullable=False),
        sa.Column("as_of", TIME, nullable=False),
        sa.Column("none_since", TIME, nullable=True),
        sa.Column("cleared_at", TIME, nullable=True),
        sa.Column("attributes", sa.Text, nullable=False),
        sa.Column("drivers", sa.Text, nullable=False),
    )
    _planner_map(
        "planner_incidents",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("hazard", sa.String(32), nullable=False),
        sa.Column("opened_at", TIME, nullable=False),
        sa.Column("closed_at", TIME, nullable=True),
    )
    _planner_map(
        "planner_runs",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("playbook", sa.String(64), nullable=False),
        sa.Column("slot", sa.String(255), nullable=False),
        sa.Column("thread", sa.String(128), nullable=False),
        sa.Column("incident", sa.String(64), nullable=False),
        sa.Column("started_at", TIME, nullable=False),
        sa.Column("emitted", sa.Text, nullable=False),
        sa.Column("ended", sa.Boolean, nullable=False),
    )
    _planner_map(
        "planner_acks",
        sa.Column("id", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("incident", sa.String(64), nullable=True),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("targets", sa.Text, nullable=False),
        sa.Column("wait", sa.BigInteger, nullable=False),
        sa.Column("index", sa.Integer, nullable=False),
        sa.Column("deadline", TIME, nullable=False),
        sa.Column("answer", sa.Text, nullable=True),
        sa.Column("exhausted", sa.Boolean, nullable=False),
    )
    _planner_map(
        "planner_approvals",
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("at", TIME, nullable=False),
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
    )
    _planner_map(
        "planner_manual",
        sa.Column("hazard", sa.String(32), nullable=False),
        sa.Column("item_id", sa.String(64), nullable=False),
        sa.Column("item_kind", sa.String(16), nullable=False),
        sa.Column("town", sa.String(64), nullable=True),
        sa.Column("from_level", sa.SmallInteger, nullable=False),
        sa.Column("to_level", sa.SmallInteger, nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.Column("drivers", sa.Text, nullable=False),
        sa.Column("attributes", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
    )


def _planner_map(name: str, *columns: sa.Column) -> None:
    op.create_table(name, sa.Column("entry", sa.String(255), nullable=False),
                    sa.Column("position", sa.Integer, nullable=False), *columns,
                    sa.PrimaryKeyConstraint("entry", name=f"pk_{name}"))


def downgrade() -> None:
    """Drop the tables (what they hold is not put back into ``model_states``)."""
    for name in ("planner_manual", "planner_approvals", "planner_acks", "planner_runs", "planner_incidents",
                 "planner_threads", "planner_emitted", "planner_state"):
        op.drop_table(name)
    op.drop_index("ix_zone_rain_hour", table_name="zone_rain")
    op.drop_table("zone_rain")
    op.drop_index("ix_official_messages_held", table_name="official_messages")
    op.drop_table("official_messages")
    op.drop_index("ix_forecast_runs_status", table_name="forecast_runs")
    op.drop_table("forecast_runs")
    op.drop_table("data_notices")
    op.drop_table("level_floors")
    op.drop_table("level_runs")
    op.drop_index("ix_item_levels_item", table_name="item_levels")
    op.drop_table("item_levels")


# --- carrying the blobs forward -----------------------------------------------------------------

_metadata = sa.MetaData()
_states = sa.Table("model_states", _metadata, sa.Column("model", sa.String), sa.Column("key", sa.String),
                   sa.Column("valid_at", UTCDateTime), sa.Column("arrays", sa.LargeBinary))
_cycles = sa.Table("cycles", _metadata, sa.Column("at", UTCDateTime))
_levels = sa.Table("item_levels", _metadata, sa.Column("cycle_at", UTCDateTime), sa.Column("hazard", sa.String),
                   sa.Column("item_kind", sa.String), sa.Column("item_id", sa.String), sa.Column("lead", sa.String),
                   sa.Column("level", sa.SmallInteger), sa.Column("score", sa.Double), sa.Column("drivers", sa.Text))
_runs = sa.Table("level_runs", _metadata, sa.Column("cycle_at", UTCDateTime), sa.Column("hazard", sa.String),
                 sa.Column("run_id", sa.String))
_floors = sa.Table("level_floors", _metadata, sa.Column("cycle_at", UTCDateTime), sa.Column("hazard", sa.String),
                   sa.Column("item_id", sa.String), sa.Column("level", sa.SmallInteger))
_notices = sa.Table("data_notices", _metadata, sa.Column("digest", sa.String), sa.Column("notice", sa.Text),
                    sa.Column("began_at", UTCDateTime))
_forecasts = sa.Table("forecast_runs", _metadata, *(sa.Column(n, sa.Text) for n in (
    "source", "checksum", "url", "path", "etag", "last_modified", "status")),
    *(sa.Column(n, UTCDateTime) for n in ("issued_at", "fetched_at", "held_at")))
_official = sa.Table("official_messages", _metadata, *(sa.Column(n, sa.Text) for n in (
    "source", "identifier", "sender", "msg_type", "cap_status", "refs", "hazard", "zones", "headline", "raw",
    "status")), *(sa.Column(n, UTCDateTime) for n in ("sent", "expires", "fetched_at")),
    sa.Column("level", sa.SmallInteger), sa.Column("district", sa.Boolean), sa.Column("position", sa.Integer))


def _carry_forward(conn: sa.Connection) -> None:
    """Decode every JSON blob of ``model_states`` into the new tables, then delete it."""
    rows = conn.execute(sa.select(_states).where(sa.or_(
        sa.and_(_states.c.model == "cycle", _states.c.key.in_(("levels", "notices"))),
        sa.and_(_states.c.model == "command", _states.c.key == "planner"),
        _states.c.model.in_(("forecast", "official"))))).all()
    for row in rows:
        with np.load(io.BytesIO(row.arrays), allow_pickle=False) as data:
            value = json.loads(data["json"].tobytes().decode("utf-8"))
        if row.model == "cycle" and row.key == "levels":
            _carry_levels(conn, value)
        elif row.model == "cycle":
            _carry_notices(conn, value, row.valid_at)
        elif row.model == "command":
            write_state(conn, value, migrating=True)
        elif row.model == "forecast":
            _carry_run(conn, value, row.valid_at)
        else:
            _carry_official(conn, row.key, value)
        conn.execute(sa.delete(_states).where(_states.c.model == row.model, _states.c.key == row.key))


def _carry_levels(conn: sa.Connection, saved: dict) -> None:
    at = datetime.fromisoformat(saved["at"])
    before = conn.execute(sa.select(sa.func.max(_cycles.c.at)).where(_cycles.c.at < at)).scalar() or at - _BEFORE
    for when, side in ((before, "before"), (at, "after")):
        levels = [{"cycle_at": when, "hazard": hazard, "item_kind": kind, "item_id": item_id, "lead": "now",
                   "level": int(level), "score": None, "drivers": "[]"}
                  for hazard, kind, item_id, level in (slot.split(":", 2) + [v] for slot, v in saved[side].items())]
        if levels:
            conn.execute(sa.insert(_levels), levels)
        run = saved.get(f"run_{side}")
        if run is None:
            continue
        conn.execute(sa.insert(_runs), {"cycle_at": when, "hazard": _RUN_HAZARD, "run_id": run})
        floors = json.loads(saved.get(f"official_{side}") or "{}")
        if floors:
            conn.execute(sa.insert(_floors), [{"cycle_at": when, "hazard": _RUN_HAZARD, "item_id": zone,
                                               "level": int(level)} for zone, level in floors.items()])


def _carry_notices(conn: sa.Connection, notices: list[str], at: datetime) -> None:
    rows = {hashlib.sha256(n.encode("utf-8")).hexdigest()[:16]: n for n in notices}
    if rows:
        conn.execute(sa.insert(_notices), [{"digest": d, "notice": n, "began_at": at} for d, n in rows.items()])


def _carry_run(conn: sa.Connection, run: dict, at: datetime) -> None:
    conn.execute(sa.insert(_forecasts), {
        "source": run["source"], "issued_at": datetime.fromisoformat(run["issued"]), "checksum": run["checksum"],
        "url": run["url"], "path": run["path"], "etag": run.get("etag"), "last_modified": run.get("last_modified"),
        "fetched_at": datetime.fromisoformat(run["fetched_at"]), "status": "held", "held_at": at})


def _carry_official(conn: sa.Connection, source: str, saved: dict) -> None:
    fetched = datetime.fromisoformat(saved["fetched_at"])
    rows = [{"source": source, "identifier": b["identifier"], "sender": b["sender"],
             "sent": datetime.fromisoformat(b["sent"]), "msg_type": b["msg_type"], "cap_status": b["status"],
             "refs": json.dumps(list(b["references"])), "hazard": b["hazard"], "level": int(b["level"]),
             "expires": datetime.fromisoformat(b["expires"]), "zones": json.dumps(list(b["zones"]),
                                                                                 ensure_ascii=False),
             "district": bool(b["district"]), "headline": b["headline"], "raw": None, "status": "held",
             "position": i, "fetched_at": fetched} for i, b in enumerate(saved["messages"])]
    if rows:
        conn.execute(sa.insert(_official), rows)
