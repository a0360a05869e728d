"""Make the store written by main (schema 0007) that tests/store/test_upgrade_main.py upgrades.

Run with the code of main (commit a961e0e, the last before migration 0008) first on the path::

    git archive a961e0e | tar -x -C /tmp/main-src
    PYTHONPATH=/tmp/main-src:. .venv/bin/python tests/store/data/make_main_store.py tests/store/data

It writes

- ``main_0007.sqlite.gz``: the store of a demo drill (``warn replay --demo``, every 30 min,
  steps of 10 min) from :data:`START` to :data:`MIDDLE`, as main left it — readings, the
  timeline, warnings, incidents, tasks, the outbox, and the JSON main kept in ``model_states``
  (the cycle's levels and notices, the held forecast run and official messages, the planner);
- ``main_0007.json``: what main's code holds in that store (the decoded JSON, the row counts
  of every table) and how main's code continues from it: the cycles at :data:`CONTINUE`
  (the demo storm's run in hand, as ``tests/test_cycle_run.py`` runs them), each cycle's
  crossings, actions, messages and notices, and the rows they leave.

The continuation (``cycles`` and ``outcome``) follows the models: when a model changes what it
scores, it is made again by today's code from the same upgraded store (the store, ``counts``
and ``held`` stay main's), the timeline without the kinds main did not write. Made again for
issue 16's landslide critical lines (every difference was a landslide level; waterlogging and
rainstorm crossings unchanged).
"""

from __future__ import annotations

import gzip
import io
import json
import shutil
import sqlite3
import sys
import tempfile
from datetime import datetime
from pathlib import Path

import numpy as np
from sqlalchemy import func, inspect, select, text

ROOT = Path(__file__).resolve().parents[3]
START, MIDDLE = datetime.fromisoformat("2026-07-14T21:00+00:00"), datetime.fromisoformat("2026-07-15T06:00+00:00")
#: Hours of the demo storm's runs the continuation runs (cycles at their issue times).
CONTINUE = range(7, 12)
SENDER = "warn@yubei.example"


def outcome(store) -> dict:
    """The rows a continuation leaves that a reader can compare: threads, messages, tasks, outbox, timeline."""
    with store.engine.connect() as conn:
        def rows(sql: str) -> list[list]:
            return [[str(v) for v in r] for r in conn.execute(text(sql))]
        return {
            "warnings": rows("SELECT thread_id, level, status, version FROM warnings ORDER BY thread_id"),
            "messages": rows("SELECT identifier, kind, level FROM warning_messages ORDER BY identifier"),
            "tasks": rows("SELECT task_id, status FROM tasks ORDER BY task_id"),
            "outbox": rows("SELECT idempotency_key, status FROM outbox ORDER BY idempotency_key"),
            "timeline": rows("SELECT seq, kind, summary, idempotency_key FROM timeline ORDER BY seq"),
        }


def continuation(settings, store) -> list[dict]:
    """Run the cycles at :data:`CONTINUE` on ``store``, each with the demo storm's run in hand; what each did."""
    # Run by main's code (to make the fixture) and by today's (the test): import from where each has it.
    try:
        from warn.rainarray import issued_at
        from warn.vocab import CapStatus as Status
    except ImportError:
        from warn.broadcast.cap import Status
        from warn.cycle.rain import issued_at
    from warn.cycle.warning_cycle import run
    from warn.sources.forecast import open_forecast

    storm = open_forecast(ROOT / "demo" / "forecast" / "yubei-demo-analogue_2026071500.nc", source="demo")
    cycles = []
    for hour in CONTINUE:
        run_ = storm.isel(time=slice(hour, hour + 24))
        issued = storm["time"].values[0] + np.timedelta64(hour - 1, "h")
        rain = run_.assign_attrs(issued_at=str(issued.astype("datetime64[s]")) + "Z")
        report = run(settings, store, issued_at(rain), rain=rain, status=Status.EXERCISE, sender=SENDER)
        cycles.append({"at": report.at.isoformat(), "items": report.items, "actions": report.actions,
                       "applied": report.applied, "messages": list(report.messages), "notices": list(report.notices),
                       "crossings": [f"{c.hazard}:{c.item_id}:{int(c.from_level)}->{int(c.to_level)}"
                                     for c in report.crossings]})
    return cycles


def main(out: Path) -> None:
    from warn.cli.drill import open_drill
    from warn.config import load_settings
    from warn.cycle.replay import replay
    from warn.durations import parse_duration
    from warn.store import Store

    settings = load_settings(ROOT / "config.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "drill"
        with open_drill(settings, folder) as drill:
            replay(drill.service, drill.clock, START, MIDDLE, every=parse_duration("PT30M"),
                   step=parse_duration("PT10M"), before=drill.step)
        db = Path(tmp) / "main_0007.sqlite"
        source, target = sqlite3.connect(folder / "warn.db"), sqlite3.connect(db)
        source.backup(target)
        source.close()
        target.execute("PRAGMA journal_mode=DELETE")
        target.close()
        with db.open("rb") as raw, gzip.open(out / "main_0007.sqlite.gz", "wb", compresslevel=9) as packed:
            shutil.copyfileobj(raw, packed)

        store = Store.connect(f"sqlite:///{db}")
        assert store.revision() == "0007", store.revision()
        held: dict[str, dict] = {}
        with store.engine.connect() as conn:
            names = [n for n in inspect(conn).get_table_names() if n != "alembic_version"]
            counts = {n: conn.execute(select(func.count()).select_from(text(n))).scalar_one() for n in names}
            for model, key, blob in conn.execute(text("SELECT model, key, arrays FROM model_states")):
                with np.load(io.BytesIO(blob), allow_pickle=False) as data:
                    if data.files == ["json"]:
                        held[f"{model}/{key}"] = json.loads(data["json"].tobytes().decode("utf-8"))
        cycles = continuation(settings, store)
        reference = {"counts": counts, "held": held, "continue": list(CONTINUE), "cycles": cycles,
                     "outcome": outcome(store)}
        store.close()
    (out / "main_0007.json").write_text(json.dumps(reference, ensure_ascii=False, indent=1, sort_keys=True),
                                        encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
