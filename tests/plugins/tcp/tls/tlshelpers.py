"""Application protocols, servers and reference peers for the TLS layer tests.

The reference peers for close_notify behaviour are the stdlib's blocking
``ssl`` socket in a thread (``ThreadPeer``), or a thread driving an
``SSLObject`` by hand over the plain socket (``RawThreadPeer``).
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

from loopkit.transports.tls.apptransport import SSLAppTransport
from loopkit.transports.tls.layer import (
    TLSProtocol,
)

HOST = "127.0.0.1"


# -- application protocols -------------------------------------------------


class Recorder(asyncio.Protocol):
    """Records what the TLS layer tells an application protocol."""

    def __init__(self, echo: bool = False) -> None:
        self.echo = echo
        self.transport: Any = None
        self.made = 0
        self.data = bytearray()
        self.eof = 0
        self.lost: list[BaseException | None] = []
        self.paused = 0
        self.resumed = 0
        self.closed = asyncio.get_running_loop().create_future()
        self._want: tuple[int, asyncio.Future[None]] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.made += 1
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.data += data
        if self.echo:
            self.transport.write(data)
        self._check_want()

    def _check_want(self) -> None:
        want = self._want
        if want is not None and len(self.data) >= want[0] and not want[1].done():
            want[1].set_result(None)

    async def received(self, nbytes: int) -> bytes:
        self._want = (nbytes, asyncio.get_running_loop().create_future())
        self._check_want()
        await self._want[1]
        return bytes(self.data)

    def eof_received(self) -> bool | None:
        self.eof += 1
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost.append(exc)
        if not self.closed.done():
            self.closed.set_result(None)

    def pause_writing(self) -> None:
        self.paused += 1

    def resume_writing(self) -> None:
        self.resumed += 1


class BufferedRecorder(asyncio.BufferedProtocol):
    """A BufferedProtocol with a deliberately small buffer."""

    def __init__(self, size: int = 1000, echo: bool = False) -> None:
        self.buffer = bytearray(size)
        self.echo = echo
        self.transport: Any = None
        self.data = bytearray()
        self.lost: list[BaseException | None] = []
        self.get_buffer_calls = 0
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def get_buffer(self, sizehint: int) -> bytearray:
        self.get_buffer_calls += 1
        return self.buffer

    def buffer_updated(self, nbytes: int) -> None:
        chunk = bytes(self.buffer[:nbytes])
        self.data += chunk
        if self.echo:
            self.transport.write(chunk)

    def eof_received(self) -> bool | None:
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost.append(exc)
        if not self.closed.done():
            self.closed.set_result(None)


# -- helpers ---------------------------------------------------------------


class TLSServer:
    """create_server with a TLSProtocol per connection, recording each."""

    def __init__(
        self,
        server_ctx: ssl.SSLContext,
        app_factory: Callable[[], asyncio.BaseProtocol],
        **kwargs: Any,
    ) -> None:
        self.ctx = server_ctx
        self.app_factory = app_factory
        self.kwargs = kwargs
        self.apps: list[Any] = []
        self.waiters: list[asyncio.Future[None]] = []
        self.layers: list[TLSProtocol] = []
        self.server: asyncio.Server | None = None
        self.port = 0

    def _make(self) -> TLSProtocol:
        loop = asyncio.get_running_loop()
        app = self.app_factory()
        waiter: asyncio.Future[None] = loop.create_future()
        layer = TLSProtocol(loop, app, self.ctx, waiter, server_side=True, **self.kwargs)
        self.apps.append(app)
        self.waiters.append(waiter)
        self.layers.append(layer)
        return layer

    async def __aenter__(self) -> TLSServer:
        self.server = await asyncio.get_running_loop().create_server(self._make, HOST, 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    async def accepted(self) -> Any:
        """The app protocol of the first connection, once its handshake is done."""
        while not self.waiters:
            await asyncio.sleep(0.005)
        await self.waiters[0]
        return self.apps[0]


async def open_tls(
    app: asyncio.BaseProtocol,
    ctx: ssl.SSLContext | None,
    port: int,
    server_hostname: str | None = "localhost",
    **kwargs: Any,
) -> tuple[SSLAppTransport, TLSProtocol]:
    """What create_connection(ssl=ctx) does with the layer."""
    loop = asyncio.get_running_loop()
    waiter: asyncio.Future[None] = loop.create_future()
    layer = TLSProtocol(loop, app, ctx, waiter, server_hostname=server_hostname, **kwargs)
    transport, _ = await loop.create_connection(lambda: layer, HOST, port)
    try:
        await waiter
    except BaseException:
        transport.close()
        raise
    return layer.get_app_transport(), layer


class ThreadPeer:
    """A blocking stdlib TLS server in a thread, running ``script`` on the
    accepted connection; the reference for close_notify behaviour."""

    def __init__(self, ctx: ssl.SSLContext, script: Callable[[ssl.SSLSocket], Any]) -> None:
        self.listener = socket.create_server((HOST, 0))
        self.port = self.listener.getsockname()[1]
        self.ctx = ctx
        self.script = script
        self.result: Any = None
        self.error: BaseException | None = None
        self.release = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            self.listener.settimeout(5)
            conn, _ = self.listener.accept()
            conn.settimeout(5)
            with self.ctx.wrap_socket(
                conn, server_side=True, suppress_ragged_eofs=False
            ) as tls_sock:
                self.result = self.script(tls_sock)
        except BaseException as exc:
            self.error = exc

    async def finish(self) -> Any:
        self.release.set()
        await asyncio.get_running_loop().run_in_executor(None, self.thread.join, 5)
        self.listener.close()
        if self.error is not None:
            raise self.error
        return self.result


class RawThreadPeer(ThreadPeer):
    """Like ThreadPeer, but ``script`` gets the plain accepted socket."""

    def __init__(self, script: Callable[[socket.socket], Any]) -> None:
        self.raw_script = script
        super().__init__(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER), lambda sock: None)

    def _serve(self) -> None:
        try:
            self.listener.settimeout(5)
            conn, _ = self.listener.accept()
            with conn:
                conn.settimeout(5)
                self.result = self.raw_script(conn)
        except BaseException as exc:
            self.error = exc


async def until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.005)
