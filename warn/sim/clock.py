"""A simulated clock for replays and drills: every component that asks for "now" asks it."""

from __future__ import annotations

from datetime import datetime


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
