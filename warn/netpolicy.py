"""One policy for every network read: connect, read and total deadlines, a body cap, redirects.

Every HTTP exchange of the service — forecast runs, sensor feeds, official bulletins
(:mod:`warn.sources.http`) and the replies of the broadcast channels
(:mod:`warn.broadcast.channels`) — goes through :func:`exchange` under a :class:`NetPolicy`:

- **Deadlines.** ``connect_s`` to connect, ``read_s`` for each read, and ``total_s`` for the
  whole exchange, redirects and body included. httpx's timeouts are per read, so a server
  trickling one byte a second would never time out: the body is streamed and the monotonic
  clock checked after every chunk. (A server that falls silent is cut by the read timeout; so a
  reply ends at the latest one read timeout after the deadline.)
- **Body cap.** ``max_bytes`` per source kind: a declared ``Content-Length`` above it is refused
  before a byte is read, and the bytes are counted while streaming (a Content-Length that lies,
  a chunked or compressed body: the decoded bytes count, inflated a bounded piece at a time, so
  a gzip bomb is cut at the cap). A body is never read whole first.
- **Redirects.** Off by default (``redirects=0``); otherwise followed only to the same origin
  (scheme, host, port), at most ``redirects`` times. A redirect elsewhere is refused.

A reply past any limit raises :class:`NetRefusal`, a sentence naming the URL, the limit and what
was received; the callers turn it into their own error (a source's, a channel's).
"""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from warn.errors import Problem, WarnError

#: Largest piece of a body handled at once, bytes (read from the network, or inflated).
CHUNK = 2**16
#: The content codings asked for and inflated (:func:`_decoded`).
ACCEPT_ENCODING = "gzip, deflate"

@dataclass(frozen=True)
class NetPolicy:
    """The bounds of one kind of network read.

    Parameters
    ----------
    max_bytes
        Largest body accepted, bytes (decoded).
    connect_s
        Seconds allowed to connect.
    read_s
        Seconds allowed for each read (a silent server).
    total_s
        Seconds allowed for the whole exchange, from the request to the last byte.
    redirects
        Same-origin redirects followed; 0: none.
    """

    max_bytes: int
    connect_s: float = 10.0
    read_s: float = 30.0
    total_s: float = 120.0
    redirects: int = 0

    def timeout(self) -> httpx.Timeout:
        """httpx's per-operation timeouts; connecting takes no longer than the total deadline."""
        return httpx.Timeout(self.read_s, connect=min(self.connect_s, self.total_s))

    def client(self, transport: httpx.BaseTransport | None = None) -> httpx.Client:
        """A client under this policy (redirects are followed by :func:`exchange`, never by httpx)."""
        return httpx.Client(transport=transport, timeout=self.timeout(), follow_redirects=False,
                            headers={"Accept-Encoding": ACCEPT_ENCODING})


@dataclass(frozen=True)
class Reply:
    """A reply read within its policy: the final URL, the status, the headers and the body."""

    url: str
    status_code: int
    reason_phrase: str
    headers: httpx.Headers
    content: bytes

    @property
    def is_success(self) -> bool:
        """A 2xx status."""
        return 200 <= self.status_code < 300

    @property
    def text(self) -> str:
        """The body as UTF-8 text (undecodable bytes replaced)."""
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        """The body decoded as JSON (``ValueError`` when it is not)."""
        return json.loads(self.content)


class NetRefusal(WarnError):
    """A reply went past a limit of its :class:`NetPolicy`; ``status`` is its HTTP status when one came."""

    def __init__(self, problem: Problem, *, status: int | None = None) -> None:
        super().__init__(problem)
        self.status = status


