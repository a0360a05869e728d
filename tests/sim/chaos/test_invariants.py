"""The chaos drill's invariants on hand-made outcomes: each names what broke, and holds when nothing did."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from warn.sim.chaos.invariants import Outcome, delivered_once_in_order, nothing_duplicated, redelivered, same_outcome

AT = datetime(2026, 7, 15, 3, tzinfo=timezone.utc)


def outcome(**changes) -> Outcome:
    """Two messages of one thread sent on the webhook ``cap`` and the keyless robot ``duty_dingtalk``, received once."""
    base = Outcome(
        store="sqlite:///x", folder=Path("x"), warnings=[("T1", "landslide", "DEMO-T01", 2, "active", 2)], incidents=[],
        mode=("peacetime", 0), tasks=["task-1"], requests=["req-1"],
        timeline=[("k1", "cycle", AT, "周期"), ("k2", "notice", AT, "数据告警")],
        messages={"id-1": ("T1", 1), "id-2": ("T1", 2)},
        outbox=[("id-1/cap", "cap", "sent", ""), ("id-2/cap", "cap", "sent", ""),
                ("id-1/duty_dingtalk", "duty_dingtalk", "sent", ""), ("id-2/duty_dingtalk", "duty_dingtalk", "sent", "")],
        readings={"RS-1": 12},
        received=[{"key": "id-1/cap", "path": "/cap"}, {"key": "", "path": "/dingtalk"},
                  {"key": "id-2/cap", "path": "/cap"}, {"key": "", "path": "/dingtalk"}],
        foreign=[], paths={"cap": "/cap", "duty_dingtalk": "/dingtalk"})
    return replace(base, **changes)


def test_a_clean_outcome_holds_every_invariant() -> None:
    clean = outcome()
    assert delivered_once_in_order(clean) == [] and nothing_duplicated(clean) == []
    assert same_outcome(clean, outcome()) == [] and redelivered(clean) == 0


def test_a_retry_with_the_same_key_is_counted_not_a_second_delivery_but_a_keyless_repeat_is() -> None:
    received = outcome().received
    retried = outcome(received=[*received, {"key": "id-1/cap", "path": "/cap"}])
    assert delivered_once_in_order(retried) == [] and redelivered(retried) == 1
    doubled = outcome(received=[*received, {"key": "", "path": "/dingtalk"}])
    assert delivered_once_in_order(doubled) == [
        "channel duty_dingtalk (no idempotency key): 2 messages sent, 3 received"]


def test_undelivered_and_out_of_order_messages_are_named() -> None:
    queued = outcome(outbox=[*outcome().outbox[:1], ("id-2/cap", "cap", "pending", "503 Service Unavailable")])
    assert delivered_once_in_order(queued)[0] == "outbox id-2/cap (cap) not delivered: pending 503 Service Unavailable"
    swapped = outcome(received=[{"key": "id-2/cap", "path": "/cap"}, {"key": "id-1/cap", "path": "/cap"},
                                *outcome().received[1::2]])
    assert delivered_once_in_order(swapped) == ["thread T1 on cap: messages arrived in order [2, 1], made in [1, 2]"]


def test_duplicated_tasks_and_timeline_entries_are_named() -> None:
    twice = outcome(tasks=["task-1", "task-1"], timeline=[*outcome().timeline, ("k3", "notice", AT, "数据告警")])
    assert nothing_duplicated(twice) == ["task task-1 recorded 2 times",
                                         "timeline entry notice at 07-15 03:00:00Z '数据告警' recorded 2 times"]


def test_a_different_final_state_is_named_against_the_fault_free_run() -> None:
    other = outcome(warnings=[("T1", "landslide", "DEMO-T01", 3, "active", 3)], mode=("wartime", 3),
                    readings={"RS-1": 11})
    assert same_outcome(other, outcome()) == [
        "warnings: extra ('T1', 'landslide', 'DEMO-T01', 3, 'active', 3)",
        "warnings: missing ('T1', 'landslide', 'DEMO-T01', 2, 'active', 2)",
        "mode ('wartime', 3) where the fault-free run ends in ('peacetime', 0)",
        "sensor RS-1: 11 readings, fault-free 12"]
