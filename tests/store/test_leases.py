"""The lease that elects one leading ``warn run`` per deployment, on SQLite and on PostgreSQL itself."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta

import pytest

from warn.config import LeaseSpec
from warn.leadership import Leadership, dead_here
from warn.store import Store

T0 = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
TTL = timedelta(seconds=30)


@pytest.fixture
def store(store_url: str):
    opened = Store.connect(store_url)
    opened.upgrade()
    yield opened
    opened.close()


def test_the_first_asker_leads_renews_and_nobody_else_takes_it_before_it_runs_out(store: Store):
    first = store.leases.hold("500112", "a", now=T0, ttl=TTL)
    assert first is not None and (first.term, first.acquired_at, first.expires_at) == (1, T0, T0 + TTL)
    assert store.leases.hold("500112", "b", now=T0 + timedelta(seconds=29), ttl=TTL) is None
    renewed = store.leases.hold("500112", "a", now=T0 + timedelta(seconds=10), ttl=TTL)
    assert renewed is not None and (renewed.term, renewed.acquired_at) == (1, T0)
    assert renewed.expires_at == T0 + timedelta(seconds=40)
    assert store.leases.hold("500112", "b", now=T0 + timedelta(seconds=39), ttl=TTL) is None
    assert store.leases.hold("500113", "b", now=T0, ttl=TTL) is not None  # another deployment, another lease


def test_a_lease_run_out_is_taken_in_a_new_term_and_the_old_holder_is_refused(store: Store):
    store.leases.hold("500112", "a", now=T0, ttl=TTL)
    taken = store.leases.hold("500112", "b", now=T0 + TTL, ttl=TTL)
    assert taken is not None and (taken.holder, taken.term, taken.acquired_at) == ("b", 2, T0 + TTL)
    assert store.leases.hold("500112", "a", now=T0 + TTL + timedelta(seconds=1), ttl=TTL) is None
    assert store.leases.get("500112") == taken


def test_a_released_lease_is_taken_at_once(store: Store):
    store.leases.hold("500112", "a", now=T0, ttl=TTL)
    store.leases.release("500112", "b", now=T0 + timedelta(seconds=1))  # not b's to give up
    assert store.leases.hold("500112", "b", now=T0 + timedelta(seconds=2), ttl=TTL) is None
    store.leases.release("500112", "a", now=T0 + timedelta(seconds=3))
    taken = store.leases.hold("500112", "b", now=T0 + timedelta(seconds=3), ttl=TTL)
    assert taken is not None and taken.term == 2


def test_askers_racing_for_a_lease_run_out_elect_exactly_one(store_url: str, store: Store):
    store.leases.hold("500112", "old", now=T0, ttl=TTL)
    askers = [Store.connect(store_url) for _ in range(8)]
    won: list[str] = []
    ready = threading.Barrier(len(askers))

    def ask(i: int) -> None:
        ready.wait()
        if askers[i].leases.hold("500112", f"p{i}", now=T0 + TTL, ttl=TTL) is not None:
            won.append(f"p{i}")

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(askers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for asker in askers:
        asker.close()
    lease = store.leases.get("500112")
    assert len(won) == 1 and lease is not None and lease.holder == won[0] and lease.term == 2


class Clock:
    """A wall clock the test moves."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def test_leadership_stands_by_takes_over_and_says_each_change_once(store: Store):
    spec = LeaseSpec(ttl=TTL, renew=timedelta(seconds=10))
    clock, changes = Clock(), []
    leader = Leadership(store.leases, "500112", spec, holder="a", clock=clock)
    standby = Leadership(store.leases, "500112", spec, holder="b", clock=clock, on_change=changes.append)
    assert leader.renew() and not standby.renew() and changes == [False]  # it says it stands by
    clock.now += timedelta(seconds=10)
    assert leader.renew() and not standby.renew()
    clock.now += timedelta(seconds=45)  # the leader died: its last renewal ran out at +40 s
    assert not leader.leading()
    assert standby.renew() and standby.lease is not None and standby.lease.term == 2 and changes == [False, True]
    assert not leader.renew() and leader.lease is None  # it came back: the lease is the standby's now
    standby.release()
    assert changes == [False, True, False] and leader.renew()


def test_a_leader_that_cannot_reach_its_store_stops_leading_when_its_lease_runs_out(tmp_path):
    spec = LeaseSpec(ttl=TTL, renew=timedelta(seconds=10))
    clock, changes = Clock(), []
    folder = tmp_path / "store"
    store = Store.connect(f"sqlite:///{folder / 'warn.db'}")
    store.upgrade()
    leader = Leadership(store.leases, "500112", spec, holder="a", clock=clock, on_change=changes.append)
    assert leader.renew() and changes == [True]
    store.close()
    shutil.rmtree(folder)  # the store is gone: every write fails
    clock.now += timedelta(seconds=20)
    assert leader.renew() and changes == [True]  # still within its lease
    clock.now += timedelta(seconds=10)
    assert not leader.renew() and changes == [True, False]


def test_a_lease_held_by_a_dead_process_of_this_host_is_taken_at_once_and_a_live_ones_is_not(store: Store):
    spec = LeaseSpec(ttl=TTL, renew=timedelta(seconds=10))
    child = subprocess.Popen([sys.executable, "-c", "pass"])  # a process that ran here and is gone
    child.wait(30)
    gone = f"{socket.gethostname()}:{child.pid}:dead0000"
    elsewhere = f"another-host:{os.getpid()}:alive000"
    store.leases.hold("500112", elsewhere, now=T0, ttl=TTL)
    assert not dead_here(elsewhere)
    clock = Clock()
    restarted = Leadership(store.leases, "500112", spec, holder="restarted", clock=clock)
    assert not restarted.renew()  # another host's holder is waited out
    store.leases.release("500112", elsewhere, now=T0)
    store.leases.hold("500112", gone, now=T0, ttl=TTL)
    assert dead_here(gone)
    assert restarted.renew() and restarted.lease is not None and restarted.lease.term == 3  # at once, a new term
