"""Readings partitioned by week on PostgreSQL (:mod:`warn.store.partitions`): every reading lands in its week's
partition or, outside them, in the default one; a partition made later takes its week's rows from the default
one with their revisions; migration 0021 partitions a store that already holds readings and revisions, keeping
every row and the foreign key. SQLite stays one table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from tests.store.conftest import T0, reading, sensor
from warn.store import Store
from warn.store.partitions import DEFAULT, Period, is_partitioned, partitions, period_of
from warn.store.schema import encode_time
from warn.vocab import SensorKind

FAR_FUTURE = datetime(2099, 1, 1, tzinfo=UTC)
FAR_PAST = datetime(1999, 1, 1, tzinfo=UTC)


def at(when: datetime, sid: str = "S1", value: float = 0.1):
    """A reading of ``sid`` at ``when``."""
    return reading(sid, (when - T0).total_seconds() / 60, value)


def homes(store: Store) -> dict[tuple[str, datetime], str]:
    """(sensor, time) → the partition the row is stored in."""
    with store.engine.connect() as conn:
        return {(sid, t): part for sid, t, part in conn.execute(text(
            "SELECT sensor_id, phenomenon_time, tableoid::regclass::text FROM readings"))}


def test_periods_are_weeks_from_monday_utc() -> None:
    period = period_of(T0)  # 2026-07-15 is a Wednesday
    assert period.start == datetime(2026, 7, 13, tzinfo=UTC) and period.end == datetime(2026, 7, 20, tzinfo=UTC)
    assert period.partition == "readings_p20260713"
    assert period_of(period.end) == Period(period.end)
    assert period_of(period.end - timedelta(microseconds=1)) == period


def test_sqlite_stays_one_table(store: Store) -> None:
    if store.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    assert store.prepare_partitions(T0) == []
    with store.engine.connect() as conn:
        assert not is_partitioned(conn)


@pytest.mark.postgres
def test_each_reading_lands_in_its_week_and_none_is_lost(store: Store) -> None:
    if store.engine.dialect.name != "postgresql":
        pytest.skip("partitions are PostgreSQL's")
    made = store.prepare_partitions(T0)
    assert made == [period_of(T0), Period(period_of(T0).end), Period(period_of(T0).end + timedelta(days=7))]
    assert store.prepare_partitions(T0) == []
    store.write_readings([at(T0), at(T0 + timedelta(days=8)), at(FAR_FUTURE), at(FAR_PAST), at(T0, "S2")])
    assert homes(store) == {("S1", T0): "readings_p20260713", ("S2", T0): "readings_p20260713",
                            ("S1", T0 + timedelta(days=8)): "readings_p20260720",
                            ("S1", FAR_FUTURE): DEFAULT, ("S1", FAR_PAST): DEFAULT}
    assert [r.reading.phenomenon_time for r in store.readings("S1")] == sorted(
        [T0, T0 + timedelta(days=8), FAR_FUTURE, FAR_PAST])


@pytest.mark.postgres
def test_a_partition_made_later_takes_its_weeks_rows_and_revisions_from_the_default(store: Store) -> None:
    if store.engine.dialect.name != "postgresql":
        pytest.skip("partitions are PostgreSQL's")
    later = T0 + timedelta(days=60)
    store.write_readings([at(later, value=0.1), at(later + timedelta(hours=1)), at(FAR_FUTURE)])
    store.write_readings([at(later, value=0.2)])  # a revision of a row in the default partition
    assert homes(store)[("S1", later)] == DEFAULT
    assert store.prepare_partitions(later) == [period_of(later + timedelta(days=7 * k)) for k in range(3)]
    assert homes(store) == {("S1", later): period_of(later).partition,
                            ("S1", later + timedelta(hours=1)): period_of(later).partition, ("S1", FAR_FUTURE): DEFAULT}
    [revision] = store.revisions("S1")
    assert (revision.phenomenon_time, revision.old_value, revision.new_value) == (later, 0.1, 0.2)
    assert [r.reading.value for r in store.readings("S1")] == [0.2, 0.1, 0.1]
    with pytest.raises(IntegrityError), store.engine.begin() as conn:  # the foreign key holds on the new partition
        conn.execute(text("DELETE FROM readings WHERE phenomenon_time = :t"), {"t": later})


@pytest.mark.postgres
def test_migration_partitions_a_store_holding_readings_and_revisions(store_url: str) -> None:
    if not store_url.startswith("postgresql"):
        pytest.skip("partitions are PostgreSQL's")
    with Store.connect(store_url) as store:
        store.upgrade("0019")
        store.upsert_sensors([sensor("S1"), sensor("R1", SensorKind.RAIN_GAUGE)])
        times = [T0 + timedelta(hours=7 * i) for i in range(100)]  # 29 days: five weeks
        store.write_readings([at(t, "S1", 0.01 * i) for i, t in enumerate(times)] + [at(FAR_FUTURE, "R1", 1.0)])
        store.write_readings([at(times[3], "S1", 9.0), at(times[50], "S1", 8.0)])
        before = ({s: store.readings(s) for s in ("S1", "R1")}, store.revisions())
        with store.engine.connect() as conn:
            assert not is_partitioned(conn)

        store.upgrade()

        assert ({s: store.readings(s) for s in ("S1", "R1")}, store.revisions()) == before
        with store.engine.connect() as conn:
            assert is_partitioned(conn)
            weeks = set(partitions(conn))
        assert {period_of(t) for t in [*times, FAR_FUTURE]} <= weeks
        assert period_of(datetime.now(UTC)) in weeks
        assert set(homes(store).values()) == {p.partition for p in {period_of(t) for t in [*times, FAR_FUTURE]}}
        enc = encode_time("postgresql")
        orphan = ("INSERT INTO reading_revisions (sensor_id, phenomenon_time, old_value, new_value, old_flag, new_flag, "
                  "old_rule, new_rule, old_arrival_time, new_arrival_time, revised_at) "
                  "VALUES ('S1', :t, 1, 2, 'good', 'good', '', '', :t, :t, :t)")
        with pytest.raises(IntegrityError), store.engine.begin() as conn:
            conn.execute(text(orphan), {"t": enc(T0 - timedelta(days=1))})
        store.write_readings([at(times[3], "S1", 7.0)])  # revisions still go on
        assert len(store.revisions("S1")) == 3
