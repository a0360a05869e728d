"""``run_service`` on a started clock: the jobs fire on the wall clock, the cycle runs at the service's time."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from warn.config import LeaseSpec, RetentionSpec, SensorFeedSpec
from warn.service import _handle, run_service
from warn.sim.clock import StartedClock
from warn.sources.payloads import FieldDecoder, decode_payload
from warn.sources.readings import FlaggedReading, Reading, Sensor
from warn.store import Store
from warn.vocab import QCFlag, SensorKind

HOUR = timedelta(hours=1)


class Recorder:
    """The parts of a :class:`~warn.service.Service` that ``run_service`` calls, recording when."""

    def __init__(self, store: Store, lease: LeaseSpec = LeaseSpec(), retention: RetentionSpec | None = None) -> None:
        self.lock = threading.Lock()
        self.cycles: list[datetime] = []
        self.dispatched: list[datetime] = []
        self.closed = threading.Event()
        self.ran = threading.Event()
        self.settings = SimpleNamespace(sensors=None, deployment=SimpleNamespace(district_code="500112", name="test"),
                                        store=SimpleNamespace(lease=lease, outage_channels=[], retention=retention),
                                        local=lambda moment: moment)
        self.sources = SimpleNamespace(ingester=None)
        self.dispatcher = SimpleNamespace(channels={})
        self.store = store
        store.close = self.closed.set  # type: ignore[method-assign]  # the service closes it on stop

    def cycle(self, at: datetime):
        self.cycles.append(at)
        self.ran.set()
        return SimpleNamespace(at=at)

    def dispatch(self, now: datetime) -> None:
        self.dispatched.append(now)

    def close(self) -> None:
        """The sources' HTTP clients: ``run_service`` closes them on stop (before the store)."""
        self.sources.closed = True


@pytest.mark.parametrize("start", [datetime(2026, 7, 15, 10, 5, tzinfo=timezone.utc),  # far behind the wall clock
                                   datetime(2099, 7, 15, 10, 5, tzinfo=timezone.utc)],  # far ahead of it
                         ids=["past", "future"])
def test_the_first_cycle_runs_at_once_in_the_slot_of_the_started_clock(start: datetime, tmp_path) -> None:
    store = Store.connect(f"sqlite:///{tmp_path / 'warn.db'}")
    store.upgrade()
    service, stop = Recorder(store), threading.Event()
    clock = StartedClock(start)
    runner = threading.Thread(target=run_service, args=(service,),
                              kwargs={"every": HOUR, "stop": stop, "now": clock}, daemon=True)
    began = time.monotonic()
    runner.start()
    try:
        assert service.ran.wait(10), "the first cycle did not run"
    finally:
        stop.set()
        runner.join(10)
    assert time.monotonic() - began < 10
    assert service.cycles == [datetime(start.year, 7, 15, 10, tzinfo=timezone.utc)]
    assert service.dispatched and all(start <= t < start + timedelta(minutes=1) for t in service.dispatched)
    assert service.closed.is_set() and service.sources.closed and not runner.is_alive()


def test_a_standby_does_nothing_until_the_leader_stops_then_runs_the_slots_cycle_at_once(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'warn.db'}"
    stores = [Store.connect(url), Store.connect(url)]
    stores[0].upgrade()
    spec = LeaseSpec(ttl=timedelta(seconds=2), renew=timedelta(seconds=1))
    leader, standby = Recorder(stores[0], spec), Recorder(stores[1], spec)
    clock = StartedClock(datetime(2026, 7, 15, 10, 5, tzinfo=timezone.utc))
    stops = [threading.Event(), threading.Event()]
    runners = [threading.Thread(target=run_service, args=(service,), daemon=True,
                                kwargs={"every": HOUR, "stop": stop, "now": clock})
               for service, stop in zip((leader, standby), stops, strict=True)]
    try:
        runners[0].start()
        assert leader.ran.wait(10), "the leader's first cycle did not run"
        runners[1].start()
        time.sleep(2.5)  # the standby has asked for the lease twice or more
        assert standby.cycles == [] and standby.dispatched == []
        stops[0].set()  # a clean stop gives the lease up
        runners[0].join(10)
        assert standby.ran.wait(10), "the standby did not take over"
    finally:
        for stop, runner in zip(stops, runners, strict=True):
            stop.set()
            if runner.is_alive():
                runner.join(10)
        for store in stores:
            store.engine.dispose()
    slot = datetime(2026, 7, 15, 10, tzinfo=timezone.utc)
    assert leader.cycles == [slot] and standby.cycles == [slot]  # at once, not at the next slot an hour later


