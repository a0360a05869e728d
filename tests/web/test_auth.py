"""The gate and the login, over HTTP on a real server (issue 18 "who you are, for real").

Every route but the open ones refuses a request without a session or token and writes nothing; password
logins, their failures, the lockout, the per-address rate limit and the unlock; the CSRF token on a
session's changes; a session's expiry; a token's scope narrowing what its holder sees; no open redirect;
the drill's entry refused on a live store; what goes on the timeline (and what never does).
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from starlette.routing import Mount, Route
from typer.testing import CliRunner

from tests.conftest import ROOT
from tests.web.login import PASSWORD, bearer, drill_login, give_password, login
from tests.web.serving import LEADER04, NOW, Served, running
from warn.cli.main import app as cli
from warn.config import load_settings
from warn.store.accounts import Attempt
from warn.web.auth import COOKIE, is_open
from warn.web.login import safe_next

DUTY, COMMANDER = "演示值班员01", "演示指挥长01"
#: Paths of the centre's URL map that need a viewer, whichever part serves them (the gate answers first).
MAPPED = ("/", "/events", "/api/v1/status", "/api/v1/situation", "/api/v1/openapi.json", "/map/layers.json",
          "/api/v1/items/INC-x/a0", "/nowhere")


@dataclass
class Clock:
    """The service's clock, moved by the test."""

    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def gated(early: Path, tmp_path: Path, clock: Clock) -> Iterator[Served]:
    """The served demo store on a clock the test moves."""
    with running(Path(shutil.copy(early, tmp_path / "warn.db")), clock=clock) as service:
        yield service


def me(served: Served, **kwargs: object) -> httpx.Response:
    return served.client.get("/api/v1/me", **kwargs)


def as_cookie(served: Served, session: str) -> httpx.Response:
    """``GET /api/v1/me`` by a new browser holding only the session cookie ``session``."""
    return httpx.get(f"{served.url}/api/v1/me", headers={"Cookie": f"{COOKIE}={session}"})


def requests_of(served: Served) -> Iterator[tuple[str, str]]:
    """(method, path) of every route of the app (path parameters filled in), then the URL map's paths."""
    assert served.app is not None
    for route in served.app.routes:
        if isinstance(route, Route):
            path = re.sub(r"\{[^}]+\}", "x/y", route.path)
            yield from ((method, path) for method in sorted(route.methods or ()) if method != "HEAD")
        elif isinstance(route, Mount):
            yield "GET", f"{route.path}/x"
    yield from (("GET", path) for path in MAPPED)
    yield "POST", "/api/v1/ack"


def test_every_route_without_a_session_or_token_is_refused_and_writes_nothing(served):
    before = served.snapshot()
    gated = 0
    strangers = {"none": {}, "bad token": {"Authorization": "Bearer wt_0000_nope"},
                 "forged cookie": {"Cookie": f"{COOKIE}=forged"}}
    for method, path in requests_of(served):
        if is_open(path):
            continue
        for headers in strangers.values():
            response = served.client.request(method, path, headers=headers, data={"csrf": "x"})
            if path.startswith(("/api/", "/map/")) or path == "/events":  # data: 401; pages: to the login
                assert response.status_code == 401, (method, path, response.text)
                assert response.headers["WWW-Authenticate"] == "Bearer"
                assert response.json()["error"]["status"] == 401 and response.json()["error"]["zh"]
            else:
                assert response.status_code == 303, (method, path, response.text)
                assert response.headers["location"].startswith("/login?next=%2F")
        gated += 1
    assert gated >= len(MAPPED) + 2  # /logout and /api/v1/me of the app, and the map's paths
    assert {"/", "/api/v1/status", "/map/layers.json", "/events"} <= {p for _, p in requests_of(served)}
    assert served.snapshot() == before


def test_a_login_gives_a_session_the_gate_takes_and_a_logout_ends_it(served):
    page = served.client.get("/login")
    assert page.status_code == 200 and "frame-ancestors 'none'" in page.headers["content-security-policy"]
    csrf = login(served, DUTY)
    cookie = served.client.cookies[COOKIE]
    assert cookie.encode() not in served.db.read_bytes()  # only its SHA-256 is kept
    response = served.client.post("/login", data={"name": DUTY, "password": PASSWORD})
    assert served.client.cookies[COOKIE] != cookie  # a new login, a new id; the old one ended
    assert as_cookie(served, cookie).status_code == 401
    set_cookie = response.headers["set-cookie"].lower()
    assert all(word in set_cookie for word in ("httponly", "samesite=strict", "path=/", "max-age=43200"))
    assert "secure" not in set_cookie  # http://127.0.0.1: no https
    csrf = served.store.sessions.find(served.client.cookies[COOKIE], NOW).csrf
    mine = me(served).json()
    assert mine == {"person": DUTY, "post": mine["post"], "via": "session", "towns": None}  # a district post
    assert served.client.post("/logout", data={"csrf": csrf}).status_code == 303
    assert me(served).status_code == 401
    entries = served.query("select kind, actor, details from timeline where kind in ('login', 'logout') "
                           "order by seq")
    assert [(kind, actor) for kind, actor, _ in entries] == [("login", DUTY), ("login", DUTY), ("logout", DUTY)]
    assert all(json.loads(details)["address"] == "127.0.0.1" for _, _, details in entries)
    everything = "".join(map(str, served.query("select summary, details from timeline")))
    assert PASSWORD not in everything and cookie not in everything and csrf not in everything


