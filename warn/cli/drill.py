"""What ``warn demo`` and ``warn replay --demo`` share: the demo world, its channels, its store, the web
service its people answer through, and its people."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from warn.vocab import CapStatus
from warn.config import Settings, drill_settings
from warn.errors import ConfigError, Problem
from warn.service import Service, open_service
from warn.sim.clock import SimClock
from warn.sim.demo import DemoWorld, demo_secrets, town_places
from warn.sim.people import DemoPeople
from warn.store import Store
from warn.web import create_app
from warn.web.server import Background, listen

#: Where a drill's web service listens.
LOCAL = "127.0.0.1"
#: The CAP sender of drills.
SENDER = "warn-demo@yubei.example"
#: What a drill leaves in its folder (removed before a new drill there).
OUTPUTS = ("warn.db", "warn.db-wal", "warn.db-shm", "cap", "feed", "cache", "outbox.jsonl")


@dataclass
class Drill:
    """A running drill: the world, the simulated clock, the store, the service, the web service's address and
    the people."""

    world: DemoWorld
    clock: SimClock
    store: Store
    service: Service
    serve_url: str
    people: DemoPeople

    def step(self, moment: datetime) -> None:
        """Before the jobs of a step: the world publishes, the people act."""
        self.world.advance(moment)
        self.people.act(moment)


@contextmanager
def open_drill(settings: Settings, folder: Path, config: Path) -> Iterator[Drill]:
    """Start the demo world, a fresh drill store in ``folder`` (earlier drill outputs removed), the service and the
    web service on 127.0.0.1 — the gateways' callbacks and the people's links go there — and the people.

    ``config`` is the deployment's file (the web service checks what it would publish against it).
    """
    folder.mkdir(parents=True, exist_ok=True)
    for name in OUTPUTS:
        path = folder / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    world = DemoWorld(settings, folder)
    with world, listen(LOCAL, 0) as listening:
        url = f"http://{LOCAL}:{listening.getsockname()[1]}"
        drill = drill_settings(settings, folder, world.urls)
        drill = drill.model_copy(update={"serve": drill.serve.model_copy(update={"public_url": url})})
        clock = SimClock(world.start)
        store = Store.connect(drill.store.url, now=clock)
        env = demo_secrets(drill)
        web, service = None, None
        try:
            service = open_service(drill, store, status=CapStatus.EXERCISE, sender=SENDER, now=clock, urls=world.urls,
                                   env=env)
            directory = service.reach.directory if service.reach is not None else None
            if directory is None:
                raise ConfigError(Problem("config.yaml", "command.directory / reach",
                                          "the people directory and how persons are reached", "none"))
            app = create_app(drill, store, service.setup, clock=clock, env=env, config=config, lock=service.lock,
                             status=CapStatus.EXERCISE, sender=SENDER, people=directory.person_by)
            web = Background(app, LOCAL, 0, sock=listening, log_level="warning").start()
            world.gateways.callback_base = url
            people = DemoPeople(world.gateways, directory, url, town_places(drill), world.start)
            try:
                yield Drill(world, clock, store, service, url, people)
            finally:
                people.close()
        finally:
            if web is not None:
                web.stop()
            if service is not None:
                service.close()
            store.close()
