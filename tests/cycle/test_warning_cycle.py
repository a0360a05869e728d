"""cycle.run over the demo storm, hour by hour: warnings, an incident, tasks, CAP messages, an idempotent rerun."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import func, select, update

from tests.conftest import ROOT
from warn.vocab import CapStatus
from warn.config import load_settings
from warn.rainarray import issued_at
from warn.cycle.warning_cycle import CycleReport, run
from warn.sources.forecast import open_forecast
from warn.store import Store
from warn.store.schema import cycles as cycle_rows
from warn.store.schema import (
    incidents,
    model_states,
    outbox,
    tasks,
    timeline,
    warning_messages,
    warning_versions,
    warnings,
)
from warn.vocab import Level

DEMO = ROOT / "demo" / "forecast" / "yubei-demo-analogue_2026071500.nc"
STEEP = ("DEMO-T11", "DEMO-T14")
SENDER = "warn@yubei.example"
TABLES = (warnings, warning_messages, outbox, incidents, tasks, timeline)

pytestmark = pytest.mark.slow  # the demo storm's cycles, hour by hour


def run_at(storm, hour: int):
    """The run issued ``hour`` hours after the demo's: its next 24 hours (as in test_landslide_cycle)."""
    run_ = storm.isel(time=slice(hour, hour + 24))
    issued = storm["time"].values[0] + np.timedelta64(hour - 1, "h")
    return run_.assign_attrs(issued_at=str(issued.astype("datetime64[s]")) + "Z")


def counts(store: Store) -> dict[str, int]:
    with store.engine.connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in TABLES}


@pytest.fixture
def cycles(committed_config):
    settings = load_settings(committed_config)
    store = Store.connect(settings.store.url)
    store.upgrade()
    storm = open_forecast(DEMO, source="demo")
    reports: list[CycleReport] = []
    for hour in range(16):
        rain = run_at(storm, hour)
        reports.append(run(settings, store, issued_at(rain), rain=rain, status=CapStatus.EXERCISE, sender=SENDER))
    yield settings, store, storm, reports
    store.close()


def test_demo_storm_raises_warnings_opens_an_incident_and_queues_exercise_cap(cycles):
    _settings, store, _storm, reports = cycles
    assert not reports[0].crossings  # cold start: every level unknown, nothing crosses
    assert any(r.crossings for r in reports)
    with store.engine.connect() as conn:
        # a steep town's thread reached orange or red in the storm (and may have fallen since: the
        # level falls once the rain has passed)
        steep = conn.execute(select(warnings).join(warning_versions)
                             .where(warnings.c.hazard == "landslide", warnings.c.item_id.in_(STEEP),
                                    warning_versions.c.level >= int(Level.ORANGE))).mappings().all()
        assert steep, conn.execute(select(warnings).where(warnings.c.hazard == "landslide")).mappings().all()
        assert conn.execute(select(func.count()).select_from(incidents)).scalar_one() >= 1
        assert conn.execute(select(func.count()).select_from(tasks)).scalar_one() >= 1
        town = steep[0]["item_id"]  # its town's message thread to the responsible people: raised, then updated
        kinds = conn.execute(select(warning_messages.c.kind)
                             .where(warning_messages.c.thread_id.startswith(f"landslide:{town}:restricted:"))
                             .order_by(warning_messages.c.sent_at, warning_messages.c.id)).scalars().all()
        assert kinds[0] == "Alert" and "Update" in kinds[1:]
        statuses = set(conn.execute(select(outbox.c.cap_status)).scalars())
        assert statuses == {"Exercise"}
        kinds_entries = conn.execute(select(timeline.c.kind, timeline.c.idempotency_key)
                                     .where(timeline.c.kind == "cycle")).all()
        done = conn.execute(select(func.count()).select_from(cycle_rows).where(cycle_rows.c.status == "done")).scalar_one()
    assert done == 16
    # only cycles that changed something: crossings or actions, and the first, where the data
    # notices began (no sensor readings in this test: every sensor stale)
    assert reports[0].notices and not reports[0].crossings
    assert len(kinds_entries) == 1 + sum(1 for r in reports if r.crossings or r.applied)
    with store.engine.connect() as conn:
        notices = conn.execute(select(timeline.c.summary).where(timeline.c.kind == "notice")).scalars().all()
    assert len(notices) == len(reports[0].notices)  # each recorded once, when it began
    assert all(r.inputs["forecast"]["age_min"] == 0.0 for r in reports)
    assert sum(len(r.messages) for r in reports) >= 2
    assert store.timeline.verify().ok


def test_rerunning_a_cycle_writes_nothing(cycles):
    settings, store, storm, _reports = cycles
    before = counts(store)
    with store.engine.connect() as conn:
        states = conn.execute(select(func.count()).select_from(model_states)).scalar_one()
    rain = run_at(storm, 15)
    again = run(settings, store, issued_at(rain), rain=rain, status=CapStatus.EXERCISE, sender=SENDER)
    assert again.repeated and not again.crossings and not again.messages
    assert counts(store) == before
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(model_states)).scalar_one() == states
    assert store.timeline.verify().ok


def test_an_interrupted_cycle_run_again_adds_no_rows(cycles):
    """The cycle left running (as if the process died before closing it): it runs again
    against the same baseline and every write is a repeat."""
    settings, store, storm, reports = cycles
    busy = next(i for i, r in enumerate(reports) if r.messages)
    rain = run_at(storm, 15)
    at = issued_at(rain)
    before = counts(store)
    with store.engine.begin() as conn:
        conn.execute(update(cycle_rows).where(cycle_rows.c.at == at).values(status="running"))
    again = run(settings, store, at, rain=rain, status=CapStatus.EXERCISE, sender=SENDER)
    assert again.crossings == reports[15].crossings
    assert not again.messages and again.applied == 0
    assert counts(store) == before
    assert busy >= 1
