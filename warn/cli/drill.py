"""What ``warn demo`` and ``warn replay --demo`` share: the demo world, its channels, its store, its staff."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from warn.vocab import CapStatus
from warn.config import Settings, drill_settings
from warn.service import Service, open_service
from warn.sim.clock import SimClock
from warn.sim.demo import DemoWorld, demo_secrets
from warn.sim.staff import DemoStaff
from warn.store import Store

#: The CAP sender of drills.
SENDER = "warn-demo@yubei.example"
#: What a drill leaves in its folder (removed before a new drill there).
OUTPUTS = ("warn.db", "warn.db-wal", "warn.db-shm", "cap", "feed", "cache", "outbox.jsonl")


@dataclass
class Drill:
    """A running drill: the world, the simulated clock, the store, the service and the staff."""

    world: DemoWorld
    clock: SimClock
    store: Store
    service: Service
    staff: DemoStaff

    def step(self, moment: datetime) -> None:
        """Before the jobs of a step: the world publishes, the people act."""
        self.world.advance(moment)
        self.staff.act(moment)


@contextmanager
def open_drill(settings: Settings, folder: Path) -> Iterator[Drill]:
    """Start the demo world and a fresh drill store in ``folder`` (earlier drill outputs removed)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in OUTPUTS:
        path = folder / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    world = DemoWorld(settings, folder)
    with world:
        drill = drill_settings(settings, folder, world.urls)
        clock = SimClock(world.start)
        store = Store.connect(drill.store.url, now=clock)
        try:
            service = open_service(drill, store, status=CapStatus.EXERCISE, sender=SENDER, now=clock, urls=world.urls,
                                   env=demo_secrets(drill))
            staff = DemoStaff(store, service.setup.roster, drill.deployment.district_code)
            yield Drill(world, clock, store, service, staff)
        finally:
            store.close()
