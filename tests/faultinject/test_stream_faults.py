"""Each injected fault class, on stream connections, reaches the right place.

Benign faults (EINTR, EAGAIN, one-byte writes) must be invisible: every byte
arrives, in order. ECONNRESET and EPIPE end exactly the connection they hit,
with that error in its ``connection_lost``; EMFILE on accept makes the server
back off, report it, and serve the client afterwards. The loop goes on.
"""

from __future__ import annotations

import asyncio
import errno
import socket
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import pytest

from loopkit.testing.faults import (
    EAGAIN,
    ECONNRESET,
    EINTR,
    EMFILE,
    EPIPE,
    SHORT,
    FaultPlan,
    faults_of,
)
from loopkit.transports import server as tcp_server

_T = TypeVar("_T")
MakeLoop = Callable[[FaultPlan], asyncio.AbstractEventLoop]

PAYLOAD = bytes(range(256)) * 32  # 8 KiB, every byte value, order visible


def run_on(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, _T]) -> _T:
    return loop.run_until_complete(asyncio.wait_for(coro, 10.0))


class Collector(asyncio.Protocol):
    """Keeps every byte received and how the connection ended."""

    def __init__(self) -> None:
        self.transport: Any = None
        self.data = bytearray()
        self.lost: asyncio.Future[BaseException | None] = asyncio.get_running_loop().create_future()
        self.changed = asyncio.Event()

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.data += data
        self.changed.set()

    def eof_received(self) -> None:
        return None

    def connection_lost(self, exc: BaseException | None) -> None:
        if not self.lost.done():
            self.lost.set_result(exc)
        self.changed.set()

    async def wait_for_bytes(self, count: int) -> bytes:
        while len(self.data) < count and not self.lost.done():
            self.changed.clear()
            await self.changed.wait()
        return bytes(self.data)


class Echo(asyncio.Protocol):
    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


class BufferedCollector(asyncio.BufferedProtocol):
    """A BufferedProtocol: the transport reads with recv_into."""

    def __init__(self, done: asyncio.Future[bytes], expected: int) -> None:
        self.buffer = bytearray(1024)
        self.data = bytearray()
        self.done = done
        self.expected = expected

    def get_buffer(self, sizehint: int) -> bytearray:
        return self.buffer

    def buffer_updated(self, nbytes: int) -> None:
        self.data += self.buffer[:nbytes]
        if len(self.data) >= self.expected and not self.done.done():
            self.done.set_result(bytes(self.data))


