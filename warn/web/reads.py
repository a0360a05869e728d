"""What the read routes share: the moment they look at, the store's views, the viewer's reach, refusals as JSON.

Every read route answers as of one moment (:func:`moment`): ``?at=`` (ISO 8601 with a zone) when the request
names one, else the moment ``warn serve --at`` fixed (``app.state.fixed_at``), else the service's clock. It
reads through :class:`warn.store.views.Views` (a read-only connection of its own, opened per request: about a
millisecond on SQLite) and shows a viewer only what lies in their towns (:class:`Reach`): an item's town from
the layers (:class:`warn.web.places.Places`), a task's or a call's from its org unit through the org tree; an
item of no town (the district, a forecast source) only to district viewers.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from warn.command.model import OrgUnit
from warn.command.org import OrgTree
from warn.store.views import (
    CallRecord,
    CallView,
    EntryView,
    FeedView,
    IncidentView,
    SensorView,
    StatusView,
    TaskView,
    Views,
    WarningView,
    ZoneView,
    stale_factor,
)
from warn import hazards
from warn.errors import WarnError
from warn.vocab import LEVEL_OF, Level, OrgLevel
from warn.desk import Desk, Refused
from warn.web.places import Places
from warn.web.viewer import Viewer, town_of, viewer

log = logging.getLogger(__name__)

#: The prefix of a sensor's feed (``sensor:<id>``).
SENSOR = "sensor:"
#: The years a moment asked for may lie in (a day either side stays a valid time).
YEARS = (1900, 2999)
#: A row of a view of items: a warning or a zone's level.
_Item = TypeVar("_Item", WarningView, ZoneView)
#: Held while an application's places are built (the page asks for the situation and the layers at once).
_BUILDING = threading.Lock()


def refused(err: Refused) -> JSONResponse:
    """A refusal as the API answers it: ``{"error": {"status", "zh", "en"}}`` with its status."""
    return JSONResponse({"error": {"status": err.status, "zh": err.zh, "en": err.en}}, status_code=err.status)


def read(answer: Callable[[Request], Any]) -> Callable[[Request], Awaitable[Response]]:
    """A read route from ``answer`` (request → JSON-ready data or a response): run off the event loop, a
    :class:`Refused` answered as JSON, a store that cannot be read as 503 JSON (logged). The docstring (with
    its OpenAPI YAML after ``---``) stays."""

    @functools.wraps(answer)
    async def endpoint(request: Request) -> Response:
        try:
            body = await run_in_threadpool(answer, request)
        except Refused as err:
            return refused(err)
        except WarnError as err:
            log.error("读取失败 / a read failed: %s: %s", request.url.path, err)
            return refused(Refused(503, "存储暂不可读，请稍后再试（原因见服务日志）",
                                   "the store cannot be read now: try again later (the service's log says why)"))
        return body if isinstance(body, Response) else JSONResponse(body)

    return endpoint


def hazard_param(request: Request) -> str | None:
    """``?hazard=`` (a registered hazard) or ``None``.

    Raises
    ------
    Refused
        422: not a registered hazard.
    """
    name = request.query_params.get("hazard") or None
    if name is not None and name not in hazards.names():
        raise Refused(422, f"参数 hazard 须为 {'、'.join(hazards.names())} 之一，收到 {name[:40]!r}",
                      f"query parameter hazard: expected one of {', '.join(hazards.names())}, got {name[:40]!r}")
    return name


def level_param(request: Request) -> Level | None:
    """``?level=`` as a floor: a colour (``orange``) or a number (−1 … 4); ``None`` without one.

    Raises
    ------
    Refused
        422: neither.
    """
    text = request.query_params.get("level") or None
    if text is None:
        return None
    colours = {level.colour: level for level in Level}
    if text in colours:
        return colours[text]
    if text.lstrip("-").isdigit() and int(text) in LEVEL_OF:
        return Level(int(text))
    raise Refused(422, f"参数 level 须为 {'、'.join(colours)} 或 -1…4，收到 {text[:40]!r}",
                  f"query parameter level: expected one of {', '.join(colours)} or -1…4, got {text[:40]!r}")


def flag_param(request: Request, name: str) -> bool:
    """A yes/no query parameter (``?overdue=true``; ``1``, ``yes`` too)."""
    return request.query_params.get(name, "").lower() in ("1", "true", "yes")


def moment(request: Request) -> datetime:
    """The moment a read looks at (see the module docstring).

    Raises
    ------
    Refused
        422: ``?at=`` is not an ISO 8601 time with a zone.
    """
    at = time_param(request, "at")
    if at is not None:
        return at
    fixed: datetime | None = getattr(request.app.state, "fixed_at", None)
    return fixed or desk_of(request).clock()


def time_param(request: Request, name: str) -> datetime | None:
    """The query parameter ``name`` as an ISO 8601 time with a zone; ``None`` without it.

    Raises
    ------
    Refused
        422: not such a time.
    """
    text = request.query_params.get(name)
    if not text:
        return None
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        at = None
    if at is None or at.tzinfo is None or not YEARS[0] <= at.year <= YEARS[1]:
        raise Refused(422, f"参数 {name} 须为带时区的 ISO 8601 时间（如 2026-07-15T15:30+08:00，{YEARS[0]}–{YEARS[1]} "
                           f"年），收到 {text[:40]!r}",
                      f"query parameter {name}: expected an ISO 8601 time with a zone (e.g. "
                      f"2026-07-15T15:30+08:00, years {YEARS[0]}–{YEARS[1]}), got {text[:40]!r}")
    return at


def desk_of(request: Request) -> Desk:
    """The desk of the application (settings, store, setup, clock)."""
    desk: Desk = request.app.state.desk
    return desk


@contextmanager
def views_of(request: Request) -> Iterator[Views]:
    """The store's read-only views for one request, closed after it."""
    desk = desk_of(request)
    views = Views.open(desk.store.engine.url.render_as_string(hide_password=False),
                       stale_factor=stale_factor(desk.settings))
    try:
        yield views
    finally:
        views.close()


