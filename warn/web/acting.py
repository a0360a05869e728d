"""The duty desk's acts over HTTP: ``POST /api/v1/{ack,approve,reject,done,assign,notes,mode,broadcasts}``.

Each route mirrors one of the CLI's acting commands and calls the same method of :class:`warn.desk.Desk`, so
the CLI, the pages' forms and the city platform's API can never disagree. A request is acted on as its viewer
(:func:`warn.web.viewer.viewer`, set by the gate): their person, through ``web`` when they came with a session
and ``api`` with a bearer token, at the desk's clock. Before the desk, a route refuses

- a body that is not a JSON object of the act's fields, each of its type (422, naming the field and what was
  expected);
- a moment other than now: ``?at=`` or a service fixed at a past moment (``warn serve --at``) only look (409);
- an item outside the viewer's towns (403): the task's or request's org unit, the warning's zone.

The answer is ``{"ok": true, "zh": …, "en": …}``, or ``{"error": {"status", "zh", "en"}}`` with the desk's
refusal (403 not allowed, 404 unknown, 409 not in this state, 422 bad input); a refusal writes nothing. Each
route's OpenAPI description (after ``---`` in its docstring, read by :class:`starlette.schemas.SchemaGenerator`)
is made from the same declaration of its fields that checks the body.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from warn import hazards
from warn.command.model import Channel
from warn.desk import Desk, Refused, Told, post_of
from warn.errors import UsageError
from warn.vocab import COLOURS, RESPONSE_NAMES, Mode
from warn.web.viewer import Viewer, town_of, viewer

#: A JSON body's values by field name, checked.
Body = Mapping[str, Any]


@dataclass(frozen=True)
class Field:
    """One field of an act's JSON body: its JSON type (``string``, ``boolean``), whether it is required, what it
    means (for the OpenAPI document) and the values it may take (``None``: any)."""

    kind: str
    required: bool
    about: str
    choices: tuple[str, ...] | None = None

    def schema(self) -> dict[str, Any]:
        """The field's JSON Schema."""
        return {"type": self.kind, "description": self.about} | ({"enum": list(self.choices)} if self.choices else {})


def _text(about: str, *, required: bool = True, choices: tuple[str, ...] | None = None) -> Field:
    return Field("string", required, about, choices)


#: What the desk does with a checked body, as whom and when.
Call = Callable[[Desk, Body, str, Channel, datetime], Told]
#: Whether an act touches an item, and the item's town (``None``: a district item).
Town = Callable[[Desk, Body], tuple[bool, "str | None"]]


@dataclass(frozen=True)
class Act:
    """One acting route: its path, what it does (zh, en), its body's fields, the town of its item and the call."""

    path: str
    summary: str
    fields: Mapping[str, Field]
    town: Town
    call: Call

    def doc(self) -> str:
        """The route's docstring: its summary, then its OpenAPI operation after ``---`` (JSON, which is YAML)."""
        error = {"type": "object", "properties": {"error": {"type": "object", "properties": {
            "status": {"type": "integer"}, "zh": {"type": "string"}, "en": {"type": "string"}}}}}
        said = {"description": "", "content": {"application/json": {"schema": error}}}
        operation = {
            "summary": self.summary, "tags": ["acting"],
            "security": [{"bearer": []}, {"session": []}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "additionalProperties": False,
                "required": [name for name, f in self.fields.items() if f.required],
                "properties": {name: f.schema() for name, f in self.fields.items()}}}}},
            "responses": {
                "200": {"description": "已办理 / done", "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"ok": {"type": "boolean"}, "zh": {"type": "string"},
                                                     "en": {"type": "string"}}}}}},
                **{str(status): said | {"description": text} for status, text in REFUSALS.items()}}}
        return f"{self.summary}\n---\n{json.dumps(operation, ensure_ascii=False)}"


