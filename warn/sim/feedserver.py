"""A real local HTTP server for forecast files (demo, drills and tests).

:class:`FeedServer` serves the files of one directory from a
:class:`http.server.ThreadingHTTPServer` in a background thread, bound to
127.0.0.1 on a free port by default, the way a forecast provider's server does:
``ETag`` (the file's sha256) and ``Last-Modified`` on every response, ``304 Not
Modified`` to ``If-None-Match`` / ``If-Modified-Since``, and optionally a number of
``503`` answers first, to drill a flaky feed::

    with FeedServer(directory) as server:
        url = server.url + "/yubei-demo-analogue_2026071500.nc"

A drill makes it hostile by setting :attr:`FeedServer.hostile` to one of :data:`HOSTILE`:
``"huge"`` declares 2 GiB and streams zeros while it stays so (at most :data:`HUGE_CAP`),
``"trickle"`` sends one byte every :data:`TRICKLE_S` seconds while it stays so (then the rest),
``"redirect"`` answers 302 to :attr:`FeedServer.foreign`, and ``"foreign"`` answers a JSON
list (``*.json``) naming a file on :attr:`FeedServer.foreign` instead of its own.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from email.utils import formatdate, parsedate_to_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import unquote, urlsplit

from warn.sim.server import LocalServer

#: The ways a drill makes the server hostile (:attr:`FeedServer.hostile`).
HOSTILE = ("huge", "trickle", "redirect", "foreign")
#: What a huge answer declares (bytes), the most it streams, and its chunk.
HUGE_DECLARED = 2 * 1024**3
HUGE_CAP = 256 * 1024**2
CHUNK = 64 * 1024
#: The pause between a trickling answer's bytes (s).
TRICKLE_S = 2.0


class FeedServer(LocalServer):
    """Serve a directory of forecast files over HTTP on the loopback interface.

    Parameters
    ----------
    directory
        The files to serve: ``/<path>`` maps to ``directory/<path>`` (sub-folders too, nothing outside).
    host
        Address to bind; 127.0.0.1 keeps it local.
    port
        Port to bind; 0 picks a free one (see :attr:`url`).
    failures
        How many GET requests to answer ``503 Service Unavailable`` before serving.

    Attributes
    ----------
    requests
        ``(method, path, status)`` of every request answered, in order.
    hostile
        ``None`` (serve), or one of :data:`HOSTILE`: how it misbehaves now.
    foreign
        The base URL of another host, where ``"redirect"`` and ``"foreign"`` send the client.
    """

    def __init__(self, directory: Path, *, host: str = "127.0.0.1", port: int = 0, failures: int = 0) -> None:
        self.directory = Path(directory).resolve()
        if not self.directory.is_dir():
            raise NotADirectoryError(f"{self.directory}: expected a directory of forecast files")
        self.failures = failures
        self.hostile: str | None = None
        self.foreign = "http://127.0.0.2:9"
        self.requests: list[tuple[str, str, int]] = []
        self._lock = threading.Lock()
        super().__init__(_handler_for(self), host=host, port=port)

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:41234`` (no trailing slash)."""
        return self.root

    def _take_failure(self) -> bool:
        with self._lock:
            if self.failures > 0:
                self.failures -= 1
                return True
            return False

    def _record(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self.requests.append((method, path, status))


def _handler_for(server: FeedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "warn-feedserver"
        protocol_version = "HTTP/1.1"  # keep-alive: a client's connection serves its next requests
        disable_nagle_algorithm = True  # headers and body go out at once, not held for the client's delayed ACK

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            self._serve(body=True)

        def do_HEAD(self) -> None:  # noqa: N802
            self._serve(body=False)

        def _serve(self, *, body: bool) -> None:
            if body and server._take_failure():
                return self._answer(HTTPStatus.SERVICE_UNAVAILABLE, {"Retry-After": "1"})
            name = unquote(urlsplit(self.path).path).lstrip("/")
            target = (server.directory / name).resolve()
            if not name or server.directory not in target.parents or not target.is_file():
                return self._answer(HTTPStatus.NOT_FOUND, {})
            content = target.read_bytes()
            if body and server.hostile is not None and self._hostile(server.hostile, name, content):
                return None
            mtime = int(target.stat().st_mtime)
            headers = {
                "ETag": '"' + hashlib.sha256(content).hexdigest() + '"',
                "Last-Modified": formatdate(mtime, usegmt=True),
            }
            if _not_modified(self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since"),
                             headers["ETag"], mtime):
                return self._answer(HTTPStatus.NOT_MODIFIED, headers)
            headers["Content-Type"] = "application/octet-stream"
            self._answer(HTTPStatus.OK, headers, content if body else b"", length=len(content))

        def _hostile(self, mode: str, name: str, content: bytes) -> bool:
            """Answer as ``mode`` makes the server misbehave; ``False``: this file is served as usual."""
            if mode == "redirect":
                self._answer(HTTPStatus.FOUND, {"Location": f"{server.foreign}/{name}"})
            elif mode == "foreign" and name.endswith(".json"):
                listed = json.dumps([f"{server.foreign}/{name.removesuffix('.json')}.xml"]).encode()
                self._answer(HTTPStatus.OK, {"Content-Type": "application/json"}, listed)
            elif mode in ("huge", "trickle"):
                server._record(self.command, self.path, int(HTTPStatus.OK))
                self.send_response(HTTPStatus.OK)
                self.send_header("Content-Length", str(HUGE_DECLARED if mode == "huge" else len(content)))
                self.end_headers()
                try:
                    self._stream(mode, content)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up: what a bounded client should do
            else:
                return False
            return True

        def _stream(self, mode: str, content: bytes) -> None:
            """Zeros while huge (up to :data:`HUGE_CAP`), or ``content`` a byte per :data:`TRICKLE_S` while trickling."""
            sent = 0
            while server.hostile == mode and sent < (HUGE_CAP if mode == "huge" else len(content)):
                self.wfile.write(bytes(CHUNK) if mode == "huge" else content[sent:sent + 1])
                self.wfile.flush()
                sent += CHUNK if mode == "huge" else 1
                if mode == "trickle":
                    time.sleep(TRICKLE_S)
            if mode == "trickle":
                self.wfile.write(content[sent:])
            self.close_connection = True

        def _answer(self, status: HTTPStatus, headers: dict[str, str], content: bytes = b"", *,
                    length: int | None = None) -> None:
            server._record(self.command, self.path, int(status))  # before the client can see the answer
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            if status != HTTPStatus.NOT_MODIFIED:
                self.send_header("Content-Length", str(len(content) if length is None else length))
            self.end_headers()
            if content:
                self.wfile.write(content)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (http.server's signature)
            """Silence the default stderr log; :attr:`FeedServer.requests` keeps the record."""

    return Handler


def _not_modified(if_none_match: str | None, if_modified_since: str | None, etag: str, mtime: int) -> bool:
    if if_none_match is not None:  # RFC 9110: If-None-Match takes precedence
        tags = {tag.strip() for tag in if_none_match.split(",")}
        return "*" in tags or etag in tags or f"W/{etag}" in tags
    if if_modified_since is not None:
        try:
            since = parsedate_to_datetime(if_modified_since).timestamp()
        except (TypeError, ValueError):
            return False
        return mtime <= since
    return False
