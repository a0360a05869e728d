"""Sensor feed kinds: the registry :data:`FEEDS` and :func:`build_feed`.

A feed kind is the ``kind`` of a :class:`~warn.config.SensorFeedSpec` (one entry of
``sensors.feeds``). Each kind lives in its own module, which registers a factory with
:data:`FEEDS` (``@FEEDS.register(name)``) when it is imported. This module names no kind and
imports none of those modules: :data:`FEEDS` imports the modules listed in
:data:`KIND_MODULES` on first use, so paho-mqtt is imported only where an MQTT feed is built
or the kinds are listed. A new kind is a module that registers itself, added to
:data:`KIND_MODULES`.

A kind's factory returns either a :class:`PolledFeed`, which the caller polls, or a
:class:`PushedFeed`, which hands each message to :attr:`FeedOptions.handler` once started.
Both hand over :class:`~warn.sources.payloads.Batch` es (:mod:`warn.sources.payloads`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, Self

from warn.config import SensorFeedSpec
from warn.registry import Registry
from warn.sources.payloads import Batch, Since, utc_now
from warn.sources.readings import Sensor

if TYPE_CHECKING:
    import httpx


class PolledFeed(Protocol):
    """A feed the service polls: ``poll(since)`` returns what is new since then."""

    name: str

    def poll(self, since: Since = None) -> Batch:
        """Readings after ``since − lookback`` (all the document holds when ``since`` is ``None``)."""
        ...

    def close(self) -> None:
        """Close its HTTP client (the service's feeds live as long as the service)."""
        ...


class PushedFeed(Protocol):
    """A feed that pushes: once started, it hands each message's :class:`Batch` to its handler."""

    name: str

    def start(self) -> Self:
        """Start receiving in the background (until :meth:`stop`)."""
        ...

    def stop(self) -> None:
        """Stop receiving."""
        ...


@dataclass(frozen=True)
class FeedOptions:
    """What a feed needs beyond its settings.

    Parameters
    ----------
    now
        Clock for ``arrival_time`` (aware UTC).
    catalogue
        Known sensors by id (``None`` accepts any id and infers the kind from the unit).
    transport
        httpx transport for HTTP feeds.
    sleep
        How to wait between HTTP attempts.
    handler
        For pushed feeds: called with each message's :class:`Batch`; the message is
        acknowledged only after it returns.
    """

    now: Callable[[], datetime] = utc_now
    catalogue: Mapping[str, Sensor] | None = None
    transport: httpx.BaseTransport | None = None
    sleep: Callable[[float], None] = time.sleep
    handler: Callable[[Batch], None] | None = None


#: Builds the feed ``sensors.feeds.<name>`` of a kind from its settings and options.
FeedFactory = Callable[[str, SensorFeedSpec, FeedOptions], PolledFeed | PushedFeed]

#: The modules that register feed kinds, imported on first use of :data:`FEEDS` in this order
#: until the kind looked up is registered: the polled kinds, then MQTT (which needs paho).
KIND_MODULES: tuple[str, ...] = ("warn.sources.sensors", "warn.sources.mqtt")

#: Sensor feed kinds, by the ``kind`` of a :class:`~warn.config.SensorFeedSpec`.
FEEDS: Registry[FeedFactory] = Registry("sensor feed kind", modules=KIND_MODULES)


def build_feed(name: str, spec: SensorFeedSpec, options: FeedOptions | None = None) -> PolledFeed | PushedFeed:
    """Build the feed ``sensors.feeds.<name>``: a :class:`PolledFeed` or a :class:`PushedFeed`.

    Parameters
    ----------
    name
        The feed's name (the key under ``sensors.feeds``).
    spec
        Its settings; ``spec.kind`` names the kind in :data:`FEEDS`.
    options
        Clock, catalogue, transport, and the handler a pushed feed needs.

    Returns
    -------
    PolledFeed or PushedFeed
        Not yet polled or started.

    Raises
    ------
    UnknownNameError
        ``spec.kind`` is not in :data:`FEEDS`.
    ConfigError
        The settings do not fit the kind (e.g. no unit for a field-mapped feed).
    ValueError
        A pushed kind without ``options.handler``.
    """
    factory = FEEDS.get(spec.kind, where=f"sensors.feeds.{name}", key="kind")
    return factory(name, spec, options or FeedOptions())
