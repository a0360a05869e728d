"""Live change events over a real server: pushed within 2 s of a change another process makes."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time

import httpx
import pytest

from tests.conftest import ROOT
from tests.web.serving import NOW, Served
from tests.web.looking import DISTRICT
from warn.store import Store
from warn.store.records import NewEntry
from warn.web.events import PING_S

#: How soon a change must reach a page, s.
PUSHED_WITHIN_S = 2.0


def listen(served: Served, events: queue.Queue, stop: threading.Event) -> None:
    """Read ``/events`` as the served client's person and put each (event, data, arrival time) on ``events`` until
    ``stop``."""
    try:
        with httpx.Client(base_url=served.url, timeout=httpx.Timeout(30, read=30),
                          headers=credentials(served)) as client, \
                client.stream("GET", "/events") as response:
            events.put(("status", response.status_code, response.headers["content-type"], time.monotonic()))
            kind = None
            for line in response.iter_lines():
                if line.startswith("event: "):
                    kind = line.removeprefix("event: ")
                elif line.startswith("data: "):
                    events.put((kind, json.loads(line.removeprefix("data: ")), None, time.monotonic()))
                if stop.is_set():
                    return
    except httpx.HTTPError:
        if not stop.is_set():  # the service stopping at the end of the test cuts the stream
            raise


def credentials(served: Served) -> dict[str, str]:
    """The bearer token header of the served client (:func:`tests.web.looking.looking_at`)."""
    return {"Authorization": served.client.headers["Authorization"]}


def listening(served: Served) -> tuple[queue.Queue, threading.Event, dict]:
    """A stream being read on a thread: its events, the event that stops it, and its first change."""
    events: queue.Queue = queue.Queue()
    stop = threading.Event()
    threading.Thread(target=listen, args=(served, events, stop), daemon=True).start()
    assert events.get(timeout=10)[:3] == ("status", 200, "text/event-stream; charset=utf-8")
    kind, first, _, _ = events.get(timeout=10)
    assert kind == "change" and first["at"] == NOW.isoformat()
    return events, stop, first


def test_an_entry_appended_on_another_connection_is_pushed_within_two_seconds(looking) -> None:
    events, stop, first = listening(looking)
    time.sleep(1.2)  # a change in the middle of a poll interval, not right after the stream's first read
    writer = Store.connect(f"sqlite:///{looking.db}", now=lambda: NOW)
    try:
        writer.timeline.append([NewEntry(NOW, DISTRICT, "duty_officer", "note", "测试 / a test entry",
                                         "district.500112")])
        written = time.monotonic()
        kind, data, _, arrived = events.get(timeout=10)
    finally:
        stop.set()
        writer.close()
    print(f"pushed {arrived - written:.2f} s after the entry was appended")
    assert kind == "change" and data["version"] != first["version"]
    assert arrived - written < PUSHED_WITHIN_S


def test_a_note_written_by_the_cli_in_another_process_is_pushed(looking) -> None:
    events, stop, first = listening(looking)
    noted = subprocess.run([sys.executable, "-m", "warn", "note", "电话报告：DEMO-T03 落石", "--as", DISTRICT,
                            "--store", str(looking.db), "--at", NOW.isoformat(), "--config", str(ROOT / "config.yaml")],
                           capture_output=True, text=True, timeout=60, env={"NO_COLOR": "1", "PATH": ""})
    written = time.monotonic()
    assert noted.returncode == 0, noted.stdout + noted.stderr
    kind, data, _, arrived = events.get(timeout=10)
    while kind == "ping":  # the CLI took longer than a ping's interval to start (a loaded machine)
        kind, data, _, arrived = events.get(timeout=10)
    stop.set()
    assert kind == "change" and data["version"] != first["version"]
    assert arrived - written < PUSHED_WITHIN_S  # (it came before the process had even exited: the bound is loose)
    assert looking.client.get("/api/v1/timeline", params={"last": 1}).json()[0]["summary"] == "电话报告：DEMO-T03 落石"


def test_a_client_going_away_leaves_the_service_serving(looking) -> None:
    for _ in range(3):
        with httpx.Client(base_url=looking.url, timeout=10, headers=credentials(looking)) as client, \
                client.stream("GET", "/events") as response:
            assert next(line for line in response.iter_lines() if line.startswith("event: ")) == "event: change"
    started = time.monotonic()
    assert looking.client.get("/health").text == "ok"
    assert looking.client.get("/api/v1/status").status_code == 200
    assert time.monotonic() - started < 2


@pytest.mark.slow
def test_a_quiet_stream_is_pinged(looking) -> None:
    events, stop, _ = listening(looking)
    try:
        kind, _, _, _ = events.get(timeout=PING_S + 3)
    finally:
        stop.set()
    assert kind == "ping"
