"""Looking at a served store through the real gate: the read routes' service, its client carrying the district duty
officer's bearer token (``warn token issue``), and the persons the read tests look as."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from tests.web.login import bearer
from tests.web.serving import Served, running

#: A district duty officer, and the town leaders of DEMO-T04 and DEMO-T16.
DISTRICT, TOWN04, TOWN16 = "演示值班员01", "演示镇街负责人04", "演示镇街负责人16"


@contextmanager
def looking_at(db: Path) -> Iterator[Served]:
    """The service over the store ``db`` (migrated first); its client looks as the district duty officer."""
    with running(db) as served:
        served.client.headers.update(bearer(served, DISTRICT))
        yield served


@pytest.fixture
def looking(early: Path, tmp_path: Path) -> Iterator[Served]:
    """:func:`looking_at` a copy of the store replayed to 05:00Z."""
    with looking_at(Path(shutil.copy(early, tmp_path / "warn.db"))) as served:
        yield served


def route_paths(app: Starlette) -> set[str]:
    """The paths of the application's routes as OpenAPI writes them (``{item_id:path}`` → ``{item_id}``)."""
    return {re.sub(r":\w+}", "}", route.path) for route in app.routes if isinstance(route, Route)}
