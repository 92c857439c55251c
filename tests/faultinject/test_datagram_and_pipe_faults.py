"""Injected faults on UDP endpoints and pipes: hidden when benign, reported when not."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from loopkit.testing.faults import EAGAIN, EINTR, EPIPE, SHORT, FaultPlan, faults_of

_T = TypeVar("_T")
MakeLoop = Callable[[FaultPlan], asyncio.AbstractEventLoop]


def run_on(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, _T]) -> _T:
    return loop.run_until_complete(asyncio.wait_for(coro, 10.0))


class UdpEcho(asyncio.DatagramProtocol):
    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.transport.sendto(data, addr)


class UdpCollector(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.received: asyncio.Queue[bytes] = asyncio.Queue()
        self.errors: list[Exception] = []

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.received.put_nowait(data)

    def error_received(self, exc: Exception) -> None:
        self.errors.append(exc)


def test_eintr_and_eagain_on_udp_lose_no_datagram_and_keep_order(make_loop: MakeLoop) -> None:
    loop = make_loop(FaultPlan(seed=11, rate=0.5, random_faults=frozenset({EINTR, EAGAIN})))

    async def main() -> tuple[list[bytes], list[Exception]]:
        server, _ = await loop.create_datagram_endpoint(UdpEcho, local_addr=("127.0.0.1", 0))
        client, proto = await loop.create_datagram_endpoint(
            UdpCollector, remote_addr=server.get_extra_info("sockname")
        )
        got = []
        for number in range(60):
            client.sendto(b"datagram %d" % number)
            got.append(await proto.received.get())
        client.close()
        server.close()
        return got, proto.errors

    got, errors = run_on(loop, main())
    assert got == [b"datagram %d" % number for number in range(60)]
    assert errors == []  # EINTR and EAGAIN are not errors to report
    injected = faults_of(loop).injected
    assert injected["sendto", EINTR] + injected["sendto", EAGAIN] > 0
    assert injected["recvfrom_into", EINTR] + injected["recvfrom_into", EAGAIN] > 0


class PipeReader(asyncio.Protocol):
    def __init__(self) -> None:
        self.data = bytearray()
        self.lost: asyncio.Future[BaseException | None] = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
        self.data += data

    def connection_lost(self, exc: BaseException | None) -> None:
        self.lost.set_result(exc)


class PipeWriter(asyncio.BaseProtocol):
    def __init__(self) -> None:
        self.lost: asyncio.Future[BaseException | None] = asyncio.get_running_loop().create_future()

    def connection_lost(self, exc: BaseException | None) -> None:
        self.lost.set_result(exc)


def test_one_byte_pipe_writes_and_interrupted_reads_deliver_everything(
    make_loop: MakeLoop,
) -> None:
    loop = make_loop(FaultPlan(seed=12, rate=1.0, random_faults=frozenset({SHORT})))
    faults_of(loop).script("read", EINTR, times=3)
    payload = bytes(range(256)) * 8

    async def main() -> bytes:
        read_fd, write_fd = os.pipe()
        _, reader = await loop.connect_read_pipe(PipeReader, os.fdopen(read_fd, "rb", 0))
        writer, writer_proto = await loop.connect_write_pipe(
            PipeWriter, os.fdopen(write_fd, "wb", 0)
        )
        writer.write(payload[:1000])
        writer.writelines([payload[1000:1500], payload[1500:]])
        writer.close()  # flushes first
        assert await writer_proto.lost is None
        assert await reader.lost is None  # EOF after the last byte
        return bytes(reader.data)

    assert run_on(loop, main()) == payload
    injected = faults_of(loop).injected
    assert injected["write", SHORT] >= len(payload) - 2
    assert injected["read", EINTR] == 3


def test_epipe_on_a_pipe_write_reaches_its_protocol(make_loop: MakeLoop) -> None:
    loop = make_loop(FaultPlan(seed=13))
    faults_of(loop).script("write", EPIPE)

    async def main() -> BaseException | None:
        read_fd, write_fd = os.pipe()
        writer, proto = await loop.connect_write_pipe(PipeWriter, os.fdopen(write_fd, "wb", 0))
        try:
            writer.write(b"into the void")
            return await proto.lost
        finally:
            os.close(read_fd)

    assert isinstance(run_on(loop, main()), BrokenPipeError)
    assert faults_of(loop).injected["write", EPIPE] == 1
