"""Text from the store reaches the duty officer's terminal as text: escape sequences and other
control characters in notes, names and reasons are shown as placeholders, never obeyed (issue 15)."""

from __future__ import annotations

import json
import shutil
import sqlite3

import pytest
from typer.testing import CliRunner

from tests.conftest import ROOT, SCENARIO_END
from warn.cli.main import app
from warn.cli.output import clean

#: Clears the screen, retitles the window, rings the bell, a C1 CSI, a rich-markup link.
HOSTILE = "\x1b[2J\x1b]0;pwned\x07\x9b31m[link=http://evil.example]点我[/link]\r假"


def test_clean_replaces_every_control_character_visibly() -> None:
    shown = clean("a\x1b[31mb\x07c\x9bd\x7fe\u202ef\tg")
    assert shown == "a␛[31mb␇c�d␡e�f␉g"
    assert clean("正常文本 ok [bold]") == "正常文本 ok [bold]"


@pytest.fixture(scope="module")
def store(replayed, tmp_path_factory):
    """A copy of the replayed store whose people's and feeds' texts are hostile."""
    copy = tmp_path_factory.mktemp("hostile") / "warn.db"
    shutil.copy(replayed, copy)
    with sqlite3.connect(copy) as db:
        db.execute("UPDATE timeline SET summary = ?, actor = ?", (HOSTILE, HOSTILE))
        db.execute("UPDATE tasks SET summary = ?, due_at = NULL", (HOSTILE,))
        db.execute("UPDATE tasks SET due_at = created_at WHERE status != 'cancelled'")
        db.execute("UPDATE heartbeats SET detail = ?, stale = 1", (HOSTILE,))
        db.execute("UPDATE mode_changes SET decided_by = ? WHERE decided_by IS NOT NULL", (HOSTILE,))
    return copy


@pytest.mark.parametrize("command", ["status", "timeline", "tasks", "feeds", "incidents", "warnings", "zones"])
def test_seeing_commands_show_control_characters_as_placeholders(store, command: str) -> None:
    result = CliRunner().invoke(app, [command, "--config", str(ROOT / "config.yaml"), "--store", str(store),
                                      "--at", SCENARIO_END, "--lang", "en"], env={"NO_COLOR": "1", "COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    assert not any(ord(c) < 32 and c != "\n" or 0x7f <= ord(c) <= 0x9f for c in result.output), repr(result.output)
    if command in ("timeline", "tasks", "feeds", "status"):
        # the markup shown as text, not a link (a narrow column may end it with "…")
        assert "␛[2J" in result.output and "[link=http://evil.exampl" in result.output


@pytest.mark.parametrize("command", ["timeline", "tasks", "feeds"])
def test_json_escapes_control_characters_and_keeps_the_text(store, command: str) -> None:
    result = CliRunner().invoke(app, [command, "--config", str(ROOT / "config.yaml"), "--store", str(store),
                                      "--at", SCENARIO_END, "--json"], env={"NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    assert not any(ord(c) < 32 and c != "\n" or 0x7f <= ord(c) <= 0x9f for c in result.output)
    rows = json.loads(result.stdout)
    assert any(HOSTILE in str(value) for row in rows for value in row.values())  # the data itself is unchanged
