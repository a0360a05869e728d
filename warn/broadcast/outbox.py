"""The durable outbox: enqueue every message first, then dispatch with retries, backoff and rate limits.

Delivery is at least once, with receiver-side dedupe: every message to every
recipient is first a row of ``store.outbox`` (:mod:`warn.store.outbox`) with a unique
idempotency key, and :meth:`Dispatcher.enqueue` is idempotent on that key. One
:meth:`Dispatcher.dispatch_once` then, for each (channel, recipient), takes the
oldest unsent row when it is due — a later message never overtakes an earlier one —
and, if the channel's token bucket has a token:

1. refuses it (status ``refused``, with the reason) when it is an Exercise or Test
   message and the channel (now or when it was enqueued) is public;
2. claims it (``sending``, one more attempt, a lease of :attr:`Dispatcher.lease`);
3. sends it through the channel (:mod:`warn.broadcast.channels`) with its key;
4. marks it ``sent``; or, on a failure, ``queued`` again after a delay drawn with
   full jitter, uniform in [0, min(cap, base · 2^(attempt − 1))) ; or ``failed`` when
   the error is permanent or the channel's ``max_attempts`` are spent.

A dispatcher killed between 3 and 4 leaves the row ``sending``: when the lease runs
out the row is due again and is sent with the same key, so a deduping receiver takes
it once. Time comes only from the injected clock and waits only through the
injected sleep, so backoff and rate limits run on a simulated clock in tests and drills.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from fractions import Fraction

from warn.broadcast.channels import Channel, Delivery, DeliveryError, utc_now
from warn.errors import Problem, UnknownNameError
from warn.store import Store
from warn.store.outbox import PENDING, NewMessage, OutboxRow, OutboxStatus
from warn.vocab import CapStatus

#: How long a claimed row belongs to its dispatcher before another may send it again.
LEASE = timedelta(minutes=2)
#: Longest wait of :meth:`Dispatcher.run` between looks at the outbox.
IDLE = timedelta(seconds=5)
_MICRO = Fraction(1, 1_000_000)


class TokenBucket:
    """A token bucket on an injected clock: ``rate_per_minute`` tokens a minute, at most ``burst`` held.

    Exact (rational) arithmetic, so a bucket of rate r and burst 1 never lets more
    than r messages go in any 60-second window [t, t + 60 s).
    """

    def __init__(self, rate_per_minute: float, burst: int, start: datetime) -> None:
        self._per_second = Fraction(rate_per_minute) / 60
        self._burst = Fraction(burst)
        self._tokens = Fraction(burst)
        self._at = start

    def _refill(self, now: datetime) -> None:
        if now > self._at:
            elapsed = Fraction((now - self._at) // timedelta(microseconds=1)) * _MICRO
            self._tokens = min(self._burst, self._tokens + elapsed * self._per_second)
            self._at = now

    def take(self, now: datetime) -> bool:
        """Take a token at ``now``; ``False`` when none is there."""
        self._refill(now)
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True

    def ready_at(self, now: datetime) -> datetime:
        """When the next token is there (``now`` if it is)."""
        self._refill(now)
        if self._tokens >= 1:
            return now
        wait_us = math.ceil((1 - self._tokens) / self._per_second / _MICRO)
        return now + timedelta(microseconds=wait_us)


@dataclass(frozen=True)
class DispatchReport:
    """What one or more dispatch rounds did.

    Attributes
    ----------
    sent, retried, failed, refused
        Rows marked sent, rescheduled after a failure, given up, refused (Exercise/Test on a public channel).
    rate_limited
        Heads left for later because their channel had no token.
    next_due
        When the dispatcher has something to do next (``None``: nothing is pending).
    """

    sent: int = 0
    retried: int = 0
    failed: int = 0
    refused: int = 0
    rate_limited: int = 0
    next_due: datetime | None = None

    def plus(self, other: DispatchReport) -> DispatchReport:
        """Counts summed; ``next_due`` of ``other`` (the later round)."""
        return DispatchReport(self.sent + other.sent, self.retried + other.retried, self.failed + other.failed,
                              self.refused + other.refused, self.rate_limited + other.rate_limited, other.next_due)


def refusal(row: OutboxRow, channel: Channel) -> str:
    """Why ``row`` must never go through ``channel`` ("" when it may)."""
    status = row.message.cap_status
    if status is not CapStatus.ACTUAL and (row.message.public or channel.spec.public):
        return (f"{status.value} 消息不得发往公众渠道 {channel.name} / "
                f"a {status.value} message never goes to the public channel {channel.name}")
    return ""


def backoff(attempt: int, base: timedelta, cap: timedelta, rng: random.Random) -> timedelta:
    """Full jitter: uniform in [0, min(cap, base · 2^(attempt − 1))) after failed attempt ``attempt`` (1, 2, …)."""
    bound = min(cap, base * 2 ** min(attempt - 1, 40))
    return bound * rng.random()


@dataclass
class _Round:
    """Counters of one :meth:`Dispatcher.dispatch_once`."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    refused: int = 0
    limited: set[str] = field(default_factory=set)
    rate_limited: int = 0


