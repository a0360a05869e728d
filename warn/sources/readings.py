"""Sensor readings and sensors: the records every feed hands over and the store keeps.

A feed (a kind registered in ``sources/feeds.py``, its records normalised by
``sources/payloads.py``) turns what a device or platform sends into :class:`Reading` s:
the sensor's id, the time the value describes (phenomenon time, timezone-aware UTC), the
value in the sensor kind's unit (:data:`UNITS`: metres for water level and river stage,
mm for rain), and when it arrived. Quality control
(``sources/qc.py``) adds a :class:`warn.vocab.QCFlag` and the rule that set it,
giving a :class:`FlaggedReading`, which is what the store writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from warn.vocab import Accumulation, QCFlag, SensorKind

#: The unit every reading of a kind is normalised to.
UNITS: dict[SensorKind, str] = {
    SensorKind.WATER_LEVEL: "m",
    SensorKind.RIVER_STAGE: "m",
    SensorKind.RAIN_GAUGE: "mm",
}


@dataclass(frozen=True, slots=True)
class Sensor:
    """One sensor in the catalogue.

    Attributes
    ----------
    sensor_id
        Unique id, as the feeds name it (``WL-DEMO-W01``).
    kind
        What it measures.
    name
        Name for people (zh-CN).
    lon, lat
        Position, WGS84 degrees.
    interval
        Expected time between readings; silence for k × interval makes it stale.
    point_id
        The waterlogging point, underpass or gauge station it serves; may be empty.
    accumulation
        What a rain gauge's value is: depth per report, or a running total since a reset
        (:class:`warn.vocab.Accumulation`; decoded to depth per report at ingest).
    """

    sensor_id: str
    kind: SensorKind
    name: str
    lon: float
    lat: float
    interval: timedelta
    point_id: str = ""
    accumulation: Accumulation = Accumulation.REPORT

    @property
    def unit(self) -> str:
        """The unit its readings are normalised to."""
        return UNITS[self.kind]


@dataclass(frozen=True, slots=True)
class Reading:
    """One value of one sensor at one time, normalised.

    Attributes
    ----------
    sensor_id
        The sensor.
    phenomenon_time
        When the value holds, timezone-aware UTC.
    value
        In ``unit``; ``None`` when the feed reported the reading as missing.
    unit
        ``"m"`` or ``"mm"`` (:data:`UNITS`).
    arrival_time
        When warn received it, timezone-aware UTC.
    """

    sensor_id: str
    phenomenon_time: datetime
    value: float | None
    unit: str
    arrival_time: datetime


@dataclass(frozen=True, slots=True)
class FlaggedReading:
    """A reading with its quality flag and the rule that set it (empty for a good reading)."""

    reading: Reading
    qc_flag: QCFlag
    qc_rule: str = ""
