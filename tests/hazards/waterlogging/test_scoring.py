"""The waterlogging step over the demo storm with the demo sensor world served over SensorThings.

Hourly cycles: the sensors' readings are polled from a real local SensorThings server
through QC into the store, then the points (and the river hazard's gauges) are scored. The
model foresees ponding, the healthy sensors set the level now (sensor-first), a frozen sensor
leaves "now" to the model with a data-quality notice, and the levels fall back after the storm.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from tests.conftest import ROOT
from warn import hazards
from warn.config import load_settings
from warn.cycle import open_ingester, poll_feed
from warn.hazards.waterlogging.scoring import score_waterlogging
from tests.factories import hazard_context
from warn.geo.layers import zone_layer
from warn.rainarray import make_rain
from warn.sim.levels import Freeze, Spike
from warn.sim.sensorthings import SensorThingsServer
from warn.sim.world import sensor_world, serve
from warn.sources.feeds import FeedOptions, build_feed
from warn.sources.forecast import open_forecast
from warn.store import Store
from warn.vocab import Level, QCFlag

DEMO = ROOT / "demo" / "forecast" / "yubei-demo-analogue_2026071500.nc"
FROZEN, SPIKY = "WL-DEMO-W17", "WL-DEMO-W09"


@pytest.fixture(scope="module")
def storm():
    """The demo run at its own hours (issued 2026-07-15 00:00Z), followed by dry hours."""
    rain = open_forecast(DEMO, source="demo")
    hours = rain.sizes["time"] + 30
    values = np.zeros((hours, rain.sizes["lat"], rain.sizes["lon"]), dtype=np.float32)
    values[: rain.sizes["time"]] = rain.values
    start = np.datetime64("2026-07-15T00:00", "s")
    times = start + np.arange(1, hours + 1) * np.timedelta64(1, "h")
    return make_rain(values, time=times, lat=rain["lat"].values, lon=rain["lon"].values, step=timedelta(hours=1),
                     source="demo storm + 30 dry hours", issued_at=start)


def at(storm, hour: int):
    run = storm.isel(time=slice(hour, hour + 24))
    issued = storm["time"].values[hour] - np.timedelta64(1, "h")
    return run.assign_attrs(issued_at=str(issued.astype("datetime64[s]")) + "Z")


def utc(moment: np.datetime64) -> datetime:
    return datetime.fromisoformat(str(moment.astype("datetime64[s]"))).replace(tzinfo=timezone.utc)


@pytest.mark.slow
def test_demo_storm_with_sensors(committed_config, storm):
    settings = load_settings(committed_config)
    _, points = zone_layer(settings, "waterlogging_points")
    _, gauges = zone_layer(settings, "river_gauges")
    world = sensor_world(storm, points, gauges, faults={FROZEN: Freeze(5 * 12 + 6), SPIKY: Spike(6 * 12 + 3, 0.3)})
    ingester = open_ingester(settings)
    gauges_spec = hazards.get("river")
    spec = settings.sensors.feeds["demo_sta"]
    history = {}
    clock = [None]  # the simulated now of each cycle
    with SensorThingsServer() as server:
        feed = build_feed("demo_sta", spec.model_copy(update={"url": server.url}),
                          FeedOptions(catalogue=ingester.catalogue, now=lambda: clock[0]))
        previous = None
        for hour in range(0, 40):
            run = at(storm, hour)
            t0 = utc(np.datetime64(run.attrs["issued_at"].rstrip("Z")))
            clock[0] = t0
            serve(server, world, until=t0, since=previous)
            previous = t0
            poll_feed(ingester, feed, expected=spec.poll_every, now=t0)
            result = score_waterlogging(hazard_context(settings, "waterlogging", run, store=ingester.store, persist=True))
            gauges = hazard_context(settings, "river", None, store=ingester.store, now=t0)
            river = {item.item_id: item for item in gauges_spec.score(gauges).items}
            history[hour] = ({item.item_id: item for item in result.items} | river, result.notices)
    ingester.store.close()

    first, _ = history[0]
    assert first["DEMO-W25"].levels["24h"] >= Level.BLUE  # the model sees the storm coming
    assert first["DEMO-W25"].levels["now"] is Level.UNKNOWN  # nothing known yet: not "none"
    # sensor-first: at its peak W25's healthy sensor sets the level now, by its depths (5/15/30 cm)
    def depth(hour: int) -> float:
        value = history[hour][0]["DEMO-W25"].depth_cm
        return value if value is not None and value == value else -1.0

    peak = max(history, key=depth)
    items, _ = history[peak]
    expected = Level.RED if items["DEMO-W25"].depth_cm >= 30 else Level.YELLOW
    assert items["DEMO-W25"].depth_cm >= 15 and items["DEMO-W25"].levels["now"] is expected
    assert items["DEMO-W25"].basis[0].startswith("实测积水") and items["DEMO-W25"].complete
    assert any("积水监测" in d.text() for d in items["DEMO-W25"].drivers["now"])
    # no hour has W25 above what its healthy sensor's depth gives, unless memory holds a level it reached
    for hour, (at_hour, _) in history.items():
        w25 = at_hour["DEMO-W25"]
        if w25.complete and len(w25.basis) == 1:  # no level held by memory
            sensor_level = Level.RED if w25.depth_cm >= 30 else Level.YELLOW if w25.depth_cm >= 15 else \
                Level.BLUE if w25.depth_cm >= 5 else Level.NONE
            assert w25.levels["now"] is sensor_level, hour
    # the frozen sensor: flagged by QC, "unknown" with a data-quality notice, never a silent all-clear
    frozen_hours = [h for h, (items, notices) in history.items() if h > 0 and any("WL-DEMO-W17" in n for n in notices)]
    assert frozen_hours and all(history[h][0]["DEMO-W17"].complete is False for h in frozen_hours)
    assert any("flatline" in n for n in history[frozen_hours[0]][1])
    assert all(history[h][0]["DEMO-W17"].levels["now"] is not Level.NONE for h in frozen_hours)
    # the spike is stored, flagged, and kept out of the sensor term
    store = Store.connect(settings.store.url)
    flagged = [r for r in store.readings(SPIKY) if r.qc_flag is not QCFlag.GOOD]
    store.close()
    assert [r.qc_rule for r in flagged] == ["spike"]
    # the points flood in the order the water reaches them: the first cycle at blue or above
    # follows the order in which the sensor world's depths reach the blue depth (5 cm)
    world_first = {series.sensor_id.replace("WL-", ""): next((t for t, v in zip(series.times, series.values)
                                                             if v is not None and v >= 0.05), None)
                   for series in world if series.kind == "water_level" and series.sensor_id != FROZEN}
    flooded = {pid: next(h for h in history if history[h][0][pid].levels["now"] >= Level.BLUE)
               for pid, first_time in world_first.items()
               if first_time is not None and any(history[h][0][pid].levels["now"] >= Level.BLUE for h in history)}
    assert len(flooded) >= 2
    by_model = sorted(flooded, key=lambda pid: (flooded[pid], world_first[pid]))
    assert by_model == sorted(flooded, key=lambda pid: world_first[pid])
    # the gauges (the river hazard's) rise with the storm
    stages = [history[h][0]["DEMO-R01"].values["stage_m"] for h in range(5, 12)]
    assert all(s is not None for s in stages) and stages[-1] > stages[0]
    # and after the rain the points fall back, one step at a time
    last, _ = history[39]
    assert last["DEMO-W25"].levels["now"] < items["DEMO-W25"].levels["now"]
