"""An inbox event that makes the command step fail is quarantined, not retried for ever (issue 15): the
control character in a warned item's name that CAP's XML cannot hold, submitted straight through ``submit``."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from typer.testing import CliRunner

from tests.cycle.conftest import minutes, manual, step
from warn.cli.main import app
from warn.cycle.command import quarantined_error, submit
from warn.errors import Problem, StoreError
from warn.vocab import Level

#: An item name with a control character (U+0001), which no XML 1.0 document can hold.
POISON = "DEMO-T03\x01"


def test_a_poison_event_is_quarantined_and_the_events_after_it_are_planned(command_store, command_settings,
                                                                           setup) -> None:
    store = command_store
    assert submit(store, manual(POISON, Level.ORANGE, "人工橙色暴雨预警", minutes(0)))
    assert submit(store, manual("DEMO-T04", Level.ORANGE, "人工橙色暴雨预警", minutes(1)))
    poison = store.inbox.rows()[0]

    first = step(store, command_settings, setup, minutes(5))

    assert first.quarantined == (poison.id,)
    assert {m.thread_id.split(":")[1] for m in store.warnings.messages()} == {"DEMO-T04"}
    assert len(first.messages) == 1  # the responsible people's message of DEMO-T04 only
    held = store.inbox.quarantined()
    assert [(e.id, e.quarantined_at) for e in held] == [(poison.id, minutes(5))]
    assert held[0].error.startswith("ValueError: All strings must be XML compatible")
    assert held[0].consumed_at is None
    assert [r.consumed_at for r in store.inbox.rows()[1:]] == [minutes(5)]
    entries = [e for e in store.timeline.entries() if e.kind == "inbox"]
    assert [(e.actor, e.role, e.details["inbox"]) for e in entries] == [("warn", "system", poison.id)]
    assert "已隔离" in entries[0].summary and "quarantined" in entries[0].summary
    assert not [e for e in store.timeline.entries() if "DEMO-T03" in json.dumps(e.details, ensure_ascii=False)]
    assert store.timeline.verify().ok
    assert quarantined_error(store, manual(POISON, Level.ORANGE, "人工橙色暴雨预警", minutes(0))) == held[0].error
    assert quarantined_error(store, manual("DEMO-T04", Level.ORANGE, "人工橙色暴雨预警", minutes(1))) is None

    later = step(store, command_settings, setup, minutes(10))  # never retried: the step goes on, writes nothing of it
    assert later.quarantined == () and later.inbox == 0
    assert len([e for e in store.timeline.entries() if e.kind == "inbox"]) == 1
    assert submit(store, manual("DEMO-T05", Level.YELLOW, "人工黄色暴雨预警", minutes(12)))
    step(store, command_settings, setup, minutes(15))
    assert {m.thread_id.split(":")[1] for m in store.warnings.messages()} == {"DEMO-T04", "DEMO-T05"}


def test_an_undecodable_inbox_row_is_quarantined(command_store, command_settings, setup) -> None:
    store = command_store
    assert store.inbox.put(at=minutes(0), kind="answer", actor="x", event='{"request": 1', key="broken")
    assert store.inbox.put(at=minutes(0), kind="nonsense", actor="x", event="{}", key="unknown kind")
    assert submit(store, manual("DEMO-T04", Level.ORANGE, "人工橙色暴雨预警", minutes(1)))

    done = step(store, command_settings, setup, minutes(5))

    assert len(done.quarantined) == 2 and len(done.messages) == 1
    assert [e.error.split(":")[0] for e in store.inbox.quarantined()] == ["JSONDecodeError", "KeyError"]


def test_warn_status_lists_quarantined_events(command_store, command_settings, setup, tmp_path) -> None:
    store = command_store
    submit(store, manual(POISON, Level.ORANGE, "人工橙色暴雨预警", minutes(0)))
    step(store, command_settings, setup, minutes(5))
    at = (minutes(6) + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M+08:00")
    config = ["--config", str(tmp_path / "config.yaml"), "--store", command_settings.store.url, "--at", at,
              "--lang", "en"]
    result = CliRunner().invoke(app, ["status", *config], env={"NO_COLOR": "1", "COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    assert "quarantined inbox events 1" in result.output and "ValueError" in result.output
    result = CliRunner().invoke(app, ["status", *config, "--json"], env={"NO_COLOR": "1"})
    held = json.loads(result.output)["quarantined"]
    assert [(e["kind"], e["error"][:10]) for e in held] == [("manual", "ValueError")]


def test_a_store_failure_while_trying_an_event_stops_the_step_and_quarantines_nothing(command_store,
                                                                                      command_settings, setup) -> None:
    store = command_store
    assert submit(store, manual("DEMO-T04", Level.ORANGE, "人工橙色暴雨预警", minutes(1)))

    def down(actions):
        raise StoreError(Problem("sqlite:///warn.sqlite", "", "a store that answers", "database is locked"))

    store.try_actions = down
    with pytest.raises(StoreError):
        step(store, command_settings, setup, minutes(5))
    del store.try_actions
    assert store.inbox.quarantined() == []
    assert len(step(store, command_settings, setup, minutes(6)).messages) == 1

@pytest.mark.slow  # two warning cycles of the demo storm
def test_the_warning_cycle_keeps_running_after_a_poison_event(committed_config) -> None:
    from tests.cycle.test_warning_cycle import DEMO, SENDER, run_at
    from warn.config import load_settings
    from warn.cycle.warning_cycle import run
    from warn.rainarray import issued_at
    from warn.sources.forecast import open_forecast
    from warn.store import CycleStatus, Store
    from warn.vocab import CapStatus

    settings = load_settings(committed_config)
    storm = open_forecast(DEMO, source="demo")
    with Store.connect(settings.store.url) as store:
        store.upgrade()
        first, second = run_at(storm, 0), run_at(storm, 1)
        submit(store, manual(POISON, Level.ORANGE, "人工橙色暴雨预警", issued_at(first) - timedelta(minutes=5)))
        for rain in (first, second):
            run(settings, store, issued_at(rain), rain=rain, status=CapStatus.EXERCISE, sender=SENDER)
            assert store.cycles.get(issued_at(rain)).status is CycleStatus.DONE
        assert len(store.inbox.quarantined()) == 1
