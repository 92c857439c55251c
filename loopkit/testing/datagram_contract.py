"""The datagram-family contract: asyncio's DatagramTransport rules over real endpoints.

A datagram family's author subclasses :class:`DatagramContract` and says how
to open two bound, unconnected endpoints with the family's own loop methods::

    class TestMyDatagrams(DatagramContract):
        @contextlib.asynccontextmanager
        async def open_endpoints(self, loop, factory_a, factory_b):
            await loop.create_my_endpoint(factory_a, local_addr=...)
            await loop.create_my_endpoint(factory_b, local_addr=...)
            yield

The contract sends between them with ``sendto`` to the address each reports
as ``get_extra_info("sockname")``, and closes both transports itself. Only
asyncio's public API is used.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any, ClassVar

import pytest

from loopkit.testing.contract_base import FamilyContract, eventually, on_loop
from loopkit.testing.protocols import RecordingDatagramProtocol

DatagramFactory = Callable[[], asyncio.BaseProtocol]


class DatagramContract(FamilyContract):
    """Subclass, implement :meth:`open_endpoints`; pytest runs the contract.

    * ``oversized``: a datagram size the family cannot send (its
      ``sendto`` fails with EMSGSIZE and must report it to
      ``error_received``); None to skip that test.
    * ``extra_info``: the ``get_extra_info`` keys both endpoints answer.
    """

    oversized: ClassVar[int | None] = 1 << 20
    extra_info: ClassVar[tuple[str, ...]] = ("socket", "sockname")

    def open_endpoints(
        self,
        loop: asyncio.AbstractEventLoop,
        factory_a: DatagramFactory,
        factory_b: DatagramFactory,
    ) -> contextlib.AbstractAsyncContextManager[Any]:
        """Open two bound, unconnected endpoints of the family; an async context manager.

        Enter once both exist; on exit, release whatever else they needed
        (the contract closes the transports).
        """
        raise NotImplementedError(f"{type(self).__name__} must implement open_endpoints()")

    @contextlib.asynccontextmanager
    async def endpoints(
        self, loop: asyncio.AbstractEventLoop
    ) -> AsyncIterator[tuple[RecordingDatagramProtocol, RecordingDatagramProtocol]]:
        """Two recording endpoints (a, b); both closed on exit."""
        a = RecordingDatagramProtocol(loop)
        b = RecordingDatagramProtocol(loop)
        async with self.open_endpoints(loop, lambda: a, lambda: b):
            await a.made
            await b.made
            try:
                yield a, b
            finally:
                for side in (a, b):
                    if not side.lost.done():
                        side.transport.close()
                await asyncio.wait_for(asyncio.gather(a.lost, b.lost), 5.0)

    @staticmethod
    def address(side: RecordingDatagramProtocol) -> Any:
        """Where to send to reach ``side``."""
        return side.transport.get_extra_info("sockname")

    @on_loop
    async def test_connection_made_is_called_once_on_each_endpoint(
        self, loop: asyncio.AbstractEventLoop
    ) -> None:
        async with self.endpoints(loop) as (a, b):
            for side in (a, b):
                assert side.calls == ["connection_made"]
                assert isinstance(side.transport, asyncio.DatagramTransport)
                assert not side.transport.is_closing()

    @on_loop
    async def test_sendto_delivers_each_datagram_whole_with_the_senders_address(
        self, loop: asyncio.AbstractEventLoop
    ) -> None:
        async with self.endpoints(loop) as (a, b):
            sizes = [1, 10, 100, 1000, 4000, 8000]
            for size in sizes:
                a.transport.sendto(bytes([size % 256]) * size, self.address(b))
            received = await b.received(len(sizes))
            assert sorted(len(data) for data, _ in received) == sizes
            for data, sender in received:
                assert data == bytes([len(data) % 256]) * len(data)
                assert sender == self.address(a)
            b.transport.sendto(memoryview(b"back"), self.address(a))
            assert (await a.received(1))[0][0] == b"back"

    @on_loop
    async def test_sendto_rejects_str(self, loop: asyncio.AbstractEventLoop) -> None:
        async with self.endpoints(loop) as (a, b):
            with pytest.raises(TypeError):
                a.transport.sendto("text", self.address(b))

    @on_loop
    async def test_an_oversized_datagram_goes_to_error_received_and_the_endpoint_lives(
        self, loop: asyncio.AbstractEventLoop
    ) -> None:
        if self.oversized is None:
            pytest.skip("the family declares no datagram size it cannot send")
        async with self.endpoints(loop) as (a, b):
            a.transport.sendto(b"x" * self.oversized, self.address(b))
            error = await a.errored()
            assert isinstance(error, OSError), error
            assert not a.transport.is_closing()
            a.transport.sendto(b"after", self.address(b))
            assert (await b.received(1))[0][0] == b"after"

    @on_loop
    async def test_the_write_buffer_is_empty_when_idle_and_limits_are_kept(
        self, loop: asyncio.AbstractEventLoop
    ) -> None:
        async with self.endpoints(loop) as (a, b):
            a.transport.sendto(b"x", self.address(b))
            await b.received(1)
            await eventually(lambda: a.transport.get_write_buffer_size() == 0)
            a.transport.set_write_buffer_limits(high=8192, low=1024)
            assert a.transport.get_write_buffer_limits() == (1024, 8192)

    @on_loop
    async def test_close_calls_connection_lost_with_none_once(
        self, loop: asyncio.AbstractEventLoop
    ) -> None:
        async with self.endpoints(loop) as (a, _):
            a.transport.close()
            assert a.transport.is_closing()
            a.transport.close()
            assert await a.lost is None
            await asyncio.sleep(0.02)
            assert a.count("connection_lost") == 1

    @on_loop
    async def test_abort_calls_connection_lost_with_none(
        self, loop: asyncio.AbstractEventLoop
    ) -> None:
        async with self.endpoints(loop) as (a, _):
            a.transport.abort()
            assert a.transport.is_closing()
            assert await a.lost is None
            await asyncio.sleep(0.02)
            assert a.count("connection_lost") == 1

    @on_loop
    async def test_get_extra_info_answers_the_familys_keys(
        self, loop: asyncio.AbstractEventLoop
    ) -> None:
        async with self.endpoints(loop) as (a, b):
            for side in (a, b):
                for key in self.extra_info:
                    assert side.transport.get_extra_info(key) is not None, key
                assert side.transport.get_extra_info("no such key", "dflt") == "dflt"

    @on_loop
    async def test_a_protocol_that_raises_does_not_stop_the_loop_or_other_endpoints(
        self, loop: asyncio.AbstractEventLoop
    ) -> None:
        seen: list[dict[str, Any]] = []
        loop.set_exception_handler(lambda _, context: seen.append(context))
        try:
            async with self.endpoints(loop) as (a, b), self.endpoints(loop) as (c, d):
                b.raise_in_data = RuntimeError("boom in datagram_received")
                a.transport.sendto(b"trigger", self.address(b))
                await eventually(lambda: bool(seen), what="the exception handler")
                assert any(context.get("exception") is b.raise_in_data for context in seen)
                c.transport.sendto(b"still here", self.address(d))
                assert (await d.received(1))[0][0] == b"still here"
        finally:
            loop.set_exception_handler(None)


__all__ = ["DatagramContract", "DatagramFactory"]
