"""A port outside 0..65535 never reaches another port.

The C library's getaddrinfo reduces a numeric port modulo 65536, so port
``P + 65536`` would reach whatever listens on ``P``. Each test listens on a
free port ``P``, asks for ``P + 65536`` (or a negative port), expects
OverflowError, and checks that the listener received nothing. Host names go
the same way as IP literals (asyncio itself wraps those: its own bug).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from tcphelpers import Echo

HOSTS = ["127.0.0.1", "localhost"]


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A non-blocking listening socket on 127.0.0.1 and a free port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        sock.setblocking(False)
        yield sock


def _assert_nothing_arrived(listener: socket.socket) -> None:
    with pytest.raises(BlockingIOError):
        conn, _ = listener.accept()
        conn.close()


def _wrapped(listener: socket.socket) -> int:
    """The out-of-range port the C library would turn into the listener's."""
    return int(listener.getsockname()[1]) + 65536


@pytest.mark.parametrize("host", HOSTS)
def test_create_connection_refuses_a_port_above_65535(
    run: Any, loop: Any, listener: socket.socket, host: str
) -> None:
    async def main() -> None:
        with pytest.raises(OverflowError, match="port must be 0-65535"):
            await loop.create_connection(Echo, host, _wrapped(listener))

    run(main())
    _assert_nothing_arrived(listener)


@pytest.mark.parametrize("port", [-1, "-1", str(65536 * 2)])
def test_create_connection_refuses_negative_and_string_ports(
    run: Any, loop: Any, port: int | str
) -> None:
    async def main() -> None:
        with pytest.raises(OverflowError, match="port must be 0-65535"):
            await loop.create_connection(Echo, "127.0.0.1", port)

    run(main())


def test_create_connection_refuses_a_local_port_above_65535(
    run: Any, loop: Any, listener: socket.socket
) -> None:
    async def main() -> None:
        with pytest.raises(OverflowError, match="port must be 0-65535"):
            await loop.create_connection(
                Echo, *listener.getsockname(), local_addr=("127.0.0.1", 70000)
            )

    run(main())
    _assert_nothing_arrived(listener)


@pytest.mark.parametrize("host", HOSTS)
def test_sock_connect_refuses_a_port_above_65535(
    run: Any, loop: Any, listener: socket.socket, host: str
) -> None:
    async def main() -> None:
        with socket.socket() as client:
            client.setblocking(False)
            with pytest.raises(OverflowError, match="port must be 0-65535"):
                await loop.sock_connect(client, (host, _wrapped(listener)))

    run(main())
    _assert_nothing_arrived(listener)


@pytest.mark.parametrize("host", HOSTS)
def test_create_server_refuses_a_port_above_65535(run: Any, loop: Any, host: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = int(probe.getsockname()[1])

    async def main() -> None:
        with pytest.raises(OverflowError, match="port must be 0-65535"):
            await loop.create_server(Echo, host, free + 65536)
        with pytest.raises(OverflowError, match="port must be 0-65535"):
            await loop.create_server(Echo, host, -1)

    run(main())
