"""Logging in to the centre's pages: ``GET`` / ``POST /login``, ``POST /logout``, and ``GET /api/v1/me``.

A person logs in with their name and the password an administrator set (``warn account password``),
checked against its scrypt digest (:mod:`warn.store.accounts`). A wrong name or password gets one generic
answer, 用户名或密码错误 / wrong name or password — whether the name exists is not said; ``serve.max_failures``
failures in a row lock the account for ``serve.lockout`` (the page says it is locked and until when); one
client address may try ``serve.login_rate`` times a minute, then gets 429 with ``Retry-After``. In a drill
(:func:`warn.check.is_drill`, the rule of the CLI's ``--as``) the page also lets one enter as a chosen
person of the roster without a password; on a live store that is refused.

A login starts a new session (a new id, whatever the browser held before, which is ended) in the cookie
``warn_session`` — HttpOnly, SameSite=Strict, Path=/, Secure when ``serve.public_url`` is https, for
``serve.session_ttl`` — and goes on to ``next`` when that is a path of this service (anything else goes to
``/``: no open redirect). Logins, failures, lockouts and logouts are on the timeline with the address.
``GET /api/v1/me`` says who the gate took the caller for and which towns they see (a token's narrowed scope).
"""

from __future__ import annotations

import math
from datetime import datetime
from html import escape
from urllib.parse import parse_qs, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from warn.check import is_drill
from warn.store.accounts import Attempt, Outcome
from warn.web import pages
from warn.desk import Desk
from warn.web.auth import COOKIE, FORM_LIMIT, address_of, attempt_of, bounded_body, scope_moment, session_id
from warn.web.phone import html_page
from warn.web.viewer import viewer

#: The answer to a wrong name or password, whichever it was.
WRONG = ("用户名或密码错误", "wrong name or password")
#: The longest name and password read from the form (characters; longer ones are wrong).
NAME_LIMIT, PASSWORD_LIMIT = 128, 256
#: The login form's own style, beside the phone pages'.
STYLE = "<style>input[type=password],select{width:100%;font:inherit;padding:10px;border:1px solid #bbb;" \
        "border-radius:8px}.drill{border-left:6px solid #c2410c}</style>"