def test_a_wrong_password_and_an_unknown_name_get_the_same_answer(served):
    give_password(served, DUTY)
    wrong = served.client.post("/login", data={"name": DUTY, "password": "not the password"})
    unknown = served.client.post("/login", data={"name": "无此人", "password": "not the password"})
    assert wrong.status_code == unknown.status_code == 401
    assert "用户名或密码错误" in wrong.text and "wrong name or password" in wrong.text
    assert wrong.text == unknown.text
    assert COOKIE not in served.client.cookies
    assert served.query("select actor, json_extract(details, '$.outcome') from timeline where kind = 'login' "
                        "order by seq") == [(DUTY, "failed"), ("unknown name", "failed")]
    assert "无此人" not in str(served.query("select summary, details from timeline where kind = 'login'"))


def test_repeated_failures_lock_the_account_until_unlocked_or_the_lockout_ends(gated, clock):
    give_password(gated, DUTY)
    answers = [gated.client.post("/login", data={"name": DUTY, "password": f"wrong {i}"}) for i in range(5)]
    assert [a.status_code for a in answers] == [401, 401, 401, 401, 423]
    assert "已锁定" in answers[-1].text and "locked until" in answers[-1].text
    right = gated.client.post("/login", data={"name": DUTY, "password": PASSWORD})
    assert right.status_code == 423 and COOKIE not in gated.client.cookies  # locked: not even the right one
    assert gated.query("select count(*) from timeline where kind = 'lockout' and actor = ?", DUTY) == [(1,)]
    listed = CliRunner().invoke(cli, ["account", "list", "--json", "--store", str(gated.db),
                                      "--config", str(ROOT / "config.yaml")])
    assert listed.exit_code == 0 and '"locked_until": "2026-07-15T05:20:00+00:00"' in listed.stdout
    assert "digest" not in listed.stdout and "salt" not in listed.stdout
    clock.now = NOW + timedelta(minutes=15, seconds=1)
    assert gated.client.post("/login", data={"name": DUTY, "password": PASSWORD}).status_code == 303
    gated.client.cookies.clear()
    for i in range(5):
        gated.client.post("/login", data={"name": DUTY, "password": f"wrong again {i}"})
    unlocked = CliRunner().invoke(cli, ["account", "unlock", DUTY, "--store", str(gated.db),
                                        "--config", str(ROOT / "config.yaml")])
    assert unlocked.exit_code == 0, unlocked.output
    assert login(gated, DUTY, at=clock.now)


def test_one_address_may_try_login_rate_times_a_minute(gated, clock):
    for i in range(10):
        assert gated.client.post("/login", data={"name": "无此人", "password": f"guess {i}"}).status_code == 401
    limited = gated.client.post("/login", data={"name": DUTY, "password": PASSWORD})
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "60"
    assert "尝试过于频繁" in limited.text
    clock.now = NOW + timedelta(seconds=30)
    assert gated.client.post("/login", data={"name": "无此人", "password": "x"}).headers["Retry-After"] == "30"
    clock.now = NOW + timedelta(seconds=61)
    assert login(gated, DUTY, at=clock.now)


def test_a_session_change_without_its_csrf_token_is_refused_and_writes_nothing(served):
    csrf = login(served, DUTY)
    before = served.snapshot()
    for form, headers in (({}, {}), ({"csrf": "wrong"}, {}), ({}, {"X-CSRF-Token": "wrong"}),
                          ({"csrf": csrf}, {"X-CSRF-Token": "wrong"})):
        refused = served.client.post("/logout", data=form, headers=headers)
        assert refused.status_code == 403 and "CSRF" in refused.text
    assert served.client.post("/api/v1/ack", json={"target": "x"}).json()["error"]["status"] == 403
    assert served.snapshot() == before and me(served).status_code == 200
    assert served.client.post("/logout", headers={"X-CSRF-Token": csrf}).status_code == 303


def test_a_session_expires_after_session_ttl(gated, clock):
    login(gated, DUTY)
    clock.now = NOW + timedelta(hours=12) - timedelta(seconds=1)
    assert me(gated).status_code == 200
    clock.now = NOW + timedelta(hours=12)
    assert me(gated).status_code == 401
    page = gated.client.get("/some/page?at=2026-07-15T05:00Z")
    assert page.status_code == 303 and page.headers["location"] == "/login?next=%2Fsome%2Fpage%3Fat%3D2026-07-15T05%3A00Z"


