"""The service with ``anchors:`` configured: each cycle signs the timeline's head with the deployment's key
(made by ``warn anchor keygen``) and sends it to every witness — a real file, and an HTTP endpoint (a real
local receiver); a witness that cannot be written is a data notice and the cycles go on; the anchors then
catch a timeline cut short."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from sqlalchemy import text
from typer.testing import CliRunner

from tests.test_service_run import SENDER, storm_feed, write_config
from warn.cli.main import app
from warn.config import load_settings
from warn.service import open_service
from warn.sim.clock import SimClock
from warn.sim.feedserver import FeedServer
from warn.sim.receiver import WebhookReceiver
from warn.store import Store
from warn.vocab import CapStatus

#: Hours 6–8 of the demo storm: warnings rise, so the cycles write entries and rows.
FIRST, CYCLES = 6, 3
AT = datetime(2026, 7, 15, FIRST, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)

pytestmark = pytest.mark.slow  # three cycles of the demo storm


def test_cycles_anchor_their_heads_and_a_broken_witness_is_a_notice(tmp_path: Path) -> None:
    key = tmp_path / "anchor.pem"
    assert CliRunner().invoke(app, ["anchor", "keygen", "--out", str(key)]).exit_code == 0
    witness, blocked = tmp_path / "witness" / "anchors.jsonl", tmp_path / "a-file"
    witness.parent.mkdir()
    blocked.write_text("", encoding="utf-8")
    feed = storm_feed(tmp_path, AT, FIRST, CYCLES)
    with FeedServer(feed) as server, WebhookReceiver() as receiver:
        config = write_config(tmp_path, server.url, receiver.url)
        data = yaml.safe_load(config.read_text(encoding="utf-8"))
        data["anchors"] = {"key": str(key), "witness": [{"file": str(witness)}, {"file": str(blocked / "x.jsonl")},
                                                        {"url": receiver.url + "/anchors", "timeout": 5}]}
        config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        settings = load_settings(config)
        clock = SimClock(AT)
        with Store.connect(settings.store.url, now=clock) as store:
            service = open_service(settings, store, status=CapStatus.EXERCISE, sender=SENDER, now=clock)
            reports = [service.cycle(AT + n * HOUR) for n in range(CYCLES)]
            notices = store.timeline.entries(kinds=("notice",))
        posted = [m for m in receiver.received if m["path"] == "/anchors"]

    assert all(not r.repeated for r in reports) and any(r.crossings for r in reports)
    # the storm's first cycle here records nothing before its notices: no head to anchor yet
    assert all(any("did not reach witness" in n and "a-file" in n for n in r.notices) for r in reports[1:])
    assert sum("did not reach witness" in n.summary for n in notices) == 1  # began once, in force since
    anchors = [json.loads(line) for line in witness.read_text(encoding="utf-8").splitlines()]
    assert len(anchors) == len(posted) == CYCLES - 1
    assert [a["seq"] for a in anchors] == sorted(a["seq"] for a in anchors) and anchors[0]["district"] == "500112"
    assert json.loads(posted[-1]["body"]) == anchors[-1]

    verify = ["verify", "--config", str(config), "--anchors", str(witness)]
    intact = CliRunner().invoke(app, verify, env={"NO_COLOR": "1"})
    assert intact.exit_code == 0, intact.output
    assert f"✓ 锚定 / anchors: {CYCLES - 1} verified" in intact.output
    with Store.connect(settings.store.url) as store, store.engine.begin() as conn:
        conn.execute(text("DELETE FROM timeline WHERE seq >= :s"), {"s": anchors[-1]["seq"]})
    cut = CliRunner().invoke(app, verify, env={"NO_COLOR": "1"})
    assert cut.exit_code == 1 and f"timeline truncated: anchor seq {anchors[-1]['seq']}" in cut.output