async def echo_round_trip(payload: bytes, *, chunks: int = 1) -> tuple[Any, Collector, Any]:
    """Connect to an echo server, send ``payload`` (in ``chunks`` writes), await the echo."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport, client = await loop.create_connection(Collector, "127.0.0.1", port)
    step = len(payload) // chunks
    pieces = [payload[i : i + step] for i in range(0, len(payload), step)]
    transport.write(pieces[0])
    transport.writelines(pieces[1:])
    await client.wait_for_bytes(len(payload))
    return server, client, transport


async def close_all(server: Any, *transports: Any) -> None:
    for transport in transports:
        transport.close()
    server.close()
    await server.wait_closed()


def test_eintr_on_recv_is_retried_and_nothing_is_lost(make_loop: MakeLoop) -> None:
    loop = make_loop(FaultPlan(seed=1))
    faults_of(loop).script("recv", EINTR, times=3)

    async def main() -> bytes:
        server, client, transport = await echo_round_trip(PAYLOAD)
        await close_all(server, transport)
        return bytes(client.data)

    assert run_on(loop, main()) == PAYLOAD
    assert faults_of(loop).injected["recv", EINTR] == 3


def test_eagain_on_recv_into_of_a_buffered_protocol_is_retried(make_loop: MakeLoop) -> None:
    loop = make_loop(FaultPlan(seed=2))
    faults_of(loop).script("recv_into", EAGAIN, times=5)

    async def main() -> bytes:
        server = await loop.create_server(Echo, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        done: asyncio.Future[bytes] = loop.create_future()
        transport, _ = await loop.create_connection(
            lambda: BufferedCollector(done, len(PAYLOAD)), "127.0.0.1", port
        )
        transport.write(PAYLOAD)
        data = await done
        await close_all(server, transport)
        return data

    assert run_on(loop, main()) == PAYLOAD
    assert faults_of(loop).injected["recv_into", EAGAIN] == 5


def test_one_byte_writes_deliver_every_byte_in_order(make_loop: MakeLoop) -> None:
    # Every send and sendmsg takes exactly one byte: the rest is queued,
    # drained a byte per round, and must reach the peer intact.
    loop = make_loop(FaultPlan(seed=3, rate=1.0, random_faults=frozenset({SHORT})))

    async def main() -> bytes:
        server, client, transport = await echo_round_trip(PAYLOAD, chunks=8)
        await close_all(server, transport)
        return bytes(client.data)

    assert run_on(loop, main()) == PAYLOAD
    injected = faults_of(loop).injected
    assert injected["send", SHORT] + injected["sendmsg", SHORT] >= 2 * len(PAYLOAD) - 16


def test_eintr_and_eagain_everywhere_are_invisible(make_loop: MakeLoop) -> None:
    # Half of all socket calls fail with EINTR or EAGAIN, over a hundred
    # round trips: each message still comes back whole and in order.
    loop = make_loop(FaultPlan(seed=4, rate=0.5, random_faults=frozenset({EINTR, EAGAIN})))

    async def main() -> bytes:
        server, client, transport = await echo_round_trip(PAYLOAD)
        expected = len(PAYLOAD)
        for number in range(100):
            message = b"message %03d;" % number
            expected += len(message)
            transport.write(message)
            await client.wait_for_bytes(expected)
        await close_all(server, transport)
        return bytes(client.data)

    expected = PAYLOAD + b"".join(b"message %03d;" % number for number in range(100))
    assert run_on(loop, main()) == expected
    injected = faults_of(loop).injected
    assert injected["recv", EINTR] and injected["recv", EAGAIN]
    assert injected["send", EINTR] and injected["send", EAGAIN]


def test_econnreset_ends_only_the_connection_it_hits(make_loop: MakeLoop) -> None:
    loop = make_loop(FaultPlan(seed=5))
    errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _, context: errors.append(context))

    async def main() -> None:
        server = await loop.create_server(Echo, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        doomed, doomed_proto = await loop.create_connection(Collector, "127.0.0.1", port)
        other, other_proto = await loop.create_connection(Collector, "127.0.0.1", port)
        fd = doomed.get_extra_info("socket").fileno()
        faults_of(loop).script("recv", ECONNRESET, fd=fd)
        doomed.write(b"hello")
        other.write(b"still here")
        assert isinstance(await doomed_proto.lost, ConnectionResetError)
        assert await other_proto.wait_for_bytes(10) == b"still here"
        other.write(b" and more")
        assert await other_proto.wait_for_bytes(19) == b"still here and more"
        assert not other.is_closing()
        await close_all(server, other)

    run_on(loop, main())
    assert faults_of(loop).injected["recv", ECONNRESET] == 1
    assert errors == []  # a reset peer is an ordinary end, not a loop error
    assert not loop.is_closed()


def test_epipe_on_send_ends_only_the_connection_it_hits(make_loop: MakeLoop) -> None:
    loop = make_loop(FaultPlan(seed=6))

    async def main() -> None:
        server = await loop.create_server(Echo, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        doomed, doomed_proto = await loop.create_connection(Collector, "127.0.0.1", port)
        other, other_proto = await loop.create_connection(Collector, "127.0.0.1", port)
        faults_of(loop).script("send", EPIPE, fd=doomed.get_extra_info("socket").fileno())
        doomed.write(b"lost")
        other.write(b"kept")
        assert isinstance(await doomed_proto.lost, BrokenPipeError)
        assert await other_proto.wait_for_bytes(4) == b"kept"
        await close_all(server, other)

    run_on(loop, main())
    assert faults_of(loop).injected["send", EPIPE] == 1


def test_emfile_on_accept_backs_off_reports_and_recovers(
    make_loop: MakeLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tcp_server, "ACCEPT_RETRY_DELAY", 0.05)
    loop = make_loop(FaultPlan(seed=7))
    errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _, context: errors.append(context))
    faults_of(loop).script("accept", EMFILE, times=2)

    async def main() -> bytes:
        server, client, transport = await echo_round_trip(b"served after all")
        await close_all(server, transport)
        return bytes(client.data)

    assert run_on(loop, main()) == b"served after all"
    assert faults_of(loop).injected["accept", EMFILE] == 2
    assert [context["message"] for context in errors] == [
        "socket.accept() out of system resource"
    ] * 2
    assert all(context["exception"].errno == errno.EMFILE for context in errors)


def test_faults_strike_loopkit_calls_only(make_loop: MakeLoop) -> None:
    # The test's own direct socket calls are never faulty, even on an
    # adopted socket: only loopkit's code is under test.
    loop = make_loop(FaultPlan(seed=8, rate=1.0, random_faults=frozenset({EAGAIN})))
    a, b = socket.socketpair()
    with a, b:
        a.setblocking(False)

        async def main() -> bytes:
            b.sendall(b"x")
            return await loop.sock_recv(a, 10)

        assert run_on(loop, main()) == b"x"
        b.sendall(b"direct")
        a.setblocking(True)
        assert a.recv(10) == b"direct"
