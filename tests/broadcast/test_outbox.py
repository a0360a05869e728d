"""The outbox: idempotent enqueue, order per recipient, backoff through an outage, rate limits,
a SIGKILL between send and mark, and Exercise/Test kept off public channels.

Deliveries go to :class:`Receiver`, a real local HTTP server that dedupes on the
``Idempotency-Key`` header, can be down (503) until a time on the simulated clock,
and can hold its reply to one key until the test has killed the sender.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from tests.helpers import Hostile, peak_memory
from warn.broadcast.channels import build_channels
from warn.broadcast.outbox import Dispatcher, TokenBucket, backoff
from warn.config import ChannelSpec
from warn.sim.server import LocalServer
from warn.store import Store
from warn.store.outbox import OutboxStatus
from warn.vocab import CapStatus

T0 = datetime(2026, 7, 15, 8, 0, tzinfo=timezone.utc)
ROOT = Path(__file__).resolve().parents[2]


class SimClock:
    """A simulated clock: :meth:`sleep` advances it."""

    def __init__(self, start: datetime) -> None:
        self.at = start
        self.lock = threading.Lock()

    def now(self) -> datetime:
        with self.lock:
            return self.at

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.at += timedelta(seconds=seconds)


@dataclass(frozen=True)
class Arrival:
    """One request the receiver answered: key, path, body, simulated time, status."""

    key: str
    path: str
    body: bytes
    at: datetime
    status: int


class Receiver(LocalServer):
    """A webhook receiver that dedupes on Idempotency-Key, is down (503) until ``down_until``, rejects (400)
    the keys in ``reject`` and holds its reply to ``hold_key`` until ``release`` is set."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self.down_until: datetime | None = None
        self.reject: set[str] = set()
        self.hold_key = ""
        self.held = threading.Event()
        self.release = threading.Event()
        self.log: list[Arrival] = []
        self.taken: dict[str, int] = {}
        self.order: list[Arrival] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.answer(self, self.headers.get("Idempotency-Key", ""), body)

            def log_message(self, *_args: object) -> None:
                pass

        super().__init__(Handler, host="127.0.0.1", port=0)

    def answer(self, handler: BaseHTTPRequestHandler, key: str, body: bytes) -> None:
        now = self.clock()
        status = (400 if key in self.reject else 503 if self.down_until is not None and now < self.down_until
                  else 200)
        with self.lock:
            arrival = Arrival(key, handler.path, body, now, status)
            self.log.append(arrival)
            if status == 200 and key not in self.taken:
                self.order.append(arrival)
            if status == 200:
                self.taken[key] = self.taken.get(key, 0) + 1
        if status == 200 and key == self.hold_key and not self.held.is_set():
            self.held.set()
            self.release.wait(30)
        try:
            handler.send_response(status)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
        except OSError:
            pass

    def keys_of(self, path: str) -> list[str]:
        """Keys taken (first time) at ``path``, in arrival order."""
        return [a.key for a in self.order if a.path == path]


@pytest.fixture
def clock() -> SimClock:
    return SimClock(T0)


@pytest.fixture
def receiver(clock: SimClock) -> Iterator[Receiver]:
    with Receiver(clock.now) as server:
        yield server
        server.release.set()


@pytest.fixture
def store(store_url: str, clock: SimClock) -> Iterator[Store]:
    with Store.connect(store_url, now=clock.now) as s:
        s.upgrade()
        yield s


def hook(root: str, **fields: object) -> ChannelSpec:
    return ChannelSpec(kind="webhook", target=f"{root}/hook/{{recipient}}", **fields)


def dispatcher(store: Store, clock: SimClock, specs: dict[str, ChannelSpec]) -> Dispatcher:
    return Dispatcher(store, build_channels(specs, env={}, now=clock.now), clock=clock.now, sleep=clock.sleep,
                      rng=random.Random(7))


