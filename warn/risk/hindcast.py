"""Hindcast skill: when did a configuration first warn each item, against when it "really" crossed.

A hindcast replays one storm on several configurations of the same deployment (the
demo: a perfect forecast, the forecasts alone, observations + nowcast + forecasts). The
reference configuration's level *now* at each cycle defines the observed crossing of an
item at a level: the first cycle time its ``now`` level reached it. A configuration
warned an item at a level at the first cycle at which any lead's level (now, +2 h, +24 h)
reached it. For each hazard and level:

- **event**: an item whose observed level reached the level;
- **hit**: an event the configuration warned at or before its crossing; its **lead time**
  is the crossing time minus the first warning's time (≥ 0);
- **miss**: an event not warned by its crossing — **late** when warned only after it
  (those are counted among the misses, not the hits);
- **false alarm**: an item warned at the level that never crossed it.

Lead times are summarised by their median and minimum over the hits (minutes; NaN without
a hit). An unknown level (−1) reaches nothing: missing data is neither a crossing nor a
warning. Pure: level series in, counts out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from warn.vocab import Level

#: The levels compared: blue … red.
LEVELS = (Level.BLUE, Level.YELLOW, Level.ORANGE, Level.RED)
#: One item's levels: (cycle time, level) pairs (aware datetimes, levels −1 … 4), any order.
Series = Sequence[tuple[datetime, int]]
#: Every item's series, by (hazard, item id).
Histories = Mapping[tuple[str, str], Series]


@dataclass(frozen=True)
class HindcastRow:
    """One configuration's skill for one hazard at one level.

    Attributes
    ----------
    configuration
        The configuration's name (e.g. ``a``, forecasts only).
    hazard
        The hazard's registered name.
    level
        The level compared (an item reaching it or above).
    events, hits, misses, late, false_alarms
        Counts of items (see the module notes; ``late`` ⊆ ``misses``).
    lead_median_min, lead_min_min
        Median and minimum lead time of the hits, minutes; NaN without a hit.
    """

    configuration: str
    hazard: str
    level: Level
    events: int
    hits: int
    misses: int
    late: int
    false_alarms: int
    lead_median_min: float
    lead_min_min: float


def first_reaching(series: Series, level: int) -> datetime | None:
    """Return the earliest time in ``series`` whose level is ``level`` or above, or ``None``."""
    times = [at for at, value in series if value >= level]
    return min(times) if times else None


def score_hindcast(observed: Histories, warned: Histories, *, configuration: str,
                   levels: Iterable[Level] = LEVELS) -> list[HindcastRow]:
    """Hits, misses, false alarms and lead times of one configuration against the observed crossings.

    Parameters
    ----------
    observed
        The reference configuration's ``now`` levels, by (hazard, item id).
    warned
        The configuration's highest level over its leads at each cycle, by (hazard, item id).
    configuration
        The configuration's name, carried to the rows.
    levels
        The levels to compare.

    Returns
    -------
    list of HindcastRow
        One per hazard (every hazard named in either mapping, sorted) and level.
    """
    rows = []
    for hazard in sorted({h for h, _ in observed} | {h for h, _ in warned}):
        items = sorted({i for h, i in observed if h == hazard} | {i for h, i in warned if h == hazard})
        for level in levels:
            hits = misses = late = false_alarms = events = 0
            leads: list[float] = []
            for item in items:
                crossed = first_reaching(observed.get((hazard, item), ()), int(level))
                warning = first_reaching(warned.get((hazard, item), ()), int(level))
                if crossed is None:
                    false_alarms += warning is not None
                    continue
                events += 1
                if warning is not None and warning <= crossed:
                    hits += 1
                    leads.append((crossed - warning).total_seconds() / 60)
                else:
                    misses += 1
                    late += warning is not None
            rows.append(HindcastRow(configuration, hazard, level, events, hits, misses, late, false_alarms,
                                    float(np.median(leads)) if leads else float("nan"),
                                    float(min(leads)) if leads else float("nan")))
    return rows
