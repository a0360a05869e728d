"""The observed rain of a cycle on a real SQLite store: gauge readings ingested through the ingester,
synthetic radar frames, the analysis kept in the store across cycles and restarts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.conftest import committed_data
from warn.config import load_settings
from warn.cycle.observed import BOTH_DOWN, GAUGES_SILENT, RADAR_DOWN, observe
from warn.cycle.sensors import open_ingester
from warn.rainarray import make_rain
from warn.risk.analysis import GAUGES, MISSING, RADAR, RADAR_GAUGES
from warn.sources.readings import Reading
from warn.store import Store

T0 = datetime(2026, 7, 15, 2, 0, tzinfo=UTC)
AT = T0 + timedelta(hours=3)
REPORT = timedelta(minutes=5)
STEP = timedelta(minutes=10)
#: The model grid: 0.01° (about 1 km), 40 × 40 cells.
LAT = 29.6 + 0.01 * np.arange(40)
LON = 106.5 + 0.01 * np.arange(40)
#: Gauges at these cells, all in the south-west quarter (far cells are beyond their reach).
CELLS = {"RG-1": (2, 3), "RG-2": (8, 12), "RG-3": (15, 5), "RG-4": (12, 14)}
PATTERN = np.fromfunction(lambda i, j: 1.0 + 0.1 * i + 0.05 * j, (40, 40))


def strength(end: datetime) -> float:
    """How hard it rains in the step ending at ``end`` (scales the pattern), varying step to step."""
    k = round((end - T0) / STEP)
    return 1.0 + 0.25 * (k % 4)


def step_ends(at: datetime = AT) -> list[datetime]:
    return [at - STEP * k for k in range(17, -1, -1)]


def truth(end: datetime) -> np.ndarray:
    """What fell in the step ending at ``end``, mm per 10 min."""
    return PATTERN * strength(end)


@pytest.fixture
def settings(tmp_path: Path):
    rows = ["sensor_id,kind,name,lon,lat,interval,point_id"]
    rows += [f"{sid},rain_gauge,{sid}雨量站,{LON[c]:.4f},{LAT[r]:.4f},PT5M," for sid, (r, c) in CELLS.items()]
    (tmp_path / "sensors.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    config = committed_data(tmp_path)
    config["sensors"] = {"catalogue": str(tmp_path / "sensors.csv"), "feeds": {}}
    config["observed"] = {"radar": {"url": "http://127.0.0.1:9/radar/{time:%Y%m%d%H%M}.nc", "format": "netcdf"}}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return load_settings(path)


@pytest.fixture
def ingester(settings):
    ingester = open_ingester(settings)
    yield ingester
    ingester.store.close()


def ingest_gauges(ingester, *, skip=()) -> None:
    """Each gauge's 5-min depths of the three hours before AT (half the step's truth each), but ``skip``
    ((sensor, time) pairs), through QC into the store."""
    readings = []
    for end in step_ends():
        for sid, cell in CELLS.items():
            for t in (end - REPORT, end):
                if (sid, t) not in skip:
                    readings.append(Reading(sid, t, round(truth(end)[cell] / 2, 4), "mm", t))
    result = ingester.ingest(readings, now=AT)
    assert result.inserted == len(readings)


def radar_frames(factor: float, ends=None, *, lat=LAT, lon=LON) -> object:
    """Radar frames (10 min) of the truth × ``factor`` on the grid (lat, lon)."""
    ends = ends or step_ends()
    rows = np.interp(lat, LAT, np.arange(40))
    cols = np.interp(lon, LON, np.arange(40))
    pattern = 1.0 + 0.1 * rows[:, None] + 0.05 * cols[None, :]
    depth = np.stack([pattern * strength(t) * factor for t in ends])
    times = np.array([np.datetime64(t.replace(tzinfo=None), "ns") for t in ends])
    return make_rain(depth, time=times, lat=lat, lon=lon, step=STEP, source="test radar")


def test_radar_biased_by_half_is_adjusted_to_the_gauges_and_the_hours_add_up(settings, ingester):
    ingest_gauges(ingester)
    got = observe(settings, ingester.store, radar_frames(0.5), AT, LAT, LON)
    assert got.notices == ()
    assert got.frames.sizes["time"] == 18 and got.frames.attrs["source"] == "analysis"
    assert got.frames["time"].values[-1] == np.datetime64("2026-07-15T05:00")
    expected = np.stack([truth(t) for t in step_ends()])
    np.testing.assert_allclose(got.frames.values, expected, rtol=1e-4)
    assert (got.origin.values == RADAR_GAUGES).all()
    assert got.record["bias"] == pytest.approx(2.0) and got.record["gauges"]["reporting"] == 4
    assert got.record["radar"]["age_min"] == 0.0 and not got.record["radar"]["down"]
    assert json.loads(json.dumps(got.record))["latest"] == "2026-07-15T05:00:00+00:00"  # JSON-ready
    hours = got.hours()
    assert list(hours["time"].values) == [np.datetime64(f"2026-07-15T0{h}:00") for h in (3, 4, 5)]
    assert hours.attrs["step"] == "PT1H"
    np.testing.assert_allclose(hours.values[0], expected[:6].sum(axis=0), rtol=1e-4)


def test_radar_missing_gives_the_gauges_alone_near_them_and_missing_beyond_and_says_radar_down(settings, ingester):
    ingest_gauges(ingester)
    got = observe(settings, ingester.store, None, AT, LAT, LON)
    assert any(n.startswith(RADAR_DOWN) for n in got.notices) and BOTH_DOWN not in got.notices
    last = got.origin.values[-1]
    assert last[2, 3] == GAUGES and got.frames.values[-1, 2, 3] == pytest.approx(truth(AT)[2, 3], rel=1e-4)
    assert last[39, 39] == MISSING and np.isnan(got.frames.values[-1, 39, 39])
    assert got.record["bias"] is None and "no radar" in got.record["reason"]


def test_gauges_missing_gives_the_radar_alone_and_says_gauges_silent(settings, ingester):
    got = observe(settings, ingester.store, radar_frames(0.5), AT, LAT, LON)
    assert any(n.startswith(GAUGES_SILENT) for n in got.notices) and BOTH_DOWN not in got.notices
    assert (got.origin.values == RADAR).all()
    np.testing.assert_allclose(got.frames.values[-1], truth(AT) * 0.5, rtol=1e-5)
    assert got.record["gauges"] == {"catalogue": 4, "reporting": 0, "silent": True}


def test_both_down_gives_no_frames_and_says_now_comes_from_the_forecast(settings, ingester):
    got = observe(settings, ingester.store, None, AT, LAT, LON)
    assert got.frames is None and got.origin is None and got.hours() is None
    assert BOTH_DOWN in got.notices and got.record["latest"] is None


def test_an_old_radar_is_down_and_its_frames_still_count_where_they_cover(settings, ingester):
    old = step_ends()[:9]  # the radar stopped 90 minutes ago
    got = observe(settings, ingester.store, radar_frames(1.0, old), AT, LAT, LON)
    assert any(n.startswith(RADAR_DOWN) and "90 min" in n for n in got.notices) and BOTH_DOWN in got.notices
    assert got.frames["time"].values[-1] == np.datetime64(old[-1].replace(tzinfo=None))
    assert got.hours()["time"].values.tolist() == [np.datetime64("2026-07-15T03:00", "ns").astype(int)]


def test_a_gauge_that_missed_a_report_is_missing_for_that_step(settings, ingester):
    gap = AT - STEP * 3
    ingest_gauges(ingester, skip={(sid, gap - REPORT) for sid in CELLS})
    got = observe(settings, ingester.store, None, AT, LAT, LON)
    at_gap = np.flatnonzero(got.frames["time"].values == np.datetime64(gap.replace(tzinfo=None)))[0]
    assert (got.origin.values[at_gap] == MISSING).all() and (got.origin.values[at_gap + 1][2, 3] == GAUGES)
    assert got.hours()["time"].values[-1] == np.datetime64("2026-07-15T04:00")  # the last hour is not whole


def test_steps_are_kept_in_the_store_and_only_the_last_hour_is_analysed_again(settings, ingester):
    ingest_gauges(ingester)
    first = observe(settings, ingester.store, radar_frames(0.5), AT, LAT, LON)
    assert first.record["analysed_steps"] == 18
    later = AT + STEP
    with Store.connect(settings.store.url) as restarted:  # a restart: only the store is left
        again = observe(settings, restarted, None, later, LAT, LON)
        # no radar now: the steps analysed with it stand; only the new step (05:10, nothing yet) is analysed
        assert again.record["analysed_steps"] == 1
        times = again.frames["time"].values
        assert (times[0], times[-1]) == (np.datetime64("2026-07-15T02:20"), np.datetime64("2026-07-15T05:00"))
        assert (again.origin.values == RADAR_GAUGES).all()
        np.testing.assert_array_equal(again.frames.values, first.frames.values[1:])
        # the last hour's frames at a quarter of the truth now: analysed again, the bias follows
        last_hour = step_ends(later)[-6:]
        third = observe(settings, restarted, radar_frames(0.25, last_hour), later, LAT, LON)
    assert third.record["analysed_steps"] == 6
    assert third.record["bias"] == pytest.approx(4.0) and third.record["bias_at"] == "2026-07-15T05:10:00+00:00"
    # 05:10 has no gauge report yet: its radar is adjusted by the bias of the hour before it
    assert third.frames["time"].values[-1] == np.datetime64("2026-07-15T05:10")
    assert (third.origin.values == RADAR_GAUGES).all()
    np.testing.assert_allclose(third.frames.values[-1], truth(later), rtol=1e-4)
    np.testing.assert_array_equal(third.frames.values[:12], first.frames.values[1:13])


def test_a_finer_radar_is_averaged_into_the_model_cells(settings, ingester):
    fine_lat = 29.6 - 0.0025 + 0.005 * np.arange(80)
    fine_lon = 106.5 - 0.0025 + 0.005 * np.arange(80)
    got = observe(settings, ingester.store, radar_frames(1.0, lat=fine_lat, lon=fine_lon), AT, LAT, LON)
    np.testing.assert_allclose(got.frames.values[-1, 1:-1, 1:-1], truth(AT)[1:-1, 1:-1], rtol=1e-4)


def test_a_coarser_radar_is_interpolated_and_missing_beyond_its_last_centre(settings, ingester):
    coarse_lat = 29.6 + 0.02 * np.arange(20)
    coarse_lon = 106.5 + 0.02 * np.arange(20)
    got = observe(settings, ingester.store, radar_frames(1.0, lat=coarse_lat, lon=coarse_lon), AT, LAT, LON)
    last = got.frames.values[-1]
    np.testing.assert_allclose(last[:-1, :-1], truth(AT)[:-1, :-1], rtol=1e-4)  # the pattern is linear
    assert np.isnan(last[-1, -1]) and got.origin.values[-1, -1, -1] == MISSING


def test_radar_frames_coarser_in_time_than_the_step_are_refused(settings, ingester):
    from warn.errors import DataContractError

    frames = radar_frames(1.0)
    hourly = frames.isel(time=[5, 11, 17]).assign_attrs(step="PT1H")
    with pytest.raises(DataContractError, match="divides the analysis step PT10M"):
        observe(settings, ingester.store, hourly, AT, LAT, LON)


def test_no_observed_section_is_a_configuration_error(settings, ingester):
    from warn.errors import ConfigError

    with pytest.raises(ConfigError, match="observed"):
        observe(settings.model_copy(update={"observed": None}), ingester.store, None, AT, LAT, LON)
