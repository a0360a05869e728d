"""Replay: the service's jobs driven over a period on a simulated clock.

A replay runs exactly what the live service runs — :meth:`warn.service.Service.cycle`,
``tick`` and ``dispatch`` — but the clock is a :class:`~warn.sim.clock.SimClock` that the
replay moves in steps of ``step``: at each step the world is advanced first (``before``:
the demo world publishing runs and readings, the demo staff answering), then a cycle
runs when the step is on the ``every`` grid, then the command tick, then the
dispatcher. Nothing is mocked: the feeds are fetched over HTTP, the store is real, the
channels send. With ``speed`` the replay keeps pace with the wall clock (``speed`` × real
time); without it it runs as fast as it can. :func:`drain` ends a drill: it dispatches what
is still queued, moving the clock to each next due time, so the drill ends with its
messages delivered or given up, not waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from warn.broadcast.outbox import DispatchReport
from warn.cycle.warning_cycle import CycleReport
from warn.durations import floor_time
from warn.sim.clock import SimClock


#: How much simulated time :func:`drain` may take to deliver what a drill still owes.
DRAIN_WITHIN = timedelta(hours=1)
#: The least :func:`drain` moves the clock between two rounds.
DRAIN_STEP = timedelta(seconds=1)


@dataclass
class ReplayReport:
    """What a replay did: its cycles (reports), the steps taken, the wall time (s)."""

    cycles: list[CycleReport] = field(default_factory=list)
    steps: int = 0
    seconds: float = 0.0


def replay(service, clock: SimClock, start: datetime, end: datetime, *, every: timedelta, step: timedelta,
           speed: float | None = None, before: Callable[[datetime], None] = lambda t: None,
           on_cycle: Callable[[CycleReport], None] = lambda r: None,
           stop: Callable[[datetime], bool] = lambda t: False) -> ReplayReport:
    """Drive ``service`` from ``start`` to ``end`` (both included) on ``clock``.

    Parameters
    ----------
    service
        A :class:`warn.service.Service` whose store, feeds and channels read ``clock``.
    clock
        The simulated clock; set to each step's time.
    start, end
        The period (aware).
    every
        Cycle cadence: a cycle runs at each step on this grid (counted from 00 UTC).
    step
        The clock's step: ticks and dispatches run at every step (``every`` a multiple of it).
    speed
        Simulated seconds per wall-clock second; ``None`` as fast as possible.
    before
        Called at each step before the jobs (advance the world, let people act).
    on_cycle
        Called with each cycle's report.
    stop
        Asked after each step; ``True`` ends the replay there (e.g. once everything is clear).

    Raises
    ------
    ValueError
        ``every`` not a positive multiple of ``step``, or ``end`` before ``start``.
    """
    if step <= timedelta(0) or every % step or end < start:
        raise ValueError("a replay needs step > 0, every a multiple of step, and end not before start")
    report = ReplayReport()
    began = time.perf_counter()
    moment = start
    while moment <= end:
        clock.set(moment)
        before(moment)
        if floor_time(moment, every) == moment:
            cycle = service.cycle(moment)
            report.cycles.append(cycle)
            on_cycle(cycle)
        service.tick(moment)
        service.dispatch(moment)
        report.steps += 1
        if stop(moment):
            break
        moment += step
        if speed is not None:
            lag = (moment - start).total_seconds() / speed - (time.perf_counter() - began)
            if lag > 0:
                time.sleep(lag)
    report.seconds = time.perf_counter() - began
    return report


def drain(dispatch: Callable[[datetime], DispatchReport], clock: SimClock, *,
          within: timedelta = DRAIN_WITHIN) -> DispatchReport:
    """Dispatch until nothing is queued or sending, moving ``clock`` to each next due time (a rate
    limit's next token, a retry's backoff, a lease's end), for at most ``within`` of simulated time.

    Parameters
    ----------
    dispatch
        One dispatch round at a time (:meth:`warn.service.Service.dispatch`) by a dispatcher whose
        store and channels read ``clock``.
    clock
        The simulated clock; left at the last round's time.
    within
        The deadline, after the clock's time at the call.

    Returns
    -------
    DispatchReport
        The rounds' counts; ``next_due`` is ``None`` when nothing is pending, else what is still
        owed stays queued (the drill's summary counts it).
    """
    deadline = clock() + within
    total = dispatch(clock())
    while total.next_due is not None and total.next_due <= deadline:
        clock.set(min(max(total.next_due, clock() + DRAIN_STEP), deadline))
        total = total.plus(dispatch(clock()))
        if clock() >= deadline:
            break
    return total
