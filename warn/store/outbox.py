"""The outbox table: every message to every recipient is a row before it is sent.

Reached as ``store.outbox`` (:class:`OutboxTable`). :meth:`OutboxTable.enqueue` is
idempotent on the idempotency key. The dispatcher (:mod:`warn.broadcast.outbox`)
asks for the *heads* (:meth:`OutboxTable.heads`: per (channel, recipient) the oldest
row still queued or sending, when it is due), claims one
(:meth:`OutboxTable.claim`: compare-and-set, so two dispatchers never both claim it;
the row becomes ``sending`` with a lease), sends it, and marks it
(:meth:`OutboxTable.mark_sent`, :meth:`OutboxTable.mark_retry`,
:meth:`OutboxTable.mark_failed`, :meth:`OutboxTable.mark_refused`). A dispatcher
killed between send and mark leaves the row ``sending``; once its lease has run out
it is a head again and is sent once more with the same key.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Connection, Engine, Row, func, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from warn.store.bulk import stage
from warn.store.schema import outbox
from warn.vocab import CapStatus


class OutboxStatus(StrEnum):
    """Where a row of the outbox is: ``queued`` → ``sending`` → ``sent``; or ``failed``, ``refused``."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    REFUSED = "refused"



#: Rows the dispatcher still owes a delivery.
PENDING = (OutboxStatus.QUEUED.value, OutboxStatus.SENDING.value)


@dataclass(frozen=True)
class NewMessage:
    """A message to one recipient through one channel, as enqueued.

    Parameters
    ----------
    channel
        The channel's name in config (``channels:``).
    recipient
        Who receives it on that channel (phone number, address, group, topic part).
    payload
        The bytes to deliver, opaque to the outbox.
    content_type
        Their media type (``application/cap+xml``, ``application/json``, ``text/markdown``…).
    idempotency_key
        Unique per message and recipient, derived from what caused it; sent to receivers that dedupe.
    public
        Whether the channel reaches the public.
    cap_status
        Actual, Exercise or Test.
    """

    channel: str
    recipient: str
    payload: bytes
    content_type: str
    idempotency_key: str
    public: bool = False
    cap_status: CapStatus = CapStatus.ACTUAL


@dataclass(frozen=True)
class OutboxRow:
    """One row of the outbox as stored."""

    id: int
    message: NewMessage
    status: OutboxStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str
    created_at: datetime
    sent_at: datetime | None


class OutboxTable:
    """The outbox rows of a store (use ``store.outbox``).

    Parameters
    ----------
    engine
        The store's engine.
    write
        The store's write transaction.
    now
        The store's clock, stamping ``created_at`` of new rows.
    """

    def __init__(self, engine: Engine, write: Callable[[], AbstractContextManager[Connection]],
                 now: Callable[[], datetime]) -> None:
        self._engine = engine
        self._write = write
        self._now = now

    def enqueue(self, message: NewMessage) -> tuple[OutboxRow, bool]:
        """Queue ``message``, due at once; a key already queued returns its row untouched.

        Returns
        -------
        tuple
            The row, and whether it was created now (``False``: the key was there).
        """
        with self._write() as conn:
            created = insert_message(conn, message, self._now())
            row = conn.execute(select(outbox).where(outbox.c.idempotency_key == message.idempotency_key)).one()
        return _row(row), created

    def enqueue_many(self, messages: Sequence[NewMessage]) -> int:
        """Queue ``messages`` in order, due at once, in one transaction (multi-row inserts); a key already
        queued (or repeated among them) keeps its row untouched. Returns how many rows were created."""
        if not messages:
            return 0
        with self._write() as conn:
            return insert_messages(conn, messages, self._now())

    def heads(self, now: datetime, *, limit: int = 1000) -> list[OutboxRow]:
        """Per (channel, recipient), the oldest row queued or sending, when due by ``now``; oldest first.

        A later message to a recipient is never returned while an earlier one is unsent,
        so it cannot overtake it.
        """
        oldest = (select(func.min(outbox.c.id).label("id")).where(outbox.c.status.in_(PENDING))
                  .group_by(outbox.c.channel, outbox.c.recipient).subquery())
        query = (select(outbox).join(oldest, outbox.c.id == oldest.c.id)
                 .where(outbox.c.next_attempt_at <= now).order_by(outbox.c.id).limit(limit))
        with self._engine.connect() as conn:
            return [_row(r) for r in conn.execute(query).all()]

    def claim(self, row: OutboxRow, *, until: datetime) -> bool:
        """Make ``row`` ``sending`` (one more attempt, leased until ``until``) unless another dispatcher did."""
        stmt = (update(outbox).where(outbox.c.id == row.id, outbox.c.attempts == row.attempts,
                                     outbox.c.status.in_(PENDING))
                .values(status=OutboxStatus.SENDING.value, attempts=row.attempts + 1, next_attempt_at=until))
        with self._write() as conn:
            return conn.execute(stmt).rowcount == 1

    def mark_sent(self, row_id: int, at: datetime) -> None:
        """The receiver took the message."""
        self._set(row_id, status=OutboxStatus.SENT.value, sent_at=at, last_error="")

    def mark_retry(self, row_id: int, at: datetime, error: str) -> None:
        """The attempt failed; try again at ``at``."""
        self._set(row_id, status=OutboxStatus.QUEUED.value, next_attempt_at=at, last_error=error)

    def mark_failed(self, row_id: int, error: str) -> None:
        """Give up: the error is permanent, or every attempt failed."""
        self._set(row_id, status=OutboxStatus.FAILED.value, last_error=error)

    def mark_refused(self, row_id: int, reason: str) -> None:
        """Never to be sent (an Exercise or Test message for a public channel)."""
        self._set(row_id, status=OutboxStatus.REFUSED.value, last_error=reason)

    def rows(self, channel: str | None = None) -> list[OutboxRow]:
        """Every row (of ``channel``), in creation order."""
        query = select(outbox).order_by(outbox.c.id)
        if channel is not None:
            query = query.where(outbox.c.channel == channel)
        with self._engine.connect() as conn:
            return [_row(r) for r in conn.execute(query).all()]

    def counts(self) -> dict[OutboxStatus, int]:
        """How many rows are in each status (every status a key)."""
        with self._engine.connect() as conn:
            found = dict(conn.execute(select(outbox.c.status, func.count()).group_by(outbox.c.status)).all())
        return {status: found.get(status.value, 0) for status in OutboxStatus}

    def next_head_due(self) -> datetime | None:
        """The earliest ``next_attempt_at`` among the heads, due or not (``None``: nothing pending)."""
        oldest = (select(func.min(outbox.c.id).label("id")).where(outbox.c.status.in_(PENDING))
                  .group_by(outbox.c.channel, outbox.c.recipient).subquery())
        with self._engine.connect() as conn:
            return conn.execute(select(func.min(outbox.c.next_attempt_at))
                                .join(oldest, outbox.c.id == oldest.c.id)).scalar_one()

    def _set(self, row_id: int, **values: object) -> None:
        with self._write() as conn:
            conn.execute(update(outbox).where(outbox.c.id == row_id).values(**values))


