"""Rain gauges' running totals decoded to depth per report, before quality control.

A gauge of the catalogue reports either the depth of its report interval (``report``, nothing
to decode) or a running total reset at the start of each period (:class:`warn.vocab.Accumulation`):
``hourly`` at each full hour, ``day_08`` / ``day_20`` at 08:00 / 20:00 Beijing time (the
Chinese 日界, Asia/Shanghai). A value at time t belongs to the period ``(reset, next reset]``
holding t: the value at 08:00 closes the day that ends then, the one at 08:05 opens the next.

Decoding a total ``v`` at t against the known totals of the same sensor (:func:`decode`):

- the latest known total ``p`` at ``t_p < t`` in the same period: the depth is ``v − p``;
- none in the period: the first report after the reset is its own total, ``v``;
- ``v < p`` (a drop with no reset between): the depth is unknown — never negative — and the
  reading is flagged bad with rule :data:`DROP_RULE`; the counter is taken as restarted, so
  the next report counts from ``v``;
- the report covers more than one interval (the reports before it in the period are missing,
  more than 1.5 intervals since ``t_p`` or since the reset): the depth is kept as one report
  covering the gap, flagged doubtful with rule :data:`GAP_RULE` (never spread over the
  missing reports, and never taken as one interval's rain by the analysis).

Totals are known from the batch itself and from earlier batches (the ingester keeps each
sensor's raw totals of the last :data:`KEEP`). A reading that arrives late, between two known
totals, changes the depth of the one after it: that one is decoded again (a revision in the
store).
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from warn.sources.readings import Reading, Sensor
from warn.vocab import Accumulation

#: The 日界 are Beijing time.
BEIJING = ZoneInfo("Asia/Shanghai")
#: Local hour of the daily resets.
RESET_HOUR = {Accumulation.DAY_08: 8, Accumulation.DAY_20: 20}
#: QC rule ids set by decoding (the QC rules proper are in :mod:`warn.sources.qc`).
DROP_RULE = "accumulation_drop"
GAP_RULE = "accumulation_gap"
#: How long a sensor's raw totals are kept: the longest period (a day) and an hour for late reports.
KEEP = timedelta(hours=25)
#: A total below the previous one by less than this (mm) is rounding, not a drop.
TOLERANCE_MM = 1e-6


@dataclass(frozen=True)
class Decoded:
    """A reading decoded to depth per report.

    Attributes
    ----------
    reading
        The reading with its depth (mm) in ``value`` (``None`` when unknown).
    rule
        "" when decoded cleanly, else :data:`DROP_RULE` or :data:`GAP_RULE`.
    reason
        For people: what was wrong and what was done.
    """

    reading: Reading
    rule: str = ""
    reason: str = ""


def period_start(t: datetime, accumulation: Accumulation) -> datetime:
    """The reset that opened the period holding ``t``: the latest reset strictly before ``t`` (aware UTC)."""
    local = t.astimezone(BEIJING)
    if accumulation is Accumulation.HOURLY:
        start = local.replace(minute=0, second=0, microsecond=0)
        if start == local:
            start -= timedelta(hours=1)
    elif accumulation in RESET_HOUR:
        start = local.replace(hour=RESET_HOUR[accumulation], minute=0, second=0, microsecond=0)
        if start >= local:
            start -= timedelta(days=1)
    else:
        raise ValueError(f"a running-total accumulation ({', '.join(RESET_HOUR)}, hourly), got {accumulation}")
    return start.astimezone(UTC)


def decode(sensor: Sensor, readings: Sequence[Reading], known: Mapping[datetime, float], *,
           now: datetime) -> tuple[list[Decoded], dict[datetime, float]]:
    """Decode one sensor's running totals to depths per report (module docstring).

    Parameters
    ----------
    sensor
        The gauge (its ``accumulation`` and ``interval``).
    readings
        Its readings of a batch, values the running totals (mm), any order.
    known
        Its raw totals from earlier batches by phenomenon time (aware).
    now
        Arrival time given to a known reading decoded again.

    Returns
    -------
    decoded
        One per reading, in the order given, then the known readings after a late one, decoded again.
    totals
        ``known`` with the batch's totals.
    """
    if sensor.accumulation is Accumulation.REPORT:
        return [Decoded(r) for r in readings], dict(known)
    totals = dict(known)
    totals.update({r.phenomenon_time: r.value for r in readings if r.value is not None})
    times = sorted(totals)
    out = [_one(sensor, r, totals, times) for r in readings]
    batch = {r.phenomenon_time for r in readings}
    followers = set()
    for t in batch:
        after = bisect.bisect_right(times, t)
        if after < len(times) and times[after] not in batch and times[after] in known:
            follower = times[after]
            if period_start(follower, sensor.accumulation) < t:
                followers.add(follower)
    for t in sorted(followers):
        out.append(_one(sensor, Reading(sensor.sensor_id, t, totals[t], sensor.unit, now), totals, times))
    return out, totals


def _one(sensor: Sensor, reading: Reading, totals: Mapping[datetime, float], times: list[datetime]) -> Decoded:
    if reading.value is None:
        return Decoded(reading)
    t, v = reading.phenomenon_time, reading.value
    start = period_start(t, sensor.accumulation)
    before = bisect.bisect_left(times, t) - 1
    previous = times[before] if before >= 0 and times[before] > start else None
    slack = sensor.interval * 1.5
    name = sensor.accumulation.value
    if previous is None:
        depth, since = v, start
        what = f"累计自 {_local(start)} 起 / total since the reset at {_local(start)} ({name})"
    else:
        p = totals[previous]
        if v < p - TOLERANCE_MM:
            return Decoded(replace(reading, value=None), DROP_RULE,
                           f"{sensor.sensor_id} {_local(t)}: 累计值下降 / running total {v:g} mm below {p:g} mm at "
                           f"{_local(previous)} with no reset between ({name}): depth unknown, never negative; "
                           "the counter is taken as restarted")
        depth, since = v - p, previous
        what = f"自上一报 {_local(previous)} 起 / since the report at {_local(previous)}"
    decoded = replace(reading, value=round(depth, 6))
    if t - since > slack:
        minutes = (t - since).total_seconds() / 60
        return Decoded(decoded, GAP_RULE, f"{sensor.sensor_id} {_local(t)}: 一报覆盖缺报 / one report covering "
                                          f"{minutes:g} min, {what}")
    return Decoded(decoded)


def _local(t: datetime) -> str:
    return t.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M+08")
