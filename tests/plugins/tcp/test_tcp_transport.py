"""The stream transport, driven over real loopback connections.

Each test connects a loopkit transport (through ``create_connection(sock=)``)
to a plain socket that the test controls as the peer.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from asyncio import trsock
from typing import Any

import pytest
from noblocking import own_blocking_call
from tcphelpers import Recorder, fill_kernel_buffers, serve, socket_pair

from loopkit.transports.stream import (
    BACK_TO_SMALL_READS,
    HUGE_READ_SIZE,
    JOIN_WRITELINES_UP_TO,
    LARGE_READ_SIZE,
    SMALL_READ_SIZE,
)


class Keeper(Recorder):
    """A Recorder that also keeps every chunk data_received was given."""

    def __init__(self) -> None:
        super().__init__()
        self.chunks: list[bytes] = []

    def data_received(self, data: bytes) -> None:
        self.chunks.append(data)
        super().data_received(data)


async def connect(protocol: Any = None, **kw: Any) -> tuple[Any, Any, socket.socket]:
    """A loopkit transport and the raw peer socket at the other end."""
    loop = asyncio.get_running_loop()
    ours, peer = socket_pair()
    transport, proto = await loop.create_connection(protocol or (lambda: Recorder(**kw)), sock=ours)
    return transport, proto, peer


async def peer_recv_all(peer: socket.socket, nbytes: int) -> bytes:
    loop = asyncio.get_running_loop()
    data = bytearray()
    while len(data) < nbytes:
        chunk = await loop.sock_recv(peer, 1 << 20)
        if not chunk:
            break
        data += chunk
    return bytes(data)


def small_kernel_buffers(transport: Any, peer: socket.socket) -> None:
    """Fix both kernel buffers of the connection at 64 KiB.

    Left alone, loopback TCP autotunes them, and on a machine with large
    ``tcp_wmem`` / ``tcp_rmem`` limits one send() may take several MiB:
    then nothing is ever queued and the flow-control tests test nothing.
    """
    transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
    peer.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)


async def settle(rounds: int = 5) -> None:
    for _ in range(rounds):
        await asyncio.sleep(0)


@pytest.mark.no_fault_injection(reason="asserts that the first send takes everything")
def test_write_goes_to_the_kernel_at_once(run: Any) -> None:
    async def main() -> None:
        transport, proto, peer = await connect()
        transport.write(b"hello")
        # No loop iteration has run: the bytes are already in the kernel.
        assert transport.get_write_buffer_size() == 0
        peer.setblocking(True)
        assert own_blocking_call(peer.recv, 10) == b"hello"
        transport.close()
        await proto.lost
        peer.close()

    run(main())


def test_write_queues_what_the_kernel_refuses_and_pauses_the_protocol(run: Any) -> None:
    async def main() -> None:
        transport, proto, peer = await connect()
        small_kernel_buffers(transport, peer)
        payload = bytes(range(256)) * 16384  # 4 MiB, more than the kernel buffers
        transport.write(payload)
        # Queued: the part the kernel refused, all of it when the first send
        # met EAGAIN (real, or injected by the fault-injection run).
        assert 0 < transport.get_write_buffer_size() <= len(payload)
        assert proto.paused == 1 and proto.resumed == 0
        received = await peer_recv_all(peer, len(payload))
        assert received == payload
        await settle()
        assert transport.get_write_buffer_size() == 0
        assert proto.resumed == 1
        transport.close()
        await proto.lost
        peer.close()

    run(main())


def test_writes_keep_their_order_while_queued(run: Any) -> None:
    async def main() -> None:
        transport, proto, peer = await connect()
        parts = [bytes([i]) * 100_000 for i in range(20)]
        for part in parts:
            transport.write(bytearray(part))  # mutable: must be copied when queued
        assert await peer_recv_all(peer, 2_000_000) == b"".join(parts)
        transport.close()
        await proto.lost
        peer.close()

    run(main())


def test_a_buffer_changed_after_write_is_sent_as_it_was(run: Any) -> None:
    """What the kernel did not take at once is copied, not referenced: a
    bytearray (or a memoryview of one) refilled after write() or
    writelines() does not change what the peer receives. asyncio copies on
    3.11 (into its bytearray buffer) but queues the caller's object from
    3.12 on; loopkit copies on every version, so reusing a buffer is safe."""

    async def main() -> None:
        transport, proto, peer = await connect()
        small_kernel_buffers(transport, peer)
        payload = bytes(range(256)) * 4096  # 1 MiB, more than the kernel buffers
        first = bytearray(payload)
        transport.write(first)  # partly sent, the rest queued
        second = bytearray(payload)
        transport.write(memoryview(second))  # queued behind the first
        third = bytearray(payload)
        transport.writelines([third, b"end"])
        assert transport.get_write_buffer_size() > 0
        for buffer in (first, second, third):
            buffer[:] = bytes(len(buffer))  # the caller reuses its buffers
        received = await peer_recv_all(peer, 3 * len(payload) + 3)
        assert received == payload * 3 + b"end"
        transport.close()
        await proto.lost
        peer.close()

    run(main())


@pytest.mark.no_fault_injection(reason="asserts that the first send takes everything")
def test_writelines_sends_every_buffer_in_order(run: Any) -> None:
    async def main() -> None:
        transport, proto, peer = await connect()
        transport.writelines([b"ab", bytearray(b"cd"), memoryview(b"ef"), b""])
        assert transport.get_write_buffer_size() == 0  # sent at once
        assert await peer_recv_all(peer, 6) == b"abcdef"
        transport.close()
        await proto.lost
        peer.close()

    run(main())


def test_writelines_takes_any_iterable_and_keeps_order_behind_a_queue(run: Any) -> None:
    """Small writelines() are joined into one write when nothing is queued,
    and queued behind earlier data otherwise; either way the bytes arrive in
    the order they were given, from a list or from a generator."""

    async def main() -> None:
        transport, proto, peer = await connect()
        transport.writelines(b"%d," % i for i in range(3))  # a generator, joined
        assert transport.get_write_buffer_size() == 0
        in_kernel = fill_kernel_buffers(transport.get_extra_info("socket")._sock)
        transport.write(b"queued;")
        transport.writelines([b"then", bytearray(b" "), memoryview(b"these")])
        transport.writelines(b"x" for _ in range(2))
        assert transport.get_write_buffer_size() == len(b"queued;then thesexx")
        received = await peer_recv_all(peer, 6 + in_kernel + 19)
        assert received[:6] == b"0,1,2,"
        assert received[6 + in_kernel :] == b"queued;then thesexx"
        transport.close()
        await proto.lost
        peer.close()

    run(main())


def test_writelines_refuses_what_is_not_bytes(run: Any) -> None:
    async def main() -> None:
        transport, proto, peer = await connect()
        with pytest.raises(TypeError):
            transport.writelines([b"ok", "text"])
        with pytest.raises(TypeError):
            transport.writelines([b"y" * JOIN_WRITELINES_UP_TO, "text"])
        assert transport.get_write_buffer_size() == 0
        transport.close()
        await proto.lost
        peer.close()

    run(main())


def test_writelines_respects_the_high_water_mark(run: Any) -> None:
    async def main() -> None:
        transport, proto, peer = await connect()
        small_kernel_buffers(transport, peer)
        chunks = [b"y" * 65536 for _ in range(64)]
        transport.writelines(chunks)
        assert transport.get_write_buffer_size() > 65536
        assert proto.paused == 1
        assert await peer_recv_all(peer, 64 * 65536) == b"".join(chunks)
        await settle()
        assert proto.resumed == 1 and transport.get_write_buffer_size() == 0
        transport.close()
        await proto.lost
        peer.close()

    run(main())


def test_write_refuses_what_is_not_bytes(run: Any) -> None:
    async def main() -> None:
        transport, proto, peer = await connect()
        with pytest.raises(TypeError, match="bytes-like"):
            transport.write("text")
        transport.close()
        await proto.lost
        peer.close()

    run(main())


def test_write_buffer_limits(run: Any) -> None:
    async def main() -> None:
        transport, proto, peer = await connect()
        assert transport.get_write_buffer_limits() == (16384, 65536)
        transport.set_write_buffer_limits(high=1000)
        assert transport.get_write_buffer_limits() == (250, 1000)
        transport.set_write_buffer_limits(low=100)
        assert transport.get_write_buffer_limits() == (100, 400)
        with pytest.raises(ValueError, match="must be >="):
            transport.set_write_buffer_limits(high=1, low=2)
        with pytest.raises(ValueError):
            transport.set_write_buffer_limits(high=-1, low=-1)
        transport.close()
        await proto.lost
        peer.close()

    run(main())


def test_lowering_the_high_water_mark_below_the_queue_pauses_at_once(run: Any) -> None:
    async def main() -> None:
        transport, proto, peer = await connect()
        transport.set_write_buffer_limits(high=10_000_000)
        fill_kernel_buffers(transport.get_extra_info("socket")._sock)
        transport.write(b"z" * 1000)
        assert transport.get_write_buffer_size() == 1000 and proto.paused == 0
        transport.set_write_buffer_limits(high=100)
        assert proto.paused == 1
        transport.abort()
        await proto.lost
        peer.close()

    run(main())


def test_write_eof_half_closes_and_reading_goes_on(run: Any) -> None:
    async def main() -> None:
        transport, proto, peer = await connect()
        assert transport.can_write_eof()
        transport.write(b"last words")
        transport.write_eof()
        with pytest.raises(RuntimeError, match="write_eof"):
            transport.write(b"more")
        assert await peer_recv_all(peer, 100) == b"last words"  # then b'' (EOF)
        peer.send(b"reply")
        assert await proto.receive(5) == b"reply"
        peer.close()
        await proto.eof
        assert await proto.lost is None

    run(main())


def test_peer_half_close_closes_unless_eof_received_keeps_it_open(run: Any) -> None:
    async def main() -> None:
        transport, proto, peer = await connect()
        peer.shutdown(socket.SHUT_WR)
        assert await proto.lost is None
        assert proto.events == ["made", "eof", "lost"]
        peer.close()

        transport, proto, peer = await connect(keep_open=True)
        peer.shutdown(socket.SHUT_WR)
        await proto.eof
        assert not transport.is_closing()
        assert not transport.is_reading()
        transport.pause_reading()
        transport.resume_reading()  # there is nothing more to read: stays off
        assert not transport.is_reading()
        await settle()
        assert proto.events == ["made", "eof"]  # EOF is reported once
        transport.write(b"still here")
        assert await peer_recv_all(peer, 10) == b"still here"
        transport.close()
        assert await proto.lost is None
        peer.close()

    run(main())


def test_close_flushes_the_queue_first_and_abort_does_not(run: Any) -> None:
    async def main() -> None:
        transport, proto, peer = await connect()
        payload = b"q" * 3_000_000
        transport.write(payload)
        transport.close()
        assert transport.is_closing()
        transport.close()  # a second close changes nothing
        assert await peer_recv_all(peer, len(payload) + 1) == payload
        assert await proto.lost is None
        assert proto.lost_calls == 1
        peer.close()

        transport, proto, peer = await connect()
        in_kernel = fill_kernel_buffers(transport.get_extra_info("socket")._sock)
        transport.write(payload)
        assert transport.get_write_buffer_size() == len(payload)
        transport.abort()
        transport.close()
        assert transport.get_write_buffer_size() == 0
        assert await proto.lost is None
        await settle()
        assert proto.lost_calls == 1
        # The peer gets what the kernel had; nothing of the dropped queue.
        assert await peer_recv_all(peer, in_kernel + 1) == b"x" * in_kernel
        peer.close()

    run(main())


def reset(sock: socket.socket) -> None:
    """Close ``sock`` with a reset (RST), not a FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def test_accepted_extra_info_outlives_a_reset_and_the_close(run_any: Any) -> None:
    # asyncio learns the addresses when the transport is made; loopkit asks
    # for the local one only when first wanted (or before the socket
    # closes), and both answer with the addresses the connection had.
    async def main() -> None:
        accepted: asyncio.Future[Recorder] = asyncio.get_running_loop().create_future()

        class Accepted(Recorder):
            def connection_made(self, transport: Any) -> None:
                super().connection_made(transport)
                accepted.set_result(self)

        server, port = await serve(Accepted)
        client = own_blocking_call(socket.create_connection, ("127.0.0.1", port))
        client_address = client.getsockname()
        proto = await accepted
        reset(client)
        assert isinstance(await proto.lost, ConnectionResetError)
        transport = proto.transport
        assert transport.get_extra_info("peername") == client_address
        assert transport.get_extra_info("sockname") == ("127.0.0.1", port)
        assert isinstance(transport.get_extra_info("socket"), trsock.TransportSocket)
        server.close()
        await server.wait_closed()

    run_any(main())


