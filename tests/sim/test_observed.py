"""The demo world tells the truth: the 10-minute truth file, its rain gauges and radar frames, and the
imperfect runs it publishes — served over real HTTP on 127.0.0.1 and ingested into a real store."""

from __future__ import annotations

import csv
import hashlib
from datetime import datetime, timedelta, timezone

import httpx
import netCDF4
import numpy as np
import pytest
import xarray as xr
from pydantic import ValidationError

from tests.conftest import ROOT
from warn.config import SimSpec, load_settings
from warn.cycle import open_ingester, poll_feed
from warn.geo.cells import cell_series
from warn.sim.demo import DemoWorld, town_gauges, town_places
from warn.sim.forecasts import KM_PER_DEG_LAT, KM_PER_DEG_LON_EQUATOR
from warn.sim.observed import (RADAR_LAT, RADAR_LON, SILENT_AFTER, SILENT_GAUGE, gauge_world, radar_rate,
                                write_frame)
from warn.sources.decoders import parse_units
from warn.sources.forecast import open_forecast
from warn.sources.feeds import FeedOptions, build_feed
from warn.vocab import QCFlag

TRUTH = ROOT / "demo" / "observed" / "yubei-demo-analogue_truth_10min.nc"
HOURLY = ROOT / "demo" / "forecast" / "yubei-demo-analogue_2026071500.nc"
ISSUED = datetime(2026, 7, 15, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def truth() -> xr.DataArray:
    return open_forecast(TRUTH, source="truth", issued_at=ISSUED)


def test_the_truth_is_the_hourly_storm_every_ten_minutes_labelled(truth):
    with netCDF4.Dataset(TRUTH) as ds:
        assert "TRANSPLANTED ANALOGUE" in ds.title and "truth" in ds.title and "TRANSPLANTED ANALOGUE" in ds.comment
        assert ds["rain"].units == "mm" and ds["rain"].cell_methods == "time: sum" and ds.Conventions == "CF-1.8"
    assert TRUTH.stat().st_size < 1_000_000
    assert truth.sizes["time"] == 144 and truth.attrs["step"] == "PT10M"
    hourly = open_forecast(HOURLY, source="demo")
    sums = truth.values.reshape(24, 6, *truth.shape[1:]).sum(axis=1)
    np.testing.assert_allclose(sums, hourly.values, atol=0.05)  # 0.01 mm packing of both files
    assert float(hourly.sum()) == pytest.approx(float(truth.sum()), rel=1e-4)
    # the pinned hourly file is unchanged by the truth's addition (demo/PROVENANCE.md)
    assert hashlib.sha256(HOURLY.read_bytes()).hexdigest() == \
        "2e7bf0ad7433a9b23ec28f418ecd3576cfe1484ff367e08ec35187a32eda0ab7"


def test_the_catalogue_has_a_synthetic_rain_gauge_at_every_town_centre():
    settings = load_settings(ROOT / "config.yaml")
    with open(ROOT / "geodata" / "sensors.csv", encoding="utf-8") as handle:
        rows = {row["sensor_id"]: row for row in csv.DictReader(handle) if row["kind"] == "rain_gauge"}
    places = town_places(settings)
    assert sorted(rows) == sorted(f"RG-{code}" for code in places) and len(rows) == 21
    for code, (lon, lat) in places.items():
        row = rows[f"RG-{code}"]
        assert (float(row["lon"]), float(row["lat"])) == pytest.approx((lon, lat), abs=1e-6)
        assert row["interval"] == "PT5M" and "合成" in row["name"] and row["point_id"] == ""


def test_gauges_report_the_truth_at_their_cell_in_five_minute_halves_and_one_falls_silent(truth):
    gauges = town_gauges(load_settings(ROOT / "config.yaml"))
    world = {s.sensor_id: s for s in gauge_world(truth, gauges)}
    assert len(world) == 21 and all(s.kind == "rain_gauge" and s.unit == "mm" for s in world.values())
    at_cells = cell_series(truth, gauges)
    first = world["RG-DEMO-T03"]
    assert first.times[0] == ISSUED + timedelta(minutes=5) and len(first.times) == 288
    assert all(b - a == timedelta(minutes=5) for a, b in zip(first.times, first.times[1:]))
    column = list(gauges["sensor_id"]).index("RG-DEMO-T03")
    pairs = np.asarray(first.values, dtype=float).reshape(-1, 2)
    np.testing.assert_allclose(pairs.sum(axis=1), at_cells[:, column], atol=0.011)
    assert max(first.values) > 1.0  # the storm crosses T03
    silent = world[SILENT_GAUGE]
    assert silent.times[-1] == SILENT_AFTER and len(silent.times) < len(first.times)


def test_a_radar_frame_is_standard_cf_on_its_own_grid_and_biased(truth, tmp_path):
    at = datetime(2026, 7, 15, 7, 0, tzinfo=timezone.utc)
    depth = truth.sel(time=np.datetime64("2026-07-15T07:00")).values
    target = tmp_path / "radar" / "qpe_202607150700.nc"
    write_frame(radar_rate(depth, truth["lat"].values, truth["lon"].values, bias=0.7), at, target, bias=0.7)
    assert sorted(p.name for p in target.parent.iterdir()) == ["qpe_202607150700.nc"]  # no .part left
    with xr.open_dataset(target) as frame:
        frame.load()
    assert frame.attrs["Conventions"] == "CF-1.8" and "SYNTHETIC" in frame.attrs["title"]
    assert "truth x 0.7 (radar bias)" in frame.attrs["comment"]
    rate = frame["rainfall_rate"]
    assert rate.dims == ("time", "lat", "lon") and rate.sizes["time"] == 1 and rate.dtype == np.float32
    assert rate.attrs["standard_name"] == "rainfall_rate" and rate.attrs["cell_methods"] == "time: mean"
    assert parse_units(rate.attrs["units"], where="t", var="r") == ("rate", 1.0)
    assert rate.encoding["zlib"] and rate.encoding["complevel"] == 5
    assert list(frame["time"].values) == [np.datetime64("2026-07-15T07:00", "ns")]
    assert frame["time"].encoding["units"] == "minutes since 1970-01-01" and frame["time"].encoding["dtype"] == np.int64
    assert list(frame["time_bnds"].values[0]) == [np.datetime64("2026-07-15T06:50", "ns"),
                                                  np.datetime64("2026-07-15T07:00", "ns")]
    assert frame["lat"].values.tolist() == RADAR_LAT.tolist() and frame["lon"].values.tolist() == RADAR_LON.tolist()
    assert frame["lat"].attrs["units"] == "degrees_north" and frame["lon"].attrs["axis"] == "X"
    assert not set(np.round(RADAR_LON, 3)) & set(np.round(truth["lon"].values, 3))  # a grid to regrid from
    true_rate = truth.sel(time=np.datetime64("2026-07-15T07:00")).interp(lat=RADAR_LAT, lon=RADAR_LON) * 6
    np.testing.assert_allclose(rate.values[0], 0.7 * true_rate.values, atol=0.01)  # two decimals kept
    assert float(rate.max()) > 20.0
    decoded = open_forecast(target, source="radar")  # what the service reads of it
    assert decoded.attrs["step"] == "PT10M" and decoded["time"].values[0] == np.datetime64("2026-07-15T07:00", "ns")


def test_the_runs_are_the_truth_displaced_late_and_scaled(tmp_path, committed_config):
    settings = load_settings(committed_config)
    world = DemoWorld(settings, tmp_path)
    spec = settings.sim.forecast
    assert (spec.shift_km, spec.towards_deg, spec.delay, spec.scale) == (12.0, 135.0, timedelta(hours=1), 0.8)
    truth_hours, forecast_hours = world.rain, world.forecast
    assert forecast_hours["time"].values.tolist() == truth_hours["time"].values.tolist()
    # 80 % of the truth, less the rain moved out over the grid's south and east edges
    assert 0.75 * float(truth_hours.sum()) < float(forecast_hours.sum()) <= 0.8 * float(truth_hours.sum())
    wet_truth = truth_hours["time"].values[(truth_hours.max(("lat", "lon")) > 1).values]
    wet_forecast = forecast_hours["time"].values[(forecast_hours.max(("lat", "lon")) > 1).values]
    assert wet_forecast[0] - wet_truth[0] == np.timedelta64(1, "h")
    # the storm totals' centres: about 12 km apart towards the south-east
    km_lon = KM_PER_DEG_LON_EQUATOR * np.cos(np.radians(29.85))
    def centre(field: xr.DataArray) -> np.ndarray:
        total = field.sum("time")
        return np.array([float((total * total["lon"]).sum() / total.sum()) * km_lon,
                         float((total * total["lat"]).sum() / total.sum()) * KM_PER_DEG_LAT])
    east, north = centre(forecast_hours) - centre(truth_hours)
    assert np.hypot(east, north) == pytest.approx(12.0, abs=1.5)
    assert np.degrees(np.arctan2(east, north)) % 360 == pytest.approx(135.0, abs=8.0)


def test_the_world_serves_runs_radar_frames_and_gauges_that_the_service_ingests(tmp_path, committed_config):
    settings = load_settings(committed_config)
    at = datetime(2026, 7, 15, 7, 0, tzinfo=timezone.utc)
    with DemoWorld(settings, tmp_path) as world:
        world.advance(at - timedelta(hours=3))
        world.advance(at)
        radar = world.urls["feed"] + "/radar/qpe_202607150700.nc"
        assert settings.observed.radar.url.format(feed=world.urls["feed"], time=at) == radar
        reply = httpx.get(radar)
        assert reply.status_code == 200
        (tmp_path / "frame.nc").write_bytes(reply.content)
        assert httpx.get(world.urls["feed"] + "/radar/qpe_202607150710.nc").status_code == 404  # not yet
        run = httpx.get(world.urls["feed"] + "/yubei-demo-analogue_2026071506.nc")
        (tmp_path / "run.nc").write_bytes(run.content)
        ingester = open_ingester(settings.model_copy(update={"store": settings.store.model_copy(
            update={"url": f"sqlite:///{tmp_path / 'warn.db'}"})}))
        spec = settings.sensors.feeds["demo_sta"]
        feed = build_feed("demo_sta", spec.model_copy(update={"url": world.urls["sensorthings"] + "/v1.1"}),
                          FeedOptions(catalogue=ingester.catalogue, now=lambda: at))
        report = poll_feed(ingester, feed, expected=spec.poll_every, now=at)
        assert not report.failure and not report.rejected
        readings = ingester.store.last_readings([f"RG-DEMO-T{k:02d}" for k in range(1, 22)], n=1000,
                                                flags=tuple(QCFlag))
        ingester.store.close()
    frame = open_forecast(tmp_path / "frame.nc", source="radar")
    assert frame.sizes["time"] == 1 and frame.attrs["step"] == "PT10M" and float(frame.max()) > 1.0
    stamp = np.datetime64("2026-07-15T07:00")
    expected = world.truth.sel(time=stamp).interp(lat=RADAR_LAT, lon=RADAR_LON) * 0.7
    np.testing.assert_allclose(frame.values[0], expected.values, atol=0.02)  # depth per 10 min, from the rate
    run = open_forecast(tmp_path / "run.nc", source="demo")
    np.testing.assert_allclose(run.values, world.forecast.sel(time=run["time"]).values, atol=1e-4)
    assert "displaced 12 km towards 135 deg, 60 min late, x0.8" in xr.open_dataset(tmp_path / "run.nc").attrs["comment"]
    assert len(readings) == 21
    t03 = readings["RG-DEMO-T03"]
    assert t03[-1].reading.phenomenon_time == at and t03[-1].reading.value is not None
    served = sum(r.reading.value or 0.0 for r in t03 if r.reading.phenomenon_time > ISSUED)
    column = list(town_gauges(settings)["sensor_id"]).index("RG-DEMO-T03")
    true = cell_series(world.truth.sel(time=slice(np.datetime64("2026-07-15T00:10"), stamp)), town_gauges(settings))
    assert served == pytest.approx(float(true[:, column].sum()), abs=0.1) and served > 1.0
    assert readings[SILENT_GAUGE][-1].reading.phenomenon_time == SILENT_AFTER


def test_a_forecast_error_needs_the_truth():
    with pytest.raises(ValidationError, match="sim.truth"):
        SimSpec(feed_dir="demo/forecast", issued_at="2026-07-15T00:00:00Z", source="demo",
                forecast={"shift_km": 12.0, "towards_deg": 135.0, "delay": "PT1H"})


def test_members_are_written_as_a_member_dimension_when_asked_for(tmp_path, committed_config):
    settings = load_settings(committed_config)
    sim = settings.sim.model_copy(update={"forecast": settings.sim.forecast.model_copy(update={"members": 3})})
    world = DemoWorld(settings.model_copy(update={"sim": sim}), tmp_path)
    world.advance(datetime(2026, 7, 15, 2, tzinfo=timezone.utc))
    with xr.open_dataset(tmp_path / "feed" / "yubei-demo-analogue_2026071502.nc") as run:
        rain = run["rain"].load()
        assert "3 perturbed members (seed 19)" in run.attrs["comment"]
    assert rain.dims == ("member", "time", "lat", "lon") and rain["member"].values.tolist() == [0, 1, 2, 3]
    assert rain.attrs["control_member"] == 0 and rain.sizes["time"] == 24
    control = DemoWorld(settings, tmp_path / "control").forecast
    np.testing.assert_allclose(rain.sel(member=0).values, control.sel(time=rain["time"]).values, atol=1e-4)
    totals = rain.sum(("time", "lat", "lon")).values
    assert len(set(np.round(totals, 1))) == 4  # every member differs