def test_enqueue_is_idempotent_on_the_key(store: Store, clock: SimClock, receiver: Receiver) -> None:
    d = dispatcher(store, clock, {"hook": hook(receiver.root)})
    first, created = d.enqueue("hook", "duty", b'{"n": 1}', "application/json", "warn:thread-1:v1")
    again, created_again = d.enqueue("hook", "duty", b'{"n": 2}', "application/json", "warn:thread-1:v1")
    assert (created, created_again) == (True, False)
    assert again == first and again.message.payload == b'{"n": 1}'
    assert [r.status for r in store.outbox.rows()] == [OutboxStatus.QUEUED]


def test_outage_of_ten_minutes_then_every_message_once_in_order(store: Store, clock: SimClock,
                                                                 receiver: Receiver) -> None:
    receiver.down_until = T0 + timedelta(minutes=10)
    d = dispatcher(store, clock, {"hook": hook(receiver.root, rate_per_minute=6000, burst=50)})
    keys = {town: [f"{town}:m{i}" for i in range(5)] for town in ("longxi", "yuanyang", "huixing")}
    for i in range(5):
        for town, ks in keys.items():
            d.enqueue("hook", town, json.dumps({"i": i}).encode(), "application/json", ks[i])

    report = d.run(until_idle=True)

    assert (report.sent, report.failed, report.next_due) == (15, 0, None)
    assert report.retried > 0 and clock.now() >= T0 + timedelta(minutes=10)
    for town, ks in keys.items():
        assert receiver.keys_of(f"/hook/{town}") == ks
    assert all(n == 1 for n in receiver.taken.values()) and len(receiver.taken) == 15
    refused_keys = {a.key for a in receiver.log if a.status == 503}
    assert refused_keys == {ks[0] for ks in keys.values()}  # while down, only each recipient's first was tried
    assert all(a.at >= T0 + timedelta(minutes=10) for a in receiver.order)
    rows = store.outbox.rows()
    assert {r.status for r in rows} == {OutboxStatus.SENT}
    assert all(r.attempts > 1 for r in rows if r.message.idempotency_key in refused_keys)


def test_backoff_is_full_jitter_below_the_cap() -> None:
    rng = random.Random(1)
    base, cap = timedelta(seconds=2), timedelta(minutes=10)
    delays = [[backoff(k, base, cap, rng) for _ in range(200)] for k in (1, 3, 12)]
    assert all(timedelta(0) <= x < timedelta(seconds=2) for x in delays[0])
    assert all(timedelta(0) <= x < timedelta(seconds=8) for x in delays[1])
    assert all(timedelta(0) <= x < cap for x in delays[2]) and max(delays[2]) > timedelta(minutes=8)


@pytest.mark.slow
def test_burst_of_500_never_exceeds_the_rate_and_drains(store: Store, clock: SimClock, receiver: Receiver) -> None:
    d = dispatcher(store, clock, {"sms": hook(receiver.root, rate_per_minute=120)})
    for i in range(500):
        d.enqueue("sms", f"1380000{i % 50:04d}", f'{{"i": {i}}}'.encode(), "application/json", f"burst:{i}")

    report = d.run(until_idle=True)

    assert report.sent == 500 and len(receiver.taken) == 500 and set(receiver.taken.values()) == {1}
    times = sorted(a.at for a in receiver.order)
    assert all(times[i + 120] - times[i] >= timedelta(minutes=1) for i in range(len(times) - 120))
    assert times[-1] - times[0] < timedelta(minutes=4, seconds=10)  # 500 at 2/s: drained, not stalled
    for n in range(50):
        assert receiver.keys_of(f"/hook/1380000{n:04d}") == [f"burst:{i}" for i in range(n, 500, 50)]


def test_token_bucket_allows_burst_then_the_rate() -> None:
    bucket = TokenBucket(60, 3, T0)
    assert [bucket.take(T0) for _ in range(4)] == [True, True, True, False]
    assert bucket.ready_at(T0) == T0 + timedelta(seconds=1)
    assert bucket.take(T0 + timedelta(seconds=1)) and not bucket.take(T0 + timedelta(seconds=1.5))