def test_only_the_leader_archives_the_readings_past_the_retention(tmp_path) -> None:
    store = Store.connect(f"sqlite:///{tmp_path / 'warn.db'}")
    store.upgrade()
    store.upsert_sensors([Sensor("S1", SensorKind.WATER_LEVEL, "积水点", 106.5, 29.7, timedelta(minutes=5))])
    old = datetime(2025, 1, 6, tzinfo=timezone.utc)  # more than 400 days before the wall clock
    store.write_readings([FlaggedReading(Reading("S1", old + k * timedelta(minutes=5), 0.1, "m",
                                                 old + k * timedelta(minutes=5, seconds=30)), QCFlag.GOOD)
                          for k in range(12)])
    archive = tmp_path / "archive"
    retention = RetentionSpec(readings=timedelta(days=400), archive=archive, every=timedelta(seconds=1))
    spec = LeaseSpec(ttl=timedelta(seconds=3), renew=timedelta(seconds=1))
    store.leases.hold("500112", "elsewhere:1:other", now=datetime.now(timezone.utc), ttl=spec.ttl)
    service, stop = Recorder(store, spec, retention), threading.Event()
    runner = threading.Thread(target=run_service, args=(service,), daemon=True,
                              kwargs={"every": HOUR, "stop": stop,
                                      "now": StartedClock(datetime(2026, 7, 15, 10, 5, tzinfo=timezone.utc))})
    runner.start()
    try:
        time.sleep(1.5)  # standing by: the lease is another process's
        assert store.count_readings() == 12 and not archive.exists()
        assert service.ran.wait(10), "the service did not take over"
        deadline = time.monotonic() + 10
        while store.count_readings() and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        stop.set()
        runner.join(10)
    assert store.count_readings() == 0
    [manifest] = archive.glob("*.json")
    assert manifest.name.startswith("readings_20250106_")
    store.engine.dispose()


def test_a_poison_sensor_payload_is_logged_and_recorded_as_rejected_with_its_reason(caplog, tmp_path):
    from tests.conftest import ROOT
    from warn.cycle.sensors import Ingester
    from warn.modelfiles import load_model_file
    from warn.store import Store

    spec = SensorFeedSpec(kind="mqtt", topic="warn/demo/level/+", fields={"sensor_id": "stcd", "time": "tm", "value": "z"},
                          unit="m")
    at = datetime(2026, 7, 15, tzinfo=timezone.utc)
    batch = decode_payload(FieldDecoder("demo_mqtt", spec), b"[" * 5_000 + b"]" * 5_000, where="demo_mqtt",
                           arrival_time=at)
    batch = replace(batch, payload_sha256="ab" * 32, payload_bytes=10_000)
    with Store.connect(f"sqlite:///{tmp_path / 'warn.db'}") as store:
        store.upgrade()
        ingester = Ingester(store, {}, load_model_file("sensors", ROOT / "models" / "sensors.yaml").params())
        with caplog.at_level("WARNING", logger="warn.service"):
            _handle(ingester, batch, lambda: at)
        assert store.count_readings() == 0
        assert [(c.source, c.count, c.last) for c in store.rejected.counts()] == [("feed:demo_mqtt", 1, at)]
        with store.engine.connect() as conn:
            row = conn.exec_driver_sql("select reason, payload_sha256, payload_bytes from rejected_readings").one()
    assert "rejected: demo_mqtt: payload: expected JSON nested at most 32 deep, got deeper than 32" in caplog.text
    assert row == ("demo_mqtt: payload: expected JSON nested at most 32 deep, got deeper than 32 (a sensor payload is "
                   "an object, a list of objects or an object with a list)", "ab" * 32, 10_000)

def test_a_job_on_an_unavailable_store_logs_one_sentence_not_a_traceback(caplog, tmp_path):
    """Chaos drill: with the store locked or damaged, the tick and dispatch jobs logged raw driver tracebacks."""
    from warn.service import _guarded
    from warn.store import Store

    damaged = tmp_path / "warn.db"
    store = Store.connect(f"sqlite:///{damaged}")
    try:
        store.upgrade()
        store.engine.dispose()
        for leftover in tmp_path.glob("warn.db*"):
            leftover.unlink()
        damaged.write_text("not a database at all " * 100, encoding="utf-8")  # the file replaced under the service
        with caplog.at_level("ERROR", logger="warn.service"):
            _guarded("tick", lambda: store.timeline.last_seq())()
    finally:
        store.close()
    [record] = [r for r in caplog.records if r.name == "warn.service"]
    assert record.exc_info is None and "the store is unavailable, retried at its next run" in record.getMessage()
