"""The situation map's data over a real server: the situation, an item, the basemap, the rain frames, and how
fast the first two answer on the demo store."""

from __future__ import annotations

import io
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
from PIL import Image
from shapely.geometry import shape

from tests.web.serving import CALL04, NOW, TASK04
from tests.web.login import bearer, drill_login
from tests.web.looking import TOWN04, looking_at
from warn import hazards
from warn.rainarray import step_of
from warn.sources.forecast import open_forecast
from warn.store import Store

KEYS = {"at", "now", "fixed", "span", "viewer", "mode", "hazards", "towns", "items", "sensors", "warnings", "calls",
        "tasks", "notices", "timeline", "last_cycle", "stale", "rain"}


def test_the_situation_has_everything_the_screen_draws(looking) -> None:
    s = looking.client.get("/api/v1/situation").json()
    assert set(s) == KEYS
    assert s["at"] == s["now"] == NOW.isoformat() and s["fixed"] is False and s["stale"] is False
    assert s["span"] == {"first": "2026-07-14T21:00:00+00:00", "last": "2026-07-15T05:00:00+00:00"}
    assert s["viewer"] == {"person": "演示值班员01", "post": "district.500112.duty_officer", "towns": None}
    assert s["mode"]["mode"] == "wartime" and s["mode"]["zh"].startswith("战时")
    assert [h["name"] for h in s["hazards"]] == list(hazards.names()) and all(h["zh"] for h in s["hazards"])
    assert len(s["towns"]) == 21 and all(list(t["levels"]) == list(hazards.names()) for t in s["towns"])
    t04 = next(t for t in s["towns"] if t["id"] == "DEMO-T04")
    zones = looking.client.get("/api/v1/zones", params={"hazard": "landslide"}).json()
    assert t04["levels"]["landslide"] == max(z["level"] for z in zones if z["item_id"] == "DEMO-T04"
                                             or any(i["id"] == z["item_id"] and i["town"] == "DEMO-T04"
                                                    for i in s["items"]))
    points = {i["town"] for i in s["items"] if i["kind"] == "gauge"}
    assert {t["levels"]["river"] for t in s["towns"] if t["id"] not in points} == {0}  # no gauge: nothing to fear
    kinds = {i["kind"] for i in s["items"]}
    assert {"point", "catchment", "gauge"} <= kinds and "zone" not in kinds
    assert all(105 < i["lon"] < 108 and 29 < i["lat"] < 31 for i in s["items"])
    assert s["sensors"] and all({"value", "unit", "age_s", "qc", "health", "town"} <= set(x) for x in s["sensors"])
    assert CALL04 in {c["request_id"] for c in s["calls"]} and TASK04 in {t["task_id"] for t in s["tasks"]}
    assert all(t["status"] in ("open", "acknowledged") for t in s["tasks"])
    overdue = [t["overdue"] for t in s["tasks"]]
    assert overdue == sorted(overdue, reverse=True)
    assert {w["colour"] for w in s["warnings"]} <= {"blue", "yellow", "orange", "red"}
    assert 0 < len(s["timeline"]) <= 30 and s["last_cycle"]["at"] == "2026-07-15T05:00:00+00:00"
    only = looking.client.get("/api/v1/situation", params={"hazard": "landslide"}).json()
    assert only["items"] and {i["hazard"] for i in only["items"]} == {"landslide"}


def test_a_town_viewer_gets_only_their_town(looking) -> None:
    s = looking.client.get("/api/v1/situation", headers=bearer(looking, TOWN04)).json()
    assert s["viewer"]["towns"] == ["DEMO-T04"] and [t["id"] for t in s["towns"]] == ["DEMO-T04"]
    for panel in ("items", "sensors", "warnings", "calls", "tasks"):
        assert all(row["town"] == "DEMO-T04" for row in s[panel]), panel
    assert s["calls"] and s["tasks"]
    layers = looking.client.get("/map/layers.json", headers=bearer(looking, TOWN04)).json()
    assert all(f["properties"]["town"] == "DEMO-T04" for layer in layers["items"].values() for f in layer["features"])
    assert looking.client.get("/api/v1/items/DEMO-T05", headers=bearer(looking, TOWN04)).status_code == 403
    refused = looking.client.get("/api/v1/items/DEMO-H021", headers=bearer(looking, TOWN04))
    assert refused.status_code == 403 and refused.json()["error"]["en"].startswith("not yours to see")


