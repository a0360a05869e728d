"""The record of warning cycles and the command inbox.

``store.cycles`` (:class:`CycleTable`): a cycle claims its row when it starts
(:meth:`CycleTable.begin`: ``running``) and closes it when it ends
(:meth:`CycleTable.finish`: ``done`` with its inputs and counts, or
:meth:`CycleTable.fail` with the error). A cycle found ``done`` is never run again; one
left ``running`` by a killed process, or ``failed``, is run again.

``store.inbox`` (:class:`InboxTable`): what people did that the planner must hear — the
CLI and the channels' answer hooks :meth:`~InboxTable.put` an event (JSON text, made by
:mod:`warn.cycle.command`), the next cycle or tick takes the :meth:`~InboxTable.pending`
ones up to its time, plans them, and marks them :meth:`~InboxTable.consumed`. The
idempotency key makes a repeated submission (a retried CLI call, a resent hook) one event.
An event that makes the command step fail is set aside (:func:`quarantine`, with its error):
it is never pending again, and :meth:`~InboxTable.quarantined` lists it for the duty officer.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Engine, Row, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from warn.store.schema import cycles, inbox


class CycleStatus(StrEnum):
    """Where a cycle is: running (or killed while running), done, failed."""

    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class CycleRow:
    """One recorded cycle (times aware UTC; ``inputs`` as decoded JSON)."""

    at: datetime
    started_at: datetime
    finished_at: datetime | None
    status: CycleStatus
    inputs: Mapping[str, Any]
    items: int
    crossings: int
    actions: int
    applied: int
    messages: int
    error: str


@dataclass(frozen=True)
class InboxRow:
    """One event in the inbox: ``event`` is the planner event's JSON text."""

    id: int
    at: datetime
    kind: str
    actor: str
    event: str
    key: str
    received_at: datetime
    consumed_at: datetime | None
    quarantined_at: datetime | None = None
    error: str = ""


class _Table:
    def __init__(self, engine: Engine, write: Callable[[], AbstractContextManager[Connection]],
                 now: Callable[[], datetime]) -> None:
        self._engine = engine
        self._write = write
        self._now = now

    def _insert(self) -> Any:
        return pg_insert if self._engine.dialect.name == "postgresql" else sqlite_insert


class CycleTable(_Table):
    """The cycles of a store (use ``store.cycles``)."""

    def begin(self, at: datetime) -> CycleStatus | None:
        """Claim the cycle at ``at``: ``None`` when it is new or to be run again (now ``running``),
        :attr:`CycleStatus.DONE` when it was done before (left untouched)."""
        now = self._now()
        with self._write() as conn:
            conn.execute(self._insert()(cycles).values(at=at, started_at=now, status=CycleStatus.RUNNING.value)
                         .on_conflict_do_nothing(index_elements=[cycles.c.at]))
            status = CycleStatus(conn.execute(select(cycles.c.status).where(cycles.c.at == at)).scalar_one())
            if status is CycleStatus.DONE:
                return status
            conn.execute(update(cycles).where(cycles.c.at == at).values(
                started_at=now, status=CycleStatus.RUNNING.value, error=""))
        return None

    def finish(self, at: datetime, *, inputs: Mapping[str, Any], items: int, crossings: int, actions: int,
               applied: int, messages: int) -> None:
        """The cycle at ``at`` is done: record its inputs and counts."""
        self._close(at, CycleStatus.DONE, inputs=json.dumps(dict(inputs), ensure_ascii=False, sort_keys=True,
                                                            default=str),
                    items=items, crossings=crossings, actions=actions, applied=applied, messages=messages)

    def fail(self, at: datetime, error: str, *, inputs: Mapping[str, Any] | None = None) -> None:
        """The cycle at ``at`` failed with ``error`` (what it had pulled, when known)."""
        values: dict[str, Any] = {"error": error}
        if inputs is not None:
            values["inputs"] = json.dumps(dict(inputs), ensure_ascii=False, sort_keys=True, default=str)
        self._close(at, CycleStatus.FAILED, **values)

    def get(self, at: datetime) -> CycleRow | None:
        """The cycle at ``at``, ``None`` if never begun."""
        with self._engine.connect() as conn:
            row = conn.execute(select(cycles).where(cycles.c.at == at)).first()
        return _cycle(row) if row is not None else None

    def latest(self, n: int = 1, *, status: CycleStatus | None = None) -> list[CycleRow]:
        """The ``n`` latest cycles (of ``status``), newest first."""
        query = select(cycles).order_by(cycles.c.at.desc()).limit(n)
        if status is not None:
            query = query.where(cycles.c.status == status.value)
        with self._engine.connect() as conn:
            return [_cycle(r) for r in conn.execute(query).all()]

    def _close(self, at: datetime, status: CycleStatus, **values: Any) -> None:
        with self._write() as conn:
            conn.execute(update(cycles).where(cycles.c.at == at).values(
                status=status.value, finished_at=self._now(), **values))


