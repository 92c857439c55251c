"""1 MiB messages echoed by a Protocol server and by a streams server.

Shared by the tcp and unix tests. Each message is read in several chunks and
written back while more of it is still arriving: every byte must come back,
in order, whatever the loop's read sizes and write queue do in between.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

#: Three different 1 MiB messages: a byte out of place would show.
MESSAGES = [bytes([i]) + bytes(range(256)) * 4096 for i in range(3)]


class EchoBytes(asyncio.Protocol):
    """Writes back what arrives, checking that every chunk is ``bytes``."""

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        assert type(data) is bytes, type(data)
        self.transport.write(data)


async def stream_echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A streams handler: read, write, drain, until the client closes."""
    while data := await reader.read(256 * 1024):
        writer.write(data)
        await writer.drain()
    writer.close()
    await writer.wait_closed()


async def round_trips(
    connect: Callable[[], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]],
) -> None:
    """Send each of MESSAGES and check that exactly it comes back."""
    reader, writer = await connect()
    for message in MESSAGES:
        writer.write(message)
        assert await reader.readexactly(len(message)) == message
    writer.close()
    await writer.wait_closed()
