"""The chaos drill's faults: what goes wrong, when, drawn from a seed, and the small pieces that do it.

A :class:`Fault` is a kind, the step of simulated time it begins at and how many steps it
lasts. :func:`schedule` draws them from ``random.Random(seed)``, every kind asked for at
least once when there are enough faults. Each kind is an :class:`Injector` registered in
:data:`INJECTORS`: ``begin`` and ``end`` act on the drill's :class:`Targets` (the service
processes, the store, the broker, the receiver, the devices, the official sources'
server). Faults of the store and the broker last wall-clock seconds (``hold_s``), because
the drill holds its clock while it waits for the service, and they end on their own.
"""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from warn.sim.chaos.broker import Broker
from warn.sim.chaos.devices import Devices
from warn.errors import ConfigError, Problem
from warn.sim.chaos.process import Services
from warn.sim.feedserver import FeedServer
from warn.sim.receiver import WebhookReceiver
from warn.store import Store
from warn.store.cycles import CycleStatus


@dataclass(frozen=True)
class Fault:
    """One fault: its kind (a name in :data:`INJECTORS`), the simulated time it begins, how many steps it lasts,
    and for store and broker faults the wall-clock seconds it holds."""

    kind: str
    at: datetime
    steps: int
    hold_s: float

    def describe(self) -> str:
        return f"{self.at:%m-%d %H:%M}Z {self.kind} ({self.steps} steps, {self.hold_s:.0f} s)"


@dataclass
class Targets:
    """What the faults act on: the drill's ``store`` is its own connection; ``store_file`` is its SQLite file
    (``None`` on PostgreSQL)."""

    service: Services
    store: Store
    store_file: Path | None
    broker: Broker
    receiver: WebhookReceiver
    devices: Devices
    official: FeedServer


class Injector(Protocol):
    def begin(self, targets: Targets, fault: Fault) -> None: ...

    def end(self, targets: Targets, fault: Fault) -> None: ...


class Kill:
    """SIGKILL of ``warn run``, restarted at once."""

    def begin(self, targets: Targets, fault: Fault) -> None:
        targets.service.kill()

    def end(self, targets: Targets, fault: Fault) -> None:
        """Nothing to undo: the restart was the end."""


class LeaderKill:
    """SIGKILL of the leading ``warn run`` in the middle of the cycle of the fault's time (once it is running,
    :data:`MID_CYCLE_WAIT_S` at most), never started again: a standby must take over."""

    def begin(self, targets: Targets, fault: Fault) -> None:
        deadline = time.monotonic() + MID_CYCLE_WAIT_S
        while time.monotonic() < deadline:
            row = targets.store.cycles.get(fault.at)
            if row is not None and row.status is CycleStatus.RUNNING:
                break
            time.sleep(0.02)
        targets.service.kill(restart=False)

    def end(self, targets: Targets, fault: Fault) -> None:
        """The process stays down."""


class StoreLocked:
    """The store unavailable to every writer: another process holds its write lock for ``hold_s`` seconds."""

    def begin(self, targets: Targets, fault: Fault) -> None:
        if targets.store_file is None:
            raise ConfigError(Problem("chaos drill", fault.kind, "a SQLite store (the fault holds its file's lock)",
                                      "a PostgreSQL store"))
        conn = sqlite3.connect(targets.store_file, timeout=30, isolation_level=None, check_same_thread=False)
        conn.execute("BEGIN EXCLUSIVE")
        _later(fault.hold_s, lambda: (conn.execute("ROLLBACK"), conn.close()))

    def end(self, targets: Targets, fault: Fault) -> None:
        """Ends on its own after ``hold_s``."""


class StoreLockedAcrossRestart(StoreLocked):
    """The store unavailable while ``warn run`` is killed and has to start again on it."""

    def begin(self, targets: Targets, fault: Fault) -> None:
        super().begin(targets, fault)
        targets.service.kill()


