"""Polled sensor feeds: water-level, river-stage and rain-gauge readings fetched over HTTP.

The polled kinds of :data:`warn.sources.feeds.FEEDS`, registered here and built by
:func:`~warn.sources.feeds.build_feed` from a :class:`~warn.config.SensorFeedSpec`:

``sensorthings``
    :class:`SensorThingsFeed`, an OGC SensorThings API v1.1 client.
``json``
    :class:`DocumentFeed` reading one JSON document over HTTP (:func:`parse_json`) whose
    records are a top-level list, or the list under the first list-valued key of a top-level
    object (``{"count": 3, "data": [...]}`` → ``data``). Fields by the :class:`~warn.config.FieldMap`.
``csv``
    :class:`DocumentFeed` reading one CSV document over HTTP (:func:`parse_csv`) with a header
    row (UTF-8, with or without BOM; GB18030 when it is not UTF-8). Fields by the FieldMap.

Each poll returns a :class:`~warn.sources.payloads.Batch`, its records normalised by
:mod:`warn.sources.payloads`; a bad record never stops the rest of its batch. A feed that
cannot be reached or whose document cannot be read at all raises
:class:`~warn.errors.SourceError` (the caller degrades that feed only).

Polled feeds resume from the caller's last stored phenomenon time (``since``, one time or
one per sensor id) minus ``lookback``, so a reading that arrives late, after newer ones,
is still fetched; the repeats are harmless because the store upserts on
(sensor_id, phenomenon_time). HTTP uses httpx within the feed's network policy (deadlines,
a body cap per document or page, redirects off or same origin: :mod:`warn.netpolicy`), retries
with exponential backoff on connection errors, timeouts and 5xx, and an injectable transport,
as :mod:`warn.sources.forecast` does. A SensorThings ``@iot.nextLink`` or navigation link is
followed only within the service's own origin.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from warn.config import SensorFeedSpec
from warn.errors import Problem, SourceError
from warn.netpolicy import Reply, origin
from warn.sources.feeds import FEEDS, FeedOptions
from warn.sources.http import HttpGetter, policy_of
from warn.sources.payloads import (
    DEFAULT_LOOKBACK,
    BadField,
    Batch,
    FieldDecoder,
    Since,
    canonical_unit,
    cutoff,
    normalise,
    parse_time,
    parse_value,
    records_of,
    utc_now,
)
from warn.sources.readings import Reading, Sensor
from warn.vocab import SensorKind

#: How far back a SensorThings feed reaches when there is no stored reading yet.
DEFAULT_BACKFILL = timedelta(days=1)


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
    """An OGC SensorThings API v1.1 service, polled incrementally with one collection query.

    Each poll lists the Datastreams (following ``@iot.nextLink``), then gives each its start:
    ``since − lookback``, or ``now − backfill`` without a ``since``. The Datastreams whose start
    is at most ``lookback`` before the newest start (no later than ``now − lookback``) share one
    query, ``Observations?$filter=phenomenonTime gt <earliest of their starts>&$orderby=
    phenomenonTime asc&$top=<page_size>&$expand=Datastream($select=id)`` (as FROST-Server and
    other servers are polled in the field; the expanded Datastream carries only its
    ``@iot.id``), followed by ``@iot.nextLink`` to the last page. Each Observation belongs to
    the listed Datastream its expanded ``@iot.id`` names and is kept only when it is after that
    Datastream's own start. A Datastream silent for longer (a sensor that stopped, one never
    read before among current ones) keeps its own ``Datastreams(id)/Observations`` query from
    its own start, so its gap never widens the shared one. Either way a poll returns what one
    query per Datastream would. A ``phenomenonTime`` interval ``a/b`` counts as its end ``b``.
    An Observation with a ``null`` result is a missing reading (``value=None``).

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

    def close(self) -> None:
        """Close the feed's HTTP client (:meth:`warn.sources.http.HttpGetter.close`)."""
        self.http.close()

    def discover(self) -> tuple[list[Datastream], list[Problem]]:
        """The service's Datastreams as sensors, and a problem for each that cannot be used.

        Raises
        ------
        SourceError
            The service cannot be reached or its Datastreams list cannot be read.
        """
        streams, problems, _ = self._listing(self.http.client())
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
            Readings Datastream by Datastream (in the listed order), each in phenomenon-time
            order; rejected Observations (one not of a listed Datastream among them) and the
            Datastreams whose Observations could not be read, with reasons.

        Raises
        ------
        SourceError
            The service cannot be reached (the Datastreams list fails).
        """
        client = self.http.client()
        streams, problems, listed = self._listing(client)
        batch = Batch(self.name, rejected=problems)
        oldest = _to_ms(self.now() - self.backfill)
        starts = [_to_ms(cutoff(since, s.sensor_id, self.lookback) or oldest) for s in streams]
        shared = self._sharing(streams, starts)
        found = self._shared(client, shared, listed, batch) if shared else {}
        for stream, start in zip(streams, starts):
            if stream.iot_id in shared and shared[stream.iot_id][0] is stream:
                observations = found.get(stream.iot_id)
            else:
                observations = self._own(client, stream, start, batch)
            if observations is not None:
                self._keep(stream, start, observations, batch)
        return batch

    def _listing(self, client: httpx.Client) -> tuple[list[Datastream], list[Problem], set[object]]:
        """The usable Datastreams, a problem for each other one, and the ``@iot.id`` of every one listed."""
        entities = self._pages(client, f"{self.url}/Datastreams", {"$top": self.page_size})
        streams, problems, listed = [], [], set()
        for entity in entities:
            ident = entity.get("@iot.id") if isinstance(entity, Mapping) else None
            if isinstance(ident, int | str) and not isinstance(ident, bool):
                listed.add(ident)
            try:
                streams.append(self._datastream(entity))
            except BadField as err:
                problems.append(Problem(self.where, f"Datastreams({ident}).{err.field}", err.expected, err.got))
        return streams, problems, listed

    def _sharing(self, streams: list[Datastream], starts: list[datetime]) -> dict[object, tuple[Datastream, datetime]]:
        """The Datastreams that share the collection query, by ``@iot.id``, with their starts.

        Those whose start is at most ``lookback`` before the newest start (taken no later than
        ``now − lookback``, so one sensor's clock running ahead cannot push the others out): the
        shared query then reads about ``lookback`` more of each than its own query would, and a
        silent sensor (a longer gap) reads alone.
        """
        if not streams:
            return {}
        newest = min(max(starts), _to_ms(self.now() - self.lookback))
        return {s.iot_id: (s, start) for s, start in zip(streams, starts) if start >= newest - self.lookback}

    def _shared(self, client: httpx.Client, shared: Mapping[object, tuple[Datastream, datetime]],
                listed: set[object], batch: Batch) -> dict[object, list[Any]]:
        """The Observations of the ``shared`` Datastreams (by ``@iot.id``) from one collection query.

        Starts at the earliest of their starts; an Observation of a listed Datastream outside
        ``shared`` (it has its own query) is left to that query; one of no listed Datastream is
        rejected into ``batch``, as is, per Datastream, a query that fails.
        """
        start = min(start for _, start in shared.values())
        params = {"$filter": f"phenomenonTime gt {_iso(start)}", "$orderby": "phenomenonTime asc",
                  "$top": self.page_size, "$expand": "Datastream($select=id)"}
        try:
            observations = self._pages(client, f"{self.url}/Observations", params)
        except SourceError as err:
            for stream, _ in shared.values():
                self._unread(stream, err, batch)
            return {}
        found: dict[object, list[Any]] = {ident: [] for ident in shared}
        for observation in observations:
            owner = observation.get("Datastream") if isinstance(observation, Mapping) else None
            ident = owner.get("@iot.id") if isinstance(owner, Mapping) else None
            if isinstance(ident, int | str) and not isinstance(ident, bool) and ident in listed:
                if ident in found:
                    found[ident].append(observation)
                continue
            label = observation.get("@iot.id") if isinstance(observation, Mapping) else None
            batch.rejected.append(Problem(
                self.where, f"Observations({label}).Datastream",
                "an expanded Datastream whose @iot.id is one of the Datastreams listed",
                repr(owner)[:200] if ident is None else f"@iot.id {ident!r}, not among the Datastreams listed"))
        return found

    def _own(self, client: httpx.Client, stream: Datastream, start: datetime, batch: Batch) -> list[Any] | None:
        """The Observations of one Datastream after ``start``; ``None`` (rejected into ``batch``) if unreadable."""
        params = {"$filter": f"phenomenonTime gt {_iso(start)}", "$orderby": "phenomenonTime asc",
                  "$top": self.page_size}
        try:
            return self._pages(client, stream.observations_url, params)
        except SourceError as err:
            self._unread(stream, err, batch)
            return None

    def _unread(self, stream: Datastream, err: SourceError, batch: Batch) -> None:
        """Reject ``stream``'s Observations, which could not be read (``err``), into ``batch``."""
        batch.rejected.extend(Problem(self.where, f"Datastreams({stream.iot_id})/Observations", p.expected,
                                      f"{p.got} from {p.where}", f"sensor {stream.sensor_id}")
                              for p in err.problems)

    def _keep(self, stream: Datastream, start: datetime, observations: list[Any], batch: Batch) -> None:
        """Add ``stream``'s Observations after ``start`` to ``batch``; reject the bad ones."""
        arrival = self.now()
        for observation in observations:
            try:
                reading = self._reading(stream, observation, arrival, start)
            except BadField as err:
                ident = observation.get("@iot.id") if isinstance(observation, Mapping) else None
                batch.rejected.append(Problem(
                    self.where, f"Datastreams({stream.iot_id})/Observations({ident}).{err.field}",
                    err.expected, err.got, f"sensor {stream.sensor_id}"))
                continue
            if reading is not None:
                batch.readings.append(reading)

    def _pages(self, client: httpx.Client, url: str, params: Mapping[str, str | int]) -> list[Any]:
        entities: list[Any] = []
        seen: set[str] = set()
        link: str | None = url
        query: Mapping[str, str | int] | None = params
        while link is not None:
            if not isinstance(link, str) or origin(httpx.URL(link)) != origin(httpx.URL(self.url)):
                raise SourceError(Problem(url, "@iot.nextLink", f"a link within the service's origin {self.url}",
                                          repr(link)[:200], "a page elsewhere is never fetched"))
            if link in seen:
                raise SourceError(Problem(url, "@iot.nextLink", "a link to a page not yet read", link))
            page = self.http.get_json(client, link, query)
            if not isinstance(page, Mapping) or not isinstance(page.get("value"), list):
                raise SourceError(Problem(link, "value", "a SensorThings collection {\"value\": [...]}",
                                          type(page).__name__))
            entities.extend(page["value"])
            seen.add(link)
            link, query = page.get("@iot.nextLink"), None
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

    def _reading(self, stream: Datastream, observation: object, arrival: datetime, after: datetime) -> Reading | None:
        """``observation`` as a reading of ``stream``; ``None`` when its time is not after ``after``."""
        if not isinstance(observation, Mapping):
            raise BadField("", "an Observation object", type(observation).__name__)
        when = observation.get("phenomenonTime")
        if isinstance(when, str) and "/" in when:
            when = when.split("/", 1)[1]
        moment = parse_time(when, self.tz, field="phenomenonTime")
        if moment <= after:
            return None
        return normalise(stream.sensor_id, moment, parse_value(observation.get("result"), field="result"),
                         stream.unit, arrival_time=arrival, kind=stream.kind)


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _to_ms(moment: datetime) -> datetime:
    """``moment`` cut to the millisecond, as :func:`_iso` writes it into a ``$filter``."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


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
                 parse: Callable[[Reply], tuple[list[Any], list[str]]], *,
                 now: Callable[[], datetime] = utc_now, lookback: timedelta = DEFAULT_LOOKBACK,
                 http: HttpGetter | None = None) -> None:
        self.name, self.url, self.decoder, self.parse = name, url, decoder, parse
        self.now, self.lookback = now, lookback
        self.http = http or HttpGetter()

    @property
    def where(self) -> str:
        """The feed as messages name it."""
        return f"sensor feed {self.name!r} ({self.url})"

    def close(self) -> None:
        """Close the feed's HTTP client (:meth:`warn.sources.http.HttpGetter.close`)."""
        self.http.close()

    def poll(self, since: Since = None) -> Batch:
        """The document's readings after ``since − lookback`` (all of them when ``since`` is ``None``).

        Raises
        ------
        SourceError
            The document cannot be fetched or is not a list of records.
        """
        client = self.http.client()
        response = self.http.get(client, self.url)
        arrival = self.now()
        try:
            records, labels = self.parse(response)
        except ValueError as err:
            raise SourceError(Problem(self.where, "", str(err))) from None
        return self.decoder.decode(records, where=self.where, labels=labels, arrival_time=arrival,
                                   since=since, lookback=self.lookback)


def parse_json(response: Reply) -> tuple[list[Any], list[str]]:
    """Records of a JSON response (:func:`records_of`), labelled ``[i]``."""
    try:
        document = json.loads(response.content)
    except ValueError as err:
        raise ValueError(f"a JSON document (not parseable: {err})") from None
    records = records_of(document)
    return records, [f"[{i}]" for i in range(len(records))]


def parse_csv(response: Reply) -> tuple[list[Any], list[str]]:
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


def _http(spec: SensorFeedSpec, options: FeedOptions) -> HttpGetter:
    return HttpGetter(transport=options.transport, policy=policy_of(spec), attempts=spec.retries + 1,
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

