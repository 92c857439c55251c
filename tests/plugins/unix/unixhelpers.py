"""Protocols and version facts shared by the unix tests."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

#: Whether closing a Unix server removes its socket file: asyncio's default
#: from 3.13 on (``cleanup_socket=True``); before, the file stays. loopkit
#: does what the running Python's asyncio does.
REMOVED_ON_CLOSE = sys.version_info >= (3, 13)


class Echo(asyncio.Protocol):
    """Sends back whatever it receives; closes when the peer sends EOF."""

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


class Collector(asyncio.Protocol):
    """Records data and how the connection ended; futures to wait on both."""

    def __init__(self) -> None:
        loop = asyncio.get_running_loop()
        self.transport: Any = None
        self.data = bytearray()
        self.lost: asyncio.Future[BaseException | None] = loop.create_future()
        self.lost_calls = 0
        self._want = 0
        self._enough: asyncio.Future[None] | None = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.data += data
        if self._enough is not None and len(self.data) >= self._want:
            self._enough.set_result(None)
            self._enough = None

    def connection_lost(self, exc: BaseException | None) -> None:
        self.lost_calls += 1
        if not self.lost.done():
            self.lost.set_result(exc)

    async def receive(self, nbytes: int) -> bytes:
        """Wait until at least ``nbytes`` have arrived in total; return them all."""
        if len(self.data) < nbytes:
            self._want = nbytes
            self._enough = asyncio.get_running_loop().create_future()
            await self._enough
        return bytes(self.data)


async def echo_once(path: Any, data: bytes = b"ping") -> bytes:
    """Connect to ``path``, send ``data``, return what comes back, close cleanly."""
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_unix_connection(Collector, path)
    try:
        transport.write(data)
        return (await proto.receive(len(data)))[: len(data)]
    finally:
        transport.close()
        await proto.lost
