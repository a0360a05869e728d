"""A real local HTTP server for forecast files (demo, drills and tests).

:class:`FeedServer` serves the files of one directory from a
:class:`http.server.ThreadingHTTPServer` in a background thread, bound to
127.0.0.1 on a free port by default, the way a forecast provider's server does:
``ETag`` (the file's sha256) and ``Last-Modified`` on every response, ``304 Not
Modified`` to ``If-None-Match`` / ``If-Modified-Since``, and optionally a number of
``503`` answers first, to drill a flaky feed::

    with FeedServer(directory) as server:
        url = server.url + "/yubei-demo-analogue_2026071500.nc"
"""

from __future__ import annotations

import hashlib
import threading
from email.utils import formatdate, parsedate_to_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import unquote, urlsplit

from warn.sim.server import LocalServer


class FeedServer(LocalServer):
    """Serve a directory of forecast files over HTTP on the loopback interface.

    Parameters
    ----------
    directory
        The files to serve (flat: ``/<name>`` maps to ``directory/<name>``).
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
    """

    def __init__(self, directory: Path, *, host: str = "127.0.0.1", port: int = 0, failures: int = 0) -> None:
        self.directory = Path(directory).resolve()
        if not self.directory.is_dir():
            raise NotADirectoryError(f"{self.directory}: expected a directory of forecast files")
        self.failures = failures
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

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            self._serve(body=True)

        def do_HEAD(self) -> None:  # noqa: N802
            self._serve(body=False)

        def _serve(self, *, body: bool) -> None:
            if body and server._take_failure():
                return self._answer(HTTPStatus.SERVICE_UNAVAILABLE, {"Retry-After": "1"})
            name = unquote(urlsplit(self.path).path).lstrip("/")
            target = (server.directory / name).resolve()
            if not name or target.parent != server.directory or not target.is_file():
                return self._answer(HTTPStatus.NOT_FOUND, {})
            content = target.read_bytes()
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
