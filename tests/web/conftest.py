"""The web service on a real uvicorn server (127.0.0.1, a free port) over a copy of a replayed store.

The store is the demo storm replayed up to 05:00Z, when the landslide warnings of DEMO-T04, DEMO-T16 and
DEMO-T19 have just called their town leaders and communities (unanswered) and given them tasks; the
service's clock reads 05:05Z.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from tests.conftest import ROOT
from tests.web.serving import ENV, NOW, Served, person_of
from tests.web.standin import looking  # noqa: F401 - the read routes' served store, behind the stand-in gate
from warn import hazards
from warn.command.loading import load_setup
from warn.config import load_settings
from warn.store import Store
from warn.web import create_app
from warn.web.server import Background


@pytest.fixture(scope="session")
def early(tmp_path_factory) -> Path:
    """The demo storm replayed from dry weather to 05:00Z (a SQLite file), made once; copy it before changing it."""
    from warn.cli.main import app

    folder = tmp_path_factory.mktemp("early")
    result = CliRunner().invoke(app, ["replay", "--demo", "--out", str(folder), "--from", "2026-07-14T21:00Z",
                                      "--to", "2026-07-15T05:00Z", "--every", "PT30M", "--step", "PT10M",
                                      "--config", str(ROOT / "config.yaml")], env={"NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    return folder / "warn.db"


@pytest.fixture
def served(early: Path, tmp_path: Path) -> Iterator[Served]:
    db = Path(shutil.copy(early, tmp_path / "warn.db"))
    settings = load_settings(ROOT / "config.yaml")
    assert settings.command is not None
    setup = load_setup(settings.command, settings.deployment.district_code, hazards.names_zh(),
                       roster_limit=settings.files.max_roster_bytes)
    store = Store.connect(f"sqlite:///{db}", now=lambda: NOW)
    store.upgrade()
    app = create_app(settings, store, setup, clock=lambda: NOW, env=ENV, config=ROOT / "config.yaml",
                     people=person_of)
    running = Background(app, "127.0.0.1", 0).start()
    try:
        with httpx.Client(base_url=running.url, timeout=30) as client:
            yield Served(running.url, db, store, client)
    finally:
        running.stop()
        store.close()
