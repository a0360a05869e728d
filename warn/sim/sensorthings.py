"""A local OGC SensorThings API (v1.1) server for the demo, drills and tests.

:class:`SensorThingsServer` serves, read-only, from an in-memory store that the
caller fills at run time (:meth:`~SensorThingsServer.add_datastream`,
:meth:`~SensorThingsServer.add_observation`), over real HTTP on 127.0.0.1 (port 0 picks
a free one) in a background thread::

    with SensorThingsServer() as sta:
        sta.add_datastream("WL-DEMO-W01", unit="cm", kind="water_level")
        sta.add_observation("WL-DEMO-W01", datetime(2026, 7, 15, tzinfo=UTC), 12.0)
        url = sta.url  # http://127.0.0.1:41234/v1.1

Anything a field device does wrong can be staged: late readings (add an older time
after newer ones), duplicates (the same time and value twice), revisions (the same
time, a new value), spikes and frozen values (the values given), missing readings
(``result=None``), interval phenomenon times, and silence (add nothing more).

Resources: ``/v1.1`` (the index), ``Things``, ``Things(id)``, ``Things(id)/Datastreams``,
``Datastreams``, ``Datastreams(id)``, ``Datastreams(id)/Observations``, ``Observations``
(``$expand=Datastream``, or ``Datastream($select=id)`` for its ``@iot.id`` alone). Query options: ``$filter`` on ``phenomenonTime`` with ``gt``,
``ge``, ``lt``, ``le``, ``eq`` joined by ``and`` (an interval compares by its end),
``$orderby=phenomenonTime asc|desc`` (default: by id), ``$top`` (at most ``max_top``),
``$skip``, ``$count=true``; ``@iot.nextLink`` while more remain. Anything else is
answered ``400`` with a message, as a strict server would.
"""

from __future__ import annotations

import bisect
import json
import re
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from warn.sim.server import LocalServer

VERSION = "v1.1"
_FILTER = re.compile(r"^\s*phenomenonTime\s+(gt|ge|lt|le|eq)\s+'?([0-9T:.+\-Z ]+?)'?\s*$")
_PATH = re.compile(r"^/(?P<version>[^/]+)(?:/(?P<set>Things|Datastreams|Observations)(?:\((?P<id>\d+)\))?"
                   r"(?:/(?P<nav>Datastreams|Observations))?)?/?$")


@dataclass
class _Datastream:
    iot_id: int
    key: str
    name: str
    unit: str
    thing_id: int
    properties: dict[str, Any]


@dataclass
class _Observation:
    iot_id: int
    datastream_id: int
    start: datetime | None
    end: datetime
    result: float | None


class _Unsupported(ValueError):
    """A request the server does not understand (answered 400)."""