class BrokerRestart:
    """The MQTT broker killed (-9) and started again after ``hold_s`` seconds."""

    def begin(self, targets: Targets, fault: Fault) -> None:
        targets.broker.kill()
        _later(fault.hold_s, targets.broker.start)

    def end(self, targets: Targets, fault: Fault) -> None:
        """Ends on its own after ``hold_s``."""


@dataclass(frozen=True)
class Switch:
    """A misbehaviour switched on while the fault lasts: the attribute ``name`` of the target ``target``
    (a field of :class:`Targets`) set to ``value``, then back to ``off``: the receiver failing, hanging or
    trickling, the devices duplicating or reordering, the official source turning hostile."""

    target: str
    name: str
    value: object
    off: object = None

    def begin(self, targets: Targets, fault: Fault) -> None:
        setattr(getattr(targets, self.target), self.name, self.value)

    def end(self, targets: Targets, fault: Fault) -> None:
        setattr(getattr(targets, self.target), self.name, self.off)


class Poison:
    """A poison MQTT message: nested 5,000 deep, and one over the size limit."""

    def begin(self, targets: Targets, fault: Fault) -> None:
        targets.devices.poison()

    def end(self, targets: Targets, fault: Fault) -> None:
        """Sent once."""


#: Wall seconds :class:`LeaderKill` waits for the cycle it kills the leader in.
MID_CYCLE_WAIT_S = 20.0
#: Every fault kind, by name.
INJECTORS: dict[str, Injector] = {
    "kill": Kill(),
    "leader_kill": LeaderKill(),
    "store_locked": StoreLocked(),
    "store_locked_restart": StoreLockedAcrossRestart(),
    "broker_restart": BrokerRestart(),
    "channel_fail": Switch("receiver", "fault", "fail"),
    "channel_hang": Switch("receiver", "fault", "hang"),
    "channel_trickle": Switch("receiver", "fault", "trickle"),
    "sensor_duplicate": Switch("devices", "duplicate", True, False),
    "sensor_reorder": Switch("devices", "reorder", True, False),
    "mqtt_poison": Poison(),
    "official_huge": Switch("official", "hostile", "huge"),
    "official_trickle": Switch("official", "hostile", "trickle"),
    "official_redirect": Switch("official", "hostile", "redirect"),
    "official_foreign": Switch("official", "hostile", "foreign"),
}
#: The kinds a drill of one ``warn run`` survives (a leader killed to stay down needs a standby).
SOLO_KINDS = tuple(kind for kind in INJECTORS if kind != "leader_kill")
#: The wall-clock hold of store and broker faults (s): drawn in this range.
HOLD_S = (3.0, 8.0)


def schedule(seed: int, start: datetime, end: datetime, step: timedelta, count: int,
             kinds: Sequence[str] = SOLO_KINDS) -> list[Fault]:
    """``count`` faults of ``kinds`` between ``start`` and ``end`` (on the ``step`` grid), from ``random.Random(seed)``.

    Every kind comes at least once when ``count`` ≥ ``len(kinds)``; each lasts 1–3 steps and
    ends before ``end``.

    Raises
    ------
    ValueError
        An unknown kind, or a period too short for a fault (fewer than 4 steps).
    """
    unknown = sorted(set(kinds) - set(INJECTORS))
    if unknown:
        raise ValueError(f"unknown fault kinds {unknown}: expected some of {', '.join(INJECTORS)}")
    steps = int((end - start) / step)
    if steps < 4:
        raise ValueError(f"a chaos drill needs at least 4 steps of {step} between start and end, got {steps}")
    rng = random.Random(seed)
    chosen = rng.sample(list(kinds), len(kinds)) if count >= len(kinds) else []
    chosen += rng.choices(list(kinds), k=count - len(chosen))
    faults = []
    for kind in chosen:
        first = rng.randrange(1, steps - 3)
        faults.append(Fault(kind, start + first * step, rng.randint(1, 3), round(rng.uniform(*HOLD_S), 1)))
    return sorted(faults, key=lambda f: (f.at, f.kind))


def _later(seconds: float, action: Callable[[], object]) -> None:
    timer = threading.Timer(seconds, action)
    timer.daemon = True
    timer.start()
