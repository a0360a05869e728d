"""``warn serve`` as a real process: it listens, answers, stops on SIGTERM; without its secret it does not start."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx
from typer.testing import CliRunner

from tests.web.serving import ENV
from warn.cli.main import app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_without_the_link_secret_exits_2_naming_it(committed_config):
    env = {key: value for key, value in os.environ.items() if key != "WARN_LINK_SECRET"}
    result = CliRunner().invoke(app, ["serve", "--config", str(committed_config)], env={**env, "NO_COLOR": "1"})
    assert result.exit_code == 2
    assert "WARN_LINK_SECRET" in result.output


def test_serve_listens_refuses_a_forged_link_and_stops_on_sigterm(committed_config):
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "warn", "serve", "--config", str(committed_config),
                                "--port", str(port)], env={**os.environ, **ENV}, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline, process.stdout and process.stdout.read()
                time.sleep(0.2)
        assert health.text == "ok"
        refused = httpx.get(f"http://127.0.0.1:{port}/a/abc.def", timeout=5)
        assert refused.status_code == 403 and "链接无效" in refused.text
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert "abc.def" not in output  # no request line in the log
