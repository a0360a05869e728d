"""Drivers: why a level is what it is, in words a duty officer can read out on the phone.

Every level the models produce carries its drivers — which quantity crossed which
threshold, by how much, at what lead time — e.g. ``SWI 214 mm ≥ 橙色阈值 180 mm (+2 h)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property

import numpy as np

from warn.vocab import Level


@dataclass(frozen=True)
class Driver:
    """One quantity against the threshold of the level it reached.

    Attributes
    ----------
    quantity
        Short name as people say it (``SWI``, ``有效降雨 effective rain``, ``3h雨量``).
    value
        Its value, in ``unit``.
    unit
        ``mm``, ``cm``, ``m``, ``a`` (years) …
    threshold
        The threshold of ``level`` it reached (or, for ``Level.NONE``, the lowest one it is under).
    level
        The level this quantity alone puts the place at.
    lead
        How far ahead of the evaluation time the value holds (0 for now).
    worse_below
        The quantity is worse the lower it is (a stability coefficient): it reaches a
        threshold by falling under it.
    """

    quantity: str
    value: float
    unit: str
    threshold: float
    level: Level
    lead: timedelta = timedelta(0)
    worse_below: bool = False

    @property
    def margin(self) -> float:
        """How far past (positive) or short of (negative) the threshold, in ``unit``."""
        return self.value - self.threshold

    def text(self) -> str:
        """``SWI 214 mm ≥ 橙色阈值 180 mm (+2 h)`` — zh-CN level names, numbers as people read them.

        A quantity without a value reads ``SWI 未知 unknown (+2 h)``.
        """
        return _sentence(self.quantity, self.value, self.unit, self.threshold, _reading(self.level, self.worse_below),
                         _lead(self.lead))

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form (stable keys)."""
        known = self.value == self.value
        return {"quantity": self.quantity, "value": round(self.value, 2) if known else None, "unit": self.unit,
                "threshold": round(self.threshold, 2), "level": int(self.level), "colour": self.level.colour,
                "lead_h": round(self.lead.total_seconds() / 3600, 2), "text": self.text()}


@dataclass(frozen=True, eq=False)  # holds arrays: equal only to itself
class DriverColumns:
    """The same drivers of many items, column by column, of quantities worse the higher they are.

    Driver ``q`` of item ``i`` is quantity ``quantities[q]`` with ``values[q, i]`` against
    ``thresholds[q, i]`` at ``levels[q, i]``, ``leads_s[i]`` ahead: what a vectorised model gives for
    all its items at once, each item's drivers and texts built only when asked for.

    Attributes
    ----------
    quantities, units
        Each driver's quantity and unit (driver,).
    values, thresholds
        (driver, item), in each driver's unit; NaN: unknown.
    levels
        The level each driver's value alone reaches, (driver, item), int (−1 unknown … 4).
    leads_s
        How far ahead of the evaluation time each item's values hold (item,), whole seconds.
    """

    quantities: tuple[str, ...]
    units: tuple[str, ...]
    values: np.ndarray
    thresholds: np.ndarray
    levels: np.ndarray
    leads_s: np.ndarray

    def of(self, item: int) -> tuple[Driver, ...]:
        """Return the drivers of item ``item`` (driver,)."""
        lead = timedelta(seconds=int(self.leads_s[item]))
        return tuple(Driver(quantity, float(self.values[q, item]), unit, float(self.thresholds[q, item]),
                            Level(int(self.levels[q, item])), lead)
                     for q, (quantity, unit) in enumerate(zip(self.quantities, self.units, strict=True)))

    @cached_property
    def texts(self) -> list[tuple[str, ...]]:
        """Every item's drivers as :meth:`Driver.text` reads them (item,) of (driver,), formatted column by column."""
        readings = {int(level): _reading(level, False) for level in Level}
        leads_s = self.leads_s.tolist()
        leads = {s: _lead(timedelta(seconds=s)) for s in set(leads_s)}
        columns = [_column(quantity, unit, values, thresholds, levels, leads_s, readings, leads)
                   for quantity, unit, values, thresholds, levels in zip(
                       self.quantities, self.units, self.values.tolist(), self.thresholds.tolist(),
                       self.levels.tolist(), strict=True)]
        return list(zip(*columns, strict=True))


def _column(quantity: str, unit: str, values: list[float], thresholds: list[float], levels: list[int],
            leads_s: list[int], readings: dict[int, tuple[str, str] | None], leads: dict[int, str]) -> list[str]:
    """Word one driver of every item (item,) as :func:`_sentence` does.

    From its pieces: each level's middle, each lead's tail and each distinct threshold formatted once.
    """
    middles = {level: None if reading is None else _middle(unit, reading) for level, reading in readings.items()}
    tails = {s: _tail(unit, lead) for s, lead in leads.items()}
    unknown = {s: _unknown(quantity, lead) for s, lead in leads.items()}
    numbers: dict[float, str] = {}
    head = f"{quantity} "
    out = []
    for value, threshold, level, lead in zip(values, thresholds, levels, leads_s, strict=True):
        middle = middles[level]
        if middle is None or value != value:
            out.append(unknown[lead])
            continue
        bound = numbers.get(threshold)
        if bound is None:
            bound = numbers[threshold] = _number(threshold)
        out.append(head + _number(value) + middle + bound + tails[lead])
    return out


def _reading(level: Level, worse_below: bool) -> tuple[str, str] | None:
    """(comparison sign, threshold label) a driver at ``level`` reads with; ``None`` for an unknown level."""
    if level is Level.UNKNOWN:
        return None
    reached = level > Level.NONE
    label = f"{level.zh}阈值" if reached else "蓝色阈值"
    sign = ("<" if reached else "≥") if worse_below else ("≥" if reached else "<")
    return sign, label


def _sentence(quantity: str, value: float, unit: str, threshold: float, reading: tuple[str, str] | None,
              lead: str) -> str:
    """One driver as people read it (:meth:`Driver.text`), from :func:`_reading` and :func:`_lead`."""
    if reading is None or value != value:
        return _unknown(quantity, lead)
    return f"{quantity} {_number(value)}{_middle(unit, reading)}{_number(threshold)}{_tail(unit, lead)}"


def _unknown(quantity: str, lead: str) -> str:
    return f"{quantity} 未知 unknown ({lead})"


def _middle(unit: str, reading: tuple[str, str]) -> str:
    """Return what stands between the value and the threshold: `` mm ≥ 橙色阈值 ``."""
    sign, label = reading
    return f"{_unit(unit)} {sign} {label} "


def _tail(unit: str, lead: str) -> str:
    """Return what follows the threshold: `` mm (+2 h)``."""
    return f"{_unit(unit)} ({lead})"


def _unit(unit: str) -> str:
    return f" {unit}" if unit else ""


def _number(value: float) -> str:
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.2f}" if abs(value) < 2 else f"{value:.1f}"  # stability coefficients read to 0.01


def _lead(lead: timedelta) -> str:
    hours = lead.total_seconds() / 3600
    return "现在 now" if hours == 0 else f"+{hours:g} h"
