"""Drivers: why a level is what it is, in words a duty officer can read out on the phone.

Every level the models produce carries its drivers — which quantity crossed which
threshold, by how much, at what lead time — e.g. ``SWI 214 mm ≥ 橙色阈值 180 mm (+2 h)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

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
        if self.level is Level.UNKNOWN or self.value != self.value:
            return f"{self.quantity} 未知 unknown ({_lead(self.lead)})"
        reached = self.level > Level.NONE
        label = f"{self.level.zh}阈值" if reached else "蓝色阈值"
        sign = ("<" if reached else "≥") if self.worse_below else ("≥" if reached else "<")
        unit = f" {self.unit}" if self.unit else ""
        return f"{self.quantity} {_number(self.value)}{unit} {sign} {label} {_number(self.threshold)}{unit}" \
               f" ({_lead(self.lead)})"

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form (stable keys)."""
        known = self.value == self.value
        return {"quantity": self.quantity, "value": round(self.value, 2) if known else None, "unit": self.unit,
                "threshold": round(self.threshold, 2), "level": int(self.level), "colour": self.level.colour,
                "lead_h": round(self.lead.total_seconds() / 3600, 2), "text": self.text()}


def _number(value: float) -> str:
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.2f}" if abs(value) < 2 else f"{value:.1f}"  # stability coefficients read to 0.01


def _lead(lead: timedelta) -> str:
    hours = lead.total_seconds() / 3600
    return "现在 now" if hours == 0 else f"+{hours:g} h"
