"""The MQTT feed against the real broker (Mosquitto on 127.0.0.1:1883): at-least-once delivery."""

from __future__ import annotations

import queue
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.conftest import MQTT_HOST as HOST
from tests.conftest import MQTT_PORT as PORT
from warn.config import SensorFeedSpec
from warn.errors import ConfigError
from warn.sim.mqttpub import publish
from warn.sources.feeds import FeedOptions, build_feed
from warn.sources.mqtt import MqttFeed
from warn.sources.payloads import Batch

ARRIVALS = iter(datetime(2026, 7, 15, 6, minute, tzinfo=UTC) for minute in range(60))
WAIT = 10.0


@pytest.fixture
def names(broker):
    """A fresh topic and client id; the broker's persistent session is wiped afterwards."""
    tag = uuid.uuid4().hex[:8]
    yield f"warn/test/{tag}/level", f"warn-test-{tag}"
    wipe = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"warn-test-{tag}", clean_session=True)
    wipe.connect(HOST, PORT)
    wipe.disconnect()


def spec(topic: str) -> SensorFeedSpec:
    return SensorFeedSpec(kind="mqtt", host=HOST, port=PORT, topic=f"{topic}/+", qos=1,
                          fields={"sensor_id": "stcd", "time": "tm", "value": "z"}, unit="cm",
                          timezone="Asia/Shanghai")


def feed(topic: str, client_id: str, handler) -> MqttFeed:
    return MqttFeed("demo_mqtt", spec(topic), handler, client_id=client_id, now=lambda: next(ARRIVALS),
                    min_delay=0.2, max_delay=1.0)


@contextmanager
def started(subscriber: MqttFeed) -> Iterator[MqttFeed]:
    with subscriber:
        assert subscriber.wait_subscribed(WAIT), "no SUBACK from the broker"
        yield subscriber


def nothing_redelivered(topic: str, client_id: str) -> None:
    """A new subscriber on the session gets nothing within a second: every message was acknowledged. It has its
    own queue, so nothing the subscriber before it received (at least once: a duplicate too) is counted."""
    again: queue.Queue[Batch] = queue.Queue()
    with started(feed(topic, client_id, again.put)):
        with pytest.raises(queue.Empty):
            again.get(timeout=1.0)


def key(reading):
    return reading.sensor_id, reading.phenomenon_time, reading.value, reading.unit


W01 = {"stcd": "WL-DEMO-W01", "tm": "2026-07-15 08:05:00", "z": 12}
T = datetime(2026, 7, 15, 0, 5, tzinfo=UTC)


def test_published_readings_reach_the_handler_and_acked_ones_are_not_redelivered(names):
    topic, client_id = names
    got: queue.Queue[Batch] = queue.Queue()
    with started(feed(topic, client_id, got.put)):
        publish(f"{topic}/W01", [W01, [W01 | {"tm": "2026-07-15T00:10:00Z", "z": "15"}, {"stcd": "WL-DEMO-W01"}]])
        one, two = got.get(timeout=WAIT), got.get(timeout=WAIT)
    assert [key(r) for r in one.readings] == [("WL-DEMO-W01", T, 0.12, "m")]
    assert [r.value for r in two.readings] == [0.15]
    [problem] = two.rejected
    assert str(problem).startswith(f"sensor feed 'demo_mqtt' (mqtt://{HOST}:{PORT}/{topic}/+) topic '{topic}/W01': "
                                   "payload[1].tm: expected the field to be present")
    nothing_redelivered(topic, client_id)  # same session: nothing left unacknowledged


def test_a_failing_handler_gets_the_message_again_with_the_same_reading_key(names):
    topic, client_id = names
    calls: list[Batch] = []
    done: queue.Queue[Batch] = queue.Queue()

    def handler(batch: Batch) -> None:
        calls.append(batch)
        if len(calls) == 1:
            raise RuntimeError("store unavailable")
        done.put(batch)

    with started(feed(topic, client_id, handler)):
        publish(f"{topic}/W01", [W01])
        redelivered = done.get(timeout=WAIT)
    first = calls[0]
    assert [key(r) for r in first.readings] == [key(r) for r in redelivered.readings] == [
        ("WL-DEMO-W01", T, 0.12, "m")]
    assert first.readings[0].arrival_time < redelivered.readings[0].arrival_time