def test_connected_extra_info_outlives_a_reset_and_the_close(run_any: Any) -> None:
    async def main() -> None:
        transport, proto, peer = await connect()
        await proto.made
        ours = transport.get_extra_info("socket")
        address, local = ours.getpeername(), ours.getsockname()
        transport2, proto2, peer2 = await connect()
        await proto2.made
        address2 = peer2.getsockname()
        # One asked before the reset, one not: the same answers after it.
        assert transport.get_extra_info("peername") == address
        reset(peer)
        reset(peer2)
        await proto.lost
        await proto2.lost
        assert transport.get_extra_info("peername") == address
        assert transport.get_extra_info("sockname") == local
        assert transport2.get_extra_info("peername") == address2
        assert transport2.get_extra_info("sockname") is not None

    run_any(main())


def test_extra_info_is_made_on_first_use(run: Any) -> None:
    # An idle connection carries no extra-info dict (some 370 bytes with
    # the socket wrapper and the local address) until someone asks.
    async def main() -> None:
        transport, proto, peer = await connect()
        await proto.made
        assert transport._extra_info is None
        assert transport.get_extra_info("peername") == peer.getsockname()
        assert transport._extra_info is not None
        transport.close()
        await proto.lost
        peer.close()

    run(main())


def test_extra_info(run: Any) -> None:
    async def main() -> None:
        transport, proto, peer = await connect()
        sock = transport.get_extra_info("socket")
        assert isinstance(sock, trsock.TransportSocket)
        assert transport.get_extra_info("peername") == peer.getsockname()
        assert transport.get_extra_info("sockname") == peer.getpeername()
        assert sock.getsockname() == peer.getpeername()
        assert transport.get_extra_info("nothing", "dflt") == "dflt"
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        transport.close()
        await proto.lost
        peer.close()

    run(main())