def places_of(request: Request) -> Places:
    """The deployment's places, built on first use (once, whoever asks first) and kept for the application's life."""
    state = request.app.state
    with _BUILDING:
        places: Places | None = getattr(state, "places", None)
        if places is None:
            places = state.places = Places(desk_of(request).settings)
    return places


def unit_of(text: str) -> OrgUnit | None:
    """The org unit of its stored form (``town.DEMO-T03``, ``community.DEMO-T03-C01``); ``None`` when not one."""
    level, _, code = text.partition(".")
    if level not in OrgLevel.__members__.values() or not code:
        return None
    return OrgUnit(OrgLevel(level), code)


@dataclass(frozen=True)
class Reach:
    """What one viewer may see: their towns, applied to every kind of row the views return."""

    viewer: Viewer
    places: Places
    org: OrgTree

    @classmethod
    def of(cls, request: Request) -> Reach:
        """The reach of the request's viewer."""
        return cls(viewer(request), places_of(request), desk_of(request).setup.org)

    def unit_town(self, text: str) -> str | None:
        """The town of a stored org unit (``None``: the district or unknown)."""
        unit = unit_of(text)
        return None if unit is None else town_of(self.org, unit)

    def task_town(self, task: TaskView) -> str | None:
        return self.unit_town(task.org_unit)

    def call_town(self, call: CallView | CallRecord) -> str | None:
        post = call.addressee if isinstance(call, CallView) else call.post
        return self.unit_town(post.rsplit(".", 1)[0])

    def sensor_town(self, sensor: SensorView) -> str | None:
        """The town of the point a sensor watches, else of where it stands."""
        return self.places.town_of_item(sensor.point_id) or self.places.town_at(sensor.lon, sensor.lat)

    def feed_town(self, feed: FeedView, sensors: dict[str, SensorView]) -> str | None:
        """A sensor's feed: the sensor's town; any other source: the district's (``None``)."""
        sensor = sensors.get(feed.source.removeprefix(SENSOR)) if feed.source.startswith(SENSOR) else None
        return None if sensor is None else self.sensor_town(sensor)

    def sees(self, town: str | None) -> bool:
        return self.viewer.sees(town)

    def tasks(self, rows: list[TaskView]) -> list[TaskView]:
        return [t for t in rows if self.sees(self.task_town(t))]

    def calls(self, rows: list[Any]) -> list[Any]:
        return [c for c in rows if self.sees(self.call_town(c))]

    def items(self, rows: list[_Item]) -> list[_Item]:
        """Rows of an item (warnings, zones) in the viewer's towns."""
        return [r for r in rows if self.sees(self.places.town_of_item(r.item_id))]

    def feeds(self, rows: list[FeedView], sensors: list[SensorView]) -> list[FeedView]:
        by_id = {s.sensor_id: s for s in sensors}
        return [f for f in rows if self.sees(self.feed_town(f, by_id))]

    def incidents(self, rows: list[IncidentView], tasks: list[TaskView],
                  warnings: list[WarningView]) -> list[IncidentView]:
        """Incidents with their open tasks and warnings counted among those the viewer sees; a town viewer
        sees only the incidents that have some of theirs."""
        if self.viewer.towns is None:
            return rows
        out = []
        for i in rows:
            mine = [t for t in tasks if t.incident_id == i.incident_id]
            active = [w for w in warnings if w.incident_id == i.incident_id]
            if mine or active:
                out.append(replace(i, open_tasks=sum(t.status in ("open", "acknowledged") for t in mine),
                                   warnings=len(active)))
        return out

    def timeline(self, rows: list[EntryView], units: dict[int, str]) -> list[EntryView]:
        """Entries whose org unit (``units`` by seq) lies in the viewer's towns; those of no unit (the cycles',
        the district's) for district viewers only."""
        if self.viewer.towns is None:
            return rows
        return [e for e in rows if self.sees(self.unit_town(units.get(e.seq, "")))]

    def status(self, view: StatusView, views: Views, at: datetime) -> StatusView:
        """``warn status`` narrowed to the viewer: their overdue tasks and calls, warnings and feeds."""
        if self.viewer.towns is None:
            return view
        counts: dict[str, dict[int, int]] = {}
        for w in self.items(views.warnings(at)):
            counts.setdefault(w.hazard, {}).setdefault(w.level, 0)
            counts[w.hazard][w.level] += 1
        return replace(view, warnings={h: counts[h] for h in sorted(counts)},
                       overdue_tasks=self.tasks(view.overdue_tasks), unanswered_calls=self.calls(view.unanswered_calls),
                       stale_feeds=self.feeds(view.stale_feeds, views.sensors(at)), quarantined=[])
