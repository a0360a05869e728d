"""Benchmark: the chaos drill over the whole demo storm — faults injected, invariants held, time vs fault-free.

Runs the demo storm through a real ``warn run`` process (:mod:`warn.sim.chaos`) twice with the
same seed: fault-free, then with ``--faults`` faults drawn from ``random.Random(seed)`` (every
kind at least once: SIGKILL of ``warn run``, the store locked and locked across a restart, the
MQTT broker killed and restarted, channels failing / hanging / trickling, duplicated and
reordered sensor messages, a poison MQTT message, a hostile official source — huge body,
trickle, redirect, a list naming a foreign host). Prints the faults injected, each invariant
(held, or what broke), the service's starts / kills / unexpected exits and the wall time of
both runs with their ratio. Needs the mosquitto binary.

Default period: the demo drill's storm leg, 2026-07-14T22:00Z to 2026-07-15T22:00Z (24 h, a
cycle every 10 min), then 30 min of drain without faults — about 15–25 min in all on a
2-core machine.

Run: ``python bench/chaos.py [--seed 15] [--faults 28] [--from T] [--to T] [--out DIR] [--json]``
"""

from __future__ import annotations

import argparse
import json
import tempfile
from datetime import datetime
from pathlib import Path

from warn.sim.chaos.drill import STEP, Plan, run_drill
from warn.sim.chaos.faults import SOLO_KINDS, schedule
from warn.sim.chaos.invariants import SELF_INVARIANTS, redelivered, same_outcome

ROOT = Path(__file__).resolve().parents[1]
FROM, TO = "2026-07-14T22:00:00+00:00", "2026-07-15T22:00:00+00:00"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--faults", type=int, default=2 * len(SOLO_KINDS))
    parser.add_argument("--from", dest="start", default=FROM)
    parser.add_argument("--to", dest="end", default=TO)
    parser.add_argument("--out", type=Path, default=None, help="folder for both drills (default: a temp dir)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    start, end = datetime.fromisoformat(args.start), datetime.fromisoformat(args.end)
    out = args.out or Path(tempfile.mkdtemp(prefix="warn-chaos-"))
    faults = schedule(args.seed, start, end, STEP, args.faults)
    reference = run_drill(ROOT / "config.yaml", out / "fault-free", Plan(args.seed, start, end))
    chaos = run_drill(ROOT / "config.yaml", out / "chaos", Plan(args.seed, start, end, tuple(faults)))
    checks = {name: check(chaos.outcome) for name, check in SELF_INVARIANTS.items()}
    checks["every_cycle_done"] = chaos.stalls
    checks["same_outcome"] = same_outcome(chaos.outcome, reference.outcome)
    result = {
        "seed": args.seed, "from": start.isoformat(), "to": end.isoformat(), "folder": str(out),
        "faults": chaos.injected, "invariants": checks,
        "fault_free_invariants": {name: check(reference.outcome) for name, check in SELF_INVARIANTS.items()},
        "service": {"starts": chaos.starts, "kills": chaos.kills, "unexpected_exits": chaos.exits},
        "outcome": {"warnings": len(chaos.outcome.warnings), "incidents": len(chaos.outcome.incidents),
                    "mode": chaos.outcome.mode, "messages_received": len(chaos.outcome.received),
                    "redelivered_same_key": redelivered(chaos.outcome)},
        "notes": chaos.notes,
        "seconds": {"fault_free": round(reference.seconds, 1), "chaos": round(chaos.seconds, 1),
                    "ratio": round(chaos.seconds / reference.seconds, 2)},
    }
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1, default=str))
        return
    print(f"chaos drill, seed {args.seed}, {start:%Y-%m-%d %H:%M}Z – {end:%Y-%m-%d %H:%M}Z, folder {out}")
    print(f"faults injected ({len(chaos.injected)}):")
    for line in chaos.injected:
        print(f"  {line}")
    print("invariants:")
    for name, broken in checks.items():
        print(f"  {'held  ' if not broken else 'BROKEN'} {name}" + "".join(f"\n           {b}" for b in broken[:20]))
    print(f"service: {chaos.starts} starts, {chaos.kills} SIGKILLs, {chaos.exits} unexpected exits; "
          f"{result['outcome']}")
    seconds = result["seconds"]
    print(f"wall time: fault-free {seconds['fault_free']} s, chaos {seconds['chaos']} s, ratio {seconds['ratio']}")


if __name__ == "__main__":
    main()
