"""One network policy for every read (issue 15): a 2 GiB body, a declared 2 GiB, a gzip bomb behind a
small Content-Length, a server trickling one byte every 2 s, redirects elsewhere and home — each
against a real misbehaving server on 127.0.0.1, through the getter every source uses."""

from __future__ import annotations

import time

import pytest

from tests.helpers import Hostile, gzip_bomb, peak_memory
from warn.errors import SourceError
from warn.netpolicy import NetPolicy
from warn.sources.http import HttpGetter

MiB = 2**20


def fetch(url: str, policy: NetPolicy) -> bytes:
    getter = HttpGetter(policy=policy, attempts=4, sleep=lambda _s: None)
    with getter.client() as client:
        return getter.get(client, url).content


@pytest.fixture
def hostile():
    with Hostile() as server:
        yield server


def test_a_2_gib_body_is_cut_at_the_cap_quickly_with_bounded_memory(hostile):
    started = time.monotonic()
    with peak_memory() as peak, pytest.raises(SourceError) as err:
        fetch(f"{hostile.root}/huge", NetPolicy(max_bytes=16 * MiB))
    assert time.monotonic() - started < 10
    assert peak[0] < 48 * MiB  # 16 MiB may be held, never the 2 GiB
    assert f"{hostile.root}/huge: expected a body of at most 16 MiB" in str(err.value)
    assert hostile.requests == ["GET /huge"]  # not retried: the same server sends the same


def test_a_declared_2_gib_body_is_refused_before_a_byte_is_read(hostile):
    with pytest.raises(SourceError, match=r"at most 2 MiB, got Content-Length 2 GiB"):
        fetch(f"{hostile.root}/declared", NetPolicy(max_bytes=2 * MiB))


def test_a_small_content_length_over_a_gzip_bomb_counts_the_decoded_bytes(hostile):
    assert len(gzip_bomb()) < MiB  # made before measuring: the server runs in this process
    with peak_memory() as peak, pytest.raises(SourceError, match=r"/bomb: expected a body of at most 2 MiB"):
        fetch(f"{hostile.root}/bomb", NetPolicy(max_bytes=2 * MiB))
    assert peak[0] < 24 * MiB  # the 64 MiB it decodes to are never held


def test_one_byte_every_2_s_is_cut_at_the_total_deadline(hostile):
    started = time.monotonic()
    with pytest.raises(SourceError, match=r"/trickle: expected the whole reply within 1 s, got 2 bytes after 2\.\d s, still coming"):
        fetch(f"{hostile.root}/trickle", NetPolicy(max_bytes=MiB, read_s=5, total_s=1))
    assert time.monotonic() - started < 3.5  # the first byte after the deadline ends it


def test_a_redirect_to_another_origin_is_refused_and_never_followed(hostile):
    with Hostile(host="127.0.0.2") as elsewhere:
        with pytest.raises(SourceError) as err:
            fetch(f"{hostile.root}/to/{elsewhere.root}/secret", NetPolicy(max_bytes=MiB, redirects=3))
        assert elsewhere.requests == []
    text = str(err.value)
    assert "expected a redirect within the same origin" in text and f"{elsewhere.root}/secret" in text


def test_a_same_origin_redirect_is_followed_when_allowed_and_refused_by_default(hostile):
    hostile.files["/list.json"] = b"[]"
    assert fetch(f"{hostile.root}/to//list.json", NetPolicy(max_bytes=MiB, redirects=1)) == b"[]"
    with pytest.raises(SourceError, match="expected no redirect"):
        fetch(f"{hostile.root}/to//list.json", NetPolicy(max_bytes=MiB))
    with pytest.raises(SourceError, match="expected at most 1 redirect"):
        fetch(f"{hostile.root}/to//to//list.json", NetPolicy(max_bytes=MiB, redirects=1))
