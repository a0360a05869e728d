"""The end of a drill drains the outbox (issue 15: the demo's last all-clears were left queued and the summary
did not say so): rounds on the simulated clock until nothing is owed or the deadline, and the summary counts
what is left undelivered per channel with its reason. A real receiver on 127.0.0.1, a real store."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console

from warn.broadcast.channels import build_channels
from warn.broadcast.outbox import Dispatcher
from warn.cli.summary import print_summary
from warn.config import ChannelSpec
from warn.cycle.replay import drain
from warn.reports.summary import summary
from warn.sim.clock import SimClock
from warn.sim.receiver import WebhookReceiver
from warn.store import Store
from warn.store.outbox import NewMessage

T0 = datetime(2026, 7, 15, 12, tzinfo=UTC)


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[WebhookReceiver]:
    with WebhookReceiver(log=tmp_path / "received.jsonl") as running:
        yield running


def closed_port() -> int:
    """A local port nothing listens on (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def dispatcher(store: Store, clock: SimClock, receiver: WebhookReceiver) -> Dispatcher:
    """One webhook to the receiver at one message a minute, one to a closed port given up after 3 attempts."""
    specs = {"platform": ChannelSpec(kind="webhook", target=f"{receiver.url}/cap", rate_per_minute=1),
             "dead": ChannelSpec(kind="webhook", target=f"http://127.0.0.1:{closed_port()}/cap", timeout=1,
                                 max_attempts=3, backoff=timedelta(seconds=2))}
    return Dispatcher(store, build_channels(specs, env={}, now=clock), clock=clock)


def queue(store: Store, channel: str, n: int) -> None:
    for i in range(n):
        store.outbox.enqueue(NewMessage(channel=channel, recipient="cap", payload=f"<alert>{i}</alert>".encode(),
                                        content_type="application/cap+xml", idempotency_key=f"{channel}/{i}"))


@pytest.fixture
def clock() -> SimClock:
    return SimClock(T0)


@pytest.fixture
def store(tmp_path: Path, clock: SimClock) -> Iterator[Store]:
    with Store.connect(f"sqlite:///{tmp_path / 'warn.sqlite'}", now=clock) as opened:
        opened.upgrade()
        yield opened


def test_drain_delivers_what_a_rate_limit_held_back_and_gives_up_on_a_dead_channel(store, clock, receiver) -> None:
    queue(store, "platform", 4)
    queue(store, "dead", 1)
    outbox = dispatcher(store, clock, receiver)
    assert outbox.dispatch_once(T0).sent == 1  # what the demo did before: three left queued, unsaid

    report = drain(outbox.dispatch_once, clock)

    assert report.next_due is None and report.sent == 3 and report.failed == 1
    assert T0 + timedelta(minutes=3) <= clock() < T0 + timedelta(minutes=4)
    assert len(receiver.records()) == 4
    left = summary(store, clock())["outbox"]
    assert left["sent"] == 4
    assert [(e["channel"], e["status"], e["count"]) for e in left["undelivered"]] == [("dead", "failed", 1)]
    assert left["undelivered"][0]["reason"].startswith("第 3 次 / attempt 3")
    out = Console(record=True, width=200)
    print_summary(out, summary(store, clock()) | {"drill": {"from": "a", "to": "b", "cycles": 0, "seconds": 0,
                                                            "folder": "f", "received": 4}})
    printed = out.export_text()
    assert "外发 outbox: 已送达 delivered 4，未送达 undelivered 1" in printed
    assert "· dead 失败 failed ×1：第 3 次 / attempt 3" in printed


def test_drain_stops_at_its_deadline_and_the_summary_counts_what_is_still_owed(store, clock, receiver) -> None:
    queue(store, "platform", 5)
    outbox = dispatcher(store, clock, receiver)

    report = drain(outbox.dispatch_once, clock, within=timedelta(minutes=2))

    assert report.sent == 3 and report.next_due is not None and clock() == T0 + timedelta(minutes=2)
    left = summary(store, clock())["outbox"]
    assert left == {"sent": 3, "undelivered": [{"channel": "platform", "status": "queued",
                                                "reason": "尚未尝试发送 / never tried", "count": 2}]}
