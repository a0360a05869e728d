"""Levels with memory: up at once, down slowly, unknown when the evidence runs out.

One implementation for every scored hazard (landslide, waterlogging): a model gives a
score on 0–100 per item (zone, hazard point) every cycle; :func:`step` turns the
scores into levels with memory and the crossings between them (MODELS.md, "Levels
with memory").

Rules, per item, with boundaries ``B1 < B2 < B3 < B4`` (blue, yellow, orange, red) and
the current level ``L``:

- **raw level** (:func:`level_of`): the highest ``k`` with ``score ≥ Bk``, 0 below B1;
  a NaN score has no level (``Level.UNKNOWN``).
- **up at once** (``LVL-UP``): a raw level above ``L`` is taken in the same cycle,
  several levels at once if the score jumps.
- **down after a hold** (``LVL-DOWN-HOLD``): the item is *below* when its score is under
  ``B_L − margin``; it goes down once it has been below, without a break, for ``hold``
  (measured from the first cycle seen below to this cycle). It then goes straight to the
  raw level of the current score — possibly several levels at once (a storm that
  ended). A score back at or above ``B_L − margin``, or a cycle without a score,
  restarts the hold: missing evidence never counts as calm.
- **expiry** (``LVL-EXPIRED``): a NaN score is no fresh evidence; the level stands
  until ``expire`` has passed since the last finite score (at once if there never was
  one, e.g. a level restored without its evidence time), then becomes
  ``Level.UNKNOWN`` — never silently ``Level.NONE``.
- **resume** (``LVL-RESUMED``): an unknown item (expired, or never scored: the state
  of :meth:`LevelMemory.empty`) takes the raw level of its first finite score at once.

Times are UTC ``datetime64[s]``. Nothing here reads a clock: the caller passes ``now``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import lru_cache

import numpy as np

from warn.vocab import LEVEL_OF, Level

#: Resolution of every time held in a :class:`LevelMemory`.
TIME_UNIT = "datetime64[s]"
_NAT = np.datetime64("NaT", "s")

#: Top of the common level score scale (MODELS.md "Urban waterlogging" 4., "Levels with memory").
SCORE_MAX = 100.0


class CrossingKind(StrEnum):
    """What kind of level change a :class:`Crossing` is."""

    UP = "up"
    DOWN = "down"
    EXPIRED = "expired"
    RESUMED = "resumed"


#: Stable rule id of each kind of crossing (timeline entries and playbook triggers use these).
RULE_IDS = {
    CrossingKind.UP: "LVL-UP",
    CrossingKind.DOWN: "LVL-DOWN-HOLD",
    CrossingKind.EXPIRED: "LVL-EXPIRED",
    CrossingKind.RESUMED: "LVL-RESUMED",
}


@dataclass(frozen=True)
class LevelParams:
    """Parameters of the level ladder (``levels:`` of the hazards' model files).

    Attributes
    ----------
    boundaries
        Scores (0–100 points) at which blue, yellow, orange and red begin; strictly increasing.
    margin
        Points under a level's boundary the score must fall before the hold starts.
    hold
        How long the score must stay under (boundary − margin) before the level falls.
    expire
        How long a level stands without a finite score before it becomes unknown.
    """

    boundaries: tuple[float, float, float, float] = (25.0, 50.0, 70.0, 85.0)
    margin: float = 5.0
    hold: timedelta = timedelta(minutes=60)
    expire: timedelta = timedelta(hours=3)

    def __post_init__(self) -> None:
        """Check the boundaries, margin, hold and expiry (``ValueError`` naming the key)."""
        b = np.asarray(self.boundaries, dtype=float)
        if b.shape != (4,) or not np.all(np.isfinite(b)) or not np.all(np.diff(b) > 0):
            raise ValueError(f"levels.boundaries: expected 4 strictly increasing numbers, got {self.boundaries!r}")
        if not (np.isfinite(self.margin) and self.margin >= 0):
            raise ValueError(f"levels.margin: expected a number ≥ 0 points, got {self.margin!r}")
        if self.hold < timedelta(0):
            raise ValueError(f"levels.hold: expected a duration ≥ 0, got {self.hold}")
        if self.expire <= timedelta(0):
            raise ValueError(f"levels.expire: expected a duration > 0, got {self.expire}")


@dataclass(frozen=True)
class Crossing:
    """One change of an item's level, for the timeline and the planner.

    Attributes
    ----------
    index
        Position of the item in the score array.
    kind
        up, down, expired or resumed.
    from_level, to_level
        Level before and after.
    at
        When (UTC, the ``now`` of the step).
    score
        The score that caused it (points); NaN for ``expired``.
    rule_id
        Stable rule id: ``LVL-UP``, ``LVL-DOWN-HOLD``, ``LVL-EXPIRED``, ``LVL-RESUMED``.
    label
        Readable reason, zh-CN first: ``黄色→橙色 L2→L3 score 72 ≥ 70``.
    """

    index: int
    kind: CrossingKind
    from_level: Level
    to_level: Level
    at: datetime
    score: float
    rule_id: str
    label: str


@dataclass(frozen=True)
class LevelMemory:
    """Levels with memory of N items (arrays of shape (N,), not modified by :func:`step`).

    Attributes
    ----------
    level
        Current level, int8 (−1 unknown … 4 red).
    below_since
        UTC ``datetime64[s]``: first cycle of the current unbroken run of scores under
        (boundary of ``level`` − margin); NaT when not below.
    last_evidence
        UTC ``datetime64[s]`` of the last finite score; NaT if never scored.
    """

    level: np.ndarray
    below_since: np.ndarray
    last_evidence: np.ndarray

    def __post_init__(self) -> None:
        """Check that the three arrays are 1-d and of one length."""
        n = self.level.shape
        if len(n) != 1 or self.below_since.shape != n or self.last_evidence.shape != n:
            raise ValueError("LevelMemory: level, below_since and last_evidence must be 1-d arrays of one length")

    @classmethod
    def empty(cls, n: int) -> LevelMemory:
        """N items never scored: all ``Level.UNKNOWN``, no evidence."""
        return cls(np.full(n, Level.UNKNOWN, dtype=np.int8), np.full(n, _NAT), np.full(n, _NAT))

    def __len__(self) -> int:
        """Return the number of items."""
        return int(self.level.shape[0])

    @classmethod
    def from_columns(cls, held_ids: Sequence[str], level: np.ndarray, below_since: np.ndarray,
                     last_evidence: np.ndarray, ids: Sequence[str]) -> LevelMemory:
        """Rebuild the memory of the items ``ids`` from a kept memory's columns.

        Parameters
        ----------
        held_ids
            The items kept, one per element of the three arrays.
        level, below_since, last_evidence
            Their levels (held,), −1…4, and times (held,), UTC ``datetime64`` (NaT: none), as the
            attributes of this class hold them.
        ids
            The items wanted, in the order wanted. An id without a kept memory starts as never scored
            (unknown); kept items not wanted (a zone taken out of the layer) are left out.

        Raises
        ------
        ValueError
            On a repeated item id or a level outside −1…4.
        """
        if len(set(held_ids)) != len(held_ids):
            twice = next(item for item, n in Counter(held_ids).items() if n > 1)
            raise ValueError(f"from_columns: item_id {twice!r} appears twice")
        level = np.asarray(level)
        bad = ~np.isin(level, list(LEVEL_OF))
        if bad.any():
            raise ValueError(f"from_columns: item_id {held_ids[int(np.argmax(bad))]!r}: expected a level −1…4, got "
                             f"{level[bad][0]}")
        memory = cls.empty(len(ids))
        position = {str(item): i for i, item in enumerate(ids)}
        at = np.array([position.get(str(item), -1) for item in held_ids], dtype=np.int64)
        wanted = at >= 0
        memory.level[at[wanted]] = level[wanted]
        memory.below_since[at[wanted]] = np.asarray(below_since, dtype="datetime64[s]")[wanted]
        memory.last_evidence[at[wanted]] = np.asarray(last_evidence, dtype="datetime64[s]")[wanted]
        return memory


def level_of(score: np.ndarray | float, boundaries: Sequence[float] | np.ndarray) -> np.ndarray:
    """Raw level of each score: the highest level whose boundary the score reaches.

    Parameters
    ----------
    score
        Scores (points, 0–100), any shape; NaN = no score.
    boundaries
        Blue, yellow, orange, red boundaries (points), increasing; a score equal to a
        boundary is at that level (70 with (25, 50, 70, 85) is orange).

    Returns
    -------
    numpy.ndarray
        int8 levels, same shape: 0 none … 4 red, −1 (``Level.UNKNOWN``) for NaN.
    """
    score = np.asarray(score, dtype=float)
    level = np.searchsorted(np.asarray(boundaries, dtype=float), score, side="right").astype(np.int8)
    return np.where(np.isnan(score), np.int8(Level.UNKNOWN), level).astype(np.int8)


def step(memory: LevelMemory, score: np.ndarray, now: datetime | np.datetime64,
         params: LevelParams) -> tuple[LevelMemory, list[Crossing]]:
    """Advance the levels of N items by one cycle (rules: module docstring).

    Parameters
    ----------
    memory
        State after the previous cycle (:meth:`LevelMemory.empty` for the first).
    score
        This cycle's score per item (points, 0–100), shape (N,); NaN = no fresh evidence.
    now
        Time of this cycle: timezone-aware ``datetime`` or UTC ``datetime64``, not before
        the last evidence held in ``memory`` (cycles come in time order).
    params
        Boundaries, margin, hold and expiry.

    Returns
    -------
    (LevelMemory, list of Crossing)
        The new state (new arrays) and the crossings of this cycle, by item index.

    Raises
    ------
    ValueError
        Scores of another length than the memory, or ``now`` before the last evidence.
    """
    score = np.asarray(score, dtype=float)
    if score.shape != memory.level.shape:
        raise ValueError(f"step: expected {len(memory)} scores, got shape {score.shape}")
    t = _to_datetime64(now)
    if np.isnat(t):
        raise ValueError("step: now must be a time, got NaT")
    if np.any(memory.last_evidence > t):
        raise ValueError(f"step: now {t} is before the last evidence {np.nanmax(memory.last_evidence)}; "
                         "cycles must come in time order")
    bounds = np.asarray(params.boundaries, dtype=float)
    old = memory.level
    raw = level_of(score, bounds)
    fresh = ~np.isnan(score)
    unknown = old == Level.UNKNOWN

    # Under the current level's boundary less the margin (only for levels with a boundary).
    floor = np.where(old >= Level.BLUE, bounds[np.clip(old - 1, 0, 3)] - params.margin, -np.inf)
    below = fresh & ~unknown & (score < floor)
    below_since = np.where(below, np.where(np.isnat(memory.below_since), t, memory.below_since), _NAT)
    down = below & (t - below_since >= np.timedelta64(params.hold))

    resumed = fresh & unknown
    up = fresh & ~unknown & (raw > old)
    stale = ~fresh & ~unknown & (np.isnat(memory.last_evidence)
                                 | (t - memory.last_evidence >= np.timedelta64(params.expire)))

    level = old.copy()
    level[resumed | up | down] = raw[resumed | up | down]
    level[stale] = Level.UNKNOWN
    below_since[resumed | up | down | stale] = _NAT
    last_evidence = np.where(fresh, t, memory.last_evidence)

    at = datetime.fromtimestamp(int(t.astype(np.int64)), UTC)
    crossings = []
    for kind, mask in ((CrossingKind.RESUMED, resumed), (CrossingKind.UP, up),
                       (CrossingKind.DOWN, down), (CrossingKind.EXPIRED, stale)):
        for i in np.flatnonzero(mask):
            crossings.append(_crossing(int(i), kind, Level(int(old[i])), Level(int(level[i])), at,
                                       float(score[i]), bounds, params, memory.last_evidence[i]))
    crossings.sort(key=lambda c: c.index)
    return LevelMemory(level.astype(np.int8), below_since.astype(TIME_UNIT),
                       last_evidence.astype(TIME_UNIT)), crossings


def _crossing(index: int, kind: CrossingKind, old: Level, new: Level, at: datetime, score: float,
              bounds: np.ndarray, params: LevelParams, last: np.datetime64) -> Crossing:
    """Return the crossing record with its readable label."""
    names = f"{old.zh}→{new.zh} {_short(old)}→{_short(new)}"
    if kind is CrossingKind.EXPIRED:
        since = _to_datetime(last)
        reason = f"无评分超过 {_duration(params.expire)} / no score for {_duration(params.expire)}"
        if since is not None:
            reason += f" since {since:%Y-%m-%dT%H:%MZ}"
    elif kind is CrossingKind.DOWN:
        floor = bounds[old - 1] - params.margin
        reason = f"score {_points(score)} < {_points(floor)} for {_duration(params.hold)}"
    elif new >= Level.BLUE:
        reason = f"score {_points(score)} ≥ {_points(bounds[new - 1])}"
    else:
        reason = f"score {_points(score)} < {_points(bounds[0])}"
    return Crossing(index, kind, old, new, at, score, RULE_IDS[kind], f"{names} {reason}")


def _short(level: Level) -> str:
    return "unknown" if level is Level.UNKNOWN else f"L{int(level)}"


def _points(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def _duration(span: timedelta) -> str:
    minutes = span.total_seconds() / 60
    return f"{minutes / 60:g} h" if minutes >= 60 and minutes % 60 == 0 else f"{minutes:g} min"


@lru_cache(maxsize=65536)  # the items of a memory share few distinct times: convert each once
def _to_datetime64(value: object) -> np.datetime64:
    """UTC ``datetime64[s]`` of an aware datetime, ISO text (no offset = UTC), datetime64 or None."""
    if value is None:
        return _NAT
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"expected a timezone-aware time, got naive {value.isoformat()}")
        return np.datetime64(value.astimezone(UTC).replace(tzinfo=None), "s")
    # numpy takes a datetime64 (or anything it can read as one) with a unit; its stubs do not say so.
    return np.datetime64(value, "s")  # type: ignore[call-overload]


@lru_cache(maxsize=65536)
def _to_datetime(value: np.datetime64) -> datetime | None:
    """Aware UTC datetime of a ``datetime64``; None for NaT."""
    if np.isnat(value):
        return None
    return datetime.fromtimestamp(int(value.astype("datetime64[s]").astype(np.int64)), UTC)