#: The refusals every acting route may answer, as the OpenAPI document describes them.
REFUSALS = {401: "未登录 / no session or token", 403: "无权办理 / not yours to do", 404: "无此对象 / unknown id",
            409: "当前状态不允许 / not in this state, or looking at the past", 422: "请求内容有误 / a bad body",
            500: "已隔离待值班员处理 / quarantined for the duty officer"}


def _no_item(_desk: Desk, _body: Body) -> tuple[bool, str | None]:
    """No item to scope: the desk's authority decides alone (a note, a mode order)."""
    return False, None


def _of_unit(desk: Desk, org_unit: str, role: str) -> tuple[bool, str | None]:
    return True, town_of(desk.setup.org, post_of(org_unit, role).org)


def _request_town(field: str) -> Town:
    """The town of the request (or, for ``ack``, the request or task) ``field`` names; no item when unknown."""
    def town(desk: Desk, body: Body) -> tuple[bool, str | None]:
        request = desk.store.ack_request(body[field])
        if request is not None:
            return _of_unit(desk, request.org_unit, request.addressee_role)
        task = desk.store.task(body[field])
        return (False, None) if task is None else _of_unit(desk, task.org_unit, task.owner_role)
    return town


def _task_town(desk: Desk, body: Body) -> tuple[bool, str | None]:
    task = desk.store.task(body["task"])
    return (False, None) if task is None else _of_unit(desk, task.org_unit, task.owner_role)


def _zone_town(desk: Desk, body: Body) -> tuple[bool, str | None]:
    zone = body["zone"]
    return True, None if zone == desk.settings.deployment.district_code else zone


ID = "任务或请求编号（含 /）/ the task or request id (contains /)"
ACTS = (
    Act("/api/v1/ack", "应答叫应或签收任务 / answer a 叫应 call or request, or acknowledge a task",
        {"target": _text(ID)}, _request_town("target"),
        lambda d, b, *who: d.ack(b["target"], *who)),
    Act("/api/v1/approve", "同意审批请求 / approve an approval request",
        {"request": _text("请求编号 / the request id")}, _request_town("request"),
        lambda d, b, *who: d.decide(b["request"], *who, accepted=True)),
    Act("/api/v1/reject", "不同意审批请求 / refuse an approval request",
        {"request": _text("请求编号 / the request id")}, _request_town("request"),
        lambda d, b, *who: d.decide(b["request"], *who, accepted=False)),
    Act("/api/v1/done", "办结任务 / mark a task done",
        {"task": _text("任务编号 / the task id"), "note": _text("办理情况 / what was done")}, _task_town,
        lambda d, b, *who: d.done(b["task"], *who, note=b["note"])),
    Act("/api/v1/assign", "改派任务 / hand a task over to another post or person",
        {"task": _text("任务编号 / the task id"),
         "to": _text("岗位、角色或人员 / a post (town.DEMO-T03.duty_officer), a role or a person"),
         "reason": _text("理由 / why", required=False)}, _task_town,
        lambda d, b, *who: d.assign(b["task"], *who, to=b["to"], reason=b.get("reason", ""))),
    Act("/api/v1/notes", "记入时间线 / put a note on the timeline",
        {"text": _text("记录内容 / the text"), "incident": _text("事件编号 / the incident id", required=False)},
        _no_item, lambda d, b, *who: d.note(b["text"], *who, incident=b.get("incident"))),
    Act("/api/v1/mode", "平急转换 / switch between peacetime and wartime (the commander only)",
        {"to": _text("平时或战时 / the mode", choices=tuple(str(m) for m in Mode)),
         "level": _text("战时响应等级 / the wartime response level", required=False, choices=RESPONSE_NAMES),
         "reason": _text("理由 / why"),
         "override": Field("boolean", False, "越过未解除的预警转为平时（仅指挥长）/ stand down over active warnings")},
        _no_item, lambda d, b, *who: d.mode(b["to"], *who, level=b.get("level"), reason=b["reason"],
                                            override=b.get("override", False))),
    Act("/api/v1/broadcasts", "人工发布预警 / issue a warning by hand",
        {"hazard": _text("灾种 / the hazard", choices=hazards.names()),
         "zone": _text("镇街编号或区代码 / a town/street zone id, or the district code"),
         "level": _text("预警颜色 / the warning colour", choices=COLOURS),
         "text": _text("预警内容 / the warning's text")}, _zone_town,
        lambda d, b, *who: d.broadcast(b["hazard"], b["zone"], b["level"], b["text"], *who)),
)

