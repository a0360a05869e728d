"""Running the web service under uvicorn: in the foreground (``warn serve``) or on a thread (``warn run``, tests).

uvicorn's access log is off: a request line would carry a link's token, which answers for its person.
Errors are logged by the application without it (:func:`warn.web.app.redacted`).
"""

from __future__ import annotations

import logging
import socket
import threading
import time

import uvicorn
from starlette.applications import Starlette

from warn.errors import Problem, WarnError

#: Seconds a thread-run server has to start listening.
START_TIMEOUT_S = 10.0
#: Seconds the requests under way have to finish when the service stops; then they are cut (a page's event
#: stream, :mod:`warn.web.events`, ends by itself within half a second: this is the backstop).
STOP_GRACE_S = 3.0


def listen(host: str, port: int) -> socket.socket:
    """A TCP socket listening on ``host``:``port`` (0: a free port) whose connections answer without delay.

    asyncio turns Nagle's algorithm off (``TCP_NODELAY``) only on connections accepted from a socket made with
    ``proto=IPPROTO_TCP``; :func:`socket.create_server` makes ``proto`` 0, and then each response written in two
    parts (head, body) waits for the client's delayed acknowledgement: 40 ms a request on Linux.

    Raises
    ------
    OSError
        The address cannot be resolved or bound.
    """
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                         proto=socket.IPPROTO_TCP, flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen()
    except OSError:
        sock.close()
        raise
    return sock


def server(app: Starlette, host: str, port: int, *, log_level: str = "info") -> uvicorn.Server:
    """A uvicorn server of ``app`` on ``host``:``port``, without access log (in this whole process: uvicorn
    writes request lines whenever its access logger has a handler, wherever logging sends them)."""
    config = uvicorn.Config(app, host=host, port=port, access_log=False, log_level=log_level, lifespan="off",
                            server_header=False, timeout_graceful_shutdown=STOP_GRACE_S)
    logging.getLogger("uvicorn.access").disabled = True  # after the Config, whose logging set-up enables it
    running = uvicorn.Server(config)
    app.state.stopping = lambda: running.should_exit  # the pages' event streams end when the service stops
    return running


class Background:
    """The web service on a thread: :meth:`start` returns once it listens; :meth:`stop` waits for it.

    Parameters
    ----------
    app
        The application (:func:`warn.web.create_app`).
    host, port
        Where to listen; port 0 takes a free one (read :attr:`port` after :meth:`start`).
    sock
        A socket already listening there, when the address had to be known before the application was made
        (a drill's links name it).
    log_level
        uvicorn's (``warning`` keeps a drill's output to its own lines).
    """

    def __init__(self, app: Starlette, host: str, port: int, *, sock: socket.socket | None = None,
                 log_level: str = "info") -> None:
        self._socket = sock or listen(host, port)
        self.host = host
        self.port = int(self._socket.getsockname()[1])
        self._server = server(app, host, self.port, log_level=log_level)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]},
                                        name="warn-serve", daemon=True)

    @property
    def url(self) -> str:
        """``http://host:port``."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> Background:
        """Start serving; return once listening.

        Raises
        ------
        WarnError
            It did not start within :data:`START_TIMEOUT_S`.
        """
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise WarnError(Problem(f"{self.url}", "serve", "the web service listening", "it did not start"))
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Stop serving and wait for the requests under way."""
        self._server.should_exit = True
        self._thread.join(timeout=START_TIMEOUT_S)
        self._socket.close()
