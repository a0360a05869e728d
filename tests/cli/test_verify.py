"""`warn verify`: exit 0 with count and head hash on an intact timeline, 1 naming the tampered entry, 2 on bad config.

Runs on SQLite (the store in tmp_path) and on PostgreSQL (a fresh schema on the test
server, dropped afterwards; skipped with the reason when the server does not answer).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from sqlalchemy import text
from typer.testing import CliRunner

from warn.cli.main import app
from warn.store import NewEntry, Store

T0 = datetime(2026, 7, 15, tzinfo=timezone.utc)


@pytest.fixture
def config(store_url: str, committed_config: Path) -> Path:
    """The committed deployment with its store at ``store_url`` (SQLite in tmp_path, or a fresh PostgreSQL schema)."""
    data = yaml.safe_load(committed_config.read_text(encoding="utf-8"))
    data["store"]["url"] = store_url
    committed_config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return committed_config


def store_of(config: Path) -> Store:
    """The configured store, migrated, with three entries."""
    store = Store.connect(yaml.safe_load(config.read_text(encoding="utf-8"))["store"]["url"])
    store.upgrade()
    store.timeline.append([NewEntry(T0 + timedelta(minutes=i), "张三", "duty_officer", kind, f"第 {i} 条 / entry {i}")
                           for i, kind in enumerate(("warning.issued", "mode.changed", "task.created"), start=1)])
    return store


def invoke(config: Path):
    return CliRunner().invoke(app, ["verify", "--config", str(config)], env={"NO_COLOR": "1"})


def test_intact_timeline_exits_0_with_count_and_head_hash(config: Path) -> None:
    empty = invoke(config)
    assert empty.exit_code == 0, empty.output
    assert "0 条 entries" in empty.output

    with store_of(config) as store:
        head = store.timeline.verify().head_hash
    result = invoke(config)
    assert result.exit_code == 0, result.output
    assert "timeline intact: 3 条 entries" in result.output
    assert head in result.output


def test_tampered_entry_exits_1_naming_it(config: Path) -> None:
    with store_of(config) as store, store.engine.begin() as conn:
        conn.execute(text("UPDATE timeline SET summary = '已解除 / lifted' WHERE seq = 2"))
    result = invoke(config)
    assert result.exit_code == 1, result.output
    assert "seq 2 (kind mode.changed)" in result.output
    assert "content does not match its hash" in result.output
    assert "1 entries before it verified" in result.output


def test_invalid_config_exits_2(tmp_path: Path) -> None:
    result = invoke(tmp_path / "absent.yaml")
    assert result.exit_code == 2, result.output
    assert "absent.yaml" in result.output


def anchored(config: Path, tmp_path: Path) -> tuple[Path, Path, Store]:
    """The store of ``config`` with three entries, a key made by ``warn anchor keygen`` and a witness
    file holding the signed head (seq 3)."""
    from warn.broadcast.witness import send_anchor
    from warn.config import WitnessSpec
    from warn.store.anchors import load_private, sign_head

    key = tmp_path / "anchor.pem"
    made = CliRunner().invoke(app, ["anchor", "keygen", "--out", str(key)], env={"NO_COLOR": "1"})
    assert made.exit_code == 0, made.output
    store = store_of(config)
    witness = tmp_path / "anchors.jsonl"
    anchor = sign_head(load_private(key), district="500112", store="test", seq=3, head=store.timeline.hashes([3])[3],
                       at=T0 + timedelta(hours=1))
    assert send_anchor(anchor, [WitnessSpec(file=witness)]) == []
    return key, witness, store


def test_deleting_the_last_entry_fails_verify_given_the_anchors(config: Path, tmp_path: Path) -> None:
    """Before: `warn verify` passed a timeline cut short at its end (it still does without anchors, and says so)."""
    key, witness, store = anchored(config, tmp_path)
    with store, store.engine.begin() as conn:
        conn.execute(text("DELETE FROM timeline WHERE seq = 3"))
    unanchored = invoke(config)
    assert unanchored.exit_code == 0 and "no anchors given" in unanchored.output
    result = CliRunner().invoke(app, ["verify", "--config", str(config), "--anchors", str(witness),
                                      "--key", str(key.with_name("anchor.pub.pem"))], env={"NO_COLOR": "1"})
    assert result.exit_code == 1, result.output
    assert "✗ 时间线被截断" in result.output
    assert "timeline truncated: anchor seq 3 at 2026-07-15T01:00:00.000000+00:00 but the store ends at seq 2" in (
        result.output)


def test_anchors_checked_with_the_configured_key_and_printed_as_json(config: Path, tmp_path: Path) -> None:
    import json

    key, witness, store = anchored(config, tmp_path)
    store.close()
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["anchors"] = {"key": str(key), "witness": [{"file": str(witness)}]}
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = CliRunner().invoke(app, ["verify", "--config", str(config), "--anchors", str(witness), "--json"])
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    assert found["ok"] and found["anchors"]["verified"] == 1 and found["anchors"]["last_seq"] == 3
    assert found["chain"]["count"] == 3 and found["failures"] == []


def test_anchors_without_a_key_exit_2(config: Path, tmp_path: Path) -> None:
    witness = tmp_path / "anchors.jsonl"
    witness.write_text("", encoding="utf-8")
    result = CliRunner().invoke(app, ["verify", "--config", str(config), "--anchors", str(witness)])
    assert result.exit_code == 2
    assert "--key: expected the public key the anchors are checked with" in result.output


def test_a_row_edited_outside_the_chain_is_named_with_its_values_cleaned(config: Path) -> None:
    from warn.command.model import ChangeMode, Role
    from warn.vocab import Mode, ResponseLevel

    with store_of(config) as store:
        store.execute_actions([ChangeMode(key="mode/1", at=T0, incident=None, proposal="p1", from_mode=Mode.PEACETIME,
                                          to_mode=Mode.WARTIME, response=ResponseLevel.IV, decided_by="指挥长甲",
                                          role=Role.COMMANDER, reason="红色预警", rule_id="MODE-ORDER", label="令")])
        with store.engine.begin() as conn:
            conn.execute(text("UPDATE mode_changes SET reason = 'x\x1b[2Jy'"))
    result = invoke(config)
    assert result.exit_code == 1, result.output
    assert "row mode_changes:1 of mode_changes was changed outside the timeline" in result.output
    assert "reason: recorded '红色预警', now" in result.output and "\x1b" not in result.output