class SensorThingsServer(LocalServer):
    """Serve Things, Datastreams and Observations over HTTP on the loopback interface.

    Parameters
    ----------
    host
        Address to bind; 127.0.0.1 keeps it local.
    port
        Port to bind; 0 picks a free one.
    max_top
        Largest page served; also the page size when ``$top`` is absent.
    failures
        How many requests to answer ``503 Service Unavailable`` before serving.

    Attributes
    ----------
    requests
        ``(path with query, status)`` of every request answered, in order.
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, max_top: int = 100, failures: int = 0) -> None:
        self.max_top = max_top
        self.failures = failures
        self.requests: list[tuple[str, int]] = []
        self._lock = threading.Lock()
        self._things: dict[int, str] = {}
        self._datastreams: dict[int, _Datastream] = {}
        self._observations: list[_Observation] = []
        #: Each Datastream's Observations in phenomenon-time order (then by id), so a ``$filter`` on the time is
        #: answered by bisection: a poll costs what is new, not everything the stream ever reported.
        self._timelines: dict[int, list[_Observation]] = {}
        #: Every Observation in the same order, so the collection ``Observations?$filter=…`` is answered alike.
        self._timeline: list[_Observation] = []
        super().__init__(_handler_for(self), host=host, port=port)

    @property
    def url(self) -> str:
        """The service base URL, ``http://127.0.0.1:<port>/v1.1``."""
        return f"{self.root}/{VERSION}"

    def add_datastream(self, key: str, *, unit: str = "m", kind: str | None = None, thing: str | None = None,
                       name: str | None = None, sensor_id: bool = True) -> int:
        """Add a Datastream (and its Thing, by name, if new); returns its ``@iot.id``.

        Parameters
        ----------
        key
            How :meth:`add_observation` refers to it; the sensor id.
        unit
            ``unitOfMeasurement.symbol`` (``m``, ``cm``, ``mm``, or anything, to stage a bad one).
        kind
            ``properties.kind`` (``water_level``, ``river_stage``, ``rain_gauge``), if any.
        thing
            Name of its Thing; defaults to ``key``.
        name
            The Datastream's ``name``; defaults to ``key``.
        sensor_id
            Whether ``properties.sensor_id`` carries ``key`` (False: only the name identifies it).
        """
        with self._lock:
            if any(d.key == key for d in self._datastreams.values()):
                raise ValueError(f"datastream {key!r} already exists")
            thing_name = thing or key
            thing_id = next((i for i, n in self._things.items() if n == thing_name), len(self._things) + 1)
            self._things[thing_id] = thing_name
            iot_id = len(self._datastreams) + 1
            properties: dict[str, Any] = {}
            if sensor_id:
                properties["sensor_id"] = key
            if kind is not None:
                properties["kind"] = kind
            self._datastreams[iot_id] = _Datastream(iot_id, key, name or key, unit, thing_id, properties)
            return iot_id

    def has_datastream(self, key: str) -> bool:
        """Whether a Datastream ``key`` exists."""
        with self._lock:
            return any(d.key == key for d in self._datastreams.values())

    def add_observation(self, key: str, phenomenon_time: datetime, result: float | None, *,
                        start: datetime | None = None) -> int:
        """Add one Observation to the Datastream ``key``; returns its ``@iot.id``.

        Parameters
        ----------
        phenomenon_time
            Aware time the value holds (the interval's end when ``start`` is given).
        result
            The value in the Datastream's unit; ``None`` serves ``"result": null``.
        start
            Start of an interval phenomenon time (served as ``start/end``).
        """
        if phenomenon_time.tzinfo is None or (start is not None and start.tzinfo is None):
            raise ValueError("phenomenon times must be timezone-aware")
        with self._lock:
            stream = next((d for d in self._datastreams.values() if d.key == key), None)
            if stream is None:
                raise KeyError(f"no datastream {key!r}; add_datastream first")
            iot_id = len(self._observations) + 1
            observation = _Observation(iot_id, stream.iot_id, start, phenomenon_time, result)
            self._observations.append(observation)
            bisect.insort_right(self._timelines.setdefault(stream.iot_id, []), observation, key=_in_time)
            bisect.insort_right(self._timeline, observation, key=_in_time)
            return iot_id

    def add_series(self, key: str, times: list[datetime], values: list[float | None]) -> None:
        """Add one Observation per (time, value) to the Datastream ``key``."""
        for moment, value in zip(times, values, strict=True):
            self.add_observation(key, moment, value)

    def answer(self, target: str) -> tuple[HTTPStatus, dict[str, Any]]:
        """The status and JSON body for a GET of ``target`` (path and query)."""
        with self._lock:
            if self.failures > 0:
                self.failures -= 1
                return HTTPStatus.SERVICE_UNAVAILABLE, {"code": 503, "message": "staged failure"}
            try:
                return self._answer(target)
            except _Unsupported as err:
                return HTTPStatus.BAD_REQUEST, {"code": 400, "message": str(err)}
            except LookupError as err:
                return HTTPStatus.NOT_FOUND, {"code": 404, "message": str(err)}

    def _answer(self, target: str) -> tuple[HTTPStatus, dict[str, Any]]:
        parts = urlsplit(target)
        match = _PATH.match(parts.path)
        if match is None or match["version"] != VERSION:
            raise LookupError(f"no resource {parts.path}")
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        unknown = set(query) - {"$filter", "$orderby", "$top", "$skip", "$count", "$expand"}
        if unknown:
            raise _Unsupported(f"unsupported query options {sorted(unknown)}")
        entity_set, ident, nav = match["set"], match["id"], match["nav"]
        if entity_set is None:
            return HTTPStatus.OK, {"value": [{"name": n, "url": f"{self.url}/{n}"}
                                             for n in ("Things", "Datastreams", "Observations")]}
        if ident is not None and nav is None:
            return HTTPStatus.OK, self._entity(entity_set, int(ident), query.get("$expand"))
        if ident is not None:
            rows = self._navigate(entity_set, int(ident), nav)
            entity_set = nav
        else:
            rows = self._all(entity_set)
        return HTTPStatus.OK, self._collection(entity_set, rows, query, parts.path)

    def _all(self, entity_set: str) -> list[Any]:
        if entity_set == "Things":
            return sorted(self._things)
        if entity_set == "Datastreams":
            return list(self._datastreams.values())
        return self._timeline

    def _navigate(self, entity_set: str, ident: int, nav: str) -> list[Any]:
        if entity_set == "Things" and nav == "Datastreams":
            self._thing(ident)
            return [d for d in self._datastreams.values() if d.thing_id == ident]
        if entity_set == "Datastreams" and nav == "Observations":
            self._datastream(ident)
            return self._timelines.get(ident, [])
        raise LookupError(f"no navigation {entity_set}({ident})/{nav}")

    def _thing(self, ident: int) -> str:
        if ident not in self._things:
            raise LookupError(f"no Things({ident})")
        return self._things[ident]

    def _datastream(self, ident: int) -> _Datastream:
        if ident not in self._datastreams:
            raise LookupError(f"no Datastreams({ident})")
        return self._datastreams[ident]

    def _entity(self, entity_set: str, ident: int, expand: str | None) -> dict[str, Any]:
        if entity_set == "Things":
            return self._thing_json(ident)
        if entity_set == "Datastreams":
            return self._datastream_json(self._datastream(ident), expand)
        if not 1 <= ident <= len(self._observations):
            raise LookupError(f"no Observations({ident})")
        return self._observation_json(self._observations[ident - 1], expand)

    def _collection(self, entity_set: str, rows: list[Any], query: dict[str, str], path: str) -> dict[str, Any]:
        expand = query.get("$expand")
        if entity_set == "Observations":
            rows = _filter(rows, query.get("$filter"))
            rows = _order(rows, query.get("$orderby"))
        elif "$filter" in query or "$orderby" in query:
            raise _Unsupported(f"$filter and $orderby are supported on Observations only, not {entity_set}")
        top = _int(query, "$top", self.max_top)
        skip = _int(query, "$skip", 0)
        top = min(top, self.max_top)
        page = rows[skip:skip + top]
        body: dict[str, Any] = {}
        if query.get("$count") == "true":
            body["@iot.count"] = len(rows)
        if entity_set == "Things":
            body["value"] = [self._thing_json(i) for i in page]
        elif entity_set == "Datastreams":
            body["value"] = [self._datastream_json(d, expand) for d in page]
        else:
            body["value"] = [self._observation_json(o, expand) for o in page]
        if skip + top < len(rows):
            body["@iot.nextLink"] = f"{self.root}{path}?{urlencode({**query, '$top': top, '$skip': skip + top})}"
        return body

    def _thing_json(self, ident: int) -> dict[str, Any]:
        return {"@iot.id": ident, "@iot.selfLink": f"{self.url}/Things({ident})", "name": self._thing(ident),
                "description": "demo station 演示站点", "properties": {},
                "Datastreams@iot.navigationLink": f"{self.url}/Things({ident})/Datastreams"}

    def _datastream_json(self, stream: _Datastream, expand: str | None) -> dict[str, Any]:
        body = {"@iot.id": stream.iot_id, "@iot.selfLink": f"{self.url}/Datastreams({stream.iot_id})",
                "name": stream.name, "description": f"{stream.name} 读数",
                "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
                "unitOfMeasurement": {"name": stream.unit, "symbol": stream.unit,
                                      "definition": f"http://unitsofmeasure.org/ucum.html#{stream.unit}"},
                "properties": dict(stream.properties),
                "Thing@iot.navigationLink": f"{self.url}/Datastreams({stream.iot_id})/Thing",
                "Observations@iot.navigationLink": f"{self.url}/Datastreams({stream.iot_id})/Observations"}
        if expand == "Thing":
            body["Thing"] = self._thing_json(stream.thing_id)
        elif expand is not None:
            raise _Unsupported(f"$expand={expand} on Datastreams; only Thing")
        return body

    def _observation_json(self, observation: _Observation, expand: str | None) -> dict[str, Any]:
        end = _iso(observation.end)
        phenomenon = end if observation.start is None else f"{_iso(observation.start)}/{end}"
        body = {"@iot.id": observation.iot_id, "@iot.selfLink": f"{self.url}/Observations({observation.iot_id})",
                "phenomenonTime": phenomenon, "resultTime": end, "result": observation.result,
                "Datastream@iot.navigationLink": f"{self.url}/Observations({observation.iot_id})/Datastream"}
        if expand == "Datastream":
            body["Datastream"] = self._datastream_json(self._datastream(observation.datastream_id), None)
        elif expand == "Datastream($select=id)":
            body["Datastream"] = {"@iot.id": observation.datastream_id}
        elif expand is not None:
            raise _Unsupported(f"$expand={expand} on Observations; only Datastream or Datastream($select=id)")
        return body


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _int(query: dict[str, str], key: str, default: int) -> int:
    if key not in query:
        return default
    try:
        value = int(query[key])
    except ValueError:
        raise _Unsupported(f"{key} must be a whole number, got {query[key]!r}") from None
    if value < 0:
        raise _Unsupported(f"{key} must not be negative, got {value}")
    return value


