"""The web service on a real uvicorn server (127.0.0.1, a free port) over a copy of a replayed store.

The store (``early``, tests/conftest.py) is the demo storm replayed up to 05:00Z, when the landslide warnings of DEMO-T04, DEMO-T16 and
DEMO-T19 have just called their town leaders and communities (unanswered) and given them tasks; the
service's clock reads 05:05Z.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from tests.conftest import ROOT
from tests.helpers import demo_deployment
from tests.web.serving import ENV, NOW, Served, person_of
from warn.web import create_app
from warn.web.server import Background


@contextmanager
def serving(early: Path, tmp_path: Path, prepare: Callable[[Starlette], None] = lambda _app: None) -> Iterator[Served]:
    """The service on a copy of ``early``, its app first given to ``prepare`` (a middleware added, say)."""
    db = Path(shutil.copy(early, tmp_path / "warn.db"))
    settings, setup, store = demo_deployment(db, lambda: NOW)
    app = create_app(settings, store, setup, clock=lambda: NOW, env=ENV, config=ROOT / "config.yaml",
                     people=person_of)
    prepare(app)
    running = Background(app, "127.0.0.1", 0).start()
    try:
        with httpx.Client(base_url=running.url, timeout=30) as client:
            yield Served(running.url, db, store, client)
    finally:
        running.stop()
        store.close()


@pytest.fixture
def served(early: Path, tmp_path: Path) -> Iterator[Served]:
    with serving(early, tmp_path) as running:
        yield running
