"""城市 → 区县 linked response through the real store: the city orders response II with its own ``warn mode``;
each district's command step (the cycle's) reads it with the district's role and proposes II (MODE-LINKED,
naming the city's order), or switches when automatic; standing down below the city is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import yaml
from typer.testing import CliRunner

from tests.municipal.conftest import CITY, DISTRICTS

pytestmark = pytest.mark.postgres

YUBEI, JIANGBEI, _ = DISTRICTS


def warn(*args: str):
    from warn.cli.main import app

    return CliRunner().invoke(app, list(args), env={"NO_COLOR": "1"})


def command_step(config, now: datetime):
    """The district's command step, as its ``warn run`` takes it every tick (warn.cycle.advance): the mode
    changes and the mode entries of the timeline after it."""
    from warn import hazards
    from warn.command.loading import load_setup
    from warn.config import load_settings
    from warn.cycle import advance
    from warn.store import Store
    from warn.vocab import CapStatus

    settings = load_settings(config)
    assert settings.command is not None
    setup = load_setup(settings.command, settings.deployment.district_code, hazards.names_zh())
    store = Store.connect(settings.store.url)
    try:
        advance(store, settings, setup, (), now, status=CapStatus.EXERCISE, sender="warn@test")
        return store.command.mode_changes(), [e.summary for e in store.timeline.entries() if e.kind == "mode"]
    finally:
        store.close()


def test_the_citys_response_reaches_the_districts(municipality) -> None:
    ordered = warn("mode", "wartime", "--level", "II", "--reason", "全市强降雨，启动二级响应", "--as",
                   "演示重庆市指挥长01", "--config", str(municipality.config(CITY)))
    assert ordered.exit_code == 0, ordered.output
    now = datetime.now(UTC) + timedelta(seconds=1)
    [proposal], _ = command_step(municipality.config(YUBEI), now)
    assert (proposal.rule_id, proposal.to_mode, proposal.response_level, proposal.decided_by) == (
        "MODE-LINKED", "wartime", 3, None)
    assert "500000/mode/" in proposal.reason and "演示重庆市指挥长01" in proposal.reason
    assert "全市强降雨" in proposal.reason
    assert command_step(municipality.config(YUBEI), now + timedelta(minutes=1))[0] == [proposal]  # once per order
    # the district's commander follows; standing down below the city is then refused
    accepted = warn("mode", "wartime", "--level", "II", "--reason", "执行市级部署", "--as", "演示渝北区指挥长01",
                    "--config", str(municipality.config(YUBEI)))
    assert accepted.exit_code == 0, accepted.output
    for args in (("peacetime",), ("wartime", "--level", "III")):
        down = warn("mode", *args, "--reason", "区内雨停", "--as", "演示渝北区指挥长01", "--config",
                    str(municipality.config(YUBEI)))
        assert down.exit_code == 1 and "低于市级响应" in down.output, down.output
    status = warn("status", "--config", str(municipality.config(YUBEI)))
    assert "二级响应" in status.output, status.output


def test_an_automatic_district_switches_and_one_above_the_city_stays(municipality) -> None:
    path = municipality.config(JIANGBEI)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["command"]["automatic"] = True
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    above = warn("mode", "wartime", "--level", "I", "--reason", "区内特大暴雨", "--as", "演示渝北区指挥长01",
                 "--config", str(municipality.config(YUBEI)))
    assert above.exit_code == 0, above.output
    ordered = warn("mode", "wartime", "--level", "III", "--reason", "全市强降雨", "--as", "演示重庆市指挥长01",
                   "--config", str(municipality.config(CITY)))
    assert ordered.exit_code == 0, ordered.output
    now = datetime.now(UTC) + timedelta(seconds=1)
    switched, timeline = command_step(path, now)
    assert [(c.rule_id, c.to_mode, c.response_level, c.decided_by) for c in switched] == [
        ("MODE-AUTO", "wartime", 2, "warn")]
    assert "MODE-LINKED" in timeline[-1] and "500000/mode/" in timeline[-1] and "全市强降雨" in timeline[-1]
    stays, _ = command_step(municipality.config(YUBEI), now)
    assert [(c.to_mode, c.response_level) for c in stays] == [("wartime", 4)]
    # the city raises its own level above every district's
    raised = warn("mode", "wartime", "--level", "I", "--reason", "灾情扩大", "--as", "演示重庆市指挥长01",
                  "--config", str(municipality.config(CITY)))
    assert raised.exit_code == 0, raised.output
    switched, _ = command_step(path, now + timedelta(minutes=1))
    assert [(c.rule_id, c.response_level) for c in switched] == [("MODE-AUTO", 2), ("MODE-AUTO", 4)]