def test_a_tokens_scope_narrows_what_its_holder_sees(served):
    def towns(headers: dict[str, str]) -> list[str] | None:
        response = me(served, headers=headers)
        assert response.status_code == 200, response.text
        assert response.json()["via"] == "token"
        return response.json()["towns"]

    assert towns(bearer(served, LEADER04)) == ["DEMO-T04"]  # their post's town
    district = bearer(served, DUTY)
    assert towns(district) is None  # a district post: all
    token = district["Authorization"]
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")  # its id, another secret
    assert me(served, headers={"Authorization": forged}).status_code == 401
    assert towns(bearer(served, DUTY, "town.DEMO-T03")) == ["DEMO-T03"]
    at = {"at": "2026-07-01T00:00Z"}  # before the demo roster's week: no post then
    assert me(served, headers=district, params=at).json()["towns"] == []
    at = {"at": "2026-08-01T00:00Z"}  # after it: the moment is now, never later
    assert me(served, headers=district, params=at).json()["towns"] is None
    assert towns(bearer(served, LEADER04, "town.DEMO-T16")) == []
    revoked = bearer(served, COMMANDER)
    assert towns(revoked) is None
    served.store.tokens.revoke(COMMANDER, by="tests", at=NOW)
    assert me(served, headers=revoked).status_code == 401  # at once


def test_the_token_scope_option_of_warn_token_issue(served):
    def issue(*scope: str):
        return CliRunner().invoke(cli, ["token", "issue", DUTY, *scope, "--store", str(served.db),
                                        "--config", str(ROOT / "config.yaml")])

    bad = issue("--scope", "town.NOWHERE")
    assert bad.exit_code == 2 and "town.NOWHERE" in bad.output
    good = issue("--scope", "town.DEMO-T04", "--scope", "town.DEMO-T16")
    assert good.exit_code == 0, good.output
    token = good.stdout.strip().splitlines()[-1]
    assert me(served, headers={"Authorization": f"Bearer {token}"}).json()["towns"] == ["DEMO-T04", "DEMO-T16"]


def test_a_person_no_longer_on_the_roster_is_refused(served):
    gone = served.store.sessions.start(Attempt("已调离的人", "none", "", "127.0.0.1", NOW), how="password",
                                       ttl=timedelta(hours=1))[0]
    response = as_cookie(served, gone)
    assert response.status_code == 403 and "no longer on the roster" in response.json()["error"]["en"]


@pytest.mark.parametrize(("target", "lands"), [
    ("/api/v1/me?x=1", "/api/v1/me?x=1"), ("https://evil.example/", "/"), ("//evil.example/x", "/"),
    ("/\\evil.example", "/"), ("javascript:alert(1)", "/"), ("/login", "/"), ("", "/")])
def test_a_login_goes_on_to_a_local_path_only(served, target, lands):
    assert safe_next(target) == lands
    give_password(served, DUTY)
    response = served.client.post("/login", data={"name": DUTY, "password": PASSWORD, "next": target})
    assert response.status_code == 303 and response.headers["location"] == lands


def test_the_drill_entry_works_in_a_drill_only(served, tmp_path):
    page = served.client.get("/login")
    assert "演练：以某人身份进入" in page.text and DUTY in page.text
    drill_login(served, DUTY)
    assert me(served).json()["person"] == DUTY
    assert served.query("select json_extract(details, '$.how') from timeline where kind = 'login'") == [("drill",)]
    settings = load_settings(ROOT / "config.yaml")
    live = settings.model_copy(update={"deployment": settings.deployment.model_copy(update={"live": True})})
    with running(tmp_path / "live.db", settings=live) as service:
        assert "演练" not in service.client.get("/login").text
        before = service.snapshot()
        refused = service.client.post("/login", data={"mode": "drill", "person": DUTY})
        assert refused.status_code == 403 and "drills only" in refused.text
        assert COOKIE not in service.client.cookies and service.snapshot() == before


def test_a_viewers_changes_go_on_the_timeline_and_refusals_do_not(served):
    csrf = login(served, LEADER04)
    token = bearer(served, DUTY)
    note = {"text": "电话报告：村道出现裂缝"}
    assert served.client.post("/api/v1/notes", json=note, headers={"X-CSRF-Token": csrf}).status_code == 200
    served.client.cookies.clear()
    assert served.client.post("/api/v1/notes", json=note, headers=token).status_code == 200
    before = served.snapshot()
    past = served.client.post("/api/v1/notes?at=2026-07-15T04:00Z", json=note, headers=token)
    assert past.status_code == 409  # only looking at the past: refused, and not on the timeline
    assert served.snapshot() == before
    rows = served.query("select actor, org_unit, json_extract(details, '$.path'), json_extract(details, '$.status'),"
                        " json_extract(details, '$.via'), json_extract(details, '$.address') from timeline "
                        "where kind = 'web_request' order by seq")
    assert rows == [(LEADER04, "town.DEMO-T04", "/api/v1/notes", 200, "session", "127.0.0.1"),
                    (DUTY, rows[1][1], "/api/v1/notes", 200, "token", "127.0.0.1")]
    assert token["Authorization"].split()[1] not in str(served.query("select summary, details from timeline"))

