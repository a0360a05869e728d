"""Hindcast on the production path: the demo storm replayed on several configurations, compared.

Each configuration is the demo deployment changed in one place and replayed by
:func:`warn.cycle.replay.replay` — the same cycles the live service runs, over the demo world
on 127.0.0.1, a fresh SQLite store each, without the demo's people (nobody answers):

``t`` — truth
    A perfect forecast: the runs are the storm itself (no ``sim.forecast``), no ``observed:``.
    Its levels *now* define the "observed" crossing of every item at every level.
``a`` — forecasts only
    The imperfect runs (``sim.forecast``), no ``observed:`` section.
``b`` — observations + nowcast + forecasts
    The imperfect runs and the ``observed:`` section (rain gauges, radar, nowcast); needs it in
    config.yaml.

:func:`warn.risk.hindcast.score_hindcast` then compares each configuration's first warning
(any lead) with the reference's crossings, per hazard and level.
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from warn.config import Settings, drill_settings
from warn.cycle.replay import replay
from warn.errors import ConfigError, Problem
from warn.risk.hindcast import Histories, HindcastRow, score_hindcast
from warn.service import open_service
from warn.sim.clock import SimClock
from warn.sim.demo import DemoWorld, demo_secrets
from warn.store import Store
from warn.store.levels import NOW
from warn.vocab import CapStatus

#: The configurations, in order, with what each is (zh-CN / English).
CONFIGURATIONS = {
    "t": "完美预报（真值）/ perfect forecast (truth)",
    "a": "仅预报 / forecasts only",
    "b": "观测 + 临近预报 + 预报 / observations + nowcast + forecasts",
}
#: The CAP sender of hindcast replays (status Exercise).
SENDER = "warn-hindcast@yubei.example"


@dataclass(frozen=True)
class Replayed:
    """One configuration's replay: its levels now and its highest level over the leads, by (hazard, item),
    its cycles and wall time (s)."""

    name: str
    now: Histories
    warned: Histories
    cycles: int
    seconds: float


def configuration(settings: Settings, name: str) -> Settings:
    """The demo deployment as configuration ``name`` (one of :data:`CONFIGURATIONS`).

    Raises
    ------
    ConfigError
        An unknown name; ``a`` or ``b`` without ``sim.forecast``; ``b`` without ``observed:``.
    """
    if name not in CONFIGURATIONS or settings.sim is None:
        raise ConfigError(Problem("--configs", name, f"one of {', '.join(CONFIGURATIONS)} with a sim section",
                                  repr(name)))
    if name == "t":
        return settings.model_copy(update={"sim": settings.sim.model_copy(update={"forecast": None}),
                                           "observed": None})
    if settings.sim.forecast is None:
        raise ConfigError(Problem("config.yaml", "sim.forecast", f"how the forecast errs (configuration {name})",
                                  "nothing"))
    if name == "a":
        return settings.model_copy(update={"observed": None})
    if settings.observed is None:
        raise ConfigError(Problem("config.yaml", "observed", "an observed section (configuration b)", "nothing"))
    return settings


def replay_configuration(settings: Settings, name: str, folder: Path, start: datetime, end: datetime, *,
                         every: timedelta, step: timedelta) -> Replayed:
    """Replay configuration ``name`` from ``start`` to ``end`` in ``folder`` (emptied first) and read its levels.

    Returns
    -------
    Replayed
        Levels from the store's ``item_levels`` (every lead of every cycle).
    """
    chosen = configuration(settings, name)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    with DemoWorld(chosen, folder) as world:
        drill = drill_settings(chosen, folder, world.urls)
        clock = SimClock(start)
        with Store.connect(drill.store.url, now=clock) as store:
            with open_service(drill, store, status=CapStatus.EXERCISE, sender=SENDER, now=clock,
                              urls=world.urls, env=demo_secrets(drill)) as service:
                report = replay(service, clock, start, end, every=every, step=step, before=world.advance)
            history = store.levels.history(since=start, until=end, lead=None)
    now: dict[tuple[str, str], list[tuple[datetime, int]]] = defaultdict(list)
    highest: dict[tuple[str, str, datetime], int] = {}
    for at, row in history:
        key = (row.hazard, row.item_id)
        if row.lead == NOW:
            now[key].append((at, row.level))
        highest[(*key, at)] = max(highest.get((*key, at), row.level), row.level)
    warned: dict[tuple[str, str], list[tuple[datetime, int]]] = defaultdict(list)
    for (hazard, item, at), level in highest.items():
        warned[(hazard, item)].append((at, level))
    return Replayed(name, dict(now), dict(warned), len(report.cycles), report.seconds)


def hindcast(settings: Settings, folder: Path, start: datetime, end: datetime, *, names: tuple[str, ...],
             every: timedelta, step: timedelta) -> tuple[list[HindcastRow], list[Replayed]]:
    """Replay the reference ``t`` and every other configuration in ``names``; score each against ``t``.

    Returns
    -------
    tuple
        The rows (configuration, hazard, level) and the replays (``t`` first).
    """
    unknown = [n for n in names if n not in CONFIGURATIONS]
    if unknown:
        raise ConfigError(Problem("--configs", "", f"names from {', '.join(CONFIGURATIONS)}", ", ".join(unknown)))
    order = ["t", *[n for n in CONFIGURATIONS if n in names and n != "t"]]
    replays = [replay_configuration(settings, n, folder / n, start, end, every=every, step=step) for n in order]
    reference = replays[0].now
    rows = [row for r in replays for row in score_hindcast(reference, r.warned, configuration=r.name)]
    return rows, replays
