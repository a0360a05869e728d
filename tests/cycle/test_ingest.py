"""Sensor ingest end to end over real HTTP (the local SensorThings server) and real MQTT.

Late, duplicated, revised, spiking, frozen, missing and silent readings all end up in
the store flagged as the rules say, with no duplicate rows and every revision kept.
"""

from __future__ import annotations

import pytest

from tests.ingest_world import SENSORS, STEP, T0, check_world, ok_depth, series, write_deployment
from warn.config import load_settings
from warn.cycle import open_ingester
from warn.service import feed_specs, poll_once
from warn.sim.sensorthings import SensorThingsServer
from warn.vocab import QCFlag


@pytest.fixture
def world(tmp_path):
    settings = load_settings(write_deployment(tmp_path))
    server = SensorThingsServer().start()
    for sid in SENSORS:
        server.add_datastream(sid, unit="m", kind="water_level")
    ingester = open_ingester(settings)
    yield settings, server, ingester
    ingester.store.close()
    server.stop()


def flags(ingester, sid):
    return {r.reading.phenomenon_time: (r.qc_flag, r.qc_rule, r.reading.value) for r in ingester.store.readings(sid)}


def test_sensorthings_feed_end_to_end(world):
    settings, server, ingester = world
    specs = feed_specs(settings, ["sta"], url=server.url)
    first = series(24)  # two hours
    for sid, obs in first.items():
        for moment, value in obs:
            if not (sid == "W-OK" and moment == T0 + 20 * STEP):  # step 20 of W-OK arrives late
                server.add_observation(sid, moment, value)
    [report] = poll_once(ingester, specs, now=lambda: T0 + 24 * STEP)
    assert report.failure == "" and report.rejected == []
    assert report.written.inserted == 24 * 3 + 12 - 1

    # the second hour of data, plus: the late reading, a repeat, and a revision
    later = series(36)
    for sid, obs in later.items():
        for moment, value in obs[24:]:
            server.add_observation(sid, moment, value)
    server.add_observation("W-OK", T0 + 20 * STEP, ok_depth(20))  # late, older than what is stored
    server.add_observation("W-OK", T0 + 22 * STEP, ok_depth(22))  # the same reading again
    server.add_observation("W-OK", T0 + 23 * STEP, 0.31)  # a revised value for a stored time
    [report] = poll_once(ingester, specs, now=lambda: T0 + 36 * STEP)
    assert report.written.revised == 1

    store = ingester.store
    check_world(store)
    ok = flags(ingester, "W-OK")
    assert ok[T0 + 20 * STEP] == (QCFlag.GOOD, "", ok_depth(20))  # the late reading is in, judged good
    assert ok[T0 + 23 * STEP] == (QCFlag.GOOD, "", 0.31)  # the revision, re-judged: 7 cm above its neighbour
    [revision] = store.revisions("W-OK")
    assert (revision.old_value, revision.new_value) == (ok_depth(23), 0.31)
    assert not {b.source: b for b in store.heartbeats()}["feed:sta"].stale


def test_unreachable_feed_is_marked_stale_and_nothing_else_breaks(world):
    settings, server, ingester = world
    specs = feed_specs(settings, ["sta"], url="http://127.0.0.1:9/v1.1")
    [report] = poll_once(ingester, specs, now=lambda: T0 + STEP)
    assert "127.0.0.1:9" in report.failure
    beats = {b.source: b for b in ingester.store.heartbeats()}
    assert beats["feed:sta"].stale and "127.0.0.1:9" in beats["feed:sta"].detail
    assert all(beats[f"sensor:{sid}"].stale for sid in SENSORS)  # never heard: stale, not fine


def test_a_spike_streamed_one_reading_at_a_time_is_caught_when_the_next_arrives(world):
    _, _, ingester = world
    from warn.sources.readings import Reading

    for moment, value in series(20)["W-SPIKE"]:
        ingester.ingest([Reading("W-SPIKE", moment, value, "m", moment)], now=moment)
    spike = flags(ingester, "W-SPIKE")[T0 + 14 * STEP]
    assert spike[:2] == (QCFlag.DOUBTFUL, "spike")
    [revision] = ingester.store.revisions("W-SPIKE")  # first judged without its next neighbour
    assert (revision.old_flag, revision.new_flag) == (QCFlag.GOOD, QCFlag.DOUBTFUL)
    assert revision.old_value == revision.new_value
