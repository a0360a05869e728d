"""见证 / witnesses: where the timeline's signed anchors (:mod:`warn.store.anchors`) are kept.

A witness is outside the store's reach: an append-only JSON-lines file (on another volume in
production; one anchor a line, appended and flushed to disk) or an HTTP endpoint (the city
platform) that takes each anchor as a JSON ``POST``, answering 2xx within the network policy
(:mod:`warn.netpolicy`: ``timeout`` for the whole exchange, no redirects, a reply of at most
:data:`MAX_REPLY_BYTES`). :func:`send_anchor` tries every witness and returns what
failed as sentences — the cycle turns them into a data notice and goes on.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from typing import Any

import httpx

from warn.config import WitnessSpec
from warn.netpolicy import NetPolicy, NetRefusal, exchange

#: The largest reply a witness may send to an anchor, bytes (it only needs to say 2xx).
MAX_REPLY_BYTES = 64 * 1024


def send_anchor(anchor: dict[str, Any], witnesses: Iterable[WitnessSpec]) -> list[str]:
    """Send ``anchor`` to every witness; one sentence (zh-CN / English) per witness that failed, the same
    from one cycle to the next while the witness fails (so its data notice begins once)."""
    failed = []
    for witness in witnesses:
        problem = _append(anchor, witness) if witness.file is not None else _post(anchor, witness)
        if problem:
            failed.append(f"时间线锚定未送达见证 {witness.file or witness.url}：{problem} / the timeline's anchor "
                          f"did not reach witness {witness.file or witness.url}: {problem}")
    return failed


def _append(anchor: dict[str, Any], witness: WitnessSpec) -> str:
    """Append ``anchor`` as one line to the witness file; why not, empty on success."""
    assert witness.file is not None
    line = json.dumps(anchor, ensure_ascii=False, sort_keys=True) + "\n"
    try:
        if witness.file.exists() and not witness.file.is_file():
            return "not a regular file"
        descriptor = os.open(witness.file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(descriptor, line.encode("utf-8"))
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
    except OSError as err:
        return err.strerror or str(err)
    return ""


def _post(anchor: dict[str, Any], witness: WitnessSpec) -> str:
    """POST ``anchor`` to the witness URL; why it failed, empty on a 2xx answer."""
    assert witness.url is not None
    policy = NetPolicy(max_bytes=MAX_REPLY_BYTES, connect_s=witness.timeout, read_s=witness.timeout,
                       total_s=witness.timeout)
    try:
        with policy.client() as client:
            reply = exchange(client, "POST", witness.url, policy, json=anchor)
    except NetRefusal as err:
        return str(err.problems[0])
    except httpx.HTTPError as err:
        return f"{type(err).__name__}: {err}"
    return "" if reply.is_success else f"HTTP {reply.status_code}"