def origin(url: httpx.URL) -> tuple[str, str, int | None]:
    """(scheme, host, port) of ``url``, the port made explicit."""
    default = {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, url.host, url.port or default


def exchange(client: httpx.Client, method: str, url: str, policy: NetPolicy, *,
             sink: Callable[[bytes], None] | None = None, **request: Any) -> Reply:
    """Send one request and read its reply within ``policy``.

    Parameters
    ----------
    client
        From :meth:`NetPolicy.client` (it must not follow redirects itself).
    method, url
        The request; ``request`` holds httpx's ``params``, ``headers``, ``content``, ``json``.
    policy
        The limits.
    sink
        Where the body goes chunk by chunk (e.g. a file); ``None`` keeps it in :attr:`Reply.content`.

    Raises
    ------
    NetRefusal
        A redirect elsewhere or one too many, a body over ``max_bytes``, the total deadline passed.
    httpx.TransportError
        Connecting or reading failed (a read timeout included).
    """
    deadline = time.monotonic() + policy.total_s
    outgoing = client.build_request(method, url, **request)
    for hop in range(policy.redirects + 1):
        response = client.send(outgoing, stream=True)
        try:
            following = response.next_request
            if following is None:
                return _read(response, policy, deadline, sink)
            _check_redirect(outgoing.url, following.url, hop, policy, response.status_code)
            outgoing = following
        finally:
            response.close()
    raise AssertionError("unreachable: the last hop returns or raises")


def _check_redirect(source: httpx.URL, target: httpx.URL, hop: int, policy: NetPolicy, status: int) -> None:
    shown = _shown(source)
    if hop >= policy.redirects:
        expected = "no redirect (redirects are off)" if not policy.redirects else \
            f"at most {policy.redirects} redirect(s) within {shown}"
        raise NetRefusal(Problem(shown, "", expected, f"a redirect to {_shown(target)}"), status=status)
    if origin(target) != origin(source):
        raise NetRefusal(Problem(shown, "", f"a redirect within the same origin {origin_text(source)}",
                                 f"a redirect to {_shown(target)}", "a redirect elsewhere is never followed"),
                         status=status)


def _read(response: httpx.Response, policy: NetPolicy, deadline: float,
          sink: Callable[[bytes], None] | None) -> Reply:
    shown = _shown(response.url)
    status = response.status_code
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > policy.max_bytes:
        raise NetRefusal(Problem(shown, "", f"a body of at most {size(policy.max_bytes)}",
                                 f"Content-Length {size(int(declared))}"), status=status)
    chunks: list[bytes] = []
    count = 0
    for chunk in _decoded(response, shown):
        count += len(chunk)
        if count > policy.max_bytes:
            raise NetRefusal(Problem(shown, "", f"a body of at most {size(policy.max_bytes)}",
                                     f"more than that after {size(count)} read"), status=status)
        if time.monotonic() > deadline:
            elapsed = time.monotonic() - deadline + policy.total_s
            raise NetRefusal(Problem(shown, "", f"the whole reply within {policy.total_s:g} s",
                                     f"{size(count)} after {elapsed:.1f} s, still coming",
                                     "a server trickling its reply is cut at the deadline"), status=status)
        if sink is None:
            chunks.append(chunk)
        else:
            sink(chunk)
    return Reply(str(response.url), status, response.reason_phrase, response.headers, b"".join(chunks))


def _decoded(response: httpx.Response, shown: str) -> Iterator[bytes]:
    """The body's bytes as the sender meant them, as they come (inflated: at most :data:`CHUNK` at a time).

    gzip and deflate are inflated here, a bounded piece at a time: httpx would inflate each
    network chunk whole, and 64 KiB of gzip can hold 64 MiB. Other encodings are refused.
    """
    if response.is_stream_consumed:  # an injected transport (a test's) handed over the body read and decoded
        content = response.content
        yield from (content[i:i + CHUNK] for i in range(0, len(content), CHUNK))
        return
    encoding = response.headers.get("Content-Encoding", "").strip().lower()
    if encoding in ("", "identity"):
        yield from response.iter_raw()
        return
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise NetRefusal(Problem(shown, "Content-Encoding", "gzip, deflate or none", encoding[:40]),
                         status=response.status_code)
    inflater = zlib.decompressobj(32 + zlib.MAX_WBITS)  # gzip or zlib, told apart by the header
    try:
        for raw in response.iter_raw():
            while raw:
                yield inflater.decompress(raw, CHUNK)
                raw = inflater.unconsumed_tail
        yield inflater.flush()
    except zlib.error as err:
        raise NetRefusal(Problem(shown, "", f"a readable {encoding} body", str(err)),
                         status=response.status_code) from None


def size(count: int) -> str:
    """``count`` bytes for people: ``512 MiB``, ``64 KiB``, ``17 bytes``."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if count >= scale:
            return f"{count / scale:.4g} {unit}"
    return f"{count} bytes"


def origin_text(url: httpx.URL) -> str:
    """``scheme://host:port`` of ``url``."""
    scheme, host, port = origin(url)
    return f"{scheme}://{host}:{port}"


def _shown(url: httpx.URL) -> str:
    """``url`` without its query (which may carry a robot's access token)."""
    return str(url.copy_with(query=None))
