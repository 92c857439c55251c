"""A real aiohttp server and client on loopkit, plain and over TLS.

Each test runs on asyncio's own loop too: the asyncio run is the reference
that shows the test itself is right; the loopkit run is the claim.
"""

from __future__ import annotations

import asyncio
import hashlib
import ssl
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

import loopkit

aiohttp = pytest.importorskip("aiohttp")
trustme = pytest.importorskip("trustme")
from aiohttp import web  # noqa: E402

HAS_TCP = loopkit.assemble().providers.get("create_server") == "tcp"

LOOP_FACTORIES = [
    pytest.param(asyncio.new_event_loop, id="asyncio"),
    pytest.param(
        loopkit.new_event_loop,
        id="loopkit",
        marks=pytest.mark.skipif(not HAS_TCP, reason="the tcp plugin is not installed"),
    ),
]

CHUNK = b"0123456789abcdef" * 4096  # 64 KiB


@pytest.fixture(params=LOOP_FACTORIES)
def http_loop(request: pytest.FixtureRequest) -> Iterator[asyncio.AbstractEventLoop]:
    factory: Callable[[], asyncio.AbstractEventLoop] = request.param
    loop = factory()
    try:
        yield loop
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


@pytest.fixture(scope="module")
def certificate_authority() -> Any:
    return trustme.CA()


def make_app() -> web.Application:
    async def hello(request: web.Request) -> web.Response:
        return web.Response(text=f"hello {request.query.get('name', 'world')}")

    async def digest(request: web.Request) -> web.Response:
        sha = hashlib.sha256()
        size = 0
        async for chunk in request.content.iter_chunked(65536):
            sha.update(chunk)
            size += len(chunk)
        return web.json_response({"size": size, "sha256": sha.hexdigest()})

    async def stream(request: web.Request) -> web.StreamResponse:
        count = int(request.query["chunks"])
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for _ in range(count):
            await response.write(CHUNK)
        await response.write_eof()
        return response

    async def websocket(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for message in ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                await ws.send_str(message.data.upper())
            elif message.type == aiohttp.WSMsgType.BINARY:
                await ws.send_bytes(message.data[::-1])
        return ws

    app = web.Application()
    app.router.add_get("/hello", hello)
    app.router.add_post("/digest", digest)
    app.router.add_get("/stream", stream)
    app.router.add_get("/ws", websocket)
    return app


async def serve(ssl_context: ssl.SSLContext | None = None) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(make_app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
    await site.start()
    server = site._server
    assert server is not None
    port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, port


async def upload_body(chunks: int) -> AsyncIterator[bytes]:
    for _ in range(chunks):
        yield CHUNK
        await asyncio.sleep(0)


async def exercise(base: str, client_ssl: ssl.SSLContext | bool = True) -> None:
    connector = aiohttp.TCPConnector(ssl=client_ssl)
    async with aiohttp.ClientSession(connector=connector) as session:
        async with session.get(f"{base}/hello", params={"name": "loopkit"}) as response:
            assert response.status == 200
            assert await response.text() == "hello loopkit"

        async with session.post(f"{base}/digest", data=upload_body(32)) as response:
            result = await response.json()
        expected = hashlib.sha256(CHUNK * 32).hexdigest()
        assert result == {"size": len(CHUNK) * 32, "sha256": expected}

        received = 0
        async with session.get(f"{base}/stream", params={"chunks": "24"}) as response:
            async for chunk in response.content.iter_chunked(50000):
                received += len(chunk)
        assert received == len(CHUNK) * 24

        ws_base = base.replace("http", "ws", 1)
        async with session.ws_connect(f"{ws_base}/ws") as ws:
            await ws.send_str("ping")
            assert (await ws.receive_str()) == "PING"
            await ws.send_bytes(b"abc" * 10000)
            assert (await ws.receive_bytes()) == b"cba" * 10000
            await ws.close()


def test_http_server_and_client(http_loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> None:
        runner, port = await serve()
        try:
            await exercise(f"http://127.0.0.1:{port}")
        finally:
            await runner.cleanup()

    http_loop.run_until_complete(asyncio.wait_for(main(), 30))


def test_https_server_and_client(
    http_loop: asyncio.AbstractEventLoop, certificate_authority: Any
) -> None:
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate_authority.issue_cert("127.0.0.1", "localhost").configure_cert(server_context)
    client_context = ssl.create_default_context()
    certificate_authority.configure_trust(client_context)

    async def main() -> None:
        runner, port = await serve(server_context)
        try:
            await exercise(f"https://127.0.0.1:{port}", client_context)
        finally:
            await runner.cleanup()

    http_loop.run_until_complete(asyncio.wait_for(main(), 30))


def test_https_client_refuses_an_untrusted_server(
    http_loop: asyncio.AbstractEventLoop, certificate_authority: Any
) -> None:
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate_authority.issue_cert("127.0.0.1").configure_cert(server_context)

    async def main() -> None:
        runner, port = await serve(server_context)
        try:
            async with aiohttp.ClientSession() as session:
                with pytest.raises(aiohttp.ClientConnectorCertificateError):
                    await session.get(f"https://127.0.0.1:{port}/hello")
        finally:
            await runner.cleanup()

    http_loop.run_until_complete(asyncio.wait_for(main(), 30))