def test_pause_and_resume_reading(run: Any) -> None:
    async def main() -> None:
        transport, proto, peer = await connect()
        assert transport.is_reading()
        transport.pause_reading()
        transport.pause_reading()  # idempotent
        assert not transport.is_reading()
        peer.send(b"wait for it")
        await asyncio.sleep(0.05)
        assert proto.data == b""
        transport.resume_reading()
        transport.resume_reading()
        assert transport.is_reading()
        assert await proto.receive(11) == b"wait for it"
        transport.close()
        assert not transport.is_reading()
        await proto.lost
        peer.close()

    run(main())


def test_set_protocol_redirects_events(run: Any) -> None:
    async def main() -> None:
        transport, first, peer = await connect()
        second = Recorder()
        transport.set_protocol(second)
        assert transport.get_protocol() is second
        peer.send(b"for the second")
        assert await second.receive(14) == b"for the second"
        peer.close()
        await second.lost
        assert first.data == b"" and not first.lost.done()

    run(main())


class Buffered(asyncio.BufferedProtocol):
    def __init__(self, size: int = 1000) -> None:
        self.buffer = bytearray(size)
        self.data = bytearray()
        self.sizes: list[int] = []
        self.lost: asyncio.Future[BaseException | None] = asyncio.get_running_loop().create_future()

    def get_buffer(self, sizehint: int) -> bytearray:
        return self.buffer

    def buffer_updated(self, nbytes: int) -> None:
        self.sizes.append(nbytes)
        self.data += self.buffer[:nbytes]

    def connection_lost(self, exc: BaseException | None) -> None:
        self.lost.set_result(exc)


