"""Sensor quality control: one flag and the rule that set it, per reading, vectorised.

Contract (docs/MODELS.md "Sensor quality control"; anchors Delft-FEWS validation rules
and SaQC). :func:`qc_batch` gives every :class:`~warn.sources.readings.Reading` of a
batch one :class:`~warn.vocab.QCFlag` — good, doubtful, bad or missing — and the id of
the rule that set it (empty for good). Rules, in precedence order (the first that fires
wins, so missing > bad > doubtful):

============== ======== ==========================================================
rule           flag     fires when
============== ======== ==========================================================
missing        missing  the value is absent (``None`` or NaN)
future_time    bad      phenomenon time > now + ``future_tolerance``
ancient_time   bad      phenomenon time < now − ``max_age``
hard_range     bad      value outside [hard min, hard max]
rate_of_change bad      |v − v_prev| / Δt > ``max_per_hour`` (Δt > 0)
soft_range     doubtful value outside [soft min, soft max]
spike          doubtful |v − v_prev| > s and |v − v_next| > s while |v_next − v_prev| ≤ s,
                        both neighbours within the spike window
jump           doubtful |v − v_prev| > j, v_prev within the jump window
flatline       doubtful v > ``min_value`` and every good value since the last good value
                        at or before t − window (that one included) is within
                        ``tolerance`` of each other and of v
============== ======== ==========================================================

``v_prev`` is the previous GOOD value of the same sensor: from ``history`` (good readings of
earlier batches, ascending by time) or from this batch, so a spike or jump at a batch
boundary is caught and a bad or doubtful value never poisons the one after it.
``v_next`` is the next reading of the same sensor that passes the point rules (missing,
time, range); where there is none yet — the last reading of a batch — the spike rule
cannot judge and the jump rule (doubtful) stands in for it.

Judging against good neighbours makes reading i depend on the flags of readings before
it. The rules are evaluated over the whole batch with numpy, and re-evaluated with the
updated set of good neighbours until the flags no longer change; because a flag depends
only on earlier flags, this reaches the sequential result (usually in 1–3 passes; a run
of k consecutive flagged readings of one sensor takes up to k + 1).

The flatline anchor may be older than the window: good history holds no doubtful readings,
so a stretch already flagged is invisible, and the anchor before it stands for it. Hence
the same value again after a silence longer than the window is flagged too.

History depth: spike, jump and rate need the last good reading per sensor; flatline needs
every good reading within its window before the batch, plus one before the window.
Shorter history can only make flatline fire less, never more.

All times are timezone-aware; thresholds come from ``models/sensors.yaml``
(:class:`SensorsParams`, built by :mod:`warn.modelfiles`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

import numpy as np

from warn.errors import DataContractError, Problem, UnknownNameError
from warn.registry import Registry
from warn.sources.readings import FlaggedReading, Reading, Sensor
from warn.vocab import QCFlag, SensorKind


@dataclass(frozen=True)
class WindowLimit:
    """A departure limit ``threshold`` (kind's unit) judged against neighbours within ``window``."""

    threshold: float
    window: timedelta


@dataclass(frozen=True)
class Flatline:
    """Values within ``tolerance`` (kind's unit) for ``window``, judged only above ``min_value``."""

    tolerance: float
    window: timedelta
    min_value: float


@dataclass(frozen=True)
class Thresholds:
    """QC thresholds of one sensor kind, or of one sensor with its overrides applied.

    Attributes
    ----------
    kind
        The sensor kind they apply to.
    hard_range, soft_range
        (min, max) in the kind's unit: outside hard → bad, outside soft → doubtful.
    spike, jump
        Departure limits; ``None`` when the rule is not applied.
    flatline
        Flatline test; ``None`` when not applied.
    max_rate_per_hour
        Rate-of-change limit, kind's unit per hour; ``None`` when not applied.
    off
        Rule ids switched off for this sensor.
    """

    kind: SensorKind
    hard_range: tuple[float, float]
    soft_range: tuple[float, float]
    spike: WindowLimit | None = None
    jump: WindowLimit | None = None
    flatline: Flatline | None = None
    max_rate_per_hour: float | None = None
    off: frozenset[str] = frozenset()


@dataclass(frozen=True)
class SensorsParams:
    """Parameters of sensor QC (``models/sensors.yaml``).

    Attributes
    ----------
    kinds
        Thresholds per sensor kind.
    overrides
        Thresholds per sensor id, the kind's with the sensor's sections applied.
    future_tolerance
        A phenomenon time later than now + this is bad.
    max_age
        A phenomenon time earlier than now − this is bad.
    stale_factor
        A sensor silent for this many expected intervals is stale.
    """

    kinds: Mapping[SensorKind, Thresholds]
    overrides: Mapping[str, Thresholds]
    future_tolerance: timedelta
    max_age: timedelta
    stale_factor: float

    def for_sensor(self, sensor: Sensor) -> Thresholds:
        """The thresholds that judge ``sensor``.

        Raises
        ------
        DataContractError
            The sensor has an override written for another kind than its catalogue kind.
        """
        found = self.overrides.get(sensor.sensor_id)
        if found is None:
            return self.kinds[sensor.kind]
        if found.kind != sensor.kind:
            raise DataContractError(Problem(
                "models/sensors.yaml", f"overrides.{sensor.sensor_id}.kind",
                f"the sensor's catalogue kind {sensor.kind.value}", found.kind.value,
                "fix the override or the catalogue"))
        return found


# ---------------------------------------------------------------------------------------
# The rules: each maps the judged readings and their neighbours to a boolean mask.


@dataclass(frozen=True)
class Judged:
    """The readings being judged, as arrays of shape (n,), and their parameters.

    Attributes
    ----------
    t
        Phenomenon time, s since the epoch.
    v
        Value in the kind's unit, NaN when missing.
    par
        Per-reading thresholds (:data:`_COLUMNS`); a rule not applied has limits that never fire.
    now
        Now, s since the epoch.
    future_s, max_age_s
        Timestamp tolerances, s.
    """

    t: np.ndarray
    v: np.ndarray
    par: Mapping[str, np.ndarray]
    now: float
    future_s: float
    max_age_s: float


@dataclass(frozen=True)
class Neighbours:
    """Neighbours of each judged reading, arrays of shape (n,), NaN where there is none.

    Attributes
    ----------
    prev_t, prev_v
        Time (s) and value of the previous good reading of the same sensor.
    next_t, next_v
        Time (s) and value of the next reading of the same sensor that passes the point rules.
    flat_range
        max − min of v and the good values since the last good value at or before
        t − flatline window (kind's unit); NaN without such an anchor or below ``min_value``.
    """

    prev_t: np.ndarray
    prev_v: np.ndarray
    next_t: np.ndarray
    next_v: np.ndarray
    flat_range: np.ndarray


Mask = Callable[[Judged, Neighbours], np.ndarray]


@dataclass(frozen=True)
class QCRule:
    """A registered QC rule.

    Attributes
    ----------
    name
        Stable rule id, written to the store beside the flag.
    flag
        The flag it sets.
    zh, en
        What it means, for people.
    mask
        Vectorised test: True where the rule fires.
    point
        True when it judges a reading alone (no neighbours).
    """

    name: str
    flag: QCFlag
    zh: str
    en: str
    mask: Mask
    point: bool


def _missing(j: Judged, nb: Neighbours) -> np.ndarray:
    return np.isnan(j.v)


def _future(j: Judged, nb: Neighbours) -> np.ndarray:
    return j.t > j.now + j.future_s


def _ancient(j: Judged, nb: Neighbours) -> np.ndarray:
    return j.t < j.now - j.max_age_s


def _hard(j: Judged, nb: Neighbours) -> np.ndarray:
    return (j.v < j.par["hard_min"]) | (j.v > j.par["hard_max"])


def _soft(j: Judged, nb: Neighbours) -> np.ndarray:
    return (j.v < j.par["soft_min"]) | (j.v > j.par["soft_max"])


def _rate(j: Judged, nb: Neighbours) -> np.ndarray:
    dt = j.t - nb.prev_t
    return (dt > 0) & (np.abs(j.v - nb.prev_v) > j.par["rate_per_s"] * dt)


def _spike(j: Judged, nb: Neighbours) -> np.ndarray:
    s = j.par["spike"]
    near = (j.t - nb.prev_t <= j.par["spike_s"]) & (nb.next_t - j.t <= j.par["spike_s"])
    return near & (np.abs(j.v - nb.prev_v) > s) & (np.abs(j.v - nb.next_v) > s) & (np.abs(nb.next_v - nb.prev_v) <= s)


def _jump(j: Judged, nb: Neighbours) -> np.ndarray:
    return (j.t - nb.prev_t <= j.par["jump_s"]) & (np.abs(j.v - nb.prev_v) > j.par["jump"])


def _flatline(j: Judged, nb: Neighbours) -> np.ndarray:
    return nb.flat_range <= j.par["flat_tol"]


#: QC rules by id. Iteration order of :data:`PRECEDENCE` decides which flag wins.
RULES: Registry[QCRule] = Registry("QC rule")
for _rule in (
    QCRule("missing", QCFlag.MISSING, "缺测", "no value", _missing, True),
    QCRule("future_time", QCFlag.BAD, "时间超前", "time in the future", _future, True),
    QCRule("ancient_time", QCFlag.BAD, "时间过旧", "time too far in the past", _ancient, True),
    QCRule("hard_range", QCFlag.BAD, "超出量程", "outside the hard range", _hard, True),
    QCRule("rate_of_change", QCFlag.BAD, "变率超限", "rate of change above the limit", _rate, False),
    QCRule("soft_range", QCFlag.DOUBTFUL, "超出合理范围", "outside the soft range", _soft, True),
    QCRule("spike", QCFlag.DOUBTFUL, "孤立尖峰", "isolated spike", _spike, False),
    QCRule("jump", QCFlag.DOUBTFUL, "突变", "jump from the last good value", _jump, False),
    QCRule("flatline", QCFlag.DOUBTFUL, "数值僵直", "flatline (stuck value)", _flatline, False),
):
    RULES.add(_rule.name, _rule)

#: Rule ids, most severe first: the first rule that fires sets the flag.
PRECEDENCE: tuple[str, ...] = ("missing", "future_time", "ancient_time", "hard_range", "rate_of_change",
                               "soft_range", "spike", "jump", "flatline")

#: Per-reading parameter columns, built from :class:`Thresholds` by :func:`_row`.
_COLUMNS = ("hard_min", "hard_max", "soft_min", "soft_max", "rate_per_s", "spike", "spike_s",
            "jump", "jump_s", "flat_tol", "flat_s", "flat_min")


def _row(th: Thresholds) -> tuple[float, ...]:
    """One row of per-reading parameters; a rule that is off gets limits that never fire."""
    inf = math.inf

    def on(name: str, section: object) -> bool:
        return section is not None and name not in th.off

    hard = th.hard_range if on("hard_range", th.hard_range) else (-inf, inf)
    soft = th.soft_range if on("soft_range", th.soft_range) else (-inf, inf)
    rate = th.max_rate_per_hour / 3600.0 if on("rate_of_change", th.max_rate_per_hour) else inf
    spike = (th.spike.threshold, th.spike.window.total_seconds()) if on("spike", th.spike) else (inf, 0.0)
    jump = (th.jump.threshold, th.jump.window.total_seconds()) if on("jump", th.jump) else (inf, 0.0)
    flat = ((th.flatline.tolerance, th.flatline.window.total_seconds(), th.flatline.min_value)
            if on("flatline", th.flatline) else (-inf, 0.0, inf))
    return (*hard, *soft, rate, *spike, *jump, *flat)


# ---------------------------------------------------------------------------------------
# The batch.


def qc_batch(
    readings: Sequence[Reading],
    *,
    sensors: Mapping[str, Sensor],
    history: Mapping[str, Sequence[FlaggedReading]],
    params: SensorsParams,
    now: datetime,
) -> list[FlaggedReading]:
    """Flag every reading of a batch.

    Parameters
    ----------
    readings
        The batch, any order, any mix of sensors; times timezone-aware.
    sensors
        The catalogue by sensor id.
    history
        Per sensor id, its last GOOD readings from earlier batches, ascending by time (e.g.
        ``store.last_readings(ids, n=..., flags=(QCFlag.GOOD,))``); see the module docstring
        for the depth needed. Readings not flagged good are ignored; one at the same time as
        a reading of the batch is replaced by it (a revision).
    params
        Thresholds from ``models/sensors.yaml``.
    now
        The time the batch is judged at, timezone-aware.

    Returns
    -------
    One :class:`FlaggedReading` per reading, in the order given, with the flag and the id
    of the rule that set it (empty when good).

    Raises
    ------
    UnknownNameError
        Readings of sensors missing from ``sensors`` (all of them named).
    DataContractError
        Naive times, or a unit other than the sensor kind's.
    """
    if now.utcoffset() is None:
        raise DataContractError(Problem("qc_batch", "now", "a timezone-aware time", repr(now)))
    n = len(readings)
    if n == 0:
        return []
    codes, table = _sensor_codes(readings, sensors, params)
    t = np.fromiter((_seconds(r.phenomenon_time, r.sensor_id) for r in readings), np.float64, n)
    v = np.fromiter((math.nan if r.value is None else r.value for r in readings), np.float64, n)
    g = np.fromiter((codes[r.sensor_id] for r in readings), np.int64, n)
    first = np.full(len(codes), np.inf)
    np.minimum.at(first, g, t)
    flat = np.zeros(len(codes), bool)
    flat[g[v > table[g, _COLUMNS.index("flat_min")]]] = True
    cutoff = first - np.where(flat, table[:, _COLUMNS.index("flat_s")], 0.0)
    hg, ht, hv = _history(history, codes, cutoff.tolist())
    rules = _judge(g, t, v, hg, ht, hv, table, params, now.timestamp())
    labels = [(RULES.get(name).flag, name) for name in PRECEDENCE] + [(QCFlag.GOOD, "")]
    return [FlaggedReading(r, *labels[k]) for r, k in zip(readings, rules.tolist())]


def _seconds(time: datetime, sensor_id: str) -> float:
    if time.tzinfo is None:
        raise DataContractError(Problem(sensor_id, "phenomenon_time", "a timezone-aware time", repr(time)))
    return _epoch(time)


@lru_cache(maxsize=65536)  # readings of a batch and their history share few distinct times
def _epoch(time: datetime) -> float:
    return time.timestamp()


def _history(history: Mapping[str, Sequence[FlaggedReading]], codes: Mapping[str, int],
             cutoff: Sequence[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Good history as arrays (code, time s, value): per sensor, the readings after its cutoff
    (s) and the last one at or before it — only what the rules can use is converted."""
    rows = []
    good = QCFlag.GOOD
    for sid, code in codes.items():
        limit = cutoff[code]
        for fr in reversed(history.get(sid, ())):
            if fr.qc_flag is good:
                reading = fr.reading
                seconds = _epoch(reading.phenomenon_time)
                rows.append((code, seconds, reading.value))
                if seconds <= limit:
                    break
    if not rows:
        return np.empty(0, np.int64), np.empty(0), np.empty(0)
    hg, ht, hv = zip(*rows)
    return np.array(hg, np.int64), np.array(ht, np.float64), np.array(hv, np.float64)


def _sensor_codes(readings: Sequence[Reading], sensors: Mapping[str, Sensor],
                  params: SensorsParams) -> tuple[dict[str, int], np.ndarray]:
    """A code per sensor id of the batch, and the parameter table indexed by code (codes × columns)."""
    codes: dict[str, int] = {}
    units: dict[str, str] = {}
    for r in readings:
        if r.sensor_id not in codes:
            codes[r.sensor_id] = len(codes)
            units[r.sensor_id] = r.unit
        elif units[r.sensor_id] != r.unit:
            units[r.sensor_id] = f"{units[r.sensor_id]} and {r.unit}"
    unknown = sorted(sid for sid in codes if sid not in sensors)
    if unknown:
        raise UnknownNameError(Problem("readings", "sensor_id", "sensors in the catalogue",
                                       ", ".join(unknown), "add them to the sensor catalogue"))
    wrong = sorted(f"{sid} ({unit}, expected {sensors[sid].unit})" for sid, unit in units.items()
                   if unit != sensors[sid].unit)
    if wrong:
        raise DataContractError(Problem("readings", "unit", "the unit of each sensor's kind", ", ".join(wrong)))
    rows: dict[int, tuple[float, ...]] = {}
    table = np.empty((len(codes), len(_COLUMNS)))
    for sid, code in codes.items():
        th = params.for_sensor(sensors[sid])
        row = rows.get(id(th))
        if row is None:
            row = rows[id(th)] = _row(th)
        table[code] = row
    return codes, table


def _judge(g: np.ndarray, t: np.ndarray, v: np.ndarray, hg: np.ndarray, ht: np.ndarray, hv: np.ndarray,
           table: np.ndarray, params: SensorsParams, now: float) -> np.ndarray:
    """Index into :data:`PRECEDENCE` of the rule that fires per batch reading (len = good).

    Batch readings (g, t, v) and good history (hg, ht, hv) are sorted together by (sensor,
    time, history first); the neighbour rules are re-run until the good set is stable.
    """
    n = g.size
    allg = np.concatenate([hg, g])
    allt = np.concatenate([ht, t])
    allv = np.concatenate([hv, v])
    is_batch = np.concatenate([np.zeros(hg.size, bool), np.ones(n, bool)])
    order = np.lexsort((is_batch, allt, allg))
    allg, allt, allv, is_batch = allg[order], allt[order], allv[order], is_batch[order]
    revised = ~is_batch[:-1] & is_batch[1:] & (allg[:-1] == allg[1:]) & (allt[:-1] == allt[1:])
    if revised.any():  # a history reading at the time of a batch reading is replaced by it
        keep = np.ones(allg.size, bool)
        keep[:-1] = ~revised
        allg, allt, allv, is_batch, order = allg[keep], allt[keep], allv[keep], is_batch[keep], order[keep]
    pos = np.flatnonzero(is_batch)  # batch readings in sorted order
    batch_index = order[pos] - hg.size  # their index in the batch as given
    par = {name: table[allg[pos], k] for k, name in enumerate(_COLUMNS)}
    judged = Judged(allt[pos], allv[pos], par, now, params.future_tolerance.total_seconds(),
                    params.max_age.total_seconds())
    none = Neighbours(*([np.full(pos.size, np.nan)] * 5))
    point = [(name, RULES.get(name)) for name in PRECEDENCE]
    fired = {name: rule.mask(judged, none) for name, rule in point if rule.point}
    passes = ~np.logical_or.reduce(list(fired.values()))
    candidate = ~is_batch
    candidate[pos] = passes  # neighbours for "next": history and readings passing point rules
    nxt = _next_in_group(candidate, allg)
    good = candidate.copy()
    for _ in range(n + 1):
        prv = _prev_in_group(good, allg)
        nb = Neighbours(
            _take(allt, prv[pos]), _take(allv, prv[pos]), _take(allt, nxt[pos]), _take(allv, nxt[pos]),
            _flat_range(good, allg, allt, allv, pos, par),
        )
        fired.update({name: rule.mask(judged, nb) for name, rule in point if not rule.point})
        stacked = np.vstack([fired[name] for name in PRECEDENCE])
        flagged = stacked.any(axis=0)
        new_good = ~is_batch
        new_good[pos] = ~flagged
        if np.array_equal(new_good, good):
            break
        good = new_good
    rule_sorted = np.where(flagged, stacked.argmax(axis=0), len(PRECEDENCE))
    rules = np.empty(n, np.int64)
    rules[batch_index] = rule_sorted
    return rules


def _take(values: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``values[index]``, NaN where ``index`` is −1."""
    return np.where(index >= 0, values[np.maximum(index, 0)], np.nan)


def _prev_in_group(mask: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Per position, the last position before it where ``mask`` holds in the same group; −1 if none."""
    idx = np.where(mask, np.arange(mask.size), -1)
    prev = np.empty_like(idx)
    prev[0] = -1
    prev[1:] = np.maximum.accumulate(idx)[:-1]
    same = g[np.maximum(prev, 0)] == g
    return np.where((prev >= 0) & same, prev, -1)


def _next_in_group(mask: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Per position, the first position after it where ``mask`` holds in the same group; −1 if none."""
    size = mask.size
    idx = np.where(mask, np.arange(size), size)
    nxt = np.empty_like(idx)
    nxt[-1] = size
    nxt[:-1] = np.minimum.accumulate(idx[::-1])[::-1][1:]
    same = g[np.minimum(nxt, size - 1)] == g
    return np.where((nxt < size) & same, nxt, -1)


def _flat_range(good: np.ndarray, g: np.ndarray, t: np.ndarray, v: np.ndarray, pos: np.ndarray,
                par: Mapping[str, np.ndarray]) -> np.ndarray:
    """max − min over the reading and the good values since the anchor, per batch reading.

    The anchor is the last good value of the same sensor at or before t − flatline window;
    NaN where there is none or the value is not above the flatline ``min_value``.
    """
    out = np.full(pos.size, np.nan)
    vp = v[pos]
    sel = np.flatnonzero(vp > par["flat_min"])
    gi = np.flatnonzero(good)
    if sel.size == 0 or gi.size == 0:
        return out
    p = pos[sel]
    span = float(t.max() - t.min()) + float(par["flat_s"].max()) + 1.0
    key = g * span + (t - t.min())
    good_key, good_g, good_v = key[gi], g[gi], v[gi]
    anchor = np.searchsorted(good_key, key[p] - par["flat_s"][sel], side="right") - 1
    last = np.cumsum(good)[p] - good[p] - 1  # last good position before p, in good-series index
    ok = (anchor >= 0) & (anchor <= last)
    ok[ok] = good_g[anchor[ok]] == g[p[ok]]
    if not ok.any():
        return out
    lo, hi = anchor[ok], last[ok]
    top, bottom = _range_extremes(good_v, lo, hi)
    value = vp[sel[ok]]
    out[sel[ok]] = np.maximum(top, value) - np.minimum(bottom, value)
    return out


def _range_extremes(values: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """max and min of ``values[lo:hi + 1]`` for each (lo, hi), by a sparse table of powers of two."""
    length = hi - lo + 1
    levels = int(np.log2(length.max())) + 1
    tops, bottoms = [values], [values]
    for k in range(1, levels):
        half = 1 << (k - 1)
        tops.append(np.maximum(tops[-1][:-half], tops[-1][half:]))
        bottoms.append(np.minimum(bottoms[-1][:-half], bottoms[-1][half:]))
    k = np.log2(length).astype(np.int64)
    top, bottom = np.empty(lo.size), np.empty(lo.size)
    for level in np.unique(k):
        at = k == level
        right = hi[at] - (1 << level) + 1
        top[at] = np.maximum(tops[level][lo[at]], tops[level][right])
        bottom[at] = np.minimum(bottoms[level][lo[at]], bottoms[level][right])
    return top, bottom


def stale(last_seen: Mapping[str, datetime | None], *, sensors: Mapping[str, Sensor], now: datetime,
          factor: float) -> dict[str, bool]:
    """Which sensors are stale: silent for more than ``factor`` × their expected interval.

    Parameters
    ----------
    last_seen
        Phenomenon time of each sensor's latest reading (any flag), ``None`` if never seen;
        a catalogue sensor absent here has never been seen.
    sensors
        The catalogue by sensor id.
    now
        Now, timezone-aware.
    factor
        k in "silent for k × interval" (``staleness.factor`` of models/sensors.yaml).

    Returns
    -------
    For every catalogue sensor, True when stale (a sensor with no reading ever is stale).

    Raises
    ------
    UnknownNameError
        ``last_seen`` names sensors missing from the catalogue.
    """
    unknown = sorted(set(last_seen) - set(sensors))
    if unknown:
        raise UnknownNameError(Problem("last_seen", "sensor_id", "sensors in the catalogue", ", ".join(unknown)))
    result = {}
    for sid, sensor in sensors.items():
        seen = last_seen.get(sid)
        result[sid] = seen is None or now - seen > sensor.interval * factor
    return result
