"""A district's ``warn serve`` API over a real server: its tokens are in its own schema, so a district's token
sees its own rows only and another district's token is not known there at all."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import httpx
import pytest

from tests.municipal.conftest import DISTRICTS
from tests.municipal.test_isolation import note

pytestmark = pytest.mark.postgres

YUBEI, JIANGBEI, _ = DISTRICTS
#: The service's clock: inside the synthetic rosters' year.
NOW = datetime(2026, 7, 15, 5, 0, tzinfo=UTC)


@contextmanager
def serving(municipality, code: str) -> Iterator[tuple[httpx.Client, str]]:
    """The district's web service on 127.0.0.1 from its generated config, and a token of its commander."""
    from warn import hazards
    from warn.command.loading import load_setup
    from warn.config import load_settings
    from warn.store import Store
    from warn.web import create_app
    from warn.web.server import Background

    config = municipality.config(code)
    settings = load_settings(config)
    assert settings.command is not None
    setup = load_setup(settings.command, code, hazards.names_zh())
    store = Store.connect(settings.store.url)
    app = create_app(settings, store, setup, clock=lambda: NOW, env={"WARN_LINK_SECRET": "s" * 32}, config=config)
    server = Background(app, "127.0.0.1", 0).start()
    commander = next(s.person for s in setup.roster.shifts if s.post.role == "commander")
    token = store.tokens.issue(commander, by="tests", at=datetime.now(UTC))
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            yield client, token
    finally:
        server.stop()
        store.close()


def test_a_districts_token_sees_its_own_rows_only(municipality) -> None:
    note(municipality, YUBEI, "渝北区的记录")
    note(municipality, JIANGBEI, "江北区的记录")
    with serving(municipality, YUBEI) as (yubei, yubei_token), serving(municipality, JIANGBEI) as (_, jiangbei_token):
        got = yubei.get("/api/v1/timeline", headers={"Authorization": f"Bearer {yubei_token}"})
        assert got.status_code == 200, got.text
        assert [e["summary"] for e in got.json()] == ["渝北区的记录"]
        stranger = yubei.get("/api/v1/timeline", headers={"Authorization": f"Bearer {jiangbei_token}"})
        assert stranger.status_code == 401
        assert yubei.get("/api/v1/timeline").status_code == 401
