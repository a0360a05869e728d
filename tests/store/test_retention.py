"""Retention of readings (:mod:`warn.store.retention`): the weeks older than the retention are archived,
the archive verified, and only then removed; the archive reads back whole; an archive that cannot be
written leaves every row in place. On SQLite and on PostgreSQL (where the week's partition is dropped)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.store import conftest
from tests.store.conftest import sensor
from warn.errors import StoreError
from warn.sources.readings import FlaggedReading, Reading
from warn.store import Store
from warn.store.partitions import BEFORE, partitions, period_of
from warn.store.retention import REVISION_COLUMNS, read_rows, verify
from warn.vocab import QCFlag, SensorKind

KEEP = timedelta(days=400)
#: The Tuesday of this week: on PostgreSQL a fresh store's first weekly partition is this week's.
T0 = period_of(datetime.now(UTC)).start + timedelta(days=1)
NOW = T0 + KEEP + timedelta(days=10)  # the weeks of T0 (and the one before) are due, the last 400 days are not


def reading(sensor_id: str, minute: float, value: float | None, **kwargs) -> FlaggedReading:
    """A reading ``minute`` minutes after :data:`T0` (:func:`tests.store.conftest.reading`, moved to T0)."""
    base = conftest.reading(sensor_id, minute, value, **kwargs)
    shift, r = T0 - conftest.T0, base.reading
    return FlaggedReading(Reading(r.sensor_id, r.phenomenon_time + shift, r.value, r.unit, r.arrival_time + shift),
                          base.qc_flag, base.qc_rule)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """A migrated store on a clock at :data:`NOW`, with sensors S1 and R1, old and recent readings and revisions."""
    with Store.connect(store_url, now=lambda: NOW) as opened:
        opened.upgrade()
        opened.upsert_sensors([sensor("S1"), sensor("R1", SensorKind.RAIN_GAUGE)])
        for moment in (T0 - timedelta(days=7), T0, NOW - timedelta(days=30), NOW):
            opened.prepare_partitions(moment)
        old = [reading(s, 5 * i + (0 if s == "S1" else 2), 0.01 * i) for i in range(-2100, 600) for s in ("S1", "R1")]
        recent = [reading("S1", (NOW - T0).total_seconds() / 60 - 5 * i, 0.5) for i in range(1, 200)]
        opened.write_readings([*old, *recent])
        latest = recent[0].reading
        opened.write_readings([reading("S1", 15, 0.77, rule="spike"), reading("R1", -7000 + 2, 3.25),
                               FlaggedReading(latest, QCFlag.DOUBTFUL, "flatline")])
        yield opened


def test_old_weeks_are_archived_verified_then_removed(store: Store, tmp_path: Path) -> None:
    cut = period_of(NOW - KEEP).start
    kept_before = {s: [r for r in store.readings(s) if r.reading.phenomenon_time >= cut] for s in ("S1", "R1")}
    gone_before = {s: [r for r in store.readings(s) if r.reading.phenomenon_time < cut] for s in ("S1", "R1")}
    revisions = store.revisions()
    assert sum(map(len, gone_before.values())) == 5400 and len(revisions) == 3

    archived = store.archive_readings(keep=KEEP, folder=tmp_path / "archive")

    weeks = sorted({period_of(r.reading.phenomenon_time) for rs in gone_before.values() for r in rs})
    assert [a.period for a in archived] == weeks
    assert sum(a.readings for a in archived) == 5400 and sum(a.revisions for a in archived) == 2
    assert {s: store.readings(s) for s in ("S1", "R1")} == kept_before
    assert store.revisions() == [r for r in revisions if r.phenomenon_time >= cut]
    if store.engine.dialect.name == "postgresql":  # the week's partition dropped, the one before widened over it
        with store.engine.connect() as conn:
            assert partitions(conn)[0].start == weeks[-1].end
    store.write_readings([reading("S1", 3, 0.5)])  # a late reading of an archived week: kept, archived again later
    if store.engine.dialect.name == "postgresql":
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql(f"SELECT count(*) FROM {BEFORE}").scalar_one() == 1
    # the archive reads back whole: every row and revision, values exactly
    rows, revised = [], []
    for week in archived:
        assert verify(week.manifest) == (week.readings, week.revisions)
        spec = json.loads(week.manifest.read_text(encoding="utf-8"))
        assert spec["period"] == {"from": week.period.start.isoformat(), "to": week.period.end.isoformat()}
        header, part = read_rows(week.manifest.parent / spec["files"][0]["name"])
        assert header[:4] == ["sensor_id", "phenomenon_time", "arrival_time", "value"]
        rows += part
        header, part = read_rows(week.manifest.parent / spec["files"][1]["name"])
        assert header == list(REVISION_COLUMNS)
        revised += part
    expected = sorted((r.reading.sensor_id, r.reading.phenomenon_time, r.reading.arrival_time, r.reading.value,
                       r.qc_flag.value, r.qc_rule) for rs in gone_before.values() for r in rs)
    assert sorted((sid, datetime.fromisoformat(t), datetime.fromisoformat(a), None if v == "" else float(v), flag, rule)
                  for sid, t, a, v, _unit, flag, rule, _count in rows) == expected
    assert sorted((sid, datetime.fromisoformat(t), new) for _id, sid, t, _o, new, *_ in revised) == [
        ("R1", T0 + timedelta(minutes=-7000 + 2), "3.25"), ("S1", T0 + timedelta(minutes=15), "0.77")]
    [late] = store.archive_readings(keep=KEEP, folder=tmp_path / "archive")
    assert (late.period, late.readings, late.manifest not in [a.manifest for a in archived]) == (period_of(T0), 1, True)
    assert store.archive_readings(keep=KEEP, folder=tmp_path / "archive") == []


def test_an_archive_that_cannot_be_written_leaves_every_row(store: Store, tmp_path: Path) -> None:
    before = ({s: store.readings(s) for s in ("S1", "R1")}, store.revisions())
    blocker = tmp_path / "archive"
    blocker.write_text("a file where the archive folder should be", encoding="utf-8")

    with pytest.raises(StoreError, match="store.retention.archive"):
        store.archive_readings(keep=KEEP, folder=blocker / "readings")

    assert ({s: store.readings(s) for s in ("S1", "R1")}, store.revisions()) == before


def test_an_archive_whose_file_changed_fails_verification(store: Store, tmp_path: Path) -> None:
    [week, *_] = store.archive_readings(keep=KEEP, folder=tmp_path)
    spec = json.loads(week.manifest.read_text(encoding="utf-8"))
    path = tmp_path / spec["files"][0]["name"]
    path.write_bytes(path.read_bytes()[:-9] + b"\x00" * 9)
    with pytest.raises(StoreError, match=path.name):
        verify(week.manifest)


def test_nothing_is_due_within_the_retention(store: Store, tmp_path: Path) -> None:
    count = store.count_readings()
    assert store.archive_readings(keep=NOW - T0 + timedelta(days=30), folder=tmp_path / "archive") == []
    assert store.count_readings() == count and not (tmp_path / "archive").exists()
