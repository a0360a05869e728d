"""Rain gauges reporting running totals, through every feed kind (SensorThings and JSON over real local
HTTP servers, MQTT through the real broker) into the store as depth per report, across a restart."""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from tests.conftest import MQTT_HOST, MQTT_PORT, committed_data
from warn.config import load_settings
from warn.cycle import open_ingester
from warn.service import feed_specs, poll_once, run_ingest
from warn.sim.feedserver import FeedServer
from warn.sim.mqttpub import publish
from warn.sim.sensorthings import SensorThingsServer
from warn.sources.mqtt import MqttFeed
from warn.sources.accumulation import BEIJING, DROP_RULE, GAP_RULE
from warn.store import Store
from warn.vocab import QCFlag

TEN = timedelta(minutes=10)
#: 07:10 Beijing time on 15 July: ten reports to 08:40, across the hour and the 08:00 日界.
START = datetime(2026, 7, 14, 23, 10, tzinfo=UTC)
TIMES = [START + k * TEN for k in range(10)]
NOW = TIMES[-1] + timedelta(minutes=1)
DEPTH = [round(0.2 + 0.1 * (k % 4), 1) for k in range(10)]
GAUGES = {"RG-H": "hourly", "RG-08": "day_08", "RG-20": "day_20", "RG-R": "report"}
GOOD = (QCFlag.GOOD, "")


def totals() -> dict[str, list[tuple[datetime, float]]]:
    """What each gauge sends: RG-H restarts its counter at 08:30 (a drop), the daily ones carry the rain
    since their last 日界 before the world starts (20 and 5 mm)."""
    out: dict[str, list[tuple[datetime, float]]] = {sid: [] for sid in GAUGES}
    hourly = day08 = 0.0
    day08, day20 = 20.0, 5.0
    for k, (t, d) in enumerate(zip(TIMES, DEPTH)):
        local = t.astimezone(BEIJING)
        hourly = d if local.minute == 10 else hourly + d  # reset at each full hour
        if k == 8:
            hourly = d  # the counter restarted: a drop with no reset
        day08 = d if (local.hour, local.minute) == (8, 10) else day08 + d
        day20 += d
        for sid, value in (("RG-H", hourly), ("RG-08", day08), ("RG-20", day20), ("RG-R", d)):
            out[sid].append((t, round(value, 1)))
    return out


def expected() -> dict[str, dict[datetime, tuple]]:
    out = {sid: {t: (*GOOD, d) for t, d in zip(TIMES, DEPTH)} for sid in GAUGES}
    out["RG-H"][TIMES[8]] = (QCFlag.BAD, DROP_RULE, None)
    out["RG-08"][TIMES[0]] = (QCFlag.DOUBTFUL, GAP_RULE, 20.2)  # first heard mid-day: covers since 08:00 yesterday
    out["RG-20"][TIMES[0]] = (QCFlag.DOUBTFUL, GAP_RULE, 5.2)
    return out


