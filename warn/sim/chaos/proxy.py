"""A TCP relay in front of a server on the loopback interface, to cut and restore the way to it.

:class:`TcpProxy` stands between ``warn run`` and its PostgreSQL store as a network link would: while it is
:meth:`~TcpProxy.cut`, every relayed connection is dropped and new ones are closed as soon as they are
accepted (the client reads "server closed the connection unexpectedly"); :meth:`~TcpProxy.restore` opens
the way again. The server itself never notices.
"""

from __future__ import annotations

import socket
import threading

#: Bytes relayed per read.
CHUNK = 65536


class TcpProxy:
    """Relay 127.0.0.1:``port`` (a free port, see :attr:`port`) to ``host``:``target_port``.

    Use as a context manager, or :meth:`start` and :meth:`stop`.
    """

    def __init__(self, host: str, target_port: int) -> None:
        self.target = (host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._open = threading.Event()
        self._open.set()
        self._lock = threading.Lock()
        self._relayed: set[socket.socket] = set()
        self._thread = threading.Thread(target=self._accept, name=f"proxy:{self.port}", daemon=True)

    def start(self) -> TcpProxy:
        """Start accepting."""
        self._thread.start()
        return self

    def cut(self) -> None:
        """Drop every relayed connection and close new ones at once, until :meth:`restore`."""
        self._open.clear()
        with self._lock:
            for sock in self._relayed:
                _close(sock)
            self._relayed.clear()

    def restore(self) -> None:
        """Relay new connections again."""
        self._open.set()

    def stop(self) -> None:
        """Cut, and stop accepting."""
        self.cut()
        _close(self._listener)
        self._thread.join(5)

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:  # stopped
                return
            if not self._open.is_set():
                _close(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _close(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                self._relayed |= {client, upstream}
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(CHUNK):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._relayed -= {source, sink}
            _close(source)
            _close(sink)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
