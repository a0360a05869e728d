"""The Starlette application of ``warn serve`` (:func:`create_app`).

Routes: ``GET`` / ``POST /a/{token}`` (the phone page, :mod:`warn.web.phone`), ``GET`` / ``POST
/callbacks/{channel}`` (the gateways, :mod:`warn.web.callbacks`), ``GET /health``, ``GET`` / ``POST /login``,
``POST /logout`` (:mod:`warn.web.login`), ``POST /api/v1/{ack,approve,reject,done,assign,notes,mode,broadcasts}``
(the duty desk's acts, :mod:`warn.web.acting`) and the read API, the situation and its events
(:mod:`warn.web.api`). Every path but the links, the callbacks, the health check, the login and the static assets
is behind the gate (:class:`warn.web.auth.Gate`), which answers 401 or a redirect to the login without a session
or token. An unknown path or method gets a short page that says so, zh-CN then English; an error inside a request
is logged and answered 500 — the service keeps running.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from warn.command.planner import Setup
from warn.config import Settings
from warn.store import Store
from warn.vocab import CapStatus
from warn.desk import Desk, Refused, link_secret
from warn.web import acting, api, callbacks, login, phone, screen
from warn.web.auth import Gate

log = logging.getLogger(__name__)


def create_app(settings: Settings, store: Store, setup: Setup, *, clock: Callable[[], datetime],
               env: Mapping[str, str], config: Path, lock: threading.Lock | None = None,
               status: CapStatus | None = None, sender: str | None = None,
               people: callbacks.People | None = None, fixed_at: datetime | None = None) -> Starlette:
    """The web service of a deployment on its (migrated) store.

    Parameters
    ----------
    settings, store, setup
        The deployment, its store and the planner's setup (roster, playbooks).
    clock
        The service's clock (UTC-aware): the wall clock, or a drill's.
    env
        Where the links' secret (``serve.link_secret``) and the channels' callback secrets are read.
    config
        The config file (checked by :func:`warn.check.publish_status` before a first Actual message).
    lock
        The lock around plan-and-record, shared with the service's jobs inside ``warn run``.
    status, sender
        The CAP status and sender of what answers release (the service's); default: the store's.
    people
        Who is behind a contact point (``Directory.person_by`` of the people directory), for the answers
        that name their sender by mobile or platform user id; ``None``: those are unmatched.
    fixed_at
        The moment the centre's pages and API show when a request names none (``warn serve --at``: looking back at
        a drill or a storm, read only); ``None``: the service's clock.

    Raises
    ------
    ConfigError
        The links' secret is missing or too short.
    """
    desk = Desk(settings, store, setup, clock, link_secret(settings, dict(env)), config, status, sender,
                lock or threading.Lock())
    app = Starlette(routes=[Route("/a/{token}", phone.show, methods=["GET"]),
                            Route("/a/{token}", phone.act, methods=["POST"]),
                            Route("/callbacks/{channel}", callbacks.callback, methods=["GET", "POST"]),
                            Route("/health", _health, methods=["GET"]), *login.routes, *acting.routes, *api.routes,
                            *screen.routes],
                    middleware=[Middleware(Gate)], exception_handlers={HTTPException: _http_error, Exception: _failed})
    app.state.desk = desk
    app.state.env = dict(env)
    app.state.people = people
    app.state.fixed_at = fixed_at
    return app


def redacted(path: str) -> str:
    """``path`` without a link's token (``/a/…``), fit for a log."""
    return "/a/…" if path.startswith("/a/") else path


async def _health(_request: Request) -> Response:
    return PlainTextResponse("ok")


async def _http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    zh = {404: "无此页面", 405: "不支持此操作"}.get(exc.status_code, "请求无法处理")
    return phone.refusal(Refused(exc.status_code, zh, str(exc.detail)))


async def _failed(request: Request, exc: Exception) -> Response:
    log.error("请求失败 / request failed: %s %s: %s", request.method, redacted(request.url.path),
              type(exc).__name__, exc_info=exc)
    return phone.refusal(Refused(500, "服务内部错误，请稍后再试或电话报告", "internal error: try again later or phone in"))