def test_exercise_and_test_never_reach_a_public_channel(store: Store, clock: SimClock, receiver: Receiver) -> None:
    d = dispatcher(store, clock, {"public": hook(receiver.root, public=True, burst=10),
                                  "duty": hook(receiver.root, burst=10)})
    for status in CapStatus:
        d.enqueue("public", "residents", b"<alert/>", "application/cap+xml", f"pub:{status.value}", cap_status=status)
        d.enqueue("duty", "office", b"<alert/>", "application/cap+xml", f"duty:{status.value}", cap_status=status)

    report = d.dispatch_once()

    assert (report.sent, report.refused) == (6, 4)
    assert receiver.keys_of("/hook/residents") == ["pub:Actual"]
    assert receiver.keys_of("/hook/office") == [f"duty:{status.value}" for status in CapStatus]
    refused = {r.message.idempotency_key: r.last_error for r in store.outbox.rows()
               if r.status is OutboxStatus.REFUSED}
    assert set(refused) == {f"pub:{status.value}" for status in CapStatus if status is not CapStatus.ACTUAL}
    assert "Exercise" in refused["pub:Exercise"] and "公众渠道" in refused["pub:Exercise"]


def test_spent_attempts_fail_the_head_then_the_next_is_tried(store: Store, clock: SimClock,
                                                             receiver: Receiver) -> None:
    receiver.down_until = T0 + timedelta(days=1)
    d = dispatcher(store, clock, {"hook": hook(receiver.root, max_attempts=3, burst=10)})
    d.enqueue("hook", "a", b"{}", "application/json", "k1")
    d.enqueue("hook", "a", b"{}", "application/json", "k2")

    report = d.run(until_idle=True)

    assert (report.sent, report.failed, report.retried) == (0, 2, 4)
    assert [a.key for a in receiver.log] == ["k1"] * 3 + ["k2"] * 3
    rows = store.outbox.rows()
    assert [(r.status, r.attempts) for r in rows] == [(OutboxStatus.FAILED, 3)] * 2
    assert all("HTTP 503" in r.last_error for r in rows)


def test_a_permanent_refusal_fails_at_once_and_the_next_goes(store: Store, clock: SimClock,
                                                             receiver: Receiver) -> None:
    receiver.reject = {"k1"}
    d = dispatcher(store, clock, {"hook": hook(receiver.root, burst=10)})
    d.enqueue("hook", "a", b"{}", "application/json", "k1")
    d.enqueue("hook", "a", b"{}", "application/json", "k2")

    report = d.dispatch_once()

    assert (report.sent, report.failed, report.retried) == (1, 1, 0)
    rows = store.outbox.rows()
    assert [(r.status, r.attempts) for r in rows] == [(OutboxStatus.FAILED, 1), (OutboxStatus.SENT, 1)]
    assert "HTTP 400" in rows[0].last_error


def test_public_flag_of_the_row_still_refuses_after_the_config_changes(store: Store, clock: SimClock,
                                                                        receiver: Receiver) -> None:
    public = dispatcher(store, clock, {"sms": hook(receiver.root, public=True)})
    public.enqueue("sms", "13800000000", b"{}", "application/json", "drill:1", cap_status=CapStatus.EXERCISE)
    relaxed = dispatcher(store, clock, {"sms": hook(receiver.root, public=False)})

    assert relaxed.dispatch_once().refused == 1
    assert receiver.log == [] and store.outbox.rows()[0].status is OutboxStatus.REFUSED


