"""Leases: which process leads a deployment, held in the store that every process shares.

Two or more ``warn run`` against one store elect their leader by a row of ``leases`` (per name, the
deployment's district code): the holder renews it well before it runs out; another process takes it
only once it has run out (:meth:`LeaseTable.hold`), in one statement that the database serialises —
PostgreSQL re-reads the row a concurrent update committed before it decides, SQLite writes one at a
time — so at most one holder is ever recorded. Every change of holder adds one to the lease's term,
the fencing token the new leader works under.

Times are the processes' wall clocks (UTC, kept by NTP), never a drill's simulated clock: a lease is
about processes being alive, not about the storm's time.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, Row, case, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from warn.store.schema import leases


@dataclass(frozen=True)
class Lease:
    """A lease as recorded (times aware UTC).

    Attributes
    ----------
    name
        What is led (a deployment's district code).
    holder
        Who holds it (:func:`warn.service.holder_id`: host, process id and a nonce).
    term
        The holder's term: 1 for the first holder, one more at every change of holder.
    acquired_at, expires_at
        When the term began, and when the lease runs out unless renewed.
    """

    name: str
    holder: str
    term: int
    acquired_at: datetime
    expires_at: datetime


class LeaseTable:
    """The leases of a store (use ``store.leases``)."""

    def __init__(self, engine: Engine, write: Callable[[], AbstractContextManager[Connection]]) -> None:
        self._engine = engine
        self._write = write

    def hold(self, name: str, holder: str, *, now: datetime, ttl: timedelta) -> Lease | None:
        """Renew ``holder``'s lease on ``name``, or take it if nobody holds it or it ran out by ``now``.

        Parameters
        ----------
        name, holder
            What is led and who asks.
        now
            The asker's wall clock (aware UTC).
        ttl
            How long the lease lasts from ``now`` unless renewed again.

        Returns
        -------
        Lease or None
            The lease ``holder`` now holds (to ``now + ttl``); ``None`` when another holds it.
        """
        insert = pg_insert if self._engine.dialect.name == "postgresql" else sqlite_insert
        with self._write() as conn:
            conn.execute(insert(leases).values(name=name, holder=holder, term=1, acquired_at=now,
                                               expires_at=now + ttl).on_conflict_do_nothing(
                index_elements=[leases.c.name]))
            same = leases.c.holder == holder
            conn.execute(update(leases).where(leases.c.name == name, or_(same, leases.c.expires_at <= now)).values(
                holder=holder, term=case((same, leases.c.term), else_=leases.c.term + 1),
                acquired_at=case((same, leases.c.acquired_at), else_=now), expires_at=now + ttl))
            lease = _lease(conn.execute(select(leases).where(leases.c.name == name)).one())
        return lease if lease.holder == holder else None

    def take_from(self, name: str, holder: str, gone: str, *, now: datetime, ttl: timedelta) -> Lease | None:
        """Take the lease on ``name`` from ``gone`` (a holder known to be dead) before it runs out, in a new term.

        Returns
        -------
        Lease or None
            The lease ``holder`` now holds; ``None`` when ``gone`` no longer held it (another took it first).
        """
        with self._write() as conn:
            taken = conn.execute(update(leases).where(leases.c.name == name, leases.c.holder == gone).values(
                holder=holder, term=leases.c.term + 1, acquired_at=now, expires_at=now + ttl)).rowcount
            lease = _lease(conn.execute(select(leases).where(leases.c.name == name)).one()) if taken else None
        return lease

    def release(self, name: str, holder: str, *, now: datetime) -> None:
        """End ``holder``'s lease on ``name`` at ``now`` (a clean stop: the next process need not wait it out);
        nothing when another holds it."""
        with self._write() as conn:
            conn.execute(update(leases).where(leases.c.name == name, leases.c.holder == holder,
                                              leases.c.expires_at > now).values(expires_at=now))

    def get(self, name: str) -> Lease | None:
        """The lease on ``name`` as recorded (perhaps run out); ``None`` when nobody ever held it."""
        with self._engine.connect() as conn:
            row = conn.execute(select(leases).where(leases.c.name == name)).one_or_none()
        return None if row is None else _lease(row)


def _lease(row: Row) -> Lease:
    return Lease(row.name, row.holder, row.term, row.acquired_at, row.expires_at)
