"""A stand-in for the gate, for the read routes' tests until the auth part's gate (warn.web.auth) is merged.

``StandInGate`` puts a :class:`warn.web.viewer.Viewer` on every request that names a person on the roster in the
header :data:`PERSON` — their scope computed as the real gate computes it (:func:`warn.web.viewer.scope_of`) —
and none otherwise, so the routes refuse as they would behind the gate. Test-only: the lead replaces it with
real logins (``login(...)``) when the gate lands. ``looking`` is the served store with the stand-in in front.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, unquote

import httpx
import pytest
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from tests.conftest import ROOT
from tests.web.serving import ENV, NOW, Served, person_of
from warn import hazards
from warn.command.loading import load_setup
from warn.command.planner import Setup
from warn.config import load_settings
from warn.store import Store
from warn.web import create_app
from warn.web.server import Background
from warn.web.viewer import Viewer, scope_of

#: The header naming the person (percent-encoded UTF-8).
PERSON = "x-stand-in-person"
#: A district duty officer, and the town leaders of DEMO-T04 and DEMO-T16.
DISTRICT, TOWN04, TOWN16 = "演示值班员01", "演示镇街负责人04", "演示镇街负责人16"


class StandInGate:
    """Pure ASGI middleware: the viewer named by :data:`PERSON`, scoped at the service's time."""

    def __init__(self, app: ASGIApp, setup: Setup) -> None:
        self.app, self.setup = app, setup

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            named = Headers(scope=scope).get(PERSON)
            if named:
                person = unquote(named)
                towns = scope_of(self.setup.roster, self.setup.org, person, NOW)
                scope.setdefault("state", {})["viewer"] = Viewer(person, towns, "session", "127.0.0.1")
        await self.app(scope, receive, send)


def as_person(person: str) -> dict[str, str]:
    """The headers that make the stand-in see ``person``."""
    return {PERSON: quote(person)}


def application(store: Store) -> Starlette:
    """The service of config.yaml on ``store`` at :data:`NOW`, behind the stand-in gate."""
    settings = load_settings(ROOT / "config.yaml")
    assert settings.command is not None
    setup = load_setup(settings.command, settings.deployment.district_code, hazards.names_zh(),
                       roster_limit=settings.files.max_roster_bytes)
    app = create_app(settings, store, setup, clock=lambda: NOW, env=ENV, config=ROOT / "config.yaml",
                     people=person_of)
    app.add_middleware(StandInGate, setup=setup)
    return app


def route_paths(app: Starlette) -> set[str]:
    """The paths of the application's routes as OpenAPI writes them (``{item_id:path}`` → ``{item_id}``)."""
    return {re.sub(r":\w+}", "}", route.path) for route in app.routes if isinstance(route, Route)}


@contextmanager
def serving(db: Path) -> Iterator[Served]:
    """The service with the stand-in gate over the store ``db`` (migrated first); the client is the district duty
    officer."""
    store = Store.connect(f"sqlite:///{db}", now=lambda: NOW)
    store.upgrade()
    running = Background(application(store), "127.0.0.1", 0).start()
    try:
        with httpx.Client(base_url=running.url, timeout=30, headers=as_person(DISTRICT)) as client:
            yield Served(running.url, db, store, client)
    finally:
        running.stop()
        store.close()


@pytest.fixture
def looking(early: Path, tmp_path: Path) -> Iterator[Served]:
    """:func:`serving` over a copy of the store replayed to 05:00Z."""
    with serving(Path(shutil.copy(early, tmp_path / "warn.db"))) as served:
        yield served
