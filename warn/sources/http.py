"""HTTP GET for every feed: the network policy, retries with backoff, an injectable transport.

Forecast runs, radar frames, sensor feeds and official bulletins are fetched through
:class:`HttpGetter`, so they are bounded and retry the same way. A getter is one source's: it
holds one ``httpx.Client`` for its life (made on first use, its connections kept alive and
reused from request to request and cycle to cycle) until :meth:`HttpGetter.close`, which the
service calls when it stops. Each GET runs under the getter's
:class:`~warn.netpolicy.NetPolicy` (connect, read and total deadlines, a body cap, redirects
off or same origin); a reply past a limit fails at once, naming the URL, the limit and what
came — the same server would send the same again. Connection errors, read timeouts and the 5xx
statuses of :data:`RETRY_STATUSES` are retried, waiting ``backoff · 2^k`` seconds before
attempt k + 2; any other unexpected status fails at once with the URL in the message.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Mapping
from typing import Any

import httpx

from warn.config import MiB, NetLimits
from warn.errors import Problem, SourceError
from warn.netpolicy import NetPolicy, NetRefusal, Reply, exchange

#: HTTP statuses worth retrying: the server, not the request, is at fault.
RETRY_STATUSES = frozenset({500, 502, 503, 504})


def policy_of(limits: NetLimits) -> NetPolicy:
    """A source's configured limits (``timeout_s``, ``deadline_s``, ``max_bytes`` …) as its policy."""
    return NetPolicy(max_bytes=limits.max_bytes, connect_s=limits.connect_timeout_s, read_s=limits.timeout_s,
                     total_s=limits.deadline_s, redirects=limits.redirects)


class HttpGetter:
    """GET within a network policy, and retries with exponential backoff on connection errors and 5xx.

    Parameters
    ----------
    transport
        httpx transport; the default is httpx's.
    policy
        Deadlines, body cap and redirects of every GET (default: 16 MiB, 30 s per read, 120 s in all).
    attempts
        How many times to try on a connection error, a timeout or a 5xx.
    backoff
        Seconds before the second attempt; doubled before each further one.
    sleep
        How to wait between attempts.
    """

    def __init__(self, *, transport: httpx.BaseTransport | None = None, policy: NetPolicy | None = None,
                 attempts: int = 4, backoff: float = 1.0, sleep: Callable[[float], None] = time.sleep) -> None:
        if attempts < 1:
            raise ValueError(f"attempts must be at least 1, got {attempts}")
        self.transport, self.attempts, self.backoff, self.sleep = transport, attempts, backoff, sleep
        self.policy = policy or NetPolicy(max_bytes=16 * MiB)
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()

    def client(self) -> httpx.Client:
        """The getter's client, to pass to :meth:`get`: one for the getter's life, made on first use (and
        again after it was closed), so that its connections are reused (HTTP keep-alive)."""
        with self._lock:
            if self._client is None or self._client.is_closed:
                self._client = self.policy.client(self.transport)
            return self._client

    def close(self) -> None:
        """Close the client and its connections (a later :meth:`client` makes a new one)."""
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def get(self, client: httpx.Client, url: str, params: Mapping[str, str | int] | None = None, *,
            headers: Mapping[str, str] | None = None, ok: Collection[int] = (200,),
            sink: Callable[[], Callable[[bytes], None]] | None = None) -> Reply:
        """GET ``url``; return the reply when its status is in ``ok``.

        Parameters
        ----------
        sink
            Called at the start of each attempt for where that attempt's body goes (e.g. a file
            opened afresh); ``None`` keeps the body in :attr:`Reply.content`.

        Raises
        ------
        SourceError
            Naming the URL: a reply past a limit of the policy, any other HTTP status, or failures
            after every attempt.
        """
        failure = ""
        for attempt in range(self.attempts):
            if attempt:
                self.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                reply = exchange(client, "GET", url, self.policy, params=params, headers=headers,
                                 sink=sink() if sink else None)
            except (httpx.UnsupportedProtocol, httpx.InvalidURL) as err:  # no retry makes a bad URL good
                raise SourceError(Problem(url, "", "an http(s):// URL", f"{type(err).__name__}: {err}")) from None
            except NetRefusal as err:
                raise SourceError(*err.problems) from None
            except httpx.TransportError as err:
                failure = f"{type(err).__name__}: {err}"
                continue
            if reply.status_code in RETRY_STATUSES:
                failure = f"HTTP {reply.status_code}"
                continue
            if reply.status_code not in ok:
                raise SourceError(Problem(reply.url, "", " or ".join(f"HTTP {s}" for s in ok),
                                          f"HTTP {reply.status_code} {reply.reason_phrase}"))
            return reply
        raise SourceError(Problem(url, "", " or ".join(f"HTTP {s}" for s in ok),
                                  f"{failure} after {self.attempts} attempt(s)",
                                  "the feed is down or unreachable; the service keeps what it has"))

    def get_json(self, client: httpx.Client, url: str, params: Mapping[str, str | int] | None = None) -> Any:
        """GET ``url`` and decode its JSON body.

        Raises
        ------
        SourceError
            As :meth:`get`, or the body is not JSON.
        """
        reply = self.get(client, url, params)
        try:
            return reply.json()
        except ValueError as err:
            raise SourceError(Problem(reply.url, "", "a JSON document", f"{err}")) from None
