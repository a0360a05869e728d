"""A local webhook receiver that stands in for the city platform and records what it gets.

:class:`WebhookReceiver` answers every POST, on any path, ``200`` with
``{"errcode": 0, "errmsg": "ok"}`` — a success for a plain webhook and for the
DingTalk / WeCom robot reply check alike — and records each request: when it came
(UTC, ISO 8601), path, query string, content type and body (UTF-8 text, or base64
when the bytes are not UTF-8). The records are kept in :attr:`WebhookReceiver.received`
and, given ``log``, appended to that file as one JSON line each::

    with WebhookReceiver(log=Path("var/received.jsonl")) as receiver:
        target = receiver.url + "/cap"
"""

from __future__ import annotations

import base64
import json
import threading
from datetime import datetime, timezone
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from warn.sim.server import LocalServer

#: The answer to every request: success for a webhook (HTTP 200) and for a robot (errcode 0).
REPLY = json.dumps({"errcode": 0, "errmsg": "ok"}).encode()


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
        ``content_type``, ``body`` and ``encoding`` (``utf-8`` or ``base64``).
    """

    def __init__(self, *, log: Path | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.log = log
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


def _request_record(target: str, content_type: str, body: bytes) -> dict[str, Any]:
    """What is recorded of one request: its request target, content type and body.

    Parameters
    ----------
    target
        The request target as sent (``/path?query``).
    content_type
        The ``Content-Type`` header, ``""`` when absent.
    body
        The body's bytes.

    Returns
    -------
    dict
        ``received_at`` (now, UTC, ISO 8601), ``path``, ``query``, ``content_type``, ``body``
        (the text when the bytes are UTF-8, else their base64) and ``encoding`` (``utf-8`` or ``base64``).
    """
    parts = urlsplit(target)
    try:
        text, encoding = body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = base64.b64encode(body).decode("ascii"), "base64"
    return {"received_at": datetime.now(timezone.utc).isoformat(), "path": parts.path, "query": parts.query,
            "content_type": content_type, "body": text, "encoding": encoding}


def _handler_for(receiver: WebhookReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "warn-receiver"

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            receiver._record(_request_record(self.path, self.headers.get("Content-Type", ""), body))
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(REPLY)))
            self.end_headers()
            self.wfile.write(REPLY)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (http.server's signature)
            """Silence the default stderr log; :attr:`WebhookReceiver.received` keeps the record."""

    return Handler
