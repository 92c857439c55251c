"""Faults reach the right protocol as the right exception, and nothing else.

Each test keeps a second, healthy connection open next to the faulty one
and checks that it still works afterwards (and the autouse fixture checks
that no fd is left open).
"""

from __future__ import annotations

import asyncio
import socket
import struct
from typing import Any

import pytest
from noblocking import own_blocking_call
from tcphelpers import Recorder, closed_port, serve, socket_pair


def reset(sock: socket.socket) -> None:
    """Close ``sock`` so that the peer gets a RST instead of a FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


async def healthy_pair() -> tuple[Any, Recorder, socket.socket]:
    loop = asyncio.get_running_loop()
    ours, peer = socket_pair()
    transport, proto = await loop.create_connection(Recorder, sock=ours)
    return transport, proto, peer


async def still_healthy(transport: Any, proto: Recorder, peer: socket.socket) -> None:
    loop = asyncio.get_running_loop()
    transport.write(b"ok?")
    received = b""
    while len(received) < 3:  # a stream may deliver it in pieces
        received += await loop.sock_recv(peer, 10)
    assert received == b"ok?"
    await loop.sock_sendall(peer, b"ok!")
    assert (await proto.receive(3)).endswith(b"ok!")
    transport.close()
    await proto.lost
    peer.close()


def test_peer_reset_while_we_write(run: Any) -> None:
    async def main() -> None:
        other = await healthy_pair()
        transport, proto, peer = await healthy_pair()
        transport.write(b"x" * 8_000_000)  # more than the kernel holds: queued
        assert transport.get_write_buffer_size() > 0
        reset(peer)
        exc = await proto.lost
        assert isinstance(exc, (ConnectionResetError, BrokenPipeError))
        assert proto.lost_calls == 1
        await still_healthy(*other)

    run(main())


def test_peer_reset_while_we_read(run: Any) -> None:
    async def main() -> None:
        other = await healthy_pair()
        _transport, proto, peer = await healthy_pair()
        reset(peer)
        assert isinstance(await proto.lost, ConnectionResetError)
        await still_healthy(*other)

    run(main())


def test_writing_to_a_peer_that_is_gone_epipe(run: Any) -> None:
    async def main() -> None:
        other = await healthy_pair()
        transport, proto, peer = await healthy_pair()
        transport.pause_reading()  # so that we learn of it only by writing
        peer.close()
        await asyncio.sleep(0.05)
        # The first write may still be accepted by the kernel (and answered
        # with a RST); the next ones fail with EPIPE / ECONNRESET.
        for _ in range(5):
            transport.write(b"anyone there?")
            await asyncio.sleep(0.01)
            if proto.lost.done():
                break
        exc = await proto.lost
        assert isinstance(exc, (BrokenPipeError, ConnectionResetError))
        await still_healthy(*other)

    run(main())


def test_half_close_from_the_peer_then_we_finish(run: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        ours, peer = socket_pair()
        transport, proto = await loop.create_connection(lambda: Recorder(keep_open=True), sock=ours)
        await loop.sock_sendall(peer, b"request")
        peer.shutdown(socket.SHUT_WR)
        await proto.eof
        assert proto.data == b"request"
        transport.write(b"response")
        transport.close()
        data = b""
        while chunk := await loop.sock_recv(peer, 100):
            data += chunk
        assert data == b"response"
        assert await proto.lost is None
        peer.close()

    run(main())


def test_half_close_from_our_side(run: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        transport, proto, peer = await healthy_pair()
        transport.write(b"request")
        transport.write_eof()
        data = b""
        while chunk := await loop.sock_recv(peer, 100):
            data += chunk
        assert data == b"request"
        await loop.sock_sendall(peer, b"response")
        peer.close()
        await proto.eof
        assert proto.data == b"response"
        assert await proto.lost is None

    run(main())


def test_connection_refused_reaches_the_caller_only(run: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        other = await healthy_pair()
        with pytest.raises(ConnectionRefusedError):
            await loop.create_connection(Recorder, "127.0.0.1", closed_port())
        await still_healthy(*other)

    run(main())


def test_unusable_local_address_reaches_the_caller_only(run: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        other = await healthy_pair()
        server, port = await serve()
        # 192.0.2.1 (TEST-NET-1) is no local address: bind fails at once, no traffic.
        with pytest.raises(OSError, match="error while attempting to bind") as caught:
            await loop.create_connection(Recorder, "127.0.0.1", port, local_addr=("192.0.2.1", 0))
        assert "cannot assign requested address" in str(caught.value)
        server.close()
        await server.wait_closed()
        await still_healthy(*other)

    run(main())


def test_a_client_that_connects_and_sends_nothing(run: Any) -> None:
    async def main() -> None:
        protocols: list[Recorder] = []

        def factory() -> Recorder:
            protocols.append(Recorder())
            return protocols[-1]

        server, port = await serve(factory)
        silent = own_blocking_call(socket.create_connection, ("127.0.0.1", port))
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"busy")
        await writer.drain()
        while len(protocols) < 2 or len(protocols[1].data) < 4:
            await asyncio.sleep(0.01)
        assert protocols[0].events == ["made"]  # the silent one: nothing else happened
        assert protocols[1].data == b"busy"
        silent.close()
        assert await protocols[0].lost is None
        assert protocols[0].events == ["made", "eof", "lost"]
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()

    run(main())
