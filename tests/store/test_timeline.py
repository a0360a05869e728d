"""Timeline: append-only hash chain, verification against raw-SQL tampering, corrections, concurrent appenders."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from tests.store.conftest import T0
from warn.errors import StoreError
from warn.store import CORRECTION, GENESIS, NewEntry, Store
from warn.store.schema import encode_time
from warn.store.timeline import entry_hash

T1 = datetime(2026, 7, 15, 1, 2, 3, 456789, tzinfo=timezone.utc)


def new(n: int, **changes: object) -> NewEntry:
    """Entry ``n``: occurred ``n`` minutes after :data:`T0`, in incident I1."""
    fields: dict[str, object] = {"occurred_at": T0 + timedelta(minutes=n), "actor": "张三", "role": "duty_officer",
                                 "kind": "warning.issued", "summary": f"第 {n} 条 / entry {n}", "org_unit": "双凤桥街道",
                                 "incident": "I1", "details": {"n": n, "level": 2}}
    fields.update(changes)
    return NewEntry(**fields)  # type: ignore[arg-type]


def filled(store: Store, n: int = 5) -> list:
    return store.timeline.append([new(i) for i in range(1, n + 1)])


def test_append_numbers_stamps_and_chains(store: Store) -> None:
    clocked = Store(store.engine, now=lambda: T1)
    first = clocked.timeline.append([new(1), new(2, refs=(1,))])
    second = clocked.timeline.append([new(3, incident=None)])

    entries = first + second
    assert [e.seq for e in entries] == [1, 2, 3]
    assert all(e.recorded_at == T1 for e in entries)
    assert [e.prev_hash for e in entries] == [GENESIS, entries[0].hash, entries[1].hash]
    assert entries[1].refs == (1,) and entries[0].details == {"n": 1, "level": 2}
    assert store.timeline.entries() == entries


def test_hash_is_sha256_of_the_documented_canonical_form(store: Store) -> None:
    beijing = (T0 + timedelta(minutes=1)).astimezone(timezone(timedelta(hours=8)))
    entry = Store(store.engine, now=lambda: T1).timeline.append([new(1, occurred_at=beijing)])[0]
    canonical = ('{"actor":"张三","details":"{\\"level\\":2,\\"n\\":1}","incident":"I1","key":null,"kind":"warning.issued",'
                 '"occurred_at":"2026-07-15T00:01:00.000000+00:00","org_unit":"双凤桥街道","prev_hash":"' + GENESIS
                 + '","recorded_at":"2026-07-15T01:02:03.456789+00:00","refs":"[]","role":"duty_officer","seq":1,'
                 '"summary":"第 1 条 / entry 1"}')
    assert entry.hash == hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def test_entries_filter_by_incident_and_occurrence_in_seq_order(store: Store) -> None:
    store.timeline.append([new(5), new(1, incident="I2"), new(3)])
    assert [e.seq for e in store.timeline.entries(incident="I1")] == [1, 3]
    assert [e.seq for e in store.timeline.entries(since=T0 + timedelta(minutes=3))] == [1, 3]
    assert [e.seq for e in store.timeline.entries(incident="I2", since=T0)] == [2]


@pytest.mark.parametrize(("bad", "key"), [
    ({"refs": (2,)}, "refs"), ({"refs": (0,)}, "refs"), ({"actor": ""}, "actor"), ({"summary": ""}, "summary"),
    ({"details": {"depth": float("nan")}}, "details"), ({"details": {"at": T0}}, "details"),
])
def test_invalid_entry_is_refused_and_nothing_is_written(store: Store, bad: dict, key: str) -> None:
    with pytest.raises(StoreError, match=rf"timeline\[1\]\.{key}"):
        store.timeline.append([new(1), new(2, **bad)])
    assert store.timeline.entries() == []


def test_naive_time_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="naive"):
        store.timeline.append([new(1, occurred_at=datetime(2026, 7, 15))])


def test_verify_passes_an_untouched_timeline(store: Store) -> None:
    empty = store.timeline.verify()
    assert (empty.ok, empty.count, empty.head_hash, empty.first_bad_seq) == (True, 0, GENESIS, None)
    entries = filled(store)
    result = store.timeline.verify()
    assert (result.ok, result.count, result.head_hash, result.reason) == (True, 5, entries[-1].hash, "")


def _sql(store: Store, *statements: str, **params: object) -> None:
    with store.engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement), params)


def _rehash_summary(store: Store) -> None:
    """Edit entry 3 and recompute its own hash correctly: only the link from entry 4 can tell."""
    old = store.timeline.entries()[2]
    summary = "篡改 / rewritten"
    digest = entry_hash(seq=3, occurred_at=old.occurred_at, recorded_at=old.recorded_at, incident=old.incident,
                        actor=old.actor, role=old.role, org_unit=old.org_unit, kind=old.kind, summary=summary,
                        details='{"level":2,"n":3}', refs="[]", key=old.key, prev_hash=old.prev_hash)
    _sql(store, "UPDATE timeline SET summary = :s, hash = :h WHERE seq = 3", s=summary, h=digest)


def _forge(store: Store) -> None:
    """A row appended after entry 5, linked to it, with a made-up hash."""
    enc = encode_time(store.engine.dialect.name)
    head = store.timeline.entries()[-1].hash
    _sql(store, "INSERT INTO timeline (seq, occurred_at, recorded_at, incident_id, actor, role, org_unit, kind,"
                " summary, details, refs, prev_hash, hash) VALUES (6, :t, :t, 'I1', '李四', 'duty_officer', '',"
                " 'warning.cancelled', '伪造 / forged', '{}', '[]', :p, :h)",
         t=enc(T0 + timedelta(hours=1)), p=head, h="f" * 64)


#: tamper → (how, first bad seq, entries verified before it, words of the reason)
TAMPERS: dict[str, tuple[Callable[[Store], None], int, int, str]] = {
    "summary edited": (lambda s: _sql(s, "UPDATE timeline SET summary = '已撤销 / withdrawn' WHERE seq = 3"),
                       3, 2, "content does not match its hash"),
    "details edited": (lambda s: _sql(s, "UPDATE timeline SET details = :d WHERE seq = 2", d='{"level":4,"n":2}'),
                       2, 1, "content does not match its hash"),
    "actor of the head edited": (lambda s: _sql(s, "UPDATE timeline SET actor = '李四' WHERE seq = 5"),
                                 5, 4, "content does not match its hash"),
    "recorded_at edited": (lambda s: _sql(s, "UPDATE timeline SET recorded_at = :t WHERE seq = 1",
                                          t=encode_time(s.engine.dialect.name)(T0)),
                           1, 0, "content does not match its hash"),
    "middle row deleted": (lambda s: _sql(s, "DELETE FROM timeline WHERE seq = 3"), 4, 2, "entries 3 missing"),
    "first row deleted": (lambda s: _sql(s, "DELETE FROM timeline WHERE seq = 1"), 2, 0, "entries 1 missing"),
    "seqs swapped": (lambda s: _sql(s, "UPDATE timeline SET seq = -1 WHERE seq = 2",
                                    "UPDATE timeline SET seq = 2 WHERE seq = 4",
                                    "UPDATE timeline SET seq = 4 WHERE seq = -1"),
                     2, 1, "content does not match its hash"),
    "forged row inserted": (_forge, 6, 5, "content does not match its hash"),
    "row rewritten with its hash recomputed": (_rehash_summary, 4, 3, "prev_hash does not match the hash of entry 3"),
}


@pytest.mark.parametrize("tamper", list(TAMPERS))
def test_verify_names_the_first_tampered_entry(store: Store, tamper: str) -> None:
    apply, bad_seq, verified, words = TAMPERS[tamper]
    filled(store)
    apply(store)

    result = store.timeline.verify()

    assert not result.ok
    assert (result.first_bad_seq, result.count) == (bad_seq, verified)
    assert words in result.reason
    assert result.head_hash == (store.timeline.entries()[verified - 1].hash if verified else GENESIS)
    assert result.first_bad_kind in ("warning.issued", "warning.cancelled")


def test_correction_is_a_new_entry_referencing_the_old(store: Store) -> None:
    original = filled(store, 3)
    correction = store.timeline.correct(2, actor="王五", role="commander", summary="级别应为黄色 / level should be yellow",
                                        details={"field": "level", "value": 2})

    assert (correction.seq, correction.kind, correction.refs) == (4, CORRECTION, (2,))
    assert correction.incident == "I1" and correction.prev_hash == original[-1].hash
    assert store.timeline.entries()[:3] == original
    assert store.timeline.verify().ok
    with pytest.raises(StoreError, match="timeline.seq"):
        store.timeline.correct(99, actor="王五", role="commander", summary="无此条 / no such entry")


def test_concurrent_appenders_keep_one_chain(store: Store, store_url: str) -> None:
    per_thread = 15
    start = threading.Barrier(2)
    failures: list[Exception] = []

    def appender(name: str) -> None:
        with Store.connect(store_url) as own:
            start.wait()
            try:
                for i in range(per_thread):
                    own.timeline.append([new(i, actor=name)])
            except Exception as err:  # reported by the main thread
                failures.append(err)

    threads = [threading.Thread(target=appender, args=(name,)) for name in ("甲", "乙")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    result = store.timeline.verify()
    assert (result.ok, result.count) == (True, 2 * per_thread)
    entries = store.timeline.entries()
    assert [e.seq for e in entries] == list(range(1, 2 * per_thread + 1))
    for name in ("甲", "乙"):
        assert [e.details["n"] for e in entries if e.actor == name] == list(range(per_thread))


def test_an_entry_whose_key_is_recorded_is_not_appended_again(store: Store) -> None:
    from dataclasses import replace

    first = store.timeline.append([replace(new(1), key="INC-1/landslide@1:H001/notify/a0/timeline"), new(2)])
    again = store.timeline.append([replace(new(1), key="INC-1/landslide@1:H001/notify/a0/timeline"),
                                   replace(new(3), key="k3"), replace(new(3), key="k3")])
    assert again[0] == first[0]  # the replay returns the recorded entry
    assert [e.seq for e in store.timeline.entries()] == [1, 2, 3]  # and a key repeated in a batch is written once
    assert again[1] == again[2] and store.timeline.verify().ok
