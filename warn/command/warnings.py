"""Warning threads: one per (hazard, item), raised, updated and cleared by rules.

Rules (rule id, in :data:`warn.command.model.RULES`):

- ``WARN-RAISE``: an item without an active thread crosses up to blue or above → a
  new thread (id ``<hazard>:<item>:<raise time>``), version 1, and a publication request.
- ``WARN-UP`` / ``WARN-DOWN``: a crossing to another level of at least blue → the
  thread's version goes up by one, and a publication request (CAP ``Update``).
- ``WARN-NONE``: a crossing to level none → the thread stays active at level none and
  the all-clear hold starts (nothing is published: the thread is not over yet).
- ``WARN-CLEAR``: the thread has been at level none for the hold → cleared, with an
  all-clear publication request. A crossing up before that continues the thread.

A crossing to the level the thread already has, a crossing not later than the thread's
last change (a replay; an item changes level at most once per time), and a crossing to
``unknown`` (missing evidence is not calm: the thread keeps its level) change nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from warn.command.model import LevelCrossing
from warn.vocab import HazardName, ItemKind, Level


@dataclass(frozen=True)
class WarningThread:
    """One warning thread.

    Attributes
    ----------
    id
        ``<hazard>:<item>:<raise time, UTC %Y%m%dT%H%MZ>``.
    hazard, item_id, item_kind, town
        What is warned, and the town it lies in.
    level
        Current level (``Level.NONE`` while the all-clear hold runs).
    version
        1 when raised, +1 on every change.
    raised_at, as_of
        When raised; time of the last crossing applied.
    none_since
        Start of the all-clear hold (``None`` while at blue or above).
    cleared_at
        When cleared (``None`` while active).
    attributes, drivers
        Of the last crossing applied.
    """

    id: str
    hazard: HazardName
    item_id: str
    item_kind: ItemKind
    town: str | None
    level: Level
    version: int
    raised_at: datetime
    as_of: datetime
    none_since: datetime | None
    cleared_at: datetime | None
    attributes: tuple[tuple[str, str | int | float], ...]
    drivers: tuple[str, ...]

    @property
    def active(self) -> bool:
        """Not yet cleared."""
        return self.cleared_at is None


def thread_key(hazard: HazardName, item_id: str) -> str:
    """Key of the (hazard, item) slot that holds at most one active thread."""
    return f"{hazard}:{item_id}"


def apply_crossing(thread: WarningThread | None, crossing: LevelCrossing) -> tuple[WarningThread | None, str | None]:
    """Apply ``crossing`` to the slot's current thread.

    Returns
    -------
    (thread, rule_id)
        The thread after the crossing (a new one when raised; ``None`` if there is none)
        and the rule that fired, or the thread unchanged and ``None`` when nothing changes.
    """
    to = crossing.to_level
    attrs = tuple(sorted(crossing.attributes.items()))
    if thread is None or not thread.active:
        if to < Level.BLUE or (thread is not None and thread.cleared_at is not None
                               and crossing.at <= thread.cleared_at):
            return thread, None
        new = WarningThread(
            id=f"{thread_key(crossing.hazard, crossing.item_id)}:{crossing.at.strftime('%Y%m%dT%H%MZ')}",
            hazard=crossing.hazard, item_id=crossing.item_id, item_kind=crossing.item_kind, town=crossing.town,
            level=to, version=1, raised_at=crossing.at, as_of=crossing.at, none_since=None, cleared_at=None,
            attributes=attrs, drivers=crossing.drivers,
        )
        return new, "WARN-RAISE"
    if to is Level.UNKNOWN or to == thread.level or crossing.at <= thread.as_of:
        return thread, None
    if to is Level.NONE:
        rule, none_since = "WARN-NONE", crossing.at
    else:
        rule, none_since = ("WARN-UP" if to > thread.level else "WARN-DOWN"), None
    return replace(thread, level=to, version=thread.version + 1, as_of=crossing.at, none_since=none_since,
                   attributes=attrs or thread.attributes, drivers=crossing.drivers or thread.drivers), rule


def clear_due(thread: WarningThread, now: datetime, hold: timedelta) -> WarningThread | None:
    """Return the cleared thread if its all-clear hold has run out at ``now`` (rule ``WARN-CLEAR``), else ``None``."""
    if thread.active and thread.none_since is not None and now - thread.none_since >= hold:
        cleared_at = thread.none_since + hold
        return replace(thread, version=thread.version + 1, cleared_at=cleared_at, as_of=cleared_at)
    return None