def write_deployment(tmp_path: Path, *, topic: str = "warn/test/none/+", client_id: str = "warn-test") -> Path:
    rows = ["sensor_id,kind,name,lon,lat,interval,point_id,accumulation"]
    rows += [f"{sid},rain_gauge,{sid}雨量站,106.6,29.7,PT10M,,{acc}" for sid, acc in GAUGES.items()]
    (tmp_path / "sensors.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    config = committed_data(tmp_path)
    fields = {"sensor_id": "stcd", "time": "tm", "value": "drp"}
    config["sensors"] = {"catalogue": str(tmp_path / "sensors.csv"), "feeds": {
        "sta": {"kind": "sensorthings", "url": "http://127.0.0.1:9/v1.1", "poll_every": "PT1M", "retries": 0},
        "js": {"kind": "json", "url": "http://127.0.0.1:9/gauges.json", "poll_every": "PT1M", "retries": 0,
               "fields": fields, "unit": "mm", "timezone": "Asia/Shanghai"},
        "push": {"kind": "mqtt", "host": "127.0.0.1", "port": 1883, "topic": topic, "qos": 1,
                 "client_id": client_id, "fields": fields, "unit": "mm", "timezone": "Asia/Shanghai"},
    }}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def stored(store: Store) -> dict[str, dict[datetime, tuple]]:
    return {sid: {r.reading.phenomenon_time: (r.qc_flag, r.qc_rule, r.reading.value) for r in store.readings(sid)}
            for sid in GAUGES}


def records() -> list[dict]:
    """The totals as a platform's JSON document or a device's messages: local time, mm."""
    return [{"stcd": sid, "tm": t.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S"), "drp": v}
            for sid, series in totals().items() for t, v in series]


def test_sensorthings_gauges_are_decoded_across_a_restart_and_the_drop_is_recorded(tmp_path):
    settings = load_settings(write_deployment(tmp_path))
    server = SensorThingsServer().start()
    try:
        for sid in GAUGES:
            server.add_datastream(sid, unit="mm", kind="rain_gauge")
        for sid, series in totals().items():
            for t, v in series[:5]:
                server.add_observation(sid, t, v)
        specs = feed_specs(settings, ["sta"], url=server.url)
        ingester = open_ingester(settings)
        poll_once(ingester, specs, now=lambda: TIMES[4] + timedelta(minutes=1))
        ingester.store.close()
        for sid, series in totals().items():
            for t, v in series[5:]:
                server.add_observation(sid, t, v)
        ingester = open_ingester(settings)  # a restart: the raw totals come back from the store
        poll_once(ingester, specs, now=lambda: NOW)
        assert stored(ingester.store) == expected()
        [drop] = [c for c in ingester.store.rejected.counts() if c.source == "sensor:RG-H"]
        assert drop.count == 1
        ingester.store.close()
    finally:
        server.stop()


def test_json_document_gauges_are_decoded(tmp_path):
    settings = load_settings(write_deployment(tmp_path))
    (tmp_path / "gauges.json").write_text(json.dumps({"data": records()}), encoding="utf-8")
    with FeedServer(tmp_path) as server:
        ingester = open_ingester(settings)
        [report] = poll_once(ingester, feed_specs(settings, ["js"], url=f"{server.url}/gauges.json"), now=lambda: NOW)
        assert report.failure == "" and report.rejected == []
        [again] = poll_once(ingester, feed_specs(settings, ["js"], url=f"{server.url}/gauges.json"), now=lambda: NOW)
        assert again.written.revised == 0  # the whole document again: repeats decode to the same depths
    assert stored(ingester.store) == expected()
    ingester.store.close()


@pytest.fixture
def mqtt_settings(tmp_path, broker):
    """A deployment whose `push` feed has a fresh topic and a persistent session already open."""
    tag = uuid.uuid4().hex[:8]
    settings = load_settings(write_deployment(tmp_path, topic=f"warn/test/{tag}/+", client_id=f"warn-test-{tag}"))
    open_ingester(settings).store.close()  # the store exists, migrated, with its catalogue
    prime = MqttFeed("push", settings.sensors.feeds["push"], lambda batch: None)
    with prime:  # messages sent before the ingester runs are queued for it
        assert prime.wait_subscribed(10)
    yield settings, f"warn/test/{tag}"
    wipe = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"warn-test-{tag}", clean_session=True)
    wipe.connect(MQTT_HOST, MQTT_PORT)
    wipe.disconnect()


def test_mqtt_gauges_are_decoded_one_message_at_a_time(mqtt_settings):
    settings, topic = mqtt_settings
    publish(f"{topic}/rain", sorted(records(), key=lambda m: m["tm"]))
    stop = threading.Event()
    runner = threading.Thread(target=run_ingest, args=(settings, feed_specs(settings, ["push"])),
                              kwargs={"stop": stop, "now": lambda: NOW}, daemon=True)
    runner.start()
    store = Store.connect(settings.store.url)
    try:
        deadline = time.monotonic() + 30
        while store.count_readings() < 40 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop.set()
        runner.join(15)
    assert stored(store) == expected()
    store.close()
