"""Readings: insert, duplicate and revision semantics, reads for QC and feeds, atomic batches."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from tests.store.conftest import T0, reading, sensor
from warn.errors import StoreError
from warn.sources.readings import FlaggedReading, Reading
from warn.store import Store, WriteResult
from warn.vocab import QCFlag


def values(store: Store, sensor_id: str) -> list[float | None]:
    return [r.reading.value for r in store.readings(sensor_id)]


def test_catalogue_round_trips_and_upserts(store: Store) -> None:
    store.upsert_sensors([sensor("S2", name="龙塔立交下穿道")])
    by_id = {s.sensor_id: s for s in store.sensors()}
    assert sorted(by_id) == ["R1", "S1", "S2"]
    assert by_id["S2"].name == "龙塔立交下穿道"
    assert by_id["S1"] == sensor("S1")


def test_aware_times_round_trip_exactly_in_utc(store: Store) -> None:
    shanghai = datetime(2026, 7, 15, 8, 0, 0, 123456, tzinfo=ZoneInfo("Asia/Shanghai"))
    arrival = shanghai + timedelta(seconds=1, microseconds=1)
    store.write_readings([FlaggedReading(Reading("S1", shanghai, 0.25, "m", arrival), QCFlag.GOOD)])
    (back,) = store.readings("S1")
    assert back.reading.phenomenon_time == datetime(2026, 7, 15, 0, 0, 0, 123456, tzinfo=timezone.utc)
    assert back.reading.phenomenon_time.utcoffset() == timedelta(0)
    assert back.reading.arrival_time == arrival


def test_naive_time_is_refused(store: Store) -> None:
    naive = datetime(2026, 7, 15)
    with pytest.raises(ValueError, match="phenomenon_time: expected a timezone-aware datetime"):
        store.write_readings([FlaggedReading(Reading("S1", naive, 1.0, "m", T0), QCFlag.GOOD)])


def test_insert_duplicate_and_revision(store: Store) -> None:
    assert store.write_readings([reading("S1", m, 0.1 * m) for m in range(3)]) == WriteResult(3, 0, 0)
    again = store.write_readings([reading("S1", 0, 0.0, arrival_s=90), reading("S1", 1, 0.5, arrival_s=90),
                                  reading("S1", 2, 0.2, flag=QCFlag.DOUBTFUL, rule="spike", arrival_s=90)])
    assert again == WriteResult(inserted=0, revised=2, duplicates=1)
    rows = store.readings("S1")
    assert [r.reading.value for r in rows] == [0.0, 0.5, 0.2]
    assert rows[0].reading.arrival_time == T0 + timedelta(seconds=30)  # a duplicate changes nothing
    assert rows[1].reading.arrival_time == T0 + timedelta(minutes=1, seconds=90)
    assert (rows[2].qc_flag, rows[2].qc_rule) == (QCFlag.DOUBTFUL, "spike")
    first, second = store.revisions("S1")
    assert (first.old_value, first.new_value) == (0.1, 0.5)
    assert (first.old_arrival_time, first.new_arrival_time) == (T0 + timedelta(minutes=1, seconds=30),
                                                               T0 + timedelta(minutes=1, seconds=90))
    assert (second.old_flag, second.new_flag, second.old_rule, second.new_rule) == (
        QCFlag.GOOD, QCFlag.DOUBTFUL, "", "spike")
    assert first.id < second.id
    assert store.count_readings() == 3


def test_duplicates_and_revisions_inside_one_batch(store: Store) -> None:
    result = store.write_readings([reading("S1", 0, 1.0), reading("S1", 0, 1.0), reading("S1", 0, 2.0),
                                   reading("S2", 0, 5.0)])
    assert result == WriteResult(inserted=2, revised=1, duplicates=1)
    assert values(store, "S1") == [2.0]
    (revision,) = store.revisions()
    assert (revision.sensor_id, revision.old_value, revision.new_value) == ("S1", 1.0, 2.0)


def test_a_batch_of_mostly_stored_readings_over_several_look_up_chunks_finds_each_held_one(store: Store) -> None:
    from warn.store.store import CHUNK

    n = CHUNK + 3  # the held look-up runs in two parts: a key's position is within its part
    store.write_readings([reading("S1", m, 0.001 * m) for m in range(n)])
    again = [reading("S1", m, 0.001 * m, arrival_s=90) for m in range(n)]  # repeats, a later arrival
    again[1] = reading("S1", 1, 9.0, arrival_s=90)  # revised, in the first part
    again[-1] = reading("S1", n - 1, 8.0, arrival_s=90)  # revised, in the second part
    result = store.write_readings([*again, reading("S1", n, 0.5)])
    assert result == WriteResult(inserted=1, revised=2, duplicates=n - 2)
    first, last = store.revisions("S1")
    assert (first.phenomenon_time, first.old_value, first.new_value) == (T0 + timedelta(minutes=1), 0.001, 9.0)
    assert (last.phenomenon_time, last.old_value, last.new_value) == (T0 + timedelta(minutes=n - 1),
                                                                      0.001 * (n - 1), 8.0)
    assert last.old_arrival_time == T0 + timedelta(minutes=n - 1, seconds=30)
    stored = store.readings("S1")
    assert stored[0].reading.arrival_time == T0 + timedelta(seconds=30)  # a repeat keeps its first arrival
    assert len(stored) == n + 1


def test_missing_becoming_present_is_a_revision_and_present_never_becomes_missing(store: Store) -> None:
    store.write_readings([reading("S1", 0, None, flag=QCFlag.MISSING, rule="missing")])
    assert store.write_readings([reading("S1", 0, 0.3)]) == WriteResult(0, 1, 0)
    (revision,) = store.revisions("S1")
    assert (revision.old_value, revision.new_value, revision.old_flag) == (None, 0.3, QCFlag.MISSING)
    assert store.write_readings([reading("S1", 0, None, flag=QCFlag.MISSING)]) == WriteResult(0, 0, 1)
    assert store.write_readings([reading("S1", 0, float("nan"), flag=QCFlag.MISSING)]) == WriteResult(0, 0, 1)
    assert values(store, "S1") == [0.3]


def test_unknown_sensor_is_refused_by_name_and_nothing_is_written(store: Store) -> None:
    with pytest.raises(StoreError) as caught:
        store.write_readings([reading("S1", 0, 1.0), reading("NOPE-9", 0, 1.0), reading("NOPE-1", 0, 1.0)])
    message = str(caught.value)
    assert "readings.sensor_id: expected sensors in the catalogue, got NOPE-1, NOPE-9" in message
    assert "upsert_sensors" in message
    assert store.count_readings() == 0


def test_unit_other_than_the_kinds_is_refused(store: Store) -> None:
    with pytest.raises(StoreError, match=r"readings\[R1\]\.unit: expected 'mm' \(unit of a rain_gauge sensor\), "
                                         r"got 'm'"):
        store.write_readings([reading("R1", 0, 1.0, unit="m")])


def test_a_batch_failing_midway_writes_none_of_its_rows(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    store.write_readings([reading("S1", 0, 1.0)])

    def broken(conn: object, rows: object) -> None:  # stands in for Bulk.revisions
        raise RuntimeError("disk gone")

    monkeypatch.setattr(store._bulk, "revisions", broken)
    with pytest.raises(RuntimeError, match="disk gone"):
        store.write_readings([reading("S1", 5, 2.0), reading("S2", 5, 3.0), reading("S1", 0, 9.0)])
    assert store.count_readings() == 1
    assert values(store, "S1") == [1.0]
    assert store.readings("S2") == []
    assert store.revisions() == []


def test_last_readings_per_sensor_with_flags_and_before(store: Store) -> None:
    store.write_readings(
        [reading("S1", m, float(m), flag=QCFlag.DOUBTFUL if m in (7, 8) else QCFlag.GOOD) for m in range(10)]
        + [reading("S2", m, 100.0 + m) for m in range(2)])
    last = store.last_readings(["S1", "S2", "R1", "GONE"], n=3)
    assert [r.reading.value for r in last["S1"]] == [5.0, 6.0, 9.0]
    assert [r.reading.value for r in last["S2"]] == [100.0, 101.0]
    assert last["R1"] == [] and last["GONE"] == []
    before = store.last_readings(["S1"], n=2, before=T0 + timedelta(minutes=6))
    assert [r.reading.value for r in before["S1"]] == [4.0, 5.0]
    mixed = store.last_readings(["S1"], n=3, flags={QCFlag.GOOD, QCFlag.DOUBTFUL})
    assert [(r.reading.value, r.qc_flag) for r in mixed["S1"]] == [
        (7.0, QCFlag.DOUBTFUL), (8.0, QCFlag.DOUBTFUL), (9.0, QCFlag.GOOD)]
    with pytest.raises(ValueError, match="n ≥ 1"):
        store.last_readings(["S1"], n=0)


def test_readings_window_latest_time_and_last_seen(store: Store) -> None:
    assert store.latest_phenomenon_time() is None
    assert store.last_seen() == {}
    store.write_readings([reading("S1", m, float(m), arrival_s=60) for m in range(5)] + [reading("S2", 2, 1.0)])
    store.write_readings([reading("S1", -60, 0.0, arrival_s=7200)])  # a late back-fill of an old reading
    window = store.readings("S1", since=T0 + timedelta(minutes=1), until=T0 + timedelta(minutes=3))
    assert [r.reading.value for r in window] == [1.0, 2.0]
    assert store.latest_phenomenon_time() == T0 + timedelta(minutes=4)
    assert store.latest_phenomenon_time(["S2"]) == T0 + timedelta(minutes=2)
    assert store.latest_phenomenon_time(["R1"]) is None
    # how current the newest reading is: its phenomenon time (the late back-fill changes nothing)
    assert store.last_seen() == {"S1": T0 + timedelta(minutes=4), "S2": T0 + timedelta(minutes=2)}
    store.write_readings([reading("S2", 10, 1.0, arrival_s=-300)])  # a device clock 10 min ahead
    assert store.last_seen()["S2"] == T0 + timedelta(minutes=5)  # capped by when it arrived


def test_readings_of_many_sensors_are_each_ones_readings_in_the_window(store: Store) -> None:
    store.upsert_sensors([sensor("S2")])
    rows = [FlaggedReading(Reading(sid, T0 + timedelta(minutes=m), 0.1 * m, "m", T0 + timedelta(minutes=m)),
                           QCFlag.GOOD if m % 20 else QCFlag.DOUBTFUL)
            for sid in ("S1", "S2") for m in range(0, 90, 5)]
    store.write_readings(rows)
    since, until = T0 + timedelta(minutes=10), T0 + timedelta(minutes=60)
    many = store.readings_of(["S2", "S1", "S9", "S1"], since=since, until=until)
    assert list(many) == ["S2", "S1", "S9"] and many["S9"] == []
    for sid in ("S1", "S2"):
        assert many[sid] == store.readings(sid, since=since, until=until) and len(many[sid]) == 10
