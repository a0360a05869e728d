"""The live service ``warn run`` end to end: real processes, a real HTTP forecast feed, a real webhook.

The demo storm is served hour by hour (one run a hour, named by its issue hour, served by
:class:`~warn.sim.feedserver.FeedServer`), and the service runs on a clock started at a fixed
instant (``--clock-start``, five minutes into the storm's busiest hour), so that the cycle it
runs at start — ``--every PT1H`` — is that hour's, whatever the wall clock says. The ten hours
before it are run in-process first (the same :class:`~warn.service.Service`, on a clock fixed
at the start of that hour), so the store the service starts from has soil water, levels and
open warning threads.
"""

from __future__ import annotations

import shutil
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml

from tests.helpers import wait_for
from tests.conftest import ROOT, committed_data
from warn.vocab import CapStatus
from warn.config import load_settings
from warn.service import open_service
from warn.sim.clock import SimClock
from warn.sim.feedserver import FeedServer
from warn.sim.receiver import WebhookReceiver
from warn.store import Store

DEMO = ROOT / "demo" / "forecast" / "yubei-demo-analogue_2026071500.nc"
SENDER = "warn@yubei.example"
HOUR = timedelta(hours=1)
#: The demo storm's busiest cycle (hour 10 of tests/cycle/test_warning_cycle.py's: 12 crossings, 12 messages, 47
#: actions, tasks and 叫应 requests); the service's cycle now is that one, the hours before it are seeded.
BUSY = 10
#: That cycle's time: the demo run's own hour 10, and what the service's clock reads when it starts.
AT = datetime(2026, 7, 15, BUSY, tzinfo=timezone.utc)
CLOCK_START = AT + timedelta(minutes=5)
STARTUP_TIMEOUT = 120.0

pytestmark = pytest.mark.slow


def storm_run(demo: xr.Dataset, issued: datetime, offset: int) -> xr.Dataset:
    """The demo run as if issued at ``issued``, ``offset`` hours into the storm: the storm's hours
    from ``offset`` on, then dry hours, 24 hourly steps ending ``issued`` + 1 h … + 24 h."""
    base = np.datetime64(issued.replace(tzinfo=None), "ns")
    times = base + np.arange(1, demo.sizes["time"] + 1) * np.timedelta64(1, "h")
    rain = demo["rain"].values
    shifted = np.concatenate([rain[offset:], np.zeros_like(rain[:offset])])
    out = demo.assign_coords(time=times)
    out["rain"] = (demo["rain"].dims, shifted, demo["rain"].attrs)
    out["time_bnds"] = (demo["time_bnds"].dims, np.stack([times - np.timedelta64(1, "h"), times], axis=1),
                        demo["time_bnds"].attrs)
    out["forecast_reference_time"] = ((), base, demo["forecast_reference_time"].attrs)
    for name in ("time", "time_bnds", "forecast_reference_time"):
        out[name].encoding = {"units": "hours since 1970-01-01 00:00:00", "calendar": "standard", "dtype": "int32"}
    return out



def storm_feed(folder: Path, at: datetime, first: int, cycles: int) -> Path:
    """``folder/feed`` with the hourly demo runs issued at ``at``, ``at`` + 1 h, … (``cycles`` of them),
    the first ``first`` hours into the storm, named as the committed forecast source names them."""
    feed = folder / "feed"
    feed.mkdir()
    with xr.open_dataset(DEMO) as opened:
        demo = opened.load()
    for n in range(cycles):
        issued = at + n * timedelta(hours=1)
        storm_run(demo, issued, first + n).to_netcdf(feed / f"run_{issued:%Y%m%d%H}.nc")
    return feed

def write_config(tmp_path: Path, feed_url: str, duty_url: str) -> Path:
    """The committed deployment, paths absolute, hourly runs from ``feed_url``, no sensor feeds (the
    catalogue's sensors stay silent: data notices), a duty webhook and a CAP file drop (no channel to persons)."""
    data = committed_data(tmp_path, "seed.sqlite")
    data["sensors"] = {"catalogue": data["sensors"]["catalogue"]}
    del data["official"]  # the demo's bulletins come from the demo world, which this test does not run
    del data["observed"]  # so do its radar frames and rain gauges: the runs alone are scored
    data["sim"]["feed_dir"] = str(tmp_path / "feed")
    data["forecasts"]["demo"].update(url=feed_url + "/run_{issued:%Y%m%d%H}.nc", run_every="PT1H")
    data.pop("reach")  # nobody is reached in person: the duty webhook and the CAP drop stand for the channels
    data["channels"] = {
        "duty": {"kind": "webhook", "target": duty_url + "/duty", "rate_per_minute": 600},
        "cap_drop": {"kind": "filedrop", "target": str(tmp_path / "cap-drop"), "public": True,
                     "rate_per_minute": 600},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def world(tmp_path):
    """(config, seeded store file, the cycle's time ``at``): runs for ``at`` − 10 h … ``at`` on a live feed."""
    at = AT
    feed = tmp_path / "feed"
    feed.mkdir()
    with xr.open_dataset(DEMO) as opened:
        demo = opened.load()
    for offset in range(BUSY + 1):
        issued = at - (BUSY - offset) * HOUR
        storm_run(demo, issued, offset).to_netcdf(feed / f"run_{issued:%Y%m%d%H}.nc")
    with FeedServer(feed) as server, WebhookReceiver() as receiver:
        config = write_config(tmp_path, server.url, receiver.url)
        settings = load_settings(config)
        clock = SimClock(at)
        store = Store.connect(settings.store.url, now=clock)
        service = open_service(settings, store, status=CapStatus.EXERCISE, sender=SENDER, now=clock)
        try:
            seeded = [service.cycle(at - (BUSY - hour) * HOUR) for hour in range(BUSY)]
        finally:
            store.close()
        assert all(not r.repeated for r in seeded) and any(r.crossings for r in seeded[1:])
        yield config, tmp_path / "seed.sqlite", at


def service_process(config: Path, store: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "warn", "run", "--config", str(config), "--store", str(store),
                             "--every", "PT1H", "--status", "exercise", "--sender", SENDER,
                             "--clock-start", CLOCK_START.isoformat()],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def cycle_status(store: Path, at: datetime) -> str | None:
    """The status of the cycle at ``at`` read straight from the SQLite file (``None``: not begun or busy)."""
    stamp = at.astimezone(timezone.utc).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=0.05) as conn:
            row = conn.execute("SELECT status FROM cycles WHERE at = ?", (stamp,)).fetchone()
    except sqlite3.OperationalError:  # locked by a write in progress, or no table yet
        return None
    return row[0] if row else None



