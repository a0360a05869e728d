"""Benchmark: the big screen on a finished drill — its data routes against ``/health``, its first render and a
pushed change in Debian's chromium against the login page measured side by side.

Serves a copy of ``--store`` (default ``var/demo/warn.db``, written by ``make demo``) with ``warn serve`` on
127.0.0.1, its clock started at ``--at`` (default: the storm's peak, as ``warn demo`` prints it), and measures,
over ``--rounds`` rounds:

- the median wall time of ``GET /api/v1/situation``, ``/map/layers.json`` and ``/api/v1/items/<a red town>``
  with a bearer token, each against ``GET /health`` (the loop-back floor) — ratios;
- the first render of ``/`` (navigation start → the towns drawn, ``window.warnScreen.firstRender``) in a new
  browser context each round (nothing cached), against the load of ``/login`` in its own new context;
- the time from a note posted through the API to the page showing it (pushed by ``/events``), against the
  post's own round trip.

Run: ``python bench/screen.py [--store var/demo/warn.db] [--at 2026-07-15T09:00Z] [--rounds 5]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.web.browsing import launch, sync_api  # noqa: E402
from tests.web.serving import ENV  # noqa: E402
from warn.reports.summary import peak  # noqa: E402
from warn.store import Store  # noqa: E402

DUTY = "演示值班员01"


def timed(client: httpx.Client, path: str) -> float:
    """Seconds of one ``GET path`` (its status checked)."""
    start = time.perf_counter()
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code, response.text[:200])
    return time.perf_counter() - start


def routes(client: httpx.Client, rounds: int, town: str) -> dict[str, list[float]]:
    """The data routes' and ``/health``'s times, interleaved over ``rounds`` (after one warm-up round)."""
    paths = ("/health", "/api/v1/situation", "/map/layers.json", f"/api/v1/items/{town}")
    times: dict[str, list[float]] = {path: [] for path in paths}
    for round_ in range(rounds + 1):
        for path in paths:
            taken = timed(client, path)
            if round_:
                times[path].append(taken)
    return times


def browser(url: str, token: str, rounds: int, folder: Path) -> dict[str, list[float]]:
    """First renders of the screen and loads of the login page (ms), and push delays against posts (s)."""
    out: dict[str, list[float]] = {"first render": [], "login page": [], "pushed": [], "post": []}
    with sync_api.sync_playwright() as playwright:
        chromium = launch(playwright, folder)
        try:
            for round_ in range(rounds):
                login = chromium.new_context(viewport={"width": 1920, "height": 1080})
                page = login.new_page()
                page.goto(f"{url}/login")
                out["login page"].append(page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd"))
                login.close()
                screen = chromium.new_context(viewport={"width": 1920, "height": 1080})
                entered = screen.request.post(f"{url}/login", form={"mode": "drill", "person": DUTY}, max_redirects=0)
                assert entered.status == 303, entered.text()
                page = screen.new_page()
                page.goto(f"{url}/")
                page.wait_for_selector("body[data-ready='1']", timeout=20_000)
                out["first render"].append(page.evaluate("window.warnScreen.firstRender"))
                text = f"bench {round_} {time.time_ns()}"
                start = time.perf_counter()
                posted = httpx.post(f"{url}/api/v1/notes", json={"text": text},
                                    headers={"Authorization": f"Bearer {token}"}, timeout=30)
                out["post"].append(time.perf_counter() - start)
                assert posted.status_code == 200, posted.text
                page.wait_for_function(f"document.querySelector('#timeline').textContent.includes({text!r})",
                                       timeout=10_000)
                out["pushed"].append(time.perf_counter() - start)
                screen.close()
        finally:
            chromium.close()
    return out


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=ROOT / "var" / "demo" / "warn.db")
    parser.add_argument("--at", type=datetime.fromisoformat, default=None)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db = Path(shutil.copy(args.store, folder / "warn.db"))
        with Store.connect(f"sqlite:///{db}") as store:
            store.upgrade()
            at = args.at or datetime.fromisoformat(peak(store.warnings.versions())["at"])
            token = store.tokens.issue(DUTY, by="bench", at=datetime.now(UTC))
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen([sys.executable, "-m", "warn", "serve", "--store", str(db), "--port", str(port),
                                   "--clock-start", at.isoformat(), "--config", str(ROOT / "config.yaml")],
                                  env={**os.environ, **ENV}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            with httpx.Client(base_url=url, timeout=30, headers={"Authorization": f"Bearer {token}"}) as client:
                started = time.monotonic()
                while True:
                    try:
                        client.get("/health")
                        break
                    except httpx.TransportError:
                        assert server.poll() is None and time.monotonic() - started < 60, "warn serve did not start"
                        time.sleep(0.2)
                towns = client.get("/api/v1/situation").json()["towns"]
                red = max(towns, key=lambda t: max(t["levels"].values()))["id"]
                served = routes(client, args.rounds, red)
            shown = browser(url, token, args.rounds, folder)
        finally:
            server.terminate()
            server.wait(timeout=30)
    health = statistics.median(served.pop("/health"))
    print(f"store {args.store} at {at.isoformat()}, {args.rounds} rounds, {os.cpu_count()} cores")
    print(f"{'GET /health (reference)':34s} {health * 1000:7.1f} ms")
    for path, times in served.items():
        median = statistics.median(times)
        print(f"{'GET ' + path:34s} {median * 1000:7.1f} ms  ×{median / health:5.1f} /health")
    first, login = statistics.median(shown["first render"]), statistics.median(shown["login page"])
    print(f"{'first render of / (median)':34s} {first:7.0f} ms  ×{first / login:5.1f} the login page ({login:.0f} ms); "
          f"worst {max(shown['first render']):.0f} ms")
    pushed, post = statistics.median(shown["pushed"]), statistics.median(shown["post"])
    print(f"{'a note on the page after its post':34s} {pushed * 1000:7.0f} ms  ×{pushed / post:5.1f} the post's round "
          f"trip ({post * 1000:.0f} ms); worst {max(shown['pushed']) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
