"""Anchors: the timeline's head signed with a real Ed25519 key file and kept by a file witness, checked
against a real SQLite store — truncation, whole-chain rewrite and forged anchors are named."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.helpers import Hostile
from warn.broadcast.witness import send_anchor
from warn.config import WitnessSpec
from warn.store import NewEntry, Store
from warn.store.anchors import (
    AnchorError,
    check_anchors,
    keygen,
    load_private,
    load_public,
    public_path_of,
    read_anchors,
    sign_head,
)
from warn.store.timeline import GENESIS, entry_hash

T0 = datetime(2026, 7, 15, tzinfo=timezone.utc)


@pytest.fixture
def key(tmp_path: Path) -> Path:
    path = tmp_path / "keys" / "anchor.pem"
    path.parent.mkdir()
    keygen(path)
    return path


@pytest.fixture
def store(tmp_path: Path):
    with Store.connect(f"sqlite:///{tmp_path / 'warn.db'}") as opened:
        opened.upgrade()
        yield opened


def append(store: Store, n: int, start: int = 1) -> None:
    store.timeline.append([NewEntry(T0 + timedelta(minutes=i), "张三", "duty_officer", "note", f"第 {i} 条 / entry {i}")
                           for i in range(start, start + n)])


def anchor_now(store: Store, key: Path, witness: Path) -> dict:
    """Sign the store's head and hand it to a file witness, as a cycle does."""
    seq = store.timeline.last_seq()
    anchor = sign_head(load_private(key), district="500112", store="test", seq=seq,
                       head=store.timeline.hashes([seq])[seq], at=T0 + timedelta(hours=seq))
    assert send_anchor(anchor, [WitnessSpec(file=witness)]) == []
    return anchor


def check(store: Store, key: Path, witness: Path):
    return check_anchors(store.timeline, read_anchors(witness), load_public(public_path_of(key)))


def test_keygen_writes_a_0600_private_key_and_never_overwrites(key: Path) -> None:
    assert key.stat().st_mode & 0o777 == 0o600
    assert public_path_of(key).read_text().startswith("-----BEGIN PUBLIC KEY-----")
    with pytest.raises(AnchorError, match="a path where no file exists yet"):
        keygen(key)


def test_a_private_key_readable_by_others_is_refused(key: Path) -> None:
    os.chmod(key, 0o644)
    with pytest.raises(AnchorError, match=r"mode: expected 0600 .*got 0o644"):
        load_private(key)


def test_intact_anchored_timeline_verifies(store: Store, key: Path, tmp_path: Path) -> None:
    witness = tmp_path / "witness.jsonl"
    append(store, 2)
    anchor_now(store, key, witness)
    append(store, 2, start=3)
    anchor_now(store, key, witness)
    found = check(store, key, witness)
    assert found.ok and (found.anchors, found.verified, found.last_seq, found.store_seq) == (2, 2, 4, 4)


def test_deleting_the_last_entries_is_seen_with_the_anchors(store: Store, key: Path, tmp_path: Path) -> None:
    """Before: the chain of the first entries is valid, so the truncation passed unseen."""
    witness = tmp_path / "witness.jsonl"
    append(store, 3)
    anchor = anchor_now(store, key, witness)
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM timeline WHERE seq = 3"))
    assert store.timeline.verify().ok  # the chain alone cannot tell
    found = check(store, key, witness)
    assert not found.ok
    assert found.problems == [f"时间线被截断：锚定 seq 3（{anchor['at']}），库中仅到 seq 2 / timeline truncated: "
                              f"anchor seq 3 at {anchor['at']} but the store ends at seq 2"]


