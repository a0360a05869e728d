"""Migrations: upgrade is idempotent, and an older schema upgrades in place without losing rows."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select, text

from tests.store.conftest import T0
from warn.store import Store
from warn.store import migrate
from warn.store.schema import encode_time, readings
from warn.vocab import Level, QCFlag


def test_upgrade_reaches_head_and_is_idempotent(store_url: str) -> None:
    with Store.connect(store_url) as store:
        assert store.revision() is None
        store.upgrade()
        assert store.revision() == migrate.head() == "0024"
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


def test_0022_and_0023_move_every_zone_rain_row_under_its_run_into_arrays_and_back(store_url: str) -> None:
    from tests.store.conftest import downgrade
    from warn.store import ZoneRain

    hour = timedelta(hours=1)
    with Store.connect(store_url) as store:
        store.upgrade("0021")
        enc = encode_time(store.engine.dialect.name)
        rows = [("http://feed/run-00.nc", T0, "towns", zone, T0 + k * hour, mm, None if mm is None else 2 * mm)
                for k in (1, 2, 3) for zone, mm in (("T1", 1.0 * k), ("T2", None))]
        rows += [("http://feed/run-01.nc", T0 + hour, "towns", "T1", T0 + k * hour, 10.0 * k, 20.0 * k) for k in (2, 3)]
        rows += [("http://feed/run-01.nc", T0 + hour, "catchments", "C1", T0 + 2 * hour, 5.0, 6.0)]
        old = [dict(zip(("s", "i", "l", "z", "h", "mean", "max"), row)) for row in rows]
        with store.engine.begin() as conn:
            conn.execute(text("INSERT INTO zone_rain (source, issued_at, layer, zone_id, hour_end, mean_mm, max_mm) "
                              "VALUES (:s, :i, :l, :z, :h, :mean, :max)"),
                         [row | {"i": enc(row["i"]), "h": enc(row["h"])} for row in old])

        store.upgrade("0022")
        with store.engine.connect() as conn:
            runs = conn.execute(text("SELECT count(*) FROM rain_runs")).scalar()
            moved = conn.execute(text("SELECT count(*) FROM zone_rain")).scalar()
        assert (runs, moved) == (3, len(rows))

        store.upgrade()

        assert store.rain.has("http://feed/run-01.nc", T0 + hour, "catchments")
        assert store.rain.hourly("towns", T0, T0 + 3 * hour) == [  # each hour from the newest run before it
            ZoneRain("T1", T0 + hour, 1.0, 2.0), ZoneRain("T2", T0 + hour, None, None),
            ZoneRain("T1", T0 + 2 * hour, 20.0, 40.0), ZoneRain("T1", T0 + 3 * hour, 30.0, 60.0)]
        assert store.rain.totals("towns", T0, T0 + 3 * hour) == {"T1": (51.0, 3)}
        with store.engine.connect() as conn:
            arrays = conn.execute(text("SELECT count(*) FROM rain_hours")).scalar()
        assert arrays == 6  # one per run and hour

        downgrade(store, "0021")
        with store.engine.connect() as conn:
            back = conn.execute(text("SELECT source, issued_at, layer, zone_id, hour_end, mean_mm, max_mm "
                                     "FROM zone_rain")).all()
        assert sorted(map(tuple, back), key=str) == sorted(
            ((s, enc(i), layer, z, enc(h), mean, mx) for s, i, layer, z, h, mean, mx in rows), key=str)


def test_0023_reads_a_zone_without_a_row_in_one_of_its_runs_hours_as_unknown(store_url: str) -> None:
    from tests.store.conftest import downgrade
    from warn.store import ZoneRain

    hour = timedelta(hours=1)
    with Store.connect(store_url) as store:
        store.upgrade("0022")
        enc = encode_time(store.engine.dialect.name)
        with store.engine.begin() as conn:
            conn.execute(text("INSERT INTO rain_runs (source, issued_at, layer) VALUES ('run-00', :i, 'towns')"),
                         {"i": enc(T0)})
            conn.execute(text("INSERT INTO rain_run_hours (run_id, hour_end) SELECT run_id, :h FROM rain_runs"),
                         [{"h": enc(T0 + hour)}, {"h": enc(T0 + 2 * hour)}, {"h": enc(T0 + 3 * hour)}])
            conn.execute(text("INSERT INTO zone_rain (run_id, hour_end, zone_id, mean_mm, max_mm) "
                              "SELECT run_id, :h, :z, :mm, :mm FROM rain_runs"),
                         [{"h": enc(T0 + hour), "z": "北碚", "mm": 1.5}, {"h": enc(T0 + 2 * hour), "z": "T2", "mm": 2.5}])

        store.upgrade()

        assert store.rain.hourly("towns", T0, T0 + 3 * hour) == [
            ZoneRain("T2", T0 + hour, None, None), ZoneRain("北碚", T0 + hour, 1.5, 1.5),
            ZoneRain("T2", T0 + 2 * hour, 2.5, 2.5), ZoneRain("北碚", T0 + 2 * hour, None, None),
            ZoneRain("T2", T0 + 3 * hour, None, None), ZoneRain("北碚", T0 + 3 * hour, None, None)]

        downgrade(store, "0022")
        with store.engine.connect() as conn:
            back = conn.execute(text("SELECT hour_end, zone_id, mean_mm FROM zone_rain")).all()
            hours = conn.execute(text("SELECT count(*) FROM rain_run_hours")).scalar()
        assert hours == 3
        assert sorted(map(tuple, back), key=str) == sorted(
            [(enc(T0 + k * hour), zone, mm) for k in (1, 2, 3) for zone in ("T2", "北碚")
             for mm in [{(1, "北碚"): 1.5, (2, "T2"): 2.5}.get((k, zone))]], key=str)


def test_0024_moves_every_item_level_row_into_its_set_and_back(store_url: str) -> None:
    from tests.store.conftest import downgrade

    hour = timedelta(hours=1)
    probability = '{"blue": 1.0, "yellow": 0.5, "orange": null, "red": 0.0}'
    rows = [(T0, "landslide", "zone", "T2", "now", 0, 12.5, '["雨 rain"]', None),
            (T0, "landslide", "zone", "T1", "now", 1, None, "[]", probability),
            (T0, "landslide", "zone", "T1", "24h", 3, 40.0, '["a \\"quote\\"", "二"]', None),
            (T0 + hour, "landslide", "zone", "T1", "now", 2, 20.0, "[]", None),
            (T0 + hour, "waterlogging", "point", "P1", "now", -1, None, "[]", None)]
    columns = ("cycle_at", "hazard", "item_kind", "item_id", "lead", "level", "score", "drivers", "probability")
    with Store.connect(store_url) as store:
        store.upgrade("0023")
        enc = encode_time(store.engine.dialect.name)
        insert = text(f"INSERT INTO item_levels ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})")
        with store.engine.begin() as conn:
            conn.execute(insert, [dict(zip(columns, (enc(row[0]), *row[1:]))) for row in rows])

        store.upgrade()

        assert store.levels.latest(T0 + hour) == {("landslide", "zone", "T1"): 2, ("landslide", "zone", "T2"): 0,
                                                  ("waterlogging", "point", "P1"): -1}
        assert store.levels.baseline(T0 + hour) == {("landslide", "zone", "T1"): 1, ("landslide", "zone", "T2"): 0}
        kept = [(at, r.hazard, r.item_kind, r.item_id, r.lead, r.level, r.score, r.drivers)
                for at, r in store.levels.history(lead=None)]
        assert kept == sorted((at, h, k, i, lead, lv, s, tuple(json.loads(d))) for at, h, k, i, lead, lv, s, d, _ in rows)
        assert store.levels.probability("landslide", [("zone", "T1")], T0)["T1"][Level.YELLOW] == 0.5
        with store.engine.connect() as conn:
            sets = conn.execute(text("SELECT count(*) FROM level_sets")).scalar()
        assert sets == 4  # per cycle, hazard, kind and lead

        downgrade(store, "0023")
        with store.engine.connect() as conn:
            back = conn.execute(text(f"SELECT {', '.join(columns)} FROM item_levels")).all()
        assert sorted((tuple(r[1:7]) + (json.loads(r[7]), r[8] and json.loads(r[8]))) for r in back) == sorted(
            (h, k, i, lead, lv, s, json.loads(d), p and json.loads(p)) for _, h, k, i, lead, lv, s, d, p in rows)
        assert sorted(r[0] for r in back) == sorted(enc(row[0]) for row in rows)
