"""Records the store takes and hands back besides readings: write counts, revisions, heartbeats, model states,
levels, timeline entries and the timeline's verification."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import numpy as np

from warn.vocab import Level, QCFlag


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
class Beat:
    """One beat to write: the latest word from ``source`` (the fields of :class:`Heartbeat` the writer gives)."""

    source: str
    last_seen: datetime | None
    expected: timedelta
    stale: bool
    detail: str = ""


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


class LevelColumns(NamedTuple):
    """The remembered levels of a hazard's items, as columns (:meth:`warn.store.Store.save_levels`).

    Attributes
    ----------
    item_ids
        The zones or points, one per element of the arrays.
    level
        Each one's level (item,), integers −1 unknown … 4 red.
    below_since
        Since when each one's score has stayed below its level's boundary − margin (item,),
        ``datetime64`` UTC; NaT if not.
    evidence_at
        When each one last had fresh evidence (item,), ``datetime64`` UTC; NaT if never.
    """

    item_ids: Sequence[str]
    level: np.ndarray
    below_since: np.ndarray
    evidence_at: np.ndarray


@dataclass(frozen=True, slots=True)
class NewEntry:
    """一条待写入的时间线记录 / a timeline entry to append (:meth:`warn.store.timeline.Timeline.append`).

    The store adds ``seq``, ``recorded_at``, ``prev_hash`` and ``hash``.

    Attributes
    ----------
    occurred_at
        When the change of state happened (timezone-aware).
    actor
        Who made it: a person, or the system component (``cycle``, ``planner``).
    role
        The role they acted in (``duty_officer`` …).
    kind
        What kind of change (``warning.issued``, ``mode.changed``, ``correction`` …).
    summary
        For people, zh-CN first, then English; kept as written.
    org_unit
        The org unit they acted for; may be empty.
    incident
        The incident it belongs to; ``None`` for none.
    details
        Machine-readable particulars, JSON-serialisable (no NaN or infinities).
    refs
        ``seq`` of earlier entries it refers to (the entry a correction corrects …).
    key
        Idempotency key of the cause (the planner's action key); an entry whose key is
        already recorded is not appended again. ``None`` for entries without one.
    """

    occurred_at: datetime
    actor: str
    role: str
    kind: str
    summary: str
    org_unit: str = ""
    incident: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    refs: tuple[int, ...] = ()
    key: str | None = None


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """一条已记录的时间线记录 / one recorded timeline entry, as stored.

    Attributes
    ----------
    seq
        Its position: 1, 2, 3, … without gaps, assigned by the store.
    occurred_at, recorded_at
        When it happened, and when the store recorded it (the store's clock); UTC.
    incident, actor, role, org_unit, kind, summary, details, refs, key
        As given in :class:`NewEntry` (details as decoded from the stored JSON).
    prev_hash
        The previous entry's ``hash`` (:data:`warn.store.timeline.GENESIS` for seq 1).
    hash
        SHA-256, hex, of this entry's canonical form (:func:`warn.store.timeline.entry_hash`).
    """

    seq: int
    occurred_at: datetime
    recorded_at: datetime
    incident: str | None
    actor: str
    role: str
    org_unit: str
    kind: str
    summary: str
    details: dict[str, Any]
    refs: tuple[int, ...]
    key: str | None
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """时间线校验结果 / what :meth:`warn.store.timeline.Timeline.verify` found.

    Attributes
    ----------
    ok
        Every entry matches its hash and links to the one before, seq 1, 2, 3, … without gaps.
    count
        Entries verified (when not ``ok``: those before the first bad one).
    head_hash
        The hash of the last verified entry (:data:`warn.store.timeline.GENESIS` when none).
    first_bad_seq, first_bad_kind
        The first entry that does not match, and its kind; ``None`` when ``ok``.
    reason
        Why it does not match, zh-CN then English; empty when ``ok``.
    """

    ok: bool
    count: int
    head_hash: str
    first_bad_seq: int | None = None
    first_bad_kind: str | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ItemLevel:
    """The level a cycle gave one item at one lead (:meth:`warn.store.levels.LevelTable.record`).

    Attributes
    ----------
    hazard
        The hazard's registered name.
    item_kind, item_id
        What was scored (``zone``, ``point``, ``gauge``, ``district``, …) and its id.
    lead
        ``now``, ``2h`` or ``24h``.
    level
        −1 unknown, 0 none, 1 blue … 4 red.
    score
        The model's score behind the level, ``None`` when it has none.
    drivers
        Why, readable (zh-CN / English).
    probability
        On a cycle scored from an ensemble run: for each level blue … red, the fraction (0–1) of the
        members whose level at this lead reaches at least it (NaN where no member's level is known);
        ``None`` from a single run.
    """

    hazard: str
    item_kind: str
    item_id: str
    lead: str
    level: int
    score: float | None = None
    drivers: tuple[str, ...] = ()
    probability: Mapping[Level, float] | None = None


@dataclass(frozen=True, slots=True)
class LevelBasis:
    """What a hazard's levels were scored from at a cycle (:meth:`warn.store.levels.LevelTable.basis`).

    Attributes
    ----------
    run_id
        The forecast run's identity (checksum, else ``source@issued``); ``None`` without one.
    floors
        The official floors applied: level by item id.
    """

    run_id: str | None
    floors: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class HeldRun:
    """A forecast run fetched and decoded (:meth:`warn.store.inputs.RunTable.hold`).

    Attributes
    ----------
    source
        The configured forecast source.
    issued_at, fetched_at
        Its issue time and when it was fetched (UTC).
    checksum, url, path
        The checksum of its bytes, where it came from and where it is cached.
    etag, last_modified
        The server's validators for a conditional fetch, when it sent them.
    """

    source: str
    issued_at: datetime
    fetched_at: datetime
    checksum: str
    url: str
    path: str
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class OfficialMessage:
    """An official CAP message as held (:meth:`warn.store.inputs.OfficialTable.hold`).

    Attributes
    ----------
    source, identifier, sender, sent, msg_type, cap_status, references
        The configured source and the CAP ``alert`` header.
    hazard, level
        The hazard's name and the level read (0 for a Cancel or an all-clear).
    expires
        When it stops counting (UTC).
    zones, district
        The zone ids it covers, and whether it names the whole district.
    headline
        The headline used in drivers.
    raw
        The message's XML, when it was kept.
    """

    source: str
    identifier: str
    sender: str
    sent: datetime
    msg_type: str
    cap_status: str
    references: tuple[str, ...]
    hazard: str
    level: int
    expires: datetime
    zones: tuple[str, ...]
    district: bool
    headline: str
    raw: str | None = None


@dataclass(frozen=True, slots=True)
class ZoneRain:
    """The rain of one hour over one zone in one forecast run (:meth:`warn.store.inputs.RainTable.record`).

    Attributes
    ----------
    zone_id
        The zone.
    hour_end
        The end of the hour (UTC): the depth fell in (hour_end − 1 h, hour_end].
    mean_mm, max_mm
        Area-weighted mean and maximum depth over the zone (mm); ``None`` where missing.
    """

    zone_id: str
    hour_end: datetime
    mean_mm: float | None
    max_mm: float | None
