"""Heartbeats: one row per source, replaced by each beat."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from tests.store.conftest import T0
from warn.store import Heartbeat, Store


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