class InboxTable(_Table):
    """The command inbox of a store (use ``store.inbox``)."""

    def put(self, *, at: datetime, kind: str, actor: str, event: str, key: str) -> bool:
        """Add an event; ``False`` when an event with ``key`` is already there (nothing changes)."""
        with self._write() as conn:
            stmt = self._insert()(inbox).values(at=at, kind=kind, actor=actor, event=event, idempotency_key=key,
                                                received_at=self._now())
            return conn.execute(stmt.on_conflict_do_nothing(index_elements=[inbox.c.idempotency_key])
                                .returning(inbox.c.id)).first() is not None

    def pending(self, until: datetime) -> list[InboxRow]:
        """Events neither consumed nor quarantined that happened by ``until``, in the order they happened."""
        query = (select(inbox).where(inbox.c.consumed_at.is_(None), inbox.c.quarantined_at.is_(None),
                                     inbox.c.at <= until)
                 .order_by(inbox.c.at, inbox.c.id))
        with self._engine.connect() as conn:
            return [_inbox(r) for r in conn.execute(query).all()]

    def consumed(self, ids: Iterable[int], at: datetime) -> None:
        """Mark the events ``ids`` consumed at ``at`` (those already consumed keep their time)."""
        ids = list(ids)
        if not ids:
            return
        with self._write() as conn:
            conn.execute(update(inbox).where(inbox.c.id.in_(ids), inbox.c.consumed_at.is_(None))
                         .values(consumed_at=at))

    def quarantined(self) -> list[InboxRow]:
        """The events set aside by :func:`quarantine`, in the order they were."""
        query = select(inbox).where(inbox.c.quarantined_at.is_not(None)).order_by(inbox.c.quarantined_at, inbox.c.id)
        with self._engine.connect() as conn:
            return [_inbox(r) for r in conn.execute(query).all()]

    def rows(self) -> list[InboxRow]:
        """Every event, in the order received."""
        with self._engine.connect() as conn:
            return [_inbox(r) for r in conn.execute(select(inbox).order_by(inbox.c.id)).all()]


def quarantine(conn: Connection, event_id: int, at: datetime, error: str) -> bool:
    """Set the pending event ``event_id`` aside at ``at`` with ``error`` on ``conn`` (the caller's write
    transaction); ``False`` when it was consumed or quarantined already (nothing changes)."""
    return conn.execute(update(inbox).where(inbox.c.id == event_id, inbox.c.consumed_at.is_(None),
                                            inbox.c.quarantined_at.is_(None))
                        .values(quarantined_at=at, error=error)).rowcount > 0


def _cycle(r: Row) -> CycleRow:
    return CycleRow(at=r.at, started_at=r.started_at, finished_at=r.finished_at, status=CycleStatus(r.status),
                    inputs=json.loads(r.inputs), items=r.items, crossings=r.crossings, actions=r.actions,
                    applied=r.applied, messages=r.messages, error=r.error)


def _inbox(r: Row) -> InboxRow:
    return InboxRow(id=r.id, at=r.at, kind=r.kind, actor=r.actor, event=r.event, key=r.idempotency_key,
                    received_at=r.received_at, consumed_at=r.consumed_at, quarantined_at=r.quarantined_at,
                    error=r.error)
