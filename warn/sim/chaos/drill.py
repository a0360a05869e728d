"""One chaos drill: the demo storm on a stepped clock, ``warn run`` as a real process, faults on a schedule.

:func:`run_drill` starts the demo world (forecast runs, SensorThings, the webhook receiver),
a second feed server over the same folder for the official sources (the one faults make
hostile), a foreign host, the drill's own Mosquitto broker and MQTT devices (the river
gauges), writes the drill's deployment (:func:`~warn.sim.chaos.process.drill_config`) and
starts ``warn run --clock-file`` — one, or a leader and :attr:`Plan.standbys` standbys on the same store
(:class:`~warn.sim.chaos.process.Services`). It then steps the simulated clock by :data:`STEP`: at each
step the faults due end or begin, the world publishes, the devices send, the demo staff act
(their own connection to the store), and on the cycle grid the drill waits until the
service has done that cycle (restarting it when it is gone) before it lets the service
tick and dispatch at that time (:data:`SETTLE_S`). After the plan's end every fault is
healed and the drill goes on for :attr:`Plan.drain` so that the outbox can empty; at its last step
the drill holds the clock until the outbox has sent what is due and the devices' readings are all
stored (:data:`END_WAIT_S` at most), then stops
the service with SIGTERM and reads the :class:`~warn.sim.chaos.invariants.Outcome`. The same
plan without faults is the fault-free run to compare with.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from warn import hazards
from warn.command.loading import load_setup
from warn.config import load_settings
from warn.durations import floor_time, parse_duration
from warn.errors import ConfigError, Problem
from warn.leadership import holder_pid
from warn.sim.chaos.broker import Broker
from warn.sim.chaos.devices import Devices
from warn.sim.chaos.faults import INJECTORS, Fault, Targets
from warn.sim.chaos.invariants import Outcome, read_outcome
from warn.sim.chaos.process import LEASE, ServiceProcess, Services, drill_config
from warn.sim.clock import SimClock, write_clock
from warn.sim.demo import DemoWorld, demo_secrets
from warn.sim.feedserver import FeedServer
from warn.sim.staff import DemoStaff
from warn.store import Store

#: The drill's clock step and the service's cycle interval (simulated).
STEP = timedelta(minutes=5)
EVERY = timedelta(minutes=10)
#: Wall seconds the service is given at each step to tick and dispatch at that time.
SETTLE_S = 0.6
#: Wall seconds the drill waits for a cycle before it heals every fault, and again before it gives up on it.
CYCLE_WAIT_S = 45.0
#: Wall seconds a standby may wait before it takes over from a killed leader: the drill's lease, ttl + renew.
TAKEOVER_S = sum(parse_duration(LEASE[k]).total_seconds() for k in ("ttl", "renew"))
#: Wall seconds the drill holds its last step for the outbox and the devices' readings to be through.
END_WAIT_S = 30.0
#: The sensors the devices publish over MQTT (the rest go through SensorThings).
MQTT_KIND = "river_stage"


@dataclass(frozen=True)
class Plan:
    """A drill: the seed, the simulated period, its faults, the fault-free drain after it, and how many
    ``warn run`` stand by beside the leader."""

    seed: int
    start: datetime
    end: datetime
    faults: tuple[Fault, ...] = ()
    drain: timedelta = timedelta(minutes=30)
    standbys: int = 0

    def fault_free(self) -> Plan:
        return Plan(self.seed, self.start, self.end, (), self.drain, self.standbys)


@dataclass
class DrillRun:
    """What one drill did: its outcome, wall seconds, the faults injected, the cycles the service did not get done
    in time (stalls: an invariant broken), notes on the way (the staff kept out of a locked store), the
    service's starts, SIGKILLs and unexpected exits."""

    outcome: Outcome
    seconds: float
    injected: list[str] = field(default_factory=list)
    stalls: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    starts: int = 0
    kills: int = 0
    exits: int = 0


