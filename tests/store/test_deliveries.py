"""store.deliveries: planned with its outbox row, idempotent, receipts, outbox sync, answers, waiting requests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from warn.command.model import AckKind, Assignee, OrgUnit, Post, RequestAck, Role
from warn.store import Store
from warn.store.deliveries import DeliveryStatus, NewDelivery
from warn.store.outbox import NewMessage
from warn.vocab import OrgLevel

T0 = datetime(2026, 7, 20, 2, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path):
    with Store.connect(f"sqlite:///{tmp_path / 'warn.db'}", now=lambda: T0) as s:
        s.upgrade()
        yield s


def _delivery(step: int = 0, channel: str = "work", kind: str = "work_notice", request: str | None = "R1",
              person: str = "演示村社负责人0301") -> tuple[NewDelivery, NewMessage]:
    delivery = NewDelivery(subject=f"{request}/ask", request_id=request, task_id=None, incident_id=None,
                           person=person, post="community.DEMO-T03-C01.community_lead", org_level="community",
                           channel=channel, channel_kind=kind, step=step)
    message = NewMessage(channel=channel, recipient=f"person:{person}", payload=b"{}",
                         content_type="application/vnd.warn.person+json",
                         idempotency_key=f"person/{request}/ask/{person}/{channel}")
    return delivery, message


def test_plan_queues_the_outbox_row_once(store):
    delivery, message = _delivery()
    assert store.deliveries.plan(delivery, message, T0)
    assert not store.deliveries.plan(delivery, message, T0)
    rows = store.deliveries.all()
    assert len(rows) == 1 and rows[0].status is DeliveryStatus.QUEUED
    assert [r.message.idempotency_key for r in store.outbox.heads(T0)] == [message.idempotency_key]


def test_receipt_keeps_the_first_report(store):
    delivery, message = _delivery()
    store.deliveries.plan(delivery, message, T0)
    assert store.deliveries.receipt(message.idempotency_key, delivered=False, at=T0, detail="号码不可达")
    assert not store.deliveries.receipt(message.idempotency_key, delivered=True, at=T0 + timedelta(minutes=1))
    row = store.deliveries.by_key(message.idempotency_key)
    assert row is not None and row.status is DeliveryStatus.FAILED and row.failed_at == T0
    assert row.detail == "号码不可达"
    assert store.deliveries.by_key("nope") is None


def test_sync_takes_over_what_the_outbox_did(store):
    delivery, message = _delivery()
    store.deliveries.plan(delivery, message, T0)
    row = store.outbox.heads(T0)[0]
    assert store.outbox.claim(row, until=T0 + timedelta(minutes=1))
    store.outbox.mark_sent(row.id, T0)
    assert store.deliveries.sync(T0) == 1
    assert store.deliveries.sync(T0) == 0
    assert store.deliveries.all()[0].status is DeliveryStatus.SENT
    other, message2 = _delivery(channel="sms", kind="sms", step=1)
    store.deliveries.plan(other, message2, T0)
    row2 = next(r for r in store.outbox.heads(T0) if r.message.idempotency_key == message2.idempotency_key)
    store.outbox.claim(row2, until=T0 + timedelta(minutes=1))
    store.outbox.mark_failed(row2.id, "gateway refused the number")
    store.deliveries.sync(T0 + timedelta(seconds=5))
    failed = store.deliveries.by_key(message2.idempotency_key)
    assert failed.status is DeliveryStatus.FAILED and "gateway refused" in failed.detail


def _ask(store, request: str) -> None:
    post = Post(OrgUnit(OrgLevel.COMMUNITY, "DEMO-T03-C01"), Role.COMMUNITY_LEAD)
    store.execute_actions([RequestAck(key=f"{request}/ask", at=T0, incident=None, rule_id="ACK-ASK", label="ask",
                                      request=request, ack=AckKind.CALL, to=Assignee(post, "演示村社负责人0301"),
                                      subject="叫应", deadline=T0 + timedelta(minutes=30), chain=())])


def test_waiting_requests_newest_first_until_answered(store):
    _ask(store, "R1")
    _ask(store, "R2")
    for request, minutes in (("R1", 0), ("R2", 5)):
        delivery, message = _delivery(request=request)
        store.deliveries.plan(delivery, message, T0 + timedelta(minutes=minutes))
    assert [r.request_id for r in store.deliveries.waiting_for("演示村社负责人0301")] == ["R2", "R1"]
    pending = store.deliveries.pending_chains(T0 + timedelta(minutes=10), timedelta(hours=12))
    assert {r.subject for r in pending} == {"R1/ask", "R2/ask"}
    assert store.deliveries.answered("R2", "演示村社负责人0301", "work", T0 + timedelta(minutes=7))
    assert not store.deliveries.answered("R2", "演示村社负责人0301", "work", T0 + timedelta(minutes=8))
    pending = store.deliveries.pending_chains(T0 + timedelta(minutes=10), timedelta(hours=12))
    assert {r.subject for r in pending} == {"R1/ask"}
    assert store.deliveries.pending_chains(T0 + timedelta(hours=1), timedelta(hours=12)) == []  # past the deadline
    assert store.deliveries.waiting_for("somebody else") == []
