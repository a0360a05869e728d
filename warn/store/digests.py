"""行记录入链 / the rows a report presents, bound to the hash chain.

Choice: the timeline entry written in the same transaction as a change to a mode change, task,
acknowledgement request or CAP message row carries, in ``details["rows"]``, the row as it stands
after the change — the fields a report shows, in canonical form (:func:`row_fields`) — rather
than the report reading those facts back from the timeline. The tables stay what the planner,
the CLI and the reports query; the chain vouches for them. Tasks and requests change state
(acknowledged, done, escalated, answered), so the *latest* entry naming a row holds its current
state, and :func:`check_rows` compares every row with it: a row edited, deleted or added outside
the chain is named with its table, its key and what differs.

Rows written before row digests existed (a store older than this module) have no entry naming
them: those dated before the first entry carrying rows are counted as *not covered* and said so
(verification does not fail on them); a row without one dated at or after it was added outside
the chain. The outbox's delivery status is a delivery log kept by the dispatcher, and the
incidents and warning threads are not shown as facts of their own: neither is covered.

``details["rows"]`` maps ``"<table>:<key>"`` to the row's fields (times as
:func:`warn.store.timeline.canonical_time`; a message's XML as its SHA-256, ``body_sha256``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, String, Table, select, type_coerce

from warn.store.schema import ack_requests, decode_time, mode_changes, tasks, timeline, warning_messages
from warn.store.timeline import ROWS, VERIFY_BATCH, canonical_time


@dataclass(frozen=True)
class Covered:
    """A table under the chain: its key column, the fields a report shows, and the column dating a row."""

    table: Table
    key: str
    fields: tuple[str, ...]
    dated_by: str


#: Table name → what of it the chain covers.
COVERED: dict[str, Covered] = {c.table.name: c for c in (
    Covered(mode_changes, "id", ("at", "from_mode", "to_mode", "response_level", "proposed_by", "decided_by", "reason",
                                 "rule_id"), "at"),
    Covered(tasks, "task_id", ("incident_id", "owner_role", "org_unit", "summary", "due_at", "status", "acked_by",
                               "acked_at", "done_by", "done_at", "evidence", "created_at"), "created_at"),
    Covered(ack_requests, "request_id", ("kind", "addressee_role", "org_unit", "deadline", "escalation_step",
                                         "answered_by", "answered_at", "channel", "created_at"), "created_at"),
    Covered(warning_messages, "identifier", ("thread_id", "kind", "level", "sent_at", "body"), "sent_at"),
)}


def row_fields(covered: Covered, row: Row) -> dict[str, Any]:
    """The fields of ``row`` a report shows, canonical: times as UTC ISO 8601 text, ``body`` as its SHA-256."""
    out: dict[str, Any] = {}
    for name in covered.fields:
        value = getattr(row, name)
        if name == "body":
            out["body_sha256"] = hashlib.sha256(str(value).encode("utf-8")).hexdigest()
        elif isinstance(value, datetime):
            out[name] = canonical_time(value)
        else:
            out[name] = value
    return out


def ref(table: str, key: object) -> str:
    """``"<table>:<key>"``, a row's name in ``details["rows"]``."""
    return f"{table}:{key}"


def snapshot(conn: Connection, table: str, keys: Iterable[object], *, by: str | None = None
             ) -> dict[str, dict[str, Any]]:
    """``ref → fields`` of the rows of ``table`` whose ``by`` column (default its key) is one of ``keys``,
    as they stand on ``conn``."""
    covered = COVERED[table]
    wanted = list(dict.fromkeys(keys))
    if not wanted:
        return {}
    column = covered.table.c[by or covered.key]
    return {ref(table, getattr(row, covered.key)): row_fields(covered, row)
            for row in conn.execute(select(covered.table).where(column.in_(wanted)))}


@dataclass(frozen=True)
class RowCheck:
    """What :func:`check_rows` found.

    Attributes
    ----------
    checked
        Rows compared with the entry that last recorded them.
    uncovered
        Rows dated before the first entry carrying rows, that no entry names (written before row digests).
    problems
        One sentence per row edited, deleted or added outside the chain: table, key, what differs.
    """

    checked: int
    uncovered: int
    problems: list[str] = field(default_factory=list)


def check_rows(engine: Engine) -> RowCheck:
    """Compare every row of the covered tables with the latest timeline entry that recorded it."""
    recorded, since = _recorded(engine)
    problems: list[str] = []
    checked = uncovered = 0
    with engine.connect() as conn:
        for name, covered in COVERED.items():
            for row in conn.execute(select(covered.table).order_by(covered.table.c[covered.key])):
                key = ref(name, getattr(row, covered.key))
                held = recorded.pop(key, None)
                if held is not None:
                    checked += 1
                    differs = _differences(held[1], row_fields(covered, row))
                    if differs:
                        problems.append(f"{name} 行 {key} 在时间线之外被修改 / row {key} of {name} was changed "
                                        f"outside the timeline (recorded at seq {held[0]}): {differs}")
                elif since is None or getattr(row, covered.dated_by) < since:
                    uncovered += 1
                else:
                    problems.append(f"{name} 行 {key} 不在时间线上（在其之外添加）/ row {key} of {name} is on no "
                                    f"timeline entry: added outside the timeline")
    problems += [f"{key.split(':', 1)[0]} 行 {key} 已被删除 / row {key} recorded at seq {seq} is missing from "
                 f"{key.split(':', 1)[0]}: deleted outside the timeline" for key, (seq, _) in recorded.items()]
    return RowCheck(checked, uncovered, problems)


def _recorded(engine: Engine) -> tuple[dict[str, tuple[int, dict[str, Any]]], datetime | None]:
    """ref → (seq, fields) of the latest entry recording each row; when the first such entry occurred."""
    latest: dict[str, tuple[int, dict[str, Any]]] = {}
    since: datetime | None = None
    for seq, occurred_at, rows in _rows_entries(engine):
        since = since or occurred_at
        latest |= {key: (seq, fields) for key, fields in rows.items()}
    return latest, since


def _rows_entries(engine: Engine) -> Iterator[tuple[int, datetime, dict[str, dict[str, Any]]]]:
    """(seq, occurred_at, rows) of the entries carrying rows, in seq order."""
    query = (select(timeline.c.seq, type_coerce(timeline.c.occurred_at, String).label("occurred_at"),
                    timeline.c.details)
             .where(timeline.c.details.contains(f'"{ROWS}":'))
             .order_by(timeline.c.seq).execution_options(yield_per=VERIFY_BATCH))
    with engine.connect() as conn:
        for row in conn.execute(query):
            rows = json.loads(row.details).get(ROWS)
            if isinstance(rows, dict):
                yield row.seq, decode_time(row.occurred_at), rows


def _differences(recorded: dict[str, Any], stored: dict[str, Any]) -> str:
    """``field: recorded X, now Y`` for each field that differs, joined by ``; ``."""
    return "; ".join(f"{name}: recorded {recorded.get(name)!r}, now {stored.get(name)!r}"
                     for name in sorted(set(recorded) | set(stored)) if recorded.get(name) != stored.get(name))
