"""The stream-family contract: asyncio's Transport/Protocol rules over a real connection.

A stream family's author subclasses :class:`StreamContract` and says how to
open one connection with the family's own loop methods::

    class TestMyStreams(StreamContract):
        loop_options = {"enable": [my_plugin]}

        @contextlib.asynccontextmanager
        async def open_pair(self, loop, client_factory, server_factory):
            server = await loop.create_my_server(server_factory, ...)
            try:
                await loop.create_my_connection(client_factory, ...)
                yield
            finally:
                server.close()
                await server.wait_closed()

Every test is built from asyncio's public API only (the protocol callbacks
and the transport methods asyncio documents), so it applies to any family:
it never looks inside a transport.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any, ClassVar

import pytest

from loopkit.testing.contract_base import FamilyContract, eventually, on_loop
from loopkit.testing.protocols import RecordingBufferedProtocol, RecordingProtocol

ProtocolFactory = Callable[[], asyncio.BaseProtocol]

_PAYLOAD = bytes(range(256)) * 1024  # 256 KiB


def _chunks(data: bytes, sizes: tuple[int, ...] = (1, 7, 100, 1500, 4096, 65536)) -> list[bytes]:
    out: list[bytes] = []
    at = 0
    step = 0
    while at < len(data):
        size = sizes[step % len(sizes)]
        out.append(data[at : at + size])
        at += size
        step += 1
    return out


class StreamContract(FamilyContract):
    """Subclass, implement :meth:`open_pair`; pytest runs the contract.

    Class attributes that describe the family:

    * ``can_write_eof``: what ``transport.can_write_eof()`` answers
      (False for TLS); the half-close tests run only when True.
    * ``extra_info``: the ``get_extra_info`` keys both ends must answer.
    * ``client_peer_is_server_name``: the client's ``peername`` equals the
      server's ``sockname`` (true for TCP and Unix sockets).
    * ``max_write_size``: the largest buffer one ``write()`` takes, for a
      message-preserving family (SOCK_SEQPACKET: each write is one message,
      and a message has a maximum size); the contract then writes its large
      payloads in pieces of at most that size. None: any size.
    """

    can_write_eof: ClassVar[bool] = True
    extra_info: ClassVar[tuple[str, ...]] = ("socket", "sockname", "peername")
    client_peer_is_server_name: ClassVar[bool] = True
    max_write_size: ClassVar[int | None] = None

    def write_all(self, transport: asyncio.WriteTransport, data: bytes) -> None:
        """``transport.write(data)``, in pieces of at most ``max_write_size``."""
        size = self.max_write_size
        if size is None or len(data) <= size:
            transport.write(data)
            return
        for at in range(0, len(data), size):
            transport.write(data[at : at + size])

    def open_pair(
        self,
        loop: asyncio.AbstractEventLoop,
        client_factory: ProtocolFactory,
        server_factory: ProtocolFactory,
    ) -> contextlib.AbstractAsyncContextManager[Any]:
        """Open one connection of the family on ``loop``; an async context manager.

        Make the server side (a listener calling ``server_factory`` for each
        connection) and connect to it with ``client_factory``, using the
        family's own loop methods. Enter once the client's connect returned;
        on exit, close whatever listens (the contract closes the transports).
        """
        raise NotImplementedError(f"{type(self).__name__} must implement open_pair()")

    @contextlib.asynccontextmanager
    async def connected(
        self,
        loop: asyncio.AbstractEventLoop,
        client_class: type[RecordingProtocol] = RecordingProtocol,
        server_class: type[RecordingProtocol] = RecordingProtocol,
    ) -> AsyncIterator[tuple[RecordingProtocol, RecordingProtocol]]:
        """A connected (client, server) pair of recording protocols; closed on exit."""
        client = client_class(loop)
        servers: list[RecordingProtocol] = []
        server_made: asyncio.Future[RecordingProtocol] = loop.create_future()

        def server_factory() -> RecordingProtocol:
            protocol = server_class(loop)
            servers.append(protocol)
            if not server_made.done():
                server_made.set_result(protocol)
            return protocol

        async with self.open_pair(loop, lambda: client, server_factory):
            await client.made
            server = await server_made
            await server.made
            try:
                yield client, server
            finally:
                for protocol in (client, *servers):
                    if protocol.transport is not None and not protocol.lost.done():
                        protocol.transport.close()
                await asyncio.wait_for(asyncio.gather(*(p.lost for p in (client, *servers))), 5.0)

    # -- connection_made ---------------------------------------------------

    @on_loop
    async def test_connection_made_is_called_once_on_each_side(
        self, loop: asyncio.AbstractEventLoop
    ) -> None:
        async with self.connected(loop) as (client, server):
            for side in (client, server):
                assert side.calls[:1] == ["connection_made"]
                assert side.count("connection_made") == 1
                assert isinstance(side.transport, asyncio.Transport), (
                    "a stream transport must be an asyncio.Transport (read and write sides)"
                )
                assert side.transport.get_protocol() is side
                assert not side.transport.is_closing()

    # -- data ----------------------------------------------------------------

    @on_loop
    async def test_data_arrives_whole_and_in_order_both_ways(
        self, loop: asyncio.AbstractEventLoop
    ) -> None:
        async with self.connected(loop) as (client, server):
            for chunk in _chunks(_PAYLOAD):
                self.write_all(client.transport, chunk)
            assert await server.received(len(_PAYLOAD)) == _PAYLOAD
            reply = _PAYLOAD[::-1]
            for chunk in _chunks(reply):
                self.write_all(server.transport, chunk)
            assert await client.received(len(reply)) == reply

    @on_loop
    async def test_writelines_sends_the_buffers_in_order(
        self, loop: asyncio.AbstractEventLoop
    ) -> None:
        async with self.connected(loop) as (client, server):
            parts: list[Any] = [b"one,", bytearray(b"two,"), memoryview(b"three,"), b"x" * 70000]
            client.transport.writelines(parts)
            expected = b"one,two,three," + b"x" * 70000
            assert await server.received(len(expected)) == expected

    @on_loop
    async def test_write_takes_bytes_like_objects_and_rejects_str(
        self, loop: asyncio.AbstractEventLoop
    ) -> None:
        async with self.connected(loop) as (client, server):
            with pytest.raises(TypeError):
                client.transport.write("text")
            client.transport.write(b"")  # nothing to send, not an error
            client.transport.write(bytearray(b"ab"))
            client.transport.write(memoryview(b"cd"))
            assert await server.received(4) == b"abcd"

    @on_loop
    async def test_a_buffered_protocol_receives_through_its_buffer(
        self, loop: asyncio.AbstractEventLoop
    ) -> None:
        async with self.connected(loop, server_class=RecordingBufferedProtocol) as (
            client,
            server,
        ):
            self.write_all(client.transport, _PAYLOAD)
            assert await server.received(len(_PAYLOAD)) == _PAYLOAD
            assert "data_received" not in server.calls
            assert "buffer_updated" in server.calls

    # -- end of stream -------------------------------------------------------

    @on_loop
    async def test_can_write_eof_answers_as_declared(self, loop: asyncio.AbstractEventLoop) -> None:
        async with self.connected(loop) as (client, server):
            assert client.transport.can_write_eof() is self.can_write_eof
            assert server.transport.can_write_eof() is self.can_write_eof

    @on_loop
    async def test_write_eof_half_closes_and_the_peer_can_still_answer(
        self, loop: asyncio.AbstractEventLoop
    ) -> None:
        if not self.can_write_eof:
            pytest.skip("the family cannot half-close (can_write_eof is False)")

        class KeepOpen(RecordingProtocol):
            keep_open_on_eof = True

        async with self.connected(loop, server_class=KeepOpen) as (client, server):
            client.transport.write(b"request")
            client.transport.write_eof()
            await server.eof
            assert bytes(server.data) == b"request", "eof_received came before the data"
            assert not server.transport.is_closing(), (
                "eof_received returned True: the transport must stay open for writing"
            )
            server.transport.write(b"answer")
            server.transport.close()
            await client.eof
            assert bytes(client.data) == b"answer"
            assert await client.lost is None
            assert await server.lost is None

    @on_loop
    async def test_eof_received_returning_false_closes_the_transport(
        self, loop: asyncio.AbstractEventLoop
    ) -> None:
        if not self.can_write_eof:
            pytest.skip("the family cannot half-close (can_write_eof is False)")
        async with self.connected(loop) as (client, server):
            client.transport.write_eof()
            assert await server.lost is None
            assert server.count("eof_received") == 1
            assert server.calls.index("eof_received") < server.calls.index("connection_lost")
            await client.eof
            assert await client.lost is None

    # -- close and abort -----------------------------------------------------

    @on_loop
    async def test_close_calls_connection_lost_with_none_once_on_both_sides(
        self, loop: asyncio.AbstractEventLoop
    ) -> None:
        async with self.connected(loop) as (client, server):
            client.transport.close()
            assert client.transport.is_closing()
            client.transport.close()  # a second close is harmless
            assert await client.lost is None
            assert await server.lost is None
            await asyncio.sleep(0.02)  # nothing more may come
            for side in (client, server):
                assert side.count("connection_lost") == 1, side.calls
                assert side.calls[-1] == "connection_lost", side.calls

    @on_loop
    async def test_close_sends_what_is_buffered_first(
        self, loop: asyncio.AbstractEventLoop
    ) -> None:
        async with self.connected(loop) as (client, server):
            payload = _PAYLOAD * 8  # 2 MiB: more than a socket buffer takes at once
            self.write_all(client.transport, payload)
            client.transport.close()
            assert await server.received(len(payload)) == payload
            assert await server.lost is None
            assert await client.lost is None

    @on_loop
    async def test_abort_calls_connection_lost_without_flushing(
        self, loop: asyncio.AbstractEventLoop
    ) -> None:
        async with self.connected(loop) as (client, server):
            client.transport.abort()
            assert client.transport.is_closing()
            assert await client.lost is None
            await server.lost  # with None or the reset, once
            await asyncio.sleep(0.02)
            assert client.count("connection_lost") == 1
            assert server.count("connection_lost") == 1

    # -- extra info ----------------------------------------------------------

    @on_loop
    async def test_get_extra_info_answers_the_familys_keys(
        self, loop: asyncio.AbstractEventLoop
    ) -> None:
        async with self.connected(loop) as (client, server):
            for side in (client, server):
                transport = side.transport
                for key in self.extra_info:
                    assert transport.get_extra_info(key) is not None, f"no extra info {key!r}"
                assert transport.get_extra_info("no such key") is None
                assert transport.get_extra_info("no such key", "dflt") == "dflt"
                if "socket" in self.extra_info:
                    assert transport.get_extra_info("socket").fileno() >= 0
            if self.client_peer_is_server_name:
                assert client.transport.get_extra_info(
                    "peername"
                ) == server.transport.get_extra_info("sockname")

    # -- reading flow control ------------------------------------------------

    @on_loop
    async def test_pause_reading_holds_data_back_until_resume_reading(
        self, loop: asyncio.AbstractEventLoop
    ) -> None:
        async with self.connected(loop) as (client, server):
            assert server.transport.is_reading()
            server.transport.pause_reading()
            server.transport.pause_reading()  # twice is harmless
            assert not server.transport.is_reading()
            client.transport.write(b"held back")
            await asyncio.sleep(0.1)
            assert bytes(server.data) == b"", "data arrived while reading was paused"
            server.transport.resume_reading()
            server.transport.resume_reading()
            assert server.transport.is_reading()
            assert await server.received(9) == b"held back"

    # -- writing flow control ------------------------------------------------

    @on_loop
    async def test_write_buffer_limits_are_checked_and_reported(
        self, loop: asyncio.AbstractEventLoop
    ) -> None:
        async with self.connected(loop) as (client, _):
            transport = client.transport
            transport.set_write_buffer_limits(high=16384, low=4096)
            assert transport.get_write_buffer_limits() == (4096, 16384)
            transport.set_write_buffer_limits(high=1000)
            low, high = transport.get_write_buffer_limits()
            assert high == 1000 and 0 <= low <= high
            with pytest.raises(ValueError):
                transport.set_write_buffer_limits(high=1, low=2)
            assert transport.get_write_buffer_size() == 0

    @on_loop
    async def test_pause_writing_when_the_peer_does_not_read_then_resume(
        self, loop: asyncio.AbstractEventLoop
    ) -> None:
        async with self.connected(loop) as (client, server):
            server.transport.pause_reading()
            client.transport.set_write_buffer_limits(high=65536, low=16384)
            chunk = b"w" * 65536
            sent = 0
            while not client.paused_writing and sent < 64 * 1024 * 1024:
                client.transport.write(chunk)
                sent += len(chunk)
                if not client.paused_writing:
                    await asyncio.sleep(0)  # let the transport flush
            assert client.paused_writing == 1, (
                f"pause_writing was never called after {sent} bytes to a peer that does not read"
            )
            assert client.transport.get_write_buffer_size() > 0
            server.transport.resume_reading()
            await asyncio.wait_for(client.writing_resumed.wait(), 10.0)
            assert client.resumed_writing == 1
            assert len(await server.received(sent)) == sent
            await eventually(lambda: client.transport.get_write_buffer_size() == 0)

    # -- a failing protocol -------------------------------------------------

    @on_loop
    async def test_a_protocol_that_raises_does_not_stop_the_loop_or_other_connections(
        self, loop: asyncio.AbstractEventLoop
    ) -> None:
        seen: list[dict[str, Any]] = []
        loop.set_exception_handler(lambda _, context: seen.append(context))
        try:
            async with (
                self.connected(loop) as (client, server),
                self.connected(loop) as (other_client, other_server),
            ):
                server.raise_in_data = RuntimeError("boom in data_received")
                client.transport.write(b"trigger")
                await server.lost
                await eventually(lambda: bool(seen), what="the exception handler")
                assert any(context.get("exception") is server.raise_in_data for context in seen), (
                    seen
                )
                other_client.transport.write(b"still here")
                assert await other_server.received(10) == b"still here"
        finally:
            loop.set_exception_handler(None)


__all__ = ["ProtocolFactory", "StreamContract"]
