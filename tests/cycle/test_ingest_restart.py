"""Ingest survives being killed: nothing acknowledged is lost and nothing is stored twice.

Real processes (`python -m warn ingest`), a real MQTT broker and a real HTTP server:
the ingester is killed with SIGKILL in the middle of its work and started again. The
readings are at fixed times (from 2026-07-15 00:00Z) and every ingester runs on a clock
started after them (``--clock-start``), whatever the wall clock says.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.helpers import wait_for
from tests.conftest import MQTT_HOST as HOST
from tests.conftest import MQTT_PORT as PORT
from tests.ingest_world import SENSORS, STEP, T0, check_world, series, write_deployment
from warn.config import load_settings
from warn.cycle import mark_stale_sensors, open_ingester
from warn.service import feed_specs, run_ingest
from warn.sim.mqttpub import publish
from warn.sim.sensorthings import SensorThingsServer
from warn.sources.mqtt import MqttFeed
from warn.store import Store

BEIJING = timezone(timedelta(hours=8))


@pytest.fixture
def mqtt_world(tmp_path, broker):
    """A deployment whose `push` feed listens on a fresh topic with a fresh persistent session."""
    tag = uuid.uuid4().hex[:8]
    config = write_deployment(tmp_path, topic=f"warn/test/{tag}/+", client_id=f"warn-test-{tag}")
    settings = load_settings(config)
    open_ingester(settings).store.close()  # the store exists, migrated, with its catalogue
    prime = MqttFeed("push", settings.sensors.feeds["push"], lambda batch: None)
    with prime:  # open the persistent session, so messages sent while no ingester runs are queued
        assert prime.wait_subscribed(10)
    yield config, settings, f"warn/test/{tag}"
    wipe = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"warn-test-{tag}", clean_session=True)
    wipe.connect(HOST, PORT)
    wipe.disconnect()


def payloads(start: datetime, count: int) -> list[dict]:
    """``count`` readings per sensor, 5 min apart, as a device sends them: local time, centimetres."""
    return [{"stcd": sid, "tm": (start + k * STEP).astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S"),
             "z": round(3.0 + 0.1 * (k % 7), 1)} for k in range(count) for sid in SENSORS]


def count(config: Path) -> int:
    store = Store.connect(load_settings(config).store.url)
    try:
        return store.count_readings()
    finally:
        store.close()



def ingester_process(config: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "warn", "ingest", "--config", str(config), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_mqtt_feed_end_to_end(mqtt_world):
    """The 3-hour world pushed as devices send it (local time, cm), with repeats and a revision."""
    config, settings, topic = mqtt_world
    start = T0
    messages = [{"stcd": sid, "tm": moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S"),
                 "z": None if value is None else round(value * 100, 1)}
                for sid, observations in series(36, start).items() for moment, value in observations]
    publish(f"{topic}/level", messages + messages[:20])  # QoS 1 repeats, as a device retrying sends them
    revised = {**messages[22], "z": 31.0}  # W-OK at step 23, as in the HTTP test
    publish(f"{topic}/level", [revised])
    clock = lambda: start + 36 * STEP  # noqa: E731 (the simulated now)
    stop = threading.Event()
    runner = threading.Thread(target=run_ingest, args=(settings, feed_specs(settings, ["push"])),
                              kwargs={"stop": stop, "now": clock}, daemon=True)
    runner.start()
    try:
        store = Store.connect(settings.store.url)
        assert wait_for(lambda: store.count_readings() == 36 * 3 + 12 and store.revisions("W-OK"), 30)
    finally:
        stop.set()
        runner.join(15)
    ingester = open_ingester(settings)
    mark_stale_sensors(ingester, now=clock())
    check_world(ingester.store, start)
    [revision] = ingester.store.revisions("W-OK")
    assert revision.new_value == 0.31
    [spike] = ingester.store.revisions("W-SPIKE")  # judged good alone, a spike once the next reading came
    assert (spike.old_flag, spike.new_flag, spike.new_rule) == ("good", "doubtful", "spike")
    ingester.store.close()
    store.close()


@pytest.mark.slow
def test_killed_mqtt_ingester_loses_and_repeats_nothing(mqtt_world):
    """Devices keep sending while the ingester is killed mid-stream and started again."""
    config, settings, topic = mqtt_world
    start = T0
    clock = ("--clock-start", (start + timedelta(hours=20)).isoformat())
    messages = payloads(start, 150)  # 600 readings, sent at about 150 a second in batches of 20
    sender = threading.Thread(target=lambda: [
        (publish(f"{topic}/level", messages[i:i + 20]), time.sleep(0.13)) for i in range(0, len(messages), 20)],
        daemon=True)
    first = ingester_process(config, "--feed", "push", *clock)
    try:
        sender.start()
        assert wait_for(lambda: count(config) >= 40, 30), "the ingester stored nothing"
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    killed_at = count(config)
    assert killed_at < len(messages), "killed too late to prove anything"
    second = ingester_process(config, "--feed", "push", *clock)
    try:
        sender.join(30)
        assert wait_for(lambda: count(config) == len(messages), 60)
    finally:
        second.send_signal(signal.SIGTERM)
        output, _ = second.communicate(timeout=20)
    assert second.returncode == 0, output
    assert count(config) == len(messages)
    store = Store.connect(settings.store.url)
    assert store.revisions() == []  # redelivered messages were recognised as the same readings
    store.close()


@pytest.mark.slow
def test_killed_http_ingester_mid_poll_loses_and_repeats_nothing(tmp_path):
    config = write_deployment(tmp_path)
    open_ingester(load_settings(config)).store.close()
    per_sensor, spacing = 3000, timedelta(seconds=20)  # many pages of 50: the poll takes a while
    start = T0
    clock = ("--clock-start", (start + per_sensor * spacing).isoformat())  # the series ends now
    with SensorThingsServer() as server:
        for sid in SENSORS:
            server.add_datastream(sid, unit="m", kind="water_level")
            server.add_series(sid, [start + k * spacing for k in range(per_sensor)],
                              [0.02 + 0.001 * (k % 9) for k in range(per_sensor)])
        first = ingester_process(config, "--feed", "sta", "--url", server.url, *clock)
        try:
            assert wait_for(lambda: len(server.requests) >= 20, 30), "the ingester did not start polling"
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(10)
        assert count(config) < 4 * per_sensor  # killed before the poll's one transaction completed
        second = ingester_process(config, "--feed", "sta", "--url", server.url, "--once", *clock)
        output, _ = second.communicate(timeout=120)
        assert second.returncode == 0, output
    assert count(config) == 4 * per_sensor
    store = Store.connect(load_settings(config).store.url)
    assert store.revisions() == []
    store.close()