def test_a_stale_claim_loses_so_two_dispatchers_never_send_one_row_twice(store: Store, clock: SimClock,
                                                                         receiver: Receiver) -> None:
    specs = {"hook": hook(receiver.root, rate_per_minute=6000, burst=100)}
    d = dispatcher(store, clock, specs)
    for i in range(40):
        d.enqueue("hook", f"town-{i % 4}", b"{}", "application/json", f"race:{i}")
    head = store.outbox.heads(T0)[0]
    assert store.outbox.claim(head, until=T0) and not store.outbox.claim(head, until=T0)
    store.outbox.mark_retry(head.id, T0, "")

    dispatchers = [dispatcher(store, clock, specs) for _ in range(2)]
    threads = [threading.Thread(target=x.run, kwargs={"until_idle": True}) for x in dispatchers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert sorted(a.key for a in receiver.log) == sorted(f"race:{i}" for i in range(40))  # no key twice
    for n in range(4):
        assert receiver.keys_of(f"/hook/town-{n}") == [f"race:{i}" for i in range(n, 40, 4)]


ENTRY = """
import sys
from datetime import datetime
from warn.broadcast.channels import build_channels
from warn.broadcast.outbox import Dispatcher
from warn.config import ChannelSpec
from warn.store import Store

url, target, at = sys.argv[1], sys.argv[2], datetime.fromisoformat(sys.argv[3])
with Store.connect(url, now=lambda: at) as store:
    channels = build_channels({"hook": ChannelSpec(kind="webhook", target=target, rate_per_minute=600, burst=10)},
                              env={})
    report = Dispatcher(store, channels, clock=lambda: at).dispatch_once()
    print(report.sent)
"""


def _dispatch_in_subprocess(url: str, target: str, at: datetime) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", ENTRY, url, target, at.isoformat()], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_sigkill_between_send_and_mark_loses_nothing_and_sends_once(store_url: str, clock: SimClock,
                                                                     receiver: Receiver) -> None:
    url = store_url
    target = f"{receiver.root}/hook/{{recipient}}"
    with Store.connect(url, now=clock.now) as store:
        store.upgrade()
        d = dispatcher(store, clock, {"hook": ChannelSpec(kind="webhook", target=target)})
        for i in range(3):
            d.enqueue("hook", "duty", f'{{"i": {i}}}'.encode(), "application/json", f"crash:{i}")
    receiver.hold_key = "crash:0"

    first = _dispatch_in_subprocess(url, target, T0)
    assert receiver.held.wait(30), first.stderr.read() if first.poll() is not None else "no request in 30 s"
    os.kill(first.pid, signal.SIGKILL)
    first.wait(10)
    receiver.release.set()
    assert first.returncode == -signal.SIGKILL
    with Store.connect(url) as store:
        assert [r.status for r in store.outbox.rows()] == [OutboxStatus.SENDING, OutboxStatus.QUEUED,
                                                          OutboxStatus.QUEUED]

    second = _dispatch_in_subprocess(url, target, T0 + timedelta(minutes=5))
    _, err = second.communicate(timeout=60)
    assert second.returncode == 0, err

    assert [a.key for a in receiver.log] == ["crash:0", "crash:0", "crash:1", "crash:2"]  # resent with the same key
    assert receiver.taken == {"crash:0": 2, "crash:1": 1, "crash:2": 1}
    assert receiver.keys_of("/hook/duty") == ["crash:0", "crash:1", "crash:2"]  # the deduping receiver: once each
    with Store.connect(url) as store:
        rows = store.outbox.rows()
    assert [r.status for r in rows] == [OutboxStatus.SENT] * 3 and rows[0].attempts == 2


def test_a_2_gib_webhook_reply_is_an_uncertain_delivery_failed_once_and_the_queue_goes_on(store: Store,
                                                                                          clock: SimClock) -> None:
    with Hostile() as hostile:
        d = dispatcher(store, clock, {"hook": ChannelSpec(kind="webhook", target=f"{hostile.root}/huge", burst=5)})
        for key in ("huge:1", "huge:2"):
            d.enqueue("hook", "duty", b"{}", "application/json", key)
        with peak_memory() as peak:
            report = d.run(until_idle=True)
        assert hostile.requests == ["POST /huge", "POST /huge"]  # each once: never resent
    assert peak[0] < 16 * 2**20
    assert (report.sent, report.failed, report.retried) == (0, 2, 0)
    rows = store.outbox.rows()
    assert {r.status for r in rows} == {OutboxStatus.FAILED}
    assert all("expected a body of at most 64 KiB" in r.last_error and "delivery uncertain, not resent" in r.last_error
               for r in rows)
