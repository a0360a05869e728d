"""The demo feed server: a real HTTP server on the loopback interface."""

from __future__ import annotations

import hashlib
import os
import socket
from email.utils import formatdate

import httpx
import pytest

from warn.sim.feedserver import FeedServer


@pytest.fixture
def served(tmp_path):
    (tmp_path / "run_2026071500.nc").write_bytes(b"CDF\x01 forecast bytes")
    os.utime(tmp_path / "run_2026071500.nc", (1_780_000_000, 1_780_000_000))
    (tmp_path.parent / "secret.txt").write_text("outside")
    return tmp_path


def test_serves_files_with_etag_and_last_modified(served):
    with FeedServer(served) as server:
        assert server.url.startswith("http://127.0.0.1:") and not server.url.endswith(":0")
        response = httpx.get(f"{server.url}/run_2026071500.nc")
        head = httpx.head(f"{server.url}/run_2026071500.nc")
    assert response.status_code == 200 and response.content == b"CDF\x01 forecast bytes"
    assert response.headers["ETag"] == '"' + hashlib.sha256(b"CDF\x01 forecast bytes").hexdigest() + '"'
    assert response.headers["Last-Modified"] == formatdate(1_780_000_000, usegmt=True)
    assert head.status_code == 200 and head.content == b"" and head.headers["Content-Length"] == "19"
    assert [r[2] for r in server.requests] == [200, 200]


def test_304_on_if_none_match_and_if_modified_since(served):
    with FeedServer(served) as server:
        url = f"{server.url}/run_2026071500.nc"
        etag = httpx.get(url).headers["ETag"]
        assert httpx.get(url, headers={"If-None-Match": etag}).status_code == 304
        assert httpx.get(url, headers={"If-None-Match": '"other"'}).status_code == 200
        assert httpx.get(url, headers={"If-Modified-Since": formatdate(1_780_000_000, usegmt=True)}).status_code == 304
        assert httpx.get(url, headers={"If-Modified-Since": formatdate(1_779_999_000, usegmt=True)}).status_code == 200
        # If-None-Match wins over If-Modified-Since (RFC 9110)
        both = {"If-None-Match": '"other"', "If-Modified-Since": formatdate(1_780_000_000, usegmt=True)}
        assert httpx.get(url, headers=both).status_code == 200


def test_404_for_missing_files_and_paths_outside_the_directory(served):
    with FeedServer(served) as server:
        assert httpx.get(f"{server.url}/run_2026071600.nc").status_code == 404
        assert httpx.get(f"{server.url}/../secret.txt").status_code == 404
        assert httpx.get(f"{server.url}/%2e%2e/secret.txt").status_code == 404
        assert httpx.get(f"{server.url}/").status_code == 404


def test_serves_files_in_sub_folders_but_no_link_out_of_the_directory(served):
    (served / "radar").mkdir()
    (served / "radar" / "qpe_202607150810.nc").write_bytes(b"CDF\x01 radar")
    (served / "radar" / "leak.txt").symlink_to(served.parent / "secret.txt")
    with FeedServer(served) as server:
        assert httpx.get(f"{server.url}/radar/qpe_202607150810.nc").content == b"CDF\x01 radar"
        assert httpx.get(f"{server.url}/radar/leak.txt").status_code == 404
        assert httpx.get(f"{server.url}/radar/../../secret.txt").status_code == 404
        assert httpx.get(f"{server.url}/radar").status_code == 404


def test_fails_the_first_requests_on_demand(served):
    with FeedServer(served, failures=1) as server:
        first = httpx.get(f"{server.url}/run_2026071500.nc")
        second = httpx.get(f"{server.url}/run_2026071500.nc")
    assert (first.status_code, second.status_code) == (503, 200)


def test_stops_cleanly_and_frees_the_port(served):
    server = FeedServer(served).start()
    host, port = server.url.removeprefix("http://").split(":")
    assert httpx.get(f"{server.url}/run_2026071500.nc").status_code == 200
    server.stop()
    with socket.socket() as probe:
        assert probe.connect_ex((host, int(port))) != 0
    with FeedServer(served, port=int(port)) as again:  # a restarted server can take the same port
        assert httpx.get(f"{again.url}/run_2026071500.nc").status_code == 200


def test_refuses_a_missing_directory(tmp_path):
    with pytest.raises(NotADirectoryError, match="expected a directory of forecast files"):
        FeedServer(tmp_path / "absent")


def test_a_hostile_server_redirects_names_a_foreign_host_trickles_and_streams_a_huge_body(tmp_path):
    from warn.sim.feedserver import HUGE_DECLARED

    (tmp_path / "list.json").write_text('["a.xml"]', encoding="utf-8")
    (tmp_path / "a.xml").write_bytes(b"<alert/>")
    with FeedServer(tmp_path) as server:
        server.foreign = "http://127.0.0.2:8"
        server.hostile = "redirect"
        moved = httpx.get(f"{server.url}/a.xml")
        server.hostile = "foreign"
        listed = httpx.get(f"{server.url}/list.json").json()
        server.hostile = "huge"
        with httpx.stream("GET", f"{server.url}/a.xml") as huge:
            declared = int(huge.headers["Content-Length"])
            first = next(huge.iter_bytes())
        server.hostile = "trickle"
        with httpx.stream("GET", f"{server.url}/a.xml") as trickled:
            chunks = trickled.iter_raw()
            one = next(chunks)
            server.hostile = None
            rest = b"".join(chunks)
    assert moved.status_code == 302 and moved.headers["Location"] == "http://127.0.0.2:8/a.xml"
    assert listed == ["http://127.0.0.2:8/list.xml"]
    assert declared == HUGE_DECLARED and first and not any(first)
    assert one == b"<" and one + rest == b"<alert/>"
