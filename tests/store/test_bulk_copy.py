"""Readings written through ``COPY`` (:class:`warn.store.bulk.PostgresBulk`, the default on PostgreSQL) equal those
written through ``unnest`` arrays: the same rows, QC flags and rules, revision counts and revisions."""

from __future__ import annotations

import pytest

from tests.store.conftest import reading, sensor
from warn.sources.readings import FlaggedReading
from warn.store import Store
from warn.store.bulk import PostgresBulk
from warn.vocab import QCFlag


def batches(sid: str) -> list[list[FlaggedReading]]:
    """New readings, repeats, revisions (value, flag, rule, a missing value filled), and a missing value that
    must not erase a recorded one, of sensor ``sid``; 6,000 readings in the first batch (more than a chunk)."""
    first = [reading(sid, i, None if i % 97 == 0 else 0.001 * i, flag=QCFlag.MISSING if i % 97 == 0 else QCFlag.GOOD)
             for i in range(6000)]
    second = [*first[:10], reading(sid, 1, 0.5), reading(sid, 2, 0.002, flag=QCFlag.DOUBTFUL, rule="spike"),
              reading(sid, 97, 0.3), reading(sid, 3, None, flag=QCFlag.MISSING), reading(sid, 6000, 1.0),
              reading(sid, 6000, 1.5, arrival_s=90)]
    return [first, second, second]


def rows(store: Store, sid: str) -> tuple[list, list]:
    """``sid``'s readings and revisions, without the sensor id and the revisions' ids."""
    readings = [(r.reading.phenomenon_time, r.reading.arrival_time, r.reading.value, r.reading.unit, r.qc_flag,
                 r.qc_rule) for r in store.readings(sid)]
    revisions = [(r.phenomenon_time, r.old_value, r.new_value, r.old_flag, r.new_flag, r.old_rule, r.new_rule,
                  r.old_arrival_time, r.new_arrival_time) for r in store.revisions(sid)]
    return readings, revisions


@pytest.mark.postgres
def test_copy_writes_what_unnest_writes(store_url: str) -> None:
    if not store_url.startswith("postgresql"):
        pytest.skip("COPY is PostgreSQL's")
    with (Store.connect(store_url) as by_copy, Store(by_copy.engine, bulk=PostgresBulk(copy=False)) as by_unnest):
        by_copy.upgrade()
        by_copy.upsert_sensors([sensor("C1"), sensor("U1")])
        results = [(by_copy.write_readings(c), by_unnest.write_readings(u)) for c, u in zip(batches("C1"),
                                                                                              batches("U1"))]
        assert all(c == u for c, u in results)
        assert [c.revised for c, _ in results] == [0, 4, 6]
        assert rows(by_copy, "C1") == rows(by_unnest, "U1")
        assert len(rows(by_copy, "C1")[0]) == 6001
        with by_copy.engine.connect() as conn:
            counts = conn.exec_driver_sql("SELECT sensor_id, sum(revision_count) FROM readings GROUP BY sensor_id").all()
        assert dict(counts) == {"C1": 10, "U1": 10}