#: JSON types by the Python types a body's values come as.
KINDS = {"string": str, "boolean": bool}


def checked(fields: Mapping[str, Field], raw: bytes) -> Body:
    """The body ``raw`` when it is a JSON object of ``fields``, each of its type and among its choices;
    :class:`Refused` (422) saying which field and what was expected otherwise."""
    try:
        body = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        raise Refused(422, "请求内容不是 JSON", "the body is not JSON") from None
    if not isinstance(body, dict):
        raise Refused(422, "请求内容须为 JSON 对象", f"expected a JSON object of {', '.join(fields)}")
    unknown = sorted(set(body) - set(fields))
    if unknown:
        raise Refused(422, f"未知字段：{', '.join(unknown)}", f"unknown field(s) {', '.join(unknown)}: expected "
                                                              f"{', '.join(fields)}")
    for name, field in fields.items():
        value = body.get(name)
        if value is None:
            if field.required:
                raise Refused(422, f"缺少字段 {name}", f"{name}: expected a {field.kind}, got nothing")
            continue
        if type(value) is not KINDS[field.kind]:
            raise Refused(422, f"字段 {name} 须为 {field.kind}", f"{name}: expected a {field.kind}, got "
                                                                f"{type(value).__name__}")
        if field.choices and value not in field.choices:
            raise Refused(422, f"字段 {name} 须为 {'、'.join(field.choices)} 之一",
                          f"{name}: expected one of {', '.join(field.choices)}, got {value!r}")
    return {name: value for name, value in body.items() if value is not None}


def _act(desk: Desk, act: Act, who: Viewer, body: Body) -> Told:
    """Scope ``act`` to the viewer's towns, then do it at the desk's clock."""
    item, town = act.town(desk, body)
    if item and not who.sees(town):
        raise Refused(403, f"无权办理：该事项属于 {town or '区级'}", f"not yours to act on: it belongs to "
                                                                 f"{town or 'the district'}")
    channel = Channel.WEB if who.via == "session" else Channel.API
    return act.call(desk, body, who.person, channel, desk.clock())


def _endpoint(act: Act) -> Callable[[Request], Any]:
    """The route of ``act`` (its docstring: :meth:`Act.doc`)."""
    async def endpoint(request: Request) -> Response:
        desk: Desk = request.app.state.desk
        try:
            if "at" in request.query_params or getattr(request.app.state, "fixed_at", None) is not None:
                raise Refused(409, "查看历史时不能操作", "cannot act while looking at the past")
            body = checked(act.fields, await request.body())
            told = await run_in_threadpool(_act, desk, act, viewer(request), body)
        except Refused as err:
            return refusal(err)
        except UsageError as err:
            problem = "; ".join(str(p) for p in err.problems)
            return refusal(Refused(422, f"文本无法接受：{problem}", f"text not accepted: {problem}"))
        return JSONResponse({"ok": True, "zh": told.zh, "en": told.en}, headers={"Cache-Control": "no-store"})
    endpoint.__doc__ = act.doc()
    endpoint.__name__ = endpoint.__qualname__ = f"act_{act.path.rsplit('/', 1)[-1]}"
    return endpoint


def refusal(err: Refused) -> JSONResponse:
    """The JSON answer of a refusal, with its status."""
    return JSONResponse({"error": {"status": err.status, "zh": err.zh, "en": err.en}}, status_code=err.status,
                        headers={"Cache-Control": "no-store"})


#: The acting routes, for :func:`warn.web.app.create_app`.
routes: list[BaseRoute] = [Route(act.path, _endpoint(act), methods=["POST"]) for act in ACTS]
