"""The low-level sock_* calls on real loopback sockets."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest
from tcphelpers import Recorder, closed_port, fill_kernel_buffers, socket_pair


def test_recv_waits_for_data(run: Any, loop: Any) -> None:
    async def main() -> None:
        a, b = socket_pair()
        task = loop.create_task(loop.sock_recv(a, 100))
        await asyncio.sleep(0.01)
        assert not task.done()
        b.send(b"late")
        assert await task == b"late"
        assert a.fileno() not in loop._readers  # the watcher is gone again
        b.close()
        assert await loop.sock_recv(a, 100) == b""
        a.close()

    run(main())


def test_large_recvs_return_independent_bytes(run: Any, loop: Any) -> None:
    """A large ``n`` is read through a buffer the loop reuses; each result
    is still its own bytes object, of at most ``n`` bytes, unchanged by
    later calls (waiting or not)."""

    async def main() -> None:
        a, b = socket_pair()
        b.send(b"x" * 40_000)
        await asyncio.sleep(0.01)
        first = await loop.sock_recv(a, 256 * 1024)  # ready at once
        waiting = loop.create_task(loop.sock_recv(a, 30_000))
        await asyncio.sleep(0)
        b.send(b"y" * 40_000)
        second = await waiting
        third = await loop.sock_recv(a, 1 << 20)  # more than the loop's buffer
        assert type(first) is bytes and type(second) is bytes
        assert first == b"x" * 40_000
        assert second == b"y" * len(second) and 0 < len(second) <= 30_000
        assert third == b"y" * (40_000 - len(second))
        a.close()
        b.close()

    run(main())


def test_recv_into(run: Any, loop: Any) -> None:
    async def main() -> None:
        a, b = socket_pair()
        buf = bytearray(10)
        task = loop.create_task(loop.sock_recv_into(a, buf))
        await asyncio.sleep(0)
        b.send(b"12345")
        assert await task == 5
        assert buf[:5] == b"12345"
        b.send(b"abc")
        await asyncio.sleep(0.01)
        assert await loop.sock_recv_into(a, memoryview(buf)[5:]) == 3  # ready at once
        assert buf[:8] == b"12345abc"
        a.close()
        b.close()

    run(main())


def test_sendall_finishes_a_large_buffer_across_partial_sends(run: Any, loop: Any) -> None:
    async def main() -> None:
        a, b = socket_pair()
        payload = bytes(range(256)) * 40_000  # ~10 MiB: many partial sends
        sender = loop.create_task(loop.sock_sendall(a, payload))
        received = bytearray()
        while len(received) < len(payload):
            received += await loop.sock_recv(b, 1 << 20)
        await sender
        assert received == payload
        assert a.fileno() not in loop._writers
        a.close()
        b.close()

    run(main())


def test_sendall_reports_a_peer_that_went_away(run: Any, loop: Any) -> None:
    async def main() -> None:
        a, b = socket_pair()
        fill_kernel_buffers(a)
        sender = loop.create_task(loop.sock_sendall(a, b"x" * 1_000_000))
        await asyncio.sleep(0.01)
        b.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        b.close()  # with linger 0: a reset
        with pytest.raises((ConnectionResetError, BrokenPipeError)):
            await sender
        a.close()

    run(main())


def test_connect_and_accept(run: Any, loop: Any) -> None:
    async def main() -> None:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(5)
        listener.setblocking(False)
        accepting = loop.create_task(loop.sock_accept(listener))
        client = socket.socket()
        client.setblocking(False)
        await loop.sock_connect(client, listener.getsockname())
        conn, address = await accepting
        assert address == client.getsockname()
        assert conn.gettimeout() == 0
        await loop.sock_sendall(conn, b"welcome")
        assert await loop.sock_recv(client, 100) == b"welcome"
        for sock in (conn, client, listener):
            sock.close()

    run(main())


def test_connect_resolves_a_host_name(run: Any, loop: Any) -> None:
    async def main() -> None:
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen(1)
            with socket.socket() as client:
                client.setblocking(False)
                await loop.sock_connect(client, ("localhost", listener.getsockname()[1]))
                assert client.getpeername() == listener.getsockname()

    run(main())


def test_connect_refused(run: Any, loop: Any) -> None:
    async def main() -> None:
        with socket.socket() as client:
            client.setblocking(False)
            with pytest.raises(ConnectionRefusedError):
                await loop.sock_connect(client, ("127.0.0.1", closed_port()))
            assert client.fileno() not in loop._writers

    run(main())


def test_cancelling_a_call_removes_its_watcher(run: Any, loop: Any) -> None:
    async def main() -> None:
        a, b = socket_pair()
        task = loop.create_task(loop.sock_recv(a, 10))
        await asyncio.sleep(0)
        assert a.fileno() in loop._readers
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert a.fileno() not in loop._readers
        a.close()
        b.close()

    run(main())


def test_blocking_socket_is_refused_in_debug_mode(run: Any, loop: Any) -> None:
    loop.set_debug(True)

    async def main() -> None:
        a, b = socket_pair()
        a.setblocking(True)
        for call in (
            loop.sock_recv(a, 1),
            loop.sock_recv_into(a, bytearray(1)),
            loop.sock_sendall(a, b"x"),
            loop.sock_connect(a, ("127.0.0.1", 1)),
            loop.sock_accept(a),
        ):
            with pytest.raises(ValueError, match="the socket must be non-blocking"):
                await call
        a.close()
        b.close()

    run(main())


def test_a_transport_socket_is_refused(run: Any, loop: Any) -> None:
    async def main() -> None:
        a, b = socket_pair()
        transport, proto = await loop.create_connection(Recorder, sock=a)
        with pytest.raises(RuntimeError, match="is used by transport"):
            await loop.sock_recv(a, 10)  # nothing to read yet: it would watch the fd
        transport.close()
        await proto.lost
        b.close()

    run(main())