class Dispatcher:
    """Enqueue messages into the store's outbox and deliver them through the channels.

    Parameters
    ----------
    store
        The store (migrated) whose ``outbox`` holds the rows.
    channels
        Built channels by name (:func:`warn.broadcast.channels.build_channels`).
    clock
        Now, timezone-aware UTC (a simulated clock in tests and drills).
    sleep
        How :meth:`run` waits, in seconds (advances a simulated clock in tests).
    rng
        The source of backoff jitter.
    lease
        How long a claimed row belongs to this dispatcher; longer than any channel's timeout.
    """

    def __init__(self, store: Store, channels: Mapping[str, Channel], *, clock: Callable[[], datetime] = utc_now,
                 sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None,
                 lease: timedelta = LEASE) -> None:
        self.store, self.channels, self.clock, self.sleep, self.lease = store, dict(channels), clock, sleep, lease
        self.rng = rng or random.Random()
        start = clock()
        self._buckets = {name: TokenBucket(c.spec.rate_per_minute, c.spec.burst, start)
                         for name, c in self.channels.items()}

    def enqueue(self, channel: str, recipient: str, payload: bytes, content_type: str, key: str, *,
                cap_status: CapStatus = CapStatus.ACTUAL) -> tuple[OutboxRow, bool]:
        """Queue one message to one recipient; the same ``key`` again returns the row already queued.

        Returns
        -------
        tuple
            The row, and whether it was created by this call.

        Raises
        ------
        UnknownNameError
            ``channel`` is not configured.
        """
        if channel not in self.channels:
            raise UnknownNameError(Problem("config.yaml", "channels", f"a channel among {', '.join(self.channels)}",
                                           repr(channel)))
        message = NewMessage(channel=channel, recipient=recipient, payload=payload, content_type=content_type,
                             idempotency_key=key, public=self.channels[channel].spec.public,
                             cap_status=CapStatus(cap_status))
        return self.store.outbox.enqueue(message)

    def dispatch_once(self, now: datetime | None = None, *,
                      each: AbstractContextManager[object] | None = None) -> DispatchReport:
        """Deliver every head due at ``now`` (default the clock) whose channel has a token, until none is left.

        Each row is tried at most once per call; a recipient's next row is taken as
        soon as the one before it is sent, failed or refused. ``each``: held around every row's
        claim, send and mark (the service's sending lock, which its cycles take: a process killed
        mid-cycle is then never in the middle of a send, which a channel without an idempotency key
        would deliver twice).

        Returns
        -------
        DispatchReport
            What was sent, retried, failed, refused or held back by a rate limit, and when to call again.
        """
        now = self.clock() if now is None else now
        counts = _Round()
        tried: set[int] = set()
        while True:
            heads = [h for h in self.store.outbox.heads(now) if h.id not in tried]
            progressed = False
            for row in heads:
                tried.add(row.id)
                with each if each is not None else nullcontext():
                    progressed |= self._handle(row, now, counts)
            if not progressed:
                break
        return DispatchReport(counts.sent, counts.retried, counts.failed, counts.refused, counts.rate_limited,
                              self._next_due(now, counts.limited))

    def run(self, *, stop: Callable[[], bool] = lambda: False, until_idle: bool = False,
            idle: timedelta = IDLE) -> DispatchReport:
        """Dispatch, sleep until the next due time (at most ``idle``), repeat until ``stop()`` — or nothing is pending.

        Parameters
        ----------
        stop
            Asked before each round; ``True`` ends the loop.
        until_idle
            Return as soon as nothing is queued or sending (drills, tests, ``--drain``).
        idle
            Longest sleep, so newly enqueued rows are picked up.
        """
        total = DispatchReport()
        while not stop():
            now = self.clock()
            total = total.plus(self.dispatch_once(now))
            if total.next_due is None and until_idle:
                return total
            wake = min(total.next_due or now + idle, now + idle)
            self.sleep(max((wake - now).total_seconds(), 0.001))
        return total

    def _handle(self, row: OutboxRow, now: datetime, counts: _Round) -> bool:
        """Refuse, send or reschedule one head; ``True`` when the recipient's next row may now be due."""
        channel = self.channels.get(row.message.channel)
        if channel is None:
            self.store.outbox.mark_failed(row.id, f"渠道未配置 / channel {row.message.channel!r} is not configured")
            counts.failed += 1
            return True
        reason = refusal(row, channel)
        if reason:
            self.store.outbox.mark_refused(row.id, reason)
            counts.refused += 1
            return True
        if not self._buckets[channel.name].take(now):
            counts.limited.add(channel.name)
            counts.rate_limited += 1
            return False
        if not self.store.outbox.claim(row, until=now + self.lease):
            return False
        return self._send(channel, replace(row, attempts=row.attempts + 1), now, counts)

    def _send(self, channel: Channel, row: OutboxRow, now: datetime, counts: _Round) -> bool:
        message = row.message
        try:
            channel.send(Delivery(message.idempotency_key, message.recipient, message.payload, message.content_type))
        except DeliveryError as err:
            if err.permanent or row.attempts >= channel.spec.max_attempts:
                self.store.outbox.mark_failed(row.id, f"第 {row.attempts} 次 / attempt {row.attempts}: {err}")
                counts.failed += 1
                return True
            delay = backoff(row.attempts, channel.spec.backoff, channel.spec.backoff_cap, self.rng)
            self.store.outbox.mark_retry(row.id, now + delay, f"第 {row.attempts} 次 / attempt {row.attempts}: {err}")
            counts.retried += 1
            return False
        self.store.outbox.mark_sent(row.id, now)
        counts.sent += 1
        return True

    def _next_due(self, now: datetime, limited: set[str]) -> datetime | None:
        pending = self.store.outbox.counts()
        if not any(pending[OutboxStatus(s)] for s in PENDING):
            return None
        candidates = [self._buckets[name].ready_at(now) for name in limited]
        head = self.store.outbox.next_head_due()
        if head is not None and head > now:
            candidates.append(head)
        return min(candidates, default=now + IDLE)
