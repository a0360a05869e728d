"""What the big screen draws: ``GET /api/v1/situation``, ``GET /api/v1/items/{id}`` and ``GET /map/layers.json``.

The situation is one JSON object as of a moment (:func:`warn.web.reads.moment`): the mode, the towns with
their highest level per hazard, the items and sensors with a location, the side panels (warnings, unanswered
叫应 calls, open tasks, data notices, the last timeline entries but the access record), the last cycle and whether the data are stale,
and the rain frames (:func:`warn.web.rain.rain_json`) — all narrowed to the viewer's towns but the data
notices (about the data every screen shows: a silent feed, no forecast run), which everyone sees. A store
with nothing in it yet gives empty lists and ``stale: true``, never an error.

A town's level for a hazard is the highest of the hazard's items in it (a town zone is in itself; a
district-wide item, the rainstorm signal, is in every town): −1 unknown when none of them is above none and
some are unknown; 0 when all are none, or when the hazard has items elsewhere but none in the town; −1 when the
hazard has no level anywhere yet (never scored: unknown, never all clear).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.routing import BaseRoute, Route

from warn import hazards
from warn.store.accounts import ACCESS_KINDS
from warn.store.forms import plain, row_json
from warn.store.views import APPROVAL, CALL, OPEN_STATES, Views, ZoneView
from warn.vocab import Level
from warn.desk import Refused
from warn.web.rain import rain_json
from warn.web.reads import SENSOR, Reach, desk_of, hazard_param, moment, read, views_of

#: Timeline entries the situation carries.
TIMELINE_SHOWN = 30
#: How far back an item's hydrograph reaches.
HYDROGRAPH = timedelta(hours=24)
#: The response levels for people (0: none).
RESPONSE_ZH = {0: "", 1: "Ⅳ级响应", 2: "Ⅲ级响应", 3: "Ⅱ级响应", 4: "Ⅰ级响应"}
#: The district-wide kind of item.
DISTRICT = "district"


@read
def situation(request: Request) -> Any:
    """Everything the situation map draws, as of a moment, narrowed to the viewer's towns.
    ---
    summary: 态势图数据 / the situation map's data
    parameters: [{name: at, in: query, schema: {type: string, format: date-time}},
                 {name: hazard, in: query, description: "only this hazard's items", schema: {type: string}}]
    responses: {200: {description: "{at, now, fixed, span, viewer, mode, hazards, towns, items, sensors, warnings,
      calls, tasks, notices, timeline, last_cycle, stale, rain}"}}
    """
    at, only = moment(request), hazard_param(request)
    reach, desk = Reach.of(request), desk_of(request)
    deployed = [name for name in hazards.names() if name in desk.settings.hazards]
    with views_of(request) as views:
        zones = views.zones(at)
        first, last = views.span()
        cycle = views.last_cycle(at)
        entries = views.timeline(at, limit=TIMELINE_SHOWN * 4, leave_out=ACCESS_KINDS)
        entries = reach.timeline(entries, views.entry_units([e.seq for e in entries]))[-TIMELINE_SHOWN:]
        return {
            "at": at.isoformat(), "now": desk.clock().isoformat(),
            "fixed": getattr(request.app.state, "fixed_at", None) is not None,
            "span": {"first": first and first.isoformat(), "last": last and last.isoformat()},
            "viewer": _viewer(request, reach, at), "mode": _mode(views, at),
            "hazards": [{"name": name, "zh": hazards.names_zh().get(name, name)} for name in deployed],
            "towns": _towns(reach, zones, deployed),
            "items": _items(reach, [z for z in zones if only is None or z.hazard == only]),
            "sensors": _sensors(reach, views, at),
            "warnings": [row_json(w) | {"town": reach.places.town_of_item(w.item_id)}
                         for w in reach.items(views.warnings(at))],
            "calls": [row_json(c) | {"town": reach.call_town(c), "kind": kind}
                      for kind in (CALL, APPROVAL) for c in reach.calls(views.waiting(at, kind))],
            "tasks": [row_json(t) | {"town": reach.task_town(t), "overdue": t.overdue}
                      for t in reach.tasks(views.tasks(at)) if t.status in OPEN_STATES],
            "notices": plain(views.notices(at)), "timeline": plain(entries),
            "last_cycle": plain(cycle), "stale": cycle is None or cycle.late,
            "rain": rain_json(request, views, at),
        }


@read
def item(request: Request) -> Any:
    """One town or item for the click panel: its levels and drivers, sensors with their hydrograph, open tasks,
    unanswered calls and active warnings.
    ---
    summary: 对象详情 / one town or item
    parameters: [{name: item_id, in: path, required: true, schema: {type: string}},
                 {name: at, in: query, schema: {type: string, format: date-time}}]
    responses: {200: {description: "{id, name, kind, town, lon, lat, attributes (the layer's: thresholds, people …),
      levels (each with probability {colour: fraction} where an ensemble was scored, else null),
      sensors (with hydrograph [[time, value]]), tasks, calls, warnings}"},
      403: {description: not the viewer's town}, 404: {description: no such town or item}}
    """
    item_id, at = request.path_params["item_id"], moment(request)
    reach = Reach.of(request)
    places = reach.places
    place = places.item(item_id)
    if place is None and item_id not in places.towns:
        raise Refused(404, f"无此镇街或点位：{item_id[:80]}", f"no town or item {item_id[:80]!r}")
    town = places.town_of_item(item_id)
    if not reach.sees(town):
        raise Refused(403, "无权查看：不属于您的镇街", "not yours to see: outside your towns")
    with views_of(request) as views:
        levels = views.item_levels(item_id, at)
        sensors = [s for s in views.sensors(at) if s.point_id == item_id
                   or (item_id in places.towns and reach.sensor_town(s) == item_id)]
        marker = f":{item_id}:"  # the ids of tasks and calls name the item they are of: …:landslide:DEMO-T04:…
        return {
            "id": item_id, "name": place.name if place else places.towns[item_id],
            "kind": levels[0].kind if levels else ("zone" if place is None else None), "town": town,
            "lon": place and place.lon, "lat": place and place.lat, "attributes": place.attributes if place else {},
            "levels": [row_json(level) for level in levels],
            "sensors": [row_json(s) | {"hydrograph": [[t.isoformat(), v] for t, v in
                                                      views.readings(s.sensor_id, at - HYDROGRAPH, at)]}
                        for s in sensors],
            "tasks": [row_json(t) for t in reach.tasks(views.tasks(at))
                      if t.status in OPEN_STATES and (marker in t.task_id or reach.task_town(t) == item_id)],
            "calls": [row_json(c) for c in reach.calls(views.calls(at)) if marker in c.request_id
                      or reach.call_town(c) == item_id],
            "warnings": [row_json(w) for w in views.warnings(at) if w.item_id == item_id],
        }


@read
def layers(request: Request) -> Any:
    """The deployment's own vector basemap as GeoJSON, WGS84 lon/lat.
    ---
    summary: 底图图层 / the basemap layers
    responses: {200: {description: "{crs, datum, simplified_deg, district, towns, items: {layer: FeatureCollection
      with roles}}"}}
    """
    reach = Reach.of(request)
    return reach.places.layers_json(reach.sees)


def _viewer(request: Request, reach: Reach, at: datetime) -> dict[str, Any]:
    posts = desk_of(request).setup.roster.posts(reach.viewer.person, at)
    post = posts[0] if posts else None
    return {"person": reach.viewer.person,
            "post": None if post is None else f"{post.org.level.value}.{post.org.code}.{post.role.value}",
            "towns": None if reach.viewer.towns is None else sorted(reach.viewer.towns)}


def _mode(views: Views, at: datetime) -> dict[str, Any]:
    mode = views.mode(at)
    zh = "战时" if mode.mode == "wartime" else "平时"
    return row_json(mode) | {"zh": f"{zh} {RESPONSE_ZH.get(mode.response_level, '')}".strip()}


def _towns(reach: Reach, zones: list[ZoneView], deployed: list[str]) -> list[dict[str, Any]]:
    """The viewer's towns with their level for each of the ``deployed`` hazards (see the module docstring)."""
    found: dict[tuple[str, str], list[int]] = {}
    towns = reach.places.towns
    for z in zones:
        inside = list(towns) if z.kind == DISTRICT else [reach.places.town_of_item(z.item_id)]
        for town in inside:
            if town is not None:
                found.setdefault((town, z.hazard), []).append(z.level)
    scored = {z.hazard for z in zones}
    return [{"id": code, "name": name,
             "levels": {h: _level(found.get((code, h), [Level.NONE] if h in scored else [])) for h in deployed}}
            for code, name in towns.items() if reach.sees(code)]


def _level(levels: list[int]) -> int:
    """The highest of ``levels``; unknown when none is above none and one is unknown, or there are none."""
    if not levels:
        return int(Level.UNKNOWN)
    top = max(levels)
    return int(Level.UNKNOWN) if top <= Level.NONE and Level.UNKNOWN in levels else top


def _items(reach: Reach, zones: list[ZoneView]) -> list[dict[str, Any]]:
    """The viewer's items that have a place on the map (towns are drawn as towns, the district not at all)."""
    out = []
    for z in reach.items(zones):
        place = reach.places.item(z.item_id)
        if place is None or z.item_id in reach.places.towns:
            continue
        out.append({"id": z.item_id, "name": place.name, "kind": z.kind, "hazard": z.hazard, "level": z.level,
                    "colour": Level(z.level).colour, "town": place.town, "lon": place.lon, "lat": place.lat})
    return out


def _sensors(reach: Reach, views: Views, at: datetime) -> list[dict[str, Any]]:
    health = {f.source: f.health for f in views.feeds(at)}
    out = []
    for s in views.sensors(at):
        town = reach.sensor_town(s)
        if not reach.sees(town):
            continue
        out.append({"id": s.sensor_id, "name": s.name, "kind": s.kind, "lon": s.lon, "lat": s.lat, "value": s.value,
                    "unit": s.unit, "observed_at": s.observed_at and s.observed_at.isoformat(),
                    "age_s": None if s.observed_at is None else (at - s.observed_at).total_seconds(),
                    "qc": s.qc, "health": health.get(f"{SENSOR}{s.sensor_id}", "never"), "town": town,
                    "point_id": s.point_id or None})
    return out


routes: list[BaseRoute] = [
    Route("/api/v1/situation", situation, methods=["GET"]),
    Route("/api/v1/items/{item_id:path}", item, methods=["GET"]),
    Route("/map/layers.json", layers, methods=["GET"]),
]
