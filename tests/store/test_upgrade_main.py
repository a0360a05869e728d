"""A store written by main (schema 0007) upgrades in place: every row is kept, the JSON main kept in
``model_states`` is in the new tables, and the cycles continue exactly as main's code continues them.

The store and what main's code made of it are in ``tests/store/data`` (made by
``make_main_store.py`` with the code of main: see its docstring).
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, func, inspect, select, text

from tests.store.data.make_main_store import continuation, outcome
from warn.config import load_settings
from warn.cycle.command import decode, load_state
from warn.command import State
from warn.store import Store, migrate
from warn.store.digests import check_rows
from warn.store.incidents import MESSAGE_KIND
from warn.store.timeline import ROWS_KIND
from warn.store.schema import metadata

DATA = Path(__file__).resolve().parent / "data"
#: The JSON blobs of ``model_states`` that migration 0008 moves into tables.
MOVED = ("command/planner", "cycle/levels", "cycle/notices", "forecast/demo", "official/geohazard",
         "official/met_rainstorm")
_MICROSECOND = timedelta(microseconds=1)


@pytest.fixture(scope="module")
def reference() -> dict:
    return json.loads((DATA / "main_0007.json").read_text(encoding="utf-8"))


def main_store(url: str, tmp_path: Path) -> None:
    """Put the store main wrote at ``url``: the file itself on SQLite, its rows (at schema 0007) on PostgreSQL."""
    raw = tmp_path / "main_0007.sqlite"
    with gzip.open(DATA / "main_0007.sqlite.gz", "rb") as packed, raw.open("wb") as out:
        shutil.copyfileobj(packed, out)
    if url.startswith("sqlite"):
        target = Path(url.removeprefix("sqlite:///"))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(raw, target)
        return
    with Store.connect(url) as store:
        store.upgrade("0007")
        source = create_engine(f"sqlite:///{raw}")
        names = set(inspect(source).get_table_names())
        with source.connect() as src, store.engine.begin() as dst:
            # main's schema had warning_messages → warnings: insert the threads first
            order = sorted(metadata.sorted_tables, key=lambda t: t.name == "warning_messages")
            for table in order:
                if table.name in names:  # the columns main had (later migrations add some)
                    held = {c["name"] for c in inspect(source).get_columns(table.name)}
                    rows = [dict(r) for r in src.execute(select(*[c for c in table.c if c.name in held])).mappings()]
                    if rows:
                        dst.execute(table.insert(), rows)
                    if "id" in table.c and table.c.id.autoincrement is True:
                        dst.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                         f"(SELECT coalesce(max(id), 0) + 1 FROM {table.name}), false)"))
        source.dispose()


#: The hazards main scored when it wrote the store (its river gauges were waterlogging's; they are the river's now).
MAIN_HAZARDS = ("landslide", "waterlogging", "rainstorm", "river")
#: The playbooks added since main (files of playbooks/): not part of what main ran.
NEW_PLAYBOOKS = ("landslide_town.yaml",)
#: Steps added since main to the playbooks main had (the calls down to the community and grid levels).
NEW_STEPS = {"landslide.yaml": ("call_community", "call_grids"), "river.yaml": ("call_community",),
             "flashflood.yaml": ("call_grids",)}
#: The org levels main did not know: escalations to their posts were added since.
NEW_LEVELS = ("community.", "grid.")
#: The channels added since main (the 政务短信 channel to the duty staff and persons, and the person channels).
NEW_CHANNELS = ("duty_sms", "work_notice", "wecom_app", "voice")


#: The shift of main's roster that named one monitor for every point (the people directory names each point's now).
MAIN_MONITOR = """\
- role: monitor
  org: point.*
  person: 演示监测员（各隐患点、积水点）
  from: '2026-07-14T00:00:00+08:00'
  to: '2026-07-28T00:00:00+08:00'
