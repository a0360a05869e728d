"""The service: what runs when, live on APScheduler 3 and in replays on a simulated clock.

Like ``cycle.py``, this module orchestrates; it only decides *when* things run.
:class:`Service` holds the jobs of a deployment — the warning cycle
(:func:`warn.cycle.run`), the command tick (the people's answers and decisions, the
acknowledgement deadlines and escalations, due tasks: :func:`warn.cycle.advance`), reaching the
persons they address (:func:`warn.cycle.reach.reach`, after every cycle and tick), and the
outbox dispatcher — so that the live service and a replay call the very same code. Jobs
that touch the planner's state hold one lock, so a tick never interleaves with a cycle.
Live jobs run with ``max_instances=1`` and coalescing, so a slow job is never run twice
at once and missed runs collapse into one; SIGTERM and SIGINT stop the scheduler after
the running jobs finish, so nothing is left half-written (every write is one transaction
and every action is keyed, so a killed process repeats nothing when it restarts).
:func:`run_service` is the live service (``warn run``): the cycle on its grid and at once
on a new forecast run, the tick, the dispatcher and the MQTT feeds. :func:`run_ingest` runs
the sensor feeds alone (``warn ingest``).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone

from apscheduler.schedulers.background import BackgroundScheduler

from dataclasses import dataclass, field

from warn import allocator, collector, hazards
from warn.vocab import CapStatus
from warn.broadcast.outbox import DispatchReport, Dispatcher
from warn.command.planner import Setup
from warn.compute import Compute, configured
from warn.config import RetentionSpec, SensorFeedSpec, Settings
from warn.durations import floor_time
from warn.cycle import (
    CycleReport,
    Ingester,
    PollReport,
    Sources,
    advance,
    fetch_due,
    mark_stale_sensors,
    open_ingester,
    open_sources,
    poll_feed,
)
from warn.cycle import run as run_cycle
from warn.cycle.command import Advanced
from warn.cycle.reach import Reach, open_reach, reach
from warn.errors import ConfigError, Problem, first_line
from warn.leadership import Leadership
from warn.outage import StoreOutage
from warn.store import STORE_FAILURES, Store
from warn.sources.feeds import FeedOptions, PushedFeed, build_feed
from warn.sources.payloads import Batch

log = logging.getLogger(__name__)

#: How often sensors are checked for silence.
STALE_CHECK = timedelta(minutes=1)
#: The live service's default cycle interval, and how often it looks for a new forecast run,
#: ticks (acknowledgement deadlines, escalations, due tasks) and dispatches the outbox.
CYCLE_EVERY = timedelta(minutes=10)
WATCH_EVERY = timedelta(minutes=1)
TICK_EVERY = timedelta(minutes=1)
DISPATCH_EVERY = timedelta(seconds=10)
#: How often the leader makes the store's readings partitions of the weeks ahead (:mod:`warn.store.partitions`).
PARTITIONS_EVERY = timedelta(hours=1)


def utc_now() -> datetime:
    """The wall clock, timezone-aware UTC."""
    return datetime.now(timezone.utc)


@dataclass
class Service:
    """The jobs of one deployment on one store.

    Attributes
    ----------
    settings, store
        The deployment and its (migrated) store.
    sources
        Where cycles pull from (:func:`warn.cycle.open_sources`).
    setup
        Playbooks, roster and mode rules, loaded once.
    dispatcher
        Delivers the outbox through the configured channels.
    status, sender
        CAP status of everything published (``Exercise`` in drills) and CAP sender.
    reach
        How persons are reached (``None``: the deployment has no ``reach:``; nothing goes to persons).
    compute
        Where the cycles' gridded steps run (``compute:``): a local dask cluster started when a grid
        first needs it, or the scheduler at the configured address; closed with the service.
    lock
        Held by the jobs that touch the planner's state (cycles, ticks) and the web service's plan-and-record.
    sending
        Held around each outbox message's send and record, and by a cycle before ``lock``.
    """

    settings: Settings
    store: Store
    sources: Sources
    setup: Setup
    dispatcher: Dispatcher
    status: CapStatus
    sender: str
    reach: Reach | None = None
    compute: Compute = field(default_factory=Compute.here)
    lock: threading.Lock = field(default_factory=threading.Lock)
    sending: threading.Lock = field(default_factory=threading.Lock)

    def cycle(self, at: datetime) -> CycleReport:
        """Run the warning cycle at ``at``, then reach the persons it addressed and settle the memory it freed
        (:func:`warn.allocator.settle`); never while an outbox message is between its send and its record
        (:attr:`sending`, taken before :attr:`lock`, as a send's callbacks take it)."""
        with self.sending, self.lock:
            report = run_cycle(self.settings, self.store, at, sources=self.sources, status=self.status,
                               sender=self.sender, setup=self.setup, compute=self.compute)
            self._reach(at)
            allocator.settle()
            return report

    def tick(self, now: datetime) -> Advanced:
        """Plan the inbox's events and the clock to ``now`` (deadlines, escalations, due steps), then reach
        the persons addressed and move unanswered or failed deliveries on."""
        with self.lock:
            advanced = advance(self.store, self.settings, self.setup, (), now, status=self.status,
                               sender=self.sender)
            self._reach(now)
            return advanced

    def _reach(self, now: datetime) -> None:
        if self.reach is not None:
            reach(self.store, self.reach, now)

    def dispatch(self, now: datetime) -> DispatchReport:
        """Deliver what is due in the outbox at ``now``, each message under :attr:`sending` (not :attr:`lock`: a
        gateway's callback during the send takes that one): a cycle never runs while a message is between its send
        and its record, so a process killed mid-cycle repeats no message."""
        return self.dispatcher.dispatch_once(now, each=self.sending)

    def close(self) -> None:
        """Close the HTTP clients the sources held for the service's life (:meth:`warn.cycle.Sources.close`) and
        the dask client (stopping a local cluster)."""
        self.sources.close()
        self.compute.close()

    def __enter__(self) -> Service:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def open_service(settings: Settings, store: Store, *, status: CapStatus, sender: str, now: Callable[[], datetime],
                 urls: dict[str, str] | None = None, env: dict[str, str] | None = None) -> Service:
    """Prepare the :class:`Service` of ``settings`` on ``store`` (migrated here).

    Parameters
    ----------
    urls
        Base URLs filling placeholders in the configured feed URLs (the demo world).
    env
        Where the channels' secrets are read (default ``os.environ``).
    now
        The clock (the wall clock live, the simulated one in a replay).

    Raises
    ------
    ConfigError
        No ``command`` section, a bad forecast choice, a channel secret missing, a bad
        ``WARN_COMPUTE_SCHEDULER`` (which overrides ``compute.scheduler``).
    """
    from warn.broadcast.channels import build_channels
    from warn.command.loading import load_directory, load_setup

    if settings.command is None:
        raise ConfigError(Problem("config.yaml", "command", "a command section (playbooks, roster)", "nothing"))
    store.upgrade()
    setup = load_setup(settings.command, settings.deployment.district_code, hazards.names_zh(),
                       roster_limit=settings.files.max_roster_bytes)
    directory = None if settings.command.directory is None else load_directory(
        settings.command.directory, max_bytes=settings.files.max_roster_bytes)
    sources = open_sources(settings, store, urls=urls, now=now, exercise=status is CapStatus.EXERCISE)
    contacts = directory.contacts if directory is not None else None
    channels = build_channels(settings.channels, env=env, now=now, contacts=contacts)
    dispatcher = Dispatcher(store, channels, clock=now)
    people = open_reach(settings, directory, env=os.environ if env is None else env, status=status)
    compute = Compute(configured(settings.compute, os.environ if env is None else env))
    collector.tune()
    allocator.keep()
    return Service(settings, store, sources, setup, dispatcher, status, sender, people, compute)


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

    Polled feeds poll every ``poll_every`` (the first poll at once: the scheduler fires on the
    wall clock, whatever ``now`` reads); MQTT feeds hand each message to the ingester and
    acknowledge it only after the store has committed it.
    """
    stop = stop or threading.Event()
    ingester = open_ingester(settings, now=now)
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
            "interval", seconds=spec.poll_every.total_seconds(), next_run_time=utc_now(), id=f"poll:{name}")
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
    ingester.reject(batch, now=now())


def run_service(service: Service, *, every: timedelta = CYCLE_EVERY, stop: threading.Event | None = None,
                now: Callable[[], datetime] = utc_now, poll: timedelta | None = None,
                on_cycle: Callable[[CycleReport], None] = lambda report: None) -> None:
    """Run the live service of ``service`` until ``stop`` is set or SIGTERM/SIGINT arrives.

    Jobs (APScheduler 3, UTC, ``max_instances=1``, coalesced), each logging its own errors
    so that the service keeps running (a failed cycle is recorded ``failed`` by the cycle):

    - ``cycle``: every ``every`` on its grid (and once at start), at ``now`` floored to the
      grid — a restart within a slot resumes that slot's cycle, and a done one is not repeated;
    - ``watch``: every :data:`WATCH_EVERY`, fetches the due forecast run; a new run (new
      issue time, or new bytes behind the ETag) runs a cycle at once, at ``now`` to the second;
    - ``tick``: every :data:`TICK_EVERY` (the first one after the cycle at start): the inbox, acknowledgement deadlines,
      escalations and due tasks;
    - ``dispatch``: every :data:`DISPATCH_EVERY` (and at start): the outbox;
    - the MQTT feeds of ``settings.sensors.feeds``, their readings stored through the service's
      ingester. A feed that cannot start is logged; its sensors fall silent and the cycle raises
      the data-outage notice;
    - ``partitions``: every :data:`PARTITIONS_EVERY` (and at start), the readings partitions of the weeks
      ahead (PostgreSQL); ``retention``: every ``store.retention.every`` (and at start), when configured, the
      readings older than ``store.retention.readings`` archived, verified, then removed;
    - ``lease``: every ``store.lease.renew`` of the wall clock (and at start), the deployment's lease
      (:mod:`warn.leadership`). The jobs above run, and the feeds are subscribed, only while this
      process leads; beside a leader on the same store it stands by and takes over once the leader's
      lease has run out (``store.lease.ttl``), running the slot's cycle at once. A leader that finds its store lost tells the channels of
      ``store.outage_channels`` directly, and again when it is back (:mod:`warn.outage`).

    On stop the scheduler waits for the running jobs, the lease is given up, the feeds, channels and the
    sources' HTTP clients are closed, and the store is closed.

    Parameters
    ----------
    service
        The deployment's jobs (:func:`open_service`); its store is closed on return.
    every
        The cycle interval (whole seconds; default 10 min).
    stop
        Set to stop the service (SIGTERM and SIGINT set it too, in the main thread).
    now
        The service's clock (UTC): the wall clock, or one started at another instant and running at
        real speed (:class:`~warn.sim.clock.StartedClock`); the jobs fire at the same pace on the wall clock.
    poll
        For a clock a drill steps (:class:`~warn.sim.clock.FileClock`): every job runs this often on the
        wall clock instead (the cycle at ``now`` floored to ``every``, so each slot once), so the
        service keeps up with however fast the drill moves the time.
    on_cycle
        Called with each cycle's report (also a repeated one).
    """
    stop = stop or threading.Event()
    scheduler = BackgroundScheduler(timezone="UTC", job_defaults={"max_instances": 1, "coalesce": True})

    def cycle(at: datetime) -> None:
        on_cycle(service.cycle(at))

    def watch() -> None:
        moment = now()
        with service.lock:
            _rain, run, new, problems = fetch_due(service.settings, service.store, service.sources, moment,
                                                  service.compute)
        for problem in problems:
            log.warning("%s", problem)
        if new and run is not None:
            log.info("新预报 / new forecast run: %s", run["issued"])
            at = moment.replace(microsecond=0)
            scheduler.add_job(_guarded("cycle", lambda: cycle(at)), "date", id="cycle-now", replace_existing=True)

    feeds = _Feeds(service, now)

    def lead(leading: bool) -> None:
        feeds.switch(leading)
        if leading and scheduler.running:  # a takeover: the slot's cycle at once (an interrupted one resumes)
            scheduler.add_job(_led(leadership, "cycle", lambda: cycle(floor_time(now(), every))), "date",
                              id="cycle-now", replace_existing=True)

    lease = service.settings.store.lease
    leadership = Leadership(service.store.leases, service.settings.deployment.district_code, lease, on_change=lead)
    start = now()
    # APScheduler fires on the wall clock, which ``now`` may run apart from (``warn run --clock-start``):
    # its first runs are at the wall's now, the grid laid where ``now`` reads it.
    wall = utc_now()
    grid = {"start_date": floor_time(start, every) + (wall - start)} if poll is None else {}
    outage = StoreOutage({name: service.dispatcher.channels[name] for name in service.settings.store.outage_channels
                          if name in service.dispatcher.channels}, deployment=service.settings.deployment.name,
                         holder=leadership.holder, clock=utc_now, local=service.settings.local)

    def renew() -> None:
        was = leadership.leading()
        leadership.renew()
        outage.observe(leadership.reached, leading=was or leadership.leading())

    scheduler.add_job(_guarded("lease", renew), "interval", seconds=lease.renew.total_seconds(), id="lease")
    scheduler.add_job(_led(leadership, "cycle", lambda: cycle(floor_time(now(), every))), "interval",
                      seconds=(poll or every).total_seconds(), next_run_time=wall, id="cycle", **grid)
    scheduler.add_job(_led(leadership, "watch", watch), "interval", seconds=(poll or WATCH_EVERY).total_seconds(),
                      id="watch")
    # The first tick only after the first cycle: the planner's clock never goes back, so a tick
    # at the wall time before a resumed cycle would move that cycle's actions to the tick's time.
    scheduler.add_job(_led(leadership, "tick", lambda: service.tick(now())), "interval",
                      seconds=(poll or TICK_EVERY).total_seconds(), id="tick")
    scheduler.add_job(_led(leadership, "dispatch", lambda: service.dispatch(now())), "interval",
                      seconds=(poll or DISPATCH_EVERY).total_seconds(), next_run_time=wall, id="dispatch")
    scheduler.add_job(_led(leadership, "partitions", lambda: service.store.prepare_partitions(now())), "interval",
                      seconds=PARTITIONS_EVERY.total_seconds(), next_run_time=wall, id="partitions")
    retention = service.settings.store.retention
    if retention is not None:
        scheduler.add_job(_led(leadership, "retention", lambda: _retain(service.store, retention)), "interval",
                          seconds=retention.every.total_seconds(), next_run_time=wall, id="retention")
    in_main = threading.current_thread() is threading.main_thread()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT) if in_main}
    try:
        _guarded("lease", renew)()  # the leader's first cycle at once, not after the first renewal
        scheduler.start()
        stop.wait()
    finally:
        if scheduler.running:
            scheduler.shutdown(wait=True)
        leadership.release()
        feeds.switch(False)
        for channel in service.dispatcher.channels.values():
            channel.close()
        service.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        service.store.close()


def _retain(store: Store, retention: RetentionSpec) -> None:
    """Archive, then remove, the readings older than ``retention.readings`` (:meth:`warn.store.Store.archive_readings`)."""
    for week in store.archive_readings(keep=retention.readings, folder=retention.archive):
        log.info("读数已归档并移出存储库 / readings archived and removed: %s–%s, %d readings, %d revisions → %s",
                 week.period.start.date(), week.period.end.date(), week.readings, week.revisions, week.manifest)


class _Feeds:
    """The deployment's MQTT feeds, subscribed while this process leads (one subscriber per feed's client id:
    the broker keeps the persistent session's messages for whichever process leads next)."""

    def __init__(self, service: Service, now: Callable[[], datetime]) -> None:
        self._service = service
        self._now = now
        self._running: list[PushedFeed] = []

    def switch(self, leading: bool) -> None:
        """Subscribe the feeds (``leading``), or unsubscribe them."""
        if not leading:
            for feed in self._running:
                feed.stop()
            self._running = []
            return
        for feed in _pushed_feeds(self._service, self._now):
            try:
                self._running.append(feed.start())
            except Exception:
                log.exception("MQTT 数据源 %s 启动失败 / MQTT feed %s failed to start", feed.name, feed.name)


def _pushed_feeds(service: Service, now: Callable[[], datetime]) -> list[PushedFeed]:
    """The MQTT feeds of the deployment, handing their readings to the service's ingester."""
    ingester = service.sources.ingester
    if ingester is None or service.settings.sensors is None:
        return []

    def handle(batch: Batch) -> None:
        with service.lock:
            _handle(ingester, batch, now)

    options = FeedOptions(now=now, catalogue=ingester.catalogue, handler=handle)
    return [build_feed(name, spec, options) for name, spec in service.settings.sensors.feeds.items()
            if spec.kind == "mqtt"]


def _led(leadership: Leadership, name: str, job: Callable[[], object]) -> Callable[[], None]:
    """``job`` (:func:`_guarded`) when this process leads its deployment; nothing while it stands by."""
    guarded = _guarded(name, job)

    def led() -> None:
        if leadership.leading():
            guarded()

    return led


def _guarded(name: str, job: Callable[[], object]) -> Callable[[], None]:
    """``job``, its errors logged instead of raised, so the scheduler and the other jobs go on: a store
    that is unavailable (locked, moved, read-only) is one sentence — the job runs again at its next
    time and repeats nothing; anything else is logged with its traceback."""

    def guarded() -> None:
        try:
            job()
        except STORE_FAILURES as err:
            first = first_line(err)
            log.error("任务 %s：存储库不可用，下次运行时重试 / job %s: the store is unavailable, retried at its "
                      "next run: %s", name, name, first)
        except Exception:
            log.exception("任务 %s 失败 / job %s failed", name, name)

    return guarded
