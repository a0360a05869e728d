"""The read API over a real server: the CLI's JSON forms, ``?at``, the viewer's towns, the OpenAPI document."""

from __future__ import annotations

import json
from datetime import timedelta

from typer.testing import CliRunner

from tests.conftest import ROOT
from tests.web.serving import LEADER04, NOW, TASK04
from tests.web.standin import TOWN04, TOWN16, application, as_person, route_paths

VIEWS = ("status", "warnings", "zones", "incidents", "tasks", "calls", "timeline", "feeds")


def test_every_view_answers_what_the_cli_prints(looking) -> None:
    from warn.cli.main import app

    for view in VIEWS:
        got = looking.client.get(f"/api/v1/{view}", params={"at": NOW.isoformat()})
        assert got.status_code == 200, (view, got.text)
        assert got.headers["content-type"].startswith("application/json")
        args = [view, "--json", "--store", str(looking.db), "--at", NOW.isoformat(), "--config",
                str(ROOT / "config.yaml")]
        printed = CliRunner().invoke(app, args, env={"NO_COLOR": "1"})
        assert printed.exit_code == 0, printed.output
        assert got.json() == json.loads(printed.output), view


def test_at_looks_at_that_moment_and_the_service_clock_without_it(looking) -> None:
    now = looking.client.get("/api/v1/timeline", params={"last": 5000}).json()
    earlier = looking.client.get("/api/v1/timeline", params={"last": 5000,
                                                              "at": (NOW - timedelta(hours=3)).isoformat()}).json()
    assert 0 < len(earlier) < len(now)
    assert max(e["occurred_at"] for e in earlier) <= (NOW - timedelta(hours=3)).isoformat()
    assert looking.client.get("/api/v1/status").json()["at"] == NOW.isoformat()
    since = (NOW - timedelta(hours=1)).isoformat()
    recent = looking.client.get("/api/v1/timeline", params={"last": 5000, "since": since}).json()
    assert recent and all(e["occurred_at"] >= since for e in recent) and len(recent) < len(now)
    tasks_then = looking.client.get("/api/v1/tasks", params={"at": "2026-07-15T12:00+08:00"}).json()
    assert len(tasks_then) < len(looking.client.get("/api/v1/tasks").json())


def test_a_town_viewer_sees_only_their_town(looking) -> None:
    town = as_person(TOWN04)
    tasks = looking.client.get("/api/v1/tasks", headers=town).json()
    assert TASK04 in {t["task_id"] for t in tasks}
    assert {t["org_unit"].split(".")[1][:8] for t in tasks} == {"DEMO-T04"}
    calls = looking.client.get("/api/v1/calls", headers=town).json()
    assert calls and all(".DEMO-T04" in c["post"] for c in calls)
    warnings = looking.client.get("/api/v1/warnings", headers=town).json()
    zones = looking.client.get("/api/v1/zones", headers=town).json()
    everywhere = looking.client.get("/api/v1/zones").json()
    assert warnings and {w["item_id"] for w in warnings} <= {z["item_id"] for z in zones}
    assert 0 < len(zones) < len(everywhere) and "500112" not in {z["item_id"] for z in zones}
    status = looking.client.get("/api/v1/status", headers=town).json()
    assert all(".DEMO-T04" in c["addressee"] for c in status["unanswered_calls"])
    other = looking.client.get("/api/v1/tasks", headers=as_person(TOWN16)).json()
    assert other and TASK04 not in {t["task_id"] for t in other}
    entries = looking.client.get("/api/v1/timeline", headers=town, params={"last": 5000}).json()
    assert entries and all(e["actor"] != "warn" or "DEMO-T04" in e["summary"] for e in entries)
    assert len(entries) < len(looking.client.get("/api/v1/timeline", params={"last": 5000}).json())
    assert LEADER04 == TOWN04


def test_tasks_mine_and_overdue(looking) -> None:
    mine = looking.client.get("/api/v1/tasks", params={"mine": "true"}, headers=as_person(TOWN04)).json()
    assert [t["task_id"] for t in mine] == [TASK04]
    overdue = looking.client.get("/api/v1/tasks", params={"overdue": "1"}).json()
    assert all(t["overdue_s"] > 0 for t in overdue)


def test_bad_queries_are_refused_clearly_and_write_nothing(looking) -> None:
    before = looking.snapshot()
    for path, params, says in [("/api/v1/status", {"at": "yesterday"}, "at: expected an ISO 8601 time with a zone"),
                               ("/api/v1/tasks", {"at": "2026-07-15T05:00"}, "with a zone"),
                               ("/api/v1/timeline", {"since": "soon"}, "since: expected an ISO 8601 time"),
                               ("/api/v1/items/DEMO-T04", {"at": "0001-01-01T00:00+00:00"}, "at: expected"),
                               ("/api/v1/zones", {"hazard": "tsunami"}, "hazard: expected one of"),
                               ("/api/v1/warnings", {"level": "purple"}, "level: expected one of"),
                               ("/api/v1/timeline", {"last": "0"}, "last: expected a whole number")]:
        got = looking.client.get(path, params=params)
        assert got.status_code == 422, (path, got.text)
        error = got.json()["error"]
        assert error["status"] == 422 and says in error["en"] and error["zh"]
    assert looking.snapshot() == before
    assert looking.client.get("/health").text == "ok"


def test_openapi_lists_every_api_route(looking) -> None:
    document = looking.client.get("/api/v1/openapi.json").json()
    assert document["openapi"].startswith("3.") and document["info"]["title"] == "warn API"
    assert set(document["components"]["securitySchemes"]) == {"bearer", "session"}
    wanted = {path for path in route_paths(application(looking.store)) if path.startswith("/api/v1/")}
    assert {f"/api/v1/{view}" for view in VIEWS} | {"/api/v1/situation", "/api/v1/items/{item_id}"} <= wanted
    assert wanted <= set(document["paths"])
    assert "get" in document["paths"]["/api/v1/situation"]
    assert all("401" in operation["responses"] for operations in document["paths"].values()
               for operation in operations.values())


def test_a_store_that_cannot_be_read_is_a_503_and_the_service_keeps_running(looking) -> None:
    looking.db.write_bytes(b"not a database" * 100)
    got = looking.client.get("/api/v1/status")
    assert got.status_code == 503 and got.json()["error"]["en"].startswith("the store cannot be read now")
    assert looking.client.get("/health").text == "ok"
