"""The live service: scheduled jobs on APScheduler 3.

Like ``cycle.py``, this module orchestrates; it only decides *when* things run. Jobs
run with ``max_instances=1`` and coalescing, so a slow poll is never run twice at once
and missed runs collapse into one; SIGTERM and SIGINT stop the scheduler after the
running jobs finish, so nothing is left half-written (every write is one transaction).
So far: the sensor feeds — each polled feed on its own interval, MQTT feeds subscribed,
and a staleness check every minute.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone

from apscheduler.schedulers.background import BackgroundScheduler

from warn.config import SensorFeedSpec, Settings
from warn.cycle import Ingester, PollReport, mark_stale_sensors, open_ingester, poll_feed
from warn.errors import ConfigError, Problem
from warn.sources.sensors import Batch, FeedOptions, build_feed

log = logging.getLogger(__name__)

#: How often sensors are checked for silence.
STALE_CHECK = timedelta(minutes=1)


def utc_now() -> datetime:
    """The wall clock, timezone-aware UTC."""
    return datetime.now(timezone.utc)


def feed_specs(settings: Settings, names: Sequence[str], *, url: str | None = None) -> dict[str, SensorFeedSpec]:
    """The sensor feeds to run: ``names`` (all when empty), with ``url`` replacing the one feed's URL."""
    feeds = settings.sensors.feeds if settings.sensors else {}
    unknown = [name for name in names if name not in feeds]
    if unknown:
        raise ConfigError(Problem("config.yaml", "sensors.feeds", f"a feed among {', '.join(feeds) or '(none)'}",
                                  ", ".join(map(repr, unknown))))
    chosen = {name: feeds[name] for name in (names or feeds)}
    if url is not None and len(chosen) != 1:
        raise ConfigError(Problem("--url", "", "exactly one --feed to replace the URL of",
                                  f"{len(chosen)} feeds"))
    if url is not None:
        chosen = {name: spec.model_copy(update={"url": url}) for name, spec in chosen.items()}
    return chosen


def poll_once(ingester: Ingester, specs: dict[str, SensorFeedSpec], *,
              now: Callable[[], datetime] = utc_now) -> list[PollReport]:
    """Poll every polled feed once, then mark silent sensors stale."""
    options = FeedOptions(now=now, catalogue=ingester.catalogue)
    reports = [poll_feed(ingester, build_feed(name, spec, options), expected=spec.poll_every, now=now())
               for name, spec in specs.items() if spec.kind != "mqtt"]
    mark_stale_sensors(ingester, now=now())
    return reports


def run_ingest(settings: Settings, specs: dict[str, SensorFeedSpec], *, stop: threading.Event | None = None,
               now: Callable[[], datetime] = utc_now, on_report: Callable[[PollReport], None] = lambda r: None) -> None:
    """Run the sensor feeds until ``stop`` is set or SIGTERM/SIGINT arrives.

    Polled feeds poll every ``poll_every``; MQTT feeds hand each message to the
    ingester and acknowledge it only after the store has committed it.
    """
    stop = stop or threading.Event()
    ingester = open_ingester(settings)
    options = FeedOptions(now=now, catalogue=ingester.catalogue,
                          handler=lambda batch: _handle(ingester, batch, now))
    scheduler = BackgroundScheduler(timezone="UTC", job_defaults={"max_instances": 1, "coalesce": True})
    pushed = []
    for name, spec in specs.items():
        feed = build_feed(name, spec, options)
        if spec.kind == "mqtt":
            pushed.append(feed)
            continue
        scheduler.add_job(lambda feed=feed, spec=spec: on_report(
            poll_feed(ingester, feed, expected=spec.poll_every, now=now())),
            "interval", seconds=spec.poll_every.total_seconds(), next_run_time=now(), id=f"poll:{name}")
    scheduler.add_job(lambda: mark_stale_sensors(ingester, now=now()), "interval",
                      seconds=STALE_CHECK.total_seconds(), id="stale")
    in_main = threading.current_thread() is threading.main_thread()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT) if in_main}
    try:
        for feed in pushed:
            feed.start()
        scheduler.start()
        stop.wait()
    finally:
        scheduler.shutdown(wait=True)
        for feed in pushed:
            feed.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        ingester.store.close()


def _handle(ingester: Ingester, batch: Batch, now: Callable[[], datetime]) -> None:
    for problem in batch.rejected:
        log.warning("拒收 / rejected: %s", problem)
    ingester.ingest(batch.readings, now=now())
