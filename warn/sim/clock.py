"""A simulated clock for replays and drills: every component that asks for "now" asks it.

:class:`SimClock` is set by the replay; :class:`StartedClock` runs at real speed from a chosen
instant (the live service on a drill's or a test's clock); :class:`FileClock` reads the time a
drill in another process writes with :func:`write_clock` (``warn run --clock-file``: the chaos
drill steps a real service process through a storm, and holds the time while it kills and
restarts it).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from warn.errors import ConfigError, Problem


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


def write_clock(path: Path, moment: datetime) -> None:
    """Set the time a :class:`FileClock` on ``path`` reads: ``moment`` (aware) in ISO 8601, replaced atomically."""
    partial = path.with_name(path.name + ".part")
    partial.write_text(_aware(moment).astimezone(timezone.utc).isoformat(), encoding="utf-8")
    partial.replace(path)


class FileClock:
    """Now, as a drill in another process last wrote it to a file (:func:`write_clock`); it never goes back.

    Parameters
    ----------
    path
        The clock file: one ISO 8601 time with a zone.

    Raises
    ------
    ConfigError
        The file cannot be read or holds no time with a zone (when made; later a bad read keeps
        the last time).
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._now = self._read()

    def __call__(self) -> datetime:
        try:
            moment = self._read()
        except ConfigError:  # caught between the drill's writes: the last time holds
            return self._now
        self._now = max(self._now, moment)
        return self._now

    def _read(self) -> datetime:
        try:
            text = self.path.read_text(encoding="utf-8").strip()
        except OSError as err:
            raise ConfigError(Problem(str(self.path), "", "a readable clock file written by the drill",
                                      err.strerror or type(err).__name__)) from None
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            moment = None
        if moment is None or moment.utcoffset() is None:
            raise ConfigError(Problem(str(self.path), "", "an ISO 8601 time with a zone", repr(text[:40])))
        return moment.astimezone(timezone.utc)
