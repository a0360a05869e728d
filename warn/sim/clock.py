"""A simulated clock for replays and drills: every component that asks for "now" asks it.

:class:`SimClock` is set by the replay; :class:`StartedClock` runs at real speed from a chosen
instant (the live service on a drill's or a test's clock).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone


class SimClock:
    """Now, as the replay has set it (timezone-aware UTC); call it like :func:`warn.store.store.utc_now`.

    Parameters
    ----------
    start
        The first time (aware).
    """

    def __init__(self, start: datetime) -> None:
        self._now = _aware(start)

    def __call__(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        """Move the clock to ``moment``; it never goes back."""
        moment = _aware(moment)
        if moment < self._now:
            raise ValueError(f"the simulated clock cannot go back from {self._now.isoformat()} to {moment.isoformat()}")
        self._now = moment


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("the simulated clock needs timezone-aware times")
    return moment


class StartedClock:
    """The wall clock started at another instant: it reads ``start`` when made, then runs at real speed.

    ``warn run --clock-start`` runs the live service on it (drills, and tests that must not
    depend on the hour they run at); call it like :func:`warn.service.utc_now`.

    Parameters
    ----------
    start
        What the clock reads now (aware).
    wall
        The wall clock it runs with (default: the system's, UTC).
    """

    def __init__(self, start: datetime, *, wall: Callable[[], datetime] | None = None) -> None:
        self._wall = wall or _system_utc
        self.offset = _aware(start) - self._wall()

    def __call__(self) -> datetime:
        return self._wall() + self.offset


def _system_utc() -> datetime:
    return datetime.now(timezone.utc)
