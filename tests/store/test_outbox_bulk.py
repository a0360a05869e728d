"""Queueing many outbox rows in one transaction (:meth:`warn.store.outbox.OutboxTable.enqueue_many`) leaves the
rows queueing them one by one leaves: same order, same fields, a key already there or repeated untouched."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from warn.store import Store
from warn.store.outbox import NewMessage
from warn.vocab import CapStatus

NOW = datetime(2026, 7, 15, 2, tzinfo=UTC)


@pytest.fixture
def stores(store_url: str, tmp_path) -> Iterator[tuple[Store, Store]]:
    """A migrated store at ``store_url`` and one in a second SQLite file, on a fixed clock."""
    with (Store.connect(store_url, now=lambda: NOW) as bulk,
          Store.connect(f"sqlite:///{tmp_path / 'one.sqlite'}", now=lambda: NOW) as single):
        bulk.upgrade()
        single.upgrade()
        yield bulk, single


def message(i: int, key: str | None = None) -> NewMessage:
    return NewMessage(channel=f"ch{i % 3}", recipient=f"r{i % 5}", payload=f"第{i}条".encode(),
                      content_type="text/plain", idempotency_key=key or f"k{i}", public=i % 2 == 0,
                      cap_status=CapStatus.EXERCISE)


def fields(store: Store) -> list[tuple]:
    """The rows in id order (PostgreSQL's ids skip the values a conflicting insert drew)."""
    return [(r.message, r.status, r.attempts, r.next_attempt_at, r.created_at) for r in store.outbox.rows()]


def test_enqueue_many_equals_one_by_one(stores: tuple[Store, Store]) -> None:
    bulk, single = stores
    first = [message(i) for i in range(7)]
    second = [message(7), message(3), message(8), message(99, key="k8"), message(9)]
    assert bulk.outbox.enqueue_many(first) == 7
    assert bulk.outbox.enqueue_many(second) == 3
    created = [single.outbox.enqueue(m)[1] for m in (*first, *second)]
    assert created.count(True) == 10
    assert fields(bulk) == fields(single)
    assert bulk.outbox.enqueue_many([]) == 0