def test_unacknowledged_and_offline_messages_survive_a_restart_of_the_subscriber(names):
    topic, client_id = names
    failed: queue.Queue[Batch] = queue.Queue()

    def broken(batch: Batch) -> None:
        failed.put(batch)
        raise RuntimeError("disk full")

    with started(feed(topic, client_id, broken)):
        publish(f"{topic}/W01", [W01])
        failed.get(timeout=WAIT)
    publish(f"{topic}/W02", [W01 | {"stcd": "WL-DEMO-W02"}])  # while no subscriber is connected
    got: queue.Queue[Batch] = queue.Queue()
    with started(feed(topic, client_id, got.put)):
        batches = [got.get(timeout=WAIT), got.get(timeout=WAIT)]
    assert sorted(key(b.readings[0]) for b in batches) == [("WL-DEMO-W01", T, 0.12, "m"),
                                                           ("WL-DEMO-W02", T, 0.12, "m")]


def test_a_duplicate_publication_gives_the_same_key_and_bad_json_is_reported_then_acked(names):
    topic, client_id = names
    got: queue.Queue[Batch] = queue.Queue()
    with started(feed(topic, client_id, got.put)):
        publish(f"{topic}/W01", [W01, W01, b"\xff not json"])
        first, second, bad = (got.get(timeout=WAIT) for _ in range(3))
    assert key(first.readings[0]) == key(second.readings[0])
    assert bad.readings == [] and "payload: expected a JSON object or list of objects" in str(bad.rejected[0])
    nothing_redelivered(topic, client_id)


def test_built_from_settings_and_qos_2_refused(broker):
    mqtt_feed = build_feed("demo_mqtt", spec("warn/test/x"), FeedOptions(handler=lambda batch: None))
    assert isinstance(mqtt_feed, MqttFeed) and mqtt_feed.client_id == "warn-demo_mqtt"
    with pytest.raises(ValueError, match="handler must be given"):
        build_feed("demo_mqtt", spec("warn/test/x"))
    with pytest.raises(ConfigError, match="sensors.feeds.q2: qos: expected 0 or 1, got 2"):
        MqttFeed("q2", spec("warn/test/x").model_copy(update={"qos": 2}), lambda batch: None)


def test_a_deeply_nested_or_oversized_message_is_rejected_acknowledged_and_the_feed_keeps_running(names):
    topic, client_id = names
    got: queue.Queue[Batch] = queue.Queue()
    with started(feed(topic, client_id, got.put)) as subscriber:
        publish(f"{topic}/W01", [b"[" * 5_000 + b"]" * 5_000, b"{" + b" " * 2_000_000 + b"}", W01])
        deep, big, good = (got.get(timeout=WAIT) for _ in range(3))
        assert subscriber._thread is not None and subscriber._thread.is_alive()
    assert deep.readings == [] and "payload: expected JSON nested at most 32 deep" in str(deep.rejected[0])
    assert big.readings == [] and "payload: expected at most 65536 bytes, got 2000002 bytes" in str(big.rejected[0])
    assert [key(r) for r in good.readings] == [("WL-DEMO-W01", T, 0.12, "m")]
    nothing_redelivered(topic, client_id)  # acknowledged: never redelivered


def test_a_poison_message_is_acknowledged_and_recorded_with_its_digest_and_size_not_its_body(names, tmp_path):
    import hashlib

    from tests.conftest import ROOT
    from warn.cycle.sensors import Ingester
    from warn.modelfiles import load_model_file
    from warn.service import _handle
    from warn.store import Store

    topic, client_id = names
    poison = b"[" * 5_000 + b"]" * 5_000
    handled: queue.Queue[Batch] = queue.Queue()
    with Store.connect(f"sqlite:///{tmp_path / 'warn.db'}") as store:
        store.upgrade()
        ingester = Ingester(store, {}, load_model_file("sensors", ROOT / "models" / "sensors.yaml").params())

        def handler(batch: Batch) -> None:
            _handle(ingester, batch, lambda: datetime.now(UTC))
            handled.put(batch)

        with started(feed(topic, client_id, handler)):
            publish(f"{topic}/W01", [poison])
            handled.get(timeout=WAIT)
        nothing_redelivered(topic, client_id)  # acknowledged: never redelivered
        with store.engine.connect() as conn:
            rows = conn.exec_driver_sql("select source, reason, payload_sha256, payload_bytes "
                                        "from rejected_readings").all()
    assert len(rows) == 1
    source, reason, digest, size = rows[0]
    assert (source, digest, size) == ("feed:demo_mqtt", hashlib.sha256(poison).hexdigest(), 10_000)
    assert "payload: expected JSON nested at most 32 deep" in reason and "[[[" not in reason
