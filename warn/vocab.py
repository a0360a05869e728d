"""Vocabularies shared across the project, as enums (never bare strings or ints in code).

One home for the words every layer shares: warning levels, QC flags, sensor kinds, item
kinds, org levels, peacetime/wartime, response levels and CAP status. Configuration
schemas, playbooks and CLI choices derive from these enums. Hazards are not an enum here:
they are the names of the hazard registry (:mod:`warn.hazards`), which owns each hazard's
rules.

Levels follow DESIGN.md "Conventions": 0 none, 1 blue (IV), 2 yellow (III), 3 orange
(II), 4 red (I); ``UNKNOWN`` (−1) is what a level is when the evidence is missing —
never silently "none".
"""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import TypeAlias


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

    @classmethod
    def of_colour(cls, colour: str) -> Level:
        """Return the level whose :attr:`colour` is ``colour`` (``"red"`` → ``RED``)."""
        return _BY_COLOUR[colour]

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
_BY_COLOUR = {colour: level for level, colour in _COLOUR.items()}
#: Each level by its number (−1 … 4): a level from an array's element without the enum's call.
LEVEL_OF: dict[int, Level] = {int(level): level for level in Level}
#: The four warning colours, lowest first (what config files, playbooks and the CLI write).
COLOURS: tuple[str, ...] = tuple(_COLOUR[level] for level in (Level.BLUE, Level.YELLOW, Level.ORANGE, Level.RED))
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


#: A hazard: a name of the hazard registry (:mod:`warn.hazards`) — ``landslide``, ``waterlogging`` … —
#: which owns the hazard's names for people, its roles, models and CAP event.
HazardName: TypeAlias = str


#: The composite incident of one weather event (一次强降雨过程): it holds the threads of every hazard —
#: landslide, waterlogging, flash flood, the rainstorm signal … — opened by the first, closed when the
#: last clears. Its ``hazard`` in the store and reports.
STORM_INCIDENT: HazardName = "storm"
#: Its name for people.
STORM_INCIDENT_ZH = "强降雨"


class Audience(StrEnum):
    """Who a published message is for.

    ``public``: everybody in the area (CAP scope Public, the public channels); ``restricted``: the
    responsible people — duty officers, town and community responsible persons, monitors (CAP scope
    Restricted, the duty channels).
    """

    PUBLIC = "public"
    RESTRICTED = "restricted"

    @property
    def zh(self) -> str:
        """Chinese name (``公众`` / ``责任人``)."""
        return "公众" if self is Audience.PUBLIC else "责任人"


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


class Accumulation(StrEnum):
    """What a rain gauge's value is (the catalogue's ``accumulation``); decoded to depth per report at ingest.

    Running totals reset at the period's start: each full hour, or the Chinese 日界 — 08:00 or 20:00
    Beijing time. A value at time t belongs to the period (reset, next reset] that holds t, so the
    value at the reset time itself closes the period that ends there.
    """

    REPORT = "report"  # depth in the report interval ending at the reading's time
    HOURLY = "hourly"  # running total since the last full hour
    DAY_08 = "day_08"  # running total since 08:00 Beijing time
    DAY_20 = "day_20"  # running total since 20:00 Beijing time


class ItemKind(StrEnum):
    """What a warned item is, as playbooks match it.

    A zone (town, grid cell), a point (hazard or waterlogging point, river gauge), a small
    catchment with its villages, the district.
    """

    ZONE = "zone"
    POINT = "point"
    CATCHMENT = "catchment"
    DISTRICT = "district"


class OrgLevel(StrEnum):
    """Level of an org unit, top down; a point is watched by its monitor.

    The district centre, a town/street centre, a community/village (村社), a grid (网格) of a
    community; and a point (a hazard or waterlogging point).

    The governance levels are district → town → community → grid (OPERATIONS.md "Who"); a point
    lies in a community and is watched by its monitor.
    """

    DISTRICT = "district"
    TOWN = "town"
    COMMUNITY = "community"
    GRID = "grid"
    POINT = "point"

    @property
    def zh(self) -> str:
        """Chinese name (``区``, ``镇街``, ``村社``, ``网格``, ``点位``)."""
        return {"district": "区", "town": "镇街", "community": "村社", "grid": "网格", "point": "点位"}[self.value]


class Mode(StrEnum):
    """平急转换: peacetime operation or wartime emergency command."""

    PEACETIME = "peacetime"
    WARTIME = "wartime"

    @property
    def zh(self) -> str:
        """Chinese name (``平时`` / ``战时``)."""
        return "平时" if self is Mode.PEACETIME else "战时"


class ResponseLevel(IntEnum):
    """Emergency response level; a higher value is a stronger response (IV lowest … I highest)."""

    IV = 1
    III = 2
    II = 3
    I = 4

    @property
    def zh(self) -> str:
        """Chinese name (``四级响应``)."""
        return {1: "四级响应", 2: "三级响应", 3: "二级响应", 4: "一级响应"}[self.value]


#: Response levels as written (IV lowest … I highest).
RESPONSE_NAMES: tuple[str, ...] = tuple(level.name for level in ResponseLevel)


class CapStatus(StrEnum):
    """CAP 1.2 ``status`` of a message.

    Only ``Actual`` may reach a public channel: Exercise (drills) and Test, System and Draft
    never do.
    """

    ACTUAL = "Actual"
    EXERCISE = "Exercise"
    SYSTEM = "System"
    TEST = "Test"
    DRAFT = "Draft"
