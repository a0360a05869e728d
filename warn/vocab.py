"""Vocabularies shared across the project, as enums (never bare strings or ints in code).

Levels follow DESIGN.md "Conventions": 0 none, 1 blue (IV), 2 yellow (III), 3 orange
(II), 4 red (I); ``UNKNOWN`` (−1) is what a level is when the evidence is missing —
never silently "none".
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class Level(IntEnum):
    """Warning level, 蓝/黄/橙/红, with ``UNKNOWN`` for missing evidence."""

    UNKNOWN = -1
    NONE = 0
    BLUE = 1
    YELLOW = 2
    ORANGE = 3
    RED = 4

    @property
    def colour(self) -> str:
        """English colour name (``"none"``, ``"unknown"`` outside the four colours)."""
        return _COLOUR[self]

    @property
    def zh(self) -> str:
        """Chinese label (``"红色"``, ``"无"``, ``"未知"``)."""
        return _ZH[self]

    @property
    def grade(self) -> str:
        """Response grade in Roman numerals (IV lowest … I highest), empty for none/unknown."""
        return _GRADE[self]


_COLOUR = {
    Level.UNKNOWN: "unknown",
    Level.NONE: "none",
    Level.BLUE: "blue",
    Level.YELLOW: "yellow",
    Level.ORANGE: "orange",
    Level.RED: "red",
}
_ZH = {
    Level.UNKNOWN: "未知",
    Level.NONE: "无",
    Level.BLUE: "蓝色",
    Level.YELLOW: "黄色",
    Level.ORANGE: "橙色",
    Level.RED: "红色",
}
_GRADE = {
    Level.UNKNOWN: "",
    Level.NONE: "",
    Level.BLUE: "IV",
    Level.YELLOW: "III",
    Level.ORANGE: "II",
    Level.RED: "I",
}


class QCFlag(StrEnum):
    """Quality flag of a sensor reading (Delft-FEWS style: reliable, doubtful, unreliable, missing)."""

    GOOD = "good"
    DOUBTFUL = "doubtful"
    BAD = "bad"
    MISSING = "missing"


class SensorKind(StrEnum):
    """What a sensor measures; decides its unit, QC thresholds and which model reads it."""

    WATER_LEVEL = "water_level"  # ponding depth at a waterlogging point or underpass, metres above the road
    RIVER_STAGE = "river_stage"  # river gauge stage, metres above the gauge datum
    RAIN_GAUGE = "rain_gauge"  # rain depth per report interval, mm