def test_earlier_at_shows_the_store_as_it_was(looking) -> None:
    then = (NOW - timedelta(hours=4)).isoformat()
    s = looking.client.get("/api/v1/situation", params={"at": then}).json()
    assert s["at"] == then and s["last_cycle"]["at"] <= then
    assert {t["task_id"] for t in s["tasks"]}.isdisjoint({TASK04})
    assert s["rain"]["run"]["issued_at"] <= then


def test_an_item_has_its_levels_drivers_sensors_and_work(looking) -> None:
    town = looking.client.get("/api/v1/items/DEMO-T04").json()
    assert town["name"] == "演示镇街04" and town["town"] == "DEMO-T04"
    now = [level for level in town["levels"] if level["hazard"] == "landslide" and level["lead"] == "now"]
    assert now and now[0]["drivers"] and now[0]["level"] >= 3
    assert now[0]["probability"] is None  # the demo's runs are single runs, not ensembles
    assert TASK04 in {t["task_id"] for t in town["tasks"]} and CALL04 in {c["request_id"] for c in town["calls"]}
    point = looking.client.get("/api/v1/items/DEMO-W01").json()
    assert point["kind"] == "point" and point["sensors"]
    curve = point["sensors"][0]["hydrograph"]
    assert len(curve) > 10 and all(NOW - timedelta(hours=24) < datetime.fromisoformat(t) <= NOW for t, _ in curve)
    gauge = looking.client.get("/api/v1/items/DEMO-R01").json()
    assert gauge["kind"] == "gauge" and gauge["attributes"]["warning_stage_m"] == 4.5 and gauge["sensors"]
    missing = looking.client.get("/api/v1/items/DEMO-NOPE/x")
    assert missing.status_code == 404 and "no town or item" in missing.json()["error"]["en"]


def test_the_basemap_is_wgs84_geojson(looking) -> None:
    layers = looking.client.get("/map/layers.json").json()
    assert layers["crs"]["properties"]["name"] == "EPSG:4326" and layers["datum"] == "WGS84"
    assert len(layers["towns"]["features"]) == 21 and len(layers["district"]["features"]) == 1
    assert {"hazard_points", "waterlogging_points", "catchments", "river_gauges"} <= set(layers["items"])
    west, south, east, north = shape(layers["district"]["features"][0]["geometry"]).bounds
    assert 106.3 < west < east < 107.2 and 29.4 < south < north < 30.2
    assert layers["simplified_deg"] > 0


def test_a_rain_frame_is_the_run_coloured_where_it_rained(looking) -> None:
    rain = looking.client.get("/api/v1/situation").json()["rain"]
    assert rain["notice"] is None and rain["legend"][0] == {"mm": 0.1, "colour": "#a6f28f"}
    path = looking.query("select path from forecast_runs where issued_at = ?", "2026-07-15 05:00:00.000000")[0][0]
    field = open_forecast(path, source="demo")
    wet = 0
    for frame in rain["frames"]:
        got = looking.client.get(frame["url"])
        assert got.status_code == 200 and got.headers["content-type"] == "image/png"
        image = Image.open(io.BytesIO(got.content))
        assert image.mode == "RGBA" and image.size == (field.sizes["lon"], field.sizes["lat"])
        rate = field.sel(time=np.datetime64(frame["valid_to"][:19])).values / (step_of(field) / timedelta(hours=1))
        opaque = np.asarray(image)[:, :, 3] > 0
        assert opaque.sum() == int((np.nan_to_num(rate) >= 0.1).sum())
        wet += int(opaque.sum())
    assert wet > 0
    west, south, east, north = rain["extent"]
    assert west < float(field.lon.min()) < east and south < float(field.lat.max()) < north
    missing = looking.client.get("/map/rain/demo/20260715T0500Z/99.png")
    assert missing.status_code == 404 and "no step" in missing.json()["error"]["en"]
    for wrong in ("demo/20260715T0500Z/nan.png", "demo/20260715T0500Z/1e9.png", "demo/2026-07-15/1.png",
                  "nowhere/20260715T0500Z/1.png"):
        refused = looking.client.get(f"/map/rain/{wrong}")
        assert refused.status_code == 404 and refused.json()["error"]["zh"], wrong