def test_buffered_protocol_reads_into_its_own_buffer(run: Any) -> None:
    async def main() -> None:
        _transport, proto, peer = await connect(Buffered)
        payload = bytes(range(256)) * 400
        peer.setblocking(True)
        own_blocking_call(peer.sendall, payload)
        peer.close()
        assert await proto.lost is None
        assert proto.data == payload
        assert max(proto.sizes) <= 1000

    run(main())


def test_a_plain_protocol_keeps_each_chunk_it_was_given(run: Any) -> None:
    """What data_received gets is its own immutable bytes: later reads, on
    this connection or another, never change a chunk the protocol kept."""

    async def main() -> None:
        first, first_proto, first_peer = await connect(Keeper)
        second, second_proto, second_peer = await connect(Keeper)
        sends = ((first_peer, first_proto, b"a", 3000), (second_peer, second_proto, b"b", 3000))
        sends += ((first_peer, first_proto, b"c", 6000),)
        for peer, proto, byte, total in sends:
            peer.setblocking(True)
            own_blocking_call(peer.sendall, byte * 3000)
            await proto.receive(total)
        assert all(type(chunk) is bytes for chunk in first_proto.chunks + second_proto.chunks)
        assert b"".join(first_proto.chunks) == b"a" * 3000 + b"c" * 3000
        assert b"".join(second_proto.chunks) == b"b" * 3000
        for transport, proto, peer in (
            (first, first_proto, first_peer),
            (second, second_proto, second_peer),
        ):
            transport.close()
            await proto.lost
            peer.close()

    run(main())


