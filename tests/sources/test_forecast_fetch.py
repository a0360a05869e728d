"""Fetching forecast runs over a real local HTTP server (FeedServer) and from files."""

from __future__ import annotations

import hashlib
import socket
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest

from tests.helpers import Hostile, peak_memory
from warn.errors import SourceError
from warn.netpolicy import NetPolicy
from warn.sim.feedserver import FeedServer
from warn.sources.forecast import ForecastSource, open_forecast

DATA = Path(__file__).parent.parent / "data"
DEMO = Path(__file__).parent.parent.parent / "demo" / "forecast"
ISSUED = datetime(2026, 7, 15, 0, tzinfo=timezone.utc)
NAME = "yubei-demo-analogue_{issued:%Y%m%d%H}.nc"


@pytest.fixture
def feed(tmp_path: Path) -> Path:
    """A served directory holding the bundled demo forecast."""
    directory = tmp_path / "served"
    directory.mkdir()
    source = DEMO / NAME.format(issued=ISSUED)
    (directory / source.name).write_bytes(source.read_bytes())
    return directory


def test_200_then_304_with_etag_and_a_stable_checksum(feed, tmp_path):
    with FeedServer(feed) as server:
        source = ForecastSource(f"{server.url}/{NAME}", directory=tmp_path / "downloads")
        first = source.fetch(ISSUED)
        second = source.fetch(ISSUED, previous=first)
        statuses = [status for _, _, status in server.requests]
    content = (feed / "yubei-demo-analogue_2026071500.nc").read_bytes()
    assert first.url == f"{server.url}/yubei-demo-analogue_2026071500.nc"
    assert not first.not_modified and first.etag and first.last_modified
    assert first.checksum == "sha256:" + hashlib.sha256(content).hexdigest()
    assert first.path.read_bytes() == content and first.content == content
    assert first.fetched_at.tzinfo is timezone.utc
    assert second.not_modified and second.checksum == first.checksum and second.path == first.path
    assert second.etag == first.etag
    assert statuses == [200, 304]


def test_if_modified_since_alone_gives_304(feed, tmp_path):
    with FeedServer(feed) as server:
        source = ForecastSource(f"{server.url}/{NAME}", directory=tmp_path)
        first = source.fetch(ISSUED)
        without_etag = type(first)(**{**first.__dict__, "etag": None})
        assert source.fetch(ISSUED, previous=without_etag).not_modified


def test_a_changed_run_is_fetched_again(feed, tmp_path):
    with FeedServer(feed) as server:
        source = ForecastSource(f"{server.url}/{NAME}", directory=tmp_path)
        first = source.fetch(ISSUED)
        (feed / "yubei-demo-analogue_2026071500.nc").write_bytes(b"CDF new run")
        second = source.fetch(ISSUED, previous=first)
    assert not second.not_modified and second.checksum != first.checksum and second.etag != first.etag


def test_retries_with_backoff_after_503(feed, tmp_path):
    waits: list[float] = []
    with FeedServer(feed, failures=2) as server:
        source = ForecastSource(f"{server.url}/{NAME}", directory=tmp_path, attempts=3, backoff=0.5, sleep=waits.append)
        fetched = source.fetch(ISSUED)
        statuses = [status for _, _, status in server.requests]
    assert statuses == [503, 503, 200]
    assert waits == [0.5, 1.0]
    assert not fetched.not_modified


def test_gives_up_naming_the_url_after_every_attempt_fails(feed, tmp_path):
    with FeedServer(feed, failures=5) as server:
        source = ForecastSource(f"{server.url}/{NAME}", directory=tmp_path, attempts=2, sleep=lambda s: None)
        with pytest.raises(SourceError, match=r"http://127\.0\.0\.1:\d+/yubei-demo-analogue_2026071500\.nc: "
                                              r"expected HTTP 200, got HTTP 503 after 2 attempt\(s\)"):
            source.fetch(ISSUED)


