"""One HTTP client per source for the life of the service: many requests over one kept-alive connection
(counted on the real local servers' side), and the service's sources close their clients when it stops."""

from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime, timedelta

import pytest
import xarray as xr

from tests.conftest import ROOT
from warn.config import load_settings
from warn.cycle import fetch_due, open_sources
from warn.sim.feedserver import FeedServer
from warn.sim.sensorthings import SensorThingsServer
from warn.sources.forecast import ForecastSource, open_forecast
from warn.sources.http import HttpGetter
from warn.sources.sensors import SensorThingsFeed
from warn.store import Store

DEMO = ROOT / "demo" / "forecast" / "yubei-demo-analogue_2026071500.nc"
ISSUED = datetime(2026, 7, 15, tzinfo=UTC)


def _ended(server, within: float = 5.0) -> int:
    """The server's open connections once they have ended (or ``within`` seconds have passed)."""
    deadline = time.monotonic() + within
    while server.connections[1] and time.monotonic() < deadline:
        time.sleep(0.02)
    return server.connections[1]


def test_a_feed_polls_many_times_over_one_connection_and_closes_it():
    with SensorThingsServer(max_top=5) as sta:
        for k in range(3):
            sta.add_datastream(f"WL-{k}", unit="cm", kind="water_level")
            sta.add_series(f"WL-{k}", [ISSUED + timedelta(minutes=5 * i) for i in range(12)], [float(i) for i in range(12)])
        feed = SensorThingsFeed("demo", sta.url, page_size=5, now=lambda: ISSUED + timedelta(hours=1))
        batches = [feed.poll({"WL-0": ISSUED, "WL-1": ISSUED, "WL-2": ISSUED}) for _ in range(4)]
        assert all(len(b.readings) == 36 and not b.rejected for b in batches)
        assert len(sta.requests) == 4 * (1 + 8)  # the list, then 36 Observations of all streams 5 a page, every poll
        assert sta.connections == (1, 1)  # one connection served all 36 requests, and stays open
        feed.close()
        assert _ended(sta) == 0 and sta.connections[0] == 1


def test_a_forecast_source_fetches_runs_and_304s_over_one_connection(tmp_path):
    feed = tmp_path / "feed"
    feed.mkdir()
    shutil.copy(DEMO, feed / DEMO.name)
    with FeedServer(feed) as server:
        source = ForecastSource(server.url + "/yubei-demo-analogue_{issued:%Y%m%d%H}.nc", directory=tmp_path / "cache")
        first = source.fetch(ISSUED)
        again = [source.fetch(ISSUED, previous=first) for _ in range(5)]
        assert not first.not_modified and all(f.not_modified for f in again)
        assert [status for _, _, status in server.requests] == [200] + [304] * 5
        assert server.connections == (1, 1)
        source.close()
        assert _ended(server) == 0


def test_a_getter_makes_a_new_client_after_close_and_retries_on_it():
    with SensorThingsServer(failures=1) as sta:
        getter = HttpGetter(attempts=2, sleep=lambda _s: None)
        client = getter.client()
        assert getter.client() is client
        assert getter.get_json(client, sta.url)["value"]  # a 503 first, then served on the same connection
        assert sta.connections[0] == 1
        getter.close()
        assert client.is_closed and getter.client() is not client
        getter.close()


@pytest.fixture
def served(committed_config, tmp_path):
    """The committed deployment without sensors, its demo run and official index served from a folder."""
    settings = load_settings(committed_config).model_copy(update={"sensors": None})
    feed = tmp_path / "feed"
    feed.mkdir()
    shutil.copy(DEMO, feed / DEMO.name)
    for spec in settings.official.values():
        (feed / spec.url.rsplit("/", 1)[-1]).write_text("[]")
    store = Store.connect(f"sqlite:///{tmp_path / 'warn.db'}")
    store.upgrade()
    with FeedServer(feed) as server:
        yield settings, store, server
    store.close()


def test_the_held_run_fetched_again_is_decoded_once_and_identical(served):
    settings, store, server = served
    sources = open_sources(settings, store, urls={"feed": server.url}, now=lambda: ISSUED)
    first, _run, new, _ = fetch_due(settings, store, sources, ISSUED)
    kept = next(iter(sources.decoded.values()))
    first.attrs["touched"] = "by a caller"
    again, _run, still_new, _ = fetch_due(settings, store, sources, ISSUED + timedelta(minutes=10))
    assert new and not still_new and [s for _, _, s in server.requests] == [200, 304]
    assert next(iter(sources.decoded.values())) is kept  # not decoded again
    fresh = open_forecast(settings.cache_dir / "forecasts" / "demo" / DEMO.name, source=_run["url"], issued_at=ISSUED,
                          limits=settings.files)
    xr.testing.assert_identical(again, fresh)  # and the same as decoding it afresh, a caller's change not seen
    sources.close()


def test_the_service_sources_keep_one_client_each_across_cycles_and_close_them(served):
    settings, store, server = served
    sources = open_sources(settings, store, urls={"feed": server.url}, now=lambda: ISSUED)
    from warn.cycle.inputs import pull_official

    for minutes in (0, 10, 20, 30):
        at = ISSUED + timedelta(minutes=minutes)
        rain, _run, _new, _problems = fetch_due(settings, store, sources, at)
        assert rain is not None
        problems: list[str] = []
        pull_official(store, sources, at, problems)
        assert not problems
    clients = 1 + len(settings.official)  # the forecast source and each official source
    assert len(server.requests) == 4 * clients
    assert server.connections == (clients, clients)
    sources.close()
    assert _ended(server) == 0 and server.connections[0] == clients
