"""The store's tables as the code reads and writes them (the schema at the head revision).

The migrations in ``warn/store/migrations/versions/`` create these tables; this module
describes the result for SQLAlchemy Core queries and must agree with the head
revision (``tests/store/test_migrations.py`` checks it does).

Times are :class:`UTCDateTime`: timezone-aware UTC in Python, ``timestamptz`` on
PostgreSQL and naive-UTC text ``YYYY-MM-DD HH:MM:SS.ffffff`` in a ``DATETIME``
column on SQLite (fixed width, so text order is time order), exact to the
microsecond on both. :func:`~warn.store.times.encode_time` and
:func:`~warn.store.times.decode_time` (:mod:`warn.store.times`) are the one definition
of that form.

Tables
------
sensors
    The catalogue: one row per sensor (:class:`warn.sources.readings.Sensor`);
    ``interval_s`` the expected seconds between readings.
readings
    One row per (sensor, phenomenon time): the value as last revised (``NULL`` when
    missing), its unit, QC flag and rule, when it arrived, and how many times it was
    revised. Never deleted.
reading_revisions
    Every change of a reading's value, flag or rule: old and new side by side.
heartbeats
    One row per source (a feed, the cycle): when it was last seen, how often it is
    expected, and whether it is stale.
rejected_readings
    What a feed sent that was refused, one row per payload or record: the feed, when it
    arrived, the reason, and of a pushed payload its SHA-256 and size (never the payload).
model_states
    State a model carries from one cycle to the next (the SWI tanks of every grid cell,
    …): one row per (model, key), the arrays as an ``.npz`` blob, and the time they hold for.
level_memory
    Levels with memory: one row per (hazard, item) — the remembered level, since when
    the score has stayed below its boundary − margin, and the last evidence time.
incidents, mode_changes
    An incident per event handled (hazard, opened/closed, response level, mode) and
    every mode proposal and change with who proposed and who decided it (``NULL``
    while pending), the rule behind it and the planner action's idempotency key.
warnings, warning_versions, bulletins, warning_messages
    One row per warning thread (hazard, zone or point): level, version, status
    (active/cleared), onset, expiry, incident, and every version it went through; one row per
    message thread people read (hazard, area, audience: the items it lists); every CAP message of a
    message thread (Alert/Update), immutable (rows before migration 0014 name a warning thread).
playbook_runs, tasks, ack_requests, roster
    Playbooks started in an incident (their state as JSON text), the tasks their steps
    hand to roles (idempotency key unique; no incident for district-wide ones), every 叫应 call, approval or task
    acknowledgement asked for (deadline, escalation step, chain as JSON text), and who
    holds which role in which org unit when.
timeline
    The append-only, hash-chained record of every change of state
    (:mod:`warn.store.timeline`): ``seq`` 1, 2, 3, … assigned by the store, details
    and refs as canonical JSON text, each row's ``hash`` covering its content and the
    previous row's hash.
cycles
    One row per warning cycle, keyed by its time: started, finished, status
    (running/done/failed) and error, the inputs used with their age (JSON text), and its
    counts (items scored, crossings, actions planned and applied, messages queued).
inbox
    What people did that the planner must hear (answers, approvals, mode decisions) as the
    planner's event in JSON text, who and when, a unique idempotency key, when it was
    consumed, and when it was quarantined with the error that set it aside (never planned again).
level_sets, level_item_lists
    The level of every item each cycle scored, one set per cycle time, hazard name, item
    kind and lead ``now``/``2h``/``24h`` (:mod:`warn.store.levelsets`): the levels (−1 unknown
    … 4 red, int8) and scores (float64, NaN: none) as little-endian arrays in the order of
    the set's item list, the drivers and the ensemble probabilities as JSON arrays; each
    distinct item list once in ``level_item_lists`` (JSON text, by digest). Migration 0024:
    a cycle is a row per hazard, kind and lead (18 for the demo's six hazards), not a row per
    item and lead (42,000 in a city), and its write no longer grows with the store's age.
level_runs, level_floors
    Per cycle and hazard, the forecast run its levels were scored from (``run_id``, ``NULL``
    without one) and the official floors applied then (level by item id): what decides
    whether the next cycle must score the hazard again.
data_notices
    The data notices (a silent feed, no forecast run, …) in force after the last cycle,
    keyed by a digest of the text, with when they began.
forecast_runs
    Every forecast run fetched and decoded, per (source, issue time): when, its checksum,
    URL, cached path, ETag / Last-Modified, and ``status`` (``held``: the one a source's
    next fetch is conditional on; ``superseded``).
official_messages
    Every official CAP message fetched, per (source, identifier): its header, hazard name,
    level, validity, the zone ids it covers (JSON text) and the district flag, its headline
    and XML; ``status`` ``held`` for the messages of the source's last successful fetch (in
    fetch order, ``position``), ``dropped`` for those it no longer published.
rain_runs, rain_hours
    The hourly rain of each forecast run a cycle used, per zone of a zone layer: the run (source,
    issue time, layer) once in ``rain_runs`` with the zones of its arrays in their order (JSON
    text), and per hour the zones' mean and maximum depth (mm) over the hour ending ``hour_end`` in
    ``rain_hours``, as little-endian float64 arrays, NaN where unknown (migration 0022: a run's rows
    no longer repeat its URL; 0023: a city run is 72 rows, not 720,000).
hourly_rain
    The hourly rain a model keeps as its history (:mod:`warn.store.hourly`): one row per
    (model, key, hour end) — the depths (mm) of every cell or point over the hour as
    zlib-compressed float32 with their shape, and the issue time of the run they came from.
person_messages
    What the planner addressed to a person — a notice, a request's ask or escalation, a task — kept in
    the transaction that applied it (:mod:`warn.store.command`), until the reach step has planned its
    deliveries (``reached_at``): who, which post, what, the request or task, the level and deadline.
deliveries
    Every message to a person on one channel (:mod:`warn.store.deliveries`): what it is about (the
    planner action's key, the request or task), the person and their post and org level, the channel
    and its place in the person's order (``step``), the outbox row it went as, and what became of it —
    queued, sent, delivered, failed (with the gateway's reason) — with the times of each, and the
    channel's answer when one came through it.
links
    Every signed one-tap link sent to a person (:mod:`warn.links`): its id, purpose, subject (request
    or task), person and expiry — the claims its MAC is over — and when and how it was used (once).
attachments
    Photos people sent with a task's feedback or a danger report: SHA-256 id, media type, bytes,
    size, when and who.
danger_reports
    Every danger reported from below the district (险情上报): who, from which post, when, what and
    where (their words, the phone's location), the photo's attachment, and the channel it came through.
accounts, sessions, login_attempts
    Passwords for the centre's pages (:mod:`warn.store.accounts`): per person a salt, the scrypt digest
    and its parameters, failures in a row and the lockout; every login's session by the SHA-256 of its
    id with its CSRF token, address and expiry; and every login attempt by address and time (the rate
    limit). ``tokens.scope`` narrows a personal token to some org units.
planner_state, planner_emitted, planner_threads, planner_incidents, planner_runs, planner_acks, planner_manual,
planner_bulletins, planner_dangers
    The command planner's state (:class:`warn.command.planner.State`) as records: one row of
    its clock, mode and report state and message count; the keys of the actions it emitted; and
    per mapping (warning threads, incidents, playbook runs, pending acknowledgements, manual
    warnings, message threads) one row per entry with its key, its
    place in the mapping and the record's fields (nested values as JSON text). Every save numbers
    the state (``planner_state.revision``) and stamps the rows it wrote with that number, so a
    reader holding an older revision reads only the rows changed since; ``rewritten`` is the last
    revision that removed or reordered rows (a reader older than it reads all).
outbox
    Every message to every recipient before it is sent (:mod:`warn.store.outbox`):
    payload bytes and content type, a unique idempotency key, status
    (queued/sending/sent/failed/refused), attempts, next attempt, last error, the
    channel's public flag and the CAP status (Actual/Exercise/Test).
leases
    Who leads what (:mod:`warn.store.leases`): per name (a deployment's district code) the process
    holding it, its term (one more at every change of holder: the fencing token), when the term began
    and when the lease runs out unless renewed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Double,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator, TypeEngine

from warn.store.times import decode_time, encode_time


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime, stored exactly on SQLite and PostgreSQL (see :func:`encode_time`).

    Binding a naive datetime raises :class:`ValueError`: a time without a zone is
    ambiguous. Aware datetimes in any zone are converted to UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[object]:
        return dialect.type_descriptor(String(26) if dialect.name == "sqlite" else DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | str | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"expected a timezone-aware datetime, got naive {value.isoformat()}")
        return encode_time(dialect.name)(value)

    def process_result_value(self, value: datetime | str | None, dialect: Dialect) -> datetime | None:
        return None if value is None else decode_time(value)


metadata = MetaData()

sensors = Table(
    "sensors",
    metadata,
    Column("sensor_id", String(64), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("name", Text, nullable=False),
    Column("lon", Double, nullable=False),
    Column("lat", Double, nullable=False),
    Column("interval_s", Double, nullable=False),
    Column("point_id", String(64), nullable=False, server_default=""),
    Column("updated_at", UTCDateTime, nullable=False),
)

readings = Table(
    "readings",
    metadata,
    Column("sensor_id", String(64), ForeignKey("sensors.sensor_id"), nullable=False),
    Column("phenomenon_time", UTCDateTime, nullable=False),
    Column("arrival_time", UTCDateTime, nullable=False),
    Column("value", Double, nullable=True),
    Column("unit", String(8), nullable=False),
    Column("qc_flag", String(16), nullable=False),
    Column("qc_rule", String(64), nullable=False, server_default=""),
    Column("revision_count", Integer, nullable=False, server_default="0"),
    PrimaryKeyConstraint("sensor_id", "phenomenon_time", name="pk_readings"),
    sqlite_with_rowid=False,
)

reading_revisions = Table(
    "reading_revisions",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("sensor_id", String(64), nullable=False),
    Column("phenomenon_time", UTCDateTime, nullable=False),
    Column("old_value", Double, nullable=True),
    Column("new_value", Double, nullable=True),
    Column("old_flag", String(16), nullable=False),
    Column("new_flag", String(16), nullable=False),
    Column("old_rule", String(64), nullable=False),
    Column("new_rule", String(64), nullable=False),
    Column("old_arrival_time", UTCDateTime, nullable=False),
    Column("new_arrival_time", UTCDateTime, nullable=False),
    Column("revised_at", UTCDateTime, nullable=False),
    ForeignKeyConstraint(["sensor_id", "phenomenon_time"], ["readings.sensor_id", "readings.phenomenon_time"],
                         name="fk_reading_revisions_reading"),
    Index("ix_reading_revisions_reading", "sensor_id", "phenomenon_time"),
)

heartbeats = Table(
    "heartbeats",
    metadata,
    Column("source", String(128), primary_key=True),
    Column("last_seen", UTCDateTime, nullable=True),
    Column("expected_interval_s", Double, nullable=False),
    Column("stale", Boolean, nullable=False),
    Column("detail", Text, nullable=False, server_default=""),
    Column("updated_at", UTCDateTime, nullable=False),
)

model_states = Table(
    "model_states",
    metadata,
    Column("model", String(64), nullable=False),
    Column("key", String(128), nullable=False),
    Column("valid_at", UTCDateTime, nullable=False),
    Column("arrays", LargeBinary, nullable=False),
    Column("detail", Text, nullable=False, server_default=""),
    Column("updated_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("model", "key", name="pk_model_states"),
)

level_memory = Table(
    "level_memory",
    metadata,
    Column("hazard", String(32), nullable=False),
    Column("item_id", String(64), nullable=False),
    Column("level", SmallInteger, nullable=False),
    Column("below_since", UTCDateTime, nullable=True),
    Column("evidence_at", UTCDateTime, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("hazard", "item_id", name="pk_level_memory"),
)

_ID = BigInteger().with_variant(Integer, "sqlite")

incidents = Table(
    "incidents",
    metadata,
    Column("incident_id", String(64), primary_key=True),
    Column("hazard", String(32), nullable=False),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("closed_at", UTCDateTime, nullable=True),
    Column("response_level", SmallInteger, nullable=False, server_default="0"),
    Column("mode", String(32), nullable=False),
)

warnings = Table(
    "warnings",
    metadata,
    Column("thread_id", String(128), primary_key=True),
    Column("hazard", String(32), nullable=False),
    Column("item_id", String(64), nullable=False),
    Column("level", SmallInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("onset", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("expires", UTCDateTime, nullable=True),
    Column("incident_id", String(64), ForeignKey("incidents.incident_id"), nullable=True),
    Column("version", Integer, nullable=False, server_default="0"),
    Index("ix_warnings_item", "hazard", "item_id"),
)

warning_messages = Table(
    "warning_messages",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("thread_id", String(128), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("level", SmallInteger, nullable=False),
    Column("sent_at", UTCDateTime, nullable=False),
    Column("identifier", String(255), nullable=False),
    Column("body", Text, nullable=False),
    UniqueConstraint("identifier", name="uq_warning_messages_identifier"),
    Index("ix_warning_messages_thread", "thread_id", "sent_at"),
)

warning_versions = Table(
    "warning_versions",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("thread_id", String(128), ForeignKey("warnings.thread_id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("level", SmallInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    UniqueConstraint("thread_id", "version", name="uq_warning_versions_thread_version"),
    Index("ix_warning_versions_thread", "thread_id", "at"),
)

bulletins = Table(
    "bulletins",
    metadata,
    Column("bulletin_id", String(128), primary_key=True),
    Column("hazard", String(32), nullable=False),
    Column("area_id", String(64), nullable=False),
    Column("audience", String(16), nullable=False),
    Column("level", SmallInteger, nullable=False),
    Column("version", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("incident_id", String(64), ForeignKey("incidents.incident_id"), nullable=True),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("listed", Text, nullable=False, server_default="[]"),
    Index("ix_bulletins_area", "hazard", "area_id"),
)

mode_changes = Table(
    "mode_changes",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("from_mode", String(32), nullable=False),
    Column("to_mode", String(32), nullable=False),
    Column("response_level", SmallInteger, nullable=False, server_default="0"),
    Column("proposed_by", String(128), nullable=False),
    Column("decided_by", String(128), nullable=True),
    Column("reason", Text, nullable=False, server_default=""),
    Column("rule_id", String(64), nullable=False, server_default=""),
    Column("idempotency_key", String(255), nullable=True),
    Index("uq_mode_changes_idempotency_key", "idempotency_key", unique=True),
)

playbook_runs = Table(
    "playbook_runs",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("incident_id", String(64), ForeignKey("incidents.incident_id"), nullable=False),
    Column("playbook_id", String(64), nullable=False),
    Column("playbook_version", String(32), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("state", Text, nullable=False, server_default="{}"),
)

tasks = Table(
    "tasks",
    metadata,
    Column("task_id", String(255), primary_key=True),
    Column("incident_id", String(64), ForeignKey("incidents.incident_id"), nullable=True),
    Column("run_id", String(64), ForeignKey("playbook_runs.run_id"), nullable=True),
    Column("step_id", String(64), nullable=False, server_default=""),
    Column("idempotency_key", String(255), nullable=False),
    Column("owner_role", String(64), nullable=False),
    Column("org_unit", String(64), nullable=False),
    Column("summary", Text, nullable=False),
    Column("due_at", UTCDateTime, nullable=True),
    Column("status", String(16), nullable=False),
    Column("acked_by", String(128), nullable=True),
    Column("acked_at", UTCDateTime, nullable=True),
    Column("done_by", String(128), nullable=True),
    Column("done_at", UTCDateTime, nullable=True),
    Column("evidence", Text, nullable=False, server_default=""),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("idempotency_key", name="uq_tasks_idempotency_key"),
    Index("ix_tasks_incident", "incident_id", "status"),
)

ack_requests = Table(
    "ack_requests",
    metadata,
    Column("request_id", String(255), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("addressee_role", String(64), nullable=False),
    Column("org_unit", String(64), nullable=False),
    Column("deadline", UTCDateTime, nullable=False),
    Column("escalation_step", SmallInteger, nullable=False, server_default="0"),
    Column("chain", Text, nullable=False, server_default="[]"),
    Column("answered_by", String(128), nullable=True),
    Column("answered_at", UTCDateTime, nullable=True),
    Column("channel", String(32), nullable=True),
    Column("idempotency_key", String(255), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("idempotency_key", name="uq_ack_requests_idempotency_key"),
    Index("ix_ack_requests_deadline", "answered_at", "deadline"),
)

roster = Table(
    "roster",
    metadata,
    Column("org_unit", String(64), nullable=False),
    Column("role", String(64), nullable=False),
    Column("person", String(128), nullable=False),
    Column("valid_from", UTCDateTime, nullable=False),
    Column("valid_to", UTCDateTime, nullable=True),
    PrimaryKeyConstraint("org_unit", "role", "person", "valid_from", name="pk_roster"),
)

timeline = Table(
    "timeline",
    metadata,
    Column("seq", _ID, primary_key=True, autoincrement=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("incident_id", String(64), nullable=True),
    Column("actor", String(128), nullable=False),
    Column("role", String(64), nullable=False),
    Column("org_unit", String(64), nullable=False, server_default=""),
    Column("kind", String(32), nullable=False),
    Column("summary", Text, nullable=False),
    Column("details", Text, nullable=False, server_default="{}"),
    Column("refs", Text, nullable=False, server_default="[]"),
    Column("idempotency_key", String(255), nullable=True, unique=True),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_timeline_incident", "incident_id", "seq"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("channel", String(64), nullable=False),
    Column("recipient", String(255), nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("content_type", String(128), nullable=False),
    Column("idempotency_key", String(255), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("last_error", Text, nullable=False, server_default=""),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime, nullable=True),
    Column("public", Boolean, nullable=False),
    Column("cap_status", String(16), nullable=False),
    UniqueConstraint("idempotency_key", name="uq_outbox_idempotency_key"),
    Index("ix_outbox_recipient", "channel", "recipient", "status", "id"),
    Index("ix_outbox_due", "status", "next_attempt_at"),
)

cycles = Table(
    "cycles",
    metadata,
    Column("at", UTCDateTime, primary_key=True),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
    Column("status", String(16), nullable=False),
    Column("inputs", Text, nullable=False, server_default="{}"),
    Column("items", Integer, nullable=False, server_default="0"),
    Column("crossings", Integer, nullable=False, server_default="0"),
    Column("actions", Integer, nullable=False, server_default="0"),
    Column("applied", Integer, nullable=False, server_default="0"),
    Column("messages", Integer, nullable=False, server_default="0"),
    Column("error", Text, nullable=False, server_default=""),
)

inbox = Table(
    "inbox",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("event", Text, nullable=False),
    Column("idempotency_key", String(255), nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("consumed_at", UTCDateTime, nullable=True),
    Column("quarantined_at", UTCDateTime, nullable=True),
    Column("error", Text, nullable=False, server_default=""),
    UniqueConstraint("idempotency_key", name="uq_inbox_idempotency_key"),
    Index("ix_inbox_pending", "consumed_at", "at"),
)

level_item_lists = Table(
    "level_item_lists",
    metadata,
    Column("list_id", Integer, primary_key=True, autoincrement=True),
    Column("digest", String(32), nullable=False),
    Column("item_ids", Text, nullable=False),
    UniqueConstraint("digest", name="uq_level_item_lists_digest"),
)

level_sets = Table(
    "level_sets",
    metadata,
    Column("cycle_at", UTCDateTime, nullable=False),
    Column("hazard", String(32), nullable=False),
    Column("item_kind", String(16), nullable=False),
    Column("lead", String(8), nullable=False),
    Column("list_id", Integer, ForeignKey("level_item_lists.list_id"), nullable=False),
    Column("levels", LargeBinary, nullable=False),
    Column("scores", LargeBinary, nullable=False),
    Column("drivers", Text, nullable=False),
    Column("probability", Text, nullable=True),
    PrimaryKeyConstraint("cycle_at", "hazard", "item_kind", "lead", name="pk_level_sets"),
    Index("ix_level_sets_group", "hazard", "item_kind", "lead", "cycle_at", "list_id"),
)

level_runs = Table(
    "level_runs",
    metadata,
    Column("cycle_at", UTCDateTime, nullable=False),
    Column("hazard", String(32), nullable=False),
    Column("run_id", String(255), nullable=True),
    PrimaryKeyConstraint("cycle_at", "hazard", name="pk_level_runs"),
)

level_floors = Table(
    "level_floors",
    metadata,
    Column("cycle_at", UTCDateTime, nullable=False),
    Column("hazard", String(32), nullable=False),
    Column("item_id", String(64), nullable=False),
    Column("level", SmallInteger, nullable=False),
    PrimaryKeyConstraint("cycle_at", "hazard", "item_id", name="pk_level_floors"),
)

data_notices = Table(
    "data_notices",
    metadata,
    Column("digest", String(16), primary_key=True),
    Column("notice", Text, nullable=False),
    Column("began_at", UTCDateTime, nullable=False),
)

forecast_runs = Table(
    "forecast_runs",
    metadata,
    Column("source", String(64), nullable=False),
    Column("issued_at", UTCDateTime, nullable=False),
    Column("fetched_at", UTCDateTime, nullable=False),
    Column("checksum", String(80), nullable=False),
    Column("url", Text, nullable=False),
    Column("path", Text, nullable=False),
    Column("etag", Text, nullable=True),
    Column("last_modified", Text, nullable=True),
    Column("status", String(16), nullable=False),
    Column("held_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("source", "issued_at", name="pk_forecast_runs"),
    Index("ix_forecast_runs_status", "source", "status"),
)

official_messages = Table(
    "official_messages",
    metadata,
    Column("source", String(64), nullable=False),
    Column("identifier", String(255), nullable=False),
    Column("sender", String(255), nullable=False),
    Column("sent", UTCDateTime, nullable=False),
    Column("msg_type", String(16), nullable=False),
    Column("cap_status", String(16), nullable=False),
    Column("refs", Text, nullable=False, server_default="[]"),
    Column("hazard", String(32), nullable=False),
    Column("level", SmallInteger, nullable=False),
    Column("expires", UTCDateTime, nullable=False),
    Column("zones", Text, nullable=False, server_default="[]"),
    Column("district", Boolean, nullable=False),
    Column("headline", Text, nullable=False, server_default=""),
    Column("raw", Text, nullable=True),
    Column("status", String(16), nullable=False),
    Column("position", Integer, nullable=False),
    Column("fetched_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("source", "identifier", name="pk_official_messages"),
    Index("ix_official_messages_held", "source", "status", "position"),
)

rain_runs = Table(
    "rain_runs",
    metadata,
    Column("run_id", Integer, primary_key=True, autoincrement=True),
    Column("source", Text, nullable=False),
    Column("issued_at", UTCDateTime, nullable=False),
    Column("layer", String(64), nullable=False),
    Column("zone_ids", Text, nullable=False, server_default="[]"),  # JSON: the zones of its arrays, in order
    UniqueConstraint("source", "issued_at", "layer", name="uq_rain_runs"),
    Index("ix_rain_runs_layer", "layer", "issued_at"),
)

rain_hours = Table(
    "rain_hours",
    metadata,
    Column("run_id", Integer, ForeignKey("rain_runs.run_id"), nullable=False),
    Column("hour_end", UTCDateTime, nullable=False),
    Column("mean_mm", LargeBinary, nullable=False),  # <f8 per zone of the run's zone_ids; NaN: unknown
    Column("max_mm", LargeBinary, nullable=False),
    PrimaryKeyConstraint("run_id", "hour_end", name="pk_rain_hours"),
    Index("ix_rain_hours_hour", "hour_end"),
)

rejected_readings = Table(
    "rejected_readings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(128), nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("reason", Text, nullable=False),
    Column("payload_sha256", String(64), nullable=True),
    Column("payload_bytes", Integer, nullable=True),
    Index("ix_rejected_readings_source", "source", "received_at"),
)

hourly_rain = Table(
    "hourly_rain",
    metadata,
    Column("model", String(64), nullable=False),
    Column("key", String(128), nullable=False),
    Column("hour_end", UTCDateTime, nullable=False),
    Column("issued_at", UTCDateTime, nullable=False),
    Column("shape", String(64), nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("model", "key", "hour_end", name="pk_hourly_rain"),
)

tokens = Table(
    "tokens",
    metadata,
    Column("token_id", String(32), primary_key=True),
    Column("person", String(128), nullable=False),
    Column("salt", LargeBinary, nullable=False),
    Column("digest", LargeBinary, nullable=False),
    Column("issued_at", UTCDateTime, nullable=False),
    Column("issued_by", String(128), nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
    Column("revoked_by", String(128), nullable=True),
    Column("scope", String(512), nullable=False, server_default=""),
    Index("ix_tokens_person", "person", "revoked_at"),
)

accounts = Table(
    "accounts",
    metadata,
    Column("person", String(128), primary_key=True),
    Column("salt", LargeBinary, nullable=False),
    Column("digest", LargeBinary, nullable=False),
    Column("kdf", String(64), nullable=False),
    Column("failed_in_a_row", Integer, nullable=False, server_default="0"),
    Column("locked_until", UTCDateTime, nullable=True),
    Column("last_login_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("changed_at", UTCDateTime, nullable=False),
    Column("changed_by", String(128), nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("person", String(128), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("address", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime, nullable=True),
    Index("ix_sessions_person", "person", "ended_at"),
)

login_attempts = Table(
    "login_attempts",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("address", String(64), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_login_attempts_address", "address", "at"),
)


person_messages = Table(
    "person_messages",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("key", String(255), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("incident_id", String(64), nullable=True),
    Column("person", String(128), nullable=False),
    Column("post", String(160), nullable=False),
    Column("request_id", String(255), nullable=True),
    Column("ack_kind", String(16), nullable=True),
    Column("task_id", String(255), nullable=True),
    Column("level", SmallInteger, nullable=False),
    Column("text", Text, nullable=False),
    Column("deadline", UTCDateTime, nullable=True),
    Column("reached_at", UTCDateTime, nullable=True),
    Index("ix_person_messages_unreached", "reached_at", "id"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("subject", String(255), nullable=False),
    Column("request_id", String(255), nullable=True),
    Column("task_id", String(255), nullable=True),
    Column("incident_id", String(64), nullable=True),
    Column("person", String(128), nullable=False),
    Column("post", String(160), nullable=False),
    Column("org_level", String(16), nullable=False),
    Column("channel", String(64), nullable=False),
    Column("channel_kind", String(32), nullable=False),
    Column("step", Integer, nullable=False),
    Column("outbox_key", String(255), nullable=False, unique=True),
    Column("status", String(16), nullable=False),
    Column("queued_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime, nullable=True),
    Column("delivered_at", UTCDateTime, nullable=True),
    Column("failed_at", UTCDateTime, nullable=True),
    Column("answered_at", UTCDateTime, nullable=True),
    Column("detail", Text, nullable=False, server_default=""),
    UniqueConstraint("subject", "person", "channel", name="uq_deliveries_subject_person_channel"),
    Index("ix_deliveries_request", "request_id"),
    Index("ix_deliveries_person", "person", "queued_at"),
)

links = Table(
    "links",
    metadata,
    Column("link_id", String(32), primary_key=True),
    Column("purpose", String(16), nullable=False),
    Column("subject", String(255), nullable=False),
    Column("person", String(128), nullable=False),
    Column("issued_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime, nullable=True),
    Column("used_via", String(32), nullable=True),
    Index("ix_links_subject", "subject", "person"),
)

attachments = Table(
    "attachments",
    metadata,
    Column("attachment_id", String(64), primary_key=True),
    Column("content_type", String(64), nullable=False),
    Column("size", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("received_by", String(128), nullable=False),
)

danger_reports = Table(
    "danger_reports",
    metadata,
    Column("report_id", String(64), primary_key=True),
    Column("by", String(128), nullable=False),
    Column("role", String(32), nullable=False),
    Column("org_unit", String(96), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("what", Text, nullable=False),
    Column("place", Text, nullable=False, server_default=""),
    Column("lon", Double, nullable=True),
    Column("lat", Double, nullable=True),
    Column("photo", String(64), ForeignKey("attachments.attachment_id"), nullable=True),
    Column("via", String(32), nullable=False),
)


def _planner_map(name: str, *columns: Column) -> Table:
    """A table of the entries of one mapping of the planner's state: the entry's key, its place in the
    mapping's order, and the record's fields."""
    return Table(name, metadata, Column("entry", String(255), nullable=False),
                 Column("position", Integer, nullable=False), *columns,
                 Column("revision", BigInteger, nullable=False, server_default="0"),
                 PrimaryKeyConstraint("entry", name=f"pk_{name}"), Index(f"ix_{name}_revision", "revision"))


planner_state = Table(
    "planner_state",
    metadata,
    Column("id", SmallInteger, primary_key=True, autoincrement=False),
    Column("clock", UTCDateTime, nullable=True),
    Column("mode_mode", String(16), nullable=False),
    Column("mode_response", SmallInteger, nullable=True),
    Column("mode_since", UTCDateTime, nullable=True),
    Column("mode_last_trigger", UTCDateTime, nullable=True),
    Column("mode_pending", Text, nullable=True),
    Column("mode_proposals", Integer, nullable=False),
    Column("mode_period", Integer, nullable=False),
    Column("mode_settled_at", UTCDateTime, nullable=True),
    Column("mode_city", Text, nullable=True),
    Column("mode_linked", String(64), nullable=True),
    Column("reports_period", Integer, nullable=False),
    Column("reports_number", Integer, nullable=False),
    Column("reports_last_due", UTCDateTime, nullable=True),
    Column("reports_active", Boolean, nullable=False),
    Column("serial", Integer, nullable=False, server_default="0"),
    Column("instant", UTCDateTime, nullable=True),
    Column("instant_count", Integer, nullable=False, server_default="0"),
    Column("revision", BigInteger, nullable=False, server_default="0"),
    Column("rewritten", BigInteger, nullable=False, server_default="0"),
)

planner_emitted = Table(
    "planner_emitted",
    metadata,
    Column("action_key", String(255), primary_key=True),
    Column("revision", BigInteger, nullable=False, server_default="0"),
    Index("ix_planner_emitted_revision", "revision"),
)

planner_threads = _planner_map(
    "planner_threads",
    Column("id", String(128), nullable=False),
    Column("hazard", String(32), nullable=False),
    Column("item_id", String(64), nullable=False),
    Column("item_kind", String(16), nullable=False),
    Column("town", String(64), nullable=True),
    Column("level", SmallInteger, nullable=False),
    Column("version", Integer, nullable=False),
    Column("raised_at", UTCDateTime, nullable=False),
    Column("as_of", UTCDateTime, nullable=False),
    Column("none_since", UTCDateTime, nullable=True),
    Column("cleared_at", UTCDateTime, nullable=True),
    Column("attributes", Text, nullable=False),
    Column("drivers", Text, nullable=False),
)

planner_incidents = _planner_map(
    "planner_incidents",
    Column("id", String(64), nullable=False),
    Column("hazard", String(32), nullable=False),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("closed_at", UTCDateTime, nullable=True),
)

planner_runs = _planner_map(
    "planner_runs",
    Column("id", String(64), nullable=False),
    Column("playbook", String(64), nullable=False),
    Column("slot", String(255), nullable=False),
    Column("thread", String(128), nullable=False),
    Column("incident", String(64), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("emitted", Text, nullable=False),
    Column("ended", Boolean, nullable=False),
)

planner_acks = _planner_map(
    "planner_acks",
    Column("id", String(255), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("incident", String(64), nullable=True),
    Column("subject", Text, nullable=False),
    Column("targets", Text, nullable=False),
    Column("wait", BigInteger, nullable=False),
    Column("index", Integer, nullable=False),
    Column("deadline", UTCDateTime, nullable=False),
    Column("answer", Text, nullable=True),
    Column("exhausted", Boolean, nullable=False),
    Column("level", SmallInteger, nullable=False, server_default="0"),
)

planner_manual = _planner_map(
    "planner_manual",
    Column("hazard", String(32), nullable=False),
    Column("item_id", String(64), nullable=False),
    Column("item_kind", String(16), nullable=False),
    Column("town", String(64), nullable=True),
    Column("from_level", SmallInteger, nullable=False),
    Column("to_level", SmallInteger, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("drivers", Text, nullable=False),
    Column("attributes", Text, nullable=False),
    Column("reason", Text, nullable=False),
)

planner_bulletins = _planner_map(
    "planner_bulletins",
    Column("id", String(128), nullable=False),
    Column("hazard", String(32), nullable=False),
    Column("area", String(64), nullable=False),
    Column("audience", String(16), nullable=False),
    Column("incident", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("issued_at", UTCDateTime, nullable=False),
    Column("listed", Text, nullable=False),
    Column("cleared_at", UTCDateTime, nullable=True),
)

planner_dangers = _planner_map(
    "planner_dangers",
    Column("id", String(64), nullable=False),
    Column("org_unit", String(96), nullable=False),
    Column("town", String(64), nullable=True),
    Column("by", String(128), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("what", Text, nullable=False),
    Column("place", Text, nullable=False),
    Column("status", String(16), nullable=False),
)

leases = Table(
    "leases",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(255), nullable=False),
    Column("term", Integer, nullable=False),
    Column("acquired_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)
