"""``warn serve`` as a real process: it listens, answers, stops on SIGTERM; without its secret it does not start,
but for a drill's store, which it serves on the drill's clock with a throwaway secret."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest
import yaml
from typer.testing import CliRunner

from tests.conftest import ROOT, committed_data
from tests.web.serving import ENV
from warn.cli.main import app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_health(process: subprocess.Popen, port: int) -> httpx.Response:
    """``GET /health`` once the process listens on ``port`` (within a minute)."""
    deadline = time.monotonic() + 60
    while True:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
        except httpx.TransportError:
            assert process.poll() is None and time.monotonic() < deadline, process.stdout and process.stdout.read()
            time.sleep(0.2)


def test_serve_without_the_link_secret_exits_2_naming_it(committed_config):
    env = {key: value for key, value in os.environ.items() if key != "WARN_LINK_SECRET"}
    result = CliRunner().invoke(app, ["serve", "--config", str(committed_config)], env={**env, "NO_COLOR": "1"})
    assert result.exit_code == 2
    assert "WARN_LINK_SECRET" in result.output


@pytest.mark.slow
def test_serve_listens_refuses_a_forged_link_and_stops_on_sigterm(committed_config):
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "warn", "serve", "--config", str(committed_config),
                                "--port", str(port)], env={**os.environ, **ENV}, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        assert wait_for_health(process, port).text == "ok"
        refused = httpx.get(f"http://127.0.0.1:{port}/a/abc.def", timeout=5)
        assert refused.status_code == 403 and "链接无效" in refused.text
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert "abc.def" not in output  # no request line in the log


@pytest.mark.slow
def test_warn_run_serves_beside_its_jobs_when_serve_is_enabled(tmp_path):
    data = committed_data(tmp_path)
    port = free_port()
    data["serve"] = {"enabled": True, "port": port}
    data["sensors"] = {"catalogue": data["sensors"]["catalogue"]}  # no feeds, no channel secrets: only the service
    data.pop("official", None)
    data["channels"] = {"cap_drop": {"kind": "filedrop", "target": str(tmp_path / "cap-drop"), "public": True}}
    data.pop("reach")  # no channel to persons here
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    process = subprocess.Popen([sys.executable, "-m", "warn", "run", "--config", str(config), "--status", "exercise",
                                "--clock-start", "2026-07-15T05:05Z"], env={**os.environ, **ENV},
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        health = wait_for_health(process, port)
        assert health.text == "ok"
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert f"serving on http://127.0.0.1:{port}" in output


@pytest.mark.slow
def test_a_drills_store_is_served_without_a_secret_on_the_drills_clock_at_the_moment_asked(early, tmp_path):
    db = shutil.copy(early, tmp_path / "warn.db")
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key != "WARN_LINK_SECRET"}
    process = subprocess.Popen([sys.executable, "-m", "warn", "serve", "--config", str(ROOT / "config.yaml"),
                                "--store", str(db), "--port", str(port), "--at", "2026-07-15T04:30Z"],
                               env={**env, "NO_COLOR": "1"}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    try:
        assert wait_for_health(process, port).text == "ok"
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert "throwaway secret" in output
    assert "clock 2026-07-15T05:00Z; showing 2026-07-15T04:30Z" in output  # the replay's last cycle; --at