def _in_time(observation: _Observation) -> tuple[datetime, int]:
    """The order of a timeline: phenomenon time (an interval's end), then id."""
    return observation.end, observation.iot_id


def _filter(rows: list[_Observation], expression: str | None) -> list[_Observation]:
    """The rows (in :func:`_in_time` order) whose phenomenon time passes every clause, found by bisection."""
    if expression is None:
        return rows
    low, high = 0, len(rows)
    for clause in re.split(r"\s+and\s+", expression.strip()):
        match = _FILTER.match(clause)
        if match is None:
            raise _Unsupported(f"$filter clause {clause!r}: only phenomenonTime gt|ge|lt|le|eq <ISO time>")
        try:
            bound = datetime.fromisoformat(match[2].strip())
        except ValueError:
            raise _Unsupported(f"$filter time {match[2]!r} is not ISO 8601") from None
        if bound.tzinfo is None:
            raise _Unsupported(f"$filter time {match[2]!r} has no offset")
        first = bisect.bisect_left(rows, bound, key=_end)  # the first at or after the bound
        after = bisect.bisect_right(rows, bound, key=_end)  # the first after it
        low, high = {"gt": (max(low, after), high), "ge": (max(low, first), high), "lt": (low, min(high, first)),
                     "le": (low, min(high, after)), "eq": (max(low, first), min(high, after))}[match[1]]
    return rows[low:high] if low < high else []


def _end(observation: _Observation) -> datetime:
    return observation.end


def _order(rows: list[_Observation], orderby: str | None) -> list[_Observation]:
    """Rows in :func:`_in_time` order ordered as ``$orderby`` asks (by id without it)."""
    if orderby is None:
        return sorted(rows, key=lambda o: o.iot_id)
    match = re.fullmatch(r"\s*phenomenonTime(?:\s+(asc|desc))?\s*", orderby)
    if match is None:
        raise _Unsupported(f"$orderby {orderby!r}: only phenomenonTime asc|desc")
    return rows[::-1] if match[1] == "desc" else rows


def _handler_for(server: SensorThingsServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "warn-sensorthings"
        protocol_version = "HTTP/1.1"  # keep-alive: a client's connection serves its next requests
        disable_nagle_algorithm = True  # headers and body go out at once, not held for the client's delayed ACK

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            status, body = server.answer(self.path)
            content = json.dumps(body, ensure_ascii=False).encode()
            with server._lock:  # recorded before the answer goes out: a client that has it sees it counted
                server.requests.append((self.path, int(status)))
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (http.server's signature)
            """Silence the default stderr log; :attr:`SensorThingsServer.requests` keeps the record."""

    return Handler
