"""Heartbeats: one row per source, replaced by each beat."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from tests.store.conftest import T0
from warn.store import Beat, Heartbeat, Store


def test_beat_upserts_one_row_per_source(store_url: str) -> None:
    clock = iter([T0, T0 + timedelta(minutes=1), T0 + timedelta(minutes=2)])
    with Store.connect(store_url, now=lambda: next(clock)) as store:
        store.upgrade()
        store.beat("feeds.demo", last_seen=T0, expected=timedelta(minutes=1), stale=False)
        store.beat("cycle", last_seen=None, expected=timedelta(minutes=10), stale=True, detail="从未运行 / never ran")
        store.beat("feeds.demo", last_seen=T0 + timedelta(minutes=1), expected=timedelta(minutes=1), stale=True,
                   detail="超时 / late")
        assert store.heartbeats() == [
            Heartbeat("cycle", None, timedelta(minutes=10), True, "从未运行 / never ran", T0 + timedelta(minutes=1)),
            Heartbeat("feeds.demo", datetime(2026, 7, 15, 0, 1, tzinfo=timezone.utc), timedelta(minutes=1), True,
                      "超时 / late", T0 + timedelta(minutes=2)),
        ]


def test_beat_all_writes_many_sources_at_once_and_replaces_their_beats(store_url: str) -> None:
    clock = iter([T0, T0 + timedelta(minutes=5)])
    with Store.connect(store_url, now=lambda: next(clock)) as store:
        store.upgrade()
        store.beat_all([Beat(f"sensor:S{i}", None, timedelta(minutes=5), True, "从未收到 / never heard")
                        for i in range(3)])
        store.beat_all([Beat("sensor:S1", T0, timedelta(minutes=5), False), Beat("cycle", T0, timedelta(hours=1), False)])
        store.beat_all([])
        assert store.heartbeats() == [
            Heartbeat("cycle", T0, timedelta(hours=1), False, "", T0 + timedelta(minutes=5)),
            Heartbeat("sensor:S0", None, timedelta(minutes=5), True, "从未收到 / never heard", T0),
            Heartbeat("sensor:S1", T0, timedelta(minutes=5), False, "", T0 + timedelta(minutes=5)),
            Heartbeat("sensor:S2", None, timedelta(minutes=5), True, "从未收到 / never heard", T0),
        ]