def run_drill(config: Path, folder: Path, plan: Plan, *, store_url: str | None = None) -> DrillRun:
    """Run ``plan`` on the deployment ``config`` in ``folder`` (emptied first); see the module notes.

    ``store_url``: the drill's store, an empty database (default a SQLite file in ``folder``).

    Raises
    ------
    SourceError
        Mosquitto is not installed or does not start.
    ConfigError
        The deployment has no sim section or no MQTT feed.
    """
    began = time.perf_counter()
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    settings = load_settings(config)
    world = DemoWorld(settings, folder)
    mqtt_series = [s for s in world.sensors if s.kind == MQTT_KIND]
    world.sensors = [s for s in world.sensors if s.kind != MQTT_KIND]
    (folder / "foreign").mkdir()
    official, foreign = FeedServer(world.feed_dir), FeedServer(folder / "foreign", host="127.0.0.2")
    official.foreign = foreign.url
    broker = Broker(folder / "broker")
    broker.start()
    stalls: list[str] = []
    notes: list[str] = []
    injected: list[str] = []
    try:
        with world, official, foreign:
            urls = {**world.urls, "official": official.url}
            drill = load_settings(drill_config(config, settings, folder, urls, broker_port=broker.port,
                                               store_url=store_url))
            feed = _mqtt_feed(drill)
            devices = Devices(mqtt_series, port=broker.port, topic_prefix=feed.topic.removesuffix("/+"),
                              timezone=drill.deployment.timezone, max_payload_bytes=feed.max_payload_bytes,
                              since=plan.start)
            clock_file = folder / "clock"
            clock = SimClock(plan.start)
            write_clock(clock_file, plan.start)
            store_file = None if store_url else folder / "store" / "warn.db"
            store = Store.connect(drill.store.url, now=clock)
            store.upgrade()
            # drill_config refused a deployment without a command section
            setup = load_setup(drill.command, drill.deployment.district_code, hazards.names_zh())  # type: ignore[arg-type]
            staff = DemoStaff(store, setup.roster, drill.deployment.district_code)
            service = Services([ServiceProcess(folder / "config.yaml", clock_file, folder, demo_secrets(drill),
                                               name=f"service-{i}" if plan.standbys else "service")
                                for i in range(1 + plan.standbys)], _leader_pid(store, drill.deployment.district_code))
            targets = Targets(service, store, store_file, broker, world.receiver, devices, official)
            service.start()
            try:
                _steps(plan, clock, clock_file, world, devices, staff, store, targets, injected, (stalls, notes))
            finally:
                code = service.stop()
                store.close()
            if code not in (0, None):
                stalls.append(f"warn run exited {code} on SIGTERM (see {', '.join(map(str, service.logs))})")
            # the receiver and the stand-in gateways are two servers: a path is named with the server it is on
            paths = {name: _server_of(spec.target, world) + urlsplit(spec.target).path
                     for name, spec in drill.channels.items() if spec.target.startswith("http")}
            sent = [{**record, "path": GATEWAYS + record["path"]} for record in world.gateways.records()]
            outcome = read_outcome(drill.store.url, folder, mqtt_sensors=[s.sensor_id for s in mqtt_series],
                                   received=world.receiver.records() + sent, foreign=list(foreign.requests),
                                   paths=paths)
    finally:
        broker.stop()
    return DrillRun(outcome, time.perf_counter() - began, injected, stalls, notes, service.starts, service.kills,
                    service.exits)


def _leader_pid(store: Store, name: str) -> Callable[[], int | None]:
    """The process id of the holder of the lease ``name`` in ``store``, read when called."""

    def pid() -> int | None:
        lease = store.leases.get(name)
        return None if lease is None else holder_pid(lease.holder)

    return pid


#: What names a path on the stand-in gateways (beside the webhook receiver's paths).
GATEWAYS = "gateways:"


def _server_of(target: str, world: DemoWorld) -> str:
    """``GATEWAYS`` for a target on the stand-in gateways, nothing for one on the webhook receiver."""
    return GATEWAYS if target.startswith(world.gateways.root) else ""


