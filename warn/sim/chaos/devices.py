"""The drill's MQTT water-level devices: they publish the demo world's readings, and can misbehave.

:class:`Devices` publishes the readings of its sensors (the river gauges of the demo world)
as the demo's devices do (``{"stcd", "tm", "z"}``, local time of the deployment), QoS 1, one
message per reading. What the broker did not acknowledge is kept and sent again at the next
step, as a device with a buffer does. A drill makes them misbehave: ``duplicate`` sends every
message twice, ``reorder`` sends each step's messages newest first, and :meth:`poison` sends a
message nested 5,000 deep and one larger than the feed's limit.
"""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from warn.errors import SourceError
from warn.sim.mqttpub import publish
from warn.sim.world import Series

#: How deep the nested poison message is.
POISON_DEPTH = 5000


class Devices:
    """Publish ``series`` to ``topic_prefix/<sensor>`` on ``127.0.0.1:port``.

    Parameters
    ----------
    series
        The sensors' readings (the demo world's).
    port
        The broker's port.
    topic_prefix
        The topic without the sensor (the feed subscribes ``prefix/+``).
    timezone
        The deployment's zone: ``tm`` is local time in it.
    max_payload_bytes
        The feed's limit, which the oversized poison message exceeds.
    since
        Readings taken by then are not sent (they were before the drill).

    Attributes
    ----------
    duplicate, reorder
        The misbehaviour switched on now.
    sent, unsent
        Messages the broker acknowledged; messages kept for the next step (broker away).
    readings
        Every (sensor, time) of a reading handed to :meth:`send`.
    """

    def __init__(self, series: list[Series], *, port: int, topic_prefix: str, timezone: str,
                 max_payload_bytes: int, since: datetime) -> None:
        self.series, self.port, self.prefix = series, port, topic_prefix.rstrip("/")
        self.zone, self.max_payload_bytes = ZoneInfo(timezone), max_payload_bytes
        self.duplicate = self.reorder = False
        self.sent = 0
        self.readings: set[tuple[str, datetime]] = set()
        self._pending: list[tuple[str, bytes]] = []
        self._since = since

    @property
    def sensors(self) -> list[str]:
        return [s.sensor_id for s in self.series]

    @property
    def unsent(self) -> int:
        return len(self._pending)

    def send(self, until: datetime) -> None:
        """Publish the readings taken after the last call up to ``until``, after what was kept."""
        fresh = sorted(((t, f"{self.prefix}/{s.sensor_id}", self._payload(s.sensor_id, t, v))
                        for s in self.series for t, v in zip(s.times, s.values, strict=True)
                        if self._since < t <= until and v is not None),
                       key=lambda m: m[0], reverse=self.reorder)
        self._since = until
        self.readings.update((topic.rsplit("/", 1)[-1], t) for t, topic, _ in fresh)
        self._pending.extend((topic, body) for _, topic, body in fresh for _ in range(2 if self.duplicate else 1))
        self._flush()

    def poison(self) -> None:
        """Send a message nested :data:`POISON_DEPTH` deep and one a byte over the feed's size limit."""
        topic = f"{self.prefix}/{self.series[0].sensor_id}"
        nested = ("[" * POISON_DEPTH + "]" * POISON_DEPTH).encode()
        oversized = json.dumps({"stcd": self.series[0].sensor_id, "pad": "x" * self.max_payload_bytes}).encode()
        self._pending.extend([(topic, nested), (topic, oversized)])
        self._flush()

    def _flush(self) -> None:
        while self._pending:
            topic, body = self._pending[0]
            try:
                publish(topic, [body], port=self.port, timeout=2.0)
            except SourceError:
                return  # the broker is away: kept for the next step
            self._pending.pop(0)
            self.sent += 1

    def _payload(self, sensor_id: str, moment: datetime, value: float) -> bytes:
        local = moment.astimezone(self.zone).strftime("%Y-%m-%d %H:%M:%S")
        return json.dumps({"stcd": sensor_id, "tm": local, "z": value}).encode()
