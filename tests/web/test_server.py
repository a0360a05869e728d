"""The web service's listening socket: its connections answer without waiting for a delayed acknowledgement."""

from __future__ import annotations

import asyncio
import socket

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from warn.web.server import Background, listen


async def _accepted_nodelay(sock: socket.socket) -> int:
    """Accept one connection on ``sock`` as uvicorn does (asyncio's server) and read its TCP_NODELAY option."""
    accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            accepted.set_result(transport.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    server = await asyncio.get_running_loop().create_server(Probe, sock=sock)
    async with server:
        _, writer = await asyncio.open_connection(*sock.getsockname()[:2])
        try:
            return await asyncio.wait_for(accepted, timeout=5)
        finally:
            writer.close()


def test_connections_accepted_from_the_listening_socket_have_nagle_off() -> None:
    sock = listen("127.0.0.1", 0)
    assert sock.proto == socket.IPPROTO_TCP
    assert asyncio.run(_accepted_nodelay(sock)) == 1


def test_the_background_service_answers_on_a_free_port() -> None:
    def hello(_: Request) -> PlainTextResponse:
        return PlainTextResponse("你好")

    web = Background(Starlette(routes=[Route("/", hello)]), "127.0.0.1", 0, log_level="warning").start()
    try:
        assert web.port > 0
        with httpx.Client() as client:
            assert [client.get(web.url).text for _ in range(3)] == ["你好"] * 3
    finally:
        web.stop()
