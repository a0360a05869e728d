"""Sensor records into readings: what polled and pushed feeds share.

Every feed hands over a :class:`Batch`: the :class:`~warn.sources.readings.Reading` s it
could normalise and, for every record it could not, a :class:`~warn.errors.Problem`
naming the feed and URL, the record (index, row, or SensorThings id) and field, and what
was expected. A bad record never stops the rest of its batch.

Normalisation (:func:`normalise`):

- value: a number or numeric text; ``null``, empty text and NaN mean "missing"
  (``value=None``); converted to the sensor kind's unit (:data:`~warn.sources.readings.UNITS`):
  metres for water level and river stage (``cm`` ÷ 100, ``mm`` ÷ 1000), mm for rain.
  The kind comes from the catalogue when one is given; otherwise a value in ``mm`` is
  taken as rain and ``m``/``cm`` as a level. Units ``m``, ``cm``, ``mm`` (and 米, 厘米, 毫米).
- time: ISO 8601 text (``2026-07-15T08:00:00+08:00``, ``…Z`` or ``2026-07-15 08:00:00``);
  a time without an offset is in the feed's ``timezone``; returned as aware UTC.
- ``arrival_time``: when the batch was received, from the injectable clock ``now``.

Records whose fields a :class:`~warn.config.FieldMap` names (JSON objects, CSV rows, pushed
payloads) are decoded by a :class:`FieldDecoder`; a pushed JSON payload by :func:`decode_payload`.
A pushed payload larger than the feed's ``max_payload_bytes`` or nested deeper than its
``max_payload_depth`` (:class:`~warn.config.SensorFeedSpec`) is one rejected problem, refused
before it is parsed.
The feeds themselves are the kinds registered in :mod:`warn.sources.feeds`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from warn.config import FieldMap, SensorFeedSpec
from warn.errors import ConfigError, Problem
from warn.sources.readings import UNITS, Reading, Sensor
from warn.vocab import SensorKind

#: Length units a feed may report, as millimetres per unit (whole numbers, so that 35 cm
#: becomes exactly the float nearest 0.35 m); Chinese names map to the same.
LENGTH_UNITS: dict[str, int] = {"m": 1000, "cm": 10, "mm": 1}
UNIT_ALIASES: dict[str, str] = {"米": "m", "厘米": "cm", "毫米": "mm"}

#: Overlap when resuming a poll, to catch readings that arrive after newer ones.
DEFAULT_LOOKBACK = timedelta(hours=2)

#: One resume time for every sensor, one per sensor id, or none (first poll).
Since = datetime | Mapping[str, datetime] | None


def utc_now() -> datetime:
    """The wall clock, timezone-aware UTC (the default ``now`` of every feed)."""
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Batch:
    """What one poll or one message of a feed brought.

    Parameters
    ----------
    feed
        The feed's name (the key under ``sensors.feeds``).
    readings
        Normalised readings, in the order received.
    rejected
        One problem per record that could not be normalised (and per datastream that
        could not be read), each naming the feed/URL, the record and field, and what was expected.
    payload_sha256, payload_bytes
        Of a pushed message with a rejected part: its SHA-256 (hex) and size, recorded with the
        rejection instead of the payload; ``None`` for polls.
    """

    feed: str
    readings: list[Reading] = field(default_factory=list)
    rejected: list[Problem] = field(default_factory=list)
    payload_sha256: str | None = None
    payload_bytes: int | None = None


class BadField(ValueError):
    """A record's field could not be normalised (carried into a :class:`~warn.errors.Problem`).

    Parameters
    ----------
    field
        The field, as the feed names it (``z``, ``result``).
    expected, got
        What was expected and what was found.
    """

    def __init__(self, field: str, expected: str, got: str) -> None:
        self.field, self.expected, self.got = field, expected, got
        super().__init__(f"{field}: expected {expected}, got {got}")


def parse_time(text: object, tz: tzinfo, *, field: str = "time") -> datetime:
    """Parse an ISO 8601 time; one without an offset is in ``tz``.

    Returns
    -------
    datetime
        Timezone-aware UTC.

    Raises
    ------
    BadField
        Not text, or not ISO 8601.
    """
    expected = "an ISO 8601 time such as 2026-07-15T08:00:00+08:00 or 2026-07-15 08:00:00"
    if not isinstance(text, str) or not text.strip():
        raise BadField(field, expected, repr(text))
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadField(field, expected, repr(text)) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(timezone.utc)


def parse_value(raw: object, *, field: str = "value") -> float | None:
    """A number or numeric text; ``None``, empty text and NaN are a missing value (``None``).

    Raises
    ------
    BadField
        Not a number, or infinite.
    """
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise BadField(field, "a number, or null for a missing value", repr(raw))
    try:
        value = float(raw)
    except ValueError:
        raise BadField(field, "a number, or null for a missing value", repr(raw)) from None
    if math.isnan(value):
        return None
    if math.isinf(value):
        raise BadField(field, "a finite number", repr(raw))
    return value


def canonical_unit(raw: object, *, field: str = "unit") -> str:
    """``m``, ``cm`` or ``mm`` from a unit as a feed writes it (also 米, 厘米, 毫米).

    Raises
    ------
    BadField
        Any other unit.
    """
    unit = raw.strip() if isinstance(raw, str) else raw
    unit = UNIT_ALIASES.get(unit, unit) if isinstance(unit, str) else unit
    if unit not in LENGTH_UNITS:
        raise BadField(field, "a unit among m, cm, mm", repr(raw))
    return unit


def normalise(
    sensor_id: object,
    phenomenon_time: datetime,
    value: float | None,
    unit: str,
    *,
    arrival_time: datetime,
    kind: SensorKind | None = None,
    sensor_field: str = "sensor_id",
) -> Reading:
    """One reading with its value in the unit of the sensor's kind.

    Parameters
    ----------
    sensor_id
        Non-empty text (a number is taken as its decimal text, as station codes often are).
    phenomenon_time
        Aware UTC.
    value
        In ``unit``; ``None`` for missing.
    unit
        ``m``, ``cm`` or ``mm`` (:func:`canonical_unit`).
    arrival_time
        Aware UTC.
    kind
        The sensor's kind; when ``None``, ``mm`` means rain and ``m``/``cm`` a level.
    sensor_field
        The feed's name of the sensor id field, for the error.

    Raises
    ------
    BadField
        Empty sensor id.
    """
    if isinstance(sensor_id, int) and not isinstance(sensor_id, bool):
        sensor_id = str(sensor_id)
    if not isinstance(sensor_id, str) or not sensor_id.strip():
        raise BadField(sensor_field, "a non-empty sensor id", repr(sensor_id))
    target = UNITS[kind] if kind is not None else ("mm" if unit == "mm" else "m")
    if value is not None and unit != target:
        value = value * LENGTH_UNITS[unit] / LENGTH_UNITS[target]
    return Reading(sensor_id=sensor_id.strip(), phenomenon_time=phenomenon_time, value=value, unit=target,
                   arrival_time=arrival_time)


def records_of(document: object) -> list[Any]:
    """The records of a JSON document: a top-level list, or the first list-valued key of an object.

    Raises
    ------
    ValueError
        Neither.
    """
    if isinstance(document, list):
        return document
    if isinstance(document, dict):
        for value in document.values():
            if isinstance(value, list):
                return value
    raise ValueError("a JSON list of records, or an object with a list-valued key")


def cutoff(since: Since, sensor_id: str, lookback: timedelta) -> datetime | None:
    """Return the time a reading of ``sensor_id`` must come after: its ``since`` minus ``lookback``.

    Returns
    -------
    datetime or None
        ``None`` when ``since`` gives no time for the sensor (everything is new).
    """
    moment = since.get(sensor_id) if isinstance(since, Mapping) else since
    return None if moment is None else moment - lookback


class FieldDecoder:
    """Decodes field-mapped records (JSON objects, CSV rows, MQTT payloads) into a :class:`Batch`.

    Parameters
    ----------
    name
        The feed's name.
    spec
        Its settings: ``fields``, ``unit`` (when no unit field is mapped) and ``timezone``.
    catalogue
        Known sensors by id; when given, a record of any other sensor is rejected and the
        kind of each sensor decides its unit.

    Raises
    ------
    ConfigError
        The feed maps no fields, or gives neither a unit field nor a unit, or its unit is unknown.
    """

    def __init__(self, name: str, spec: SensorFeedSpec, *, catalogue: Mapping[str, Sensor] | None = None) -> None:
        where = f"sensors.feeds.{name}"
        if spec.fields is None:
            raise ConfigError(Problem(where, "fields", "a field map (sensor_id, time, value)"))
        if spec.fields.unit is None and spec.unit is None:
            raise ConfigError(Problem(where, "unit", "a unit (m, cm, mm) or a unit field in fields.unit",
                                      hint="values cannot be converted without their unit"))
        try:
            self.unit = None if spec.unit is None else canonical_unit(spec.unit)
        except BadField as err:
            raise ConfigError(Problem(where, "unit", err.expected, err.got)) from None
        self.name = name
        self.fields: FieldMap = spec.fields
        self.tz = ZoneInfo(spec.timezone)
        self.catalogue = catalogue
        self.max_bytes = spec.max_payload_bytes
        self.max_depth = spec.max_payload_depth

    def decode(self, records: Sequence[object], *, where: str, labels: Sequence[str], arrival_time: datetime,
               since: Since = None, lookback: timedelta = DEFAULT_LOOKBACK) -> Batch:
        """Normalise ``records``; ``labels[i]`` names record ``i`` in messages (``[3]``, ``row 5``).

        Readings at or before ``since − lookback`` (per sensor) are left out.
        """
        batch = Batch(self.name)
        for label, record in zip(labels, records, strict=True):
            try:
                reading = self.reading(record, arrival_time)
            except BadField as err:
                batch.rejected.append(Problem(where, f"{label}.{err.field}", err.expected, err.got))
                continue
            after = cutoff(since, reading.sensor_id, lookback)
            if after is None or reading.phenomenon_time > after:
                batch.readings.append(reading)
        return batch

    def reading(self, record: object, arrival_time: datetime) -> Reading:
        """One record as a :class:`Reading`.

        Raises
        ------
        BadField
            Naming the first field that is missing or wrong.
        """
        fields = self.fields
        if not isinstance(record, Mapping):
            raise BadField("", f"an object with fields {fields.sensor_id}, {fields.time}, {fields.value}",
                           type(record).__name__)
        for name in (fields.sensor_id, fields.time, fields.value):
            if name not in record:
                raise BadField(name, "the field to be present", f"fields {', '.join(map(str, record)) or 'none'}")
        sensor_id = record[fields.sensor_id]
        kind = None
        if self.catalogue is not None:
            sensor = self.catalogue.get(str(sensor_id).strip())
            if sensor is None:
                raise BadField(fields.sensor_id, "a sensor id in the sensor catalogue", repr(sensor_id))
            kind = sensor.kind
        if fields.unit is not None and record.get(fields.unit) not in (None, ""):
            unit = canonical_unit(record[fields.unit], field=fields.unit)
        elif self.unit is not None:
            unit = self.unit
        else:
            raise BadField(fields.unit or "unit", "a unit among m, cm, mm", repr(record.get(fields.unit or "")))
        return normalise(sensor_id, parse_time(record[fields.time], self.tz, field=fields.time),
                         parse_value(record[fields.value], field=fields.value), unit,
                         arrival_time=arrival_time, kind=kind, sensor_field=fields.sensor_id)


def nesting_exceeds(text: str, limit: int) -> bool:
    """Whether JSON ``text`` nests arrays and objects deeper than ``limit`` (brackets inside strings do not count).

    One pass, no recursion: safe on any input, so that the parser never meets a payload
    deep enough to exhaust Python's recursion limit.
    """
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


def decode_payload(decoder: FieldDecoder, payload: bytes, *, where: str, arrival_time: datetime) -> Batch:
    """One pushed JSON payload (an object, a list, or an object with a list) as a :class:`Batch`.

    A payload that is not JSON, larger than ``decoder.max_bytes`` (checked before it is
    read) or nested deeper than ``decoder.max_depth`` (checked before it is parsed) becomes
    one rejected problem saying why, never an exception.
    """
    def refused(expected: str, got: str, hint: str = "") -> Batch:
        return Batch(decoder.name, rejected=[Problem(where, "payload", expected, got, hint)])

    if len(payload) > decoder.max_bytes:
        return refused(f"at most {decoder.max_bytes} bytes", f"{len(payload)} bytes",
                       "raise sensors.feeds.<feed>.max_payload_bytes if the devices really send more")
    try:
        text = payload.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        return refused("a JSON object or list of objects", f"{payload[:80]!r} ({err})")
    if nesting_exceeds(text, decoder.max_depth):
        return refused(f"JSON nested at most {decoder.max_depth} deep", f"deeper than {decoder.max_depth}",
                       "a sensor payload is an object, a list of objects or an object with a list")
    try:
        document = json.loads(text)
    except ValueError as err:
        return refused("a JSON object or list of objects", f"{payload[:80]!r} ({err})")
    if isinstance(document, Mapping) and not any(isinstance(v, list) for v in document.values()):
        return decoder.decode([document], where=where, labels=["payload"], arrival_time=arrival_time)
    try:
        records = records_of(document)
    except ValueError as err:
        return refused(str(err), type(document).__name__)
    return decoder.decode(records, where=where, labels=[f"payload[{i}]" for i in range(len(records))],
                          arrival_time=arrival_time)