def test_a_run_whose_file_is_gone_says_so(looking) -> None:
    with sqlite3.connect(looking.db) as db:
        db.execute("update forecast_runs set path = '/nonexistent/run.nc'")
    rain = looking.client.get("/api/v1/situation").json()["rain"]
    assert rain["frames"] == [] and rain["run"]["issued_at"] == "2026-07-15T05:00:00+00:00"
    assert "gone" in rain["notice"]["en"] and rain["notice"]["zh"]
    got = looking.client.get("/map/rain/demo/20260715T0500Z/1.png")
    assert got.status_code == 404 and "gone" in got.json()["error"]["en"]


def test_an_empty_store_is_stale_never_an_error(tmp_path: Path) -> None:
    Store.connect(f"sqlite:///{tmp_path / 'warn.db'}").upgrade()
    with looking_at(tmp_path / "warn.db") as served:
        s = served.client.get("/api/v1/situation").json()
    assert s["stale"] is True and s["last_cycle"] is None and s["span"] == {"first": None, "last": None}
    assert s["items"] == s["warnings"] == s["calls"] == s["tasks"] == s["timeline"] == []
    assert all(t["levels"] == dict.fromkeys(hazards.names(), -1) for t in s["towns"])
    assert s["rain"]["frames"] == [] and s["rain"]["notice"]["en"].startswith("no forecast run")


def test_serve_at_fixes_the_moment_the_screen_shows(looking) -> None:
    fixed = NOW - timedelta(hours=2)
    looking.app.state.fixed_at = fixed
    s = looking.client.get("/api/v1/situation").json()
    assert s["at"] == fixed.isoformat() and s["now"] == NOW.isoformat() and s["fixed"] is True
    assert looking.client.get("/api/v1/situation", params={"at": NOW.isoformat()}).json()["at"] == NOW.isoformat()


def test_the_screens_timeline_leaves_out_the_access_record_the_timeline_keeps(looking) -> None:
    drill_login(looking, TOWN04, client=httpx.Client(base_url=looking.url))
    kept = {e["kind"] for e in looking.client.get("/api/v1/timeline", params={"last": 5}).json()}
    shown = {e["kind"] for e in looking.client.get("/api/v1/situation").json()["timeline"]}
    assert "login" in kept and not shown & {"login", "account", "web_request"}


def test_an_approval_waiting_for_the_commander_is_listed_for_the_district_only(looking) -> None:
    asked = looking.client.post("/api/v1/broadcasts", json={"hazard": "rainstorm", "zone": "DEMO-T04",
                                                           "level": "red", "text": "人工红色暴雨预警（演练）"})
    assert asked.status_code == 200 and "审批" in asked.json()["zh"]  # the duty officer's waits for approval
    listed = [c for c in looking.client.get("/api/v1/situation").json()["calls"] if c["kind"] == "approval"]
    assert any(c["request_id"].startswith("manual/rainstorm/DEMO-T04/") for c in listed)  # beside a mode proposal
    assert all(c["town"] is None for c in listed)
    town = looking.client.get("/api/v1/situation", headers=bearer(looking, TOWN04)).json()["calls"]
    assert all(c["kind"] == "call" for c in town)