"""


def main_playbooks(settings, folder: Path):
    """``settings`` with the playbooks and the roster main had: the committed playbooks but :data:`NEW_PLAYBOOKS` and
    :data:`NEW_STEPS` and the escalations to :data:`NEW_LEVELS`, copied to ``folder``, and the committed roster with :data:`MAIN_MONITOR` in place of the people
    directory; without the channels added since (:data:`NEW_CHANNELS`); its proposals decided at the desk only."""
    folder.mkdir()
    for path in settings.command.playbooks.glob("*.yaml"):
        if path.name not in NEW_PLAYBOOKS and path.resolve() != settings.command.roster.resolve():
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            for phase, steps in data["phases"].items():
                data["phases"][phase] = [s for s in steps if s["id"] not in NEW_STEPS.get(path.name, ())]
                for step in data["phases"][phase]:
                    step["escalate"] = [p for p in step.get("escalate", []) if not p.startswith(NEW_LEVELS)]
            (folder / path.name).write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    shutil.copytree(settings.command.playbooks / "messages", folder / "messages")  # the words, not a playbook
    roster = folder.parent / "main_roster.yaml"
    roster.write_text(settings.command.roster.read_text(encoding="utf-8") + MAIN_MONITOR, encoding="utf-8")
    channels = {name: spec for name, spec in settings.channels.items() if name not in NEW_CHANNELS}
    return settings.model_copy(update={"channels": channels, "reach": None, "command": settings.command.model_copy(
        update={"playbooks": folder, "roster": roster, "directory": None, "ask_decider": False})})


def test_a_store_written_by_main_upgrades_keeping_every_row_and_continues_identically(
        store_url: str, tmp_path: Path, committed_config: Path, reference: dict) -> None:
    main_store(store_url, tmp_path)
    held = reference["held"]
    with Store.connect(store_url) as store:
        assert store.revision() == "0007"
        store.upgrade()
        assert store.revision() == migrate.head()

        with store.engine.connect() as conn:
            counts = {n: conn.execute(select(func.count()).select_from(text(n))).scalar_one()
                      for n in reference["counts"]}
        assert counts == reference["counts"] | {"model_states": reference["counts"]["model_states"] - len(MOVED)}

        levels = held["cycle/levels"]
        at = datetime.fromisoformat(levels["at"])
        slots = {f"{h}:{k}:{i}": v for (h, k, i), v in store.levels.baseline(at + _MICROSECOND).items()}
        assert slots == levels["after"]
        slots = {f"{h}:{k}:{i}": v for (h, k, i), v in store.levels.baseline(at).items()}
        assert slots == levels["before"]
        for when, side in ((at + _MICROSECOND, "after"), (at, "before")):
            basis = store.levels.basis("landslide", when)
            assert basis is not None
            assert (basis.run_id, dict(basis.floors)) == (levels[f"run_{side}"], json.loads(levels[f"official_{side}"]))
        assert set(store.notices.in_force()) == set(held["cycle/notices"])

        run = store.runs.held("demo")
        kept = held["forecast/demo"]
        assert run is not None
        assert (run.issued_at.isoformat(), run.checksum, run.url, run.path, run.etag, run.last_modified,
                run.fetched_at.isoformat()) == (kept["issued"], kept["checksum"], kept["url"], kept["path"],
                                                kept["etag"], kept["last_modified"], kept["fetched_at"])
        for source in ("geohazard", "met_rainstorm"):
            messages, fetched_at = store.official.held(source)
            kept = held[f"official/{source}"]
            assert fetched_at.isoformat() == kept["fetched_at"]
            assert [(m.identifier, m.sender, m.sent, m.msg_type, m.cap_status, list(m.references), m.hazard, m.level,
                     m.expires, list(m.zones), m.district, m.headline) for m in messages] == [
                (b["identifier"], b["sender"], datetime.fromisoformat(b["sent"]), b["msg_type"], b["status"],
                 b["references"], b["hazard"], b["level"], datetime.fromisoformat(b["expires"]), b["zones"],
                 b["district"], b["headline"]) for b in kept["messages"]]

        assert load_state(store) == decode(State, held["command/planner"])
        assert store.timeline.verify().ok

        # main's deployment: the hazards registered since (山洪) are not part of what main ran
        settings = load_settings(committed_config)
        settings = settings.model_copy(update={"hazards": {name: entry for name, entry in settings.hazards.items()
                                                           if name in MAIN_HAZARDS}})
        settings = main_playbooks(settings, tmp_path / "main_playbooks")
        # main's gauges were waterlogging's items (0 → unknown when their readings stopped); the river hazard's
        # gauges start without a level, so those crossings are not repeated — everything else continues as main's
        gauges = [{**cycle, "crossings": [c for c in cycle["crossings"] if not c.startswith("waterlogging:DEMO-R")]}
                  for cycle in reference["cycles"]]
        assert continuation(settings, store) == gauges
        # today's code also records each CAP message (kind message) with its row on the timeline
        got, kept = outcome(store), reference["outcome"]
        assert {k: v for k, v in got.items() if k != "timeline"} == {k: v for k, v in kept.items() if k != "timeline"}
        fewer = {f"cycle/{old['at']}": len(old["crossings"]) - len(new["crossings"])
                 for old, new in zip(reference["cycles"], gauges, strict=True)}
        assert [r[1:] for r in got["timeline"] if r[1] not in (MESSAGE_KIND, ROWS_KIND)] == [
            _without_crossings(r[1:], fewer.get(r[3], 0)) for r in kept["timeline"]]
        assert store.timeline.verify().ok
        rows = check_rows(store.engine)
        assert rows.problems == [] and rows.uncovered > 0 and rows.checked > 0


def _without_crossings(entry: list[str], fewer: int) -> list[str]:
    """A cycle's timeline entry (kind, summary, key) as it reads with ``fewer`` crossings counted."""
    kind, summary, key = entry
    if not fewer:
        return entry
    n = int(re.search(r"(\d+) crossings", summary).group(1))
    summary = summary.replace(f"等级变化 {n} 次", f"等级变化 {n - fewer} 次").replace(f"{n} crossings", f"{n - fewer} crossings")
    return [kind, summary, key]
