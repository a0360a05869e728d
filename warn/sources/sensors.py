"""Sensor feeds: water-level, river-stage and rain-gauge readings from devices and platforms.

Every feed hands over a :class:`Batch`: the :class:`~warn.sources.readings.Reading` s it
could normalise and, for every record it could not, a :class:`~warn.errors.Problem`
naming the feed and URL, the record (index, row, or SensorThings id) and field, and what
was expected. A bad record never stops the rest of its batch. A feed that cannot be
reached or whose document cannot be read at all raises :class:`~warn.errors.SourceError`
(the caller degrades that feed only).

Normalisation (:func:`normalise`):

- value: a number or numeric text; ``null``, empty text and NaN mean "missing"
  (``value=None``); converted to the sensor kind's unit (:data:`~warn.sources.readings.UNITS`):
  metres for water level and river stage (``cm`` ÷ 100, ``mm`` ÷ 1000), mm for rain.
  The kind comes from the catalogue when one is given; otherwise a value in ``mm`` is
  taken as rain and ``m``/``cm`` as a level. Units ``m``, ``cm``, ``mm`` (and 米, 厘米, 毫米).
- time: ISO 8601 text (``2026-07-15T08:00:00+08:00``, ``…Z`` or ``2026-07-15 08:00:00``);
  a time without an offset is in the feed's ``timezone``; returned as aware UTC.
- ``arrival_time``: when the batch was received, from the injectable clock ``now``.

Feed kinds (:data:`FEEDS`, built by :func:`build_feed` from a
:class:`~warn.config.SensorFeedSpec`):

``sensorthings``
    :class:`SensorThingsFeed`, an OGC SensorThings API v1.1 client (polled).
``json``
    :class:`JsonFeed`: one JSON document over HTTP whose records are a top-level list,
    or the list under the first list-valued key of a top-level object
    (``{"count": 3, "data": [...]}`` → ``data``). Fields by the :class:`~warn.config.FieldMap`.
``csv``
    :class:`CsvFeed`: one CSV document over HTTP with a header row (UTF-8, with or
    without BOM; GB18030 when it is not UTF-8). Fields by the FieldMap.
``mqtt``
    :class:`warn.sources.mqtt.MqttFeed` (pushed; needs a handler).

Polled feeds resume from the caller's last stored phenomenon time (``since``, one time or
one per sensor id) minus ``lookback``, so a reading that arrives late, after newer ones,
is still fetched; the repeats are harmless because the store upserts on
(sensor_id, phenomenon_time). HTTP uses httpx with timeouts, retries with exponential
backoff on connection errors, timeouts and 5xx, and an injectable transport, as
:mod:`warn.sources.forecast` does.
"""

from __future__ import annotations

import csv
import io
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

import httpx

from warn.config import FieldMap, SensorFeedSpec
from warn.errors import ConfigError, Problem, SourceError
from warn.registry import Registry
from warn.sources.http import HttpGetter
from warn.sources.readings import UNITS, Reading, Sensor
from warn.vocab import SensorKind

if TYPE_CHECKING:
    from warn.sources.mqtt import MqttFeed

#: Length units a feed may report, as millimetres per unit (whole numbers, so that 35 cm
#: becomes exactly the float nearest 0.35 m); Chinese names map to the same.
LENGTH_UNITS: dict[str, int] = {"m": 1000, "cm": 10, "mm": 1}
UNIT_ALIASES: dict[str, str] = {"米": "m", "厘米": "cm", "毫米": "mm"}

