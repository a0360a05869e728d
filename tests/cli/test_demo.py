"""`warn demo`: the whole drill over the demo world — warnings up and cleared, wartime and back,
tasks closed or escalated, every CAP message valid, the outputs written."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests.conftest import ROOT
from warn.cap.codec import parse, validate
from warn.cli.main import app
from warn.store import Store
from warn.sim.people import SILENT
from warn.store.schema import readings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def drill(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(app, ["demo", "--out", str(folder), "--json", "--config", str(ROOT / "config.yaml")],
                                env={"NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    return folder, json.loads(result.output)


def test_warnings_of_every_hazard_rise_and_clear(drill):
    folder, summary = drill
    for hazard in ("landslide", "rainstorm", "flashflood", "river", "waterlogging"):  # rainstorm: the official signal
        entry = summary["warnings"][hazard]
        assert entry["raised"] >= 1 and entry["cleared"] == entry["raised"] and entry["active"] == 0
    assert summary["warnings"]["landslide"]["highest"].get("red", 0) >= 1
    # DEMO-W04's sensor read 5.6 cm (blue, sensor-first) and froze there: flagged flatline, it left "now" to the
    # model, whose "none" is a lower bound, so the warning held until the sensor was replaced the morning after
    # (01:00Z on the 16th) and read the dry street; only then did it clear, and the incident close
    with Store.connect(f"sqlite:///{folder / 'warn.db'}") as store:
        cleared = [w for w in store.warnings.threads() if w.item_id == "DEMO-W04"]
        incidents = store.command.incidents()
    assert cleared and all(w.status == "cleared" and w.updated_at > datetime(2026, 7, 16, 1, tzinfo=UTC)
                           for w in cleared)
    assert [i.closed_at is not None for i in incidents] == [True]
    assert datetime.fromisoformat(summary["drill"]["to"]) < datetime(2026, 7, 17, tzinfo=UTC)  # ended on the all-clear


def test_the_centre_goes_to_wartime_and_back(drill):
    _folder, summary = drill
    changes = [(c["from"], c["to"]) for c in summary["mode_changes"]]
    # the official rainstorm signal proposes wartime at the onset; the landslide reds raise the response
    assert changes[0] == ("peacetime", "wartime") and changes[-1] == ("wartime", "peacetime")
    assert all(change == ("wartime", "wartime") for change in changes[1:-1])
    rising = ("IV", "III", "II", "I")
    responses = [rising.index(c["response"]) for c in summary["mode_changes"][:-1]]
    assert responses == sorted(responses)
    assert all(c["decided_by"].startswith("演示指挥长") for c in summary["mode_changes"])


def test_tasks_are_closed_or_escalated_and_cap_is_valid(drill):
    folder, summary = drill
    tasks, acks = summary["tasks"], summary["acks"]
    assert tasks["created"] >= 1 and tasks["done"] + tasks["open"] == tasks["created"]
    assert acks["escalated"] >= 1  # the silent community responsible person: the call went up the chain
    assert acks["answered"] >= 1
    caps = summary["cap_messages"]
    assert caps["total"] >= 2 and caps["valid"] == caps["total"] and caps["all_clear"] >= 1
    files = sorted((folder / "cap").glob("*.xml"))
    assert files and all(not validate(f.read_bytes()) for f in files)
    assert {parse(f.read_bytes()).status for f in files} == {"Exercise"}


def test_the_outputs_and_the_staged_sensor_faults(drill):
    folder, summary = drill
    received = [json.loads(line) for line in (folder / "outbox.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {r["path"] for r in received} >= {"/cap", "/dingtalk"}  # SMS goes to the stand-in SMS gateway
    assert summary["drill"]["received"] == len(received)
    assert summary["notices"]["began"] >= 1 and summary["notices"]["ended"] >= 1
    with Store.connect(f"sqlite:///{folder / 'warn.db'}") as store:
        assert store.timeline.verify().ok
        assert any(row.status.value == "sent" for row in store.outbox.rows("duty_sms"))
        with store.engine.connect() as conn:
            flags = dict(conn.execute(select(readings.c.sensor_id, readings.c.qc_flag)
                                      .where(readings.c.qc_flag != "good")).all())
    assert "WL-DEMO-W04" in flags and "WL-DEMO-W12" in flags  # the frozen and the spiking sensor


def test_the_final_report_of_every_incident_is_written(drill):
    folder, summary = drill
    reports = summary["report"]
    assert {i.split("-")[1] for i in reports} == {"storm"}  # one storm, one incident, one final report
    for path in reports.values():
        text = open(path, encoding="utf-8").read()
        assert path.startswith(str(folder)) and "时间线校验通过" in text and "data:image/png;base64," in text


def test_the_outbox_is_drained_and_the_summary_counts_what_was_not_delivered(drill):
    folder, summary = drill
    with Store.connect(f"sqlite:///{folder / 'warn.db'}") as store:
        rows = store.outbox.rows()
    assert rows and not [r for r in rows if r.status in ("queued", "sending")]  # the last all-clears went out
    assert summary["outbox"]["sent"] == sum(r.status == "sent" for r in rows)
    assert sum(e["count"] for e in summary["outbox"]["undelivered"]) == sum(r.status != "sent" for r in rows)


def test_persons_at_every_level_are_reached_and_answer_through_the_gateways_and_links(drill):
    folder, summary = drill
    people = summary["deliveries"]
    assert set(people["by_org_level"]) >= {"district", "town", "community", "grid", "point"}
    assert set(people["by_channel"]) >= {"work_notice", "wecom_app", "sms", "voice"}
    assert set(summary["answered_via"]) >= {"sms", "voice", "link", "work_notice"}  # nobody answers by the CLI
    assert "cli" not in summary["answered_via"] and "app" not in summary["answered_via"]
    calls = json.loads(CliRunner().invoke(app, ["calls", "--store", f"sqlite:///{folder / 'warn.db'}", "--json",
                                                "--config", str(ROOT / "config.yaml")]).output)
    assert {c["org_level"] for c in calls if c["status"] == "answered"} >= {"town", "community", "grid"}
    assert all(c["first_delivered_at"] is not None for c in calls if c["answered_via"] in ("sms", "voice"))


def test_the_silent_persons_call_escalates_and_the_reported_danger_becomes_a_task(drill):
    folder, _summary = drill
    calls = json.loads(CliRunner().invoke(app, ["calls", "--store", f"sqlite:///{folder / 'warn.db'}", "--json",
                                                "--config", str(ROOT / "config.yaml")]).output)
    silent = [c for c in calls if "/DEMO-T14-C01/" in c["request_id"] and "call_communities" in c["request_id"]]
    assert silent and all(c["escalation_step"] >= 1 and c["addressee"] != SILENT for c in silent)
    with Store.connect(f"sqlite:///{folder / 'warn.db'}") as store:
        reports = store.dangers.list()
        assert len(reports) == 1 and reports[0].via == "link" and reports[0].photo is not None
        rules = [e.details.get("rule_id") for e in store.timeline.entries() if reports[0].report_id in e.summary]
        assert {"DANGER-REPORT", "DANGER-DISPATCH"} <= set(rules)
        task = store.task(f"danger/{reports[0].report_id}/task")
        assert task is not None and task.status in ("acknowledged", "done")


def test_no_contact_point_reaches_cap_the_timeline_reports_or_logs(drill):
    folder, summary = drill
    directory = json.loads((ROOT / "people" / "directory.json").read_text(encoding="utf-8"))
    points = {p[k] for p in directory["persons"] for k in ("mobile", "dingtalk", "wecom", "email") if p.get(k)}
    texts = [f.read_text(encoding="utf-8") for f in (folder / "cap").glob("*.xml")]
    texts += [open(path, encoding="utf-8").read() for path in summary["report"].values()]
    texts.append((folder / "outbox.jsonl").read_text(encoding="utf-8"))
    with Store.connect(f"sqlite:///{folder / 'warn.db'}") as store:
        texts += [e.summary + json.dumps(e.details, ensure_ascii=False) for e in store.timeline.entries()]
        texts += [r.message.recipient for r in store.outbox.rows()]
        texts += [m.body for m in store.warnings.messages()]
    texts.append(json.dumps(summary, ensure_ascii=False))
    leaked = {point for point in points for text in texts if point in text}
    assert not leaked
