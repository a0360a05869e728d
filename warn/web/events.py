"""Live pages: ``GET /events``, Server-Sent Events that say when the store changed.

Every :data:`POLL_S` the service reads the store's version (:meth:`warn.store.views.Views.version`: the
timeline's head, the last cycle, the sources' beats, the last answer, the last mode change — whoever wrote
them: this service, ``warn run``, the CLI in another process) once for all its clients, and each stream sends
``event: change`` with ``{"version", "at"}`` when it differs from what that stream sent last — also right
after it (re)connects, so that a page that lost its connection catches up. A store that cannot be read
(down, unreachable) is ``event: store`` with ``{"ok": false}`` once, and ``{"ok": true}`` once it is read
again: the screens say so. ``event: ping`` every :data:`PING_S` keeps proxies from closing a quiet stream.
A stream ends when its client goes away or the service stops.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from warn.errors import WarnError, first_line
from warn.store import STORE_FAILURES
from warn.web.reads import desk_of, views_of
from warn.web.viewer import viewer

log = logging.getLogger(__name__)

#: Seconds between two reads of the store's version.
POLL_S = 0.5
#: Seconds between two pings on a quiet stream.
PING_S = 10.0
#: Milliseconds a browser waits before reconnecting (the SSE ``retry`` field).
RETRY_MS = 1000


@dataclass
class Watch:
    """The store's version as last read, shared by every stream of an application."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    value: str = ""
    read_at: float = float("-inf")


async def version(request: Request) -> str:
    """The store's version, read again when the last read is older than :data:`POLL_S` (else the one read)."""
    state = request.app.state
    watch: Watch | None = getattr(state, "watch", None)
    if watch is None:
        watch = state.watch = Watch()
    async with watch.lock:
        if time.monotonic() - watch.read_at >= POLL_S * 0.8:
            watch.value = await run_in_threadpool(_read, request)
            watch.read_at = time.monotonic()
        return watch.value


def _read(request: Request) -> str:
    with views_of(request) as views:
        return views.version()


async def stream(request: Request) -> Response:
    """Server-Sent Events: ``change`` when the store changed (and on connecting), ``ping`` every 10 s.
    ---
    summary: 实时变更事件 / live change events
    responses: {200: {description: "text/event-stream: event change, data {version, at}; event ping",
      content: {text/event-stream: {}}}}
    """
    viewer(request)  # only behind the gate
    return StreamingResponse(_events(request), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


async def _events(request: Request) -> AsyncIterator[str]:
    yield f"retry: {RETRY_MS}\n\n"
    sent: str | None = None
    readable = True
    pinged = time.monotonic()
    stopping = getattr(request.app.state, "stopping", lambda: False)  # set by warn.web.server.server
    while not stopping() and not await request.is_disconnected():
        try:
            now: str | None = await version(request)
        except (WarnError, *STORE_FAILURES) as err:  # the store could not be read this time: said once, tried again
            log.warning("存储版本读取失败 / reading the store's version failed: %s", first_line(err))
            now = sent
            if readable:
                readable = False
                yield 'event: store\ndata: {"ok": false}\n\n'
        else:
            if not readable:
                readable = True
                yield 'event: store\ndata: {"ok": true}\n\n'
        if now != sent:
            sent, pinged = now, time.monotonic()
            data = json.dumps({"version": now, "at": desk_of(request).clock().isoformat()})
            yield f"event: change\ndata: {data}\n\n"
        elif time.monotonic() - pinged >= PING_S:
            pinged = time.monotonic()
            yield "event: ping\ndata: {}\n\n"
        await asyncio.sleep(POLL_S)


routes: list[BaseRoute] = [Route("/events", stream, methods=["GET"])]
