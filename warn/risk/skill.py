"""Skill of issued warnings against an event list (MODELS.md, landslide item 7 "Skill").

Verification unit: one zone × one bulletin window. The window is the Chongqing
bulletin day, 20:00–20:00 Beijing time = 12:00–12:00 UTC (:class:`BulletinWindows`,
configurable). For one lead time (``now``, ``2h``, ``24h``) and one level threshold
(≥ blue, ≥ yellow, ≥ orange, ≥ red):

- a unit is **warned** when a warning of that lead with level ≥ the threshold was valid
  at some time inside the window (valid interval ``[valid_from, valid_to)`` overlapping
  the window); several warnings of one unit count once, by their highest level;
- a unit is **observed** when at least one event (time, point) falls inside the zone
  and inside the window; several events in one unit count once;
- hits a = warned ∧ observed, false alarms b = warned ∧ ¬observed, misses
  c = ¬warned ∧ observed, correct negatives d = ¬warned ∧ ¬observed, over every zone
  and every window of the verification period.

Scores (the 2×2 table of Jolliffe & Stephenson, *Forecast Verification: A Practitioner's
Guide*, 2nd ed., 2012, ch. 3; the Chinese names as CMA warning verification uses them,
each counted on the same units a, b, c):

- POD = a/(a+c) (probability of detection) — 命中率 (CMA hit rate);
- 漏报率 (miss rate) = c/(a+c) = 1 − POD;
- FAR = b/(a+b) (false alarm *ratio*, share of warnings that were false) — 空报率;
- CSI = a/(a+b+c) (critical success index, threat score, TS 评分);
- POFD = b/(b+d) (probability of false detection, the WMO "false alarm *rate*" — not
  空报率);
- TSS = POD − POFD (true skill statistic, Hanssen–Kuipers).

A zero denominator gives NaN (undefined), never 0: a period without events has no
POD, a threshold never warned has no FAR.

LHASA-style evaluation (Kirschbaum & Stanley 2018, Earth's Future 6: 505–523): the
share of events (counted one by one, not by unit) inside warned units, against the
share of area × time warned, ``Σ_units area·warned / (Σ_zones area · windows)``, with
zone areas from an equal-area projection. A useful warning puts many events in little
area.

Pure functions over arrays: zones are integer positions 0…Z−1 (−1 = outside every
zone), times UTC ``datetime64``. Reading files and layers is the CLI's job.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import cast

import numpy as np
import pandas as pd
import shapely

from warn.vocab import Level

#: Lead times warnings are verified for, in the order reported.
LEADS = ("now", "2h", "24h")
#: Level thresholds: a unit is warned "≥ level".
THRESHOLDS = (Level.BLUE, Level.YELLOW, Level.ORANGE, Level.RED)
#: Column order of :attr:`Verification.table`.
COLUMNS = ("lead", "level", "colour", "hits", "false_alarms", "misses", "correct_negatives",
           "pod", "far", "csi", "pofd", "tss", "hit_rate", "miss_rate", "false_alarm_ratio",
           "events", "events_warned", "event_share", "area_share")
_EPOCH = np.datetime64("1970-01-01T00:00:00", "s")


@dataclass(frozen=True)
class BulletinWindows:
    """Consecutive verification windows ``[origin + k·length, origin + (k+1)·length)``.

    Attributes
    ----------
    start
        UTC time of day a window opens (12:00 UTC = 20:00 Beijing time, the Chongqing
        bulletin day); windows are anchored on 1970-01-01 + ``start``.
    length
        Window length (1 day).
    """

    start: timedelta = timedelta(hours=12)
    length: timedelta = timedelta(days=1)

    def __post_init__(self) -> None:
        """Check that the window length is a whole number of seconds > 0."""
        if self.length <= timedelta(0) or self.length.total_seconds() % 1:
            raise ValueError(f"bulletin window length: expected whole seconds > 0, got {self.length}")

    def index(self, times: np.ndarray) -> np.ndarray:
        """Window number (int64) of each UTC time; the window holds its opening instant."""
        seconds = (np.asarray(times, dtype="datetime64[s]") - _EPOCH).astype(np.int64)
        return np.floor_divide(seconds - int(self.start.total_seconds()), int(self.length.total_seconds()))

    def opens(self, index: np.ndarray | int) -> np.ndarray:
        """UTC ``datetime64[s]`` at which window ``index`` opens."""
        offset = np.asarray(index, dtype=np.int64) * int(self.length.total_seconds()) + int(self.start.total_seconds())
        return _EPOCH + offset.astype("timedelta64[s]")


@dataclass(frozen=True)
class Contingency:
    """One 2×2 table of verification units (counts).

    Attributes
    ----------
    hits, false_alarms, misses, correct_negatives
        a, b, c, d of the module docstring.
    """

    hits: int
    false_alarms: int
    misses: int
    correct_negatives: int

    @property
    def pod(self) -> float:
        """POD = a/(a+c), 命中率; NaN without events."""
        return _ratio(self.hits, self.hits + self.misses)

    @property
    def far(self) -> float:
        """FAR = b/(a+b), false alarm ratio, 空报率; NaN without warnings."""
        return _ratio(self.false_alarms, self.hits + self.false_alarms)

    @property
    def csi(self) -> float:
        """CSI = a/(a+b+c), threat score; NaN when nothing was warned or observed."""
        return _ratio(self.hits, self.hits + self.false_alarms + self.misses)

    @property
    def pofd(self) -> float:
        """POFD = b/(b+d), probability of false detection; NaN without event-free units."""
        return _ratio(self.false_alarms, self.false_alarms + self.correct_negatives)

    @property
    def tss(self) -> float:
        """TSS = POD − POFD, true skill statistic (−1…1, 0 = no skill); NaN if either is."""
        return self.pod - self.pofd

    @property
    def hit_rate(self) -> float:
        """命中率 (CMA) = a/(a+c), the same number as POD."""
        return self.pod

    @property
    def miss_rate(self) -> float:
        """漏报率 (CMA) = c/(a+c) = 1 − POD; NaN without events."""
        return _ratio(self.misses, self.hits + self.misses)

    @property
    def false_alarm_ratio(self) -> float:
        """空报率 (CMA) = b/(a+b), the same number as FAR."""
        return self.far


@dataclass(frozen=True)
class Verification:
    """The result of :func:`verify`.

    Attributes
    ----------
    table
        One row per lead × threshold (:data:`LEADS` × :data:`THRESHOLDS` order), columns
        :data:`COLUMNS`: counts (int), scores (float, NaN if undefined), ``events`` and
        ``events_warned`` (events one by one), ``event_share`` and ``area_share`` (0–1).
    first_window
        UTC ``datetime64[s]`` at which the first verified window opens.
    n_windows, n_zones
        Size of the verification grid; units = n_windows × n_zones.
    events_used
        Events inside a zone and inside the period.
    events_outside_zones, events_outside_period
        Events left out (outside every zone; in a zone but outside the period).
    """

    table: pd.DataFrame
    first_window: np.datetime64
    n_windows: int
    n_zones: int
    events_used: int
    events_outside_zones: int
    events_outside_period: int


def contingency(warned: np.ndarray, observed: np.ndarray) -> Contingency:
    """Count a, b, c, d over boolean arrays of units (any shape, the same for both)."""
    warned, observed = np.asarray(warned, dtype=bool), np.asarray(observed, dtype=bool)
    return Contingency(int(np.sum(warned & observed)), int(np.sum(warned & ~observed)),
                       int(np.sum(~warned & observed)), int(np.sum(~warned & ~observed)))


def zone_of_points(lon: np.ndarray, lat: np.ndarray, zones: Sequence[object]) -> np.ndarray:
    """Position of the zone each point falls in.

    Parameters
    ----------
    lon, lat
        WGS84 degrees, shape (N,).
    zones
        Shapely (multi)polygons in WGS84 lon/lat, shape (Z,).

    Returns
    -------
    numpy.ndarray
        int64 (N,): zone position 0…Z−1, −1 outside every zone; a point on a shared edge
        goes to the zone listed first.
    """
    points = shapely.points(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    polygons = np.asarray(zones, dtype=object)
    found = np.full(len(points), len(polygons), dtype=np.int64)
    point_i, zone_i = shapely.STRtree(polygons).query(points, predicate="intersects")
    np.minimum.at(found, point_i, zone_i)
    return np.where(found == len(polygons), -1, found)


def warned_levels(zone: np.ndarray, level: np.ndarray, valid_from: np.ndarray, valid_to: np.ndarray, *,
                  n_zones: int, first: int, n_windows: int, windows: BulletinWindows) -> np.ndarray:
    """Highest level warned per unit.

    Parameters
    ----------
    zone
        Zone position of each warning (M,).
    level
        Level of each warning, 0–4 (−1 unknown counts as not warned) (M,).
    valid_from, valid_to
        UTC ``datetime64`` (M,): the warning holds over ``[valid_from, valid_to)``;
        ``valid_to`` after ``valid_from``.
    n_zones, first, n_windows
        The grid: zones 0…n_zones−1, windows ``first`` … ``first + n_windows − 1``.
    windows
        The window definition.

    Returns
    -------
    numpy.ndarray
        int8 (n_zones, n_windows): highest level valid in each unit, 0 where none.
    """
    grid = np.zeros((n_zones, n_windows), dtype=np.int8)
    last_second = np.asarray(valid_to, dtype="datetime64[s]") - np.timedelta64(1, "s")
    k0 = np.clip(windows.index(valid_from) - first, 0, None)
    k1 = np.clip(windows.index(last_second) - first, None, n_windows - 1)
    keep = (k1 >= k0) & (np.asarray(level) > Level.NONE)
    zone, level, k0, k1 = np.asarray(zone)[keep], np.asarray(level)[keep], k0[keep], k1[keep]
    spans = k1 - k0 + 1
    starts = np.repeat(k0 - np.cumsum(spans) + spans, spans)
    window = starts + np.arange(int(spans.sum()))
    np.maximum.at(grid, (np.repeat(zone, spans), window), np.repeat(level, spans).astype(np.int8))
    return grid


def event_counts(zone: np.ndarray, window: np.ndarray, *, n_zones: int, n_windows: int) -> np.ndarray:
    """Events per unit: int64 (n_zones, n_windows) from zone and window positions (M,), all in range."""
    counts = np.zeros((n_zones, n_windows), dtype=np.int64)
    np.add.at(counts, (np.asarray(zone), np.asarray(window)), 1)
    return counts


def verify(event_zone: np.ndarray, event_time: np.ndarray, warnings: pd.DataFrame, zone_area_km2: np.ndarray, *,
           windows: BulletinWindows = BulletinWindows(), period: tuple[np.datetime64, np.datetime64] | None = None,
           leads: Sequence[str] = LEADS) -> Verification:
    """Contingency tables, scores and area shares per lead × level threshold.

    Parameters
    ----------
    event_zone
        Zone position of each event, −1 outside every zone (N,) (:func:`zone_of_points`).
    event_time
        UTC ``datetime64`` of each event (N,).
    warnings
        The warning history, one row per warning: ``zone`` (position), ``level`` (int
        −1…4), ``lead`` (one of ``leads``), ``valid_from``, ``valid_to`` (UTC datetime64).
    zone_area_km2
        Area of each zone (Z,), km², from an equal-area projection.
    windows
        Verification windows (default: 20:00–20:00 Beijing time).
    period
        ``(start, end)`` UTC: the windows holding ``start`` … ``end − 1 s``. Default: from
        the earliest ``valid_from`` to the latest ``valid_to`` in ``warnings`` — events
        before the first or after the last warning period are not verified.
    leads
        Lead times reported, in this order.

    Returns
    -------
    Verification

    Raises
    ------
    ValueError
        With no warnings and no period, or a period that ends before it starts.
    """
    n_zones = len(zone_area_km2)
    if period is None:
        if warnings.empty:
            raise ValueError("verify: no warnings, and no period given")
        period = (warnings["valid_from"].min().to_datetime64(), warnings["valid_to"].max().to_datetime64())
    # numpy takes a datetime64 with a unit; its stubs do not say so.
    start, end = (np.datetime64(t, "s") for t in period)  # type: ignore[call-overload]
    if end <= start:
        raise ValueError(f"verify: the period must end after it starts, got {start} … {end}")
    first = int(windows.index(start))
    n_windows = int(windows.index(end - np.timedelta64(1, "s"))) - first + 1

    event_zone = np.asarray(event_zone, dtype=np.int64)
    event_window = windows.index(event_time) - first
    in_zone = event_zone >= 0
    in_period = (event_window >= 0) & (event_window < n_windows)
    used = in_zone & in_period
    counts = event_counts(event_zone[used], event_window[used], n_zones=n_zones, n_windows=n_windows)
    observed = counts > 0
    area = np.asarray(zone_area_km2, dtype=float)
    area_time = area.sum() * n_windows

    rows = []
    for lead in leads:
        of_lead = warnings[warnings["lead"] == lead]
        grid = warned_levels(of_lead["zone"].to_numpy(), of_lead["level"].to_numpy(),
                             of_lead["valid_from"].to_numpy(), of_lead["valid_to"].to_numpy(),
                             n_zones=n_zones, first=first, n_windows=n_windows, windows=windows)
        for threshold in THRESHOLDS:
            warned = grid >= threshold
            table = contingency(warned, observed)
            events_warned = int(counts[warned].sum())
            rows.append({
                "lead": lead, "level": int(threshold), "colour": threshold.colour,
                "hits": table.hits, "false_alarms": table.false_alarms, "misses": table.misses,
                "correct_negatives": table.correct_negatives,
                "pod": table.pod, "far": table.far, "csi": table.csi, "pofd": table.pofd, "tss": table.tss,
                "hit_rate": table.hit_rate, "miss_rate": table.miss_rate,
                "false_alarm_ratio": table.false_alarm_ratio,
                "events": int(used.sum()), "events_warned": events_warned,
                "event_share": _ratio(events_warned, int(used.sum())),
                "area_share": float((warned * area[:, None]).sum() / area_time) if area_time > 0 else np.nan,
            })
    first_window = cast(np.datetime64, windows.opens(first))  # one index: one time
    return Verification(pd.DataFrame(rows, columns=list(COLUMNS)), first_window, n_windows, n_zones,
                        int(used.sum()), int((~in_zone).sum()), int((in_zone & ~in_period).sum()))


def _ratio(numerator: float, denominator: float) -> float:
    """Numerator / denominator, NaN (undefined) when the denominator is 0."""
    return float(numerator) / denominator if denominator else float("nan")
