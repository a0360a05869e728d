"""`warn demo`: the whole rain path over a real local HTTP server."""

from __future__ import annotations

from typer.testing import CliRunner

from tests.conftest import ROOT
from warn.cli.main import app


def test_demo_serves_fetches_and_scores_the_towns():
    result = CliRunner().invoke(app, ["demo", "--config", str(ROOT / "config.yaml")], env={"NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:" in result.output
    assert "sha256:" in result.output
    assert "并非重庆实测" in result.output and "transplanted analogue" in result.output
    assert result.output.count("DEMO-T") == 21
    assert "红色 red" in result.output and "橙色 orange" in result.output
