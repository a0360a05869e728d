"""The command's records as readers see them: warning threads, the message threads people read and
their CAP messages, incidents, tasks, acknowledgement requests and mode changes.

``store.warnings`` (:class:`WarningTable`) also records a CAP message of a message thread (the
broadcast step); ``store.command`` (:class:`CommandRecords`) only reads. Rows come back as
frozen dataclasses whose attributes are the tables' columns (times aware UTC), so that the
reports, the demo staff and the broadcast step never run table SQL of their own.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Row, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from warn.errors import Problem, WarnError
from warn.store.command import Append
from warn.store.digests import snapshot
from warn.store.records import NewEntry
from warn.store.schema import (
    ack_requests,
    bulletins,
    incidents,
    mode_changes,
    tasks,
    warning_messages,
    warning_versions,
    warnings,
)

R = TypeVar("R")
#: Kind of the timeline entry that records a CAP message (and binds its row to the chain).
MESSAGE_KIND = "message"


@dataclass(frozen=True, slots=True)
class ThreadRow:
    """One warning thread (a ``warnings`` row): hazard name, item, level, status, its times and version."""

    thread_id: str
    hazard: str
    item_id: str
    level: int
    status: str
    onset: datetime
    updated_at: datetime
    expires: datetime | None
    incident_id: str | None
    version: int


@dataclass(frozen=True, slots=True)
class VersionRow:
    """One version of a warning thread (a ``warning_versions`` row): its level and status from ``at``."""

    id: int
    thread_id: str
    version: int
    level: int
    status: str
    at: datetime


@dataclass(frozen=True, slots=True)
class BulletinRow:
    """One message thread people read (a ``bulletins`` row): hazard, area, audience, level, version, status,
    incident, times, and the items its last message listed (JSON ``[[item_id, level], …]``)."""

    bulletin_id: str
    hazard: str
    area_id: str
    audience: str
    level: int
    version: int
    status: str
    incident_id: str | None
    opened_at: datetime
    updated_at: datetime
    listed: str


@dataclass(frozen=True, slots=True)
class NewCapMessage:
    """A CAP message to record (:meth:`WarningTable.record_messages`): its message thread (a bulletin),
    ``Alert``/``Update``/``Cancel``, level, when it was sent, identifier and XML."""

    thread: str
    kind: str
    level: int
    sent_at: datetime
    identifier: str
    body: str


@dataclass(frozen=True, slots=True)
class MessageRow:
    """One CAP message of a message thread (a ``warning_messages`` row; ``thread_id`` names the bulletin, or
    the warning thread for messages recorded before migration 0014): kind, level, when, identifier, XML."""

    id: int
    thread_id: str
    kind: str
    level: int
    sent_at: datetime
    identifier: str
    body: str


@dataclass(frozen=True, slots=True)
class IncidentRow:
    """One incident: hazard name, opened and closed, response level (0 none … 4 I) and mode."""

    incident_id: str
    hazard: str
    opened_at: datetime
    closed_at: datetime | None
    response_level: int
    mode: str


@dataclass(frozen=True, slots=True)
class TaskRow:
    """One task (a ``tasks`` row) as it stands."""

    task_id: str
    incident_id: str | None
    run_id: str | None
    step_id: str
    idempotency_key: str
    owner_role: str
    org_unit: str
    summary: str
    due_at: datetime | None
    status: str
    acked_by: str | None
    acked_at: datetime | None
    done_by: str | None
    done_at: datetime | None
    evidence: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AckRequestRow:
    """One 叫应 call, approval or task acknowledgement asked for (an ``ack_requests`` row); ``chain`` JSON text."""

    request_id: str
    kind: str
    addressee_role: str
    org_unit: str
    deadline: datetime
    escalation_step: int
    chain: str
    answered_by: str | None
    answered_at: datetime | None
    channel: str | None
    idempotency_key: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ModeChangeRow:
    """One mode proposal (``decided_by`` ``None``) or decided change (a ``mode_changes`` row)."""

    id: int
    at: datetime
    from_mode: str
    to_mode: str
    response_level: int
    proposed_by: str
    decided_by: str | None
    reason: str
    rule_id: str
    idempotency_key: str | None


class _Table:
    def __init__(self, engine: Engine, write: Callable[[], AbstractContextManager[Connection]]) -> None:
        self._engine = engine
        self._write = write

    def _rows(self, cls: type[R], query: Any) -> list[R]:
        with self._engine.connect() as conn:
            return [_as(cls, r) for r in conn.execute(query)]


class WarningTable(_Table):
    """Warning threads and their CAP messages (use ``store.warnings``); ``append`` appends timeline entries
    within a write transaction (``Timeline.append_on``)."""

    def __init__(self, engine: Engine, write: Callable[[], AbstractContextManager[Connection]],
                 append: Append) -> None:
        super().__init__(engine, write)
        self._append = append

    def record_messages(self, messages: Sequence[NewCapMessage]) -> set[str]:
        """Record CAP messages of their message threads (bulletins) and, in the same transaction, a timeline
        entry of kind :data:`MESSAGE_KIND` for each, the batch's rows carried by the last
        (:mod:`warn.store.digests`). A message whose identifier is already recorded is left as it is.

        Returns
        -------
        set[str]
            The identifiers recorded by this call.

        Raises
        ------
        WarnError
            A message thread is not recorded (the executor records it before anything is published);
            nothing is recorded then.
        """
        if not messages:
            return set()
        wanted = [m.identifier for m in messages]
        with self._write() as conn:
            threads = {m.thread for m in messages}
            known = set(conn.execute(select(bulletins.c.bulletin_id)
                                     .where(bulletins.c.bulletin_id.in_(list(threads)))).scalars())
            missing = sorted(threads - known)
            if missing:
                raise WarnError(Problem("bulletins", missing[0], "the message thread recorded by the executor "
                                        "before publishing", "no such message thread"))
            held = set(conn.execute(select(warning_messages.c.identifier)
                                    .where(warning_messages.c.identifier.in_(wanted))).scalars())
            fresh = list({m.identifier: m for m in messages if m.identifier not in held}.values())
            if not fresh:
                return set()
            upsert = (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(warning_messages)
            conn.execute(upsert.on_conflict_do_nothing(index_elements=[warning_messages.c.identifier]), [
                {"thread_id": m.thread, "kind": m.kind, "level": m.level, "sent_at": m.sent_at,
                 "identifier": m.identifier, "body": m.body} for m in fresh])
            self._append(conn, [NewEntry(occurred_at=m.sent_at, actor="warn", role="system", kind=MESSAGE_KIND,
                                         summary=f"CAP 消息已记录 {m.identifier}（{m.kind}）/ CAP message recorded",
                                         details={"identifier": m.identifier, "thread": m.thread},
                                         key=f"{m.identifier}/recorded") for m in fresh],
                         snapshot(conn, "warning_messages", [m.identifier for m in fresh]))
            return {m.identifier for m in fresh}

    def bodies(self, identifiers: Collection[str]) -> dict[str, str]:
        """The XML of each of the messages ``identifiers`` that is recorded, by identifier."""
        if not identifiers:
            return {}
        c = warning_messages.c
        with self._engine.connect() as conn:
            return dict(conn.execute(select(c.identifier, c.body).where(c.identifier.in_(list(identifiers)))).all())

    def threads(self, incident_id: str | None = None) -> list[ThreadRow]:
        """Every thread (of ``incident_id``), by thread id."""
        query = select(warnings).order_by(warnings.c.thread_id)
        if incident_id is not None:
            query = query.where(warnings.c.incident_id == incident_id)
        return self._rows(ThreadRow, query)

    def versions(self, threads: Collection[str] | None = None) -> list[VersionRow]:
        """Every version of every warning thread (of ``threads``), in the order recorded."""
        query = select(warning_versions).order_by(warning_versions.c.id)
        if threads is not None:
            query = query.where(warning_versions.c.thread_id.in_(list(threads)))
        return self._rows(VersionRow, query)

    def bulletins(self, incident_id: str | None = None) -> list[BulletinRow]:
        """Every message thread (of ``incident_id``), by id."""
        query = select(bulletins).order_by(bulletins.c.bulletin_id)
        if incident_id is not None:
            query = query.where(bulletins.c.incident_id == incident_id)
        return self._rows(BulletinRow, query)

    def messages(self, threads: Collection[str] | None = None) -> list[MessageRow]:
        """Every message (of the message threads ``threads``), in the order recorded."""
        query = select(warning_messages).order_by(warning_messages.c.id)
        if threads is not None:
            query = query.where(warning_messages.c.thread_id.in_(list(threads)))
        return self._rows(MessageRow, query)

    def counts(self) -> tuple[int, int]:
        """(threads raised, threads not cleared)."""
        with self._engine.connect() as conn:
            raised = conn.execute(select(func.count()).select_from(warnings)).scalar_one()
            active = conn.execute(select(func.count()).select_from(warnings)
                                  .where(warnings.c.status != "cleared")).scalar_one()
        return raised, active


class CommandRecords(_Table):
    """Incidents, tasks, acknowledgement requests and mode changes as recorded (use ``store.command``)."""

    def incident(self, incident_id: str) -> IncidentRow | None:
        """The incident ``incident_id``, ``None`` when there is none."""
        rows = self._rows(IncidentRow, select(incidents).where(incidents.c.incident_id == incident_id))
        return rows[0] if rows else None

    def incidents(self) -> list[IncidentRow]:
        """Every incident, in the order they opened."""
        return self._rows(IncidentRow, select(incidents).order_by(incidents.c.opened_at, incidents.c.incident_id))

    def tasks(self, *, incident_id: str | None = None, statuses: Iterable[str] | None = None) -> list[TaskRow]:
        """Tasks (of ``incident_id``; in ``statuses``), in the order created."""
        query = select(tasks).order_by(tasks.c.created_at, tasks.c.task_id)
        if incident_id is not None:
            query = query.where(tasks.c.incident_id == incident_id)
        if statuses is not None:
            query = query.where(tasks.c.status.in_(list(statuses)))
        return self._rows(TaskRow, query)

    def ack_requests(self, *, prefix: str | None = None, suffix: str | None = None,
                     unanswered: bool = False) -> list[AckRequestRow]:
        """Requests (whose id starts with ``prefix`` / ends with ``suffix``; not answered), in the order made."""
        query = select(ack_requests).order_by(ack_requests.c.created_at, ack_requests.c.request_id)
        if prefix is not None:
            query = query.where(ack_requests.c.request_id.startswith(prefix, autoescape=True))
        if suffix is not None:
            query = query.where(ack_requests.c.request_id.endswith(suffix, autoescape=True))
        if unanswered:
            query = query.where(ack_requests.c.answered_at.is_(None))
        return self._rows(AckRequestRow, query)

    def mode_changes(self, *, decided: bool | None = None, since: datetime | None = None,
                     until: datetime | None = None) -> list[ModeChangeRow]:
        """Mode proposals and changes (decided or not; ``since`` ≤ at ≤ ``until``), in the order recorded."""
        query = select(mode_changes).order_by(mode_changes.c.id)
        if decided is not None:
            query = query.where(mode_changes.c.decided_by.is_not(None) if decided
                                else mode_changes.c.decided_by.is_(None))
        if since is not None:
            query = query.where(mode_changes.c.at >= since)
        if until is not None:
            query = query.where(mode_changes.c.at <= until)
        return self._rows(ModeChangeRow, query)


def _as(cls: type[R], row: Row) -> R:
    values = row._mapping
    return cls(**{f.name: values[f.name] for f in fields(cls)})  # type: ignore[arg-type]
