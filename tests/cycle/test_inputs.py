"""The cycle pulls what is due: the newest run on the grid (or an older one), none is an outage
not an all-clear; a cycle that fails is recorded failed and runs again; the inbox is idempotent."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.conftest import ROOT
from warn.vocab import CapStatus
from warn.command.model import AckAnswered, Channel, Role
from warn.config import load_settings
from warn.cycle import open_sources, run, submit
from warn.cycle.inputs import due_issues
from warn.errors import ConfigError
from warn.sim.feedserver import FeedServer
from warn.store import CycleStatus, Store
from warn.store.schema import timeline, warnings

DEMO = ROOT / "demo" / "forecast" / "yubei-demo-analogue_2026071500.nc"
ISSUED = datetime(2026, 7, 15, tzinfo=UTC)
SENDER = "warn@yubei.example"


@pytest.fixture
def served(committed_config, tmp_path):
    """The committed deployment without sensors and official warnings (tests/sources/test_official.py), its demo
    run served from a folder; a fresh store."""
    settings = load_settings(committed_config)
    settings = settings.model_copy(update={"sensors": None, "official": {}})
    feed = tmp_path / "feed"
    feed.mkdir()
    shutil.copy(DEMO, feed / DEMO.name)
    store = Store.connect(f"sqlite:///{tmp_path / 'warn.db'}")
    store.upgrade()
    with FeedServer(feed) as server:
        yield settings, store, server
    store.close()


def test_due_issues_are_on_the_grid_newest_first_back_to_max_age():
    at = datetime(2026, 7, 15, 7, 40, tzinfo=UTC)
    assert due_issues(timedelta(hours=6), timedelta(hours=12), at) == [
        datetime(2026, 7, 15, 6, tzinfo=UTC), datetime(2026, 7, 15, 0, tzinfo=UTC), datetime(2026, 7, 14, 18, tzinfo=UTC)]


def test_a_late_run_falls_back_to_the_one_before_and_says_so(served):
    settings, store, server = served
    sources = open_sources(settings, store, urls={"feed": server.url}, now=lambda: ISSUED)
    report = run(settings, store, ISSUED + timedelta(hours=1, minutes=10), sources=sources, status=CapStatus.EXERCISE,
                 sender=SENDER)
    assert report.inputs["forecast"]["issued"] == ISSUED.isoformat()
    assert report.inputs["forecast"]["age_min"] == 70.0
    assert any("01:00Z" in p and "unavailable" in p for p in report.inputs["problems"])
    assert report.items > 0
    again = run(settings, store, ISSUED + timedelta(hours=1, minutes=20), sources=sources, status=CapStatus.EXERCISE,
                sender=SENDER)
    assert again.items > 0  # the held run, fetched conditionally (304), still scores


def test_no_usable_run_is_an_outage_recorded_not_an_all_clear(served):
    settings, store, server = served
    sources = open_sources(settings, store, urls={"feed": server.url}, now=lambda: ISSUED)
    at = ISSUED + timedelta(days=3)  # every run within max_age is missing
    report = run(settings, store, at, sources=sources, status=CapStatus.EXERCISE, sender=SENDER)
    assert report.items == 3 and not report.crossings  # the river gauges alone: judged on their sensors, not the run
    assert report.inputs["forecast"] is None
    assert any("no usable run" in n for n in report.notices)
    assert store.cycles.get(at).status is CycleStatus.DONE
    with store.engine.connect() as conn:
        notices = conn.execute(select(timeline.c.summary).where(timeline.c.kind == "notice")).scalars().all()
    assert any("不视为无风险" in n for n in notices)


def test_a_cycle_that_fails_is_recorded_failed_and_runs_again(served, tmp_path):
    settings, store, server = served
    broken = settings.model_copy(update={"layers": {**settings.layers, "towns": settings.layers["towns"].model_copy(
        update={"path": tmp_path / "missing.gpkg"})}})
    sources = open_sources(broken, store, urls={"feed": server.url}, now=lambda: ISSUED)
    at = ISSUED + timedelta(hours=6)
    with pytest.raises(ConfigError):
        run(broken, store, at, sources=sources, status=CapStatus.EXERCISE, sender=SENDER)
    failed = store.cycles.get(at)
    assert failed.status is CycleStatus.FAILED and "missing.gpkg" in failed.error
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(warnings)).scalar_one() == 0
    report = run(settings, store, at, sources=open_sources(settings, store, urls={"feed": server.url},
                                                             now=lambda: ISSUED),
                 status=CapStatus.EXERCISE, sender=SENDER)
    assert not report.repeated and store.cycles.get(at).status is CycleStatus.DONE
    assert store.timeline.verify().ok


def test_the_inbox_takes_an_answer_once(served):
    _settings, store, _server = served
    answer = AckAnswered(request="INC-1/run/step/a0", by="演示值班员01", role=Role.DUTY_OFFICER, channel=Channel.CLI,
                         at=ISSUED)
    assert submit(store, answer) is True
    assert submit(store, answer) is False
    [row] = store.inbox.pending(ISSUED)
    assert row.kind == "answer" and row.actor == "演示值班员01"
    assert store.inbox.pending(ISSUED - timedelta(seconds=1)) == []
    store.inbox.consumed([row.id], ISSUED)
    assert store.inbox.pending(ISSUED + timedelta(days=1)) == []
