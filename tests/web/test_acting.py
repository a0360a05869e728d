"""The acting routes (``POST /api/v1/...``) on a real server behind the real gate: the same acts, rules and
refusals as the CLI's. A person acts through the API with a bearer token (``warn token issue``, the store's
tokens) or through the pages with a drill login and its CSRF token.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tests.conftest import ROOT
from tests.web.login import bearer, drill_login
from tests.web.serving import LEADER04, NOW, SINCE, TASK04, Served
from warn.cli.main import app as cli

DUTY, COMMANDER, SCRIBE, LEADER03 = "演示值班员01", "演示指挥长01", "演示信息员01", "演示镇街负责人03"
ROLL_CALL = "INC-storm-20260715T0200Z/rainstorm@1:rainstorm:500112:20260715T0200Z/wartime_roll_call/a0"


def in_session(served: Served, person: str) -> dict[str, str]:
    """The CSRF header of a drill session of ``person`` (the served client keeps its cookie)."""
    served.client.cookies.clear()
    return {"X-CSRF-Token": drill_login(served, person)}


def post(served: Served, path: str, credentials: dict[str, str], body: object, *, raw: bytes | None = None):
    """``POST /api/v1/PATH`` with ``credentials`` (:func:`bearer`, :func:`in_session`) and ``body`` as JSON."""
    content = raw if raw is not None else json.dumps(body).encode()
    return served.client.post(f"/api/v1/{path}", content=content,
                              headers={**credentials, "Content-Type": "application/json"})


def cli_says(served: Served, person: str, *args: str) -> tuple[int, str]:
    """Exit code and output of ``warn ARGS`` as ``person`` on the served store at the service's time."""
    result = CliRunner().invoke(cli, [*args, "--store", str(served.db), "--at", NOW.isoformat(), "--as", person,
                                      "--config", str(ROOT / "config.yaml")], env={"NO_COLOR": "1", "COLUMNS": "400"})
    return result.exit_code, " ".join(result.output.split())


@pytest.mark.parametrize(("person", "path", "body", "args", "status"), [
    (SCRIBE, "ack", {"target": TASK04}, ("ack", TASK04), 403),
    (DUTY, "mode", {"to": "peacetime", "reason": "雨停"}, ("mode", "peacetime", "--reason", "雨停"), 403),
    (SCRIBE, "done", {"task": "no-such-task", "note": "x"}, ("done", "no-such-task", "--note", "x"), 404),
    (COMMANDER, "mode", {"to": "wartime", "level": "IV", "reason": "同前"},
     ("mode", "wartime", "--level", "IV", "--reason", "同前"), 409),
])
def test_the_cli_and_the_api_refuse_the_same_act_for_the_same_reason(served, person, path, body, args, status):
    credentials = bearer(served, person)
    before = served.snapshot()
    answer = post(served, path, credentials, body)
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["status"] == status and error["zh"] and error["en"]
    code, said = cli_says(served, person, *args)
    assert code == 1 and error["zh"] in said, said
    assert served.snapshot() == before


def test_an_act_through_the_api_is_recorded_with_its_channel(served):
    answer = post(served, "ack", bearer(served, LEADER04), {"target": TASK04})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"ok": True, "zh": answer.json()["zh"], "en": answer.json()["en"]}
    assert LEADER04 in answer.json()["zh"]
    assert served.query("select status, acked_by from tasks where task_id = ?", TASK04) == [("acknowledged", LEADER04)]
    [(details,)] = served.query(f"select details from timeline where {SINCE} and kind = 'task'")
    assert json.loads(details)["via"] == "api"
    answer = post(served, "notes", in_session(served, DUTY), {"text": "电话报告：DEMO-T04 落石"})
    assert answer.status_code == 200, answer.text
    [(actor, details)] = served.query(f"select actor, details from timeline where {SINCE} and kind = 'note'")
    assert actor == DUTY and json.loads(details)["via"] == "web"


def test_a_town_cannot_act_on_another_towns_items(served):
    credentials = bearer(served, LEADER03)
    before = served.snapshot()
    for path, body in (("ack", {"target": TASK04}), ("done", {"task": TASK04, "note": "已完成"}),
                       ("ack", {"target": ROLL_CALL}),
                       ("broadcasts", {"hazard": "rainstorm", "zone": "DEMO-T04", "level": "red", "text": "x"}),
                       ("broadcasts", {"hazard": "rainstorm", "zone": "500112", "level": "red", "text": "x"})):
        answer = post(served, path, credentials, body)
        assert answer.status_code == 403, (path, body, answer.text)
        assert "无权办理" in answer.json()["error"]["zh"]
    assert served.snapshot() == before


@pytest.mark.parametrize(("path", "raw", "says"), [
    ("ack", b"not json", "not JSON"),
    ("ack", b"[]", "expected a JSON object"),
    ("ack", b"{}", "target: expected a string, got nothing"),
    ("ack", b'{"target": 3}', "target: expected a string, got int"),
    ("ack", b'{"target": "x", "extra": 1}', "unknown field(s) extra"),
    ("mode", b'{"to": "holiday", "reason": "x"}', "to: expected one of peacetime, wartime"),
    ("mode", b'{"to": "peacetime", "reason": "x", "override": "yes"}', "override: expected a boolean"),
    ("mode", b'{"to": "wartime", "reason": "x"}', "required for wartime"),
    ("notes", '{"text": "tel\\u001b[2J"}'.encode(), "text: expected"),
    ("broadcasts", b'{"hazard": "meteor", "zone": "DEMO-T03", "level": "red", "text": "x"}', "hazard: expected one"),
])
def test_a_bad_body_is_refused_422_naming_the_field(served, path, raw, says):
    credentials = bearer(served, COMMANDER)
    before = served.snapshot()
    answer = post(served, path, credentials, None, raw=raw)
    assert answer.status_code == 422, answer.text
    assert says in answer.json()["error"]["en"]
    assert served.snapshot() == before


def test_no_acting_while_looking_at_the_past(served):
    credentials = bearer(served, LEADER04)
    before = served.snapshot()
    past = served.client.post("/api/v1/ack?at=2026-07-15T04:00Z", content=json.dumps({"target": TASK04}),
                              headers=credentials)
    assert past.status_code == 409 and "looking at the past" in past.json()["error"]["en"]
    served.app.state.fixed_at = NOW
    answer = post(served, "ack", credentials, {"target": TASK04})
    assert answer.status_code == 409 and answer.json()["error"]["zh"] == "查看历史时不能操作"
    assert served.snapshot() == before


def test_every_acting_route_documents_its_body_for_openapi():
    from starlette.schemas import SchemaGenerator

    from warn.web.acting import ACTS, routes

    schema = SchemaGenerator({"openapi": "3.0.0", "info": {"title": "warn", "version": "1"}}).get_schema(routes)
    assert set(schema["paths"]) == {act.path for act in ACTS}
    mode = schema["paths"]["/api/v1/mode"]["post"]
    body = mode["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["to", "reason"] and body["properties"]["level"]["enum"] == ["IV", "III", "II", "I"]
    assert {"403", "404", "409", "422"} <= set(mode["responses"]) and mode["security"]