#: Overlap when resuming a poll, to catch readings that arrive after newer ones.
DEFAULT_LOOKBACK = timedelta(hours=2)
#: How far back a SensorThings feed reaches when there is no stored reading yet.
DEFAULT_BACKFILL = timedelta(days=1)

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
    """

    feed: str
    readings: list[Reading] = field(default_factory=list)
    rejected: list[Problem] = field(default_factory=list)


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


def _cutoff(since: Since, sensor_id: str, lookback: timedelta) -> datetime | None:
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
            cutoff = _cutoff(since, reading.sensor_id, lookback)
            if cutoff is None or reading.phenomenon_time > cutoff:
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


class PolledFeed(Protocol):
    """A feed the service polls: ``poll(since)`` returns what is new since then."""

    name: str

    def poll(self, since: Since = None) -> Batch:
        """Readings after ``since − lookback`` (all the document holds when ``since`` is ``None``)."""
        ...


@dataclass(frozen=True)
class Datastream:
    """A SensorThings Datastream as a sensor.

    Parameters
    ----------
    iot_id
        Its ``@iot.id``.
    sensor_id
        ``properties.sensor_id`` when present, else the Datastream's ``name``.
    unit
        ``unitOfMeasurement.symbol``, canonical (m, cm, mm).
    kind
        From the catalogue, else ``properties.kind`` when it is a :class:`SensorKind`, else ``None``.
    observations_url
        Its ``Observations@iot.navigationLink`` (or the URL built from the id).
    """

    iot_id: int | str
    sensor_id: str
    unit: str
    kind: SensorKind | None
    observations_url: str


class SensorThingsFeed:
    """An OGC SensorThings API v1.1 service, polled incrementally per Datastream.

    Each poll lists the Datastreams (following ``@iot.nextLink``), then, for each, asks
    for ``Observations?$filter=phenomenonTime gt <since − lookback>&$orderby=phenomenonTime
    asc&$top=<page_size>`` and follows ``@iot.nextLink`` to the last page. A
    ``phenomenonTime`` interval ``a/b`` counts as its end ``b``. An Observation with a
    ``null`` result is a missing reading (``value=None``).

    Parameters
    ----------
    name
        The feed's name.
    url
        Service base URL including the version (``http://host/FROST-Server/v1.1``).
    page_size
        ``$top``.
    timezone
        Zone of times written without an offset (SensorThings times normally carry one).
    catalogue
        Known sensors; when given, Datastreams of other sensors are rejected and the
        sensor's kind decides the unit.
    now
        Clock for ``arrival_time`` (aware UTC).
    lookback
        Overlap subtracted from ``since`` to catch late readings.
    backfill
        How far back from ``now()`` to start for a sensor with no ``since``.
    http
        The GET helper (transport, timeout, retries, backoff).
    """

    def __init__(self, name: str, url: str, *, page_size: int = 1000, timezone: str = "UTC",
                 catalogue: Mapping[str, Sensor] | None = None, now: Callable[[], datetime] = utc_now,
                 lookback: timedelta = DEFAULT_LOOKBACK, backfill: timedelta = DEFAULT_BACKFILL,
                 http: HttpGetter | None = None) -> None:
        self.name = name
        self.url = url.rstrip("/")
        self.page_size = page_size
        self.tz = ZoneInfo(timezone)
        self.catalogue = catalogue
        self.now = now
        self.lookback = lookback
        self.backfill = backfill
        self.http = http or HttpGetter()

    @property
    def where(self) -> str:
        """The feed as messages name it."""
        return f"sensor feed {self.name!r} ({self.url})"

    def discover(self) -> tuple[list[Datastream], list[Problem]]:
        """The service's Datastreams as sensors, and a problem for each that cannot be used.

        Raises
        ------
        SourceError
            The service cannot be reached or its Datastreams list cannot be read.
        """
        with self.http.client() as client:
            entities = self._pages(client, f"{self.url}/Datastreams", {"$top": self.page_size})
        streams, problems = [], []
        for entity in entities:
            try:
                streams.append(self._datastream(entity))
            except BadField as err:
                ident = entity.get("@iot.id") if isinstance(entity, Mapping) else None
                problems.append(Problem(self.where, f"Datastreams({ident}).{err.field}", err.expected, err.got))
        return streams, problems

    def poll(self, since: Since = None) -> Batch:
        """Observations with a phenomenon time after ``since − lookback``, per Datastream.

        Parameters
        ----------
        since
            The last stored phenomenon time (aware), for every sensor or per sensor id;
            a sensor without one starts ``backfill`` before ``now()``.

        Returns
        -------
        Batch
            Readings in phenomenon-time order per Datastream; rejected Observations and
            Datastreams whose Observations could not be read, with reasons.

        Raises
        ------
        SourceError
            The service cannot be reached (the Datastreams list fails).
        """
        streams, problems = self.discover()
        batch = Batch(self.name, rejected=problems)
        with self.http.client() as client:
            for stream in streams:
                start = _cutoff(since, stream.sensor_id, self.lookback) or self.now() - self.backfill
                params = {"$filter": f"phenomenonTime gt {_iso(start)}", "$orderby": "phenomenonTime asc",
                          "$top": self.page_size}
                try:
                    observations = self._pages(client, stream.observations_url, params)
                except SourceError as err:
                    batch.rejected.extend(Problem(self.where, f"Datastreams({stream.iot_id})/Observations",
                                                  p.expected, f"{p.got} from {p.where}", f"sensor {stream.sensor_id}")
                                          for p in err.problems)
                    continue
                arrival = self.now()
                for observation in observations:
                    try:
                        batch.readings.append(self._reading(stream, observation, arrival))
                    except BadField as err:
                        ident = observation.get("@iot.id") if isinstance(observation, Mapping) else None
                        batch.rejected.append(Problem(
                            self.where, f"Datastreams({stream.iot_id})/Observations({ident}).{err.field}",
                            err.expected, err.got, f"sensor {stream.sensor_id}"))
        return batch

    def _pages(self, client: httpx.Client, url: str, params: Mapping[str, str | int]) -> list[Any]:
        entities: list[Any] = []
        seen: set[str] = set()
        link: str | None = url
        query: Mapping[str, str | int] | None = params
        while link is not None:
            page = self.http.get_json(client, link, query)
            if not isinstance(page, Mapping) or not isinstance(page.get("value"), list):
                raise SourceError(Problem(link, "value", "a SensorThings collection {\"value\": [...]}",
                                          type(page).__name__))
            entities.extend(page["value"])
            seen.add(link)
            link, query = page.get("@iot.nextLink"), None
            if link is not None and link in seen:
                raise SourceError(Problem(url, "@iot.nextLink", "a link to a page not yet read", link))
        return entities

    def _datastream(self, entity: object) -> Datastream:
        if not isinstance(entity, Mapping):
            raise BadField("", "a Datastream object", type(entity).__name__)
        iot_id = entity.get("@iot.id")
        if not isinstance(iot_id, int | str) or isinstance(iot_id, bool):
            raise BadField("@iot.id", "a number or text id", repr(iot_id))
        properties = entity.get("properties") or {}
        sensor_id = properties.get("sensor_id") if isinstance(properties, Mapping) else None
        sensor_id = sensor_id or entity.get("name")
        if not isinstance(sensor_id, str) or not sensor_id.strip():
            raise BadField("name", "properties.sensor_id or a name", repr(sensor_id))
        sensor_id = sensor_id.strip()
        uom = entity.get("unitOfMeasurement")
        unit = canonical_unit(uom.get("symbol") if isinstance(uom, Mapping) else None,
                              field="unitOfMeasurement.symbol")
        if self.catalogue is not None:
            if sensor_id not in self.catalogue:
                raise BadField("properties.sensor_id", "a sensor id in the sensor catalogue", repr(sensor_id))
            kind: SensorKind | None = self.catalogue[sensor_id].kind
        else:
            raw_kind = properties.get("kind") if isinstance(properties, Mapping) else None
            kind = SensorKind(raw_kind) if raw_kind in SensorKind._value2member_map_ else None
        link = entity.get("Observations@iot.navigationLink")
        if not isinstance(link, str) or not link:
            link = f"{self.url}/Datastreams({iot_id if isinstance(iot_id, int) else repr(iot_id)})/Observations"
        return Datastream(iot_id, sensor_id, unit, kind, link)

    def _reading(self, stream: Datastream, observation: object, arrival: datetime) -> Reading:
        if not isinstance(observation, Mapping):
            raise BadField("", "an Observation object", type(observation).__name__)
        when = observation.get("phenomenonTime")
        if isinstance(when, str) and "/" in when:
            when = when.split("/", 1)[1]
        return normalise(stream.sensor_id, parse_time(when, self.tz, field="phenomenonTime"),
                         parse_value(observation.get("result"), field="result"), stream.unit,
                         arrival_time=arrival, kind=stream.kind)


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class DocumentFeed:
    """A JSON or CSV document over HTTP whose records are mapped by a :class:`~warn.config.FieldMap`.

    Parameters
    ----------
    name
        The feed's name.
    url
        The document's URL.
    decoder
        The field decoder (fields, unit, timezone, catalogue).
    parse
        Turns the response into ``(records, labels)``; raises ``ValueError`` if it cannot.
    now
        Clock for ``arrival_time`` (aware UTC).
    lookback
        Overlap subtracted from ``since``.
    http
        The GET helper (transport, timeout, retries, backoff).
    """

    def __init__(self, name: str, url: str, decoder: FieldDecoder,
                 parse: Callable[[httpx.Response], tuple[list[Any], list[str]]], *,
                 now: Callable[[], datetime] = utc_now, lookback: timedelta = DEFAULT_LOOKBACK,
                 http: HttpGetter | None = None) -> None:
        self.name, self.url, self.decoder, self.parse = name, url, decoder, parse
        self.now, self.lookback = now, lookback
        self.http = http or HttpGetter()

    @property
    def where(self) -> str:
        """The feed as messages name it."""
        return f"sensor feed {self.name!r} ({self.url})"

    def poll(self, since: Since = None) -> Batch:
        """The document's readings after ``since − lookback`` (all of them when ``since`` is ``None``).

        Raises
        ------
        SourceError
            The document cannot be fetched or is not a list of records.
        """
        with self.http.client() as client:
            response = self.http.get(client, self.url)
        arrival = self.now()
        try:
            records, labels = self.parse(response)
        except ValueError as err:
            raise SourceError(Problem(self.where, "", str(err))) from None
        return self.decoder.decode(records, where=self.where, labels=labels, arrival_time=arrival,
                                   since=since, lookback=self.lookback)


def parse_json(response: httpx.Response) -> tuple[list[Any], list[str]]:
    """Records of a JSON response (:func:`records_of`), labelled ``[i]``."""
    try:
        document = json.loads(response.content)
    except ValueError as err:
        raise ValueError(f"a JSON document (not parseable: {err})") from None
    records = records_of(document)
    return records, [f"[{i}]" for i in range(len(records))]


def parse_csv(response: httpx.Response) -> tuple[list[Any], list[str]]:
    """Rows of a CSV response with a header, labelled ``line <n>`` (the header is line 1)."""
    content = response.content
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = content.decode("gb18030", errors="replace")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not reader.fieldnames:
        raise ValueError("a CSV document with a header row")
    rows, labels = [], []
    for row in reader:
        rows.append(row)
        labels.append(f"line {reader.line_num}")
    return rows, labels


@dataclass(frozen=True)
class FeedOptions:
    """What a feed needs beyond its settings.

    Parameters
    ----------
    now
        Clock for ``arrival_time`` (aware UTC).
    catalogue
        Known sensors by id (``None`` accepts any id and infers the kind from the unit).
    transport
        httpx transport for HTTP feeds.
    sleep
        How to wait between HTTP attempts.
    handler
        For MQTT feeds: called with each message's :class:`Batch`; the message is
        acknowledged only after it returns.
    """

    now: Callable[[], datetime] = utc_now
    catalogue: Mapping[str, Sensor] | None = None
    transport: httpx.BaseTransport | None = None
    sleep: Callable[[float], None] = time.sleep
    handler: Callable[[Batch], None] | None = None


FeedFactory = Callable[[str, SensorFeedSpec, FeedOptions], "PolledFeed | MqttFeed"]

#: Sensor feed kinds, by the ``kind`` of a :class:`~warn.config.SensorFeedSpec`.
FEEDS: Registry[FeedFactory] = Registry("sensor feed kind")


def _http(spec: SensorFeedSpec, options: FeedOptions) -> HttpGetter:
    return HttpGetter(transport=options.transport, timeout=spec.timeout_s, attempts=spec.retries + 1,
                      sleep=options.sleep)


@FEEDS.register("sensorthings")
def _sensorthings(name: str, spec: SensorFeedSpec, options: FeedOptions) -> SensorThingsFeed:
    return SensorThingsFeed(name, spec.url or "", page_size=spec.page_size, timezone=spec.timezone,
                            catalogue=options.catalogue, now=options.now, lookback=spec.lookback,
                            backfill=spec.backfill, http=_http(spec, options))


@FEEDS.register("json")
def _json(name: str, spec: SensorFeedSpec, options: FeedOptions) -> DocumentFeed:
    return DocumentFeed(name, spec.url or "", FieldDecoder(name, spec, catalogue=options.catalogue), parse_json,
                        now=options.now, lookback=spec.lookback, http=_http(spec, options))


@FEEDS.register("csv")
def _csv(name: str, spec: SensorFeedSpec, options: FeedOptions) -> DocumentFeed:
    return DocumentFeed(name, spec.url or "", FieldDecoder(name, spec, catalogue=options.catalogue), parse_csv,
                        now=options.now, lookback=spec.lookback, http=_http(spec, options))


@FEEDS.register("mqtt")
def _mqtt(name: str, spec: SensorFeedSpec, options: FeedOptions) -> MqttFeed:
    from warn.sources.mqtt import MqttFeed  # paho is imported only by deployments that push

    if options.handler is None:
        raise ValueError(f"sensor feed {name!r} is MQTT: FeedOptions.handler must be given")
    return MqttFeed(name, spec, options.handler, catalogue=options.catalogue, now=options.now)


def build_feed(name: str, spec: SensorFeedSpec, options: FeedOptions | None = None) -> PolledFeed | MqttFeed:
    """The feed for ``sensors.feeds.<name>``: a :class:`PolledFeed` or a :class:`~warn.sources.mqtt.MqttFeed`.

    Raises
    ------
    UnknownNameError
        ``spec.kind`` is not in :data:`FEEDS`.
    ConfigError
        The settings do not fit the kind (e.g. no unit for a field-mapped feed).
    """
    factory = FEEDS.get(spec.kind, where=f"sensors.feeds.{name}", key="kind")
    return factory(name, spec, options or FeedOptions())


def decode_payload(decoder: FieldDecoder, payload: bytes, *, where: str, arrival_time: datetime) -> Batch:
    """One pushed JSON payload (an object, a list, or an object with a list) as a :class:`Batch`.

    A payload that is not JSON becomes one rejected problem, never an exception.
    """
    try:
        document = json.loads(payload)
    except ValueError as err:
        return Batch(decoder.name, rejected=[Problem(where, "payload", "a JSON object or list of objects",
                                                     f"{payload[:80]!r} ({err})")])
    if isinstance(document, Mapping) and not any(isinstance(v, list) for v in document.values()):
        return decoder.decode([document], where=where, labels=["payload"], arrival_time=arrival_time)
    try:
        records = records_of(document)
    except ValueError as err:
        return Batch(decoder.name, rejected=[Problem(where, "payload", str(err), type(document).__name__)])
    return decoder.decode(records, where=where, labels=[f"payload[{i}]" for i in range(len(records))],
                          arrival_time=arrival_time)