def safe_next(target: str | None) -> str:
    """``target`` when it is a path of this service (``/…``, not ``//host`` nor ``/\\host``, no scheme, no
    control characters, not the login itself); ``/`` otherwise."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(c) < 32 or c == "\\" for c in target) or parts.path == "/login":
        return "/"
    return target


def login_page(next_path: str, drill_people: list[str] | None, *, error: tuple[str, str] | None = None) -> str:
    """The login page: name and password; in a drill also the choice of a person to enter as."""
    said = (f'<div class="card refused"><h2>{escape(error[0])}</h2><p class="en">{escape(error[1])}</p></div>'
            if error else "")
    hidden = f'<input type="hidden" name="next" value="{escape(next_path)}">'
    body = (f'{said}<form method="post" action="/login" class="card">{hidden}'
            f'<label for="name">姓名<span class="en"> name</span></label>'
            f'<input id="name" type="text" name="name" autocomplete="username" maxlength="{NAME_LIMIT}" required>'
            f'<label for="password">密码<span class="en"> password</span></label>'
            f'<input id="password" type="password" name="password" autocomplete="current-password" '
            f'maxlength="{PASSWORD_LIMIT}" required>'
            f'<button class="ok" type="submit">登录 <span class="en">log in</span></button></form>')
    if drill_people is not None:
        options = "".join(f'<option value="{escape(p)}">{escape(p)}</option>' for p in drill_people)
        body += (f'<form method="post" action="/login" class="card drill">{hidden}'
                 f'<input type="hidden" name="mode" value="drill">'
                 f'<h2>演练：以某人身份进入 <span class="en">drill: enter as a chosen name</span></h2>'
                 f'<p class="meta">本库为演练库，无需密码 <span class="en">a drill\'s store: no password</span></p>'
                 f'<label for="person">值班表上的人<span class="en"> a person on the roster</span></label>'
                 f'<select id="person" name="person">{options}</select>'
                 f'<button class="help" type="submit">进入演练 <span class="en">enter the drill</span></button></form>')
    return pages.page("登录 · 指挥中心", "Log in to the command centre", STYLE + body)


def _drill_people(desk: Desk) -> list[str] | None:
    """The persons one may enter a drill as (the roster's); ``None`` when the store is not a drill's."""
    return sorted(desk.setup.roster.people()) if is_drill(desk.settings, desk.store) else None


def _page(desk: Desk, next_path: str, status: int = 200, error: tuple[str, str] | None = None,
          headers: dict[str, str] | None = None) -> Response:
    response = html_page(login_page(next_path, _drill_people(desk), error=error), status)
    response.headers.update(headers or {})
    return response


async def show(request: Request) -> Response:
    """``GET /login``: the form."""
    desk: Desk = request.app.state.desk
    next_path = safe_next(request.query_params.get("next"))
    return await run_in_threadpool(_page, desk, next_path)


async def log_in(request: Request) -> Response:
    """``POST /login``: a password or (in a drill) a chosen name; a session and on to ``next``, or why not."""
    desk: Desk = request.app.state.desk
    body = await bounded_body(request)
    if body is None:
        return html_page(pages.refused_page(413, "表单过大", f"a form over {FORM_LIMIT} bytes"), 413)
    form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}
    return await run_in_threadpool(_log_in, desk, form, address_of(request), session_id(request))


def _log_in(desk: Desk, form: dict[str, str], address: str, held: str | None) -> Response:
    serve = desk.settings.serve
    now = desk.clock()
    next_path = safe_next(form.get("next"))
    wait = desk.store.login_attempts.admit(address, now, rate=serve.login_rate)
    if wait.total_seconds() > 0:
        seconds = max(1, math.ceil(wait.total_seconds()))
        return _page(desk, next_path, 429, (f"尝试过于频繁，请 {seconds} 秒后再试",
                                            f"too many attempts: try again in {seconds} s"),
                     {"Retry-After": str(seconds)})
    if form.get("mode") == "drill":
        return _drill(desk, form.get("person", ""), address, now, held, next_path)
    name, password = form.get("name", "").strip()[:NAME_LIMIT], form.get("password", "")[:PASSWORD_LIMIT]
    attempt = attempt_of(desk, name, address, now)
    verdict = desk.store.accounts.check(attempt, password, max_failures=serve.max_failures, lockout=serve.lockout)
    if verdict.outcome is Outcome.LOCKED and verdict.locked_until is not None:
        until = desk.settings.local(verdict.locked_until)
        return _page(desk, next_path, 423, (f"账户已锁定至 {until:%m-%d %H:%M}，请稍后再试或联系管理员",
                                            f"the account is locked until {until:%Y-%m-%d %H:%M %Z}: try later "
                                            "or ask an administrator (warn account unlock)"))
    if verdict.outcome is not Outcome.OK:
        return _page(desk, next_path, 401, WRONG)
    return _started(desk, attempt, "password", held, next_path)


def _drill(desk: Desk, person: str, address: str, now: datetime, held: str | None, next_path: str) -> Response:
    if not is_drill(desk.settings, desk.store):
        return _page(desk, next_path, 403, ("以某人身份进入仅用于演练：本部署为正式运行，请用密码登录",
                                            "entering as a chosen name is for drills only: this deployment is "
                                            "live, log in with your password"))
    attempt = attempt_of(desk, person, address, now)
    if attempt.person is None:
        return _page(desk, next_path, 403, ("此人不在值班表上", "not a person on the roster"))
    return _started(desk, attempt, "drill", held, next_path)


def _started(desk: Desk, attempt: Attempt, how: str, held: str | None, next_path: str) -> Response:
    """A new session for ``attempt`` (``held``, the browser's earlier one, ended) and on to ``next_path``."""
    serve = desk.settings.serve
    new_id, _csrf = desk.store.sessions.start(attempt, how=how, ttl=serve.session_ttl, ending=held)
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(COOKIE, new_id, max_age=int(serve.session_ttl.total_seconds()), path="/",
                        secure=serve.public_url.startswith("https://"), httponly=True, samesite="strict")
    return response


async def log_out(request: Request) -> Response:
    """``POST /logout`` (behind the gate, with the CSRF token): end the session, back to the login."""
    desk: Desk = request.app.state.desk
    who = viewer(request)
    held = session_id(request)
    if held is not None and who.via == "session":
        attempt = attempt_of(desk, who.person, who.address, desk.clock())
        await run_in_threadpool(desk.store.sessions.end, held, attempt)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response


async def me(request: Request) -> Response:
    """``GET /api/v1/me``: who the caller is taken for.

    ---
    summary: Who the caller is taken for, and which towns they see
    description: The person of the session or bearer token, their post now, how they were identified, and the
      towns whose items they see and act on (null for the whole district; a token's scope narrows it).
    responses:
      200:
        description: The caller.
        content:
          application/json:
            schema:
              type: object
              properties:
                person: {type: string}
                post: {type: string, nullable: true, example: town.DEMO-T04.town_leader}
                via: {type: string, enum: [session, token]}
                towns: {type: array, items: {type: string}, nullable: true}
      401:
        description: No session or bearer token, or a wrong, revoked or expired one.
      403:
        description: The person is no longer on the roster.
    security: [{bearer: []}, {session: []}]
    """
    desk: Desk = request.app.state.desk
    who = viewer(request)
    attempt = attempt_of(desk, who.person, who.address, scope_moment(request))
    return JSONResponse({"person": who.person, "post": f"{attempt.org_unit}.{attempt.role}" if attempt.org_unit else None,
                         "via": who.via, "towns": None if who.towns is None else sorted(who.towns)})


#: The routes of logging in and out, and of who one is.
routes: list[BaseRoute] = [Route("/login", show, methods=["GET"]), Route("/login", log_in, methods=["POST"]),
                           Route("/logout", log_out, methods=["POST"]), Route("/api/v1/me", me, methods=["GET"])]
