"""The read side of the JSON API for the city platform and the centre's pages: ``/api/v1/…``.

``status``, ``warnings``, ``zones``, ``incidents``, ``tasks``, ``calls``, ``timeline`` and ``feeds`` answer
with the JSON forms of the CLI's ``--json`` (:mod:`warn.store.forms`) as of ``?at=`` (:func:`reads.moment`),
narrowed to what the viewer may see (:class:`reads.Reach`). ``/api/v1/openapi.json`` is the OpenAPI 3 document
of every route whose docstring carries its YAML after ``---``. :data:`routes` gathers these with the situation
map's (:mod:`warn.web.situation`, :mod:`warn.web.rain`, :mod:`warn.web.events`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.schemas import SchemaGenerator

from warn.durations import CYCLE_EVERY
from warn.store.forms import rows_json, status_json
from warn.store.views import Views, pulled_sources
from warn.web import events, rain, situation
from warn.web.desk import Refused
from warn.web.reads import (
    Reach,
    desk_of,
    flag_param,
    hazard_param,
    level_param,
    moment,
    read,
    time_param,
    views_of,
)

#: Timeline entries ``/api/v1/timeline`` returns without ``?last=``.
TIMELINE_LAST = 50
#: The most ``?last=`` may ask for.
TIMELINE_MOST = 5000

class Documented(SchemaGenerator):
    """The OpenAPI document of the routes whose endpoint's docstring carries its YAML after ``---`` (the others —
    pages, callbacks, links — are left out)."""

    def parse_docstring(self, func_or_method: Callable[..., Any]) -> dict[str, Any]:
        """The YAML after ``---`` in the docstring; nothing without one."""
        if "---" not in (func_or_method.__doc__ or ""):
            return {}
        return super().parse_docstring(func_or_method)

    def get_schema(self, routes: list[BaseRoute]) -> dict[str, Any]:
        """The document, every operation answering 401 without a session or token (all are behind the gate)."""
        schema = super().get_schema(routes)
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                operation.setdefault("responses", {}).setdefault(
                    401, {"description": "无登录或令牌 / no session or token: {error: {status, zh, en}}"})
        return schema


SCHEMAS = Documented({
    "openapi": "3.0.3",
    "info": {"title": "warn API", "version": "1",
             "description": "暴雨预警与应急指挥 / heavy-rainfall early warning and emergency command: read views "
                            "and duty-desk acts. Every time is ISO 8601 with its offset; `?at=` looks at any "
                            "moment. A token or a login sees only its own towns."},
    "components": {"securitySchemes": {
        "bearer": {"type": "http", "scheme": "bearer", "description": "a personal token (`warn token issue`)"},
        "session": {"type": "apiKey", "in": "cookie", "name": "warn_session",
                    "description": "a login to the centre's pages (unsafe methods need X-CSRF-Token too)"}}},
    "security": [{"bearer": []}, {"session": []}],
})


@read
def status(request: Request) -> Any:
    """The duty officer's one screen, as ``warn status --json``.
    ---
    summary: 值班总览 / status
    parameters: [{name: at, in: query, schema: {type: string, format: date-time}}]
    responses: {200: {description: "mode, warnings by hazard and colour, overdue tasks, unanswered calls, feeds,
      notices, last cycle"}}
    """
    at = moment(request)
    with views_of(request) as views:
        view = views.status(at, every=CYCLE_EVERY)
        return status_json(Reach.of(request).status(view, views, at))


@read
def warnings(request: Request) -> Any:
    """Active warnings, as ``warn warnings --json``.
    ---
    summary: 生效预警 / active warnings
    parameters: [{name: at, in: query, schema: {type: string, format: date-time}},
                 {name: hazard, in: query, schema: {type: string}},
                 {name: level, in: query, description: "at or above (blue … red, or -1 … 4)", schema: {type: string}}]
    responses: {200: {description: "[{thread_id, hazard, item_id, level, colour, version, onset, updated_at,
      incident_id}]"}}
    """
    return _levelled(request, lambda views: views.warnings)


@read
def zones(request: Request) -> Any:
    """Every zone's and point's level, as ``warn zones --json``.
    ---
    summary: 各区域与点位等级 / levels of zones and points
    parameters: [{name: at, in: query, schema: {type: string, format: date-time}},
                 {name: hazard, in: query, schema: {type: string}},
                 {name: level, in: query, schema: {type: string}}]
    responses: {200: {description: "[{hazard, kind, item_id, level, colour, cycle_at}]"}}
    """
    return _levelled(request, lambda views: views.zones)


@read
def incidents(request: Request) -> Any:
    """Incidents, newest first, as ``warn incidents --json`` (a town viewer: those with some of their items).
    ---
    summary: 事件 / incidents
    parameters: [{name: at, in: query, schema: {type: string, format: date-time}}]
    responses: {200: {description: "[{incident_id, hazard, opened_at, closed_at, mode, response_level, open_tasks,
      warnings}]"}}
    """
    at = moment(request)
    reach = Reach.of(request)
    with views_of(request) as views:
        rows = reach.incidents(views.incidents(at), reach.tasks(views.tasks(at)), reach.items(views.warnings(at)))
    return rows_json(rows)


@read
def tasks(request: Request) -> Any:
    """Tasks as they stood, most overdue first, as ``warn tasks --json``.
    ---
    summary: 任务 / tasks
    parameters: [{name: at, in: query, schema: {type: string, format: date-time}},
                 {name: overdue, in: query, schema: {type: boolean}},
                 {name: mine, in: query, description: "only those of the posts the viewer holds", schema: {type: boolean}}]
    responses: {200: {description: "[{task_id, incident_id, summary, owner_role, org_unit, due_at, status, acked_by,
      done_by, overdue_s}]"}}
    """
    at = moment(request)
    reach = Reach.of(request)
    with views_of(request) as views:
        rows = reach.tasks(views.tasks(at, overdue=flag_param(request, "overdue")))
    if flag_param(request, "mine"):
        posts = {(f"{p.org.level.value}.{p.org.code}", p.role.value)
                 for p in desk_of(request).setup.roster.posts(reach.viewer.person, at)}
        rows = [t for t in rows if (t.org_unit, t.owner_role) in posts]
    return rows_json(rows)


@read
def calls(request: Request) -> Any:
    """Every 叫应 call made, as ``warn calls --json``.
    ---
    summary: 叫应 / calls
    parameters: [{name: at, in: query, schema: {type: string, format: date-time}}]
    responses: {200: {description: "[{request_id, org_level, addressee, post, channels, first_delivered_at,
      answered_at, answered_via, escalation_step, status}]"}}
    """
    at = moment(request)
    with views_of(request) as views:
        return rows_json(Reach.of(request).calls(views.call_log(at)))


@read
def timeline(request: Request) -> Any:
    """The timeline, oldest first, as ``warn timeline --json``.
    ---
    summary: 时间线 / timeline
    parameters: [{name: at, in: query, schema: {type: string, format: date-time}},
                 {name: incident, in: query, schema: {type: string}},
                 {name: since, in: query, description: "entries from this time", schema: {type: string,
                  format: date-time}},
                 {name: last, in: query, description: "the last N entries (50)", schema: {type: integer}}]
    responses: {200: {description: "[{seq, occurred_at, incident_id, actor, role, kind, summary}]"}}
    """
    at = moment(request)
    last = _last(request.query_params.get("last"))
    with views_of(request) as views:
        rows = views.timeline(at, incident=request.query_params.get("incident") or None,
                              since=time_param(request, "since"), limit=last)
        return rows_json(Reach.of(request).timeline(rows, views.entry_units([e.seq for e in rows])))


@read
def feeds(request: Request) -> Any:
    """Every source with its last data and health, as ``warn feeds --json`` (a town viewer: their sensors).
    ---
    summary: 数据源 / feeds
    parameters: [{name: at, in: query, schema: {type: string, format: date-time}}]
    responses: {200: {description: "[{source, last_seen, age_s, expected_s, health, detail, rejected, last_failure,
      failure}]"}}
    """
    at = moment(request)
    with views_of(request) as views:
        rows = views.feeds(at, pulled=pulled_sources(desk_of(request).settings))
        return rows_json(Reach.of(request).feeds(rows, views.sensors(at)))


async def openapi(request: Request) -> Response:
    """The OpenAPI 3 document of the service's API.
    ---
    summary: OpenAPI 文档 / the OpenAPI document
    responses: {200: {description: the document}}
    """
    return JSONResponse(SCHEMAS.get_schema(routes=request.app.routes))


def _levelled(request: Request, view: Callable[[Views], Callable[[datetime], list[Any]]]) -> list[dict[str, Any]]:
    """The rows of a view of items with levels (warnings, zones) as of the moment, of the viewer's towns, of
    ``?hazard=`` and at or above ``?level=``."""
    at, hazard, floor = moment(request), hazard_param(request), level_param(request)
    with views_of(request) as views:
        rows = Reach.of(request).items(view(views)(at))
    return rows_json([r for r in rows if (hazard is None or r.hazard == hazard) and (floor is None or r.level >= floor)])


def _last(text: str | None) -> int:
    """``?last=``: a whole number 1 … :data:`TIMELINE_MOST` (default :data:`TIMELINE_LAST`)."""
    if text is None:
        return TIMELINE_LAST
    if not text.isdigit() or not 1 <= int(text) <= TIMELINE_MOST:
        raise Refused(422, f"参数 last 须为 1…{TIMELINE_MOST} 的整数，收到 {text[:20]!r}",
                      f"query parameter last: expected a whole number 1…{TIMELINE_MOST}, got {text[:20]!r}")
    return int(text)


#: The read routes, the situation map's and the live events.
routes: list[BaseRoute] = [
    Route("/api/v1/openapi.json", openapi, methods=["GET"]),
    *(Route(f"/api/v1/{view.__name__}", view, methods=["GET"])
      for view in (status, warnings, zones, incidents, tasks, calls, timeline, feeds)),
    *situation.routes, *rain.routes, *events.routes,
]
