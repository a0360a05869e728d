"""Migrations: upgrade is idempotent, and an older schema upgrades in place without losing rows."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, text

from tests.store.conftest import T0
from warn.store import Store
from warn.store import migrate
from warn.store.schema import encode_time, readings
from warn.vocab import QCFlag


def test_upgrade_reaches_head_and_is_idempotent(store_url: str) -> None:
    with Store.connect(store_url) as store:
        assert store.revision() is None
        store.upgrade()
        assert store.revision() == migrate.head() == "0021"
        store.upgrade()
        assert store.revision() == migrate.head()


def test_0001_database_upgrades_to_head_keeping_every_row(store_url: str) -> None:
    with Store.connect(store_url) as store:
        store.upgrade("0001")
        assert store.revision() == "0001"
        enc = encode_time(store.engine.dialect.name)
        times = [T0 + timedelta(minutes=5 * i) for i in range(50)]
        with store.engine.begin() as conn:
            conn.execute(text("INSERT INTO sensors (sensor_id, kind, name, lon, lat, interval_s, point_id, updated_at)"
                              " VALUES ('S1', 'water_level', '积水点', 106.5, 29.7, 300, 'P1', :at)"),
                         {"at": enc(T0)})
            conn.execute(text("INSERT INTO readings (sensor_id, phenomenon_time, arrival_time, value, unit, qc_flag,"
                              " qc_rule) VALUES ('S1', :t, :a, :v, 'm', :f, '')"),
                         [{"t": enc(t), "a": enc(t + timedelta(seconds=30)), "v": None if i == 7 else 0.01 * i,
                           "f": "missing" if i == 7 else "good"} for i, t in enumerate(times)])
            conn.execute(text("INSERT INTO reading_revisions (sensor_id, phenomenon_time, old_value, new_value,"
                              " old_flag, new_flag, old_rule, new_rule, old_arrival_time, new_arrival_time,"
                              " revised_at) VALUES ('S1', :t, NULL, 0.03, 'missing', 'good', '', '', :t, :t, :t)"),
                         [{"t": enc(times[3])}, {"t": enc(times[3])}])
            conn.execute(text("INSERT INTO heartbeats (source, last_seen, expected_interval_s, stale, detail,"
                              " updated_at) VALUES ('feeds.demo', :t, 60, false, '', :t)"), {"t": enc(T0)})

        store.upgrade()

        assert store.revision() == migrate.head()
        kept = store.readings("S1")
        assert [r.reading.phenomenon_time for r in kept] == times
        assert [r.reading.value for r in kept] == [None if i == 7 else 0.01 * i for i in range(50)]
        assert kept[7].qc_flag is QCFlag.MISSING
        assert len(store.revisions("S1")) == 2
        assert [h.source for h in store.heartbeats()] == ["feeds.demo"]
        with store.engine.connect() as conn:
            counts = dict(conn.execute(select(readings.c.phenomenon_time, readings.c.revision_count)).all())
        assert counts[times[3]] == 2
        assert sum(counts.values()) == 2
