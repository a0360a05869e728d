"""MQTT sensor feed: readings pushed by devices, acknowledged only once they are handled.

The ``mqtt`` kind of :data:`warn.sources.feeds.FEEDS`, registered here:
:func:`~warn.sources.feeds.build_feed` makes an :class:`MqttFeed` of a feed's settings and the
``handler`` of its :class:`~warn.sources.feeds.FeedOptions`.

:class:`MqttFeed` subscribes (paho-mqtt 2.x, ``CallbackAPIVersion.VERSION2``, MQTT 3.1.1)
with a fixed client id and ``clean_session=False``, so the broker keeps the
subscription and every unacknowledged QoS 1 message while warn is away. Each message's
JSON payload (an object, a list of objects, or an object with a list) is decoded with
the feed's :class:`~warn.config.FieldMap` into a :class:`~warn.sources.payloads.Batch`
and passed to the handler.

Delivery is at-least-once:

- paho runs with ``manual_ack=True``; the PUBACK is sent (``client.ack(mid, qos)``) only
  after the handler has returned, i.e. after the caller has durably stored the batch.
- If the handler raises, the message is not acknowledged and the feed disconnects and
  reconnects after a backoff (doubling from ``min_delay`` to ``max_delay`` seconds): MQTT
  brokers resend unacknowledged messages only when the session resumes, never on the
  same connection. The broker then redelivers it (with the DUP flag).
- A payload that cannot be decoded is not a handler failure: it reaches the handler as
  a batch with a rejected problem (and the payload's SHA-256 and size, which the service
  records in the store's ``rejected_readings``) and is acknowledged, so a poison message cannot block
  the session. That includes payloads larger than the feed's ``max_payload_bytes`` or
  nested deeper than its ``max_payload_depth`` (refused before they are parsed), and any
  error of the decoder itself (logged): the network thread never dies of a message.
- Redeliveries and publisher retries repeat a reading with the same
  (sensor_id, phenomenon_time); the store's upsert makes them harmless.

QoS 2 is refused: paho answers PUBREC before the handler runs, so a failed handler
could not get the message back. The handler runs on the network thread and must return
well within the keepalive (default 30 s).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from warn.config import SensorFeedSpec
from warn.errors import ConfigError, Problem
from warn.sources.feeds import FEEDS, FeedOptions
from warn.sources.payloads import Batch, FieldDecoder, decode_payload, utc_now
from warn.sources.readings import Sensor

log = logging.getLogger(__name__)


class MqttFeed:
    """Subscribe to a topic filter and hand each message's readings to ``handler``.

    Parameters
    ----------
    name
        The feed's name (the key under ``sensors.feeds``).
    spec
        ``host``, ``port``, ``topic``, ``qos`` (0 or 1), ``fields``, ``unit``, ``timezone``.
    handler
        Called with each message's :class:`~warn.sources.payloads.Batch`; the message is
        acknowledged after it returns, and redelivered (after a reconnect) if it raises.
    catalogue
        Known sensors by id; readings of other ids are rejected.
    now
        Clock for ``arrival_time`` (aware UTC).
    client_id
        Fixed MQTT client id, which names the broker's persistent session; default the
        feed settings' ``client_id``, then
        ``warn-<name>``. Two running feeds must not share one (the broker drops the older).
    keepalive
        Seconds between keepalive pings.
    min_delay, max_delay
        Reconnect backoff bounds, seconds (after a lost connection or a failed handler).

    Raises
    ------
    ConfigError
        No topic, QoS 2, or field-mapping settings the decoder refuses.
    """

    def __init__(self, name: str, spec: SensorFeedSpec, handler: Callable[[Batch], None], *,
                 catalogue: Mapping[str, Sensor] | None = None, now: Callable[[], datetime] = utc_now,
                 client_id: str | None = None, keepalive: int = 30, min_delay: float = 1.0,
                 max_delay: float = 60.0) -> None:
        where = f"sensors.feeds.{name}"
        if not spec.topic:
            raise ConfigError(Problem(where, "topic", "an MQTT topic filter such as warn/sensors/+"))
        if spec.qos == 2:
            raise ConfigError(Problem(where, "qos", "0 or 1", "2",
                                      "QoS 1 with acknowledgement after handling gives at-least-once delivery"))
        self.name = name
        self.spec = spec
        self.topic = spec.topic
        self.handler = handler
        self.decoder = FieldDecoder(name, spec, catalogue=catalogue)
        self.now = now
        self.client_id = client_id or spec.client_id or f"warn-{name}"
        self.keepalive = keepalive
        self.min_delay, self.max_delay = min_delay, max_delay
        self._delay = min_delay
        self._stopping = threading.Event()
        self._subscribed = threading.Event()
        self._lock = threading.Lock()
        self._handling = threading.Lock()  # a message handled and acknowledged, or a stop: one at a time
        self._client: mqtt.Client | None = None
        self._thread: threading.Thread | None = None

    @property
    def where(self) -> str:
        """The feed as messages name it."""
        return f"sensor feed {self.name!r} (mqtt://{self.spec.host}:{self.spec.port}/{self.topic})"

    def start(self) -> MqttFeed:
        """Connect and subscribe in a background thread (reconnecting with backoff until :meth:`stop`)."""
        if self._thread is not None:
            raise RuntimeError(f"{self.where} is already started")
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name=f"warn-mqtt-{self.name}", daemon=True)
        self._thread.start()
        return self

    def wait_subscribed(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds until the subscription is confirmed; True if it is."""
        return self._subscribed.wait(timeout)

    def stop(self) -> None:
        """Disconnect once the message being handled, if any, is acknowledged (the broker keeps the session and
        the unacknowledged messages) and end the thread."""
        self._stopping.set()
        with self._handling, self._lock:
            if self._client is not None:
                self._client.disconnect()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._subscribed.clear()

    def __enter__(self) -> MqttFeed:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        while not self._stopping.is_set():
            client = self._new_client()
            try:
                client.connect(self.spec.host, self.spec.port, self.keepalive)
            except OSError as err:
                log.warning("%s: cannot connect: %s; retrying in %.1f s / 无法连接，%.1f 秒后重试",
                            self.where, err, self._delay, self._delay)
            else:
                with self._lock:
                    self._client = client
                if self._stopping.is_set():
                    client.disconnect()
                client.loop_forever()  # returns after disconnect(): stop() or a failed handler
                with self._lock:
                    self._client = None
                self._subscribed.clear()
            if self._stopping.wait(self._delay):
                break
            self._delay = min(self._delay * 2, self.max_delay)

    def _new_client(self) -> mqtt.Client:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self.client_id, clean_session=False,
                             protocol=mqtt.MQTTv311, manual_ack=True)
        client.reconnect_delay_set(min_delay=max(1, round(self.min_delay)), max_delay=round(self.max_delay))
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        return client

    def _on_connect(self, client: mqtt.Client, userdata: object, flags: mqtt.ConnectFlags,
                    reason_code: mqtt.ReasonCode, properties: object) -> None:
        if reason_code.is_failure:
            log.warning("%s: broker refused the connection: %s / 代理拒绝连接", self.where, reason_code)
            return
        client.subscribe(self.topic, qos=self.spec.qos)

    def _on_subscribe(self, client: mqtt.Client, userdata: object, mid: int,
                      reason_codes: list[mqtt.ReasonCode], properties: object) -> None:
        if any(code.is_failure for code in reason_codes):
            log.warning("%s: subscription refused: %s / 订阅被拒绝", self.where, reason_codes)
            return
        self._subscribed.set()

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        with self._handling:
            self._handle(client, message)

    def _handle(self, client: mqtt.Client, message: mqtt.MQTTMessage) -> None:
        """Decode ``message``, hand its batch over, and acknowledge it once handled (see the module notes)."""
        where = f"{self.where} topic {message.topic!r}"
        try:
            batch = decode_payload(self.decoder, message.payload, where=where, arrival_time=self.now())
        except Exception as err:  # a payload the decoder cannot survive is a bad reading, not a dead feed
            log.exception("%s: payload of message %d could not be decoded; rejected and acknowledged / "
                          "消息无法解码，拒收并确认", where, message.mid)
            batch = Batch(self.name, rejected=[Problem(where, "payload", "a decodable JSON payload",
                                                       f"{type(err).__name__}: {err}")])
        if batch.rejected:  # recorded by the handler with the payload's digest and size, never the payload
            batch = replace(batch, payload_sha256=hashlib.sha256(message.payload).hexdigest(),
                            payload_bytes=len(message.payload))
        try:
            self.handler(batch)
        except Exception:  # the handler's failure must not ack; it is logged and the message comes back
            log.exception("%s: handler failed; message %d not acknowledged, reconnecting for redelivery / "
                          "处理失败，消息未确认，重连后重新投递", where, message.mid)
            client.disconnect()
            return
        client.ack(message.mid, message.qos)
        self._delay = self.min_delay


@FEEDS.register("mqtt")
def _mqtt(name: str, spec: SensorFeedSpec, options: FeedOptions) -> MqttFeed:
    if options.handler is None:
        raise ValueError(f"sensor feed {name!r} is MQTT: FeedOptions.handler must be given")
    return MqttFeed(name, spec, options.handler, catalogue=options.catalogue, now=options.now)
