"""Readings partitioned by week on PostgreSQL (:mod:`warn.store.partitions`): every reading lands in its week's
partition or, outside the weeks, in the partition before or after them; a week made later takes its rows from
the partition after with their revisions; migration 0021 partitions a store that already holds readings and revisions, keeping
every row and the foreign key. SQLite stays one table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from tests.store.conftest import T0, reading, sensor
from warn.store import Store
from warn.store.partitions import AFTER, BEFORE, Period, is_partitioned, partitions, period_of
from warn.store.schema import encode_time
from warn.vocab import SensorKind

WEEK, DAY = timedelta(days=7), timedelta(days=1)
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
    week = period_of(datetime.now(UTC))
    with store.engine.connect() as conn:  # the migration made this week's and the next two weeks' partitions
        assert partitions(conn) == [week, Period(week.end), Period(week.end + WEEK)]
    assert store.prepare_partitions() == []
    assert store.prepare_partitions(week.end + 3 * WEEK) == [Period(week.end + k * WEEK) for k in (2, 3, 4, 5)]
    tuesday = week.start + timedelta(days=1)
    store.write_readings([at(tuesday), at(tuesday, "S2"), at(tuesday + 8 * DAY), at(FAR_FUTURE), at(FAR_PAST), at(T0)])
    assert homes(store) == {("S1", tuesday): week.partition, ("S2", tuesday): week.partition,
                            ("S1", tuesday + 8 * DAY): Period(week.end).partition,
                            ("S1", FAR_FUTURE): AFTER, ("S1", FAR_PAST): BEFORE, ("S1", T0): BEFORE}
    assert [r.reading.phenomenon_time for r in store.readings("S1")] == sorted(
        [tuesday, tuesday + 8 * DAY, FAR_FUTURE, FAR_PAST, T0])


@pytest.mark.postgres
def test_weeks_made_later_take_their_rows_and_revisions_from_the_partition_after(store: Store) -> None:
    if store.engine.dialect.name != "postgresql":
        pytest.skip("partitions are PostgreSQL's")
    later = period_of(datetime.now(UTC)).start + 4 * WEEK + timedelta(hours=1)
    store.write_readings([at(later, value=0.1), at(later + timedelta(hours=1)), at(FAR_FUTURE)])
    store.write_readings([at(later, value=0.2)])  # a revision of a row in the partition after the weeks
    assert homes(store)[("S1", later)] == AFTER
    assert store.prepare_partitions(later) == [period_of(later + k * WEEK) for k in (-1, 0, 1, 2)]
    assert homes(store) == {("S1", later): period_of(later).partition,
                            ("S1", later + timedelta(hours=1)): period_of(later).partition, ("S1", FAR_FUTURE): AFTER}
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
        store.upgrade("0020")
        store.upsert_sensors([sensor("S1"), sensor("R1", SensorKind.RAIN_GAUGE)])
        week = period_of(datetime.now(UTC))
        times = [week.start - 5 * WEEK + timedelta(hours=7 * i) for i in range(100)]  # 29 days: five weeks
        store.write_readings([at(t, "S1", 0.01 * i) for i, t in enumerate(times)]
                             + [at(FAR_FUTURE, "R1", 1.0), at(FAR_PAST, "R1", 2.0)])
        store.write_readings([at(times[3], "S1", 9.0), at(times[50], "S1", 8.0), at(FAR_PAST, "R1", 3.0)])
        before = ({s: store.readings(s) for s in ("S1", "R1")}, store.revisions())
        with store.engine.connect() as conn:
            assert not is_partitioned(conn)

        store.upgrade()

        assert ({s: store.readings(s) for s in ("S1", "R1")}, store.revisions()) == before
        with store.engine.connect() as conn:
            assert is_partitioned(conn)
            weeks = partitions(conn)
        assert weeks == [Period(period_of(times[0]).start + k * WEEK) for k in range(8)]  # contiguous, 2 ahead
        assert homes(store) == {**{("S1", t): period_of(t).partition for t in times},
                                ("R1", FAR_FUTURE): AFTER, ("R1", FAR_PAST): BEFORE}
        enc = encode_time("postgresql")
        orphan = ("INSERT INTO reading_revisions (sensor_id, phenomenon_time, old_value, new_value, old_flag, new_flag, "
                  "old_rule, new_rule, old_arrival_time, new_arrival_time, revised_at) "
                  "VALUES ('S1', :t, 1, 2, 'good', 'good', '', '', :t, :t, :t)")
        with pytest.raises(IntegrityError), store.engine.begin() as conn:
            conn.execute(text(orphan), {"t": enc(times[0] - timedelta(minutes=1))})
        store.write_readings([at(times[3], "S1", 7.0)])  # revisions still go on
        assert len(store.revisions("S1")) == 3
