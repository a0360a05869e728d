"""Deliveries to persons: every message to a person on one channel, and what became of it.

``store.deliveries`` (:class:`DeliveryTable`). What the planner addressed to a person is kept when its
action is applied (``person_messages``, :mod:`warn.store.command`); the reach step takes the
:meth:`DeliveryTable.unreached` ones, plans their deliveries and marks them
:meth:`DeliveryTable.reached`. A delivery is planned by the cycle's reach step
(:mod:`warn.cycle.reach`) together with its outbox row (:meth:`DeliveryTable.plan`: both in one
transaction, each idempotent on its key); the outbox sends it; what the gateway reports comes back as
a receipt (:meth:`DeliveryTable.receipt`: delivered or failed, with the platform's reason) and what the
outbox did is taken over by :meth:`DeliveryTable.sync` (sent; failed or refused). An answer that came
through a delivery's channel marks it answered (:meth:`DeliveryTable.answered`).

Status: ``queued`` → ``sent`` (the gateway took it) → ``delivered`` (its receipt said so), or
``failed`` at any point (the outbox gave up, or the receipt said so). A delivery never goes back:
a late "sent" after a receipt changes nothing.

Rows name the person and their post, never their contact point: the address is the channel's to
find in the directory when it sends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Engine, and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from warn.store.outbox import NewMessage, OutboxStatus, insert_message
from warn.store.schema import ack_requests, deliveries, outbox, person_messages


class DeliveryStatus(StrEnum):
    """Where a delivery is: ``queued`` → ``sent`` → ``delivered``; or ``failed``."""

    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"


#: Statuses a delivery may still leave.
OPEN = (DeliveryStatus.QUEUED.value, DeliveryStatus.SENT.value)


@dataclass(frozen=True)
class Addressed:
    """What the planner addressed to a person (a ``person_messages`` row; times aware UTC).

    Attributes
    ----------
    key
        The planner action's key.
    kind
        The action's kind: ``notify``, ``request_ack``, ``escalate``, ``create_task``.
    at
        When the planner decided it.
    person, post
        To whom, in which post.
    request_id, ack_kind
        The acknowledgement request and its kind (``call``, ``approval``, ``task``, ``verify``) for an ask;
        the request alone for an escalation.
    task_id
        The task, for a task.
    level
        The warning's level (0 when none).
    text
        The notice, the request's subject or the task.
    deadline
        The request's deadline or the task's due time.
    """

    id: int
    key: str
    kind: str
    at: datetime
    incident_id: str | None
    person: str
    post: str
    request_id: str | None
    ack_kind: str | None
    task_id: str | None
    level: int
    text: str
    deadline: datetime | None
    reached_at: datetime | None


@dataclass(frozen=True)
class NewDelivery:
    """A message to one person on one channel, as the reach step plans it.

    Attributes
    ----------
    subject
        The key of the planner action it carries (a notice, a request's ask or escalation, a task).
    request_id, task_id
        The acknowledgement request or task it is about, when it is.
    incident_id
        The incident, when there is one.
    person, post, org_level
        To whom, in which post (``community.DEMO-T03-C01.community_lead``), at which org level.
    channel, channel_kind
        The ``channels:`` entry and its kind (``sms``, ``work_notice`` …).
    step
        Its place in the person's order of channels (0 first); voice rings beside step 0.
    """

    subject: str
    request_id: str | None
    task_id: str | None
    incident_id: str | None
    person: str
    post: str
    org_level: str
    channel: str
    channel_kind: str
    step: int


@dataclass(frozen=True)
class DeliveryRow:
    """One delivery as stored (times aware UTC)."""

    id: int
    subject: str
    request_id: str | None
    task_id: str | None
    incident_id: str | None
    person: str
    post: str
    org_level: str
    channel: str
    channel_kind: str
    step: int
    outbox_key: str
    status: DeliveryStatus
    queued_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None
    failed_at: datetime | None
    answered_at: datetime | None
    detail: str


class DeliveryTable:
    """The deliveries of a store (use ``store.deliveries``).

    Parameters
    ----------
    engine
        The store's engine.
    write
        The store's write transaction.
    """

    def __init__(self, engine: Engine, write: Callable[[], AbstractContextManager[Connection]]) -> None:
        self._engine = engine
        self._write = write

    def plan(self, delivery: NewDelivery, message: NewMessage, at: datetime) -> bool:
        """Queue ``message`` in the outbox and record ``delivery`` as sent through it, in one transaction.

        Idempotent: a delivery already planned for the same subject, person and channel (or an outbox
        key already there) changes nothing. Returns whether the delivery is new.
        """
        row = {"subject": delivery.subject, "request_id": delivery.request_id, "task_id": delivery.task_id,
               "incident_id": delivery.incident_id, "person": delivery.person, "post": delivery.post,
               "org_level": delivery.org_level, "channel": delivery.channel,
               "channel_kind": delivery.channel_kind, "step": delivery.step,
               "outbox_key": message.idempotency_key, "status": DeliveryStatus.QUEUED.value, "queued_at": at,
               "detail": ""}
        with self._write() as conn:
            insert_message(conn, message, at)
            stmt = _insert(conn)(deliveries).values(row).on_conflict_do_nothing()
            return conn.execute(stmt.returning(deliveries.c.id)).first() is not None

    def unreached(self, *, limit: int = 500) -> list[Addressed]:
        """What the planner addressed to persons and the reach step has not planned yet, oldest first."""
        with self._engine.connect() as conn:
            rows = conn.execute(select(person_messages).where(person_messages.c.reached_at.is_(None))
                                .order_by(person_messages.c.id).limit(limit)).mappings().all()
        return [Addressed(**row) for row in rows]

    def reached(self, message_id: int, at: datetime) -> None:
        """Mark the person message ``message_id`` planned (its deliveries are in)."""
        with self._write() as conn:
            conn.execute(update(person_messages).where(person_messages.c.id == message_id,
                                                       person_messages.c.reached_at.is_(None)).values(reached_at=at))

    def message(self, key: str) -> Addressed | None:
        """The person message of the planner action ``key``; ``None`` when there is none."""
        with self._engine.connect() as conn:
            row = conn.execute(select(person_messages).where(person_messages.c.key == key)).mappings().first()
        return Addressed(**row) if row is not None else None

    def sync(self, at: datetime) -> int:
        """Take over what the outbox did by ``at``: sent rows → ``sent``, failed or refused rows → ``failed``.

        Returns the number of deliveries changed.
        """
        changed = 0
        with self._write() as conn:
            rows = conn.execute(
                select(deliveries.c.id, deliveries.c.status, outbox.c.status.label("outbox_status"),
                       outbox.c.sent_at, outbox.c.last_error)
                .join(outbox, outbox.c.idempotency_key == deliveries.c.outbox_key)
                .where(deliveries.c.status.in_(OPEN),
                       outbox.c.status.in_([OutboxStatus.SENT.value, OutboxStatus.FAILED.value,
                                            OutboxStatus.REFUSED.value]))).all()
            for row in rows:
                if row.outbox_status == OutboxStatus.SENT.value:
                    if row.status == DeliveryStatus.SENT.value:
                        continue
                    values: dict[str, Any] = {"status": DeliveryStatus.SENT.value, "sent_at": row.sent_at}
                else:
                    values = {"status": DeliveryStatus.FAILED.value, "failed_at": at,
                              "detail": f"outbox {row.outbox_status}: {row.last_error}"[:500]}
                changed += conn.execute(update(deliveries).where(deliveries.c.id == row.id).values(**values)).rowcount
        return changed

    def receipt(self, outbox_key: str, *, delivered: bool, at: datetime, detail: str = "") -> bool:
        """Record the gateway's report on the delivery sent as ``outbox_key``; whether it changed.

        A delivery already delivered or failed keeps its first report.
        """
        status = DeliveryStatus.DELIVERED if delivered else DeliveryStatus.FAILED
        values: dict[str, Any] = {"status": status.value, "detail": detail[:500]}
        values["delivered_at" if delivered else "failed_at"] = at
        with self._write() as conn:
            return conn.execute(update(deliveries).where(deliveries.c.outbox_key == outbox_key,
                                                         deliveries.c.status.in_(OPEN)).values(**values)).rowcount > 0

    def answered(self, request_id: str, person: str, channel: str, at: datetime) -> bool:
        """Mark the deliveries of ``request_id`` to ``person`` on ``channel`` (a ``channels:`` name) answered."""
        with self._write() as conn:
            return conn.execute(update(deliveries).where(
                deliveries.c.request_id == request_id, deliveries.c.person == person,
                deliveries.c.channel == channel, deliveries.c.answered_at.is_(None)).values(
                answered_at=at)).rowcount > 0

    def by_key(self, outbox_key: str) -> DeliveryRow | None:
        """The delivery sent as ``outbox_key``; ``None`` when there is none."""
        found = self._select(deliveries.c.outbox_key == outbox_key)
        return found[0] if found else None

    def waiting_for(self, person: str) -> list[DeliveryRow]:
        """The deliveries to ``person`` of requests nobody has answered yet, newest first."""
        with self._engine.connect() as conn:
            ids = conn.execute(select(deliveries.c.id).join(
                ack_requests, ack_requests.c.request_id == deliveries.c.request_id).where(
                deliveries.c.person == person, ack_requests.c.answered_at.is_(None))).scalars().all()
        return sorted(self._select(deliveries.c.id.in_(ids)), key=lambda r: (r.queued_at, r.id), reverse=True)

    def of_request(self, request_id: str) -> list[DeliveryRow]:
        """The deliveries of acknowledgement request ``request_id``, to whoever it was addressed, in order of planning."""
        return self._select(deliveries.c.request_id == request_id)

    def of_subjects(self, subjects: Iterable[str]) -> list[DeliveryRow]:
        """The deliveries of the planner actions ``subjects``, in order of planning."""
        wanted = list(subjects)
        return self._select(deliveries.c.subject.in_(wanted)) if wanted else []

    def pending_chains(self, now: datetime, within: timedelta) -> list[DeliveryRow]:
        """Every delivery of a (subject, person) whose last step may still call for the next channel at ``now``.

        That is each delivery of a subject and person none of whose deliveries was answered, and either of a
        request nobody has answered whose deadline is still ahead, or — a notice or task — planned ``within``
        before ``now`` with a delivery that failed; the reach step decides from them whether a fallback is due.
        """
        waiting = and_(deliveries.c.request_id.is_not(None), ack_requests.c.answered_at.is_(None),
                       ack_requests.c.deadline > now)
        failing = and_(deliveries.c.request_id.is_(None), deliveries.c.status == DeliveryStatus.FAILED.value,
                       deliveries.c.queued_at > now - within)
        with self._engine.connect() as conn:
            keys = conn.execute(select(deliveries.c.subject, deliveries.c.person).outerjoin(
                ack_requests, ack_requests.c.request_id == deliveries.c.request_id).where(
                or_(waiting, failing), deliveries.c.answered_at.is_(None)).distinct()).all()
        if not keys:
            return []
        return self._select(or_(*(and_(deliveries.c.subject == s, deliveries.c.person == p) for s, p in keys)))

    def all(self) -> list[DeliveryRow]:
        """Every delivery, in order of planning."""
        return self._select()

    def _select(self, *where: Any) -> list[DeliveryRow]:
        with self._engine.connect() as conn:
            rows = conn.execute(select(deliveries).where(*where).order_by(deliveries.c.id)).mappings().all()
        return [DeliveryRow(**{**row, "status": DeliveryStatus(row["status"])}) for row in rows]


def _insert(conn: Connection) -> Callable[..., Any]:
    return pg_insert if conn.dialect.name == "postgresql" else sqlite_insert

