"""Records the store hands back besides readings: write counts, revisions, heartbeats, model states, levels."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from warn.vocab import QCFlag


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What one :meth:`warn.store.Store.write_readings` batch did.

    Attributes
    ----------
    inserted
        Readings for a (sensor, phenomenon time) the store did not hold.
    revised
        Readings that changed a held value, flag or rule (each one also wrote a revision).
    duplicates
        Readings that changed nothing: same value, flag and rule, or a missing value
        for a time that already has one.
    """

    inserted: int = 0
    revised: int = 0
    duplicates: int = 0

    @property
    def total(self) -> int:
        """Readings in the batch."""
        return self.inserted + self.revised + self.duplicates


@dataclass(frozen=True, slots=True)
class Revision:
    """One change of a stored reading, old and new side by side.

    Attributes
    ----------
    id
        Increasing with the order revisions were written.
    sensor_id, phenomenon_time
        The reading revised (phenomenon time timezone-aware UTC).
    old_value, new_value
        In the reading's unit; ``None`` for missing.
    old_flag, new_flag, old_rule, new_rule
        QC flag and rule before and after.
    old_arrival_time, new_arrival_time
        When the old and the new version arrived (UTC).
    revised_at
        When the store recorded the revision (UTC, the store's clock).
    """

    id: int
    sensor_id: str
    phenomenon_time: datetime
    old_value: float | None
    new_value: float | None
    old_flag: QCFlag
    new_flag: QCFlag
    old_rule: str
    new_rule: str
    old_arrival_time: datetime
    new_arrival_time: datetime
    revised_at: datetime


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """The latest word from one source (a feed, the warning cycle).

    Attributes
    ----------
    source
        Its name (``feeds.<name>``, ``cycle``).
    last_seen
        Time of the latest data it delivered (UTC); ``None`` if it never delivered.
    expected
        How often it is expected to deliver.
    stale
        Whether it was judged stale when the beat was written.
    detail
        Why, for people (zh-CN first, then English); may be empty.
    updated_at
        When the beat was written (UTC, the store's clock).
    """

    source: str
    last_seen: datetime | None
    expected: timedelta
    stale: bool
    detail: str
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ModelState:
    """State a model carried out of its last cycle (:meth:`warn.store.Store.load_state`).

    Attributes
    ----------
    model, key
        Whose state it is (``"swi"`` and a grid signature).
    valid_at
        The time it holds for.
    arrays
        The named arrays as saved.
    detail
        The note saved beside it.
    """

    model: str
    key: str
    valid_at: datetime
    arrays: dict[str, np.ndarray]
    detail: str


@dataclass(frozen=True, slots=True)
class LevelRecord:
    """One item's remembered level (:meth:`warn.store.Store.save_levels`).

    Attributes
    ----------
    item_id
        The zone or point.
    level
        Its level (−1 unknown … 4 red).
    below_since
        Since when its score has stayed below its level's boundary − margin; ``None`` if not.
    evidence_at
        When it last had fresh evidence; ``None`` if never.
    """

    item_id: str
    level: int
    below_since: datetime | None
    evidence_at: datetime | None