@pytest.mark.no_fault_injection(reason="counts how much each read brings")
def test_reads_grow_for_a_flood_and_shrink_again_losing_nothing(run: Any) -> None:
    """Small reads use recv(64 KiB); a read that fills it switches to recv of
    just under 128 KiB, one that fills that to recv(256 KiB), and two small
    reads in a row switch back (one alone, the tail of a large message, does
    not). Every byte arrives in order across the switches, and a chunk from a
    large read is not changed by the reads after it."""
    flood = bytes(range(256)) * 2048  # 512 KiB, the byte order is visible

    async def main() -> None:
        loop = asyncio.get_running_loop()
        transport, proto, peer = await connect(Keeper)
        await loop.sock_sendall(peer, b"small")
        await proto.receive(5)
        assert transport._read_size == SMALL_READ_SIZE
        transport.pause_reading()  # let the flood pile up in the kernel
        sending = loop.create_task(loop.sock_sendall(peer, flood))
        await asyncio.sleep(0.05)
        transport.resume_reading()
        await sending
        await proto.receive(5 + len(flood))
        large_chunks = [chunk for chunk in proto.chunks if len(chunk) > SMALL_READ_SIZE]
        assert large_chunks, [len(chunk) for chunk in proto.chunks]
        assert max(map(len, proto.chunks)) <= HUGE_READ_SIZE
        assert all(type(chunk) is bytes for chunk in proto.chunks)
        assert transport._read_size in (LARGE_READ_SIZE, HUGE_READ_SIZE)
        large_size = transport._read_size
        kept = [bytes(chunk) for chunk in large_chunks]
        await loop.sock_sendall(peer, b"tail")
        await proto.receive(5 + len(flood) + 4)
        assert proto.chunks[-1] == b"tail" and len(b"tail") < BACK_TO_SMALL_READS
        assert transport._read_size == large_size  # one short read: a message's tail
        await loop.sock_sendall(peer, b"more")
        await proto.receive(5 + len(flood) + 8)
        assert transport._read_size == SMALL_READ_SIZE
        assert large_chunks == kept
        assert bytes(proto.data) == b"small" + flood + b"tailmore"
        transport.close()
        await proto.lost
        peer.close()

    run(main())


def test_switching_to_a_buffered_protocol_while_reading(run: Any) -> None:
    async def main() -> None:
        transport, plain, peer = await connect()
        buffered = Buffered()
        transport.set_protocol(buffered)
        peer.send(b"into the buffer")
        peer.close()
        assert await buffered.lost is None
        assert buffered.data == b"into the buffer"
        assert plain.data == b""

    run(main())


