"""Benchmark: what observations cost a cycle — (a) forecasts only beside (b) observations + nowcast + forecasts.

The demo storm replayed through its heavy hours (``--from``/``--to``, cycles every 10 min) by the real
service on the demo world (runs, radar frames and gauges over HTTP on 127.0.0.1), once with the committed
deployment (b) and once without its ``observed:`` section (a), side by side in one run. Timed per cycle
(wall, mean over the replay's cycles): the whole cycle; and in (b) its parts — the radar frames
fetched, the analysis (:func:`warn.cycle.observed.observe`), the nowcast
(:func:`warn.risk.nowcast.nowcast`), the composition (:func:`warn.cycle.now.compose`, the nowcast
included), the pass that advances the hazards' state (:func:`warn.cycle.now.advance_state`) — and in
both the scoring of the hazards (:func:`warn.cycle.hazards.score`: with observations a landslide level
judged on its run alone is scored every cycle, as the now and the nowcast move).
Ratios are against (a)'s cycle, measured in the same run (the machine is shared).

Run: ``python bench/observed.py [--from 2026-07-15T03:00Z] [--to 2026-07-15T06:00Z]``.
"""

from __future__ import annotations

import argparse
import functools
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

import warn.cycle.inputs
import warn.cycle.now
import warn.cycle.warning_cycle
import warn.service
from warn.cli.main import app
from warn.sources.radar import RadarSource

ROOT = Path(__file__).resolve().parent.parent
#: The functions timed: (module or class, attribute, label).
PARTS = [(warn.service, "run_cycle", "cycle"), (RadarSource, "frames", "radar frames fetched"),
         (warn.cycle.inputs, "observe", "analysis"),
         (warn.cycle.now, "nowcast", "nowcast"), (warn.cycle.inputs, "compose", "compose (with the nowcast)"),
         (warn.cycle.warning_cycle, "advance_state", "advance the state"),
         (warn.cycle.warning_cycle, "score", "score the hazards")]


def timed(fn: Callable[..., Any], spent: dict[str, list[float]], label: str) -> Callable[..., Any]:
    """``fn`` recording each call's wall time under ``label``."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[label].append(time.perf_counter() - began)
    return wrapper


def replay(folder: Path, observed: bool, period: list[str]) -> dict[str, list[float]]:
    """Replay the demo storm over ``period`` with or without ``observed:``; the wall times of the parts."""
    data = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    if not observed:
        data.pop("observed")
    config = ROOT / f".bench-observed-{'b' if observed else 'a'}.yaml"  # beside config.yaml: its paths hold
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    spent: dict[str, list[float]] = defaultdict(list)
    originals = [(module, name, getattr(module, name)) for module, name, _ in PARTS]
    try:
        for (module, name, label), (_, _, fn) in zip(PARTS, originals, strict=True):
            setattr(module, name, timed(fn, spent, label))
        result = CliRunner().invoke(app, ["replay", "--demo", "--out", str(folder), *period, "--config", str(config)],
                                    env={"NO_COLOR": "1"})
        if result.exit_code != 0:
            raise SystemExit(result.output)
    finally:
        for module, name, fn in originals:
            setattr(module, name, fn)
        config.unlink()
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="start", default="2026-07-15T03:00Z")
    parser.add_argument("--to", dest="end", default="2026-07-15T06:00Z")
    args = parser.parse_args()
    period = ["--from", args.start, "--to", args.end, "--every", "PT10M", "--step", "PT10M"]
    with tempfile.TemporaryDirectory() as tmp:
        runs = {"(a) forecasts only": replay(Path(tmp) / "a", False, period),
                "(b) observations + nowcast + forecasts": replay(Path(tmp) / "b", True, period)}
    a, b = runs["(a) forecasts only"], runs["(b) observations + nowcast + forecasts"]
    reference = _mean(a["cycle"])
    print(f"cycles: {len(a['cycle'])} each; (a) forecasts only, (b) observations + nowcast + forecasts")
    print(f"{'part (mean wall per cycle)':<28} {'(a) s':>8} {'(b) s':>8} {'(b) × (a) cycle':>16}")
    for _, _, label in PARTS:
        print(f"{label:<28} {_mean(a.get(label, [])):>8.3f} {_mean(b.get(label, [])):>8.3f} "
              f"{_mean(b.get(label, [])) / reference:>16.2f}")


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0

if __name__ == "__main__":
    main()
