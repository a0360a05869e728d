"""主备 / leadership: whether this ``warn run`` acts for its deployment or stands by.

Several ``warn run`` processes may share one store (two hosts, one PostgreSQL): one of them — the
leader — runs the jobs (cycles, ticks, the outbox, the MQTT feeds); the others stand by, asking for
the lease every :attr:`~warn.config.LeaseSpec.renew`, and the first to find it run out takes it and
acts from its next job on (:class:`Leadership`) — at once when the lease's holder was a process of the same
host that is gone (:func:`dead_here`: a restart after a crash). A leader that cannot renew — its store unreachable,
its process hung — stops acting on its own the moment its lease runs out by its own clock, before
any standby can have taken it, so two processes never act as leader at once while their clocks
agree. Every job repeats nothing of what another leader did (a cycle found done is not run again,
each action and message has its idempotency key), so a takeover in the middle of a cycle resumes it.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from collections.abc import Callable
from datetime import datetime, timezone

from warn.config import LeaseSpec
from warn.errors import first_line
from warn.store import STORE_FAILURES
from warn.store.leases import Lease, LeaseTable

log = logging.getLogger(__name__)


def wall_clock() -> datetime:
    """The wall clock, aware UTC (leases never follow a drill's clock)."""
    return datetime.now(timezone.utc)


def holder_id() -> str:
    """This process as a lease holder: host, process id and a nonce (a restarted process is a new holder)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def holder_pid(holder: str) -> int | None:
    """The process id in a holder made by :func:`holder_id` (``None`` for another form)."""
    parts = holder.split(":")
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None


def dead_here(holder: str) -> bool:
    """Whether ``holder`` (made by :func:`holder_id`) was a process of this host that no longer runs: its lease can
    be taken at once, not waited out (a ``warn run`` restarted after a crash leads again at its first renewal)."""
    pid = holder_pid(holder)
    if pid is None or holder.split(":")[0] != socket.gethostname() or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # another user's process: alive
        return False
    return False


class Leadership:
    """This process's standing for one deployment: the lease ``name`` in the store's ``leases``.

    Parameters
    ----------
    leases
        The store's leases (``store.leases``).
    name
        What is led: the deployment's district code.
    spec
        The lease's duration and how often it is renewed.
    holder
        This process (default :func:`holder_id`).
    clock
        The wall clock (tests: a clock they move).
    on_change
        Called with ``True`` when this process starts leading and ``False`` when it stops.

    Attributes
    ----------
    lease
        The lease as last held by this process (``None``: standing by).
    reached
        Whether the last renewal reached the store.
    """

    def __init__(self, leases: LeaseTable, name: str, spec: LeaseSpec, *, holder: str | None = None,
                 clock: Callable[[], datetime] = wall_clock,
                 on_change: Callable[[bool], None] = lambda leading: None) -> None:
        self.name = name
        self.holder = holder or holder_id()
        self.lease: Lease | None = None
        self.reached = True
        self._leases = leases
        self._spec = spec
        self._clock = clock
        self._on_change = on_change
        self._acting: bool | None = None  # not yet said

    def renew(self) -> bool:
        """Renew the lease, or take it if it ran out; ``True`` when this process leads now.

        A store that cannot be reached renews nothing: the lease held runs out on its own time.
        """
        try:
            now = self._clock()
            self.lease = self._leases.hold(self.name, self.holder, now=now, ttl=self._spec.ttl)
            current = self._leases.get(self.name) if self.lease is None else None
            if current is not None and dead_here(current.holder):  # a predecessor on this host that died
                self.lease = self._leases.take_from(self.name, self.holder, current.holder, now=now, ttl=self._spec.ttl)
            self.reached = True
        except STORE_FAILURES as err:  # the lease held, if any, is ours until it runs out
            self.reached = False
            log.error("主备租约未续：存储库不可用 / lease not renewed: the store is unavailable: %s",
                      first_line(err))
        self._changed()
        return self.leading()

    def leading(self) -> bool:
        """Whether this process leads now: it holds a lease that has not run out by its own clock."""
        lease = self.lease
        return lease is not None and self._clock() < lease.expires_at

    def release(self) -> None:
        """Give the lease up (a clean stop: a standby takes over at its next ask, not after the lease's time)."""
        if self.lease is None:
            return
        try:
            self._leases.release(self.name, self.holder, now=self._clock())
            log.info("已交出租约 / the lease is given up")
        except STORE_FAILURES:
            log.warning("主备租约未能释放，将自然到期 / the lease could not be released: it runs out on its own")
        self.lease = None
        if self._acting:
            self._acting = False
            self._on_change(False)

    def _changed(self) -> None:
        """Say and act on the standing found at the first renewal and on each change (the on_change callback)."""
        leading = self.leading()
        if leading == self._acting:
            return
        self._acting = leading
        if leading and self.lease is not None:
            log.info("主用：本进程领导部署 %s（任期 %d）/ leading deployment %s (term %d) as %s",
                     self.name, self.lease.term, self.name, self.lease.term, self.holder)
        else:
            current = self._current_holder()
            log.warning("备用：部署 %s 由 %s 领导 / standing by: deployment %s is led by %s",
                        self.name, current, self.name, current)
        self._on_change(leading)

    def _current_holder(self) -> str:
        try:
            lease = self._leases.get(self.name)
        except STORE_FAILURES:
            return "未知 / unknown (the store is unavailable)"
        return lease.holder if lease is not None and lease.holder != self.holder else "无 / nobody"
