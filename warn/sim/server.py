"""The base of the demo world's HTTP servers: a threaded server on the loopback interface.

:class:`LocalServer` binds (127.0.0.1, port 0 picks a free port), serves in a
background thread, and stops cleanly; subclasses give the request handler. It counts the TCP
connections it accepted and those that ended (:attr:`LocalServer.connections`), so a drill or a
test sees whether its clients keep their connections alive.
"""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self


class _CountingServer(ThreadingHTTPServer):
    """A threaded HTTP server that counts the connections it accepted and those that ended."""

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self.accepted = self.ended = 0
        self._count = threading.Lock()

    def get_request(self) -> tuple[socket.socket, Any]:
        request = super().get_request()
        with self._count:
            self.accepted += 1
        return request

    def shutdown_request(self, request: Any) -> None:
        super().shutdown_request(request)
        with self._count:
            self.ended += 1


class LocalServer:
    """A threaded HTTP server in the background, usable as a context manager.

    Parameters
    ----------
    handler
        The request handler class.
    host
        Address to bind; 127.0.0.1 keeps it local.
    port
        Port to bind; 0 picks a free one (see :attr:`root`).
    """

    def __init__(self, handler: type[BaseHTTPRequestHandler], *, host: str, port: int) -> None:
        self._httpd = _CountingServer((host, port), handler)
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def root(self) -> str:
        """``http://127.0.0.1:<port>`` (no trailing slash)."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def connections(self) -> tuple[int, int]:
        """(accepted, open): the TCP connections accepted so far, and those of them not yet ended."""
        with self._httpd._count:
            return self._httpd.accepted, self._httpd.accepted - self._httpd.ended

    def start(self) -> Self:
        """Start serving in a background thread."""
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=type(self).__name__, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