def rewrite_whole_chain(store: Store) -> None:
    """Edit entry 2's summary and re-hash every entry from seq 1, as someone with the database file could."""
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE timeline SET summary = '无事 / nothing happened' WHERE seq = 2"))
    prev = GENESIS
    for entry in store.timeline.entries():
        digest = entry_hash(seq=entry.seq, occurred_at=entry.occurred_at, recorded_at=entry.recorded_at,
                            incident=entry.incident, actor=entry.actor, role=entry.role, org_unit=entry.org_unit,
                            kind=entry.kind, summary=entry.summary,
                            details=json.dumps(entry.details, sort_keys=True, ensure_ascii=False,
                                               separators=(",", ":")),
                            refs=json.dumps(list(entry.refs), separators=(",", ":")), key=entry.key, prev_hash=prev)
        with store.engine.begin() as conn:
            conn.execute(text("UPDATE timeline SET prev_hash = :p, hash = :h WHERE seq = :s"),
                         {"p": prev, "h": digest, "s": entry.seq})
        prev = digest


def test_a_whole_chain_rewrite_is_seen_with_the_anchors(store: Store, key: Path, tmp_path: Path) -> None:
    """Before: a chain re-hashed from seq 1 verified."""
    witness = tmp_path / "witness.jsonl"
    append(store, 3)
    anchor_now(store, key, witness)
    rewrite_whole_chain(store)
    assert store.timeline.verify().ok  # re-hashed: the chain alone cannot tell
    found = check(store, key, witness)
    assert len(found.problems) == 1
    assert found.problems[0].startswith("时间线被重写：seq 3 的哈希与锚定不符 / timeline rewritten: anchor seq 3 at ")


def test_a_forged_anchor_is_refused(store: Store, key: Path, tmp_path: Path) -> None:
    witness = tmp_path / "witness.jsonl"
    append(store, 3)
    anchor = anchor_now(store, key, witness)
    rewrite_whole_chain(store)
    # the forger writes an anchor of the rewritten head with the real one's signature …
    forged = anchor | {"head": store.timeline.hashes([3])[3]}
    # … or signs it with a key of their own
    other = tmp_path / "other.pem"
    keygen(other)
    own = sign_head(load_private(other), district="500112", store="test", seq=3, head=forged["head"], at=T0)
    witness.write_text(f"{json.dumps(forged)}\n{json.dumps(own)}\nnot json\n", encoding="utf-8")
    found = check(store, key, witness)
    assert found.verified == 0 and len(found.problems) == 3
    assert all(p.startswith("锚定伪造：") and "forged anchor: line" in p for p in found.problems[:2])
    assert found.problems[2].startswith("第 3 行不是锚定记录 / line 3 is not an anchor")


def test_a_witness_file_that_cannot_be_written_is_a_sentence(store: Store, key: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("", encoding="utf-8")
    append(store, 1)
    anchor = sign_head(load_private(key), district="500112", store="test", seq=1,
                       head=store.timeline.hashes([1])[1], at=T0)
    failed = send_anchor(anchor, [WitnessSpec(file=blocker / "anchors.jsonl"), WitnessSpec(file=tmp_path / "ok.jsonl")])
    assert len(failed) == 1 and "did not reach witness" in failed[0] and "Not a directory" in failed[0]
    assert len(read_anchors(tmp_path / "ok.jsonl")) == 1  # the other witness still got it


def test_an_http_witness_trickling_or_redirecting_is_cut_within_its_timeout() -> None:
    """The witness POST is under the network policy: a trickling reply is cut at ``timeout`` in all, a
    redirect elsewhere is not followed."""
    with Hostile(trickle_s=0.5) as hostile, Hostile(host="127.0.0.2") as elsewhere:
        trickle = send_anchor({"seq": 1}, [WitnessSpec(url=f"{hostile.root}/trickle", timeout=1)])
        moved = send_anchor({"seq": 1}, [WitnessSpec(url=f"{hostile.root}/to/{elsewhere.root}/w", timeout=1)])
    assert len(trickle) == 1 and "within 1 s" in trickle[0]
    assert len(moved) == 1 and elsewhere.requests == []
