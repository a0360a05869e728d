"""The gate in front of every route: who is asking, and may they.

:class:`Gate` (a pure ASGI middleware, so the server-sent events of ``/events`` stream through it) lets the
open paths through untouched — ``/login``, the signed links ``/a/…``, the gateways' ``/callbacks/…``,
``/health``, ``/static/…`` — and for every other request establishes a :class:`warn.web.viewer.Viewer`
on ``request.state.viewer``:

- ``Authorization: Bearer <token>``: a personal token (``warn token issue``), checked against its scrypt
  digest; the viewer's towns are the person's scope narrowed by the token's (``via`` ``token``);
- else the session cookie ``warn_session`` of a login (:mod:`warn.web.login`), while the session is
  neither expired nor ended (``via`` ``session``).

The towns are the person's scope at the request's moment (:func:`warn.web.reads.moment`), never later than the service's
clock — a post one will hold tomorrow shows nothing today; a person no longer on the roster at all is refused. Without a viewer a page answers 303 to ``/login?next=…`` and ``/api/…`` or ``/events``
401 JSON with ``WWW-Authenticate: Bearer``; nothing is written. A session request that changes anything
(POST, PUT, PATCH, DELETE) must carry the session's CSRF token — header ``X-CSRF-Token``, or field ``csrf``
of a url-encoded form — or is refused 403 before the route sees it (:func:`csrf_token` gives the pages
theirs). Bearer requests need none: no browser sends that header by itself.

Every state-changing request a viewer made that was not refused (status below 400) goes on the timeline
(kind ``web_request``) before the end of its response: method, path, status, person, post, how (session,
token) and client address — never a query string, a body, a token or a session id. A refused one writes
nothing (it is logged, without personal data), as every refusal of the service.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from warn.command.model import OrgUnit
from warn.store.accounts import WEB_REQUEST, Attempt, SessionRow
from warn.web import phone
from warn.vocab import OrgLevel
from warn.desk import Desk, Refused
from warn.web.reads import moment
from warn.web.viewer import Viewer, narrowed, scope_of

log = logging.getLogger(__name__)

#: The session cookie.
COOKIE = "warn_session"
#: Paths that need no viewer: exactly these, or below these prefixes.
OPEN_PATHS = frozenset({"/login", "/health"})
OPEN_PREFIXES = ("/a/", "/callbacks/", "/static/")
#: Methods that change nothing (no CSRF token, not on the timeline).
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Paths whose requests are on the timeline as their own kind (the login and logout), not as ``web_request``.
OWN_ENTRIES = frozenset({"/logout"})
#: How a viewer was established, for people.
VIA_ZH = {"session": "网页", "token": "接口令牌"}
#: The role on the timeline of someone who holds no post (or is not known).
NO_POST = "none"
#: The largest url-encoded form read for its ``csrf`` field (bytes).
FORM_LIMIT = 64 * 1024


def is_open(path: str) -> bool:
    """Whether ``path`` is served without a viewer."""
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


def is_api(path: str) -> bool:
    """Whether ``path`` answers data rather than pages (the API, the map's layers and rain frames, the event stream):
    refused with 401, not sent to the login."""
    return path.startswith(("/api/", "/map/")) or path == "/events"


def scope_moment(request: Request) -> datetime:
    """The moment the viewer's posts are taken at: the moment the request looks at (:func:`warn.web.reads.moment`),
    never later than the service's clock (a post one will hold tomorrow grants nothing today); the clock's when its
    ``?at=`` is no time (the route refuses that itself)."""
    desk: Desk = request.app.state.desk
    try:
        return min(moment(request), desk.clock())
    except Refused:
        return desk.clock()


def address_of(request: Request) -> str:
    """The client address of ``request`` (as the server saw it)."""
    return request.client.host if request.client else "unknown"


def attempt_of(desk: Desk, name: str | None, address: str, at: datetime) -> Attempt:
    """Who ``name`` is for the timeline — logging in or out, or making a request — from ``address`` at ``at``: the
    name only when it is a person on the roster, with the role and org unit of the post they act in then
    (:data:`NO_POST` and empty when they hold none)."""
    if not name or name not in desk.setup.roster.people():
        return Attempt(None, NO_POST, "", address, at)
    post = desk.authority(at).identify(name).post
    return Attempt(name, NO_POST if post is None else str(post.role), "" if post is None else str(post.org),
                   address, at)


def csrf_token(request: Request) -> str:
    """The CSRF token of the request's session, for a page to embed (``<meta name="csrf-token">``); empty for a
    bearer request (which needs none)."""
    found = getattr(request.state, "session", None)
    return found.csrf if isinstance(found, SessionRow) else ""


def session_id(request: Request) -> str | None:
    """The session id the browser sent in its cookie, if any."""
    return request.cookies.get(COOKIE) or None


@dataclass(frozen=True)
class _Found:
    """What the gate found: a viewer (and its session, for the CSRF check), or why there is none."""

    viewer: Viewer | None = None
    session: SessionRow | None = None
    status: int = 401
    zh: str = "请先登录"
    en: str = "log in first"


def _establish(desk: Desk, request: Request, at: datetime) -> _Found:
    """The viewer of ``request`` at ``at`` (module notes), or why there is none."""
    now = desk.clock()
    scheme, _, credential = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        holder = desk.store.tokens.holder(credential.strip())
        if holder is None:
            return _Found(zh="令牌无效或已吊销", en="the bearer token is wrong or revoked")
        person, units, via, session = holder.person, holder.scope, "token", None
    else:
        given = session_id(request)
        session = None if given is None else desk.store.sessions.find(given, now)
        if session is None:
            return _Found(zh="请先登录（或登录已过期）", en="log in first (or your login has expired)")
        person, units, via = session.person, (), "session"
    roster, org = desk.setup.roster, desk.setup.org
    if person not in roster.people():
        return _Found(status=403, zh=f"{person} 已不在值班表上", en=f"{person} is no longer on the roster")
    towns = narrowed(scope_of(roster, org, person, at), (_unit(u) for u in units), org)
    return _Found(Viewer(person, towns, via, address_of(request)), session)


def _unit(text: str) -> OrgUnit:
    """The org unit of its text form (``town.DEMO-T03``)."""
    level, code = text.split(".", 1)
    return OrgUnit(OrgLevel(level), code)


def refused(request: Request, status: int, zh: str, en: str) -> Response:
    """A refusal in the form the path answers in: JSON ``{"error": {status, zh, en}}`` for the API and the event
    stream, else a page (401 on a page: a redirect to the login with ``next``)."""
    path = request.url.path
    if is_api(path):
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
        return JSONResponse({"error": {"status": status, "zh": zh, "en": en}}, status_code=status, headers=headers)
    if status == 401:
        target = path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    return phone.refusal(Refused(status, zh, en))


class Gate:
    """The ASGI middleware that puts a viewer on every request but the open ones (module notes).

    Parameters
    ----------
    app
        The application behind it (the router).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Let the request through with its viewer, or answer the refusal."""
        if scope["type"] != "http" or is_open(scope["path"]):
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        desk: Desk = scope["app"].state.desk
        found = await run_in_threadpool(_establish, desk, request, scope_moment(request))
        if found.viewer is None:
            await refused(request, found.status, found.zh, found.en)(scope, receive, send)
            return
        unsafe = request.method not in SAFE_METHODS
        if unsafe and found.session is not None:
            given, receive = await _csrf_given(request, receive)
            if given is None:
                await refused(request, 413, "表单过大", f"a form over {FORM_LIMIT} bytes")(scope, receive, send)
                return
            if not _same(given, found.session.csrf):
                await refused(request, 403, "缺少或错误的 CSRF 令牌，请刷新页面后重试",
                              "missing or wrong CSRF token: reload the page and try again")(scope, receive, send)
                return
        state = scope.setdefault("state", {})
        state["viewer"], state["session"] = found.viewer, found.session
        if not unsafe or request.url.path in OWN_ENTRIES:
            await self.app(scope, receive, send)
            return
        viewer = found.viewer

        async def audit(status: int) -> None:
            if status < 400:
                await run_in_threadpool(_record, desk, viewer, request.method, request.url.path, status)
            else:
                log.info("拒绝 / refused: %s %s → %d", request.method, request.url.path, status)

        await _served(self.app, scope, receive, send, audit)


async def _served(app: ASGIApp, scope: Scope, receive: Receive, send: Send,
                  before_end: Callable[[int], Awaitable[None]]) -> None:
    """Serve the request, awaiting ``before_end`` with its status before the last part of the response goes
    out: the client holds the whole answer only once what it did is on the timeline."""
    status = 500

    async def sending(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])
        elif message["type"] == "http.response.body" and not message.get("more_body", False):
            await before_end(status)
        await send(message)

    await app(scope, receive, sending)


async def bounded_body(request: Request) -> bytes | None:
    """The request's body when it is at most :data:`FORM_LIMIT` bytes; ``None`` when larger (not read on)."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > FORM_LIMIT:
            return None
    return bytes(body)


async def _csrf_given(request: Request, receive: Receive) -> tuple[str | None, Receive]:
    """The CSRF token the request carries (header, or the ``csrf`` field of a url-encoded form: "" when none)
    and the ``receive`` to pass on (the form's body replayed); ``None`` for a form over :data:`FORM_LIMIT`."""
    header = request.headers.get("x-csrf-token")
    if header is not None:
        return header, receive
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return "", receive
    body = await bounded_body(request)
    if body is None:
        return None, receive
    fields = parse_qs(body.decode("latin-1"), keep_blank_values=True)
    return fields.get("csrf", [""])[0], _replay(body)


def _replay(body: bytes) -> Callable[[], Awaitable[Message]]:
    """A ``receive`` that gives ``body`` once, then what a finished request gives."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _same(given: str, expected: str) -> bool:
    return bool(given) and hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def _record(desk: Desk, viewer: Viewer, method: str, path: str, status: int) -> None:
    """Put a viewer's state-changing request on the timeline (module notes)."""
    from warn.store import NewEntry

    at = desk.clock()
    attempt = attempt_of(desk, viewer.person, viewer.address, at)
    post = f"{attempt.org_unit}.{attempt.role}" if attempt.org_unit else ""
    details: dict[str, Any] = {"method": method, "path": path, "status": status, "via": viewer.via,
                               "post": post, "address": viewer.address}
    desk.store.timeline.append([NewEntry(
        occurred_at=at, actor=viewer.person, role=attempt.role, kind=WEB_REQUEST, org_unit=attempt.org_unit,
        summary=f"{viewer.person} {method} {path} → {status}（{VIA_ZH[viewer.via]}）/ ({viewer.via})",
        details=details)])
