"""A local webhook receiver that stands in for the city platform and records what it gets.

:class:`WebhookReceiver` answers every POST, on any path, ``200`` with
``{"errcode": 0, "errmsg": "ok"}`` — a success for a plain webhook and for the
DingTalk / WeCom robot reply check alike — and records each request: when it came
(UTC, ISO 8601), path, query string, content type and body (UTF-8 text, or base64
when the bytes are not UTF-8). The records are kept in :attr:`WebhookReceiver.received`
and, given ``log``, appended to that file as one JSON line each::

    with WebhookReceiver(log=Path("var/received.jsonl")) as receiver:
        target = receiver.url + "/cap"

A drill makes it misbehave by setting :attr:`WebhookReceiver.fault`: ``"fail"`` answers 503
and records nothing, ``"hang"`` reads the request and answers nothing for :data:`HANG_S`
seconds (nothing recorded), ``"trickle"`` records the request and sends its answer one byte
every :data:`TRICKLE_S` seconds.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from datetime import datetime, timezone
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from warn.sim.server import LocalServer

#: The answer to every request: success for a webhook (HTTP 200) and for a robot (errcode 0).
REPLY = json.dumps({"errcode": 0, "errmsg": "ok"}).encode()
#: How long a hanging receiver keeps a request without answering (s), and a trickling one waits per byte (s).
HANG_S = 4.0
TRICKLE_S = 0.05
#: The ways a drill makes the receiver misbehave (:attr:`WebhookReceiver.fault`).
FAULTS = ("fail", "hang", "trickle")


class WebhookReceiver(LocalServer):
    """Receive webhook POSTs on the loopback interface and record them.

    Parameters
    ----------
    log
        A JSON-lines file each record is appended to (UTF-8, flushed per record); ``None``
        keeps the records in memory only.
    host
        Address to bind; 127.0.0.1 keeps it local.
    port
        Port to bind; 0 picks a free one (see :attr:`url`).

    Attributes
    ----------
    received
        Every request's record, in order of arrival: ``received_at``, ``path``, ``query``,
        ``content_type``, ``key`` (the ``Idempotency-Key`` header, ``""`` when absent), ``body`` and
        ``encoding`` (``utf-8`` or ``base64``).
    fault
        ``None`` (answer), or one of :data:`FAULTS`: how it misbehaves now.
    """

    def __init__(self, *, log: Path | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.log = log
        self.fault: str | None = None
        self.received: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        super().__init__(_handler_for(self), host=host, port=port)

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:41234`` (no trailing slash); any path below it is accepted."""
        return self.root

    def records(self) -> list[dict[str, Any]]:
        """A copy of :attr:`received`, taken under the lock."""
        with self._lock:
            return list(self.received)

    def _record(self, record: dict[str, Any]) -> None:
        with self._lock:
            self.received.append(record)
            if self.log is not None:
                with self.log.open("a", encoding="utf-8") as out:
                    out.write(json.dumps(record, ensure_ascii=False) + "\n")
                    out.flush()


def _request_record(target: str, content_type: str, body: bytes, key: str = "") -> dict[str, Any]:
    """What is recorded of one request: its request target, content type, idempotency key and body.

    Parameters
    ----------
    target
        The request target as sent (``/path?query``).
    content_type
        The ``Content-Type`` header, ``""`` when absent.
    body
        The body's bytes.
    key
        The ``Idempotency-Key`` header, ``""`` when absent.

    Returns
    -------
    dict
        ``received_at`` (now, UTC, ISO 8601), ``path``, ``query``, ``content_type``, ``key``, ``body``
        (the text when the bytes are UTF-8, else their base64) and ``encoding`` (``utf-8`` or ``base64``).
    """
    parts = urlsplit(target)
    try:
        text, encoding = body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = base64.b64encode(body).decode("ascii"), "base64"
    return {"received_at": datetime.now(timezone.utc).isoformat(), "path": parts.path, "query": parts.query,
            "content_type": content_type, "key": key, "body": text, "encoding": encoding}


def _handler_for(receiver: WebhookReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "warn-receiver"

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            fault = receiver.fault
            if fault == "hang":
                time.sleep(HANG_S)
                self.close_connection = True
                return
            if fault == "fail":
                self.send_error(HTTPStatus.SERVICE_UNAVAILABLE)
                return
            receiver._record(_request_record(self.path, self.headers.get("Content-Type", ""), body,
                                             self.headers.get("Idempotency-Key", "")))
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(REPLY)))
            self.end_headers()
            if fault != "trickle":
                self.wfile.write(REPLY)
                return
            for byte in REPLY:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(TRICKLE_S)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (http.server's signature)
            """Silence the default stderr log; :attr:`WebhookReceiver.received` keeps the record."""

    return Handler
