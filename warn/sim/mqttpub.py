"""Publish JSON sensor readings to an MQTT broker, as the demo's devices do (QoS 1).

:func:`publish` connects (paho-mqtt 2.x, ``CallbackAPIVersion.VERSION2``), publishes each
payload as JSON and waits until the broker has acknowledged every one (PUBACK), then
disconnects::

    publish("warn/demo/level/WL-DEMO-W01",
            [{"stcd": "WL-DEMO-W01", "tm": "2026-07-15 08:05:00", "z": 0.12}])
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from warn.errors import Problem, SourceError


def publish(topic: str, payloads: Iterable[object], *, host: str = "127.0.0.1", port: int = 1883, qos: int = 1,
            client_id: str = "", timeout: float = 10.0) -> int:
    """Publish each payload (JSON-serialisable) to ``topic`` and wait for the broker's acknowledgements.

    Parameters
    ----------
    topic
        Topic name (no wildcards).
    payloads
        Objects written as UTF-8 JSON, one message each; ``bytes`` are sent as they are.
    host, port
        The broker.
    qos
        0, 1 or 2.
    client_id
        MQTT client id; empty lets the broker assign one.
    timeout
        Seconds to wait for the connection and for each acknowledgement.

    Returns
    -------
    int
        How many messages were published.

    Raises
    ------
    SourceError
        The broker cannot be reached or does not acknowledge in time.
    """
    where = f"mqtt://{host}:{port}"
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311)
    try:
        client.connect(host, port, keepalive=30)
    except OSError as err:
        raise SourceError(Problem(where, topic, "a reachable MQTT broker", str(err))) from None
    client.loop_start()
    count = 0
    try:
        for payload in payloads:
            body = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
            info = client.publish(topic, body, qos=qos)
            info.wait_for_publish(timeout)
            if not info.is_published():
                raise SourceError(Problem(where, topic, f"an acknowledgement within {timeout} s",
                                          f"message {count} unacknowledged ({info.rc})"))
            count += 1
    finally:
        client.disconnect()
        client.loop_stop()
    return count
