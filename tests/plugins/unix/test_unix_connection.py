"""create_unix_connection: paths in every form, sock=, and asyncio's argument checks."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from unixhelpers import Collector, Echo, echo_once

from loopkit.transports.stream import StreamTransport


def test_loopkit_transport_is_the_shared_stream_transport(run: Any, tmp_path: Path) -> None:
    """No second transport: a Unix connection gets tcp's StreamTransport."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        path = str(tmp_path / "s")
        server = await loop.create_unix_server(Echo, path)
        transport, proto = await loop.create_unix_connection(Collector, path)
        assert isinstance(transport, StreamTransport)
        assert transport.get_extra_info("peername") == path
        assert transport.get_extra_info("socket").family == socket.AF_UNIX
        transport.close()
        await proto.lost
        server.close()
        await server.wait_closed()

    run(main())


@pytest.mark.parametrize("form", ["str", "bytes", "pathlike"])
def test_echo_over_each_path_form(run_any: Any, tmp_path: Path, form: str) -> None:
    path: Any = {
        "str": str(tmp_path / "s"),
        "bytes": os.fsencode(tmp_path / "s"),
        "pathlike": tmp_path / "s",
    }[form]

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_unix_server(Echo, path)
        assert await echo_once(path, b"hello " + form.encode()) == b"hello " + form.encode()
        server.close()
        await server.wait_closed()

    run_any(main())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="abstract namespace is Linux")
@pytest.mark.parametrize("as_bytes", [False, True])
def test_abstract_namespace_address(run_any: Any, tmp_path: Path, as_bytes: bool) -> None:
    """A path starting with NUL is no file: nothing appears in the filesystem."""
    name = f"\0loopkit-test-{uuid.uuid4().hex}"
    path: Any = name.encode() if as_bytes else name

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_unix_server(Echo, path)
        assert server.sockets[0].getsockname() == name.encode()
        assert await echo_once(path) == b"ping"
        server.close()
        await server.wait_closed()

    before = set(os.listdir(tmp_path))
    run_any(main())
    assert set(os.listdir(tmp_path)) == before


def test_connect_with_a_connected_sock(run_any: Any) -> None:
    """sock= takes a connected AF_UNIX stream socket; closing the transport closes it."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        transport, proto = await loop.create_unix_connection(Collector, sock=ours)
        transport.write(b"via sock")
        theirs.setblocking(False)
        received = b""
        while len(received) < 8:  # a stream may deliver it in pieces
            received += await loop.sock_recv(theirs, 100)
        assert received == b"via sock"
        await loop.sock_sendall(theirs, b"back")
        assert await proto.receive(4) == b"back"
        transport.close()
        assert await proto.lost is None

    try:
        run_any(main())
        assert ours.fileno() == -1
    finally:
        ours.close()
        theirs.close()


@pytest.mark.parametrize(
    ("family", "type_"),
    [(socket.AF_INET, socket.SOCK_STREAM), (socket.AF_UNIX, socket.SOCK_DGRAM)],
)
def test_sock_must_be_a_unix_stream_socket(run_any: Any, family: int, type_: int) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        with (
            socket.socket(family, type_) as sock,
            pytest.raises(ValueError, match="A UNIX Domain Stream Socket was expected"),
        ):
            await loop.create_unix_connection(Collector, sock=sock)

    run_any(main())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "no path and sock were specified"),
        ({"server_hostname": "x"}, "server_hostname is only meaningful with ssl"),
        ({"ssl_handshake_timeout": 1}, "ssl_handshake_timeout is only meaningful with ssl"),
        ({"ssl_shutdown_timeout": 1}, "ssl_shutdown_timeout is only meaningful with ssl"),
        ({"ssl": True}, "you have to pass server_hostname when using ssl"),
    ],
)
def test_argument_checks(run_any: Any, kwargs: dict[str, Any], message: str) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        with pytest.raises(ValueError, match=message):
            await loop.create_unix_connection(Collector, **kwargs)

    run_any(main())


def test_path_and_sock_are_exclusive(run_any: Any, tmp_path: Path) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        with (
            socket.socket(socket.AF_UNIX) as sock,
            pytest.raises(ValueError, match="path and sock can not be specified"),
        ):
            await loop.create_unix_connection(Collector, str(tmp_path / "s"), sock=sock)

    run_any(main())


def test_protocol_factory_failure_closes_the_socket(run: Any, tmp_path: Path) -> None:
    """The socket made for ``path`` is closed when the protocol cannot be made."""

    def broken() -> asyncio.Protocol:
        raise RuntimeError("no protocol today")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        path = str(tmp_path / "s")
        server = await loop.create_unix_server(Echo, path)
        with pytest.raises(RuntimeError, match="no protocol today"):
            await loop.create_unix_connection(broken, path)
        server.close()
        await server.wait_closed()

    run(main())  # the fd check of conftest fails if the socket stayed open
