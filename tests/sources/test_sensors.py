"""Sensor feeds against real local HTTP servers: SensorThings, JSON and CSV."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.helpers import Hostile
from warn.config import SensorFeedSpec
from warn.errors import ConfigError, SourceError
from warn.sim.feedserver import FeedServer
from warn.sim.sensorthings import SensorThingsServer
from warn.sources.feeds import FeedOptions, build_feed
from warn.sources.readings import Sensor
from warn.vocab import SensorKind

T0 = datetime(2026, 7, 15, 0, 0, tzinfo=UTC)
ARRIVAL = datetime(2026, 7, 15, 6, 0, tzinfo=UTC)
FIVE = timedelta(minutes=5)


def clock():
    return ARRIVAL


def sta_feed(server: SensorThingsServer, **spec: object):
    options = FeedOptions(now=clock, sleep=lambda s: None)
    return build_feed("sta", SensorFeedSpec(kind="sensorthings", url=server.url, **spec), options)


def keys(batch):
    return [(r.sensor_id, r.phenomenon_time, r.value) for r in batch.readings]


def test_sensorthings_follows_next_links_and_converts_cm_to_metres():
    with SensorThingsServer(max_top=100) as sta:
        sta.add_datastream("WL-A", unit="cm", kind="water_level")
        sta.add_series("WL-A", [T0 + i * FIVE for i in range(7)], [float(i * 10) for i in range(7)])
        batch = sta_feed(sta, page_size=3).poll(T0 - timedelta(minutes=1))
    assert batch.rejected == []
    assert [r.value for r in batch.readings] == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    assert {r.unit for r in batch.readings} == {"m"}
    assert all(r.arrival_time == ARRIVAL for r in batch.readings)
    pages = [path for path, _ in sta.requests if "/Observations" in path]
    assert len(pages) == 3 and "%24skip=3" in pages[1] and "%24skip=6" in pages[2]
    assert "%24orderby=phenomenonTime+asc" in pages[0] and "phenomenonTime+gt+" in pages[0]


def test_incremental_resume_with_lookback_catches_a_late_reading():
    with SensorThingsServer() as sta:
        sta.add_datastream("WL-A", unit="m")
        sta.add_series("WL-A", [T0, T0 + FIVE, T0 + 2 * FIVE], [0.0, 0.1, 0.2])
        feed = sta_feed(sta)
        first = feed.poll(None)  # backfill: the last day before now()
        last_stored = max(r.phenomenon_time for r in first.readings)
        # a reading for 00:07 arrives after 00:10 was already stored, plus a new one
        sta.add_observation("WL-A", T0 + timedelta(minutes=7), 0.15)
        sta.add_observation("WL-A", T0 + 3 * FIVE, 0.3)
        resumed = feed.poll(last_stored)
        without_lookback = feed.__class__(feed.name, feed.url, now=clock, lookback=timedelta(0)).poll(last_stored)
    assert [r.value for r in first.readings] == [0.0, 0.1, 0.2]
    resumed_times = [r.phenomenon_time for r in resumed.readings]
    assert T0 + timedelta(minutes=7) in resumed_times and T0 + 3 * FIVE in resumed_times
    assert resumed_times == sorted(resumed_times)
    assert [r.phenomenon_time for r in without_lookback.readings] == [T0 + 3 * FIVE]


def test_resume_per_sensor_and_rain_stays_in_mm():
    with SensorThingsServer() as sta:
        sta.add_datastream("WL-A", unit="m")
        sta.add_datastream("RG-B", unit="mm", kind="rain_gauge")
        sta.add_series("WL-A", [T0, T0 + 3 * FIVE], [0.1, 0.2])
        sta.add_series("RG-B", [T0, T0 + 3 * FIVE], [1.5, 2.5])
        feed = sta_feed(sta)
        feed.lookback = timedelta(0)
        batch = feed.poll({"WL-A": T0, "RG-B": T0 - FIVE})
    assert keys(batch) == [("WL-A", T0 + 3 * FIVE, 0.2), ("RG-B", T0, 1.5), ("RG-B", T0 + 3 * FIVE, 2.5)]
    assert [r.unit for r in batch.readings] == ["m", "mm", "mm"]


def test_interval_phenomenon_time_counts_as_its_end_and_null_is_missing():
    with SensorThingsServer() as sta:
        sta.add_datastream("RG-B", unit="mm")
        sta.add_observation("RG-B", T0 + timedelta(hours=1), 12.5, start=T0)
        sta.add_observation("RG-B", T0 + timedelta(hours=2), None, start=T0 + timedelta(hours=1))
        batch = sta_feed(sta).poll(T0)
    assert keys(batch) == [("RG-B", T0 + timedelta(hours=1), 12.5), ("RG-B", T0 + timedelta(hours=2), None)]


def test_datastream_name_identifies_the_sensor_without_properties_sensor_id():
    with SensorThingsServer() as sta:
        sta.add_datastream("WL-NAMED", unit="m", sensor_id=False)
        sta.add_observation("WL-NAMED", T0, 0.05)
        batch = sta_feed(sta).poll(T0 - FIVE)
    assert keys(batch) == [("WL-NAMED", T0, 0.05)]


def test_bad_datastreams_and_observations_are_reported_and_the_rest_pass():
    with SensorThingsServer() as sta:
        sta.add_datastream("WL-A", unit="m")
        sta.add_datastream("WL-FT", unit="ft")
        sta.add_series("WL-A", [T0, T0 + FIVE], [0.1, 0.2])
        sta.add_series("WL-FT", [T0], [1.0])
        catalogue = {"WL-A": Sensor("WL-A", SensorKind.WATER_LEVEL, "甲", 106.5, 29.6, FIVE)}
        feed = build_feed("sta", SensorFeedSpec(kind="sensorthings", url=sta.url),
                          FeedOptions(now=clock, catalogue=catalogue))
        batch = feed.poll(T0 - FIVE)
    assert keys(batch) == [("WL-A", T0, 0.1), ("WL-A", T0 + FIVE, 0.2)]
    [problem] = batch.rejected
    assert problem.where == f"sensor feed 'sta' ({sta.url})"
    assert problem.key == "Datastreams(2).unitOfMeasurement.symbol"
    assert "a unit among m, cm, mm" in str(problem) and "'ft'" in str(problem)


def test_a_bad_observation_is_rejected_with_its_id_and_field():
    def transport(request: httpx.Request) -> httpx.Response:
        if "/Observations" in request.url.path:
            return httpx.Response(200, json={"value": [
                {"@iot.id": 7, "phenomenonTime": "2026-07-15T08:00:00+08:00", "result": "abc", "Datastream": A},
                {"@iot.id": 8, "phenomenonTime": "yesterday", "result": 0.1, "Datastream": A},
                {"@iot.id": 9, "phenomenonTime": "2026-07-15T08:05:00", "result": "0.25", "Datastream": A},
                {"@iot.id": 10, "phenomenonTime": "2026-07-15T08:05:00", "result": 0.3, "Datastream": {"@iot.id": 99}},
                {"@iot.id": 11, "phenomenonTime": "2026-07-15T08:05:00", "result": 0.3},
                {"@iot.id": 12, "phenomenonTime": "2026-07-15T08:05:00", "result": 0.3, "Datastream": {"@iot.id": True}},
                {"@iot.id": 13, "phenomenonTime": "2026-07-15T08:05:00", "result": 0.3, "Datastream": {"@iot.id": 2}},
            ]})
        return httpx.Response(200, json={"value": [
            {"@iot.id": 1, "name": "WL-A", "unitOfMeasurement": {"symbol": "m"}},
            {"@iot.id": 2, "name": "WL-FT", "unitOfMeasurement": {"symbol": "ft"}}]})

    A = {"@iot.id": 1, "name": "WL-A"}  # the expanded Datastream of each Observation
    spec = SensorFeedSpec(kind="sensorthings", url="http://sta.invalid/v1.1", timezone="Asia/Shanghai")
    batch = build_feed("sta", spec, FeedOptions(now=clock, transport=httpx.MockTransport(transport))).poll(T0)
    assert keys(batch) == [("WL-A", T0 + FIVE, 0.25)]  # naive 08:05 in Asia/Shanghai = 00:05 UTC
    # WL-FT (a unit that is not) is rejected once, as a Datastream; its Observation 13 is not rejected again
    assert [p.key for p in batch.rejected] == ["Datastreams(2).unitOfMeasurement.symbol",
                                               "Observations(10).Datastream", "Observations(11).Datastream",
                                               "Observations(12).Datastream",
                                               "Datastreams(1)/Observations(7).result",
                                               "Datastreams(1)/Observations(8).phenomenonTime"]
    unlisted, missing = batch.rejected[1:3]
    assert "expected an expanded Datastream whose @iot.id is one of the Datastreams listed" in str(unlisted)
    assert "@iot.id 99, not among the Datastreams listed" in str(unlisted) and "got None" in str(missing)
    assert "expected a number, or null" in str(batch.rejected[4]) and "'abc'" in str(batch.rejected[4])
    assert "expected an ISO 8601 time" in str(batch.rejected[5])


def test_current_sensors_share_one_query_per_page_and_each_keeps_only_what_follows_its_start():
    with SensorThingsServer(max_top=100) as sta:
        for key in ("WL-A", "WL-B", "WL-C"):
            sta.add_datastream(key, unit="m")
            sta.add_series(key, [T0 + i * FIVE for i in range(12)], [0.01 * i for i in range(12)])
        sta.add_observation("WL-B", T0 + timedelta(minutes=31), 0.99)  # late, after 00:55 was stored
        feed = sta_feed(sta, page_size=10, lookback=timedelta(minutes=30))
        # stored up to 00:55 (B, C) and 00:30 (A): A starts at 00:00, B and C at 00:25
        batch = feed.poll({"WL-A": T0 + 6 * FIVE, "WL-B": T0 + 11 * FIVE, "WL-C": T0 + 11 * FIVE})
    assert batch.rejected == []
    times = {key: [r.phenomenon_time for r in batch.readings if r.sensor_id == key] for key in ("WL-A", "WL-B", "WL-C")}
    assert times["WL-A"] == [T0 + i * FIVE for i in range(1, 12)]
    assert times["WL-C"] == [T0 + i * FIVE for i in range(6, 12)]  # nothing at or before its own start
    assert times["WL-B"] == sorted([*times["WL-C"], T0 + timedelta(minutes=31)])  # the late one is caught
    assert [r.sensor_id for r in batch.readings] == ["WL-A"] * 11 + ["WL-B"] * 7 + ["WL-C"] * 6
    paths = [path for path, _ in sta.requests]
    assert paths[0].startswith("/v1.1/Datastreams?")
    # one query for all three from the earliest start (A's 00:00): 11 + 12 + 11 Observations after it, 10 a page
    assert len(paths) == 1 + 4 and all(p.startswith("/v1.1/Observations?") for p in paths[1:])
    assert "phenomenonTime+gt+2026-07-15T00%3A00%3A00.000Z" in paths[1] and "%24expand=Datastream" in paths[1]


@pytest.mark.parametrize("silent", [timedelta(days=3), timedelta(hours=5)])  # beyond the backfill, within it
def test_a_silent_sensor_keeps_its_own_query_and_loses_nothing(silent):
    last = ARRIVAL - silent
    with SensorThingsServer() as sta:
        sta.add_datastream("WL-OLD", unit="m")
        sta.add_datastream("WL-NOW", unit="m")
        sta.add_series("WL-OLD", [last - i * FIVE for i in range(3, -1, -1)], [0.1, 0.2, 0.3, 0.4])
        sta.add_series("WL-NOW", [ARRIVAL - 3 * FIVE, ARRIVAL - 2 * FIVE, ARRIVAL - FIVE], [0.5, 0.6, 0.7])
        feed = sta_feed(sta, lookback=FIVE, backfill=timedelta(days=1))
        batch = feed.poll({"WL-OLD": last - 3 * FIVE, "WL-NOW": ARRIVAL - 2 * FIVE})
    assert keys(batch) == [("WL-OLD", last - i * FIVE, v) for i, v in ((3, 0.1), (2, 0.2), (1, 0.3), (0, 0.4))] + [
        ("WL-NOW", ARRIVAL - 2 * FIVE, 0.6), ("WL-NOW", ARRIVAL - FIVE, 0.7)]
    observations = [path for path, _ in sta.requests if "Observations" in path]
    assert len(observations) == 2  # the shared query starts at WL-NOW's start, not WL-OLD's
    assert observations[0].startswith("/v1.1/Observations?") and _iso_query(ARRIVAL - 3 * FIVE) in observations[0]
    assert observations[1].startswith("/v1.1/Datastreams(1)/Observations?")
    assert _iso_query(last - 4 * FIVE) in observations[1]


def _iso_query(moment: datetime) -> str:
    """``moment`` as a ``$filter`` bound appears in a request path."""
    return moment.strftime("%Y-%m-%dT%H") + "%3A" + moment.strftime("%M")


def test_sensors_never_read_before_read_alone_and_together_on_the_first_poll():
    with SensorThingsServer() as sta:
        for key in ("WL-A", "WL-B"):
            sta.add_datastream(key, unit="m")
            sta.add_series(key, [ARRIVAL - timedelta(hours=30), ARRIVAL - timedelta(hours=2)], [0.1, 0.2])
        feed = sta_feed(sta, backfill=timedelta(days=1))
        first = feed.poll(None)  # every sensor starts a backfill ago: one query
        mixed = feed.poll({"WL-A": ARRIVAL - timedelta(hours=2)})  # WL-B, never stored, reads its backfill alone
    assert keys(first) == [("WL-A", ARRIVAL - timedelta(hours=2), 0.2), ("WL-B", ARRIVAL - timedelta(hours=2), 0.2)]
    assert keys(mixed) == keys(first)
    observations = [path for path, _ in sta.requests if "Observations" in path]
    assert [p.split("?")[0] for p in observations] == ["/v1.1/Observations", "/v1.1/Observations",
                                                        "/v1.1/Datastreams(2)/Observations"]


def test_a_failed_shared_query_rejects_each_of_its_sensors_and_the_rest_is_read():
    def transport(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1.1/Observations":
            return httpx.Response(200, json={"value": "not a list"})
        if "/Observations" in request.url.path:
            return httpx.Response(200, json={"value": [{"@iot.id": 5, "phenomenonTime": "2026-07-01T00:05:00Z",
                                                        "result": 0.4}]})
        return httpx.Response(200, json={"value": [
            {"@iot.id": k, "name": name, "unitOfMeasurement": {"symbol": "m"}}
            for k, name in ((1, "WL-A"), (2, "WL-B"), (3, "WL-OLD"))]})

    spec = SensorFeedSpec(kind="sensorthings", url="http://sta.invalid/v1.1")
    feed = build_feed("sta", spec, FeedOptions(now=clock, transport=httpx.MockTransport(transport)))
    batch = feed.poll({"WL-A": T0, "WL-B": T0, "WL-OLD": datetime(2026, 7, 1, tzinfo=UTC)})
    assert keys(batch) == [("WL-OLD", datetime(2026, 7, 1, 0, 5, tzinfo=UTC), 0.4)]
    assert [(p.key, p.hint) for p in batch.rejected] == [("Datastreams(1)/Observations", "sensor WL-A"),
                                                         ("Datastreams(2)/Observations", "sensor WL-B")]
    assert "a SensorThings collection" in str(batch.rejected[0]) and "/v1.1/Observations" in str(batch.rejected[0])


def test_retries_5xx_then_succeeds():
    with SensorThingsServer(failures=2) as sta:
        sta.add_datastream("WL-A", unit="m")
        sta.add_observation("WL-A", T0, 0.1)
        waits: list[float] = []
        feed = build_feed("sta", SensorFeedSpec(kind="sensorthings", url=sta.url, retries=3),
                          FeedOptions(now=clock, sleep=waits.append))
        batch = feed.poll(T0 - FIVE)
    assert keys(batch) == [("WL-A", T0, 0.1)]
    assert waits == [1.0, 2.0]


def test_unreachable_service_raises_naming_the_url():
    with SensorThingsServer() as sta:
        url = sta.url
    feed = build_feed("sta", SensorFeedSpec(kind="sensorthings", url=url, retries=1),
                      FeedOptions(now=clock, sleep=lambda s: None))
    with pytest.raises(SourceError, match=r"Datastreams.*after 2 attempt\(s\)"):
        feed.poll(T0)


CJ_FIELDS = {"sensor_id": "stcd", "time": "tm", "value": "z"}


def test_json_feed_with_changjiang_fields_local_times_and_a_list_under_a_key(tmp_path):
    document = {"count": 3, "data": [
        {"stcd": "60105400", "tm": "2026-07-15 08:00:00", "z": 182.35},
        {"stcd": "60105400", "tm": "2026-07-15 08:05:00", "z": None},
        {"stcd": "60105400", "tm": "2026-07-15T08:10:00+08:00", "z": "182.40"},
    ]}
    (tmp_path / "levels.json").write_text(json.dumps(document), encoding="utf-8")
    with FeedServer(tmp_path) as server:
        spec = SensorFeedSpec(kind="json", url=f"{server.url}/levels.json", fields=CJ_FIELDS, unit="m",
                              timezone="Asia/Shanghai")
        batch = build_feed("cj", spec, FeedOptions(now=clock)).poll()
    assert keys(batch) == [("60105400", T0, 182.35), ("60105400", T0 + FIVE, None),
                           ("60105400", T0 + 2 * FIVE, 182.40)]
    assert batch.rejected == []


def test_json_feed_reports_bad_records_by_index_and_field(tmp_path):
    records = [
        {"stcd": "WL-A", "tm": "2026-07-15T00:00:00Z", "z": 12, "u": "cm"},
        {"stcd": "WL-A", "tm": "2026-07-15T00:05:00Z"},
        {"stcd": "WL-A", "tm": "2026-07-15T00:10:00Z", "z": 1, "u": "ft"},
        {"stcd": "", "tm": "2026-07-15T00:15:00Z", "z": 1},
        "not an object",
        {"stcd": "WL-A", "tm": "2026-07-15T00:20:00Z", "z": 15, "u": "厘米"},
    ]
    (tmp_path / "levels.json").write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    with FeedServer(tmp_path) as server:
        url = f"{server.url}/levels.json"
        spec = SensorFeedSpec(kind="json", url=url, fields={**CJ_FIELDS, "unit": "u"}, unit="m")
        batch = build_feed("cj", spec, FeedOptions(now=clock)).poll()
    assert keys(batch) == [("WL-A", T0, 0.12), ("WL-A", T0 + 4 * FIVE, 0.15)]
    messages = [str(p) for p in batch.rejected]
    assert messages[0].startswith(f"sensor feed 'cj' ({url}): [1].z: expected the field to be present")
    assert messages[1].startswith(f"sensor feed 'cj' ({url}): [2].u: expected a unit among m, cm, mm, got 'ft'")
    assert messages[2].startswith(f"sensor feed 'cj' ({url}): [3].stcd: expected a non-empty sensor id")
    assert messages[3].startswith(f"sensor feed 'cj' ({url}): [4]") and "got str" in messages[3]


def test_document_feeds_drop_readings_before_since_minus_lookback(tmp_path):
    records = [{"stcd": "WL-A", "tm": (T0 + i * timedelta(hours=1)).isoformat(), "z": i} for i in range(5)]
    (tmp_path / "levels.json").write_text(json.dumps(records), encoding="utf-8")
    with FeedServer(tmp_path) as server:
        spec = SensorFeedSpec(kind="json", url=f"{server.url}/levels.json", fields=CJ_FIELDS, unit="m")
        batch = build_feed("cj", spec, FeedOptions(now=clock)).poll(T0 + timedelta(hours=4))
    assert [r.value for r in batch.readings] == [3, 4]  # 2 h lookback: after 02:00


def test_csv_feed_with_bom_and_rejected_rows_by_line(tmp_path):
    text = "stcd,tm,z\nWL-A,2026-07-15 08:00:00,35\nWL-A,2026-07-15 08:05:00,abc\nWL-A,2026-07-15 08:10:00,\n"
    (tmp_path / "levels.csv").write_bytes(text.encode("utf-8-sig"))
    with FeedServer(tmp_path) as server:
        url = f"{server.url}/levels.csv"
        spec = SensorFeedSpec(kind="csv", url=url, fields=CJ_FIELDS, unit="cm", timezone="Asia/Shanghai")
        batch = build_feed("cj_csv", spec, FeedOptions(now=clock)).poll()
    assert keys(batch) == [("WL-A", T0, 0.35), ("WL-A", T0 + 2 * FIVE, None)]
    [problem] = batch.rejected
    assert str(problem).startswith(f"sensor feed 'cj_csv' ({url}): line 3.z: expected a number")


def test_csv_missing_column_is_reported_for_every_row_and_gb18030_is_read(tmp_path):
    text = "站码,时间,水位\nWL-A,2026-07-15 08:00:00,1.2\n"
    (tmp_path / "levels.csv").write_bytes(text.encode("gb18030"))
    with FeedServer(tmp_path) as server:
        spec = SensorFeedSpec(kind="csv", url=f"{server.url}/levels.csv",
                              fields={"sensor_id": "站码", "time": "时间", "value": "z"}, unit="m")
        batch = build_feed("cn", spec, FeedOptions(now=clock)).poll()
    assert batch.readings == []
    assert [p.key for p in batch.rejected] == ["line 2.z"]
    assert "fields 站码, 时间, 水位" in str(batch.rejected[0])


def test_catalogue_decides_the_unit_and_rejects_unknown_sensors(tmp_path):
    records = [{"stcd": "RG-1", "tm": "2026-07-15T00:00:00Z", "z": 0.5},
               {"stcd": "WL-X", "tm": "2026-07-15T00:00:00Z", "z": 5}]
    (tmp_path / "r.json").write_text(json.dumps(records), encoding="utf-8")
    catalogue = {"RG-1": Sensor("RG-1", SensorKind.RAIN_GAUGE, "雨量站", 106.5, 29.6, FIVE)}
    with FeedServer(tmp_path) as server:
        spec = SensorFeedSpec(kind="json", url=f"{server.url}/r.json", fields=CJ_FIELDS, unit="cm")
        batch = build_feed("rg", spec, FeedOptions(now=clock, catalogue=catalogue)).poll()
    assert keys(batch) == [("RG-1", T0, 5.0)] and batch.readings[0].unit == "mm"  # 0.5 cm of rain = 5 mm
    assert [p.key for p in batch.rejected] == ["[1].stcd"]
    assert "a sensor id in the sensor catalogue" in str(batch.rejected[0])


def test_document_that_is_not_a_list_raises_naming_the_feed(tmp_path):
    (tmp_path / "x.json").write_text('{"status": "ok"}', encoding="utf-8")
    with FeedServer(tmp_path) as server:
        spec = SensorFeedSpec(kind="json", url=f"{server.url}/x.json", fields=CJ_FIELDS, unit="m")
        with pytest.raises(SourceError, match="sensor feed 'j'.*a JSON list of records"):
            build_feed("j", spec, FeedOptions(now=clock)).poll()
        spec404 = SensorFeedSpec(kind="json", url=f"{server.url}/gone.json", fields=CJ_FIELDS, unit="m")
        with pytest.raises(SourceError, match="gone.json: expected HTTP 200, got HTTP 404"):
            build_feed("j", spec404, FeedOptions(now=clock)).poll()


def test_field_mapped_feed_without_any_unit_is_a_config_error():
    spec = SensorFeedSpec(kind="json", url="http://127.0.0.1:1/x.json", fields=CJ_FIELDS)
    with pytest.raises(ConfigError, match="sensors.feeds.nounit: unit: expected a unit"):
        build_feed("nounit", spec)
    with pytest.raises(ConfigError, match="sensors.feeds.feet: unit: expected a unit among m, cm, mm, got 'ft'"):
        build_feed("feet", SensorFeedSpec(kind="csv", url="http://127.0.0.1:1/x.csv", fields=CJ_FIELDS, unit="ft"))


# --- bounded network reads (issue 15) -------------------------------------------------------------


def test_a_polled_document_larger_than_the_feed_cap_is_refused_naming_url_and_cap():
    with Hostile() as hostile:
        spec = SensorFeedSpec(kind="json", url=f"{hostile.root}/huge", fields=CJ_FIELDS, unit="m", max_bytes=2**20)
        with pytest.raises(SourceError, match=r"/huge: expected a body of at most 1 MiB"):
            build_feed("j", spec, FeedOptions(now=clock, sleep=lambda s: None)).poll()
        assert hostile.requests == ["GET /huge"]


def test_a_sensorthings_next_link_to_another_host_is_never_fetched():
    with Hostile() as hostile, Hostile(host="127.0.0.2") as elsewhere:
        hostile.files["/v1.1/Datastreams?%24top=1000"] = json.dumps(
            {"value": [], "@iot.nextLink": f"{elsewhere.root}/latest/meta-data"}).encode()
        spec = SensorFeedSpec(kind="sensorthings", url=f"{hostile.root}/v1.1")
        with pytest.raises(SourceError) as err:
            build_feed("sta", spec, FeedOptions(now=clock, sleep=lambda s: None)).poll()
        assert elsewhere.requests == []
    assert "@iot.nextLink: expected a link within the service's origin" in str(err.value)
    assert f"{elsewhere.root}/latest/meta-data" in str(err.value)
