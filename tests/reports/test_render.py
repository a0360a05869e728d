"""``warn report`` in every format on the replayed demo store; a tampered store says so first."""

from __future__ import annotations

import re
import shutil
import sqlite3
import time

import pytest
from typer.testing import CliRunner

from tests.conftest import ROOT
from tests.conftest import SCENARIO_END
from warn.cli.main import app

#: The waterlogging incident the replayed scenario opens.
INCIDENT = "INC-storm-20260715T0200Z"


def _report(store, out, *args):
    return CliRunner().invoke(app, ["report", INCIDENT, "--store", str(store), "--at", SCENARIO_END, "--out", str(out),
                                    "--config", str(ROOT / "config.yaml"), *args], env={"NO_COLOR": "1"})


@pytest.mark.parametrize("kind", ["initial", "followup", "final"])
@pytest.mark.parametrize("fmt", ["md", "html", pytest.param("pdf", marks=pytest.mark.slow)])
def test_every_kind_renders_in_every_format(replayed, tmp_path, fmt, kind):
    out = tmp_path / f"r.{fmt}"
    started = time.perf_counter()
    result = _report(replayed, out, "--format", fmt, "--kind", kind)
    elapsed = time.perf_counter() - started
    assert result.exit_code == 0, result.output
    assert str(out) in result.output
    data = out.read_bytes()
    print(f"warn report --format {fmt} --kind {kind}: {elapsed:.2f} s, {len(data)} bytes")
    if fmt == "pdf":
        assert data.startswith(b"%PDF")
        return
    text = data.decode("utf-8")
    assert "✓ 时间线校验通过" in text and INCIDENT in text
    if fmt == "html":
        assert "data:image/png;base64," in text and 'id="role"' in text and "@media print" in text
        assert "<link" not in text and "src=\"http" not in text


def test_unknown_incident_exits_1(replayed, tmp_path):
    result = CliRunner().invoke(app, ["report", "INC-none", "--store", str(replayed), "--at", SCENARIO_END,
                                      "--config", str(ROOT / "config.yaml"), "--format", "md",
                                      "--out", str(tmp_path / "x.md")], env={"NO_COLOR": "1"})
    assert result.exit_code == 1
    assert "INC-none" in result.output


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_tampered_store_renders_with_the_failure_first(replayed, tmp_path, fmt):
    copy = tmp_path / "warn.db"
    shutil.copy(replayed, copy)
    with sqlite3.connect(copy) as conn:
        conn.execute("UPDATE timeline SET summary = 'nothing happened' WHERE seq = 7")
    out = tmp_path / f"r.{fmt}"
    result = _report(copy, out, "--format", fmt)
    assert result.exit_code == 0, result.output
    text = out.read_text("utf-8")
    first = text.splitlines()[0] if fmt == "md" else text.split("<body>", 1)[1].strip().splitlines()[0]
    assert "时间线校验失败" in first and "verification failed" in first
    if fmt == "html":
        assert 'class="integrity failed"' in first


def test_out_never_overwrites_a_file_without_force(replayed, tmp_path):
    out = tmp_path / "kept.md"
    out.write_text("the officer's own notes", encoding="utf-8")
    result = _report(replayed, out, "--format", "md")
    assert result.exit_code == 1, result.output
    assert "kept.md" in " ".join(result.output.split()) and "--force" in result.output
    assert out.read_text(encoding="utf-8") == "the officer's own notes"
    result = _report(replayed, out, "--format", "md", "--force")
    assert result.exit_code == 0, result.output
    assert INCIDENT in out.read_text(encoding="utf-8")


#: Text from people and feeds that is markup if passed through.
HOSTILE = '<img src=x onerror="alert(1)"> [点此](http://evil.example) **急** <script>x</script>'


def test_markdown_shows_html_and_markup_from_people_as_text(replayed, tmp_path):
    copy = tmp_path / "warn.db"
    shutil.copy(replayed, copy)
    with sqlite3.connect(copy) as conn:
        conn.execute("UPDATE timeline SET summary = ?", (HOSTILE,))
        conn.execute("UPDATE tasks SET summary = ?", (HOSTILE,))
    out = tmp_path / "r.md"
    result = _report(copy, out, "--format", "md")
    assert result.exit_code == 0, result.output
    text = out.read_text("utf-8")
    assert HOSTILE not in text
    assert re.search(r"(?<!\\)[<>\[\]]", text) is None  # no HTML tag or link left unescaped
    assert r"\<img src=x onerror=" in text
    assert r"\[点此\](http://evil.example) \*\*急\*\*" in text