def stop(process: subprocess.Popen) -> str:
    """SIGTERM, then the exit must be 0; returns the output."""
    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 0, out
    return out


def run_until_done(config: Path, store: Path, at: datetime) -> str:
    process = service_process(config, store)
    try:
        assert wait_for(lambda: cycle_status(store, at) == "done", STARTUP_TIMEOUT), process
    except BaseException:
        process.kill()
        print(process.communicate()[0])
        raise
    return stop(process)


def final_state(store_file: Path) -> dict[str, list]:
    """What a cycle leaves that must be single: warnings, messages, tasks, 叫应 requests, timeline, outbox.

    No timeline kind is left out: every entry of a cycle, its notices and the planner's actions
    is keyed by the cycle's time, not the wall clock (the service's first tick comes a minute
    after its first cycle, later than these tests stop it).
    """
    queries = {
        "warnings": "SELECT thread_id, level, version, status FROM warnings",
        "messages": "SELECT identifier FROM warning_messages",
        "tasks": "SELECT task_id FROM tasks",
        "ack_requests": "SELECT request_id FROM ack_requests",
        "timeline": "SELECT idempotency_key FROM timeline WHERE idempotency_key IS NOT NULL",
        "outbox": "SELECT idempotency_key FROM outbox",
    }
    with sqlite3.connect(f"file:{store_file}?mode=ro", uri=True) as conn:
        return {name: [tuple(row) for row in conn.execute(query)] for name, query in queries.items()}


def verified(store_file: Path) -> bool:
    store = Store.connect(f"sqlite:///{store_file}")
    try:
        return store.timeline.verify().ok
    finally:
        store.close()


def test_warn_run_runs_the_cycle_of_the_hour_and_stops_cleanly_on_sigterm(world):
    config, seed, at = world
    store = seed.parent / "live.sqlite"
    shutil.copy(seed, store)
    out = run_until_done(config, store, at)
    assert f"预警周期 {at:%Y-%m-%d %H:%M:%S}Z" in out and "crossings" in out, out
    assert cycle_status(store, at) == "done"
    assert verified(store)
    state = final_state(store)
    assert state["messages"] and state["outbox"]  # the busy hour published


def test_sigkill_during_a_cycle_then_restart_equals_an_uninterrupted_run(world):
    config, seed, at = world
    seeded = final_state(seed)
    store = seed.parent / "killed.sqlite"
    killed = False
    for _attempt in range(5):  # kill once the cycle has begun writing, before it is done
        shutil.copy(seed, store)
        process = service_process(config, store)
        began = wait_for(lambda: cycle_status(store, at) is not None, STARTUP_TIMEOUT, every=0.002)
        writing = began and wait_for(lambda: cycle_status(store, at) != "running"
                                     or len(final_state(store)["timeline"]) > len(seeded["timeline"]), 30,
                                     every=0.002)
        if writing and cycle_status(store, at) == "running":
            process.send_signal(signal.SIGKILL)
            process.communicate(timeout=30)
            killed = cycle_status(store, at) == "running"
        else:
            stop(process)
        if killed:
            break
    assert killed, "the cycle was never caught running in 5 attempts"
    run_until_done(config, store, at)

    reference = seed.parent / "reference.sqlite"
    shutil.copy(seed, reference)
    run_until_done(config, reference, at)

    after, expected = final_state(store), final_state(reference)
    for name, rows in expected.items():
        assert len(rows) > len(seeded[name]), name  # the cycle did this kind of work
        assert Counter(after[name]) == Counter(rows), name
        assert len(set(after[name])) == len(after[name]), f"{name}: duplicated rows"
    assert verified(store) and verified(reference)


def test_a_cycle_interrupted_after_scoring_reruns_to_the_same_report(world):
    """The cause the SIGKILL test meets, in-process: a cycle whose scorers had persisted their
    state at ``at`` (soil-water tanks, storage buckets) before the process died must score the
    same items and crossings when it runs again."""
    config, seed, at = world
    settings = load_settings(config)
    clock = SimClock(CLOCK_START)
    store = Store.connect(f"sqlite:///{seed}", now=clock)
    try:
        service = open_service(settings, store, status=CapStatus.EXERCISE, sender=SENDER, now=clock)
        first = service.cycle(at)
        with sqlite3.connect(seed) as conn:  # as if killed before the cycle was closed
            conn.execute("UPDATE cycles SET status = 'running' WHERE status = 'done' AND at = ?",
                         (at.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds"),))
        again = service.cycle(at)
    finally:
        store.close()
    assert first.crossings and not again.repeated
    assert (again.items, again.crossings) == (first.items, first.crossings)
