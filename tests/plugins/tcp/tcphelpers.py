"""Protocols and helpers shared by the tcp tests."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from noblocking import own_blocking_call


class Recorder(asyncio.Protocol):
    """A protocol that records what the transport tells it.

    ``events`` lists the callbacks in the order they came; futures let a
    test wait for the connection, end of file and the connection's loss.
    """

    def __init__(self, keep_open: bool = False) -> None:
        loop = asyncio.get_running_loop()
        self.keep_open = keep_open
        self.transport: Any = None
        self.events: list[str] = []
        self.data = bytearray()
        self.made: asyncio.Future[None] = loop.create_future()
        self.eof: asyncio.Future[None] = loop.create_future()
        self.lost: asyncio.Future[BaseException | None] = loop.create_future()
        self.lost_calls = 0
        self.paused = 0
        self.resumed = 0
        self._want = 0
        self._got_enough: asyncio.Future[None] | None = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.events.append("made")
        self.made.set_result(None)

    def data_received(self, data: bytes) -> None:
        if not self.events or self.events[-1] != "data":
            self.events.append("data")
        self.data += data
        self._check_enough()

    def eof_received(self) -> bool:
        self.events.append("eof")
        self.eof.set_result(None)
        return self.keep_open

    def connection_lost(self, exc: BaseException | None) -> None:
        self.events.append("lost")
        self.lost_calls += 1
        if not self.lost.done():
            self.lost.set_result(exc)

    def pause_writing(self) -> None:
        self.paused += 1

    def resume_writing(self) -> None:
        self.resumed += 1

    async def receive(self, nbytes: int) -> bytes:
        """Wait until at least ``nbytes`` have arrived in total."""
        self._want = nbytes
        if len(self.data) < nbytes:
            self._got_enough = asyncio.get_running_loop().create_future()
            await self._got_enough
        return bytes(self.data)

    def _check_enough(self) -> None:
        fut = self._got_enough
        if fut is not None and not fut.done() and len(self.data) >= self._want:
            fut.set_result(None)


class Echo(asyncio.Protocol):
    """Writes back what it receives; closes at end of file."""

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


async def serve(factory: Any = Echo, **kwargs: Any) -> tuple[asyncio.AbstractServer, int]:
    """A server on 127.0.0.1 and a free port; returns (server, port)."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(factory, "127.0.0.1", 0, **kwargs)
    return server, server.sockets[0].getsockname()[1]


def closed_port() -> int:
    """A loopback port with nothing listening on it (connecting is refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def socket_pair() -> tuple[socket.socket, socket.socket]:
    """A connected pair of non-blocking TCP sockets over loopback."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        client = own_blocking_call(socket.create_connection, listener.getsockname())
        server, _ = own_blocking_call(listener.accept)
    client.setblocking(False)
    server.setblocking(False)
    return client, server


def fill_kernel_buffers(sock: socket.socket) -> int:
    """Write to a non-blocking socket until the kernel takes no more."""
    total = 0
    chunk = b"x" * 65536
    while True:
        try:
            total += sock.send(chunk)
        except BlockingIOError:
            return total


async def hang_up(
    transport: asyncio.BaseTransport, proto: Any, server: asyncio.AbstractServer
) -> None:
    """End a test's connection and its server, waiting for both to be gone.

    ``proto`` is a :class:`Recorder` (its ``lost`` future is done once
    connection_lost ran).
    """
    transport.close()
    await proto.lost
    server.close()
    await server.wait_closed()
