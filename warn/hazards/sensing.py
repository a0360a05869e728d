"""What a hazard judges a sensor from: its readings up to the cycle's time and whether it is stale.

Shared by the hazards that read sensors (waterlogging points' water levels, river gauges'
stages); none of it names a hazard. The readings come from the store as QC left them; a
sensor is stale after ``stale_factor`` × its catalogued interval of silence
(``models/sensors.yaml``), an uncatalogued one always.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from warn.config import Settings
from warn.modelfiles import load_model_file
from warn.sources.readings import FlaggedReading
from warn.store import Store
from warn.vocab import QCFlag

#: How far back readings are read for the rate of rise.
READ_BACK = timedelta(hours=1)
#: Stale after this many intervals of silence when models/sensors.yaml is not configured.
DEFAULT_STALE_FACTOR = 3.0


@dataclass(frozen=True)
class Series:
    """One sensor's readings as a hazard's pure model takes them.

    Attributes
    ----------
    times, values
        The QC-passed readings: ``datetime64[s]`` (UTC, naive) and values in the sensor's unit.
    stale
        Silent past its limit, or without readings, or not in the catalogue.
    latest_flagged
        The newest reading failed QC.
    rule
        The QC rule that flagged the newest reading (``flatline``, ``spike``), empty otherwise.
    """

    times: np.ndarray
    values: np.ndarray
    stale: bool
    latest_flagged: bool
    rule: str


def naive(moment: datetime) -> np.datetime64:
    """A UTC time as a naive ``datetime64[s]``."""
    return np.datetime64(moment.replace(tzinfo=None), "s")


def silence_limits(store: Store | None, settings: Settings) -> dict[str, timedelta]:
    """How long each catalogued sensor may be silent before it is stale: k × its interval."""
    path = settings.models.get("sensors")
    factor = load_model_file("sensors", path).params().stale_factor if path is not None else DEFAULT_STALE_FACTOR
    return {s.sensor_id: factor * s.interval for s in store.sensors()} if store is not None else {}


def series(store: Store | None, sensor_id: object, now: datetime, limits: dict[str, timedelta]) -> Series:
    """The readings of ``sensor_id`` within :data:`READ_BACK` up to ``now``, and whether it can be read.

    Parameters
    ----------
    store
        Where the readings are; ``None``: no readings.
    sensor_id
        The layer's ``sensor_id`` attribute (anything but a non-empty text: no sensor).
    now
        The cycle's time (UTC).
    limits
        :func:`silence_limits`.
    """
    return series_of(store, [sensor_id], now, limits)[0]


def series_of(store: Store | None, sensor_ids: Sequence[object], now: datetime,
              limits: dict[str, timedelta]) -> list[Series]:
    """:func:`series` of each of ``sensor_ids`` (in order), read from the store in one query."""
    named = [sid for sid in sensor_ids if _is_sensor(sid)]
    read = store.readings_of([str(sid) for sid in named], since=now - READ_BACK,
                             until=now + timedelta(seconds=1)) if store is not None and named else {}
    return [_series(read.get(sid, []) if _is_sensor(sid) else [], sid, now, limits) for sid in sensor_ids]


def _is_sensor(sensor_id: object) -> bool:
    return isinstance(sensor_id, str) and bool(sensor_id)


def _series(readings: list[FlaggedReading], sensor_id: object, now: datetime, limits: dict[str, timedelta]) -> Series:
    good = [r for r in readings if r.qc_flag is QCFlag.GOOD and r.reading.value is not None]
    limit = limits.get(sensor_id) if isinstance(sensor_id, str) else None
    stale = not readings or limit is None or now - readings[-1].reading.phenomenon_time > limit
    flagged = bool(readings) and readings[-1].qc_flag is not QCFlag.GOOD
    return Series(np.array([naive(r.reading.phenomenon_time) for r in good], dtype="datetime64[s]"),
                  np.array([r.reading.value for r in good], dtype=float), stale, flagged,
                  (readings[-1].qc_rule or "") if flagged else "")
