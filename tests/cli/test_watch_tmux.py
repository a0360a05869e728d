"""``warn watch`` and ``warn status`` in a real 80-column terminal (tmux): redrawn in place, Ctrl-C, CJK alignment."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid

import pytest
from rich.cells import cell_len

from tests.conftest import SCENARIO_END
from tests.conftest import ROOT

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")]


#: Printed by the shell once the command has finished.
DONE = "__status_done__"


def _tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], check=True, capture_output=True, text=True).stdout


def _session(command: str, name: str) -> None:
    _tmux("new-session", "-d", "-s", name, "-x", "80", "-y", "40", command)


def _capture(name: str) -> list[str]:
    return _tmux("capture-pane", "-p", "-t", name).rstrip("\n").split("\n")


def _warn(replayed, command: str, *extra: str) -> str:
    return " ".join([sys.executable, "-m", "warn", command, "--config", str(ROOT / "config.yaml"), "--store",
                     str(replayed), "--at", SCENARIO_END, *extra])


def _wait_for(name: str, text: str, timeout: float = 15.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = _capture(name)
        if any(text in line for line in lines):
            return lines
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never appeared:\n" + "\n".join(_capture(name)))


def test_watch_redraws_in_place_and_stops_on_ctrl_c(replayed, tmp_path):
    name = f"warn-watch-{uuid.uuid4().hex[:8]}"
    rc = tmp_path / "rc"
    _session(f"{_warn(replayed, 'watch', '--interval', '1')}; echo rc=$? > {rc}; sleep 30", name)
    try:
        first = _wait_for(name, "生效预警")
        time.sleep(2.5)  # two refreshes or more
        second = _capture(name)
        assert sum("生效预警" in line for line in second) == 1  # redrawn in place, not scrolled
        assert len([l for l in second if l.strip()]) == len([l for l in first if l.strip()])
        _tmux("send-keys", "-t", name, "C-c")
        deadline = time.monotonic() + 10
        while not rc.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert rc.read_text().strip() == "rc=0"
        screen = _capture(name)
        assert any("已停止值守" in line for line in screen)
        assert not any("Traceback" in line or "KeyboardInterrupt" in line for line in screen)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True, check=False)


def test_status_at_80_columns_lines_up(replayed):
    name = f"warn-status-{uuid.uuid4().hex[:8]}"
    _session(f"{_warn(replayed, 'status')}; echo {DONE}; sleep 30", name)
    try:
        lines = _wait_for(name, DONE)
        tables: list[list[str]] = []
        for line in (line.rstrip() for line in lines if line[:1] in "┏┃┡│└"):
            if line.startswith("┏") or not tables:
                tables.append([])
            tables[-1].append(line)
        assert tables, lines
        assert all(cell_len(line) <= 80 for line in lines)
        for table in tables:
            assert len({cell_len(line) for line in table}) == 1, table  # every row as wide as its border
            for border in ("┃", "│"):
                columns = {tuple(cell_len(line[:i]) for i, ch in enumerate(line) if ch == border)
                           for line in table if line.startswith(border)}
                assert len(columns) <= 1, table  # the column rules fall in the same cells on every row
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True, check=False)
