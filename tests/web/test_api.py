"""The read API over a real server: the CLI's JSON forms, ``?at``, the viewer's towns, the OpenAPI document."""

from __future__ import annotations

import json
import re

from typer.testing import CliRunner

from tests.conftest import ROOT
from tests.web.serving import NOW
from tests.web.standin import DISTRICT, TOWN04, as_person, looking  # noqa: F401 - the fixture

VIEWS = ("status", "warnings", "zones", "incidents", "tasks", "calls", "timeline", "feeds")


def test_every_view_answers_what_the_cli_prints(looking) -> None:
    from warn.cli.main import app

    for view in VIEWS:
        got = looking.client.get(f"/api/v1/{view}", params={"at": NOW.isoformat()})
        assert got.status_code == 200, (view, got.text)
        assert got.headers["content-type"].startswith("application/json")
        args = [view, "--json", "--store", str(looking.db), "--at", NOW.isoformat(), "--config", str(ROOT / "config.yaml")]
        printed = CliRunner().invoke(app, args, env={"NO_COLOR": "1"})
        assert printed.exit_code == 0, printed.output
        assert got.json() == json.loads(printed.output), view
