"""Logging in, for the web tests: a password set and a login through ``POST /login``, or a drill's entry.

Each helper logs ``client`` (an httpx client of the served app, which keeps the session cookie) in through
the real login route and returns the session's CSRF token, read back from the store as a page would embed
it (:func:`warn.web.auth.csrf_token`) — send it as ``X-CSRF-Token`` with every POST::

    csrf = login(served, LEADER04, PASSWORD)
    served.client.post("/api/v1/ack", json={"target": TASK04}, headers={"X-CSRF-Token": csrf})

In a real browser (Playwright): :func:`browser_login`, :func:`browser_drill_login`. An API caller with a
personal token (no CSRF token needed): ``served.client.get("/api/v1/tasks", headers=bearer(served, LEADER04))``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import httpx

from tests.web.serving import NOW, Served
from warn.web.auth import COOKIE

if TYPE_CHECKING:
    from playwright.sync_api import Page

#: A password long enough for ``warn account password``.
PASSWORD = "correct horse battery staple"


def give_password(served: Served, person: str, password: str = PASSWORD) -> None:
    """Give ``person`` an account with ``password`` (as ``warn account password`` does)."""
    served.store.accounts.set_password(person, password, by="tests", at=datetime.now(UTC))


def login(served: Served, person: str, password: str = PASSWORD, *, client: httpx.Client | None = None,
          at: datetime = NOW) -> str:
    """Give ``person`` ``password`` and log ``client`` (default the served one) in with it; the CSRF token.

    ``at`` is the service's clock at the login (:data:`~tests.web.serving.NOW` unless the test moves it).
    """
    give_password(served, person, password)
    return _logged_in(served, client or served.client, {"name": person, "password": password}, at)


def drill_login(served: Served, person: str, *, client: httpx.Client | None = None, at: datetime = NOW) -> str:
    """Enter the drill as ``person`` (the login page's drill form, no password); the CSRF token."""
    return _logged_in(served, client or served.client, {"mode": "drill", "person": person}, at)


def bearer(served: Served, person: str, *scope: str) -> dict[str, str]:
    """The headers of an API call with a personal token of ``person`` (narrowed to the org units ``scope``)."""
    token = served.store.tokens.issue(person, by="tests", at=datetime.now(UTC), scope=scope)
    return {"Authorization": f"Bearer {token}"}


def _logged_in(served: Served, client: httpx.Client, form: dict[str, str], at: datetime) -> str:
    response = client.post("/login", data=form)
    assert response.status_code == 303, response.text
    session = served.store.sessions.find(client.cookies[COOKIE], at)
    assert session is not None
    return session.csrf


def browser_login(page: Page, url: str, person: str, password: str = PASSWORD, *, path: str = "/") -> None:
    """Log a Playwright ``page`` in through the login form (its password given first, :func:`give_password`),
    starting at ``path`` of the service at ``url`` (the gate sends it to the login and back)."""
    page.goto(f"{url}{path}")
    page.fill("input[name=name]", person)
    page.fill("input[name=password]", password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()


def browser_drill_login(page: Page, url: str, person: str, *, path: str = "/") -> None:
    """Enter the drill as ``person`` in a Playwright ``page`` through the login page's drill form."""
    page.goto(f"{url}{path}")
    page.select_option("select[name=person]", person)
    page.get_by_role("button", name="进入演练").click()
    page.wait_for_load_state()