def _row(r: Row) -> OutboxRow:
    message = NewMessage(channel=r.channel, recipient=r.recipient, payload=bytes(r.payload),
                         content_type=r.content_type, idempotency_key=r.idempotency_key, public=r.public,
                         cap_status=CapStatus(r.cap_status))
    return OutboxRow(id=r.id, message=message, status=OutboxStatus(r.status), attempts=r.attempts,
                     next_attempt_at=r.next_attempt_at, last_error=r.last_error, created_at=r.created_at,
                     sent_at=r.sent_at)


def insert_message(conn: Connection, message: NewMessage, now: datetime) -> bool:
    """Queue ``message`` on ``conn``, due at ``now``, unless its key is there; whether it was inserted."""
    return insert_messages(conn, [message], now) == 1


def insert_messages(conn: Connection, messages: Sequence[NewMessage], now: datetime) -> int:
    """Queue ``messages`` on ``conn`` in order, due at ``now``, each unless its key is there (or came earlier among
    them), as multi-row inserts (PostgreSQL: through ``COPY``, :func:`_copy_messages`); how many were inserted."""
    if conn.dialect.name == "postgresql":
        return _copy_messages(conn, _first_of_each_key(messages), now)
    rows = [{"channel": m.channel, "recipient": m.recipient, "payload": m.payload, "content_type": m.content_type,
             "idempotency_key": m.idempotency_key, "status": OutboxStatus.QUEUED.value, "attempts": 0,
             "next_attempt_at": now, "last_error": "", "created_at": now, "public": m.public,
             "cap_status": CapStatus(m.cap_status).value}
            for m in _first_of_each_key(messages)]
    stmt = (sqlite_insert(outbox).on_conflict_do_nothing(index_elements=[outbox.c.idempotency_key])
            .returning(outbox.c.id))
    return len(conn.execute(stmt, rows).all())


#: The columns of a message staged for :func:`_copy_messages`, with their PostgreSQL types.
_STAGED = (("ord", "int4"), ("channel", "text"), ("recipient", "text"), ("payload", "bytea"), ("content_type", "text"),
           ("idempotency_key", "text"), ("public", "bool"), ("cap_status", "text"))


def _copy_messages(conn: Connection, messages: Sequence[NewMessage], now: datetime) -> int:
    """PostgreSQL: ``messages`` staged through ``COPY`` and inserted in order by one ``INSERT … SELECT … ON CONFLICT
    DO NOTHING`` (a multi-row ``VALUES`` of thousands of rows costs psycopg seconds to parse); how many were
    inserted."""
    if not messages:
        return 0
    stage(conn, "warn_outbox_new", _STAGED,
          ((k, m.channel, m.recipient, m.payload, m.content_type, m.idempotency_key, m.public,
            CapStatus(m.cap_status).value) for k, m in enumerate(messages)), analyse=False)
    inserted = conn.exec_driver_sql(
        "INSERT INTO outbox (channel, recipient, payload, content_type, idempotency_key, status, attempts, "
        "next_attempt_at, last_error, created_at, public, cap_status) SELECT channel, recipient, payload, "
        "content_type, idempotency_key, %(status)s, 0, %(now)s, '', %(now)s, public, cap_status "
        "FROM warn_outbox_new ORDER BY ord ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
        {"status": OutboxStatus.QUEUED.value, "now": now})
    return len(inserted.all())


def _first_of_each_key(messages: Sequence[NewMessage]) -> list[NewMessage]:
    """``messages`` without any whose idempotency key came earlier, in order."""
    seen: set[str] = set()
    first = []
    for message in messages:
        if message.idempotency_key not in seen:
            seen.add(message.idempotency_key)
            first.append(message)
    return first