def test_an_empty_buffer_from_get_buffer_is_a_fatal_error(loop: Any, run: Any) -> None:
    errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, ctx: errors.append(ctx))

    async def main() -> None:
        _transport, proto, peer = await connect(lambda: Buffered(0))
        peer.send(b"x")
        exc = await proto.lost
        assert isinstance(exc, RuntimeError)
        assert errors[0]["message"] == "Fatal error: protocol.get_buffer() call failed."
        peer.close()

    run(main())


def test_a_failing_data_received_ends_only_that_connection(loop: Any, run: Any) -> None:
    errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, ctx: errors.append(ctx))

    class Broken(Recorder):
        def data_received(self, data: bytes) -> None:
            raise ZeroDivisionError

    async def main() -> None:
        transport, proto, peer = await connect(Broken)
        healthy, other, other_peer = await connect()
        peer.send(b"boom")
        assert isinstance(await proto.lost, ZeroDivisionError)
        assert errors[0]["message"] == "Fatal error: protocol.data_received() call failed."
        assert errors[0]["transport"] is transport
        other_peer.send(b"fine")
        assert await other.receive(4) == b"fine"
        healthy.close()
        await other.lost
        peer.close()
        other_peer.close()

    run(main())


def test_connection_lost_comes_exactly_once(run: Any) -> None:
    async def main() -> None:
        transport, proto, peer = await connect()
        peer.close()
        transport.close()
        transport.abort()
        await proto.lost
        await settle()
        transport.abort()
        await settle()
        assert proto.lost_calls == 1
        assert proto.events.count("lost") == 1

    run(main())


def test_writing_to_a_lost_connection_is_ignored(run: Any) -> None:
    async def main() -> None:
        transport, proto, peer = await connect()
        transport.abort()
        await proto.lost
        for _ in range(8):
            transport.write(b"into the void")
        peer.close()

    run(main())


def test_the_transport_owns_its_fd(loop: Any, run: Any) -> None:
    async def main() -> None:
        transport, proto, peer = await connect()
        fd = transport.get_extra_info("socket").fileno()
        with pytest.raises(RuntimeError, match="is used by transport"):
            loop.add_reader(fd, lambda: None)
        transport.close()
        await proto.lost
        peer.close()

    run(main())


def test_writelines_with_more_buffers_than_one_sendmsg_takes(run: Any) -> None:
    async def main() -> None:
        transport, proto, peer = await connect()
        in_kernel = fill_kernel_buffers(transport.get_extra_info("socket")._sock)
        # More than IOV_MAX buffers, and more bytes than writelines() joins.
        chunks = [b"%015d;" % i for i in range(5000)]
        assert JOIN_WRITELINES_UP_TO < 16 * 5000
        transport.writelines(chunks)
        assert transport.get_write_buffer_size() == 16 * 5000
        received = await peer_recv_all(peer, in_kernel + 16 * 5000)
        assert received[in_kernel:] == b"".join(chunks)
        transport.close()
        await proto.lost
        peer.close()

    run(main())


def test_echo_under_every_poller(poller_loop: Any) -> None:
    async def main() -> None:
        transport, proto, peer = await connect()
        transport.write(b"x" * 500_000)
        assert await peer_recv_all(peer, 500_000) == b"x" * 500_000
        peer.send(b"back")
        assert await proto.receive(4) == b"back"
        peer.close()
        assert await proto.lost is None

    poller_loop.run_until_complete(asyncio.wait_for(main(), 10))


@pytest.mark.no_fault_injection(reason="expects one write to arrive in one recv")
def test_the_transport_works_over_any_stream_socket_family(run: Any) -> None:
    """The unix family reuses this transport: an AF_UNIX pair works the same."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        ours, peer = socket.socketpair()
        transport, proto = await loop.create_connection(Recorder, sock=ours)
        assert transport.get_extra_info("socket").family == socket.AF_UNIX
        transport.write(b"local")
        peer.setblocking(False)
        assert await loop.sock_recv(peer, 10) == b"local"
        await loop.sock_sendall(peer, b"reply")
        assert await proto.receive(5) == b"reply"
        peer.close()
        assert await proto.lost is None

    run(main())
