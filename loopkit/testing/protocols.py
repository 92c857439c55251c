"""Protocols that record what a transport does to them, for the contracts.

Each records its calls in order (:attr:`RecordingProtocol.calls`) and
offers futures to await the moments a test waits for (made, eof, lost).
They never raise on their own; a test turns on :attr:`raise_in_data` to see
what a transport does with a protocol that fails.
"""

from __future__ import annotations

import asyncio
from typing import Any


class _Recording:
    """What the stream and datagram recorders share."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.calls: list[str] = []
        self.transport: Any = None
        self.made: asyncio.Future[None] = loop.create_future()
        self.lost: asyncio.Future[BaseException | None] = loop.create_future()
        self.raise_in_data: BaseException | None = None
        self._arrived = asyncio.Event()

    def connection_made(self, transport: Any) -> None:
        self.calls.append("connection_made")
        self.transport = transport
        if not self.made.done():
            self.made.set_result(None)

    def connection_lost(self, exc: BaseException | None) -> None:
        self.calls.append("connection_lost")
        if not self.lost.done():
            self.lost.set_result(exc)

    def count(self, call: str) -> int:
        """How many times ``call`` was made."""
        return self.calls.count(call)


class RecordingProtocol(_Recording, asyncio.Protocol):
    """A stream protocol that keeps every byte and every call."""

    #: What ``eof_received`` returns: True keeps the transport open for writing.
    keep_open_on_eof = False

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop)
        self.data = bytearray()
        self.eof: asyncio.Future[None] = loop.create_future()
        self.paused_writing = 0
        self.resumed_writing = 0
        self.writing_resumed = asyncio.Event()

    def data_received(self, data: bytes) -> None:
        self.calls.append("data_received")
        if self.raise_in_data is not None:
            raise self.raise_in_data
        self.data += data
        self._arrived.set()

    def eof_received(self) -> bool:
        self.calls.append("eof_received")
        if not self.eof.done():
            self.eof.set_result(None)
        return self.keep_open_on_eof

    def pause_writing(self) -> None:
        self.calls.append("pause_writing")
        self.paused_writing += 1
        self.writing_resumed.clear()

    def resume_writing(self) -> None:
        self.calls.append("resume_writing")
        self.resumed_writing += 1
        self.writing_resumed.set()

    async def received(self, size: int) -> bytes:
        """Wait until ``size`` bytes in all have arrived; return them."""
        while len(self.data) < size:
            self._arrived.clear()
            await self._arrived.wait()
        return bytes(self.data)


class RecordingBufferedProtocol(RecordingProtocol, asyncio.BufferedProtocol):
    """The same, receiving through ``get_buffer`` / ``buffer_updated``."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop)
        self._buffer = bytearray(4096)

    def get_buffer(self, sizehint: int) -> bytearray:
        self.calls.append("get_buffer")
        return self._buffer

    def buffer_updated(self, nbytes: int) -> None:
        self.calls.append("buffer_updated")
        self.data += self._buffer[:nbytes]
        self._arrived.set()


class RecordingDatagramProtocol(_Recording, asyncio.DatagramProtocol):
    """A datagram protocol that keeps every datagram, error and call."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop)
        self.datagrams: list[tuple[bytes, Any]] = []
        self.errors: list[Exception] = []
        self._errored = asyncio.Event()

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.calls.append("datagram_received")
        if self.raise_in_data is not None:
            raise self.raise_in_data
        self.datagrams.append((data, addr))
        self._arrived.set()

    def error_received(self, exc: Exception) -> None:
        self.calls.append("error_received")
        self.errors.append(exc)
        self._errored.set()

    async def received(self, count: int) -> list[tuple[bytes, Any]]:
        """Wait until ``count`` datagrams in all have arrived; return them."""
        while len(self.datagrams) < count:
            self._arrived.clear()
            await self._arrived.wait()
        return list(self.datagrams)

    async def errored(self) -> Exception:
        """Wait for the first error passed to ``error_received``."""
        await self._errored.wait()
        return self.errors[0]


__all__ = ["RecordingBufferedProtocol", "RecordingDatagramProtocol", "RecordingProtocol"]
