"""The landslide step over the demo storm: levels rise in the steep towns, with drivers, and fall back with hysteresis."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from tests.conftest import ROOT
from warn import hazards
from warn.config import load_settings
from warn.hazards.landslide.scoring import score_landslide
from tests.factories import hazard_context
from warn.rainarray import make_rain
from warn.risk.landslide import zone_level
from warn.risk.levels import level_of
from warn.sources.forecast import open_forecast
from warn.store import Store
from warn.vocab import Level

DEMO = ROOT / "demo" / "forecast" / "yubei-demo-analogue_2026071500.nc"
STEEP = ("DEMO-T11", "DEMO-T14")  # susceptibility class 5, under the storm's track


@pytest.fixture(scope="module")
def storm():
    """The demo run, followed by three dry days (so the levels have time to fall)."""
    rain = open_forecast(DEMO, source="demo")
    hours = rain.sizes["time"] + 72
    values = np.zeros((hours, rain.sizes["lat"], rain.sizes["lon"]), dtype=np.float32)
    values[: rain.sizes["time"]] = rain.values
    times = rain["time"].values[0] + np.arange(hours) * np.timedelta64(1, "h")
    return make_rain(values, time=times, lat=rain["lat"].values, lon=rain["lon"].values,
                     step=timedelta(hours=1), source="demo + 72 dry hours", issued_at=np.datetime64("2026-07-15T00:00"))


def run_at(storm, hour: int):
    """The run issued ``hour`` hours after the demo's: its next 24 hours."""
    run = storm.isel(time=slice(hour, hour + 24))
    issued = storm["time"].values[0] + np.timedelta64(hour - 1, "h")
    return run.assign_attrs(issued_at=str(issued.astype("datetime64[s]")) + "Z")


def test_single_run_cold_start_says_so_and_forecasts_rising_levels(tmp_path, storm):
    result = score_landslide(hazard_context(load_settings(ROOT / "config.yaml"), "landslide", run_at(storm, 0)))
    assert "cold start" in result.notes[0]
    zones = {item.item_id: item for item in result.items if item.kind == "zone"}
    assert all(item.levels["now"] is Level.UNKNOWN for item in zones.values())  # never "none" without evidence
    for zone_id in STEEP:
        assert zones[zone_id].levels["24h"] >= Level.ORANGE
        texts = [driver.text() for driver in zones[zone_id].drivers["24h"]]
        assert any("阈值" in text and "+" in text for text in texts)
    # steep, at the edge of the track: one hour of 46 mm on dry soil reaches the blue critical line only
    t21 = zones["DEMO-T21"]
    assert t21.levels["24h"] is Level.BLUE and t21.drivers["24h"][1].text().startswith("60分钟雨量 46.2 mm ≥ 蓝色阈值")
    points = [item for item in result.items if item.kind == "point"]
    assert len(points) == 60 and any(item.levels["24h"] > Level.NONE for item in points)


@pytest.mark.slow
def test_hourly_cycles_rise_then_fall_with_hysteresis(tmp_path, storm):
    settings = load_settings(ROOT / "config.yaml")
    params = hazards.load_model("landslide", settings.hazards["landslide"].model).params()
    store = Store.connect(f"sqlite:///{tmp_path / 'warn.sqlite'}")
    store.upgrade()
    remembered = {zone_id: [] for zone_id in STEEP}
    raw = {zone_id: [] for zone_id in STEEP}
    for hour in range(0, 80):
        result = score_landslide(hazard_context(settings, "landslide", run_at(storm, hour), store=store, persist=True, without=("points",)))
        for item in result.items:
            if item.item_id in remembered:
                remembered[item.item_id].append(item.levels["now"])
                trigger = Level(int(level_of(item.score_now, params.levels.boundaries)))
                raw[item.item_id].append(Level(int(zone_level(item.susceptibility, trigger, matrix=params.matrix))))
    store.close()
    for zone_id, levels in remembered.items():
        assert levels[0] is Level.UNKNOWN  # the first cycle starts cold
        assert levels[1] is not Level.UNKNOWN  # then the state carried from cycle to cycle is known
        peak = max(levels)
        assert peak >= Level.ORANGE
        top = levels.index(peak)
        assert levels[-1] < peak  # it fell back after the rain …
        assert all(a >= b for a, b in zip(levels[top:], levels[top + 1:]))  # … only falling
        first_raw_drop = next(i for i in range(top, len(levels)) if raw[zone_id][i] < peak)
        first_drop = next(i for i in range(top, len(levels)) if levels[i] < peak)
        assert levels[first_raw_drop] == peak  # held while the score was under the boundary
        assert first_drop > first_raw_drop  # the memory let it fall only after the hold


