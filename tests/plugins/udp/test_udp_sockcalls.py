"""sock_sendto, sock_recvfrom and sock_recvfrom_into on real datagram sockets."""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture
def udp_pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    """Two non-blocking UDP sockets bound on loopback."""
    first = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    second = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with first, second:
        for sock in (first, second):
            sock.bind(("127.0.0.1", 0))
            sock.setblocking(False)
        yield first, second


def test_sendto_and_recvfrom(run_any: Any, udp_pair: Any) -> None:
    first, second = udp_pair

    async def main() -> None:
        loop = asyncio.get_running_loop()
        sent = await loop.sock_sendto(first, b"\x01" * 4096, second.getsockname())
        assert sent == 4096
        data, source = await loop.sock_recvfrom(second, 8192)
        assert (data, source) == (b"\x01" * 4096, first.getsockname())

    run_any(main())


def test_recvfrom_waits_for_a_datagram(run_any: Any, udp_pair: Any) -> None:
    first, second = udp_pair

    async def main() -> None:
        loop = asyncio.get_running_loop()
        waiting = asyncio.ensure_future(loop.sock_recvfrom(second, 100))
        await asyncio.sleep(0.01)
        assert not waiting.done()
        first.sendto(b"late", second.getsockname())
        assert await waiting == (b"late", first.getsockname())
        assert not loop.remove_reader(second)  # the watcher is gone

    run_any(main())


def test_recvfrom_truncates_to_bufsize(run_any: Any, udp_pair: Any) -> None:
    first, second = udp_pair

    async def main() -> None:
        loop = asyncio.get_running_loop()
        first.sendto(b"0123456789", second.getsockname())
        await asyncio.sleep(0.01)
        data, _ = await loop.sock_recvfrom(second, 4)
        assert data == b"0123"

    run_any(main())


def test_recvfrom_into_fills_the_buffer(run_any: Any, udp_pair: Any) -> None:
    first, second = udp_pair

    async def main() -> None:
        loop = asyncio.get_running_loop()
        buf = bytearray(16)
        waiting = asyncio.ensure_future(loop.sock_recvfrom_into(second, buf))
        await asyncio.sleep(0.01)
        first.sendto(b"hello", second.getsockname())
        assert await waiting == (5, first.getsockname())
        assert buf[:5] == b"hello"

        buf = bytearray(16)
        first.sendto(b"0123456789", second.getsockname())
        nbytes, _ = await loop.sock_recvfrom_into(second, buf, 4)  # at most 4 bytes
        assert nbytes == 4 and buf == b"0123" + bytes(12)

    run_any(main())


def test_cancelling_a_receive_removes_its_watcher(run_any: Any, udp_pair: Any) -> None:
    first, second = udp_pair

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for call in (
            loop.sock_recvfrom(second, 100),
            loop.sock_recvfrom_into(second, bytearray(100)),
        ):
            waiting = asyncio.ensure_future(call)
            await asyncio.sleep(0.01)
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
            assert not loop.remove_reader(second)
        # The datagram waits for the next caller; nobody swallowed it.
        first.sendto(b"kept", second.getsockname())
        assert (await loop.sock_recvfrom(second, 100))[0] == b"kept"

    run_any(main())


@pytest.fixture
def unix_pair(tmp_path: Any) -> Iterator[tuple[socket.socket, socket.socket, str]]:
    """An unbound sender, and a receiver bound to a path nobody reads from yet."""
    path = str(tmp_path / "receiver.sock")
    sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    with sender, receiver:
        receiver.bind(path)
        sender.setblocking(False)
        receiver.setblocking(False)
        yield sender, receiver, path


def _fill(sender: socket.socket, path: str) -> int:
    """Send until the receiver's queue is full; return how many datagrams went."""
    queued = 0
    try:
        while True:
            sender.sendto(b"x" * 1000, path)
            queued += 1
    except BlockingIOError:
        return queued


def test_sendto_waits_while_the_kernel_buffer_is_full(run_any: Any, unix_pair: Any) -> None:
    sender, receiver, path = unix_pair

    async def main() -> None:
        loop = asyncio.get_running_loop()
        queued = _fill(sender, path)
        waiting = asyncio.ensure_future(loop.sock_sendto(sender, b"last", path))
        await asyncio.sleep(0.01)
        assert not waiting.done()
        for _ in range(queued):
            receiver.recv(1000)
        assert await waiting == 4
        assert receiver.recv(1000) == b"last"
        assert not loop.remove_writer(sender)

    run_any(main())


def test_cancelling_a_send_removes_its_watcher(run_any: Any, unix_pair: Any) -> None:
    sender, receiver, path = unix_pair

    async def main() -> None:
        loop = asyncio.get_running_loop()
        queued = _fill(sender, path)
        waiting = asyncio.ensure_future(loop.sock_sendto(sender, b"never", path))
        await asyncio.sleep(0.01)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert not loop.remove_writer(sender)
        for _ in range(queued):
            receiver.recv(1000)
        with pytest.raises(BlockingIOError):
            receiver.recv(1000)  # the cancelled datagram was never sent

    run_any(main())


def test_socket_errors_reach_the_caller(
    run_any: Any, udp_pair: Any, closed_udp_port: tuple[str, int]
) -> None:
    first, _ = udp_pair

    async def main() -> None:
        loop = asyncio.get_running_loop()
        with pytest.raises(OSError) as info:
            await loop.sock_sendto(first, b"x" * 65508, closed_udp_port)
        assert info.value.errno == errno.EMSGSIZE
        first.connect(closed_udp_port)
        await loop.sock_sendto(first, b"anyone?", closed_udp_port)
        with pytest.raises(ConnectionRefusedError):
            await loop.sock_recvfrom(first, 100)

    run_any(main())


def test_a_blocking_socket_is_refused_in_debug_mode(run_any: Any, any_loop: Any) -> None:
    any_loop.set_debug(True)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for call in (
                loop.sock_sendto(sock, b"x", ("127.0.0.1", 9)),
                loop.sock_recvfrom(sock, 10),
                loop.sock_recvfrom_into(sock, bytearray(10)),
            ):
                with pytest.raises(ValueError, match="the socket must be non-blocking"):
                    await call

    run_any(main())


def test_an_ssl_socket_is_refused(run_any: Any) -> None:
    context = ssl.create_default_context()
    context.check_hostname = False
    with context.wrap_socket(socket.socket(), do_handshake_on_connect=False) as tls:

        async def main() -> None:
            loop = asyncio.get_running_loop()
            for call in (
                loop.sock_sendto(tls, b"x", ("127.0.0.1", 9)),
                loop.sock_recvfrom(tls, 10),
                loop.sock_recvfrom_into(tls, bytearray(10)),
            ):
                with pytest.raises(TypeError, match="Socket cannot be of type SSLSocket"):
                    await call

        run_any(main())


def test_a_socket_owned_by_a_transport_is_refused(run_any: Any, recorder: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        transport, proto = await loop.create_datagram_endpoint(
            recorder, local_addr=("127.0.0.1", 0)
        )
        raw = socket.socket(fileno=transport.get_extra_info("socket").fileno())
        raw.setblocking(False)  # a new socket object starts blocking
        try:
            with pytest.raises(RuntimeError, match="is used by transport"):
                await loop.sock_recvfrom(raw, 10)
        finally:
            raw.detach()
            transport.close()
        await proto.lost

    run_any(main())