def _mqtt_feed(drill):
    feeds = [spec for spec in (drill.sensors.feeds.values() if drill.sensors else ()) if spec.kind == "mqtt"]
    if not feeds:
        raise ConfigError(Problem("config.yaml", "sensors.feeds", "an MQTT feed for the drill's devices", "none"))
    return feeds[0]


def _steps(plan: Plan, clock: SimClock, clock_file: Path, world: DemoWorld, devices: Devices, staff: DemoStaff,
           store: Store, targets: Targets, injected: list[str], problems: tuple[list[str], list[str]]) -> None:
    """Step the clock from the plan's start through its drain (see the module notes); ``problems``: (stalls, notes)."""
    stalls, notes = problems
    active: list[Fault] = []
    moment = plan.start
    while moment <= plan.end + plan.drain:
        clock.set(moment)
        write_clock(clock_file, moment)
        for fault in [f for f in active if moment >= f.at + f.steps * STEP or moment > plan.end]:
            INJECTORS[fault.kind].end(targets, fault)
            active.remove(fault)
        for fault in (f for f in plan.faults if f.at == moment):
            INJECTORS[fault.kind].begin(targets, fault)
            injected.append(fault.describe())
            active.append(fault)
        world.advance(moment)
        devices.send(moment)
        _act(staff, moment, notes)
        if floor_time(moment, EVERY) == moment:
            _await_cycle(store, moment, targets, active, stalls)
        time.sleep(SETTLE_S)
        moment += STEP
    _await_through(store, devices, moment - STEP)


def _await_through(store: Store, devices: Devices, moment: datetime) -> None:
    """Hold the last step until nothing due at ``moment`` is left in the outbox and every reading the devices
    sent is stored, :data:`END_WAIT_S` at most (what is left then is for the invariants to name)."""
    deadline = time.monotonic() + END_WAIT_S
    while time.monotonic() < deadline:
        due = [row for row in store.outbox.rows() if str(row.status) in ("queued", "sending") and row.next_attempt_at <= moment]
        stored = sum(len(store.readings(sensor)) for sensor in devices.sensors)
        if not due and stored >= len(devices.readings):
            return
        time.sleep(0.2)


def _act(staff: DemoStaff, moment: datetime, problems: list[str]) -> None:
    """The staff act at ``moment``; a store they cannot write now is a problem noted, and they act next step."""
    try:
        staff.act(moment)
    except Exception as err:  # noqa: BLE001 (a StoreError, or the driver's "database is locked" the store lets through)
        problems.append(f"{moment:%m-%d %H:%M}Z staff could not act: {str(err).splitlines()[0][:160]}")


def _await_cycle(store: Store, moment: datetime, targets: Targets, active: list[Fault], problems: list[str]) -> None:
    """Wait until the service has done the cycle at ``moment``; heal the faults after :data:`CYCLE_WAIT_S` (and, while
    a leader killed to stay down is being replaced, the lease's time a standby waits before it takes over)."""
    takeover = TAKEOVER_S if any(f.kind == "leader_kill" for f in active) else 0.0
    for attempt in range(2):
        deadline = time.monotonic() + CYCLE_WAIT_S + takeover
        while time.monotonic() < deadline:
            targets.service.ensure_running()
            try:
                row = store.cycles.get(moment)
            except Exception:  # noqa: BLE001 (the store locked by a fault: asked again in 0.1 s)
                row = None
            if row is not None and row.status == "done":
                return
            time.sleep(0.1)
        if attempt == 0:
            problems.append(f"{moment:%m-%d %H:%M}Z cycle not done within {CYCLE_WAIT_S + takeover:.0f} s under "
                            f"{', '.join(f.kind for f in active) or 'no fault'}: faults healed")
            for fault in list(active):
                INJECTORS[fault.kind].end(targets, fault)
                active.remove(fault)
    problems.append(f"{moment:%m-%d %H:%M}Z cycle not done even after the faults were healed")