def test_a_lost_state_is_spun_up_from_the_kept_rain(tmp_path, storm):
    """The store keeps 30 days of hourly rain: without tanks for t0 the cycle spins up from them."""
    from warn.hazards.landslide.scoring import SPIN_UP_DAYS, STATE_MODEL
    from warn.geo.weights import GridSpec
    from warn.risk.landslide import soil_water_index

    settings = load_settings(ROOT / "config.yaml")
    params = hazards.load_model("landslide", settings.hazards["landslide"].model).params()
    run = run_at(storm, 30)  # dry from here on
    t0 = np.datetime64(run.attrs["issued_at"].rstrip("Z"), "s")
    shape = (run.sizes["lat"], run.sizes["lon"])
    hours_end = t0 - np.arange(SPIN_UP_DAYS * 24)[::-1] * np.timedelta64(1, "h")
    hours_mm = np.zeros((hours_end.size, *shape), dtype=np.float32)
    hours_mm[-40:-30] = 12.0  # ten wet hours a day and a half ago
    grid = GridSpec.from_coords(run["lat"].values, run["lon"].values)
    stale = np.array([t0 - np.timedelta64(3, "D")])  # tanks saved for another time: not usable

    def kept(path, ends, mm):
        store = Store.connect(f"sqlite:///{path}")
        store.upgrade()
        store.hourly_rain.append(STATE_MODEL, grid.signature, ends, mm, issued_at=datetime_of(t0),
                                 keep=timedelta(days=SPIN_UP_DAYS))
        store.save_state(STATE_MODEL, grid.signature, valid_at=datetime_of(stale[0]),
                         arrays={"valid": stale, "tanks": np.zeros((1, 3, *shape))})
        return store

    store = kept(tmp_path / "warn.sqlite", hours_end, hours_mm)
    result = score_landslide(hazard_context(settings, "landslide", run, store=store, without=("points",)))
    assert "spun up from 30 days" in result.notes[0]
    _, expected = soil_water_index(hours_mm.astype(np.float64), 1.0, np.zeros((3, *shape)), params=params.tank)
    zone = next(item for item in result.items if item.item_id == "DEMO-T11")
    assert zone.levels["now"] is not Level.UNKNOWN
    assert zone.drivers["now"][0].value == pytest.approx(float(expected.sum(axis=0).max()), rel=1e-5)  # float32 zones
    store.close()

    store = kept(tmp_path / "short.sqlite", hours_end[-100:], hours_mm[-100:])
    partial = score_landslide(hazard_context(settings, "landslide", run, store=store, without=("points",)))
    assert "only 4.2 days of kept rain" in partial.notes[0]
    assert all(item.levels["now"] is Level.UNKNOWN for item in partial.items)
    store.close()


def datetime_of(moment: np.datetime64):
    from datetime import datetime, timezone

    return datetime.fromisoformat(str(moment.astype("datetime64[s]"))).replace(tzinfo=timezone.utc)


def test_dangerous_rock_escalates_in_the_rainstorm_case_and_on_an_alarm(storm):
    settings = load_settings(ROOT / "config.yaml")
    result = score_landslide(hazard_context(settings, "landslide", run_at(storm, 0)), alarms={"DEMO-H013": Level.ORANGE})
    points = {item.item_id: item for item in result.items if item.kind == "point"}
    block = points["DEMO-H003"]  # K = 1.00 with 1/3 fill, 0.89 with the rainstorm's 2/3
    assert block.levels["now"] is Level.UNKNOWN  # cold start: no rainstorm case can be shown
    assert block.levels["24h"] is Level.RED
    k = block.drivers["24h"][-1]
    assert k.quantity == "危岩稳定系数K" and k.value == pytest.approx(0.89, abs=0.01)
    assert "< 红色阈值 1.00" in k.text()
    assert points["DEMO-H013"].levels["24h"] is Level.ORANGE  # dry there, but its monitoring alarm rings
    assert points["DEMO-H051"].levels["24h"] is Level.NONE  # a sound block (K 2.4) in the rainstorm case


def test_per_cell_climatological_thresholds_replace_the_zone_ones(tmp_path, storm, committed_config):
    """A climatology file with low thresholds in the west raises the western towns; the east keeps the defaults."""
    import xarray as xr
    import yaml

    run = run_at(storm, 0)
    lat, lon = run["lat"].values, run["lon"].values
    low = np.array([20.0, 30.0, 40.0, 50.0])[:, None, None] * np.ones((4, lat.size, lon.size))
    low[:, :, lon >= 106.62] = np.nan  # the file covers the west only
    xr.Dataset({"swi_mm": (("level", "lat", "lon"), low), "effective_rain_mm": (("level", "lat", "lon"), low)},
               coords={"level": [1, 2, 3, 4], "lat": lat, "lon": lon}).to_netcdf(tmp_path / "climatology.nc")
    config = yaml.safe_load(committed_config.read_text(encoding="utf-8"))
    config["hazards"]["landslide"]["climatology"] = str(tmp_path / "climatology.nc")
    committed_config.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    plain = {i.item_id: i for i in score_landslide(hazard_context(load_settings(ROOT / "config.yaml"), "landslide", run, without=("points",))).items}
    result = score_landslide(hazard_context(load_settings(committed_config), "landslide", run, without=("points",)))
    assert "climatological thresholds" in result.notes[-1]
    zones = {item.item_id: item for item in result.items}
    assert plain["DEMO-T03"].levels["24h"] is Level.BLUE  # 56 mm in an hour: yellow critical line, class 3 → blue
    assert zones["DEMO-T03"].levels["24h"] is Level.ORANGE  # past the local red thresholds of 50 mm
    swi, hour, _ = zones["DEMO-T03"].drivers["24h"]  # the red line of the local SWI intercept 50 mm
    assert swi.level is Level.RED and swi.threshold == pytest.approx(50.0 * (1 - hour.value / 140.0))
    assert zones["DEMO-T21"].levels == plain["DEMO-T21"].levels  # east of the file: default thresholds
