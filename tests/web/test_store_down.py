"""The big screen when its PostgreSQL store is lost and back, in a real browser, over a TCP link that is cut and
restored: the banner says the store is unreachable, then goes back to its own state."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.web.browsing import sync_api
from tests.web.serving import ENV, Served, person_of
from tests.web.test_screen import DUTY, SCREENS, Browser
from warn import hazards
from warn.command.loading import load_setup
from warn.config import load_settings
from warn.sim.chaos.proxy import TcpProxy
from warn.store import Store
from warn.web import create_app
from warn.web.server import Background

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

NOW = datetime(2026, 7, 15, 5, 5, tzinfo=UTC)


@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
def test_the_screen_says_the_store_is_unreachable_while_it_is_and_recovers(store_url, tmp_path: Path):
    settings = load_settings(ROOT / "config.yaml")
    assert settings.command is not None
    setup = load_setup(settings.command, settings.deployment.district_code, hazards.names_zh())
    with TcpProxy("127.0.0.1", 5432) as link:
        store = Store.connect(store_url.replace("127.0.0.1:5432", f"127.0.0.1:{link.port}"), now=lambda: NOW)
        store.upgrade()
        app = create_app(settings, store, setup, clock=lambda: NOW, env=ENV, config=ROOT / "config.yaml",
                         people=person_of)
        server = Background(app, "127.0.0.1", 0).start()
        try:
            with sync_api.sync_playwright() as playwright:
                browser = Browser(playwright, Served(server.url, tmp_path / "unused.db", store, None, app), tmp_path)
                try:
                    page = browser.open(DUTY)
                    assert "存储库" not in page.inner_text("#state")
                    link.cut()
                    page.wait_for_function("document.querySelector('#state').textContent.includes('存储库中断')",
                                           timeout=15_000)
                    SCREENS.mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=SCREENS / "store-down-1920.png")
                    link.restore()
                    page.wait_for_function("!document.querySelector('#state').textContent.includes('存储库中断')",
                                           timeout=15_000)
                    assert browser.outside == []
                finally:
                    browser.close()
        finally:
            server.stop()
            store.close()
