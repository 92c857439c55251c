"""An aiohttp websocket echo server on the loop under test.

The worker serves an ``aiohttp.web.Application`` whose one route upgrades
to a websocket (``web.WebSocketResponse``) and sends every text or binary
message back. ``benchmarks/loadgen.py ws`` loads it from a process of its
own: :data:`CLIENTS` connections, each a thread that sends a 1 KiB masked
text frame and waits for its echo before sending the next (wrk cannot speak
websocket). The window and clocks are the echo scenarios' (see
``_echo.py``): the load generator prints ``start`` and ``done`` around the
measured messages, and the value is the server's CPU µs per message.

Skipped without aiohttp. This module must never import a loop
implementation, and never measures anything inside the load generator.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from benchmarks.scenarios._echo import echo_scenario, measure_echo
from benchmarks.scenarios._registry import LoopFactory, Sample
from benchmarks.scenarios.http import require_aiohttp

#: Concurrent websocket connections, one load-generator thread each.
CLIENTS = 16
#: Bytes of text in every message.
MESSAGE_SIZE = 1024


async def serve_websocket(loop: asyncio.AbstractEventLoop, kind: str) -> tuple[str, Any]:
    """aiohttp on a loopback port; the closer is the runner's cleanup."""
    from aiohttp import WSMsgType, web

    async def echo(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                await ws.send_str(message.data)
            elif message.type == WSMsgType.BINARY:
                await ws.send_bytes(message.data)
        return ws

    app = web.Application()
    app.router.add_get("/", echo)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=5.0)
    await runner.setup()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    host, port = listener.getsockname()[:2]
    await web.SockSite(runner, listener, backlog=128).start()

    async def close() -> None:
        await runner.cleanup()
        listener.close()

    return f"{host}:{port}", close


@echo_scenario("ws_aiohttp_echo", "http", size=20_000, quick_size=500, per="message")
def ws_aiohttp_echo(new_loop: LoopFactory, n: int) -> Sample:
    """aiohttp websocket echo of 1 KiB text messages, 16 clients (server CPU µs/message)."""
    require_aiohttp()
    return measure_echo(new_loop, n, serve_websocket, "ws", MESSAGE_SIZE, CLIENTS)
