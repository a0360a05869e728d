"""HTTP GET for every feed: timeouts, retries with backoff, an injectable transport.

Forecast runs and sensor feeds are fetched through :class:`HttpGetter`, so they retry
the same way: on connection errors, timeouts and the 5xx statuses of
:data:`RETRY_STATUSES`, waiting ``backoff · 2^k`` seconds before attempt k + 2; any
other unexpected status fails at once with the URL in the message.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping
from typing import Any

import httpx

from warn.errors import Problem, SourceError

#: HTTP statuses worth retrying: the server, not the request, is at fault.
RETRY_STATUSES = frozenset({500, 502, 503, 504})


class HttpGetter:
    """GET with timeouts, and retries with exponential backoff on connection errors and 5xx.

    Parameters
    ----------
    transport
        httpx transport; the default is httpx's.
    timeout
        Seconds allowed for connecting and for each read.
    attempts
        How many times to try on a connection error, a timeout or a 5xx.
    backoff
        Seconds before the second attempt; doubled before each further one.
    sleep
        How to wait between attempts.
    """

    def __init__(self, *, transport: httpx.BaseTransport | None = None, timeout: float = 30.0, attempts: int = 4,
                 backoff: float = 1.0, sleep: Callable[[float], None] = time.sleep) -> None:
        if attempts < 1:
            raise ValueError(f"attempts must be at least 1, got {attempts}")
        self.transport, self.timeout, self.attempts, self.backoff, self.sleep = (
            transport, timeout, attempts, backoff, sleep)

    def client(self) -> httpx.Client:
        """A client to pass to :meth:`get` (close it, e.g. with ``with``)."""
        return httpx.Client(transport=self.transport, timeout=self.timeout, follow_redirects=True)

    def get(self, client: httpx.Client, url: str, params: Mapping[str, str | int] | None = None, *,
            headers: Mapping[str, str] | None = None, ok: Collection[int] = (200,)) -> httpx.Response:
        """GET ``url``; return the response when its status is in ``ok``.

        Raises
        ------
        SourceError
            Naming the URL: any other HTTP status, or failures after every attempt.
        """
        failure = ""
        for attempt in range(self.attempts):
            if attempt:
                self.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                response = client.get(url, params=params, headers=headers)
            except (httpx.UnsupportedProtocol, httpx.InvalidURL) as err:  # no retry makes a bad URL good
                raise SourceError(Problem(url, "", "an http(s):// URL", f"{type(err).__name__}: {err}")) from None
            except httpx.TransportError as err:
                failure = f"{type(err).__name__}: {err}"
                continue
            if response.status_code in RETRY_STATUSES:
                failure = f"HTTP {response.status_code}"
                continue
            if response.status_code not in ok:
                raise SourceError(Problem(str(response.url), "", " or ".join(f"HTTP {s}" for s in ok),
                                          f"HTTP {response.status_code} {response.reason_phrase}"))
            return response
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
        response = self.get(client, url, params)
        try:
            return response.json()
        except ValueError as err:
            raise SourceError(Problem(str(response.url), "", "a JSON document", f"{err}")) from None