def test_connection_refused_is_retried_then_reported(tmp_path):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    waits: list[float] = []
    source = ForecastSource(f"http://127.0.0.1:{port}/{NAME}", directory=tmp_path, attempts=3, backoff=0.1,
                            sleep=waits.append, policy=NetPolicy(max_bytes=2**20, connect_s=2.0, read_s=2.0))
    with pytest.raises(SourceError, match=r"expected HTTP 200, got ConnectError: .* after 3 attempt\(s\)"):
        source.fetch(ISSUED)
    assert waits == [0.1, 0.2]


def test_missing_run_is_reported_at_once(feed, tmp_path):
    with FeedServer(feed) as server:
        source = ForecastSource(f"{server.url}/{NAME}", directory=tmp_path, sleep=lambda s: pytest.fail("retried a 404"))
        with pytest.raises(SourceError, match=r"yubei-demo-analogue_2026071600\.nc: expected HTTP 200.* got HTTP 404"):
            source.fetch(datetime(2026, 7, 16, tzinfo=timezone.utc))


def test_a_placeholder_nothing_filled_is_a_missing_run_naming_it(tmp_path):
    source = ForecastSource("{feed}/run_{issued:%Y%m%d%H}.nc", directory=tmp_path)
    with pytest.raises(SourceError, match=r"\{feed\} not filled") as caught:
        source.fetch(datetime(2026, 7, 15, tzinfo=timezone.utc))
    assert "{issued}" in str(caught.value)


def test_the_transport_is_injectable(tmp_path):
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, content=b"GRIB", headers={"ETag": '"x"'})

    source = ForecastSource("https://feeds.example/run_{issued:%Y%m%d%H}.grib2", directory=tmp_path,
                            transport=httpx.MockTransport(handler))
    fetched = source.fetch(ISSUED)
    assert seen == ["https://feeds.example/run_2026071500.grib2"]
    assert fetched.path == tmp_path / "run_2026071500.grib2" and fetched.etag == '"x"'


def test_file_url_and_plain_path(feed):
    target = feed / "yubei-demo-analogue_2026071500.nc"
    for template in (f"file://{feed}/{NAME}", f"{feed}/{NAME}"):
        source = ForecastSource(template, directory=feed)
        first = source.fetch(ISSUED)
        assert first.path == target and first.checksum == "sha256:" + hashlib.sha256(target.read_bytes()).hexdigest()
        assert not first.not_modified and first.etag is None and first.last_modified
        assert source.fetch(ISSUED, previous=first).not_modified


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(SourceError, match=r"nowhere/run\.nc: expected a forecast file \(NetCDF or GRIB\), readable"):
        ForecastSource(f"file://{tmp_path}/nowhere/run.nc", directory=tmp_path).fetch(ISSUED)


def test_fetched_demo_run_decodes_to_the_contract(feed, tmp_path):
    with FeedServer(feed) as server:
        fetched = ForecastSource(f"{server.url}/{NAME}", directory=tmp_path / "dl").fetch(ISSUED)
    rain = open_forecast(fetched.path, source=fetched.url, bounds=(106.44, 29.57, 106.99, 30.13))
    assert rain.attrs["source"] == fetched.url and rain.attrs["issued_at"] == "2026-07-15T00:00:00Z"
    assert rain.sizes["time"] == 24 and rain.attrs["step"] == "PT1H"


def test_a_url_without_a_scheme_fails_at_once_without_retries():
    """An unfilled placeholder (``{feed}/…``) is a configuration mistake: no attempt can succeed."""
    from warn.sources.http import HttpGetter

    waits: list[float] = []
    getter = HttpGetter(attempts=4, sleep=waits.append)
    with getter.client() as client, pytest.raises(SourceError, match="http"):
        getter.get(client, "{feed}/official-rainstorm.json")
    assert waits == []


def test_a_2_gib_forecast_is_refused_at_the_cap_and_leaves_no_partial_file(tmp_path):
    with Hostile() as hostile:
        source = ForecastSource(f"{hostile.root}/huge", directory=tmp_path / "cache", sleep=lambda s: None,
                                policy=NetPolicy(max_bytes=8 * 2**20))
        with peak_memory() as peak, pytest.raises(SourceError, match=r"/huge: expected a body of at most 8 MiB"):
            source.fetch(ISSUED)
    assert peak[0] < 4 * 2**20  # streamed to disk, never held
    assert list((tmp_path / "cache").iterdir()) == []
