"""TEST-ONLY stand-in for the login gate (warn.web.auth, the auth part) until it is merged.

:class:`StandInGate` establishes the viewer of a request from a cookie (the browser) or a header (httpx)
naming the person, scoped exactly as the gate scopes a person (:func:`warn.web.viewer.scope_of` at the
service's moment). It checks no password and no CSRF token: it exists only so the page's tests can run
before the real gate lands. At merge, :func:`login` becomes the auth part's drill login and
:func:`token_headers` a personal token's ``Authorization: Bearer`` header, and this module goes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from urllib.parse import quote, unquote

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from warn.command.planner import Setup
from warn.web.viewer import Viewer, scope_of

COOKIE = "warn_test_person"
HEADER = "x-test-person"
#: Paths open without a viewer (as the gate leaves them open).
OPEN = ("/static/", "/a/", "/callbacks/", "/health", "/login")


class StandInGate:
    """TEST-ONLY: the viewer named by the ``warn_test_person`` cookie or ``X-Test-Person`` header (see module)."""

    def __init__(self, app: ASGIApp, setup: Setup, clock: Callable[[], datetime]) -> None:
        self.app, self.setup, self.clock = app, setup, clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(OPEN):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        named = request.headers.get(HEADER) or request.cookies.get(COOKIE)
        if not named:
            await JSONResponse({"error": {"status": 401, "zh": "未登录", "en": "not logged in"}}, 401)(
                scope, receive, send)
            return
        person = unquote(named)
        towns = scope_of(self.setup.roster, self.setup.org, person, self.clock())
        via = "token" if HEADER in request.headers else "session"
        scope.setdefault("state", {})["viewer"] = Viewer(person, towns, via, request.client.host if request.client
                                                         else "")
        await self.app(scope, receive, send)


def login(context, url: str, person: str) -> None:
    """Log ``person`` in in a Playwright browser context (the stand-in: a cookie naming them)."""
    context.add_cookies([{"name": COOKIE, "value": quote(person), "url": url}])


def token_headers(person: str) -> dict[str, str]:
    """The headers of an API request by ``person`` (the stand-in: a header naming them)."""
    return {HEADER: quote(person)}
