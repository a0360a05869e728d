"""The demo SensorThings server (real HTTP) and the ponding-depth generator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import numpy as np
import pytest

from warn.sim.levels import Bucket, Freeze, Spike, simulate_levels
from warn.sim.sensorthings import SensorThingsServer

T0 = datetime(2026, 7, 15, tzinfo=UTC)
FIVE = timedelta(minutes=5)


@pytest.fixture
def sta():
    with SensorThingsServer(max_top=2) as server:
        server.add_datastream("WL-A", unit="cm", kind="water_level", thing="积水点A")
        server.add_series("WL-A", [T0 + 2 * FIVE, T0, T0 + FIVE], [20.0, 0.0, None])
        yield server


def test_index_things_and_datastreams(sta):
    assert [e["name"] for e in httpx.get(sta.url).json()["value"]] == ["Things", "Datastreams", "Observations"]
    [thing] = httpx.get(f"{sta.url}/Things").json()["value"]
    assert thing["name"] == "积水点A"
    [stream] = httpx.get(f"{sta.url}/Things(1)/Datastreams").json()["value"]
    assert stream["properties"] == {"sensor_id": "WL-A", "kind": "water_level"}
    assert stream["unitOfMeasurement"]["symbol"] == "cm"
    assert httpx.get(f"{sta.url}/Datastreams(1)?$expand=Thing").json()["Thing"]["name"] == "积水点A"


def test_filter_orderby_top_skip_count_and_next_link(sta):
    first = httpx.get(f"{sta.url}/Datastreams(1)/Observations",
                      params={"$orderby": "phenomenonTime asc", "$count": "true"}).json()
    assert first["@iot.count"] == 3
    assert [o["result"] for o in first["value"]] == [0.0, None]
    second = httpx.get(first["@iot.nextLink"]).json()
    assert [o["result"] for o in second["value"]] == [20.0] and "@iot.nextLink" not in second
    gt = httpx.get(f"{sta.url}/Observations", params={"$filter": "phenomenonTime gt 2026-07-15T00:05:00Z"}).json()
    ge = httpx.get(f"{sta.url}/Observations", params={"$filter": "phenomenonTime ge 2026-07-15T00:05:00Z",
                                                      "$orderby": "phenomenonTime asc", "$top": "5"}).json()
    assert [o["phenomenonTime"] for o in gt["value"]] == ["2026-07-15T00:10:00Z"]
    assert [o["phenomenonTime"] for o in ge["value"]] == ["2026-07-15T00:05:00Z", "2026-07-15T00:10:00Z"]
    skip = httpx.get(f"{sta.url}/Observations", params={"$orderby": "phenomenonTime desc", "$skip": "2"}).json()
    assert [o["result"] for o in skip["value"]] == [0.0]


def test_staged_faults_late_duplicate_revised_and_interval(sta):
    sta.add_observation("WL-A", T0 + FIVE, 5.0)  # revised: same time, new value
    sta.add_observation("WL-A", T0, 0.0)  # duplicate, and late
    sta.add_observation("WL-A", T0 + 3 * FIVE, 25.0, start=T0 + 2 * FIVE)
    body = httpx.get(f"{sta.url}/Observations", params={"$orderby": "phenomenonTime asc", "$top": "10",
                                                        "$expand": "Datastream"}).json()
    # $top is capped by max_top
    assert len(body["value"]) == 2 and "@iot.nextLink" in body
    rows = body["value"] + httpx.get(body["@iot.nextLink"]).json()["value"]
    rows += httpx.get(httpx.get(body["@iot.nextLink"]).json()["@iot.nextLink"]).json()["value"]
    assert [(o["phenomenonTime"].split("/")[-1][11:16], o["result"]) for o in rows] == [
        ("00:00", 0.0), ("00:00", 0.0), ("00:05", None), ("00:05", 5.0), ("00:10", 20.0), ("00:15", 25.0)]
    assert rows[-1]["phenomenonTime"] == "2026-07-15T00:10:00Z/2026-07-15T00:15:00Z"
    assert rows[0]["Datastream"]["properties"]["sensor_id"] == "WL-A"
    slim = httpx.get(f"{sta.url}/Observations", params={"$expand": "Datastream($select=id)"}).json()
    assert [o["Datastream"] for o in slim["value"]] == [{"@iot.id": 1}] * 2
    wrong = httpx.get(f"{sta.url}/Observations", params={"$expand": "Datastream($select=name)"})
    assert wrong.status_code == 400 and "only Datastream or Datastream($select=id)" in wrong.json()["message"]


def test_unsupported_queries_are_400_and_unknown_entities_404(sta):
    bad = httpx.get(f"{sta.url}/Observations", params={"$filter": "result gt 3"})
    assert bad.status_code == 400 and "only phenomenonTime" in bad.json()["message"]
    assert httpx.get(f"{sta.url}/Observations", params={"$select": "result"}).status_code == 400
    assert httpx.get(f"{sta.url}/Datastreams(9)/Observations").status_code == 404
    assert httpx.get(f"{sta.root}/v1.0/Things").status_code == 404


def test_staged_503_then_serves():
    with SensorThingsServer(failures=1) as server:
        assert httpx.get(server.url).status_code == 503
        assert httpx.get(server.url).status_code == 200


POINT = {"point_id": "DEMO-W01", "sensor_id": "WL-DEMO-W01", "catchment_area_ha": 20.0,
         "impervious_fraction": 0.8, "ponding_area_fraction": 0.1}


def test_bucket_dry_is_zero_rises_in_a_burst_and_recedes():
    rain = [0.0] * 6 + [5.0] * 12 + [0.0] * 24  # 60 mm/h for an hour, in 5-minute steps
    depth = Bucket.from_point(POINT).depth(rain, FIVE)
    assert np.all(depth[:6] == 0.0)
    burst = depth[6:18]
    assert np.all(np.diff(burst) > 0)
    # hand-computed equilibrium: C (r − i_d) k / (1000 f_p) = 0.8 × 35 × 0.5 / 100 = 0.14 m
    assert 0.1 < burst[-1] < 0.14
    after = depth[18:]
    assert np.all(np.diff(after) < 0)
    assert after[11] == pytest.approx(burst[-1] * np.exp(-1.0 / 0.5))  # one hour later: e^(−1 h / 0.5 h)


def test_bucket_is_independent_of_step_and_of_catchment_area():
    five = Bucket.from_point(POINT).depth([5.0] * 12, FIVE)
    hour = Bucket.from_point(POINT).depth([60.0], timedelta(hours=1))
    bigger = Bucket.from_point({**POINT, "catchment_area_ha": 55.0}).depth([5.0] * 12, FIVE)
    assert hour[0] == pytest.approx(five[-1])
    assert bigger == pytest.approx(five)
    assert np.all(Bucket.from_point(POINT).depth([2.0] * 12, FIVE) == 0.0)  # 24 mm/h < capacity


def test_simulate_levels_with_a_frozen_and_a_spiking_sensor():
    points = [POINT, {**POINT, "point_id": "DEMO-W02", "sensor_id": "WL-DEMO-W02"},
              {**POINT, "point_id": "DEMO-W03", "sensor_id": "WL-DEMO-W03"}]
    rain = np.array([0.0] * 3 + [5.0] * 12 + [0.0] * 12)
    levels = simulate_levels(points, {p["point_id"]: rain for p in points}, step=FIVE,
                             faults={"WL-DEMO-W02": Freeze(at=8), "WL-DEMO-W03": Spike(at=20, height_m=1.5)})
    clean = levels["WL-DEMO-W01"]
    assert np.all(levels["WL-DEMO-W02"][8:] == clean[8])
    assert levels["WL-DEMO-W03"][20] == pytest.approx(clean[20] + 1.5)
    assert np.delete(levels["WL-DEMO-W03"], 20) == pytest.approx(np.delete(clean, 20))
    with pytest.raises(KeyError, match="unknown"):
        simulate_levels(points[:1], {"DEMO-W01": rain}, step=FIVE, faults={"WL-NOPE": Freeze(at=1)})


def test_a_frozen_sensor_repaired_reads_true_again():
    points = [POINT, {**POINT, "point_id": "DEMO-W02", "sensor_id": "WL-DEMO-W02"}]
    rain = np.array([0.0] * 3 + [5.0] * 12 + [0.0] * 12)
    levels = simulate_levels(points, {p["point_id"]: rain for p in points}, step=FIVE,
                             faults={"WL-DEMO-W02": Freeze(at=8, until=20)})
    clean = levels["WL-DEMO-W01"]
    assert np.all(levels["WL-DEMO-W02"][8:20] == clean[8]) and clean[19] != clean[8]
    assert np.array_equal(levels["WL-DEMO-W02"][:8], clean[:8])
    assert np.array_equal(levels["WL-DEMO-W02"][20:], clean[20:])


def test_bucket_rejects_bad_inputs():
    with pytest.raises(ValueError, match="ponding_area_fraction"):
        Bucket(10.0, 0.5, 0.0)
    with pytest.raises(ValueError, match="finite depths"):
        Bucket.from_point(POINT).depth([1.0, np.nan], FIVE)
    with pytest.raises(KeyError, match="DEMO-W09.*impervious_fraction"):
        Bucket.from_point({"point_id": "DEMO-W09", "catchment_area_ha": 1, "ponding_area_fraction": 0.1})


@pytest.mark.parametrize("expression", ["phenomenonTime gt {a}", "phenomenonTime ge {a}", "phenomenonTime lt {b}",
                                        "phenomenonTime le {b}", "phenomenonTime eq {a}",
                                        "phenomenonTime gt {a} and phenomenonTime le {b}",
                                        "phenomenonTime ge {b} and phenomenonTime lt {a}"])
@pytest.mark.parametrize("order", [None, "phenomenonTime asc", "phenomenonTime desc"])
def test_a_time_filter_found_by_bisection_is_what_every_observation_compared_gives(expression, order):
    """Per Datastream and across all of them (the collection, each with its expanded Datastream)."""
    with SensorThingsServer(max_top=1000) as server:
        server.add_datastream("WL-A", unit="cm")
        server.add_datastream("WL-B", unit="cm")
        times = [T0 + k * FIVE for k in (3, 0, 5, 1, 3, 9, 2, 7, 7, 4)]  # late ones, repeats of a time
        for k, moment in enumerate(times):
            server.add_observation("WL-A" if k % 3 else "WL-B", moment, float(k))
        a, b = T0 + 3 * FIVE, T0 + 7 * FIVE
        clauses = [c.split() for c in expression.split(" and ")]
        compare = {"gt": lambda x, y: x > y, "ge": lambda x, y: x >= y, "lt": lambda x, y: x < y,
                   "le": lambda x, y: x <= y, "eq": lambda x, y: x == y}
        bounds = {"{a}": a, "{b}": b}
        params = {"$filter": expression.format(a=a.isoformat(), b=b.isoformat())}
        if order:
            params["$orderby"] = order

        def expected(streams: set[int]) -> list[tuple[float, int]]:
            """(result, Datastream id) of the observations of ``streams`` that pass, in the order asked."""
            mine = [(k, t) for k, t in enumerate(times) if (1 if k % 3 else 2) in streams
                    and all(compare[op](t, bounds[bound]) for _, op, bound in clauses)]
            mine.sort(key=(lambda kt: kt[0]) if order is None else (lambda kt: (kt[1], kt[0])),
                      reverse=order == "phenomenonTime desc")
            return [(float(k), 1 if k % 3 else 2) for k, _ in mine]

        for stream in (1, 2):
            got = httpx.get(f"{server.url}/Datastreams({stream})/Observations", params=params).json()["value"]
            assert [(o["result"], stream) for o in got] == expected({stream})
        everything = httpx.get(f"{server.url}/Observations", params={**params, "$expand": "Datastream"}).json()
        assert [(o["result"], o["Datastream"]["@iot.id"]) for o in everything["value"]] == expected({1, 2})
