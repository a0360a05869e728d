"""Benchmark: the command step with 10, 100 and 1,000 warning threads raised at once.

The committed deployment (config.yaml: playbooks, roster, directory, channels) on a fresh
store per size: N landslide hazard points go from none to orange in one cycle. Phases, each
timed once per size on the same store, in the order the cycle takes them:

- ``plan``: :func:`warn.command.plan` of the N crossings from the empty state;
- ``execute``: :func:`warn.cycle.command.execute` of its actions (one transaction);
- ``publish``: :func:`warn.cycle.broadcast.publish` of its ``Broadcast`` actions (CAP messages
  recorded, outbox rows queued);
- ``save``: :func:`warn.cycle.command.save_state` of the planner's new state;
- ``tick``: one idle command step a minute later (:func:`warn.cycle.command.advance`: load the
  state, plan nothing new but the clock, execute, publish, save), the step every clock tick takes;
  the first reads the state whole (this process saved it whole), ``tick2``, a minute after, is the
  steady state (the state read by what changed since).

The last lines print, per backend and phase, the time at 1,000 threads over the time at 100 —
the house rule: ratios measured side by side in one run, never absolute targets (issue 20's
target: raising 1,000 threads at most 12× raising 100).

The items are synthetic points ``BENCH-P0000``… spread over the committed towns (the layers do
not hold 1,000 hazard points); their messages place them on their town.

Run: ``python bench/planner.py [--sizes 10 100 1000] [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test]
[--profile PHASE]`` (``--profile plan`` prints cProfile's top functions of that phase at the largest size).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from backends import DEFAULT_PG, postgresql_store, sqlite_store

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from warn import hazards  # noqa: E402
from warn.command import plan  # noqa: E402
from warn.command.loading import load_setup  # noqa: E402
from warn.command.model import Broadcast, LevelCrossing  # noqa: E402
from warn.command.planner import Setup, State  # noqa: E402
from warn.config import Settings, load_settings  # noqa: E402
from warn.cycle.broadcast import publish  # noqa: E402
from warn.cycle.command import advance, execute, save_state  # noqa: E402
from warn.store import Store  # noqa: E402
from warn.vocab import CapStatus, ItemKind, Level, OrgLevel  # noqa: E402

#: 2026-07-15 10:00 Beijing time, inside the demo roster's week.
T0 = datetime(2026, 7, 15, 2, tzinfo=UTC)
SENDER = "warn@yubei.example"
PHASES = ("plan", "execute", "publish", "save", "tick", "tick2")
T = TypeVar("T")


def crossings(n: int, towns: list[str]) -> list[LevelCrossing]:
    """``n`` landslide points raised from none to orange at :data:`T0`, over ``towns`` in turn."""
    return [LevelCrossing("landslide", f"BENCH-P{i:04d}", ItemKind.POINT, towns[i % len(towns)], Level.NONE,
                          Level.ORANGE, T0, ("swi",), {"threatened_people": 10 + i % 90}) for i in range(n)]


def timed(phase: str, out: dict[str, float], fn: Callable[[], T], profile: str | None) -> T:
    """``fn()``, its wall time put in ``out[phase]`` (seconds); profiled when ``phase`` is ``profile``."""
    profiler = cProfile.Profile() if phase == profile else None
    start = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    result = fn()
    if profiler is not None:
        profiler.disable()
    out[phase] = time.perf_counter() - start
    if profiler is not None:
        print(f"--- cProfile of {phase}")
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(35)
    return result


def raise_threads(store: Store, settings: Settings, setup: Setup, n: int, towns: list[str],
                  profile: str | None) -> dict[str, float]:
    """Raise ``n`` threads on ``store`` and take the idle tick after; seconds per phase."""
    out: dict[str, float] = {}
    state, actions = timed("plan", out, lambda: plan(State(), crossings(n, towns), T0, setup=setup), profile)
    timed("execute", out, lambda: execute(store, actions), profile)
    broadcasts = [a for a in actions if isinstance(a, Broadcast)]
    timed("publish", out, lambda: publish(store, settings, broadcasts, status=CapStatus.EXERCISE, sender=SENDER),
          profile)
    timed("save", out, lambda: save_state(store, state), profile)
    for phase, minute in (("tick", 1), ("tick2", 2)):
        timed(phase, out, lambda: advance(store, settings, setup, (), T0 + timedelta(minutes=minute),
                                          status=CapStatus.EXERCISE, sender=SENDER), profile)
    print(f"  n={n:5d}: {len(actions)} actions, {len(broadcasts)} broadcasts, "
          f"{sum(store.outbox.counts().values())} outbox rows; "
          + ", ".join(f"{p} {out[p]:.3f} s" for p in PHASES), flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--pg", default=DEFAULT_PG)
    parser.add_argument("--profile", choices=PHASES, default=None)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    args = parser.parse_args()
    settings = load_settings(ROOT / "config.yaml")
    setup = load_setup(settings.command, settings.deployment.district_code, hazards.names_zh())
    towns = sorted({u.code for u in setup.org.parents if u.level is OrgLevel.TOWN}) or ["DEMO-T05"]
    results: dict[str, dict[int, dict[str, float]]] = {}
    for backend in args.backends:
        results[backend] = {}
        for n in args.sizes:
            profile = args.profile if n == max(args.sizes) else None
            if backend == "sqlite":
                with sqlite_store() as store:
                    print(f"{backend}:", flush=True)
                    results[backend][n] = raise_threads(store, settings, setup, n, towns, profile)
            else:
                with postgresql_store(args.pg) as pg:
                    if pg is None:
                        break
                    print(f"{backend}:", flush=True)
                    results[backend][n] = raise_threads(pg, settings, setup, n, towns, profile)
    print("\nseconds per phase, and the ratio 1000/100 (target: raise ≤ 12×; linear is 10×)")
    for backend, sizes in results.items():
        if 100 not in sizes or 1000 not in sizes:
            continue
        small, large = sizes[100], sizes[1000]
        raised = [sum(s[p] for p in ("plan", "execute", "publish", "save")) for s in (small, large)]
        cells = [f"{p} {small[p]:.2f}→{large[p]:.2f} s ×{large[p] / small[p]:.1f}" for p in PHASES]
        print(f"{backend:10s} raise {raised[0]:.2f}→{raised[1]:.2f} s ×{raised[1] / raised[0]:.1f} | "
              + " | ".join(cells))


if __name__ == "__main__":
    main()
